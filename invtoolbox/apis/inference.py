# Copyright (c) invtoolbox contributors. All rights reserved.
"""Building a model from a config and loading an invtoolbox checkpoint."""
from __future__ import annotations

import os
from typing import Mapping, Optional, Union

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope

from ..models.base_models.official_converter import (converter_families,
                                                     describe_state,
                                                     find_official_layout,
                                                     strip_state_dict)
from .checkpoint_io import load_weights_only

__all__ = ['init_model', 'load_model_weights']

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


def load_model_weights(model: BaseModel,
                       checkpoint,
                       config_name: str = 'the config') -> BaseModel:
    """Load an invtoolbox checkpoint into ``model`` (``weights_only=True``).

    ``generator.*`` and ``restorer.*`` must match the model exactly (keys and
    shapes); weights of other parts (discriminator, loss networks) that the
    checkpoint lacks keep their built values, extra ones are ignored (both
    are logged).

    Raises:
        FileNotFoundError: the checkpoint does not exist.
        ValueError: one line, for an official (unconverted) checkpoint, a
            file that is not weights-only, or weights of another
            architecture or scale than the config's.
    """
    path = os.path.expanduser(os.fspath(checkpoint))
    loaded = load_weights_only(path, 'checkpoint')
    try:
        state = strip_state_dict(loaded, f'checkpoint {path!r}')
    except ValueError as err:
        raise ValueError(str(err)) from None
    keys = list(state)
    if not any(k.startswith(CORE_PARTS) for k in keys):
        if find_official_layout(keys) is not None:
            looks = describe_state(state)
            raise ValueError(
                f'checkpoint {path!r} is an official checkpoint ({looks}); '
                'convert it first: python tools/model_converters/'
                'convert_official.py ARCH SRC DST.')
        raise ValueError(
            f'checkpoint {path!r} has no generator/restorer weights (keys '
            f'such as {keys[0]!r}); is it an invtoolbox model checkpoint?')
    own = model.state_dict()
    problems = []
    for key, value in own.items():
        if not key.startswith(CORE_PARTS):
            continue
        if key not in state:
            problems.append(f'{key} is missing')
        elif tuple(state[key].shape) != tuple(value.shape) and \
                value.numel() != 0:
            # (a buffer empty in a fresh model has a data-dependent size:
            # a learned codec's CDF tables, rebuilt by update())
            problems.append(f'{key} has shape {tuple(state[key].shape)}, '
                            f'the model needs {tuple(value.shape)}')
    extra = [k for k in keys if k.startswith(CORE_PARTS) and k not in own]
    problems += [f'{k} is not in the model' for k in extra]
    if problems:
        raise ValueError(
            f'checkpoint {path!r} does not fit {config_name}: the checkpoint '
            f'holds {_describe_generator(state)}, the config builds '
            f'{_describe_generator(own)} ({len(problems)} mismatches, e.g. '
            f'{problems[0]}); use the config of the arch/scale the weights '
            'were trained for.')
    missing = [k for k in own if k not in state]
    ignored = [k for k in keys if k not in own]
    if missing:
        print_log(
            f'init_model: {len(missing)} weights not in the checkpoint keep '
            f'their initial values (e.g. {missing[0]}).',
            logger='current')
    if ignored:
        print_log(
            f'init_model: ignored {len(ignored)} checkpoint entries the '
            f'model does not have (e.g. {ignored[0]}).',
            logger='current')
    model.load_state_dict({k: v for k, v in state.items() if k in own},
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
