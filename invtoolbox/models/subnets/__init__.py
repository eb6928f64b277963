# Copyright (c) invtoolbox contributors. All rights reserved.
"""Subnets: the networks inside couplings, registered in ``SUBNETS``."""
from .bottleneck import Bottleneck
from .dense_block import ConvBlock, DenseBlock, ResBlock

__all__ = ['DenseBlock', 'ResBlock', 'ConvBlock', 'Bottleneck']
