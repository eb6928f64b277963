# Copyright (c) invtoolbox contributors. All rights reserved.
"""Entropy models of learned image codecs (CompressAI 1.1.1 equivalents,
bit-compatible with its integer CDF tables), their entropy coder on
``constriction``'s ANS (:mod:`.ans`), the context model and hyperprior
transforms of Cheng2020Anchor, and the wavefront autoregressive coder.

Registered in ``ENTROPY_MODELS``: :class:`EntropyBottleneck`,
:class:`GaussianConditional`.
"""
from .ans import AnsDecoder, AnsEncoder, CdfTable
from .autoregressive import (SerialContextCoder, WavefrontContextCoder,
                             causal_taps, wavefront_schedule, wavefront_slope)
from .base import EntropyModel
from .context import MaskedConv2d
from .entropy_bottleneck import EntropyBottleneck
from .gaussian_conditional import GaussianConditional, get_scale_table
from .hyperprior import EntropyParameters, HyperAnalysis, HyperSynthesis
from .lower_bound import LowerBound, lower_bound
from .quantized_cdf import pmf_to_quantized_cdf, pmfs_to_quantized_cdfs

__all__ = [
    'EntropyModel', 'EntropyBottleneck', 'GaussianConditional',
    'get_scale_table', 'LowerBound', 'lower_bound', 'CdfTable', 'AnsEncoder',
    'AnsDecoder', 'pmf_to_quantized_cdf', 'pmfs_to_quantized_cdfs',
    'MaskedConv2d', 'HyperAnalysis', 'HyperSynthesis', 'EntropyParameters',
    'WavefrontContextCoder', 'SerialContextCoder', 'causal_taps',
    'wavefront_schedule', 'wavefront_slope'
]
