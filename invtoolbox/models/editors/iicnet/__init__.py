# Copyright (c) invtoolbox contributors. All rights reserved.
"""IICNet (ICCV 2021): reversible image conversion of K images into one.

Network: :class:`IICNetNet` (the official ``InvNet`` layers: relation
module, optional x2 downscaling, affine couplings, :class:`ChannelSqueeze`).
Model: :class:`IICNet`, driven by a task (``invtoolbox.tasks``).
Converter of the released checkpoints: :class:`IICNetConverter` (one
``IICNet_<id>`` per official config id, each with its config here).
See ``configs/iicnet/README.md``.
"""
from .iicnet import IICNet, iicnet_generator_config
from .iicnet_converter import (IICNET_ARCHS, IICNET_CONFIG_IDS,
                               IICNetConverter, convert_iicnet_state_dict,
                               describe_iicnet_layout)
from .iicnet_net import ChannelSqueeze, IICNetNet, iicnet_layout
from .relation import RelationBlock, RelationModule

__all__ = [
    'IICNet', 'IICNetNet', 'ChannelSqueeze', 'iicnet_layout',
    'RelationBlock', 'RelationModule', 'iicnet_generator_config',
    'IICNetConverter', 'IICNET_ARCHS', 'IICNET_CONFIG_IDS',
    'convert_iicnet_state_dict', 'describe_iicnet_layout'
]
