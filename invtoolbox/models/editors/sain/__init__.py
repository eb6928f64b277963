# Copyright (c) invtoolbox contributors. All rights reserved.
"""SAIN (AAAI 2023): compression-robust invertible rescaling.

Network: :class:`SAINNet` (the official ``SAINet``). Model: :class:`SAIN`.
Converter of the released checkpoints: :class:`SAINConverter`.
See ``docs/sain.md``.
"""
from .sain import SAIN
from .sain_converter import SAIN_ARCHS, SAINConverter, convert_sain_state_dict
from .sain_net import SAINNet, sain_block_configs

__all__ = [
    'SAINNet', 'sain_block_configs', 'SAIN', 'SAINConverter', 'SAIN_ARCHS',
    'convert_sain_state_dict'
]
