# Copyright (c) invtoolbox contributors. All rights reserved.
"""Several optimizers: one per sub-network (GAN-style models such as IRN+),
or one per group of parameters selected by name (a learned codec's main and
auxiliary optimizers)."""
import fnmatch
from typing import List, Optional, Sequence

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from ...registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

#: keys of an entry that select parameters by name.
SELECT_KEYS = ('module', 'params', 'exclude')


def _patterns(value, key: str, entry: str) -> List[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(
            isinstance(v, str) for v in value):
        raise ValueError(
            f'MultiOptimWrapperConstructor: {entry}.{key} must be a list of '
            f"name patterns such as ['*.quantiles'], got {value!r}.")
    return list(value)


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Builds an ``OptimWrapperDict``: one ``OptimWrapper`` per entry.

    An entry named after an attribute of the model (e.g. ``generator``,
    ``discriminator``) holds an ordinary optimizer wrapper config for that
    sub-module's parameters::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4),
                           clip_grad=dict(max_norm=10)),
            discriminator=dict(type='OptimWrapper',
                               optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
        param_scheduler = dict(generator=[...], discriminator=[...])

    An entry may instead **select parameters by name** (``fnmatch`` patterns
    on ``named_parameters()`` of ``module``, the whole model by default):
    ``params`` keeps the matching ones, ``exclude`` drops them. This is how
    a learned codec trains its entropy models' ``quantiles`` with their own
    optimizer (see
    :class:`~invtoolbox.models.base_models.LearnedCodecMixin`)::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            main=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4),
                      exclude=['*.quantiles']),
            aux=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
                     params=['*.quantiles']))

    Frozen parameters (``requires_grad=False``) are never selected. Two
    selecting entries may not share a parameter. The model's ``train_step``
    receives the dict and steps each wrapper itself. ``paramwise_cfg`` may
    be given per sub-module entry (not with name selection).
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
        for name, cfg in optim_wrapper_cfg.items():
            if any(k in cfg for k in SELECT_KEYS) and 'paramwise_cfg' in cfg:
                raise ValueError(
                    f'MultiOptimWrapperConstructor: {name} selects '
                    'parameters by name; paramwise_cfg cannot be combined '
                    'with params/exclude/module.')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    @staticmethod
    def _submodule(model: nn.Module, name: str, entry: str) -> nn.Module:
        module = getattr(model, name, None)
        if not isinstance(module, nn.Module):
            children = [n for n, _ in model.named_children()]
            raise ValueError(
                f'MultiOptimWrapperConstructor: the model has no sub-module '
                f'{name!r} (it has {children}); rename the optim_wrapper '
                f'entry {entry!r} or set its module=...')
        return module

    def _select(self, model: nn.Module, name: str, cfg: dict) -> list:
        module = model
        if cfg.get('module') is not None:
            module = self._submodule(model, cfg['module'], name)
        keep = _patterns(cfg['params'], 'params', name) \
            if cfg.get('params') is not None else ['*']
        drop = _patterns(cfg['exclude'], 'exclude', name) \
            if cfg.get('exclude') is not None else []
        chosen = [(n, p) for n, p in module.named_parameters()
                  if p.requires_grad and _matches(n, keep)
                  and not _matches(n, drop)]
        if not chosen:
            raise ValueError(
                f'MultiOptimWrapperConstructor: entry {name!r} selects no '
                f'trainable parameter (params={keep}, exclude={drop}); check '
                'the patterns against model.named_parameters().')
        return chosen

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        owner = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            cfg = dict(cfg)
            if not any(k in cfg for k in SELECT_KEYS):
                module = self._submodule(model, name, name)
                paramwise = cfg.pop('paramwise_cfg', None)
                wrappers[name] = DefaultOptimWrapperConstructor(
                    cfg, paramwise)(module)
                continue
            chosen = self._select(model, name, cfg)
            for pname, param in chosen:
                if id(param) in owner:
                    raise ValueError(
                        f'MultiOptimWrapperConstructor: parameter {pname!r} '
                        f'is selected by both {owner[id(param)]!r} and '
                        f'{name!r}; make the patterns disjoint (e.g. '
                        "exclude=['*.quantiles'] in one, params=["
                        "'*.quantiles'] in the other).")
                owner[id(param)] = name
            for key in SELECT_KEYS:
                cfg.pop(key, None)
            if not isinstance(cfg.get('optimizer'), dict):
                raise ValueError(
                    f'MultiOptimWrapperConstructor: entry {name!r} has no '
                    "optimizer=dict(type='Adam', lr=...).")
            optimizer_cfg = dict(cfg.pop('optimizer'))
            optimizer_cfg['params'] = [p for _, p in chosen]
            optimizer = OPTIMIZERS.build(optimizer_cfg)
            cfg.setdefault('type', 'OptimWrapper')
            wrappers[name] = OPTIM_WRAPPERS.build(
                cfg, default_args=dict(optimizer=optimizer))
        return OptimWrapperDict(**wrappers)
