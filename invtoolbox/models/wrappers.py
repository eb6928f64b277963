# Copyright (c) invtoolbox contributors. All rights reserved.
"""Model wrappers for distributed training."""
from mmengine.model import MMDistributedDataParallel

from ..registry import MODEL_WRAPPERS


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
