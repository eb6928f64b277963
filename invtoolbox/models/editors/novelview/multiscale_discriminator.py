# Copyright (c) invtoolbox contributors. All rights reserved.
"""The multi-scale PatchGAN discriminator of pix2pixHD, as the official
novel-view code uses it on the embedding."""
from __future__ import annotations

import math
from typing import List

import torch.nn.functional as F
from torch import Tensor, nn

from ....registry import MODELS

__all__ = ['MultiscaleDiscriminator']


def _patch_discriminator(in_channels: int, base_channels: int,
                         num_layers: int) -> nn.Sequential:
    """pix2pixHD's ``NLayerDiscriminator`` (no intermediate features):
    4x4 convs, stride 2 then 1, LeakyReLU 0.2, InstanceNorm (affine=False,
    running statistics tracked) after every conv but the first and last."""
    pad = int(math.ceil(3 / 2))
    layers: List[nn.Module] = [
        nn.Conv2d(in_channels, base_channels, 4, 2, pad),
        nn.LeakyReLU(0.2, True)
    ]
    channels = base_channels
    for _ in range(1, num_layers):
        prev, channels = channels, min(channels * 2, 512)
        layers += [nn.Conv2d(prev, channels, 4, 2, pad),
                   nn.InstanceNorm2d(channels, track_running_stats=True),
                   nn.LeakyReLU(0.2, True)]
    prev, channels = channels, min(channels * 2, 512)
    layers += [nn.Conv2d(prev, channels, 4, 1, pad),
               nn.InstanceNorm2d(channels, track_running_stats=True),
               nn.LeakyReLU(0.2, True),
               nn.Conv2d(channels, 1, 4, 1, pad)]
    return nn.Sequential(*layers)


@MODELS.register_module()
class MultiscaleDiscriminator(nn.Module):
    """Multi-scale PatchGAN (pix2pixHD ``MultiscaleDiscriminator``).

    ``num_scales`` patch discriminators see the input at full resolution,
    then each time downsampled by 3x3 average pooling (stride 2, padding
    excluded). Module names are the official ones (``layer{i}.{j}``, scale
    ``num_scales - 1`` on the full-resolution input), so the released
    ``discriminator_*.pth`` loads.

    Args:
        in_channels (int): Default: 3.
        base_channels (int): channels of the first conv (``ndf``, capped at
            64 as the official code does). Default: 64.
        num_layers (int): stride-2 convs per discriminator. Default: 3.
        num_scales (int): Default: 3.

    ``forward(x)`` returns one ``(N, 1, h, w)`` patch map per scale, full
    resolution first.
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 num_layers: int = 3,
                 num_scales: int = 3) -> None:
        super().__init__()
        if num_scales < 1 or num_layers < 1:
            raise ValueError('MultiscaleDiscriminator: num_scales and '
                             'num_layers must be >= 1.')
        self.num_scales = int(num_scales)
        for i in range(self.num_scales):
            width = min(64, base_channels * 2**(self.num_scales - 1 - i))
            setattr(self, f'layer{i}',
                    _patch_discriminator(in_channels, width, num_layers))

    def forward(self, x: Tensor) -> List[Tensor]:
        outputs = []
        for i in range(self.num_scales):
            outputs.append(getattr(self, f'layer{self.num_scales - 1 - i}')(x))
            if i != self.num_scales - 1:
                x = F.avg_pool2d(x, 3, stride=2, padding=1,
                                 count_include_pad=False)
        return outputs
