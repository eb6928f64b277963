# Copyright (c) invtoolbox contributors. All rights reserved.
"""InvCompress's network: invertible analysis/synthesis transforms on
Cheng2020Anchor's entropy model (CompressAI's joint autoregressive
hierarchical prior), speaking CompressAI's API."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ....errors import ShapeError
from ....registry import ENTROPY_MODELS, MODELS
from ...entropy_models import (AnsDecoder, AnsEncoder, EntropyParameters,
                               HyperAnalysis, HyperSynthesis, MaskedConv2d,
                               WavefrontContextCoder, get_scale_table)
from .invcompress_modules import InvCompressTransform

__all__ = ['InvCompressNet']


@MODELS.register_module()
class InvCompressNet(nn.Module):
    """The network of InvCompress (Xie, Cheng, Chen, "Enhanced Invertible
    Encoding for Learned Image Compression", ACM MM 2021).

    Analysis ``y = g_a(x)``: enhancement block, a 4-level INN (squeeze
    sub-pixel-major, free 1x1 convolution, 3 two-sided affine couplings
    with Bottleneck subnets per level: 3 -> 12 -> 48 -> 192 -> 768 channels
    at ``H/16 x W/16``), the attentive channel squeeze (mean over the
    ``768 / N`` groups of ``N`` channels) and an attention block.
    Synthesis ``g_s``: a second attention block, repeat to 768 channels,
    the exact INN inverse, a second enhancement block. The entropy model is
    Cheng2020Anchor's: hyper analysis / synthesis, a factorized prior on
    ``z`` (:class:`EntropyBottleneck`), a 5x5 masked-convolution context
    model and a Gaussian conditional on ``y`` (mean and scale).

    CompressAI's API::

        out = net(x)                 # {'x_hat', 'likelihoods': {'y', 'z'}}
        net.update(force=False)      # build the integer CDF tables
        enc = net.compress(x)        # {'strings': [[y bytes], [z bytes]], 'shape': (h, w)}
        net.decompress(enc['strings'], enc['shape'])   # {'x_hat'} in [0, 1]

    ``forward`` follows the official code: in training, uniform noise on
    ``y`` (one draw for the context model and the synthesis, another for
    the likelihood) and on ``z``; in eval, ``y_hat = round(y)`` (without
    the means) and the likelihood of ``y`` at ``round(y - mean) + mean``.
    ``compress``/``decompress`` code ``y`` autoregressively with the
    wavefront schedule of :class:`WavefrontContextCoder` (the official
    symbols, about 10x fewer network calls than the raster loop). ``H`` and
    ``W`` must be multiples of 64 (pad first; the codec API does).

    Args:
        N (int): channels of ``y`` and ``z`` (128 for qualities 1-4, 192
            for 5-8). ``768 % N == 0``.
        enhance_channels (int): width of the enhancement blocks. Default 64.
        levels (int): INN levels. Default 4.
        kernel_sizes (Sequence[int]): Bottleneck kernel size per level.
            Default ``(5, 5, 3, 3)``.
        couplings_per_level (int): Default 3.
        in_channels (int): image channels. Default 3.
        memory_efficient (bool): memory-saving INN backward. Default False.
        enhance_growth (int): growth of the enhancement DenseBlocks (the
            official 32). Default 32.
    """

    #: the decoded image has the input's size (what the converters' arch
    #: table reports as the scale)
    scale = 1

    def __init__(self,
                 N: int = 192,
                 enhance_channels: int = 64,
                 levels: int = 4,
                 kernel_sizes: Sequence[int] = (5, 5, 3, 3),
                 couplings_per_level: int = 3,
                 in_channels: int = 3,
                 memory_efficient: bool = False,
                 enhance_growth: int = 32) -> None:
        super().__init__()
        self.N = self.M = int(N)
        self.transform = InvCompressTransform(
            N, enhance_channels=enhance_channels, levels=levels,
            kernel_sizes=tuple(kernel_sizes),
            couplings_per_level=couplings_per_level, in_channels=in_channels,
            memory_efficient=memory_efficient, enhance_growth=enhance_growth)
        self.pad_multiple = self.transform.size_multiple
        self.h_a = HyperAnalysis(N)
        self.h_s = HyperSynthesis(N)
        self.entropy_bottleneck = ENTROPY_MODELS.build(
            dict(type='EntropyBottleneck', channels=N))
        self.gaussian_conditional = ENTROPY_MODELS.build(
            dict(type='GaussianConditional', scale_table=None))
        self.context_prediction = MaskedConv2d(
            N, 2 * N, kernel_size=5, padding=2, stride=1)
        self.entropy_parameters = EntropyParameters(N)

    # -- transforms -----------------------------------------------------------
    def g_a(self, x: Tensor) -> Tensor:
        """Analysis: image ``(B, 3, H, W)`` -> ``y`` ``(B, N, H/16, W/16)``."""
        return self.transform.analysis(x)

    def g_s(self, y_hat: Tensor) -> Tensor:
        """Synthesis (unclamped): ``y_hat`` -> image ``(B, 3, H, W)``."""
        return self.transform.synthesis(y_hat)

    def _check_input(self, x: Tensor) -> None:
        c = self.transform.in_channels
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != c:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x)
            raise ShapeError(f'InvCompressNet: expected images (B, {c}, H, '
                             f'W), got {got}.')
        h, w = x.shape[-2:]
        m = self.pad_multiple
        if h % m or w % m:
            raise ShapeError(
                f'InvCompressNet: height and width must be multiples of {m}, '
                f'got {h}x{w}; pad the image (invtoolbox.apis.codec_inference '
                'pads and crops back).')

    # -- CompressAI's API -------------------------------------------------------
    def forward(self, x: Tensor) -> Dict:
        """``{'x_hat', 'likelihoods': {'y', 'z'}}`` (see the class doc)."""
        self._check_input(x)
        y = self.g_a(x)
        z = self.h_a(y)
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        params = self.h_s(z_hat)
        gc = self.gaussian_conditional
        y_hat = gc.quantize(y, 'noise' if self.training else 'dequantize')
        ctx_params = self.context_prediction(y_hat)
        gaussian_params = self.entropy_parameters(
            torch.cat((params, ctx_params), dim=1))
        scales_hat, means_hat = gaussian_params.chunk(2, 1)
        _, y_likelihoods = gc(y, scales_hat, means=means_hat)
        x_hat = self.g_s(y_hat)
        return dict(x_hat=x_hat, likelihoods=dict(y=y_likelihoods,
                                                  z=z_likelihoods))

    def aux_loss(self) -> Tensor:
        """The EntropyBottleneck's quantile loss."""
        return self.entropy_bottleneck.loss()

    def update(self, scale_table: Optional[Tensor] = None,
               force: bool = False) -> bool:
        """Build the integer CDF tables of both entropy models (CompressAI's
        ``update``); returns whether anything changed."""
        if scale_table is None:
            scale_table = get_scale_table()
        updated = self.gaussian_conditional.update_scale_table(
            scale_table, force=force)
        updated |= bool(self.entropy_bottleneck.update(force=force))
        return bool(updated)

    def context_coder(self) -> WavefrontContextCoder:
        """The wavefront coder of ``y`` bound to the current weights."""
        return WavefrontContextCoder(self.context_prediction,
                                     self.entropy_parameters,
                                     self.gaussian_conditional)

    @torch.no_grad()
    def compress(self, x: Tensor) -> Dict:
        """Images -> ``{'strings': [y_strings, z_strings], 'shape': (h, w)}``
        of ``z`` (one string per image in each list)."""
        self._check_input(x)
        y = self.g_a(x)
        z = self.h_a(y)
        z_strings = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_strings, z.shape[-2:])
        params = self.h_s(z_hat)
        coder = self.context_coder()
        y_strings = []
        for i in range(x.shape[0]):
            encoder = AnsEncoder()
            coder.encode(y[i:i + 1], params[i:i + 1], encoder)
            y_strings.append(encoder.finish())
        return dict(strings=[y_strings, z_strings],
                    shape=tuple(int(s) for s in z.shape[-2:]))

    @torch.no_grad()
    def decompress_latent(self, strings: List[List[bytes]],
                          shape: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """Bitstreams -> ``(y_hat, z_hat)``."""
        if not isinstance(strings, (list, tuple)) or len(strings) != 2:
            raise ValueError('InvCompressNet.decompress: strings must be '
                             '[y_strings, z_strings].')
        z_hat = self.entropy_bottleneck.decompress(strings[1], shape)
        params = self.h_s(z_hat)
        coder = self.context_coder()
        y_hat = []
        for i, string in enumerate(strings[0]):
            decoder = AnsDecoder(string)
            y_hat.append(coder.decode(params[i:i + 1], decoder))
            decoder.finish()
        return torch.cat(y_hat, dim=0), z_hat

    @torch.no_grad()
    def decompress(self, strings: List[List[bytes]],
                   shape: Tuple[int, int]) -> Dict:
        """Bitstreams -> ``{'x_hat': (B, 3, 64h, 64w)}`` clamped to [0, 1]."""
        y_hat, _ = self.decompress_latent(strings, shape)
        return dict(x_hat=self.g_s(y_hat).clamp_(0, 1))
