# Copyright (c) invtoolbox contributors. All rights reserved.
"""The IRN generator: the official ``InvRescaleNet`` / ``InvGreyNet`` as an
:class:`~invtoolbox.models.inn.InvertibleSequential`."""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

from ....registry import MODELS
from ...inn import InvertibleSequential

__all__ = ['IRNNet', 'irn_block_configs']

#: ``down_type`` -> the invertible block that starts a level.
DOWN_TYPES = {
    'haar': 'HaarDownsampling',
    'conv': 'ConvDownsampling',
    'grey': 'Conv1x1Grey',
}


def _default_block_num(down_type: str, levels: int) -> List[int]:
    # Official configs: 8 couplings per Haar level, 12 after ConvDownsampling
    # (IRN x3), 8 after Conv1x1Grey (IRN-Color).
    return [12] if down_type == 'conv' else [8] * levels


def irn_block_configs(in_channels: int = 3,
                      out_channels: int = 3,
                      scale: int = 2,
                      block_num: Optional[Sequence[int]] = None,
                      down_type: str = 'haar',
                      subnet: Optional[dict] = None,
                      clamp: float = 1.0) -> List[dict]:
    """The block configs of an IRN network, in the official op order.

    The returned list is what :class:`IRNNet` chains; index ``i`` of the list
    is ``operations.i`` of the official checkpoints.

    Args:
        see :class:`IRNNet`.

    Returns:
        list[dict]: ``INV_BLOCKS`` / ``COUPLINGS`` config dicts.

    Raises:
        ValueError: one-line message for an impossible combination.
    """
    if down_type not in DOWN_TYPES:
        raise ValueError(f'IRNNet: unknown down_type {down_type!r}; use one '
                         f'of {tuple(DOWN_TYPES)}.')
    scale = int(scale)
    if down_type == 'haar':
        levels = int(round(math.log2(scale))) if scale >= 2 else -1
        if levels < 1 or 2**levels != scale:
            raise ValueError(
                f"IRNNet: down_type='haar' needs a power-of-two scale >= 2, "
                f"got scale={scale}; use down_type='conv' for other scales.")
    elif down_type == 'conv':
        levels = 1
        if scale < 2:
            raise ValueError("IRNNet: down_type='conv' needs scale >= 2, got "
                             f'scale={scale}.')
    else:  # grey
        levels = 1
        if scale != 1:
            raise ValueError(
                "IRNNet: down_type='grey' (IRN-Color) does not change the "
                f'image size; set scale=1 (got scale={scale}).')
        if in_channels != 3:
            raise ValueError("IRNNet: down_type='grey' converts RGB images; "
                             f'in_channels must be 3, got {in_channels}.')
    if block_num is None:
        block_num = _default_block_num(down_type, levels)
    block_num = [int(n) for n in block_num]
    if len(block_num) != levels or min(block_num) < 0:
        raise ValueError(
            f'IRNNet: block_num={block_num} must list {levels} non-negative '
            f'coupling count(s), one per downsampling level '
            f"(scale={scale}, down_type='{down_type}').")
    out_total = in_channels * scale * scale
    if not 0 < out_channels < out_total:
        raise ValueError(
            f'IRNNet: out_channels={out_channels} must be between 1 and '
            f'{out_total - 1} (the {out_total} output channels hold the LR '
            'image and the latent).')
    if subnet is None:
        subnet = dict(type='DenseBlock', growth=32, init='xavier')
    coupling = dict(
        type='AffineCoupling',
        split=out_channels,
        subnet=dict(subnet),
        clamp=clamp,
        clamp_activation='sigmoid')
    blocks: List[dict] = []
    for num in block_num:
        if down_type == 'haar':
            blocks.append(dict(type='HaarDownsampling'))
        elif down_type == 'conv':
            blocks.append(dict(type='ConvDownsampling', factor=scale))
        else:
            blocks.append(dict(type='Conv1x1Grey'))
        blocks.extend(dict(coupling) for _ in range(num))
    return blocks


@MODELS.register_module()
class IRNNet(InvertibleSequential):
    """Invertible Rescaling Net (IRN, ECCV 2020 / IJCV 2022), layer for layer.

    The official ``InvRescaleNet`` (and ``InvGreyNet`` of IRN-Color) is a
    list ``operations`` of invertible ops; this class is the same list as an
    :class:`~invtoolbox.models.inn.InvertibleSequential`, so block ``i`` is
    official op ``i`` (``blocks.i.*`` = ``operations.i.*`` in the state dict):

    ============  ===========================================  ============
    setting       ops                                          channels
    ============  ===========================================  ============
    x2            Haar, 8 couplings                            12 (3 / 9)
    x4            Haar, 8, Haar, 8                             12, 48
    x8            Haar, 8, Haar, 8, Haar, 8                    12, 48, 192
    x3            ConvDownsampling(3), 12 couplings            27 (3 / 24)
    IRN-Color     Conv1x1Grey, 8 couplings (split 1)           3 (1 / 2)
    ============  ===========================================  ============

    Each coupling is :class:`~invtoolbox.models.inn.AffineCoupling` (IRN's
    ``InvBlockExp``: additive LR branch, ``clamp * (2 * sigmoid - 1)``
    clamped affine latent branch) with ``DenseBlock`` subnets (growth 32).

    Calls (the official ones):

    - ``net(x)``: ``x`` HR ``(N, in_channels, H, W)`` in ``[0, 1]`` ->
      ``(N, in_channels * s^2, H/s, W/s)``; channels ``[:out_channels]`` are
      the continuous (unquantised, unclamped) LR image, the rest the latent
      ``z``.
    - ``net(y, rev=True)``: the inverse; ``y = cat(LR, z)`` -> HR.
    - ``net(x, jac=True)`` also returns the log-determinant per sample,
      shape ``(N,)`` (the official one is its batch mean).

    Parameter count: the fixed Haar filters are a *buffer* here (the
    official code holds them as frozen ``nn.Parameter`` s), so
    ``sum(p.numel() for p in net.parameters())`` is the official count minus
    ``16 * C`` per Haar level (48 for x2); :meth:`num_official_params` gives
    the official count.

    Args:
        in_channels (int): image channels. Default: 3.
        out_channels (int): channels of the LR branch (``split`` of every
            coupling; 1 for IRN-Color). Default: 3.
        scale (int): downscaling factor (1 for ``down_type='grey'``).
            Default: 2.
        block_num (Sequence[int], optional): couplings per level. Default:
            8 per Haar level, 12 for ``'conv'``, 8 for ``'grey'``.
        down_type (str): ``'haar'`` (x2/x4/x8), ``'conv'`` (IRN x3's
            learnable ``ConvDownsampling``) or ``'grey'`` (IRN-Color's
            ``Conv1x1Grey``). Default: ``'haar'``.
        subnet (dict): ``SUBNETS`` config of the coupling subnets.
            Default: ``dict(type='DenseBlock', growth=32, init='xavier')``.
        clamp (float): coupling clamp. Default: 1.0 (official).
        memory_efficient (bool): recompute activations from outputs in
            backward (see :class:`InvertibleSequential`). Default: False.
    """

    def __init__(self,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 scale: int = 2,
                 block_num: Optional[Sequence[int]] = None,
                 down_type: str = 'haar',
                 subnet: Optional[dict] = None,
                 clamp: float = 1.0,
                 memory_efficient: bool = False) -> None:
        blocks = irn_block_configs(in_channels, out_channels, scale,
                                   block_num, down_type, subnet, clamp)
        # The container records shapes for a nominal input; any H, W
        # divisible by ``scale`` runs.
        side = 4 * max(int(scale), 1)
        super().__init__(
            blocks, (in_channels, side, side),
            memory_efficient=memory_efficient)
        self.in_channels = int(in_channels)
        self.lr_channels = int(out_channels)
        self.scale = int(scale)
        self.down_type = down_type
        self.block_num = self._count_blocks()

    def _count_blocks(self) -> List[int]:
        counts: List[int] = []
        for block in self.blocks:
            if type(block).__name__ in DOWN_TYPES.values():
                counts.append(0)
            else:
                counts[-1] += 1
        return counts

    @property
    def latent_channels(self) -> int:
        """Channels of the latent ``z`` (``C * s^2 - out_channels``)."""
        return self.in_channels * self.scale**2 - self.lr_channels

    def lr_size(self, height: int, width: int):
        """(h, w) of the LR image of an ``height x width`` HR image."""
        return height // self.scale, width // self.scale

    def num_official_params(self) -> int:
        """Parameter count as the official code reports it (Haar filters
        included, as they are frozen ``nn.Parameter`` s there)."""
        count = sum(p.numel() for p in self.parameters())
        count += sum(b.numel() for name, b in self.named_buffers()
                     if name.endswith('haar_weights'))
        return count

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, out_channels='
                f'{self.lr_channels}, scale={self.scale}, '
                f"down_type='{self.down_type}', block_num={self.block_num}, "
                f'memory_efficient={self.memory_efficient}')
