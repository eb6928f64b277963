# Copyright (c) invtoolbox contributors. All rights reserved.
"""Invertible-ISP's network (Xing, Qian, Chen, CVPR 2021), from the INN
library."""
from __future__ import annotations

from typing import List, Optional

import torch
from torch import Tensor

from ....registry import MODELS
from ...inn import InvertibleSequential

__all__ = ['InvISPNet', 'invisp_block_configs']

#: the official ``InvISPNet.initialize()``: every Conv2d re-initialised with
#: ``xavier_normal_`` (gain 1) and zero bias, conv 5 included (it overrides
#: DenseBlock's own 0.1 scaling and zero last conv).
OFFICIAL_SUBNET = dict(
    type='DenseBlock', growth=32, init='xavier', init_scale=1.0,
    zero_init_last=False)


def invisp_block_configs(channels: int = 3,
                         split: int = 1,
                         block_num: int = 8,
                         clamp: float = 0.8,
                         subnet: Optional[dict] = None) -> List[dict]:
    """The block list of :class:`InvISPNet`: ``block_num`` x [LU 1x1 conv,
    affine coupling]."""
    subnet = dict(OFFICIAL_SUBNET if subnet is None else subnet)
    blocks: List[dict] = []
    for _ in range(int(block_num)):
        blocks.append(dict(type='Invertible1x1Conv', lu=True))
        blocks.append(
            dict(type='AffineCoupling', split=split, clamp=clamp,
                 clamp_activation='sigmoid', subnet=dict(subnet)))
    return blocks


@MODELS.register_module()
class InvISPNet(InvertibleSequential):
    """Invertible-ISP's ``InvISPNet``, layer for layer.

    The official network is a list ``operations`` of 8 ``InvBlock`` s, each
    a Glow LU-decomposed invertible 1x1 convolution followed by an IRN
    coupling on a 1 | 2 channel split with clamp 0.8::

        x  = W x                                 (W = P L (U + diag(s e^{log s})))
        y1 = x1 + F(x2)                          x1: 1 channel, x2: 2
        s  = 0.8 * (2 * sigmoid(H(y1)) - 1)
        y2 = x2 * exp(s) + G(y1)

    with ``DenseBlock`` subnets (growth 32; F: 2 -> 1, G, H: 1 -> 2). Here
    official block ``i`` is blocks ``2i`` (:class:`Invertible1x1Conv`,
    ``lu=True``) and ``2i + 1`` (:class:`AffineCoupling`) of an
    :class:`~invtoolbox.models.inn.InvertibleSequential`; the inverse runs
    them backwards, as the official ``rev=True`` does.

    It works at full resolution (no squeeze, no latent, no log-det in the
    objective); any H, W run.

    Calls (the official ones):

    - ``net(raw)``: ``raw`` ``(N, 3, H, W)``, the white-balanced,
      gamma-compressed, bilinearly demosaiced RAW in [0, 1] -> the sRGB
      rendering ``(N, 3, H, W)`` (unclamped; the official code clamps it to
      [0, 1] outside the network);
    - ``net(rgb, rev=True)``: an sRGB image -> the RAW it came from.

    The official 1x1 convolution inverts ``W`` as ``inverse(U) @
    inverse(L) @ inverse(P)`` in float32; this one inverts ``W`` in float64
    (differences ~1e-7). Parameters: 1,413,760 for the official setting.

    Args:
        channel_in (int): channels of the RAW (the official name). Default: 3.
        channel_out (int): channels of the first split part ``x1``
            (the official ``channel_out`` is 3 and the split is fixed to
            1 | 2; kept for the official signature). Default: 3.
        block_num (int): number of ``InvBlock`` s. Default: 8.
        split (int): channels of ``x1``. Default: 1.
        clamp (float): coupling clamp. Default: 0.8.
        subnet (dict, optional): ``SUBNETS`` config of F, G, H. Default:
            :data:`OFFICIAL_SUBNET` (the official re-initialisation).
        memory_efficient (bool): recompute activations from outputs in
            backward (see :class:`InvertibleSequential`). Default: False.
        channels_last (bool): run CPU activations in NHWC memory format (the
            same function, faster; see :meth:`forward`). Default: True.
    """

    def __init__(self,
                 channel_in: int = 3,
                 channel_out: int = 3,
                 block_num: int = 8,
                 split: int = 1,
                 clamp: float = 0.8,
                 subnet: Optional[dict] = None,
                 memory_efficient: bool = False,
                 channels_last: bool = True) -> None:
        if channel_out != channel_in:
            raise ValueError(
                f'InvISPNet: channel_out ({channel_out}) must equal '
                f'channel_in ({channel_in}); the network is invertible.')
        blocks = invisp_block_configs(channel_in, split, block_num, clamp,
                                      subnet)
        # shapes recorded for a nominal input; any H, W run
        super().__init__(blocks, (channel_in, 16, 16),
                         memory_efficient=memory_efficient)
        self.block_num = int(block_num)
        self.split = int(split)
        self.channels_last = bool(channels_last)

    #: the output has the input's size (no rescaling)
    scale = 1

    def forward(self, x: Tensor, rev: bool = False, jac: bool = False,
                c: Optional[Tensor] = None):
        """``net(raw)`` renders; ``net(rgb, rev=True)`` recovers the RAW.

        On the CPU (with ``channels_last=True``) the activations run in NHWC
        memory format: oneDNN then runs the dense 3x3 convolutions, above
        all the 1- and 2-output ``conv5`` s that dominate the official
        network's time, several times faster (``benchmarks/
        benchmark_invisp.py``). The function, the parameters and the state
        dict are unchanged; the output is returned in the usual (NCHW)
        layout.
        """
        if self.channels_last and x.device.type == 'cpu' and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
            out = super().forward(x, rev=rev, jac=jac, c=c)
            if jac:
                return out[0].contiguous(), out[1]
            return out.contiguous()
        return super().forward(x, rev=rev, jac=jac, c=c)

    def block(self, index: int) -> InvertibleSequential:
        """Official ``operations[index]`` (1x1 conv + coupling) as a
        two-block sequence."""
        if not 0 <= index < self.block_num:
            raise IndexError(f'InvISPNet has {self.block_num} blocks, got '
                             f'index {index}.')
        return self[2 * index:2 * index + 2]

    def extra_repr(self) -> str:
        return (f'block_num={self.block_num}, split={self.split}, '
                f'memory_efficient={self.memory_efficient}, '
                f'channels_last={self.channels_last}')
