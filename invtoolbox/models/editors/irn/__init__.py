# Copyright (c) invtoolbox contributors. All rights reserved.
"""The IRN family: IRN x2/x3/x4/x8, IRN+, IRN-Color, IRN-Compression (CRM).

Networks: :class:`IRNNet` (the official ``InvRescaleNet``/``InvGreyNet``),
:class:`VGGStyleDiscriminator` (IRN+), :class:`RRDBNet` (the CRM).
Models: :class:`IRN`, :class:`IRNPlus`, :class:`IRNCRM`.
Converter of the released checkpoints: :class:`IRNConverter` (``CONVERTERS``
names ``IRN_x2`` ... ``CRM_x2_q90``).
See ``docs/irn.md``.
"""
from .irn import IRN
from .irn_crm import IRNCRM
from .irn_net import IRNNet, irn_block_configs
from .irn_converter import IRN_ARCHS, IRNConverter, convert_irn_state_dict
from .irn_plus import IRNPlus
from .rrdb_net import RRDB, ResidualDenseBlock, RRDBNet
from .vgg_discriminator import VGGStyleDiscriminator

__all__ = [
    'IRNNet', 'irn_block_configs', 'VGGStyleDiscriminator', 'RRDBNet',
    'RRDB', 'ResidualDenseBlock', 'IRN', 'IRNPlus', 'IRNCRM',
    'IRNConverter', 'IRN_ARCHS', 'convert_irn_state_dict'
]
