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
:class:`SAINConverter` is registered in ``CONVERTERS`` under the names of
:data:`SAIN_ARCHS`; the networks come from the configs named there.
"""
from __future__ import annotations

import math
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ....registry import CONVERTERS
from ...base_models.official_converter import (OfficialConverter,
                                               check_against, describe_state,
                                               get_converter,
                                               strip_state_dict)

__all__ = ['SAINConverter', 'SAIN_ARCHS', 'convert_sain_state_dict',
           'describe_sain']

_SAIN_KEY = re.compile(
    r'^(haar_operations|down_operations|comp_operations)\.(\d+)\.(.+)$')
_ENHANCED_KEY = re.compile(r'^([EFGH])\.conv([1-5])\.(weight|bias)$')
_VANILLA_KEY = re.compile(r'^([FGH])\.conv([1-5])\.(weight|bias)$')
_INN_KEY = re.compile(r'^inn\.blocks\.(\d+)\.(.+)$')
_GMM_KEY = 'gmm.gmm_para'
_FILE = '{} (yang-jin-hai/SAIN, experiments/pretrained_models)'

#: The released official checkpoints: what no config says.
SAIN_ARCHS = {
    'SAINx2_JPEG': dict(
        config='configs/sain/sain_x2_jpeg_div2k.py',
        description='SAIN x2 (AAAI 2023) trained for JPEG QF 75: 1 Haar '
        'stage, 5 enhanced + 3 vanilla couplings, Gaussian-mixture latent '
        '(K=5)',
        checkpoint='SAINx2_JPEG.pth',
        files=dict(generator=_FILE.format('SAINx2_JPEG.pth'))),
    'SAINx2_WebP': dict(
        config='configs/sain/sain_x2_webp_div2k.py',
        description='SAIN x2 (AAAI 2023) trained for WebP QF 75: 1 Haar '
        'stage, 5 enhanced + 3 vanilla couplings, Gaussian-mixture latent '
        '(K=5)',
        checkpoint='SAINx2_WebP.pth',
        files=dict(generator=_FILE.format('SAINx2_WebP.pth'))),
    'SAINx4_JPEG': dict(
        config='configs/sain/sain_x4_jpeg_div2k.py',
        description='SAIN x4 (AAAI 2023) trained for JPEG QF 75: 2 Haar '
        'stages, 10 enhanced + 6 vanilla couplings, Gaussian-mixture latent '
        '(K=5)',
        checkpoint='SAINx4_JPEG.pth',
        files=dict(generator=_FILE.format('SAINx4_JPEG.pth'))),
}


def _levels(scale: int) -> int:
    return int(round(math.log2(scale)))


def describe_sain(cfg: Mapping) -> str:
    """``'SAIN x2: 1 Haar stage, 5 enhanced + 3 vanilla blocks, split 3'``."""
    scale = cfg.get('scale', 2)
    levels = _levels(scale)
    return (f"SAIN x{scale}: {levels} Haar stage"
            f"{'s' if levels > 1 else ''}, {cfg.get('e_blocks', 5)} enhanced "
            f"+ {cfg.get('v_blocks', 3)} vanilla blocks, split "
            f"{cfg.get('out_channels', 3)}")


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


def _offsets(cfg: Mapping) -> Dict[str, int]:
    num_haar = _levels(cfg.get('scale', 2))
    return dict(
        haar_operations=0,
        down_operations=num_haar,
        comp_operations=num_haar + cfg.get('e_blocks', 5))


def _rename(state: Mapping[str, Tensor], cfg: Mapping
            ) -> 'OrderedDict[str, Tensor]':
    offsets = _offsets(cfg)
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state.items():
        if key == _GMM_KEY:
            out[key] = value
            continue
        match = _SAIN_KEY.match(key)
        index = offsets[match.group(1)] + int(match.group(2))
        out[f'inn.blocks.{index}.{match.group(3)}'] = value
    return out


def _to_official(key: str, cfg: Mapping) -> str:
    """``inn.blocks.{i}.*`` -> the official key (for error messages)."""
    match = _INN_KEY.match(key)
    if match is None:
        return key
    index = int(match.group(1))
    group = None
    for name, offset in sorted(_offsets(cfg).items(), key=lambda i: i[1]):
        if index >= offset:
            group, start = name, offset
    return f'{group}.{index - start}.{match.group(2)}'


def _same_sain(a: Mapping, b: Mapping) -> bool:
    defaults = dict(in_channels=3, out_channels=3, scale=2, e_blocks=5,
                    v_blocks=3, gmm_components=5)
    return all(a.get(k, d) == b.get(k, d) for k, d in defaults.items()) and \
        (a.get('subnet') or {}).get('growth', 32) == \
        (b.get('subnet') or {}).get('growth', 32)


def _matching_sain_archs(cfg: Mapping) -> List[str]:
    return [
        name for name in SAIN_ARCHS
        if _same_sain(get_converter(name).network('generator'), cfg)
    ]


def _parse(state: Mapping[str, Tensor], source: str) -> dict:
    """The SAINNet config of an official state dict, checked for
    consistency (the enhanced blocks' channels against the Haar stages)."""
    cfg = _layout_from_sain_keys(state, source)
    channels = cfg.pop('_channels')
    expected = cfg['in_channels'] * cfg['scale']**2
    if channels != expected:
        raise ValueError(
            f'{source}: the enhanced blocks work on {channels} channels, but '
            f"{_levels(cfg['scale'])} Haar stage(s) "
            f"of {cfg['in_channels']} channels give {expected}.")
    return cfg


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
    if SAINConverter.layout_of(list(state)) != 'SAINNet':
        looks = describe_state(state) or \
            f'an unknown network (keys such as {next(iter(state))!r})'
        raise ValueError(f'{source}: this checkpoint looks like {looks}, not '
                         'a SAIN network (haar_/down_/comp_operations, '
                         'gmm.gmm_para).')
    cfg = _parse(state, source)
    converted = _rename(state, cfg)
    check_against(converted, cfg, source, f'SAINNet ({describe_sain(cfg)})',
                  lambda key: _to_official(key, cfg))
    return converted, cfg


@CONVERTERS.register_module(name=list(SAIN_ARCHS))
class SAINConverter(OfficialConverter):
    """SAIN: :data:`SAIN_ARCHS` (one ``SAINNet`` generator each, its
    Gaussian mixture included)."""

    archs = SAIN_ARCHS
    layouts = {'SAINNet': 'a SAIN network (haar_/down_/comp_operations)'}

    @classmethod
    def layout_of(cls, keys: List[str]) -> Optional[str]:
        if any(k.startswith(('haar_operations.', 'down_operations.',
                             'comp_operations.')) for k in keys):
            return 'SAINNet'
        return None

    @classmethod
    def describe_model_part(cls, part: str,
                            state: Mapping[str, Tensor]) -> Optional[str]:
        """Describe converted ``inn.blocks.*`` / ``gmm.gmm_para`` weights."""
        if part != 'generator' or _GMM_KEY not in state:
            return None
        blocks: Dict[int, Dict[str, Tensor]] = {}
        for key, value in state.items():
            match = _INN_KEY.match(key)
            if match is None and key != _GMM_KEY:
                return None
            if match is not None:
                blocks.setdefault(int(match.group(1)),
                                  {})[match.group(2)] = value
        official = {_GMM_KEY: state[_GMM_KEY]}
        counters = dict(haar_operations=0, down_operations=0,
                        comp_operations=0)
        for index in sorted(blocks):
            names = blocks[index]
            group = ('haar_operations' if 'haar_weights' in names else
                     'down_operations' if any(n.startswith('E.')
                                              for n in names) else
                     'comp_operations')
            for name, value in names.items():
                official[f'{group}.{counters[group]}.{name}'] = value
            counters[group] += 1
        try:
            return describe_sain(_parse(official, 'weights'))
        except ValueError:
            return None

    def describe_part(self, part: str, network: dict) -> str:
        return f'a SAIN network ({describe_sain(network)})'

    def official_key(self, part: str, key: str) -> str:
        return _to_official(key, self.network(part))

    def convert_part(self, state: 'OrderedDict[str, Tensor]', part: str,
                     network: dict,
                     source: str) -> 'OrderedDict[str, Tensor]':
        found = _parse(state, source)
        if not _same_sain(found, network):
            names = _matching_sain_archs(found)
            label = ' / '.join(names) if names else 'a SAIN network'
            hint = f"; pass arch='{names[0]}'" if names else ''
            raise ValueError(f'{source}: this checkpoint looks like {label} '
                             f'({describe_sain(found)}), not {self.arch} '
                             f'({describe_sain(network)}){hint}.')
        return _rename(state, found)
