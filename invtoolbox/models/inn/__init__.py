# Copyright (c) invtoolbox contributors. All rights reserved.
"""The invertible-network library.

Every module follows one call convention: ``y = m(x)``, ``x = m(y, rev=True)``,
``y, logdet = m(x, jac=True)`` with ``logdet`` of shape (N,). Couplings are
registered in ``COUPLINGS``, every other invertible module (reshapes, mixing
layers, containers) in ``INV_BLOCKS``.
"""
from .base import InvertibleModule, sum_except_batch
from .containers import Inverse, InvertibleSequential, build_invertible
from .couplings import (SOFT_CLAMPS, AdditiveCoupling, AffineCoupling,
                        CouplingBase, EnhancedAffineCoupling,
                        EnhancedCouplingOutput, GlowCoupling, RealNVPCoupling,
                        register_soft_clamp)
from .memory import invertible_chain
from .mixing import ActNorm, Conv1x1Grey, Invertible1x1Conv, RandomPermutation
from .reshapes import (ChannelSplit, ConvDownsampling, HaarDownsampling,
                       PixelUnshuffle, channel_concat, channel_split)

__all__ = [
    'InvertibleModule', 'InvertibleSequential', 'Inverse', 'build_invertible',
    'invertible_chain', 'sum_except_batch', 'CouplingBase',
    'AdditiveCoupling', 'AffineCoupling', 'RealNVPCoupling', 'GlowCoupling',
    'EnhancedAffineCoupling', 'EnhancedCouplingOutput', 'SOFT_CLAMPS', 'register_soft_clamp',
    'HaarDownsampling', 'PixelUnshuffle', 'ConvDownsampling', 'ChannelSplit',
    'channel_split', 'channel_concat', 'Invertible1x1Conv', 'Conv1x1Grey',
    'ActNorm', 'RandomPermutation'
]
