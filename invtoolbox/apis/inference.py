# Copyright (c) invtoolbox contributors. All rights reserved.
"""Building a model from a config and loading an invtoolbox checkpoint."""
from __future__ import annotations

import os
from typing import (List, Mapping, NamedTuple, Optional, Sequence, Tuple,
                    Union)

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope

from ..errors import InvToolboxError
from ..models.base_models.official_converter import (converter_families,
                                                     describe_state,
                                                     find_official_layout,
                                                     strip_state_dict)
from .checkpoint_io import load_weights_only

__all__ = [
    'init_model', 'load_model_weights', 'check_checkpoint_fits',
    'CheckpointFit', 'CheckpointMismatchError'
]

#: Model parts whose weights a checkpoint must provide exactly; other parts
#: (discriminators, loss networks) may be missing (kept as built) or extra.
CORE_PARTS = ('generator.', 'restorer.')


def _describe_generator(state: Mapping, prefix: str = 'generator.') -> str:
    """Describe the ``generator.*`` weights of a model state dict, asking
    every registered converter family (e.g. ``'IRN 2 Haar levels, 8+8
    couplings, split 3'``)."""
    sub = {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }
    if not sub:
        return 'no generator'
    for family in converter_families():
        found = family.describe_model_part('generator', sub)
        if found:
            return found
    return 'an unrecognised generator'


class CheckpointMismatchError(InvToolboxError, ValueError):
    """A checkpoint's weights do not fit the model of a config (another
    architecture, scale or size), or its training state does not fit the
    run resuming from it."""


#: How many mismatched keys an error message names.
SHOWN_KEYS = 3


class CheckpointFit(NamedTuple):
    """What :func:`check_checkpoint_fits` found.

    ``problems``: mismatches of the core parts (missing, wrong shape, not in
    the model), empty when the checkpoint fits; ``missing``: model weights
    the checkpoint lacks (they keep their built values); ``ignored``:
    checkpoint entries the model does not have; ``mismatched``: keys whose
    shapes differ (not loaded).
    """
    problems: List[str]
    missing: List[str]
    ignored: List[str]
    mismatched: List[str]


def _core_parts(own: Mapping) -> Tuple[str, ...]:
    """The key prefixes that must match: :data:`CORE_PARTS` for the
    invtoolbox editors, every key for a model without them (a plugin's)."""
    if any(k.startswith(CORE_PARTS) for k in own):
        return CORE_PARTS
    return ('', )


def check_checkpoint_fits(own: Mapping,
                          state: Mapping,
                          path: str,
                          config_name: str = 'the config',
                          strict: bool = True,
                          hint: Optional[str] = None,
                          fresh_parts: Sequence[str] = ()) -> CheckpointFit:
    """Compare a checkpoint's state dict with a model's, before loading.

    The one matcher of every path that loads weights (``init_model``,
    ``tools/infer.py``, and the Runner's ``load_from`` / resume /
    ``tools/test.py`` through :class:`~invtoolbox.engine.hooks.
    CheckpointMatchHook`). ``generator.*`` and ``restorer.*`` (every key, for
    a model without those parts) must match the model exactly: same keys,
    same shapes. Other parts (discriminator, loss networks) may be missing
    (they keep their built values) or extra (ignored).

    Args:
        own (Mapping): ``model.state_dict()``.
        state (Mapping): the checkpoint's state dict (``module.`` stripped,
            see :func:`strip_state_dict`).
        path (str): the checkpoint, for messages.
        config_name (str): e.g. ``"config 'configs/irn/x.py'"``.
        strict (bool): raise on core mismatches; ``False`` reports them in
            the result (a deliberate partial load). A checkpoint of which
            no core weight fits is refused either way.
        hint (str, optional): what to do, at the end of the error message.
            Default: use the config of the weights' arch/scale.
        fresh_parts (Sequence[str]): model parts (top-level submodule names,
            e.g. ``('restorer', )``) that start from their initialisation
            when the checkpoint has none of their weights; weights of these
            parts that it does have must still fit. Default: none.

    Raises:
        CheckpointMismatchError: one line naming the checkpoint, the config,
            what each holds and the first mismatched keys.
    """
    keys = list(state)
    core = _core_parts(own)
    if core == CORE_PARTS and not any(k.startswith(CORE_PARTS)
                                      for k in keys):
        if find_official_layout(keys) is not None:
            raise CheckpointMismatchError(
                f'checkpoint {path!r} is an official checkpoint '
                f'({describe_state(state)}); convert it first: python tools/'
                'model_converters/convert_official.py ARCH SRC DST.')
        raise CheckpointMismatchError(
            f'checkpoint {path!r} has no generator/restorer weights (keys '
            f'such as {keys[0]!r}); is it an invtoolbox model checkpoint?')
    fresh = tuple(f'{part}.' for part in fresh_parts
                  if not any(k.startswith(f'{part}.') for k in keys))
    missing, mismatched, absent, wrong = [], [], [], []
    for key, value in own.items():
        if key not in state:
            missing.append(key)
            if key.startswith(core) and not (fresh and key.startswith(fresh)):
                absent.append(f'{key} is missing')
        elif tuple(state[key].shape) != tuple(value.shape) and \
                value.numel() != 0:
            # (a buffer empty in a fresh model has a data-dependent size:
            # a learned codec's CDF tables, rebuilt by update())
            mismatched.append(key)
            if key.startswith(core):
                wrong.append(f'{key} has shape {tuple(state[key].shape)}, '
                             f'the model needs {tuple(value.shape)}')
    ignored = [k for k in keys if k not in own]
    extra = [f'{k} is not in the model' for k in ignored if k.startswith(core)]
    problems = absent + wrong + extra
    fitting = [
        k for k in own if k.startswith(core) and k in state
        and k not in mismatched
    ]
    if problems and (strict or not fitting):
        # the first of each kind, then the rest
        firsts = [kind[0] for kind in (absent, wrong, extra) if kind]
        shown = firsts + [p for p in problems if p not in firsts]
        more = (f'; and {len(problems) - SHOWN_KEYS} more'
                if len(problems) > SHOWN_KEYS else '')
        if not strict:
            hint = ('none of its weights fits the model, so even a partial '
                    'load would load nothing; use the config of the '
                    'arch/scale the weights were trained for.')
        raise CheckpointMismatchError(
            f'checkpoint {path!r} does not fit {config_name}: the checkpoint '
            f'holds {_describe_generator(state)}, the config builds '
            f'{_describe_generator(own)} ({len(problems)} mismatches: '
            f'{"; ".join(shown[:SHOWN_KEYS])}{more}); ' +
            (hint or 'use the config of the arch/scale the weights were '
             'trained for.'))
    return CheckpointFit(problems, missing, ignored, mismatched)


def load_model_weights(model: BaseModel,
                       checkpoint,
                       config_name: str = 'the config') -> BaseModel:
    """Load an invtoolbox checkpoint into ``model`` (``weights_only=True``).

    ``generator.*`` and ``restorer.*`` must match the model exactly (keys and
    shapes, :func:`check_checkpoint_fits`); weights of other parts
    (discriminator, loss networks) that the checkpoint lacks keep their
    built values, extra ones are ignored (both are logged).

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: one line, for an official (unconverted) checkpoint, a
            file that is not weights-only, or weights of another
            architecture or scale than the config's
            (:class:`CheckpointMismatchError`).
    """
    path = os.path.expanduser(os.fspath(checkpoint))
    loaded = load_weights_only(path, 'checkpoint')
    try:
        state = strip_state_dict(loaded, f'checkpoint {path!r}')
    except ValueError as err:
        raise ValueError(str(err)) from None
    own = model.state_dict()
    fit = check_checkpoint_fits(own, state, path, config_name)
    if fit.missing:
        print_log(
            f'init_model: {len(fit.missing)} weights not in the checkpoint '
            f'keep their initial values (e.g. {fit.missing[0]}).',
            logger='current')
    if fit.ignored:
        print_log(
            f'init_model: ignored {len(fit.ignored)} checkpoint entries the '
            f'model does not have (e.g. {fit.ignored[0]}).',
            logger='current')
    if fit.mismatched:  # (outside the core parts: those raised above)
        print_log(
            f'init_model: {len(fit.mismatched)} checkpoint entries of '
            'another shape keep the built values (e.g. '
            f'{fit.mismatched[0]}).',
            logger='current')
    model.load_state_dict(
        {
            k: v
            for k, v in state.items() if k in own and k not in fit.mismatched
        },
        strict=False)
    return model


def init_model(config: Union[str, os.PathLike, Config],
               checkpoint: Optional[Union[str, os.PathLike]] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> BaseModel:
    """Build the model of a config and load an invtoolbox checkpoint.

    Args:
        config (str | Path | Config): a config file (or a loaded Config)
            with a ``model`` dict.
        checkpoint (str | Path, optional): an invtoolbox checkpoint
            (``{'meta': ..., 'state_dict': ...}`` as written by the runner,
            ``convert_official.py`` or ``publish_model.py``), loaded with
            ``weights_only=True``. Default: None (weights as initialised).
        device (str | torch.device): where to put the model. Default: CPU.
        cfg_options (dict, optional): overrides merged into the config.

    Returns:
        BaseModel: the model in eval mode, with ``model.cfg`` set.

    Raises:
        FileNotFoundError: config or checkpoint missing.
        ValueError: one line, when the config has no model or the checkpoint
            does not fit it (see :func:`load_model_weights`).
    """
    from ..registry import MODELS
    from ..utils import register_all_modules
    if isinstance(config, (str, os.PathLike)):
        path = os.path.expanduser(os.fspath(config))
        if not os.path.isfile(path):
            raise FileNotFoundError(f'config {path!r} not found; pass a '
                                    'config file such as configs/irn/...py.')
        config_name = f'config {path!r}'
        config = Config.fromfile(path)
    elif isinstance(config, Config):
        config_name = f"config {getattr(config, 'filename', None) or ''!r}"
    else:
        raise TypeError('init_model: config must be a file path or an '
                        f'mmengine Config, got {type(config).__name__}.')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if not isinstance(config.get('model'), Mapping):
        raise ValueError(f'{config_name} has no model dict.')
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('invtoolbox'):
        model = MODELS.build(config.model)
    if checkpoint is not None:
        load_model_weights(model, checkpoint, config_name)
    model.cfg = config
    model.to(device)
    model.eval()
    return model
