# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official InvCompress checkpoints (xyq7/InvCompress) and their
converter.

The release (Google Drive / Baidu, placed under
``experiments/<exp>/checkpoint_updated/``) holds, per quality, a plain
``state_dict`` of the official ``InvCompress(N)`` after
``update(force=True)`` (``<stem>-<sha256[:8]>.pth.tar``; 476 tensors for
N = 128); training checkpoints (``checkpoint*.pth.tar``) wrap the same
keys as ``{'epoch', 'state_dict', 'optimizer', ...}`` with the entropy
coder's CDF buffers still empty. Both convert::

    enh.{forw,back}_enh.layers.*            -> transform.enhancement.
                                               {forward,backward}_block.layers.*
    inv.operations.{5l+1}.weight            -> the level's free 1x1 convolution
    inv.operations.{5l+2..4}.{G1,G2,H1,H2}  -> the level's couplings (s1, s2, t1, t2)
    attention.{forw,back}_att.*             -> transform.attention.{forward,backward}_block.*
    h_a, h_s, context_prediction, entropy_parameters,
    entropy_bottleneck, gaussian_conditional -> unchanged

The CDF buffers (``_quantized_cdf``, ``_cdf_length``, ``_offset``, the
Gaussian conditional's ``scale_table``) have data-dependent sizes: they are
checked for presence, not shape; empty ones are rebuilt by ``update()``.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import List, Mapping, Optional, Tuple

from torch import Tensor

from ....registry import CONVERTERS
from ...base_models.official_converter import (OfficialConverter,
                                               check_against, describe_state,
                                               strip_state_dict)
from .invcompress import CHANNELS_PER_QUALITY
from .invcompress_keys import official_config, official_to_ours, \
    ours_to_official

__all__ = [
    'InvCompressConverter', 'INVCOMPRESS_ARCHS',
    'convert_invcompress_state_dict', 'VARIABLE_SIZE_BUFFERS'
]

_FILE = ('experiments/<exp>/checkpoint_updated/*.pth.tar of the release '
         '(xyq7/InvCompress README, Google Drive 1m35JFz00V7UUGQFjx6szfyDNvI2'
         'weAMW)')

INVCOMPRESS_ARCHS = {
    f'InvCompress_q{q}': dict(
        config=f'configs/invcompress/invcompress_q{q}_mse_flicker.py',
        description=f'InvCompress (ACM MM 2021), quality {q} (MSE, N = '
        f'{CHANNELS_PER_QUALITY[q]}), trained on Flickr 2W',
        checkpoint=f'invcompress_q{q}_mse.pth.tar',
        files=dict(generator=_FILE))
    for q in range(1, 9)
}

#: buffers whose size depends on the data (rebuilt by ``update()``)
VARIABLE_SIZE_BUFFERS = ('._quantized_cdf', '._cdf_length', '._offset',
                         'gaussian_conditional.scale_table')


def _variable(key: str) -> bool:
    return any(key.endswith(s) for s in VARIABLE_SIZE_BUFFERS)


def _describe(cfg: Mapping) -> str:
    return f"N = {cfg.get('N', 192)}"


def _rename(state: Mapping[str, Tensor],
            source: str) -> 'OrderedDict[str, Tensor]':
    out = OrderedDict()
    for key, value in state.items():
        out[official_to_ours(key)] = value
    return out


def convert_invcompress_state_dict(state_dict: Mapping,
                                   source: str = 'checkpoint'
                                   ) -> Tuple['OrderedDict[str, Tensor]',
                                              dict]:
    """Convert an official ``InvCompress`` state dict of any N.

    Returns ``(state dict of InvCompressNet, its network config)``; one-line
    ``ValueError`` when the keys are not InvCompress's.
    """
    state = strip_state_dict(state_dict, source)
    if InvCompressConverter.layout_of(list(state)) != 'InvCompressNet':
        looks = describe_state(state)
        raise ValueError(f'{source}: this checkpoint looks like '
                         f'{looks or "something else"}, not InvCompress '
                         "(keys 'inv.operations.*', 'enh.*', 'h_a.*').")
    cfg = dict(type='InvCompressNet', **official_config(state))
    converted = _rename(state, source)
    check_against(converted, cfg, source,
                  f'InvCompressNet ({_describe(cfg)})',
                  official_key=ours_to_official, any_shape=_variable)
    return converted, cfg


@CONVERTERS.register_module(name=list(INVCOMPRESS_ARCHS))
class InvCompressConverter(OfficialConverter):
    """InvCompress: :data:`INVCOMPRESS_ARCHS` (``InvCompressNet``)."""

    archs = INVCOMPRESS_ARCHS
    layouts = {'InvCompressNet': 'InvCompress (inv.operations.*, enh.*)'}

    @classmethod
    def layout_of(cls, keys: List[str]) -> Optional[str]:
        if any(k.startswith('inv.operations.') for k in keys) and any(
                k.startswith('h_a.') for k in keys):
            return 'InvCompressNet'
        return None

    @classmethod
    def describe_layout(cls, layout: str,
                        state: Mapping[str, Tensor]) -> str:
        try:
            return f'InvCompress ({_describe(official_config(state))})'
        except (ValueError, KeyError):
            return cls.layouts[layout]

    @classmethod
    def describe_model_part(cls, part: str,
                            state: Mapping[str, Tensor]) -> Optional[str]:
        if part != 'generator' or not any(
                k.startswith('transform.inn.') for k in state):
            return None
        weight = state.get('h_a.0.weight')
        if weight is None:
            return 'InvCompress'
        return f'InvCompress (N = {int(weight.shape[0])})'

    def describe_part(self, part: str, network: dict) -> str:
        return f'the {self.arch} {part} (InvCompressNet, {_describe(network)})'

    def official_key(self, part: str, key: str) -> str:
        return ours_to_official(key)

    def any_shape_key(self, key: str) -> bool:
        return _variable(key)

    def convert_part(self, state: 'OrderedDict[str, Tensor]', part: str,
                     network: dict,
                     source: str) -> 'OrderedDict[str, Tensor]':
        found = official_config(state)
        want = int(network.get('N', 192))
        if int(found['N']) != want:
            raise ValueError(
                f'{source}: this checkpoint is an InvCompress with '
                f"N = {found['N']}, not {self.arch} (N = {want}); pick the "
                'arch of its quality (N = 128: qualities 1-4, 192: 5-8) or '
                'use invtoolbox.apis.convert_invcompress_state_dict.')
        return _rename(state, source)
