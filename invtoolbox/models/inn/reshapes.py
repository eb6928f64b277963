# Copyright (c) invtoolbox contributors. All rights reserved.
"""Invertible reshapes: Haar wavelet, pixel-unshuffle (squeeze), IRN's
learnable ``ConvDownsampling`` and channel split/concat helpers."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import ShapeError
from ...registry import INV_BLOCKS
from .base import InvertibleModule, check_divisible, zero_logdet

__all__ = [
    'HaarDownsampling', 'PixelUnshuffle', 'ConvDownsampling', 'ChannelSplit',
    'channel_split', 'channel_concat'
]


def _haar_filters() -> Tensor:
    """The four 2x2 Haar filters (LL, left-right, top-bottom, diagonal)."""
    return torch.tensor([
        [[1., 1.], [1., 1.]],
        [[1., -1.], [1., -1.]],
        [[1., 1.], [-1., -1.]],
        [[1., -1.], [-1., 1.]],
    ])


def _band_major(x: Tensor, channels: int, bands: int, group: int) -> Tensor:
    """(N, C*bands, h, w) channel-major -> band-major within groups of ``group``.

    Input channel ``c * bands + k`` (channel c, band k) goes to output channel
    ``(c // group) * bands * group + k * group + c % group``.
    """
    n, _, h, w = x.shape
    x = x.reshape(n, channels // group, group, bands, h, w)
    return x.transpose(2, 3).reshape(n, channels * bands, h, w)


def _channel_major(x: Tensor, channels: int, bands: int, group: int) -> Tensor:
    """Inverse of :func:`_band_major`."""
    n, _, h, w = x.shape
    x = x.reshape(n, channels // group, bands, group, h, w)
    return x.transpose(2, 3).reshape(n, channels * bands, h, w)


class _SpaceToDepth(InvertibleModule):
    """Shared shape bookkeeping of the (C, H, W) -> (C*s*s, H/s, W/s) blocks."""

    factor: int = 2

    @property
    def out_channels(self) -> int:
        return self.channels * self.factor**2

    def output_shape(self, in_shape: Sequence[int]) -> Tuple[int, int, int]:
        self._check_shape(in_shape, self.channels, 'input')
        c, h, w = in_shape
        s = self.factor
        check_divisible(self, h, w, s)
        return (c * s * s, h // s, w // s)

    def input_shape(self, out_shape: Sequence[int]) -> Tuple[int, int, int]:
        c, h, w = out_shape
        s = self.factor
        return (c // (s * s), h * s, w * s)


@INV_BLOCKS.register_module()
class HaarDownsampling(_SpaceToDepth):
    """One level of the 2-D Haar wavelet transform, as in IRN/SAIN/IICNet.

    Each 2x2 pixel block of each channel is mapped to four sub-band values
    with the filters ``LL=[[1,1],[1,1]]``, ``[[1,-1],[1,-1]]``,
    ``[[1,1],[-1,-1]]``, ``[[1,-1],[-1,1]]`` divided by 4 (IRN convention:
    the LL band is the 2x2 box mean), or by 2 with ``orthonormal=True``
    (an orthogonal map, log-det 0).

    Channel order of the output is **sub-band-major** (IRN): ``[LL of all C |
    band 1 of all C | band 2 | band 3]``, so channels ``0..C-1`` are the
    box-downscaled image. With ``group_channels=g`` the order is sub-band-major
    within consecutive groups of ``g`` input channels (``g=3`` with stacked RGB
    frames gives IICNet's frame-major ``ref`` order; ``g=1`` puts the four
    bands of each channel next to each other).

    Shapes: (N, C, H, W) -> (N, 4C, H/2, W/2); H and W must be even.
    Log-det (IRN scaling): ``C*H*W/4 * log(1/16)`` per sample.

    Args:
        channels (int): input channels C.
        orthonormal (bool): divide by 2 instead of 4. Default: False.
        group_channels (int, optional): size of the channel groups within
            which the output is sub-band-major. Default: all C channels.
    """

    def __init__(self,
                 channels: int,
                 orthonormal: bool = False,
                 group_channels: Optional[int] = None) -> None:
        super().__init__(channels)
        group = channels if group_channels is None else int(group_channels)
        if group <= 0 or channels % group:
            raise ValueError(f'HaarDownsampling: group_channels={group} must '
                             f'divide channels={channels}.')
        self.orthonormal = orthonormal
        self.group_channels = group
        self.scale = 2.0 if orthonormal else 4.0
        # Fixed filters, kept in the state dict under the official key.
        self.register_buffer('haar_weights',
                             _haar_filters().unsqueeze(1).repeat(
                                 channels, 1, 1, 1))

    def _logdet(self, x: Tensor, spatial: int) -> Tensor:
        if self.orthonormal:
            return zero_logdet(x)
        # 4 outputs per 2x2 block, each block scaled by det = (1/2)^4.
        value = self.channels * spatial * math.log(1 / 16.)
        return x.new_full((x.shape[0], ), value)

    def _forward(self, x, c, jac):
        h, w = x.shape[2:]
        check_divisible(self, h, w, 2)
        weight = self.haar_weights.to(x.dtype)
        out = F.conv2d(x, weight, stride=2, groups=self.channels) / self.scale
        out = _band_major(out, self.channels, 4, self.group_channels)
        return out, (self._logdet(x, h * w // 4) if jac else None)

    def _inverse(self, y, c, jac):
        weight = self.haar_weights.to(y.dtype)
        out = _channel_major(y, self.channels, 4, self.group_channels)
        out = F.conv_transpose2d(out, weight, stride=2, groups=self.channels)
        if self.orthonormal:
            out = out / 2.0
        spatial = y.shape[2] * y.shape[3]
        return out, (-self._logdet(y, spatial) if jac else None)

    def extra_repr(self) -> str:
        return (f'channels={self.channels}, orthonormal={self.orthonormal}, '
                f'group_channels={self.group_channels}')


@INV_BLOCKS.register_module()
class PixelUnshuffle(_SpaceToDepth):
    """Space-to-depth "squeeze" by ``factor`` (a permutation, log-det 0).

    Two channel orders are in use by the published networks:

    * ``order='channel'`` (per-channel, torch's ``pixel_unshuffle``, Glow,
      IRN's ConvDownsampling): output channel ``c*s*s + dy*s + dx``.
    * ``order='subpixel'`` (sub-pixel-major, IICNet's and InvCompress's
      squeeze): output channel ``(dy*s + dx)*C + c``. With
      ``group_channels=g`` the order is sub-pixel-major within consecutive
      groups of ``g`` input channels (``g=3`` with stacked RGB frames gives
      IICNet's frame-major ``ref`` squeeze).

    Shapes: (N, C, H, W) -> (N, C*s*s, H/s, W/s); H, W divisible by s.

    Args:
        channels (int): input channels C.
        factor (int): spatial factor s. Default: 2.
        order (str): ``'channel'`` or ``'subpixel'``. Default: ``'channel'``.
        group_channels (int, optional): ``order='subpixel'`` only: size of
            the channel groups within which the output is sub-pixel-major.
            Default: all C channels.
    """

    def __init__(self, channels: int, factor: int = 2, order: str = 'channel',
                 group_channels: Optional[int] = None):
        super().__init__(channels)
        if order not in ('channel', 'subpixel'):
            raise ValueError(f'PixelUnshuffle: order={order!r} is not one of '
                             "'channel', 'subpixel'.")
        if int(factor) < 1:
            raise ValueError(f'PixelUnshuffle: factor must be >= 1, got '
                             f'{factor}.')
        group = channels if group_channels is None else int(group_channels)
        if group <= 0 or channels % group or (group != channels
                                              and order != 'subpixel'):
            raise ValueError(
                f'PixelUnshuffle: group_channels={group_channels} must divide '
                f"channels={channels} and needs order='subpixel'.")
        self.factor = int(factor)
        self.order = order
        self.group_channels = group

    def _forward(self, x, c, jac):
        n, ch, h, w = x.shape
        s = self.factor
        check_divisible(self, h, w, s)
        if self.order == 'channel':
            out = F.pixel_unshuffle(x, s)
        elif self.group_channels != ch:
            out = _band_major(F.pixel_unshuffle(x, s), ch, s * s,
                              self.group_channels)
        else:
            out = x.reshape(n, ch, h // s, s, w // s, s)
            out = out.permute(0, 3, 5, 1, 2, 4).reshape(n, ch * s * s, h // s,
                                                       w // s)
        return out, (zero_logdet(x) if jac else None)

    def _inverse(self, y, c, jac):
        n, _, h, w = y.shape
        s, ch = self.factor, self.channels
        if self.order == 'channel':
            out = F.pixel_shuffle(y, s)
        elif self.group_channels != ch:
            out = F.pixel_shuffle(
                _channel_major(y, ch, s * s, self.group_channels), s)
        else:
            out = y.reshape(n, s, s, ch, h, w).permute(0, 3, 4, 1, 5, 2)
            out = out.reshape(n, ch, h * s, w * s)
        return out, (zero_logdet(y) if jac else None)

    def extra_repr(self) -> str:
        return (f'channels={self.channels}, factor={self.factor}, '
                f'order={self.order!r}, group_channels={self.group_channels}')


@INV_BLOCKS.register_module()
class ConvDownsampling(_SpaceToDepth):
    """IRN's learnable downsampling (used by IRN x3).

    Each channel is pixel-unshuffled by ``s`` (per channel, the ``s*s``
    positions in row-major order), then every ``s*s`` vector is multiplied by
    one learnable ``s*s x s*s`` matrix shared across channels
    (``conv_weights``, initialised with row 0 = the box mean ``1/s^2`` and the
    identity elsewhere; Haar-initialised for ``s=2``). The output is
    sub-band-major like :class:`HaarDownsampling` (channels ``0..C-1`` hold
    the box-mean image at init). The inverse solves with the matrix.

    Shapes: (N, C, H, W) -> (N, C*s*s, H/s, W/s); H, W divisible by s.
    Log-det: ``C * H/s * W/s * log|det conv_weights|`` per sample.

    Args:
        channels (int): input channels C.
        factor (int): spatial factor s. Default: 3.
    """

    def __init__(self, channels: int, factor: int = 3) -> None:
        super().__init__(channels)
        s = int(factor)
        if s < 2:
            raise ValueError(
                f'ConvDownsampling: factor must be >= 2, got {factor}.')
        self.factor = s
        weights = torch.eye(s * s)
        if s == 2:
            weights = _haar_filters().reshape(4, 4) / 4.
        else:
            weights[0] = 1. / (s * s)
        self.conv_weights = nn.Parameter(weights)

    def _logdet(self, x: Tensor, spatial: int) -> Tensor:
        _, logabsdet = torch.linalg.slogdet(self.conv_weights)
        return (self.channels * spatial * logabsdet).to(x.dtype).expand(
            x.shape[0]).clone()

    def _forward(self, x, c, jac):
        n, ch, h, w = x.shape
        s = self.factor
        check_divisible(self, h, w, s)
        # (N, C, s*s, h, w): per channel, positions row-major.
        out = F.pixel_unshuffle(x, s).reshape(n, ch, s * s, h // s, w // s)
        out = torch.einsum('kj,ncjhw->nkchw', self.conv_weights.to(x.dtype),
                           out)
        out = out.reshape(n, ch * s * s, h // s, w // s)
        return out, (self._logdet(x, h * w // (s * s)) if jac else None)

    def _inverse(self, y, c, jac):
        n, _, h, w = y.shape
        s, ch = self.factor, self.channels
        inv = torch.linalg.inv(self.conv_weights).to(y.dtype)
        out = y.reshape(n, s * s, ch, h, w)
        out = torch.einsum('jk,nkchw->ncjhw', inv, out)
        out = F.pixel_shuffle(out.reshape(n, ch * s * s, h, w), s)
        return out, (-self._logdet(y, h * w) if jac else None)

    def extra_repr(self) -> str:
        return f'channels={self.channels}, factor={self.factor}'


def channel_split(x: Tensor, sizes: Union[int, Sequence[int]]) -> Tuple[Tensor, ...]:
    """Split NCHW ``x`` on channels; ``sizes`` is the first part's size or all sizes."""
    if isinstance(sizes, int):
        sizes = (sizes, x.shape[1] - sizes)
    if sum(sizes) != x.shape[1] or min(sizes) < 0:
        raise ShapeError(f'cannot split {x.shape[1]} channels into sizes '
                         f'{tuple(sizes)}; the sizes must add up to the '
                         'channel count.')
    return tuple(torch.split(x, list(sizes), dim=1))


def channel_concat(parts: Sequence[Tensor]) -> Tensor:
    """Concatenate NCHW tensors on channels (inverse of :func:`channel_split`)."""
    return torch.cat(list(parts), dim=1)


@INV_BLOCKS.register_module()
class ChannelSplit(InvertibleModule):
    """Split a tensor into channel parts (forward) / concatenate them (inverse).

    The one multi-output block: forward returns a tuple of tensors, the
    inverse takes that tuple (or a list). Used to split off latent channels in
    multi-scale flows; wrap in :class:`~invtoolbox.models.inn.Inverse` for a
    concatenation. Log-det 0.

    Args:
        channels (int): input channels C.
        split (int | list[int]): channels of the first part, or the size of
            every part. Default: C // 2.
    """

    def __init__(self, channels: int,
                 split: Union[int, Sequence[int], None] = None) -> None:
        super().__init__(channels)
        if split is None:
            split = channels // 2
        sizes = ((int(split), channels - int(split)) if isinstance(split, int)
                 else tuple(int(s) for s in split))
        if sum(sizes) != channels or min(sizes) <= 0:
            raise ValueError(f'ChannelSplit: split={split} does not divide '
                             f'{channels} channels into non-empty parts.')
        self.sizes = sizes

    def forward(self, x, rev=False, jac=False, c=None):
        if rev:
            if isinstance(x, Tensor):
                raise TypeError('ChannelSplit(rev=True) takes the tuple of '
                                'parts returned by its forward pass.')
            out = channel_concat(x)
            ref = x[0]
        else:
            self._check_input(x, rev=False)
            out = channel_split(x, self.sizes)
            ref = x
        return (out, zero_logdet(ref)) if jac else out

    def extra_repr(self) -> str:
        return f'channels={self.channels}, sizes={self.sizes}'
