# Copyright (c) invtoolbox contributors. All rights reserved.
"""One optimizer wrapper per sub-network (GAN-style models such as IRN+)."""
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from ...registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Builds an ``OptimWrapperDict`` with one ``OptimWrapper`` per sub-module.

    Each top-level key of ``optim_wrapper`` names an attribute of the model
    (e.g. ``generator``, ``discriminator``) and holds an ordinary optimizer
    wrapper config for its parameters::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4),
                           clip_grad=dict(max_norm=10)),
            discriminator=dict(type='OptimWrapper',
                               optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
        param_scheduler = dict(generator=[...], discriminator=[...])

    The model's ``train_step`` receives the dict and steps each wrapper
    itself. ``paramwise_cfg`` may be given per sub-module inside its config.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise ValueError(
                'MultiOptimWrapperConstructor needs optim_wrapper entries '
                'named after the model\'s sub-modules, e.g. generator=dict('
                "type='OptimWrapper', optimizer=...).")
        if paramwise_cfg is not None:
            raise ValueError(
                'MultiOptimWrapperConstructor: put paramwise_cfg inside each '
                'sub-module\'s optim_wrapper entry, not at the top level.')
        bad = [k for k, v in optim_wrapper_cfg.items() if not isinstance(v, dict)]
        if bad:
            raise ValueError(
                f'MultiOptimWrapperConstructor: entries {bad} are not '
                'optimizer wrapper configs; every top-level key must name a '
                'sub-module and hold its own dict(type=..., optimizer=...).')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            module = getattr(model, name, None)
            if not isinstance(module, nn.Module):
                children = [n for n, _ in model.named_children()]
                raise ValueError(
                    f'MultiOptimWrapperConstructor: the model has no '
                    f'sub-module {name!r} (it has {children}); rename the '
                    'optim_wrapper entry.')
            cfg = dict(cfg)
            paramwise = cfg.pop('paramwise_cfg', None)
            wrappers[name] = DefaultOptimWrapperConstructor(
                cfg, paramwise)(module)
        return OptimWrapperDict(**wrappers)
