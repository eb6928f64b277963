# Copyright (c) invtoolbox contributors. All rights reserved.
"""Invertible-ISP (CVPR 2021): render a camera RAW to sRGB, recover the RAW
from the (JPEG-compressed) rendering.

Network: :class:`InvISPNet` (the official one). Model: :class:`InvISP`.
Converter of the released checkpoints: :class:`InvISPConverter`.
See ``docs/invisp.md``.
"""
from .invisp_converter import (INVISP_ARCHS, InvISPConverter,
                               convert_invisp_state_dict)
from .invisp import InvISP, InvISPOutput
from .invisp_net import InvISPNet, invisp_block_configs

__all__ = [
    'InvISP', 'InvISPOutput', 'InvISPNet', 'invisp_block_configs',
    'InvISPConverter', 'INVISP_ARCHS', 'convert_invisp_state_dict'
]
