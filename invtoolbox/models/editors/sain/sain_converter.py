# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official SAIN checkpoints (yang-jin-hai/SAIN) and their converter.

The official ``SAINet`` state dict (``experiments/pretrained_models/
SAINx2_JPEG.pth``, ``SAINx2_WebP.pth``, ``SAINx4_JPEG.pth``; a plain
``torch.save(net.state_dict())``) holds::

    haar_operations.{j}.haar_weights          (4C, 1, 2, 2)   fixed Haar
    down_operations.{i}.{E,F,G,H}.conv{1-5}.*                 enhanced blocks
    comp_operations.{k}.{F,G,H}.conv{1-5}.*                   vanilla blocks
    gmm.gmm_para                              (3, K)          Gaussian mixture

and becomes the state dict of :class:`~invtoolbox.models.SAINNet`
(``inn.blocks.{j}``, ``inn.blocks.{H+i}``, ``inn.blocks.{H+E+k}``,
``gmm.gmm_para``): the mixture belongs to the network, as in the official
code, so the one file fills ``model.generator`` completely. The layout
(Haar stages, block counts, split, growth, mixture size) is read from the
keys and shapes, so every scale and depth of the official code converts.
"""
from __future__ import annotations

import math
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

from torch import Tensor

from ..irn.irn_converter import (NETWORK_CONVERTERS, OFFICIAL_ARCHS,
                                 _check_against, _foreign_kind,
                                 describe_official_checkpoint,
                                 strip_state_dict)

__all__ = ['convert_sain_state_dict', 'describe_sain']

_SAIN_KEY = re.compile(
    r'^(haar_operations|down_operations|comp_operations)\.(\d+)\.(.+)$')
_ENHANCED_KEY = re.compile(r'^([EFGH])\.conv([1-5])\.(weight|bias)$')
_VANILLA_KEY = re.compile(r'^([FGH])\.conv([1-5])\.(weight|bias)$')
_GMM_KEY = 'gmm.gmm_para'


def _levels(scale: int) -> int:
    return int(round(math.log2(scale)))


def _sain(scale: int, e_blocks: int, v_blocks: int) -> dict:
    return dict(
        type='SAINNet',
        in_channels=3,
        out_channels=3,
        scale=scale,
        e_blocks=e_blocks,
        v_blocks=v_blocks,
        gmm_components=5,
        subnet=dict(type='DenseBlock', growth=32, init='xavier'))


_SAIN_ARCHS = {
    'SAINx2_JPEG': (2, 5, 3, 'JPEG'),
    'SAINx2_WebP': (2, 5, 3, 'WebP'),
    'SAINx4_JPEG': (4, 10, 6, 'JPEG'),
}
for _name, (_scale, _e, _v, _codec) in _SAIN_ARCHS.items():
    OFFICIAL_ARCHS[_name] = dict(
        description=(f'SAIN x{_scale} (AAAI 2023) trained for {_codec} '
                     f'QF 75: {_levels(_scale)} Haar stage'
                     f"{'s' if _scale > 2 else ''}, {_e} enhanced + {_v} "
                     'vanilla couplings, Gaussian-mixture latent (K=5)'),
        checkpoint=f'{_name}.pth',
        model='SAIN',
        scale=_scale,
        main='generator',
        parts=dict(
            generator=dict(network=_sain(_scale, _e, _v),
                           file=f'{_name}.pth (yang-jin-hai/SAIN, '
                           'experiments/pretrained_models)')))


def describe_sain(cfg: Mapping) -> str:
    """``'SAIN x2: 1 Haar stage, 5 enhanced + 3 vanilla blocks, split 3'``."""
    levels = _levels(cfg['scale'])
    return (f"SAIN x{cfg['scale']}: {levels} Haar stage"
            f"{'s' if levels > 1 else ''}, {cfg['e_blocks']} enhanced + "
            f"{cfg['v_blocks']} vanilla blocks, split {cfg['out_channels']}")


def _layout_from_sain_keys(state: Mapping[str, Tensor], source: str) -> dict:
    """The :class:`SAINNet` config of an official ``SAINet`` state dict."""
    groups: Dict[str, Dict[int, Dict[str, Tensor]]] = {
        'haar_operations': {},
        'down_operations': {},
        'comp_operations': {}
    }
    gmm = None
    for key, value in state.items():
        if key == _GMM_KEY:
            gmm = value
            continue
        match = _SAIN_KEY.match(key)
        if match is None:
            raise ValueError(
                f'{source}: key {key!r} is not of the official SAIN layout '
                '(haar_operations.{j}.haar_weights, down_operations.{i}.'
                '{E,F,G,H}.conv{1-5}.*, comp_operations.{k}.{F,G,H}.'
                'conv{1-5}.*, gmm.gmm_para).')
        group, index, rest = match.group(1), int(match.group(2)), \
            match.group(3)
        pattern = {
            'haar_operations': re.compile(r'^haar_weights$'),
            'down_operations': _ENHANCED_KEY,
            'comp_operations': _VANILLA_KEY
        }[group]
        if not pattern.match(rest):
            raise ValueError(f'{source}: {key!r} is not a key of a SAIN '
                             f'{group[:-len("_operations")]} op.')
        groups[group].setdefault(index, {})[rest] = value
    for group, ops in groups.items():
        if sorted(ops) != list(range(len(ops))):
            raise ValueError(f'{source}: {group} indices {sorted(ops)[:12]} '
                             'are not contiguous from 0; the state dict is '
                             'partial.')
    haar, down, comp = (groups['haar_operations'], groups['down_operations'],
                        groups['comp_operations'])
    if not haar or not down:
        raise ValueError(f'{source}: a SAIN state dict needs haar_operations '
                         'and down_operations; this one has '
                         f'{len(haar)} Haar and {len(down)} enhanced ops.')
    if gmm is None or gmm.dim() != 2 or gmm.shape[0] != 3:
        got = None if gmm is None else tuple(gmm.shape)
        raise ValueError(f'{source}: gmm.gmm_para must be a (3, K) tensor, '
                         f'got {got}.')
    weight = haar[0].get('haar_weights')
    if weight is None or weight.dim() != 4 or \
            tuple(weight.shape[1:]) != (1, 2, 2):
        raise ValueError(f'{source}: haar_operations.0.haar_weights must have '
                         'shape (4C, 1, 2, 2).')
    first = down[0]
    try:
        split = int(first['E.conv5.weight'].shape[0])
        growth = int(first['E.conv1.weight'].shape[0])
        channels = split + int(first['E.conv1.weight'].shape[1])
    except KeyError as err:
        raise ValueError(f'{source}: down_operations.0 lacks '
                         f'{err.args[0]}.') from None
    return dict(
        type='SAINNet',
        in_channels=int(weight.shape[0] // 4),
        out_channels=split,
        scale=2**len(haar),
        e_blocks=len(down),
        v_blocks=len(comp),
        gmm_components=int(gmm.shape[1]),
        subnet=dict(type='DenseBlock', growth=growth, init='xavier'),
        _channels=channels)


def _rename(state: Mapping[str, Tensor], cfg: Mapping
            ) -> 'OrderedDict[str, Tensor]':
    num_haar = _levels(cfg['scale'])
    offsets = dict(
        haar_operations=0,
        down_operations=num_haar,
        comp_operations=num_haar + cfg['e_blocks'])
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state.items():
        if key == _GMM_KEY:
            out[key] = value
            continue
        match = _SAIN_KEY.match(key)
        index = offsets[match.group(1)] + int(match.group(2))
        out[f'inn.blocks.{index}.{match.group(3)}'] = value
    return out


def convert_sain_state_dict(state_dict: Mapping, source: str = 'checkpoint'
                            ) -> Tuple['OrderedDict[str, Tensor]', dict]:
    """Convert an official SAIN state dict of any scale and depth.

    Args:
        state_dict (dict): the official ``SAINet`` state dict (``module.``
            prefix and a ``state_dict`` wrapper allowed).
        source (str): name used in error messages (e.g. the file).

    Returns:
        tuple[OrderedDict, dict]: the :class:`SAINNet` state dict
        (``inn.blocks.*``, ``gmm.gmm_para``) and the ``SAINNet`` config that
        it fits.

    Raises:
        ValueError: one line, when the state dict is not a SAIN network's
            (e.g. an IRN checkpoint), saying what it looks like.
    """
    state = strip_state_dict(state_dict, source)
    keys = list(state)
    if not any(k.startswith(('haar_operations.', 'down_operations.'))
               for k in keys):
        if any(k.startswith('operations.') for k in keys):
            looks = describe_official_checkpoint(state)
        else:
            looks = _foreign_kind(keys) or f'an unknown network (keys such ' \
                f'as {keys[0]!r})'
        raise ValueError(f'{source}: this checkpoint looks like {looks}, not '
                         'a SAIN network (haar_/down_/comp_operations, '
                         'gmm.gmm_para).')
    cfg = _layout_from_sain_keys(state, source)
    channels = cfg.pop('_channels')
    expected = cfg['in_channels'] * cfg['scale']**2
    if channels != expected:
        raise ValueError(
            f'{source}: the enhanced blocks work on {channels} channels, but '
            f"{_levels(cfg['scale'])} Haar stage(s) "
            f"of {cfg['in_channels']} channels give {expected}.")
    converted = _rename(state, cfg)
    _check_against(converted, cfg, source, f'SAINNet ({describe_sain(cfg)})')
    return converted, cfg


def _matching_sain_archs(cfg: Mapping) -> List[str]:
    keys = ('in_channels', 'out_channels', 'scale', 'e_blocks', 'v_blocks',
            'gmm_components')
    names = []
    for name, spec in OFFICIAL_ARCHS.items():
        net = spec['parts'].get('generator', {}).get('network', {})
        if net.get('type') == 'SAINNet' and all(
                net[k] == cfg[k] for k in keys) and net['subnet'].get(
                    'growth', 32) == cfg['subnet'].get('growth', 32):
            names.append(name)
    return names


def _convert_for_arch(state: Mapping[str, Tensor], cfg: dict, arch: str,
                      source: str) -> 'OrderedDict[str, Tensor]':
    """``NETWORK_CONVERTERS['SAINNet']``: convert and check against
    ``arch``."""
    converted, found = convert_sain_state_dict(state, source)
    names = _matching_sain_archs(found)
    if arch not in names:
        label = ' / '.join(names) if names else 'a SAIN network'
        hint = f"; pass arch='{names[0]}'" if names else ''
        raise ValueError(f'{source}: this checkpoint looks like {label} '
                         f'({describe_sain(found)}), not {arch} '
                         f'({describe_sain(cfg)}){hint}.')
    return converted


NETWORK_CONVERTERS['SAINNet'] = _convert_for_arch
