# Copyright (c) invtoolbox contributors. All rights reserved.
"""The hyperprior networks of Cheng2020Anchor (CompressAI), used by
InvCompress: hyper analysis ``h_a``, hyper synthesis ``h_s`` and the
entropy-parameter network that merges hyperprior and context.

They are :class:`torch.nn.Sequential` subclasses with the official layer
order, so their state-dict keys are exactly CompressAI's (``h_a.0.weight``,
``h_s.2.0.weight``, ``entropy_parameters.4.bias``, ...). Their LeakyReLUs
use PyTorch's default slope 0.01 (the INN and enhancement subnets use 0.2).
"""
from __future__ import annotations

from torch import nn

__all__ = ['HyperAnalysis', 'HyperSynthesis', 'EntropyParameters']


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1):
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


def _subpel_conv3x3(in_channels: int, out_channels: int, factor: int):
    """A 3x3 conv to ``out * factor**2`` channels, then PixelShuffle."""
    return nn.Sequential(_conv3x3(in_channels, out_channels * factor**2),
                         nn.PixelShuffle(factor))


def _check_width(name: str, channels: int) -> int:
    channels = int(channels)
    if channels <= 0:
        raise ValueError(f'{name}: N must be a positive channel count, got '
                         f'{channels}; InvCompress uses 128 (q1-3) or 192.')
    return channels


class HyperAnalysis(nn.Sequential):
    """Cheng2020Anchor's hyper analysis ``z = h_a(y)``.

    Five 3x3 convs of width N with LeakyReLU(0.01) between them; the third
    and fifth have stride 2, so ``z`` is 4x smaller than ``y``.
    Keys ``{0,2,4,6,8}.{weight,bias}``.

    Shapes: (B, N, h, w) -> (B, N, h/4, w/4) (h, w multiples of 4 for
    an exact round trip through :class:`HyperSynthesis`).

    Args:
        N (int): channels of ``y`` and ``z``.
    """

    def __init__(self, N: int) -> None:
        N = _check_width('HyperAnalysis', N)
        super().__init__(
            _conv3x3(N, N),
            nn.LeakyReLU(inplace=True),
            _conv3x3(N, N),
            nn.LeakyReLU(inplace=True),
            _conv3x3(N, N, stride=2),
            nn.LeakyReLU(inplace=True),
            _conv3x3(N, N),
            nn.LeakyReLU(inplace=True),
            _conv3x3(N, N, stride=2),
        )


class HyperSynthesis(nn.Sequential):
    """Cheng2020Anchor's hyper synthesis ``params = h_s(z_hat)``.

    3x3 conv (N), sub-pixel 3x3 conv x2 (N), 3x3 conv (3N/2), sub-pixel 3x3
    conv x2 (3N/2), 3x3 conv (2N), LeakyReLU(0.01) between them. The
    sub-pixel convs are ``Sequential(conv 3x3 to 4C, PixelShuffle(2))``.
    Keys ``0``, ``2.0``, ``4``, ``6.0``, ``8`` (``.weight``/``.bias``).

    Shapes: (B, N, h, w) -> (B, 2N, 4h, 4w): the hyperprior half of the
    entropy-parameter input.

    Args:
        N (int): channels of ``z`` (and of ``y``).
    """

    def __init__(self, N: int) -> None:
        N = _check_width('HyperSynthesis', N)
        wide = N * 3 // 2
        super().__init__(
            _conv3x3(N, N),
            nn.LeakyReLU(inplace=True),
            _subpel_conv3x3(N, N, 2),
            nn.LeakyReLU(inplace=True),
            _conv3x3(N, wide),
            nn.LeakyReLU(inplace=True),
            _subpel_conv3x3(wide, wide, 2),
            nn.LeakyReLU(inplace=True),
            _conv3x3(wide, N * 2),
        )


class EntropyParameters(nn.Sequential):
    """The 1x1-conv network that maps ``cat(h_s(z_hat), context)`` to the
    Gaussian parameters of ``y``.

    Widths ``4N -> 10N//3 -> 8N//3 -> 2N`` (integer division, as
    CompressAI: 512 -> 426 -> 341 -> 256 for N=128), LeakyReLU(0.01)
    between. Keys ``{0,2,4}.{weight,bias}``. The output is chunked on
    channels into ``(scales, means)``, in that order.

    Shapes: (B, 4N, h, w) -> (B, 2N, h, w).

    Args:
        N (int): channels of ``y`` (the official ``M``).
    """

    def __init__(self, N: int) -> None:
        N = _check_width('EntropyParameters', N)
        super().__init__(
            nn.Conv2d(N * 12 // 3, N * 10 // 3, 1),
            nn.LeakyReLU(inplace=True),
            nn.Conv2d(N * 10 // 3, N * 8 // 3, 1),
            nn.LeakyReLU(inplace=True),
            nn.Conv2d(N * 8 // 3, N * 6 // 3, 1),
        )
