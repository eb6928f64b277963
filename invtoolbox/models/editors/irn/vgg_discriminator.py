# Copyright (c) invtoolbox contributors. All rights reserved.
"""IRN+'s discriminator (the SRGAN/ESRGAN "VGG-style" discriminator)."""
from __future__ import annotations

from torch import Tensor, nn

from ....registry import MODELS

__all__ = ['VGGStyleDiscriminator']


@MODELS.register_module()
class VGGStyleDiscriminator(nn.Module):
    """VGG-style discriminator of IRN+ (official ``Discriminator_VGG_128``).

    Five stages; stage ``k`` is a 3x3 stride-1 conv then a 4x4 stride-2 conv,
    each followed by BatchNorm (except the very first conv, which has a bias
    and no BatchNorm) and LeakyReLU(0.2); channels ``nf, 2nf, 4nf, 8nf, 8nf``.
    The 5 stride-2 convs shrink 128 -> 4 and 144 -> 4 (IRN+ trains on 144x144
    crops), then ``linear1`` (``8nf*4*4 -> 100``), LeakyReLU, ``linear2``
    (``100 -> 1``).

    Module names are the official ones (``conv0_0``, ``conv0_1``, ``bn0_1``,
    ..., ``conv4_1``, ``bn4_1``, ``linear1``, ``linear2``), so an official
    ``*_D.pth`` loads unchanged. Initialisation: PyTorch defaults, as in the
    official code.

    Shapes:
        input ``(N, in_channels, H, W)`` with ``H, W`` in ``[128, 159]`` (the
        last feature map must be 4x4), RGB in ``[0, 1]``; output ``(N, 1)``
        logits.

    Args:
        in_channels (int): input channels. Default: 3.
        mid_channels (int): ``nf``, channels of the first stage. Default: 64.
    """

    def __init__(self, in_channels: int = 3, mid_channels: int = 64) -> None:
        super().__init__()
        nf = int(mid_channels)
        widths = [nf, nf * 2, nf * 4, nf * 8, nf * 8]
        self.conv0_0 = nn.Conv2d(in_channels, nf, 3, 1, 1, bias=True)
        self.conv0_1 = nn.Conv2d(nf, nf, 4, 2, 1, bias=False)
        self.bn0_1 = nn.BatchNorm2d(nf, affine=True)
        previous = nf
        for stage, width in enumerate(widths[1:], start=1):
            setattr(self, f'conv{stage}_0',
                    nn.Conv2d(previous, width, 3, 1, 1, bias=False))
            setattr(self, f'bn{stage}_0', nn.BatchNorm2d(width, affine=True))
            setattr(self, f'conv{stage}_1',
                    nn.Conv2d(width, width, 4, 2, 1, bias=False))
            setattr(self, f'bn{stage}_1', nn.BatchNorm2d(width, affine=True))
            previous = width
        self.linear1 = nn.Linear(previous * 4 * 4, 100)
        self.linear2 = nn.Linear(100, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        self.in_channels = int(in_channels)

    def forward(self, x: Tensor) -> Tensor:
        """Return the ``(N, 1)`` real/fake logits of ``x``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'VGGStyleDiscriminator expects (N, {self.in_channels}, H, W)'
                f' images, got shape {tuple(x.shape)}.')
        feat = self.lrelu(self.conv0_0(x))
        feat = self.lrelu(self.bn0_1(self.conv0_1(feat)))
        for stage in range(1, 5):
            feat = self.lrelu(
                getattr(self, f'bn{stage}_0')(getattr(self,
                                                      f'conv{stage}_0')(feat)))
            feat = self.lrelu(
                getattr(self, f'bn{stage}_1')(getattr(self,
                                                      f'conv{stage}_1')(feat)))
        if feat.shape[2:] != (4, 4):
            raise ValueError(
                'VGGStyleDiscriminator needs inputs of 128 to 159 pixels per '
                f'side (5 halvings to 4x4), got {tuple(x.shape[2:])} '
                f'(-> {tuple(feat.shape[2:])}); crop the images to 128 or 144.')
        feat = self.lrelu(self.linear1(feat.flatten(1)))
        return self.linear2(feat)
