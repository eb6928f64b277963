# Copyright (c) invtoolbox contributors. All rights reserved.
"""Entropy models of learned image codecs (CompressAI 1.1.1 equivalents,
bit-compatible with its integer CDF tables) and their entropy coder on
``constriction``'s ANS (:mod:`.ans`).

Registered in ``ENTROPY_MODELS``: :class:`EntropyBottleneck`,
:class:`GaussianConditional`.
"""
from .ans import AnsDecoder, AnsEncoder, CdfTable
from .base import EntropyModel
from .entropy_bottleneck import EntropyBottleneck
from .gaussian_conditional import GaussianConditional, get_scale_table
from .lower_bound import LowerBound, lower_bound
from .quantized_cdf import pmf_to_quantized_cdf, pmfs_to_quantized_cdfs

__all__ = [
    'EntropyModel', 'EntropyBottleneck', 'GaussianConditional',
    'get_scale_table', 'LowerBound', 'lower_bound', 'CdfTable', 'AnsEncoder',
    'AnsDecoder', 'pmf_to_quantized_cdf', 'pmfs_to_quantized_cdfs'
]
