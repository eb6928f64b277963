# Copyright (c) invtoolbox contributors. All rights reserved.
"""Distributed training on CPU with mmengine 0.10.7.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its
``wrap_model`` passes ``device_ids``, both of which fail without a GPU.
:func:`init_cpu_distributed` initialises the ``gloo`` process group from the
launcher's environment (torchrun or slurm) before the Runner is built, so
mmengine skips its own set-up, and :func:`setup_cpu_distributed` also points
``model_wrapper_cfg`` at ``invtoolbox.DeviceAwareDistributedDataParallel``
(registered by ``invtoolbox.models.wrappers``; named here by its registry
type only, so this module imports nothing above ``invtoolbox.utils``), which
omits ``device_ids`` for CPU modules.

The checkpoint loading policy (mmengine's other incompatibility with current
torch) is :mod:`invtoolbox.utils.checkpoint_trust`.
"""
import datetime
import os
import subprocess
from typing import Optional

import torch

__all__ = ['init_cpu_distributed', 'setup_cpu_distributed', 'CPU_DDP_WRAPPER']


def _require_env(name: str, launcher: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ValueError(
            f'--launcher {launcher} needs the environment variable {name}, '
            'which is not set; start the job with tools/dist_train.sh '
            '(torchrun) or tools/slurm_train.sh (srun), or use --launcher '
            'none.')
    return value


def _slurm_environment() -> None:
    """Map slurm's variables to torch.distributed's (as mmengine does)."""
    proc_id = int(_require_env('SLURM_PROCID', 'slurm'))
    ntasks = int(_require_env('SLURM_NTASKS', 'slurm'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ.get('SLURM_NODELIST', '127.0.0.1')
        addr = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1').strip()
        os.environ['MASTER_ADDR'] = addr or '127.0.0.1'
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['RANK'] = str(proc_id)
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def init_cpu_distributed(launcher: str,
                         backend: str = 'gloo',
                         timeout: Optional[float] = None) -> bool:
    """Initialise the process group for CPU training before the Runner.

    Does nothing (returns False) for ``launcher='none'``, when a process
    group already exists, or when CUDA is available (mmengine's own set-up,
    with nccl, is right there). Otherwise reads the launcher's environment
    (torchrun: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``; slurm: ``SLURM_PROCID``, ``SLURM_NTASKS``,
    ``SLURM_LOCALID``, ``SLURM_NODELIST``) and initialises ``backend``.
    mmengine's Runner then finds the group initialised and skips its CUDA
    set-up.

    Args:
        launcher (str): ``'none'``, ``'pytorch'`` or ``'slurm'``.
        backend (str): CPU communication backend. Default ``'gloo'``.
        timeout (float, optional): seconds, passed to ``init_process_group``.

    Returns:
        bool: whether this call initialised a process group.
    """
    import torch.distributed as dist
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher not in ('pytorch', 'slurm'):
        raise ValueError(
            f'launcher {launcher!r} is not supported on CPU; use none, '
            'pytorch or slurm.')
    if not dist.is_available():
        raise ValueError('this torch build has no torch.distributed; use '
                         '--launcher none.')
    if dist.is_initialized():
        return False
    if launcher == 'slurm':
        _slurm_environment()
    rank = int(_require_env('RANK', launcher))
    world_size = int(_require_env('WORLD_SIZE', launcher))
    _require_env('MASTER_ADDR', launcher)
    _require_env('MASTER_PORT', launcher)
    os.environ.setdefault('LOCAL_RANK', str(rank))
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    dist.init_process_group(
        backend=backend, rank=rank, world_size=world_size, **kwargs)
    return True


CPU_DDP_WRAPPER = 'invtoolbox.DeviceAwareDistributedDataParallel'


def setup_cpu_distributed(cfg, launcher: str) -> bool:
    """:func:`init_cpu_distributed` plus a CPU-capable DDP wrapper in ``cfg``.

    When a group was initialised, ``cfg.model_wrapper_cfg`` is set to
    ``invtoolbox.DeviceAwareDistributedDataParallel`` (keeping the options of a
    ``MMDistributedDataParallel`` config, or mmengine's defaults:
    ``broadcast_buffers=False`` and the config's ``find_unused_parameters``).
    A config that names another wrapper is left alone.

    Returns:
        bool: whether a CPU process group was initialised.
    """
    timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
    if not init_cpu_distributed(launcher, timeout=timeout):
        return False
    # mmengine's wrap_model looks the type up in its root registry, which
    # finds invtoolbox's modules only with the scope prefix.
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type=CPU_DDP_WRAPPER,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel',
            'DeviceAwareDistributedDataParallel'):
        wrapper['type'] = CPU_DDP_WRAPPER
    return True
