# Copyright (c) invtoolbox contributors. All rights reserved.
"""The compression restoration module (CRM) of IRN-Compression: ESRGAN's
RRDB trunk without upsampling."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ....registry import MODELS

__all__ = ['ResidualDenseBlock', 'RRDB', 'RRDBNet']


def _kaiming_(conv: nn.Conv2d, scale: float) -> None:
    """BasicSR ``initialize_weights``: kaiming normal (fan_in) x scale, zero bias."""
    nn.init.kaiming_normal_(conv.weight, a=0, mode='fan_in')
    conv.weight.data.mul_(scale)
    nn.init.zeros_(conv.bias)


class ResidualDenseBlock(nn.Module):
    """Residual dense block: 5 dense 3x3 convs, output ``x + 0.2 * conv5``.

    LeakyReLU(0.2) after convs 1-4. Init as IRN's ``RRDB.py``: convs 1-4
    kaiming x 0.1, conv 5 zero (so a fresh block is the identity).

    Shapes: (N, mid_channels, H, W) -> same.

    Args:
        mid_channels (int): feature channels (``nf``). Default: 64.
        growth_channels (int): channels added per conv (``gc``). Default: 32.
    """

    def __init__(self, mid_channels: int = 64, growth_channels: int = 32):
        super().__init__()
        nf, gc = mid_channels, growth_channels
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            _kaiming_(conv, 0.1)
        _kaiming_(self.conv5, 0.)

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-residual dense block: three :class:`ResidualDenseBlock`
    in a row (``RDB1..3``, the official names), output
    ``x + 0.2 * RDB3(RDB2(RDB1(x)))``.

    Shapes: (N, mid_channels, H, W) -> same.
    """

    def __init__(self, mid_channels: int = 64, growth_channels: int = 32):
        super().__init__()
        self.RDB1 = ResidualDenseBlock(mid_channels, growth_channels)
        self.RDB2 = ResidualDenseBlock(mid_channels, growth_channels)
        self.RDB3 = ResidualDenseBlock(mid_channels, growth_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.RDB3(self.RDB2(self.RDB1(x))) * 0.2 + x


@MODELS.register_module()
class RRDBNet(nn.Module):
    """RRDB network without upsampling: IRN-Compression's CRM.

    ``feat = conv_first(x); out = conv_last(feat + trunk_conv(RRDB_trunk(
    feat)))`` with ``RRDB_trunk`` = ``num_blocks`` :class:`RRDB` s. No
    activation at the end and no global skip from the input, as the official
    ``RRDBNet`` of ``codes/models/modules/RRDB.py``; the module names are the
    official ones (``conv_first``, ``RRDB_trunk.i.RDBk.convj``,
    ``trunk_conv``, ``conv_last``), so the released ``CRM_x2_q90.pth`` loads
    unchanged. Initialisation: PyTorch defaults for the three outer convs,
    the dense blocks as :class:`ResidualDenseBlock`.

    Shapes:
        ``(N, in_channels, H, W)`` (the JPEG-decoded LR, ``[0, 1]``) ->
        ``(N, out_channels, H, W)`` (the restored LR, not clamped).

    Args:
        in_channels (int): input channels. Default: 3.
        out_channels (int): output channels. Default: 3.
        mid_channels (int): feature channels (``nf``). Default: 64.
        num_blocks (int): number of RRDBs (``nb``). Default: 8 (CRM).
        growth_channels (int): dense growth (``gc``). Default: 32.
    """

    def __init__(self,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 mid_channels: int = 64,
                 num_blocks: int = 8,
                 growth_channels: int = 32) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, 1, 1)
        self.RRDB_trunk = nn.Sequential(*[
            RRDB(mid_channels, growth_channels) for _ in range(num_blocks)
        ])
        self.trunk_conv = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'RRDBNet expects (N, {self.in_channels}, H, W) '
                             f'images, got shape {tuple(x.shape)}.')
        feat = self.conv_first(x)
        feat = feat + self.trunk_conv(self.RRDB_trunk(feat))
        return self.conv_last(feat)
