# Copyright (c) invtoolbox contributors. All rights reserved.
"""IICNet (ICCV 2021): reversible image conversion of K images into one.

Network: :class:`IICNetNet` (the official ``InvNet`` layers: relation
module, optional x2 downscaling, affine couplings, :class:`ChannelSqueeze`).
Model: :class:`IICNet`, driven by a task (``invtoolbox.tasks``).
See ``configs/iicnet/README.md``.
"""
from .iicnet import IICNet
from .iicnet_net import ChannelSqueeze, IICNetNet, iicnet_layout
from .relation import RelationBlock, RelationModule

__all__ = [
    'IICNet', 'IICNetNet', 'ChannelSqueeze', 'iicnet_layout',
    'RelationBlock', 'RelationModule'
]
