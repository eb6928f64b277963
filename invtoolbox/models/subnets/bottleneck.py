# Copyright (c) invtoolbox contributors. All rights reserved.
"""InvCompress's coupling subnet (``Bottleneck`` of the official
``our_utils.py``)."""
from __future__ import annotations

from torch import Tensor, nn

from ...registry import SUBNETS
from .dense_block import _check_channels, _init_conv, _zero_conv

__all__ = ['Bottleneck']


@SUBNETS.register_module()
class Bottleneck(nn.Module):
    """The subnet of InvCompress's couplings (Xie et al., ACM MM 2021).

    ``conv kxk -> LeakyReLU(0.2) -> conv 1x1 -> LeakyReLU(0.2) -> conv kxk``,
    every conv ``out_channels`` wide, padding ``k // 2`` (same size).
    Initialisation as the official ``Bottleneck``: conv1 and conv2
    ``xavier_normal * 0.1`` with zero bias (``initialize_weights_xavier``),
    conv3 all zero, so that a fresh coupling is an exact identity. The keys
    ``conv1``, ``conv2``, ``conv3`` are the official ones.

    Unlike :class:`ConvBlock`, the hidden width is ``out_channels`` (not a
    free parameter), as in the official network.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).

    Args:
        in_channels (int): input channels (filled in by the coupling).
        out_channels (int): output and hidden channels (filled in by the
            coupling).
        kernel_size (int): kernel of conv1 and conv3, odd. InvCompress uses 5
            in INN levels 1-2 and 3 in levels 3-4. Default: 3.
        init_scale (float): scale of the xavier-normal init of conv1 and
            conv2. Default: 0.1.
        zero_init_last (bool): zero conv3 (identity couplings at init).
            Default: True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 3,
                 init_scale: float = 0.1,
                 zero_init_last: bool = True) -> None:
        super().__init__()
        _check_channels('Bottleneck',
                        in_channels=in_channels,
                        out_channels=out_channels)
        kernel_size = int(kernel_size)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'Bottleneck: kernel_size must be a positive odd '
                             f'number to keep the spatial size, got '
                             f'{kernel_size}; use e.g. 3 or 5.')
        padding = kernel_size // 2
        self.conv1 = nn.Conv2d(in_channels,
                               out_channels,
                               kernel_size,
                               padding=padding)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 1)
        self.conv3 = nn.Conv2d(out_channels,
                               out_channels,
                               kernel_size,
                               padding=padding)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        _init_conv(self.conv1, 'xavier', init_scale)
        _init_conv(self.conv2, 'xavier', init_scale)
        if zero_init_last:
            _zero_conv(self.conv3)
        else:
            _init_conv(self.conv3, 'xavier', init_scale)

    def forward(self, x: Tensor) -> Tensor:
        out = self.lrelu(self.conv1(x))
        out = self.lrelu(self.conv2(out))
        return self.conv3(out)
