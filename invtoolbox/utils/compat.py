# Copyright (c) invtoolbox contributors. All rights reserved.
"""Compatibility shims for mmengine 0.10.7 on current PyTorch.

**Checkpoint loading policy.** mmengine loads checkpoints with
``torch.load``'s default, which is ``weights_only=True`` since torch 2.6, and
its own checkpoints hold objects that the weights-only unpickler refuses
(the message hub's ``HistoryBuffer``, numpy arrays and scalars). So resuming
fails. :func:`register_checkpoint_loader` replaces mmengine's loader for
local files with one that applies this policy:

- a file inside a *trusted* path (a run's own ``work_dir``, or a file the
  user explicitly resumes from, registered with
  :func:`trust_checkpoint_path`) is loaded with ``weights_only=False``: the
  run wrote it itself;
- anything else (pretrained weights, ``load_from``, ``tools/test.py``) is
  loaded with ``weights_only=True``. The only non-tensor globals allowed are
  the harmless ones every mmengine checkpoint holds: numpy arrays, dtypes
  and scalars, mmengine's ``HistoryBuffer`` and the lookup of its statistics
  methods. A file with any other object (a custom class, a callable) is
  refused with a one-line :class:`UntrustedCheckpointError`: nothing in it
  is executed.

To share a training checkpoint, strip it to its weights with
``tools/model_converters/publish_model.py``.

**Distributed training on CPU.** mmengine's ``init_dist`` calls
``torch.cuda.set_device`` and its ``wrap_model`` passes ``device_ids``, both
of which fail without a GPU. :func:`init_cpu_distributed` initialises the
``gloo`` process group from the launcher's environment (torchrun or slurm)
before the Runner is built, so mmengine skips its own set-up, and
:func:`setup_cpu_distributed` also points ``model_wrapper_cfg`` at
``DeviceAwareDistributedDataParallel`` (``invtoolbox.models.wrappers``),
which omits ``device_ids`` for CPU modules.
"""
import contextlib
import datetime
import os
import os.path as osp
import pickle
import re
import subprocess
from typing import Any, Callable, List, Optional, Union

import torch

from ..errors import InvToolboxError

__all__ = [
    'UntrustedCheckpointError', 'trust_checkpoint_path',
    'reset_trusted_checkpoint_paths', 'is_trusted_checkpoint',
    'load_checkpoint_file', 'register_checkpoint_loader',
    'init_cpu_distributed', 'setup_cpu_distributed'
]


class UntrustedCheckpointError(InvToolboxError, ValueError):
    """A checkpoint from outside the run holds objects that are not weights."""


# ---------------------------------------------------------------------------
# Trusted paths
# ---------------------------------------------------------------------------
_TRUSTED_PATHS: set = set()


def _real(path: str) -> str:
    return osp.realpath(osp.abspath(osp.expanduser(str(path))))


def trust_checkpoint_path(path: str) -> None:
    """Trust the checkpoints in the folder ``path`` (or the file ``path``).

    ``tools/train.py`` trusts its ``work_dir`` and the file given to
    ``--resume``. Trusted files are loaded with ``weights_only=False``.
    """
    _TRUSTED_PATHS.add(_real(path))


def reset_trusted_checkpoint_paths() -> None:
    """Forget every trusted path (all checkpoints become weights-only)."""
    _TRUSTED_PATHS.clear()


def is_trusted_checkpoint(filename: str) -> bool:
    """Whether ``filename`` is a trusted file or lies in a trusted folder."""
    real = _real(filename)
    for trusted in _TRUSTED_PATHS:
        if real == trusted or real.startswith(trusted.rstrip(os.sep) + os.sep):
            return True
    return False


# ---------------------------------------------------------------------------
# Weights-only loading with the globals of mmengine checkpoints
# ---------------------------------------------------------------------------
def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` in weights-only loads.

    mmengine pickles a ``HistoryBuffer``'s statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; this allows exactly those lookups and
    nothing else (a general ``getattr`` would reach arbitrary callables).
    """
    from mmengine.logging import HistoryBuffer
    statistics = {'min', 'max', 'current', 'mean'}
    statistics.update(HistoryBuffer._statistics_methods)  # registered ones
    if obj is HistoryBuffer and name in statistics:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refused getattr({getattr(obj, "__name__", type(obj).__name__)}, '
        f'{name!r})')


def _mmengine_safe_globals() -> List[Union[Callable, tuple]]:
    """The non-tensor globals that mmengine checkpoints contain, all inert."""
    import numpy as np
    from mmengine.logging import HistoryBuffer
    allowed: List[Union[Callable, tuple]] = [
        HistoryBuffer, np.ndarray, np.dtype,
        (_history_buffer_getattr, 'builtins.getattr')
    ]
    # numpy 1.x pickles name numpy.core.multiarray, numpy 2.x numpy._core.
    multiarray = getattr(np, '_core', None) or np.core
    for func in ('_reconstruct', 'scalar'):
        obj = getattr(multiarray.multiarray, func)
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            allowed.append((obj, f'{module}.{func}'))
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and isinstance(
                getattr(dtypes, name), type)
        ]
    return allowed


def _safe_globals_context():
    serialization = torch.serialization
    if hasattr(serialization, 'safe_globals'):  # torch >= 2.5
        return serialization.safe_globals(_mmengine_safe_globals())
    return contextlib.nullcontext()  # older torch: tensors and plain data only


def _refused_globals(message: str) -> str:
    found = re.findall(r'GLOBAL ([\w.]+)', message)
    if found:
        return ', '.join(dict.fromkeys(found))
    found = re.findall(r"but got <class '([\w.]+)'>", message)
    if found:
        return ', '.join(dict.fromkeys(found))
    found = re.findall(r'refused (getattr\(.*?\))', message)
    if found:
        return found[0]
    return 'an object that is not a tensor'


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         trusted: Optional[bool] = None) -> Any:
    """Load a local checkpoint file under the loading policy (module doc).

    Args:
        filename (str): the file.
        map_location: as in ``torch.load``.
        trusted (bool, optional): force the decision; by default a file is
            trusted when :func:`is_trusted_checkpoint` says so.

    Raises:
        FileNotFoundError: the file does not exist.
        UntrustedCheckpointError: an untrusted file holds other objects than
            tensors, plain data, numpy arrays and mmengine log buffers.
        ValueError: the file is not a torch checkpoint.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint {filename} not found; pass an existing .pth file.')
    if trusted is None:
        trusted = is_trusted_checkpoint(filename)
    try:
        if trusted:
            return torch.load(
                filename, map_location=map_location, weights_only=False)
        with _safe_globals_context():
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if trusted or 'Weights only load failed' not in str(err):
            raise ValueError(
                f'checkpoint {filename} cannot be unpickled '
                f'({str(err).splitlines()[0]}); check that it is a complete '
                'torch checkpoint.') from None
        raise UntrustedCheckpointError(
            f'checkpoint {filename} holds objects that are not weights '
            f'({_refused_globals(str(err))}) and is not one of this run\'s '
            'own checkpoints, so it is loaded with weights_only=True and '
            'refused; if you trust the file, resume from it with --resume '
            f'{filename}, or re-save its state_dict alone and load that.') \
            from None
    except RuntimeError as err:
        if 'zip archive' in str(err) or 'magic number' in str(err):
            raise ValueError(
                f'checkpoint {filename} is not a torch checkpoint or is '
                f'truncated ({str(err).splitlines()[0]}).') from None
        raise
    except EOFError:
        raise ValueError(f'checkpoint {filename} is empty or truncated.') \
            from None


def load_from_local_with_policy(filename: str, map_location: Any = None):
    """mmengine ``CheckpointLoader`` scheme for local paths (module doc)."""
    return load_checkpoint_file(filename, map_location)


def register_checkpoint_loader(trusted_paths=()) -> None:
    """Make mmengine load local checkpoints with :func:`load_checkpoint_file`.

    Replaces the loader of the empty scheme prefix (local paths) of
    ``mmengine.runner.CheckpointLoader``; URL schemes are left alone.
    Idempotent. ``trusted_paths`` are passed to
    :func:`trust_checkpoint_path`.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_with_policy, force=True)
    for path in trusted_paths:
        trust_checkpoint_path(path)


# ---------------------------------------------------------------------------
# Distributed training without a GPU
# ---------------------------------------------------------------------------
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


# The resume fix also needs the RNG-state hook registered whenever
# ``register_all_modules()`` (which imports this package) runs.
from ..engine.hooks import rng_state_hook as _rng_state_hook  # noqa: E402,F401
