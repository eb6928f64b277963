# Copyright (c) invtoolbox contributors. All rights reserved.
"""Degradation simulators (registry ``DEGRADATIONS``).

All take and return float NCHW RGB tensors in ``[0, 1]``:

- :class:`Quantization`: 8-bit rounding, straight-through gradient;
- :class:`NoiseQuantization`: IICNet's uniform-noise (training) / rounding
  (test) 8-bit quantiser;
- :class:`DiffJPEG`: the differentiable JPEG simulator of SAIN /
  Invertible-ISP (selectable rounding approximation);
- :class:`RealJPEG`, :class:`RealWebP`: the real codecs (Pillow / OpenCV),
  straight-through gradient; ``codec.code(x)`` also returns the compressed
  sizes (:class:`CodecOutput`);
- :class:`RandomDegradation`: one of several degradations (or qualities) at
  random per batch; :class:`Identity`: no degradation.
"""
from .diffjpeg import (ROUNDINGS, DiffJPEG, quality_to_factor, round_cubic,
                       round_dsq, round_fourier, round_ste,
                       scaled_quant_tables)
from .noise_quantization import NoiseQuantization
from .quantization import Quantization, quantize_8bit
from .random_degradation import Identity, RandomDegradation
from .real_codecs import (CodecOutput, RealCodecBase, RealJPEG, RealWebP,
                          apply_codec)

__all__ = [
    'Quantization', 'quantize_8bit', 'DiffJPEG', 'ROUNDINGS',
    'quality_to_factor', 'scaled_quant_tables', 'round_ste', 'round_cubic',
    'round_fourier', 'round_dsq', 'CodecOutput', 'RealCodecBase', 'RealJPEG', 'RealWebP',
    'RandomDegradation', 'Identity', 'NoiseQuantization', 'apply_codec'
]
