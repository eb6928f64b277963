# Copyright (c) invtoolbox contributors. All rights reserved.
"""The causal (masked) convolution of autoregressive context models."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['MaskedConv2d']


class MaskedConv2d(nn.Conv2d):
    """A convolution that only sees already decoded positions (PixelCNN).

    The context model of Minnen et al. (2018), used by Cheng2020Anchor and
    InvCompress as ``context_prediction = MaskedConv2d(M, 2M, 5, 'A')``.

    Causal order: **raster order**, row by row from the top, left to right
    within a row; all channels of a position are decoded together. For an
    output position ``(i, j)`` the kernel keeps the taps on the rows above
    and on row ``i`` left of column ``j``; ``mask_type='A'`` also drops the
    centre tap (the position being coded, for the first layer of a model),
    ``'B'`` keeps it (for later layers). Taps at and after that point are
    zero in the buffer ``mask`` (same shape as ``weight``)::

        mask 'A', 5x5        mask 'B', 5x5
        1 1 1 1 1            1 1 1 1 1
        1 1 1 1 1            1 1 1 1 1
        1 1 0 0 0            1 1 1 0 0
        0 0 0 0 0            0 0 0 0 0
        0 0 0 0 0            0 0 0 0 0

    ``forward`` convolves with ``weight * mask`` (CompressAI multiplies the
    weight in place; the result is the same, and here the parameter is left
    untouched and masked taps get no gradient). A coder that runs the
    convolution by hand position by position must use :attr:`masked_weight`:
    an unmasked checkpoint weight would make encoder and decoder disagree.
    State-dict keys ``weight``, ``bias``, ``mask``, as CompressAI's.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W) with the
    default padding ``kernel_size // 2`` and stride 1.

    Args:
        in_channels (int): input channels (M, the latent channels).
        out_channels (int): output channels (2M for InvCompress).
        kernel_size (int): square kernel size, odd. Default: 5.
        mask_type (str): ``'A'`` (centre excluded) or ``'B'`` (included).
            Default: ``'A'``.
        stride (int): default 1.
        padding (int, optional): default ``kernel_size // 2``.
        bias (bool): default True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 5,
                 mask_type: str = 'A',
                 stride: int = 1,
                 padding: Optional[int] = None,
                 bias: bool = True) -> None:
        if mask_type not in ('A', 'B'):
            raise ValueError(f"MaskedConv2d: mask_type={mask_type!r} must be "
                             "'A' (centre excluded, first layer) or 'B' "
                             '(centre included).')
        kernel_size = int(kernel_size)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'MaskedConv2d: kernel_size must be a positive '
                             f'odd number so that the kernel has a centre, '
                             f'got {kernel_size}; use e.g. 5.')
        if padding is None:
            padding = kernel_size // 2
        super().__init__(in_channels,
                         out_channels,
                         kernel_size,
                         stride=stride,
                         padding=padding,
                         bias=bias)
        self.mask_type = mask_type
        mask = torch.ones_like(self.weight.data)
        centre = kernel_size // 2
        mask[:, :, centre, centre + (mask_type == 'B'):] = 0
        mask[:, :, centre + 1:] = 0
        self.register_buffer('mask', mask)

    @property
    def masked_weight(self) -> Tensor:
        """``weight * mask``: the kernel the convolution actually uses."""
        return self.weight * self.mask

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.masked_weight, self.bias, self.stride,
                        self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return super().extra_repr() + f', mask_type={self.mask_type!r}'
