# Copyright (c) invtoolbox contributors. All rights reserved.
"""Model wrappers for distributed training."""
from contextlib import contextmanager
from typing import Dict, Iterator

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from ..registry import MODEL_WRAPPERS


def average_gradients(optimizer: torch.optim.Optimizer) -> None:
    """All-reduce (mean over the process group) the gradients of the
    parameters of ``optimizer``, in one flat buffer.

    A parameter without a gradient counts as zero in the sum and keeps no
    gradient (so an optimizer still skips it); every rank must hold the
    same parameters in the same order, which the model built from one
    config guarantees.
    """
    params = [
        p for group in optimizer.param_groups for p in group['params']
        if p.requires_grad
    ]
    if not params:
        return
    grads = [
        p.grad if p.grad is not None else torch.zeros_like(p) for p in params
    ]
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for param, synced in zip(params,
                             _unflatten_dense_tensors(flat, grads)):
        if param.grad is not None:
            param.grad.copy_(synced)


@contextmanager
def averaged_steps(optim_wrapper: OptimWrapperDict) -> Iterator[None]:
    """Within the context, every ``step()`` of the wrappers of
    ``optim_wrapper`` first averages its parameters' gradients over the
    process group (before clipping, as DDP's backward would)."""
    patched: Dict[str, OptimWrapper] = {}
    for name, wrapper in optim_wrapper.items():
        original = wrapper.step

        def step(*args, _wrapper=wrapper, _original=original, **kwargs):
            average_gradients(_wrapper.optimizer)
            return _original(*args, **kwargs)

        wrapper.step = step  # an instance attribute shadows the method
        patched[name] = wrapper
    try:
        yield
    finally:
        for wrapper in patched.values():
            del wrapper.step


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps CPU modules.

    mmengine's Runner passes ``device_ids=[LOCAL_RANK]`` to every
    ``DistributedDataParallel`` subclass it builds, which torch rejects for a
    module on the CPU (``device_ids`` must be ``None`` there; gradients are
    then all-reduced over the ``gloo`` group). This wrapper drops
    ``device_ids`` and ``output_device`` when the module's parameters live on
    the CPU and otherwise behaves exactly like ``MMDistributedDataParallel``
    (``train_step``, ``val_step``, ``test_step``).

    Models with several optimizers (an ``OptimWrapperDict``: GANs such as
    IRN+ and the novel-view model, a learned codec's auxiliary optimizer)
    run their own ``train_step`` (mmengine's DDP ``train_step`` supports
    one optimizer only); each optimizer step then averages its gradients
    over the process group first (:func:`averaged_steps`), so every rank
    applies the same update, as DDP would. The initial parameters are
    broadcast from rank 0 when the wrapper is built.

    ``tools/train.py`` selects it by itself for CPU runs with
    ``--launcher pytorch|slurm``; in a config (mmengine's Runner looks the
    wrapper up in its root registry, hence the scope prefix)::

        model_wrapper_cfg = dict(
            type='invtoolbox.DeviceAwareDistributedDataParallel')

    Args:
        module (nn.Module): the model (a ``BaseModel``).
        device_ids (list[int], optional): CUDA devices, ignored for CPU
            modules.
        output_device (int, optional): ignored for CPU modules.
        **kwargs: the other arguments of ``MMDistributedDataParallel``.
    """

    def __init__(self, module, device_ids=None, output_device=None,
                 **kwargs) -> None:
        devices = {p.device.type for p in module.parameters()}
        if devices <= {'cpu'}:
            device_ids = output_device = None
        super().__init__(
            module=module,
            device_ids=device_ids,
            output_device=output_device,
            **kwargs)

    def train_step(self, data, optim_wrapper):
        """mmengine's DDP step for one optimizer; the model's own
        ``train_step`` with gradients averaged at every optimizer step for
        an ``OptimWrapperDict``."""
        if isinstance(optim_wrapper, OptimWrapperDict):
            with averaged_steps(optim_wrapper):
                return self.module.train_step(data, optim_wrapper)
        return super().train_step(data, optim_wrapper)
