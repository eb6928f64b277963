# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official Invertible-ISP checkpoints (yzxing87/Invertible-ISP) and
their converter.

The released ``pretrained/nikon.pth`` and ``pretrained/canon.pth`` are plain
``torch.save(net.state_dict())`` of ``InvISPNet`` (280 tensors)::

    operations.{i}.invconv.{lower,upper}   (3, 3)   LU factors (parameters)
    operations.{i}.invconv.log_s           (3,)
    operations.{i}.invconv.{p,sign_s}      (3, 3), (3,)   buffers
    operations.{i}.{F,G,H}.conv{1-5}.{weight,bias}        DenseBlocks

and become the state dict of :class:`InvISPNet` (``blocks.{2i}.*`` = the 1x1
convolution, ``p`` -> ``permutation``; ``blocks.{2i+1}.{F,G,H}.*`` = the
coupling). The official code loads them with ``strict=False``, which
silently ignores a wrong file; this converter checks every key and shape.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ....registry import CONVERTERS
from ...base_models.official_converter import (OfficialConverter,
                                               check_against, describe_state,
                                               strip_state_dict)

__all__ = ['InvISPConverter', 'INVISP_ARCHS', 'convert_invisp_state_dict']

_FILE = 'pretrained/{} (yzxing87/Invertible-ISP @ acdee70)'

#: The released official checkpoints: what no config says.
INVISP_ARCHS = {
    'InvISP_nikon': dict(
        config='configs/invisp/invisp_nikon_fivek.py',
        description='Invertible-ISP (CVPR 2021) trained on the MIT-Adobe '
        'FiveK Nikon D700 images: 8 x (LU 1x1 conv + affine coupling), '
        'split 1 | 2, clamp 0.8',
        checkpoint='nikon.pth',
        files=dict(generator=_FILE.format('nikon.pth'))),
    'InvISP_canon': dict(
        config='configs/invisp/invisp_canon_fivek.py',
        description='Invertible-ISP (CVPR 2021) trained on the MIT-Adobe '
        'FiveK Canon EOS 5D images: 8 x (LU 1x1 conv + affine coupling), '
        'split 1 | 2, clamp 0.8',
        checkpoint='canon.pth',
        files=dict(generator=_FILE.format('canon.pth'))),
}

_OP_KEY = re.compile(r'^operations\.(\d+)\.(.+)$')
_CONV_KEY = re.compile(r'^invconv\.(lower|upper|log_s|p|sign_s)$')
_SUBNET_KEY = re.compile(r'^([FGH])\.conv([1-5])\.(weight|bias)$')
_OURS_KEY = re.compile(r'^blocks\.(\d+)\.(.+)$')
_RENAME = {'p': 'permutation'}
_BACK = {'permutation': 'p'}


def _layout(state: Mapping[str, Tensor], source: str) -> dict:
    """The :class:`InvISPNet` config of an official state dict."""
    ops: Dict[int, Dict[str, Tensor]] = {}
    for key, value in state.items():
        match = _OP_KEY.match(key)
        if match is None or not (_CONV_KEY.match(match.group(2))
                                 or _SUBNET_KEY.match(match.group(2))):
            raise ValueError(
                f'{source}: key {key!r} is not of the official InvISPNet '
                "layout ('operations.{i}.invconv.{lower,upper,log_s,p,"
                "sign_s}', 'operations.{i}.{F,G,H}.conv{1-5}.weight|bias').")
        ops.setdefault(int(match.group(1)), {})[match.group(2)] = value
    indices = sorted(ops)
    if indices != list(range(len(indices))):
        raise ValueError(f'{source}: operations indices {indices[:12]} are '
                         'not contiguous from 0; the state dict is partial.')
    first = ops[0]
    for name in ('invconv.lower', 'F.conv1.weight', 'F.conv5.weight'):
        if name not in first:
            raise ValueError(f'{source}: operations.0.{name} is missing; the '
                             'state dict is partial.')
    channels = int(first['invconv.lower'].shape[0])
    split = int(first['F.conv5.weight'].shape[0])
    growth = int(first['F.conv1.weight'].shape[0])
    return dict(type='InvISPNet', channel_in=channels, channel_out=channels,
                block_num=len(indices), split=split,
                subnet=dict(type='DenseBlock', growth=growth, init='xavier',
                            init_scale=1.0, zero_init_last=False))


def _describe(cfg: Mapping) -> str:
    return (f"{cfg.get('block_num', 8)} blocks, {cfg.get('channel_in', 3)} "
            f"channels, split {cfg.get('split', 1)}, growth "
            f"{(cfg.get('subnet') or {}).get('growth', 32)}")


def _same(a: Mapping, b: Mapping) -> bool:
    keys = dict(channel_in=3, block_num=8, split=1)
    return all(a.get(k, v) == b.get(k, v) for k, v in keys.items()) and (
        (a.get('subnet') or {}).get('growth', 32) == (b.get('subnet')
                                                      or {}).get('growth', 32))


def _to_ours(key: str) -> str:
    match = _OP_KEY.match(key)
    i, rest = int(match.group(1)), match.group(2)
    if rest.startswith('invconv.'):
        name = rest[len('invconv.'):]
        return f'blocks.{2 * i}.{_RENAME.get(name, name)}'
    return f'blocks.{2 * i + 1}.{rest}'


def _to_official(key: str) -> str:
    match = _OURS_KEY.match(key)
    if match is None:
        return key
    j, rest = int(match.group(1)), match.group(2)
    if j % 2 == 0:
        return f'operations.{j // 2}.invconv.{_BACK.get(rest, rest)}'
    return f'operations.{j // 2}.{rest}'


def _rename(state: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    return OrderedDict((_to_ours(k), v) for k, v in state.items())


def convert_invisp_state_dict(state_dict: Mapping,
                              source: str = 'checkpoint'
                              ) -> Tuple['OrderedDict[str, Tensor]', dict]:
    """Convert an official ``InvISPNet`` state dict of any depth.

    Args:
        state_dict (dict): ``operations.{i}.*`` tensors (``module.`` prefix
            and a ``state_dict`` wrapper allowed).
        source (str): name used in error messages (e.g. the file).

    Returns:
        tuple[OrderedDict, dict]: the :class:`InvISPNet` state dict and the
        network config it fits.

    Raises:
        ValueError: one line, when the keys are not an InvISPNet's.
    """
    state = strip_state_dict(state_dict, source)
    if InvISPConverter.layout_of(list(state)) != 'InvISPNet':
        looks = describe_state(state)
        raise ValueError(f'{source}: this checkpoint looks like '
                         f'{looks or "something else"}, not Invertible-ISP '
                         "(keys 'operations.{i}.invconv.*').")
    cfg = _layout(state, source)
    converted = _rename(state)
    check_against(converted, cfg, source, f'InvISPNet ({_describe(cfg)})',
                  official_key=_to_official)
    return converted, cfg


@CONVERTERS.register_module(name=list(INVISP_ARCHS))
class InvISPConverter(OfficialConverter):
    """Invertible-ISP: :data:`INVISP_ARCHS` (``InvISPNet`` generators)."""

    archs = INVISP_ARCHS
    layouts = {'InvISPNet': 'Invertible-ISP (InvISPNet, operations.*.invconv)'}

    @classmethod
    def layout_of(cls, keys: List[str]) -> Optional[str]:
        if any(k.startswith('operations.') and '.invconv.' in k
               for k in keys):
            return 'InvISPNet'
        return None

    @classmethod
    def describe_layout(cls, layout: str,
                        state: Mapping[str, Tensor]) -> str:
        try:
            return ('Invertible-ISP '
                    f'({_describe(_layout(state, "checkpoint"))})')
        except ValueError:  # partial or malformed: still name the family
            return cls.layouts[layout]

    @classmethod
    def describe_model_part(cls, part: str,
                            state: Mapping[str, Tensor]) -> Optional[str]:
        if part != 'generator' or not any(
                k.startswith('blocks.') and k.endswith('.log_s')
                for k in state):
            return None
        try:
            official = {_to_official(k): v for k, v in state.items()}
            return 'Invertible-ISP ' + _describe(_layout(official, 'weights'))
        except (ValueError, AttributeError):
            return None

    def describe_part(self, part: str, network: dict) -> str:
        return f'the {self.arch} {part} (InvISPNet, {_describe(network)})'

    def official_key(self, part: str, key: str) -> str:
        return _to_official(key)

    def convert_part(self, state: 'OrderedDict[str, Tensor]', part: str,
                     network: dict,
                     source: str) -> 'OrderedDict[str, Tensor]':
        found = _layout(state, source)
        if not _same(found, network):
            raise ValueError(
                f'{source}: this checkpoint is an InvISPNet with '
                f'{_describe(found)}, not {self.arch} ({_describe(network)});'
                ' use invtoolbox.apis.convert_invisp_state_dict for custom '
                'layouts.')
        return _rename(state)
