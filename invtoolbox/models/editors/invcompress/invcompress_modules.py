# Copyright (c) invtoolbox contributors. All rights reserved.
"""InvCompress's analysis/synthesis transform (Xie, Cheng, Chen, ACM MM 2021).

The official ``InvCompress`` replaces Cheng2020Anchor's ``g_a``/``g_s`` by

    y     = forw_att(mean_groups(INN(forw_enh(x))))          # analysis
    x_hat = back_enh(INN^-1(repeat_groups(back_att(y_hat))))  # synthesis

where only the INN is invertible: the enhancement blocks and attention
blocks come in separate forward and backward copies. This module builds the
pieces from the INN library (:class:`PixelUnshuffle`,
:class:`Invertible1x1Conv`, :class:`RealNVPCoupling` with
:class:`Bottleneck` subnets) so that the official weights load 1:1 (see
``invcompress_keys.py``).
"""
from __future__ import annotations

import numbers
from typing import Dict, List, Sequence

import torch
from torch import Tensor, nn

from ....errors import ShapeError
from ...inn import InvertibleSequential
from ...subnets import DenseBlock

__all__ = [
    'EnhancementBlock', 'AttentionResidualUnit', 'AttentionBlock',
    'DirectionalPair', 'invcompress_inn_blocks', 'build_invcompress_inn',
    'InvCompressTransform'
]


class EnhancementBlock(nn.Module):
    """InvCompress's enhancement block (official ``EnhBlock``).

    ``x + 0.2 * layers(x)`` with ``layers`` = DenseBlock(C -> nf) ->
    conv1x1 (nf) -> conv3x3 (nf) -> conv1x1 (nf) -> DenseBlock(nf -> C); the
    three middle convs have no activation between them and keep PyTorch's
    default init. The DenseBlocks are IRN's (growth 32, LeakyReLU 0.2,
    ``xavier * 0.1``, zero last conv), so a fresh block is the identity.
    Keys ``layers.{0..4}.*`` equal the official ones.

    Shapes: (B, C, H, W) -> (B, C, H, W); images in about [0, 1].

    Args:
        nf (int): width of the inner layers. Default: 64.
        channels (int): image channels C. Default: 3.
        growth (int): growth of the two DenseBlocks (the official 32; they
            run at full resolution and dominate the CPU cost of small
            models). Default: 32.
    """

    def __init__(self, nf: int = 64, channels: int = 3,
                 growth: int = 32) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            DenseBlock(channels, nf, growth=growth),
            nn.Conv2d(nf, nf, 1),
            nn.Conv2d(nf, nf, 3, padding=1),
            nn.Conv2d(nf, nf, 1),
            DenseBlock(nf, channels, growth=growth),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + 0.2 * self.layers(x)


class AttentionResidualUnit(nn.Module):
    """CompressAI's attention residual unit: ``relu(x + conv(x))``.

    ``conv`` = conv1x1 (N -> N/2) -> ReLU -> conv3x3 (N/2) -> ReLU ->
    conv1x1 (N/2 -> N); keys ``conv.{0,2,4}``.

    Shapes: (B, N, h, w) -> (B, N, h, w).
    """

    def __init__(self, N: int) -> None:
        super().__init__()
        half = N // 2
        self.conv = nn.Sequential(
            nn.Conv2d(N, half, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, N, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.conv(x) + x)


class AttentionBlock(nn.Module):
    """CompressAI's simplified attention block (Cheng et al. 2020).

    ``x + conv_a(x) * sigmoid(conv_b(x))`` with ``conv_a`` three residual
    units and ``conv_b`` three residual units followed by a conv1x1; keys
    ``conv_a.{0,1,2}.conv.{0,2,4}``, ``conv_b.{0,1,2}.conv.{0,2,4}``,
    ``conv_b.3`` as CompressAI's. Default (PyTorch) initialisation, as the
    official code: it is not an identity at init.

    Shapes: (B, N, h, w) -> (B, N, h, w).

    Args:
        N (int): channels.
    """

    def __init__(self, N: int) -> None:
        super().__init__()
        self.conv_a = nn.Sequential(*(AttentionResidualUnit(N)
                                      for _ in range(3)))
        self.conv_b = nn.Sequential(
            *(AttentionResidualUnit(N) for _ in range(3)), nn.Conv2d(N, N, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_a(x) * torch.sigmoid(self.conv_b(x))


class DirectionalPair(nn.Module):
    """Two separate networks, one per direction of a non-invertible stage.

    InvCompress's enhancement and attention stages are not inverted: the
    analysis runs ``forward_block``, the synthesis its own
    ``backward_block`` (official ``forw_enh``/``back_enh``,
    ``forw_att``/``back_att``). ``pair(x)`` runs ``forward_block``,
    ``pair(x, rev=True)`` ``backward_block``.
    """

    def __init__(self, forward_block: nn.Module,
                 backward_block: nn.Module) -> None:
        super().__init__()
        self.forward_block = forward_block
        self.backward_block = backward_block

    def forward(self, x: Tensor, rev: bool = False) -> Tensor:
        return self.backward_block(x) if rev else self.forward_block(x)


def _positive_int(name: str, value) -> int:
    if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
            or value < 1):
        raise ValueError(f'{name} must be a positive integer, got {value!r}.')
    return int(value)


def invcompress_inn_blocks(in_channels: int = 3,
                           levels: int = 4,
                           kernel_sizes: Sequence[int] = (5, 5, 3, 3),
                           couplings_per_level: int = 3) -> List[dict]:
    """Block configs of InvCompress's INN (official ``InvComp.operations``).

    Per level ``l`` (channels ``C = in_channels * 4**(l+1)`` after the
    squeeze): ``PixelUnshuffle(factor 2, order='subpixel')`` (the official
    ``SqueezeLayer``: out channel ``(dy*2+dx)*C_in + c``), a free
    ``Invertible1x1Conv(C)``, then ``couplings_per_level`` x
    ``RealNVPCoupling(C, split=C/4, clamp 1, sigmoid clamp)`` with
    ``Bottleneck(kernel_sizes[l])`` subnets. Block ``i`` of the list is
    official ``operations[i]``.
    """
    in_channels = _positive_int('invcompress INN: in_channels', in_channels)
    levels = _positive_int('invcompress INN: levels', levels)
    couplings_per_level = _positive_int('invcompress INN: couplings_per_level',
                                        couplings_per_level)
    kernel_sizes = tuple(kernel_sizes)
    if len(kernel_sizes) != levels:
        raise ValueError(f'invcompress INN: kernel_sizes={kernel_sizes} must '
                         f'give one kernel size per level ({levels} levels).')
    blocks: List[dict] = []
    channels = in_channels
    for level in range(levels):
        blocks.append(dict(type='PixelUnshuffle', factor=2, order='subpixel'))
        blocks.append(dict(type='Invertible1x1Conv', lu=False))
        split = channels  # a quarter of the squeezed channels
        for _ in range(couplings_per_level):
            blocks.append(
                dict(type='RealNVPCoupling',
                     split=split,
                     clamp=1.0,
                     clamp_activation='sigmoid',
                     subnet=dict(type='Bottleneck',
                                 kernel_size=int(kernel_sizes[level]))))
        channels *= 4
    return blocks


def build_invcompress_inn(
        in_channels: int = 3,
        levels: int = 4,
        kernel_sizes: Sequence[int] = (5, 5, 3, 3),
        couplings_per_level: int = 3,
        memory_efficient: bool = False) -> InvertibleSequential:
    """InvCompress's INN as an :class:`InvertibleSequential`.

    Shapes: (B, C, H, W) -> (B, C * 4**levels, H / 2**levels, W / 2**levels)
    (3 x 64 x 64 -> 768 x 4 x 4 for the official 4 levels); ``inn(y,
    rev=True)`` is the exact inverse. See :func:`invcompress_inn_blocks`.

    The 1x1 convs start as random orthogonal matrices drawn from torch's
    global RNG (the official code draws them with numpy's unseeded RNG via
    ``np.linalg.qr``: same family, not reproducible there either); their
    inverse is ``inverse(W.double())`` cast to float, as the official one.
    Every coupling is the identity at init (zero last subnet convs).
    """
    blocks = invcompress_inn_blocks(in_channels, levels, kernel_sizes,
                                    couplings_per_level)
    size = 2**int(levels)
    return InvertibleSequential(blocks, (int(in_channels), size, size),
                                memory_efficient=memory_efficient)


class InvCompressTransform(nn.Module):
    """InvCompress's analysis ``g_a`` and synthesis ``g_s`` transforms.

    ``analysis``: enhancement (forward block) -> INN -> mean over the
    ``C_inn / N`` consecutive groups of N channels (official
    ``x.view(B, C_inn//N, N, h, w).mean(1)``) -> attention (forward block).
    ``synthesis``: attention (backward block) -> ``repeat(1, C_inn//N, 1, 1)``
    -> exact INN inverse -> enhancement (backward block), unclamped.
    The whole is not invertible (channel mean, separate enhancement and
    attention networks per direction); only ``inn`` is.

    Submodules (the state-dict layout, see ``invcompress_keys.py``):
    ``enhancement.{forward,backward}_block`` (:class:`EnhancementBlock`),
    ``inn`` (:func:`build_invcompress_inn`; official ``inv.operations.i``
    is ``inn.blocks.i``), ``attention.{forward,backward}_block``
    (:class:`AttentionBlock`). Initialisation as the official one: the
    enhancement blocks and couplings are identities at init; the 1x1 convs
    are random orthogonal (torch RNG instead of the official numpy QR).

    Shapes (official quality 1-3: N=128; 5-8: N=192):
    x (B, 3, H, W) in [0, 1] -> y (B, N, H/16, W/16) -> x_hat (B, 3, H, W).
    H and W must be multiples of ``2**levels * 4`` (64): the INN halves
    them ``levels`` times and the hyperprior divides ``y`` by 4 more.

    Args:
        N (int): latent channels; must divide ``in_channels * 4**levels``.
        enhance_channels (int): width of the enhancement blocks. Default: 64.
        levels (int): INN levels (squeezes). Default: 4.
        kernel_sizes (Sequence[int]): coupling subnet kernel per level.
            Default: (5, 5, 3, 3).
        couplings_per_level (int): Default: 3.
        in_channels (int): image channels. Default: 3.
        memory_efficient (bool): memory-saving INN backward (see
            :class:`InvertibleSequential`). Default: False.
        enhance_growth (int): growth of the enhancement DenseBlocks.
            Default: 32 (official).
    """

    #: the hyperprior's downsampling of y (two stride-2 convs)
    hyper_factor = 4

    def __init__(self,
                 N: int,
                 enhance_channels: int = 64,
                 levels: int = 4,
                 kernel_sizes: Sequence[int] = (5, 5, 3, 3),
                 couplings_per_level: int = 3,
                 in_channels: int = 3,
                 memory_efficient: bool = False,
                 enhance_growth: int = 32) -> None:
        super().__init__()
        self.N = _positive_int('InvCompressTransform: N', N)
        self.in_channels = _positive_int('InvCompressTransform: in_channels',
                                         in_channels)
        self.levels = _positive_int('InvCompressTransform: levels', levels)
        self.couplings_per_level = _positive_int(
            'InvCompressTransform: couplings_per_level', couplings_per_level)
        self.inn_channels = self.in_channels * 4**self.levels
        if self.inn_channels % self.N:
            divisors = [
                d for d in range(1, self.inn_channels + 1)
                if self.inn_channels % d == 0 and d >= 16
            ]
            raise ValueError(
                f'InvCompressTransform: N={N} must divide the INN output '
                f'channels {self.inn_channels} (= {in_channels} x '
                f'4**{levels}); use one of {divisors}.')
        self.groups = self.inn_channels // self.N
        self.blocks_per_level = 2 + self.couplings_per_level
        self.enhancement = DirectionalPair(
            EnhancementBlock(enhance_channels, self.in_channels,
                             enhance_growth),
            EnhancementBlock(enhance_channels, self.in_channels,
                             enhance_growth))
        self.inn = build_invcompress_inn(self.in_channels,
                                         self.levels,
                                         kernel_sizes,
                                         self.couplings_per_level,
                                         memory_efficient=memory_efficient)
        self.attention = DirectionalPair(AttentionBlock(self.N),
                                         AttentionBlock(self.N))

    @property
    def size_multiple(self) -> int:
        """H and W of the input must be multiples of this (64 by default)."""
        return 2**self.levels * self.hyper_factor

    # -- checks ---------------------------------------------------------------
    def _check_image(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.dim() != 4 \
                or x.shape[1] != self.in_channels:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x)
            raise ShapeError(
                f'InvCompressTransform.analysis expects an image batch of '
                f'shape (B, {self.in_channels}, H, W), got {shape}.')
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ShapeError(
                f'InvCompressTransform: image size {h}x{w} is not a multiple '
                f'of {m} (2**{self.levels} for the INN x 4 for the '
                f'hyperprior); pad the image to a multiple of {m} first.')

    def _check_latent(self, y: Tensor) -> None:
        if not isinstance(y, Tensor) or y.dim() != 4 or y.shape[1] != self.N:
            shape = tuple(y.shape) if isinstance(y, Tensor) else type(y)
            raise ShapeError(
                f'InvCompressTransform.synthesis expects a latent of shape '
                f'(B, {self.N}, h, w) (N={self.N}), got {shape}.')

    # -- the channel squeeze --------------------------------------------------
    def channel_mean(self, inn_out: Tensor) -> Tensor:
        """(B, C_inn, h, w) -> (B, N, h, w): mean of the C_inn/N groups."""
        b, _, h, w = inn_out.shape
        return inn_out.view(b, self.groups, self.N, h, w).mean(1)

    def channel_repeat(self, y: Tensor) -> Tensor:
        """(B, N, h, w) -> (B, C_inn, h, w): the groups repeated."""
        return y.repeat(1, self.groups, 1, 1)

    # -- transforms -----------------------------------------------------------
    def analysis(self, x: Tensor) -> Tensor:
        """``y = g_a(x)``: (B, 3, H, W) -> (B, N, H/16, W/16)."""
        self._check_image(x)
        out = self.inn(self.enhancement.forward_block(x))
        return self.attention.forward_block(self.channel_mean(out))

    def synthesis(self, y_hat: Tensor) -> Tensor:
        """``x_hat = g_s(y_hat)``: (B, N, h, w) -> (B, 3, 16h, 16w),
        unclamped."""
        self._check_latent(y_hat)
        out = self.channel_repeat(self.attention.backward_block(y_hat))
        return self.enhancement.backward_block(self.inn(out, rev=True))

    def forward(self, x: Tensor, rev: bool = False) -> Tensor:
        """``analysis(x)``, or ``synthesis(x)`` when ``rev``."""
        return self.synthesis(x) if rev else self.analysis(x)

    def analysis_stages(self, x: Tensor) -> Dict[str, Tensor]:
        """Every stage of :meth:`analysis`, for tests and debugging.

        Keys: ``enh``, ``inn_level1`` .. ``inn_level{levels}`` (after each
        level's squeeze, 1x1 conv and couplings), ``inn_out`` (= the last
        level), ``inn_mean``, ``y``.
        """
        self._check_image(x)
        stages = {'enh': self.enhancement.forward_block(x)}
        out = stages['enh']
        step = self.blocks_per_level
        for level in range(self.levels):
            out, _ = self.inn.run(out,
                                  start=level * step,
                                  stop=(level + 1) * step)
            stages[f'inn_level{level + 1}'] = out
        stages['inn_out'] = out
        stages['inn_mean'] = self.channel_mean(out)
        stages['y'] = self.attention.forward_block(stages['inn_mean'])
        return stages

    def synthesis_stages(self, y_hat: Tensor) -> Dict[str, Tensor]:
        """Every stage of :meth:`synthesis`: ``back_att``, ``repeated``,
        ``inn_inverse``, ``x_hat``."""
        self._check_latent(y_hat)
        stages = {'back_att': self.attention.backward_block(y_hat)}
        stages['repeated'] = self.channel_repeat(stages['back_att'])
        stages['inn_inverse'] = self.inn(stages['repeated'], rev=True)
        stages['x_hat'] = self.enhancement.backward_block(
            stages['inn_inverse'])
        return stages

    def extra_repr(self) -> str:
        return (f'N={self.N}, levels={self.levels}, inn_channels='
                f'{self.inn_channels}, groups={self.groups}')
