# Copyright (c) invtoolbox contributors. All rights reserved.
"""Subnets (the s/t/r networks inside couplings)."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor, nn

from ...registry import SUBNETS

__all__ = ['DenseBlock', 'ResBlock', 'ConvBlock']


def _init_conv(conv: nn.Conv2d, init: str, scale: float) -> None:
    """Initialise ``conv`` the IRN way: (xavier|kaiming) normal x scale, zero bias."""
    if init == 'xavier':
        nn.init.xavier_normal_(conv.weight)
    elif init == 'kaiming':
        nn.init.kaiming_normal_(conv.weight, a=0, mode='fan_in')
    else:
        raise ValueError(f"unknown init {init!r}; use 'xavier' or 'kaiming'.")
    conv.weight.data.mul_(scale)
    if conv.bias is not None:
        conv.bias.data.zero_()


def _zero_conv(conv: nn.Conv2d) -> None:
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def _check_channels(name: str, **counts: int) -> None:
    for key, value in counts.items():
        if int(value) <= 0:
            raise ValueError(f'{name}: {key} must be a positive channel '
                             f'count, got {value}.')


@SUBNETS.register_module()
class DenseBlock(nn.Module):
    """IRN's dense block ("DBNet"), the subnet of IRN, SAIN, IICNet and InvISP.

    Five 3x3 convolutions with dense connections: conv k sees the input and
    the outputs of convs 1..k-1; LeakyReLU(0.2) after convs 1-4, none after
    conv 5. Initialisation as in the official code: convs 1-4
    ``xavier_normal * 0.1`` (or kaiming), zero biases, and conv 5 all zero
    so that a fresh coupling is an exact identity.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        growth (int): channels added by each of convs 1-4. Default: 32.
        init (str): ``'xavier'`` (IRN default) or ``'kaiming'``.
        init_scale (float): scale applied to the initial weights of convs
            1-4. Default: 0.1.
        zero_init_last (bool): zero conv 5. Default: True.
        bias (bool): use biases. Default: True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 growth: int = 32,
                 init: str = 'xavier',
                 init_scale: float = 0.1,
                 zero_init_last: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        _check_channels('DenseBlock', in_channels=in_channels,
                        out_channels=out_channels, growth=growth)
        self.conv1 = nn.Conv2d(in_channels, growth, 3, 1, 1, bias=bias)
        self.conv2 = nn.Conv2d(in_channels + growth, growth, 3, 1, 1,
                               bias=bias)
        self.conv3 = nn.Conv2d(in_channels + 2 * growth, growth, 3, 1, 1,
                               bias=bias)
        self.conv4 = nn.Conv2d(in_channels + 3 * growth, growth, 3, 1, 1,
                               bias=bias)
        self.conv5 = nn.Conv2d(in_channels + 4 * growth, out_channels, 3, 1,
                               1, bias=bias)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            _init_conv(conv, init, init_scale)
        if zero_init_last:
            _zero_conv(self.conv5)
        else:
            _init_conv(self.conv5, init, init_scale)

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1))


def _activation(name: str) -> nn.Module:
    if name == 'lrelu':
        return nn.LeakyReLU(0.2, inplace=True)
    if name == 'relu':
        return nn.ReLU(inplace=True)
    if name == 'gelu':
        return nn.GELU()
    raise ValueError(f"unknown activation {name!r}; use 'lrelu', 'relu' or "
                     "'gelu'.")


@SUBNETS.register_module()
class ResBlock(nn.Module):
    """A residual subnet: head conv, ``num_blocks`` residual units, tail conv.

    Each unit is ``x + conv3x3(act(conv3x3(x)))``. The tail conv is zero
    initialised (a fresh coupling is the identity); the others use
    ``xavier_normal * init_scale``.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        hidden_channels (int): width of the residual trunk. Default: 64.
        num_blocks (int): number of residual units. Default: 2.
        activation (str): ``'lrelu'``, ``'relu'`` or ``'gelu'``.
        init_scale (float): scale of the initial weights. Default: 0.1.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 hidden_channels: int = 64,
                 num_blocks: int = 2,
                 activation: str = 'lrelu',
                 init_scale: float = 0.1) -> None:
        super().__init__()
        _check_channels('ResBlock', in_channels=in_channels,
                        out_channels=out_channels,
                        hidden_channels=hidden_channels)
        self.head = nn.Conv2d(in_channels, hidden_channels, 3, 1, 1)
        self.body = nn.ModuleList()
        for _ in range(num_blocks):
            unit = nn.Sequential(
                nn.Conv2d(hidden_channels, hidden_channels, 3, 1, 1),
                _activation(activation),
                nn.Conv2d(hidden_channels, hidden_channels, 3, 1, 1))
            self.body.append(unit)
        self.act = _activation(activation)
        self.tail = nn.Conv2d(hidden_channels, out_channels, 3, 1, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and module is not self.tail:
                _init_conv(module, 'xavier', init_scale)
        _zero_conv(self.tail)

    def forward(self, x: Tensor) -> Tensor:
        feat = self.act(self.head(x))
        for unit in self.body:
            feat = feat + unit(feat)
        return self.tail(self.act(feat))


@SUBNETS.register_module()
class ConvBlock(nn.Module):
    """A plain convolutional subnet.

    ``conv(k) -> act -> [conv(k_h) -> act] * (num_layers - 2) -> conv(k)``.
    With the defaults (``num_layers=3``, ``hidden_kernel_size=1``) it has the
    shape of InvCompress's coupling subnet with a free hidden width; the
    official one (hidden width = out_channels, official keys) is
    :class:`Bottleneck`. The last conv is zero initialised, the others
    ``xavier_normal * init_scale``.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        hidden_channels (int): width. Default: 64.
        kernel_size (int): kernel of the first and last conv. Default: 3.
        hidden_kernel_size (int): kernel of the middle convs. Default: 1.
        num_layers (int): number of convs, >= 2. Default: 3.
        activation (str): ``'lrelu'``, ``'relu'`` or ``'gelu'``.
        init_scale (float): scale of the initial weights. Default: 0.1.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 hidden_channels: int = 64,
                 kernel_size: int = 3,
                 hidden_kernel_size: int = 1,
                 num_layers: int = 3,
                 activation: str = 'lrelu',
                 init_scale: float = 0.1) -> None:
        super().__init__()
        _check_channels('ConvBlock', in_channels=in_channels,
                        out_channels=out_channels,
                        hidden_channels=hidden_channels)
        if num_layers < 2:
            raise ValueError(
                f'ConvBlock: num_layers must be >= 2, got {num_layers}.')
        if kernel_size % 2 == 0 or hidden_kernel_size % 2 == 0:
            raise ValueError('ConvBlock: kernel sizes must be odd to keep the '
                             f'spatial size, got {kernel_size} and '
                             f'{hidden_kernel_size}.')
        layers: List[nn.Module] = [
            nn.Conv2d(in_channels, hidden_channels, kernel_size, 1,
                      kernel_size // 2),
            _activation(activation)
        ]
        for _ in range(num_layers - 2):
            layers += [
                nn.Conv2d(hidden_channels, hidden_channels,
                          hidden_kernel_size, 1, hidden_kernel_size // 2),
                _activation(activation)
            ]
        last = nn.Conv2d(hidden_channels, out_channels, kernel_size, 1,
                         kernel_size // 2)
        layers.append(last)
        self.layers = nn.Sequential(*layers)
        for module in self.layers:
            if isinstance(module, nn.Conv2d) and module is not last:
                _init_conv(module, 'xavier', init_scale)
        _zero_conv(last)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
