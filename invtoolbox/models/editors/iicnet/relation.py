# Copyright (c) invtoolbox contributors. All rights reserved.
"""IICNet's relation module: two non-invertible networks that exchange
information between the K stacked images before embedding (``forw_rel``) and
after restoring (``back_rel``)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ....errors import ShapeError
from ....registry import SUBNETS

__all__ = ['RelationBlock', 'RelationModule']


class RelationBlock(nn.Module):
    """One relation network (the official ``RelBlock``), residual per image.

    For K images of ``image_channels`` channels stacked on the channel axis::

        head_k  = head_convs[k](head_blocks[k](x_k))   # DenseBlock, 1x1 conv
        merged  = cat(head_0, ..., head_{K-1})                # K*nf channels
        tail_k  = tail_blocks[k](tail_convs[k](merge_convs[k](merged)))
        out     = x + 0.2 * cat(tail_0, ..., tail_{K-1})

    ``merge_convs`` are 3x3 convs ``K*nf -> nf``, ``head_convs`` and
    ``tail_convs`` 1x1 convs ``nf -> nf``; no activation outside the dense
    blocks. Every module is separate per image. The dense blocks end with a
    zero-initialised conv, so a fresh block is the identity.

    Official key names (``0.forw_rel.*``) map as ``DB_heads`` ->
    ``head_blocks``, ``conv_1x1_heads`` -> ``head_convs``, ``conv_merges`` ->
    ``merge_convs``, ``conv_1x1_tails`` -> ``tail_convs``, ``DB_tails`` ->
    ``tail_blocks``.

    Shapes: (N, K * image_channels, H, W) -> same.

    Args:
        num_images (int): K.
        mid_channels (int): nf, the feature width. Default: 64.
        image_channels (int): channels per image. Default: 3.
        subnet (dict): ``SUBNETS`` config of the head/tail blocks
            (channels filled in). Default: ``dict(type='DenseBlock',
            growth=32)``.
        res_scale (float): weight of the residual. Default: 0.2.
    """

    def __init__(self,
                 num_images: int,
                 mid_channels: int = 64,
                 image_channels: int = 3,
                 subnet: Optional[dict] = None,
                 res_scale: float = 0.2) -> None:
        super().__init__()
        if int(num_images) < 1 or int(mid_channels) < 1:
            raise ValueError(
                f'RelationBlock: num_images ({num_images}) and mid_channels '
                f'({mid_channels}) must be positive.')
        self.num_images = int(num_images)
        self.mid_channels = nf = int(mid_channels)
        self.image_channels = int(image_channels)
        self.res_scale = float(res_scale)
        subnet = dict(subnet or dict(type='DenseBlock', growth=32))

        def dense(cin, cout):
            return SUBNETS.build(dict(subnet, in_channels=cin,
                                      out_channels=cout))

        k = self.num_images
        self.head_blocks = nn.ModuleList(
            dense(self.image_channels, nf) for _ in range(k))
        self.head_convs = nn.ModuleList(
            nn.Conv2d(nf, nf, 1) for _ in range(k))
        self.merge_convs = nn.ModuleList(
            nn.Conv2d(nf * k, nf, 3, 1, 1) for _ in range(k))
        self.tail_convs = nn.ModuleList(
            nn.Conv2d(nf, nf, 1) for _ in range(k))
        self.tail_blocks = nn.ModuleList(
            dense(nf, self.image_channels) for _ in range(k))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block; ``x`` is ``(N, K * image_channels, H, W)``."""
        c = self.image_channels
        if x.dim() != 4 or x.shape[1] != self.num_images * c:
            raise ShapeError(
                f'RelationBlock: expected (N, {self.num_images * c}, H, W) '
                f'({self.num_images} stacked images), got shape '
                f'{tuple(x.shape)}.')
        heads = [
            self.head_convs[i](self.head_blocks[i](x[:, i * c:(i + 1) * c]))
            for i in range(self.num_images)
        ]
        merged = torch.cat(heads, dim=1)
        tails = [
            self.tail_blocks[i](
                self.tail_convs[i](self.merge_convs[i](merged)))
            for i in range(self.num_images)
        ]
        return x + torch.cat(tails, dim=1) * self.res_scale

    def extra_repr(self) -> str:
        return (f'num_images={self.num_images}, mid_channels='
                f'{self.mid_channels}, res_scale={self.res_scale}')


class RelationModule(nn.Module):
    """The official ``RelModule``: ``forw_rel`` before the INN and a separate
    ``back_rel`` after its inverse.

    ``back_rel`` has its own weights and is **not** the inverse of
    ``forw_rel``; only the training losses tie the two together (so IICNet
    as a whole is not exactly invertible even without quantisation).

    Args:
        num_images, mid_channels, image_channels, subnet, res_scale: see
            :class:`RelationBlock`.
    """

    def __init__(self,
                 num_images: int,
                 mid_channels: int = 64,
                 image_channels: int = 3,
                 subnet: Optional[dict] = None,
                 res_scale: float = 0.2) -> None:
        super().__init__()
        args = (num_images, mid_channels, image_channels, subnet, res_scale)
        self.forw_rel = RelationBlock(*args)
        self.back_rel = RelationBlock(*args)

    def forward(self, x: Tensor, rev: bool = False) -> Tensor:
        """``forw_rel(x)``, or ``back_rel(x)`` with ``rev=True``."""
        return self.back_rel(x) if rev else self.forw_rel(x)
