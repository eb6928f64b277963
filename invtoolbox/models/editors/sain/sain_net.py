# Copyright (c) invtoolbox contributors. All rights reserved.
"""The SAIN generator: the official ``SAINet`` (yang-jin-hai/SAIN,
``codes/models/modules/inv_arch.py``) built from the INN library."""
from __future__ import annotations

import math
from typing import List, Optional, Tuple, Union

from torch import Tensor, nn

from ....registry import LATENTS, MODELS
from ...inn import InvertibleSequential

__all__ = ['SAINNet', 'sain_block_configs']


def sain_block_configs(in_channels: int = 3,
                       out_channels: int = 3,
                       scale: int = 2,
                       e_blocks: int = 5,
                       v_blocks: int = 3,
                       subnet: Optional[dict] = None,
                       clamp: float = 1.0) -> List[dict]:
    """The block configs of a SAIN network, in the official op order.

    ``log2(scale)`` Haar stages (all first, also for x4), then ``e_blocks``
    :class:`~invtoolbox.models.inn.EnhancedAffineCoupling` (the official
    ``down_operations``), then ``v_blocks``
    :class:`~invtoolbox.models.inn.AffineCoupling` (``comp_operations``).

    Raises:
        ValueError: one-line message for an impossible combination.
    """
    scale = int(scale)
    levels = int(round(math.log2(scale))) if scale >= 2 else -1
    if levels < 1 or 2**levels != scale:
        raise ValueError(f'SAINNet: scale must be a power of two >= 2 (Haar '
                         f'stages), got scale={scale}.')
    if int(e_blocks) < 1:
        raise ValueError(
            f'SAINNet: e_blocks must be >= 1 (the shipped LR is taken from '
            f'inside the last enhanced block), got {e_blocks}.')
    if int(v_blocks) < 0:
        raise ValueError(f'SAINNet: v_blocks must be >= 0, got {v_blocks}.')
    total = in_channels * scale * scale
    if not 0 < out_channels < total:
        raise ValueError(
            f'SAINNet: out_channels={out_channels} must be between 1 and '
            f'{total - 1} (the {total} channels after the Haar stages hold '
            'the LR image and the latent).')
    if subnet is None:
        subnet = dict(type='DenseBlock', growth=32, init='xavier')
    coupling = dict(split=out_channels, subnet=dict(subnet), clamp=clamp)
    blocks: List[dict] = [
        dict(type='HaarDownsampling') for _ in range(levels)
    ]
    blocks += [
        dict(coupling, type='EnhancedAffineCoupling')
        for _ in range(int(e_blocks))
    ]
    blocks += [
        dict(coupling, type='AffineCoupling', clamp_activation='sigmoid')
        for _ in range(int(v_blocks))
    ]
    return blocks


@MODELS.register_module()
class SAINNet(nn.Module):
    """Self-Asymmetric Invertible Network (SAIN, Yang et al., AAAI 2023),
    layer for layer.

    The official ``SAINet``: ``log2(s)`` Haar stages, ``e_blocks`` enhanced
    invertible blocks (the downscaling module ``f``, four DenseBlocks E, F,
    G, H each), ``e_blocks`` -> ``v_blocks`` vanilla blocks (the compression
    simulator ``g``, IRN's coupling) and the learnable Gaussian mixture of
    the latent. The invertible chain is :attr:`inn`, an
    :class:`~invtoolbox.models.inn.InvertibleSequential` (so it follows the
    library's call convention and offers the memory-efficient mode); the
    mixture is :attr:`gmm`, a
    :class:`~invtoolbox.models.latents.GaussianMixture` owned by the network
    as in the official code, so one converted ``SAINx2_JPEG.pth`` fills both.

    ============  ===================================  ==============  =========
    setting       ops                                  channels        params
    ============  ===================================  ==============  =========
    x2            Haar, 5 enhanced, 3 vanilla          12 (3 / 9)      2,015,485
    x4            Haar, Haar, 10 enhanced, 6 vanilla   48 (3 / 45)     6,494,003
    ============  ===================================  ==============  =========

    (parameter counts as the official code reports them, Haar filters and
    the 3 x 5 mixture included; see :meth:`num_official_params`.)

    Calls (the official ones):

    - ``out, lr = net(x)``: ``x`` HR ``(N, C, H, W)`` in ``[0, 1]``;
      ``out`` ``(N, C*s^2, H/s, W/s)`` is the output of the compression
      simulator (``out[:, :3]`` the simulated compressed LR ``y_hat``,
      ``out[:, 3:]`` the latent ``z``); ``lr`` ``(N, 3, H/s, W/s)`` is the
      high-quality LR taken inside the last enhanced block, the image that
      is quantised and shipped.
    - ``x, lr_recon = net(y, rev=True)``: the inverse of ``y = cat(LR, z)``
      (``x`` has ``C`` channels), and the LR re-derived inside the last
      enhanced block on the way back (SAIN's ``L_reg`` compares it with the
      shipped LR).
    - ``jac=True`` appends the log-determinant, shape ``(N,)`` (the official
      one is its batch mean plus the Haar terms per sample).

    Keys: ``inn.blocks.{j}`` = official ``haar_operations.{j}``,
    ``inn.blocks.{H+i}`` = ``down_operations.{i}``, ``inn.blocks.{H+E+k}`` =
    ``comp_operations.{k}``, ``gmm.gmm_para`` = ``gmm.gmm_para``
    (:func:`invtoolbox.apis.convert_sain_state_dict`).

    Args:
        in_channels (int): image channels. Default: 3.
        out_channels (int): LR channels (``split`` of every block).
            Default: 3.
        scale (int): 2 or 4 (any power of two). Default: 2.
        e_blocks (int): enhanced blocks. Default: 5 (x2; 10 for x4).
        v_blocks (int): vanilla blocks. Default: 3 (x2; 6 for x4).
        gmm_components (int): mixture components ``K``. Default: 5.
        subnet (dict): ``SUBNETS`` config of every E/F/G/H network.
            Default: ``dict(type='DenseBlock', growth=32, init='xavier')``.
        clamp (float): coupling clamp. Default: 1.0 (official).
        memory_efficient (bool): see :class:`InvertibleSequential`: every
            block but the last enhanced one (whose intermediate LR is
            shipped) recomputes its input in backward instead of storing
            it. Default: False.
    """

    def __init__(self,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 scale: int = 2,
                 e_blocks: int = 5,
                 v_blocks: int = 3,
                 gmm_components: int = 5,
                 subnet: Optional[dict] = None,
                 clamp: float = 1.0,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        blocks = sain_block_configs(in_channels, out_channels, scale,
                                    e_blocks, v_blocks, subnet, clamp)
        side = 4 * int(scale)  # nominal shape record; any H, W % s == 0 runs
        self.inn = InvertibleSequential(
            blocks, (in_channels, side, side),
            memory_efficient=memory_efficient)
        self.gmm = LATENTS.build(
            dict(type='GaussianMixture', num_components=gmm_components))
        self.in_channels = int(in_channels)
        self.lr_channels = int(out_channels)
        self.scale = int(scale)
        self.num_haar = int(round(math.log2(self.scale)))
        self.e_blocks = int(e_blocks)
        self.v_blocks = int(v_blocks)

    @property
    def latent_channels(self) -> int:
        """Channels of the latent ``z`` (``C * s^2 - out_channels``)."""
        return self.in_channels * self.scale**2 - self.lr_channels

    @property
    def memory_efficient(self) -> bool:
        return self.inn.memory_efficient

    @property
    def lr_block_index(self) -> int:
        """Index in :attr:`inn` of the last enhanced block, whose
        intermediate LR is shipped."""
        return self.num_haar + self.e_blocks - 1

    @property
    def last_enhanced_block(self) -> nn.Module:
        """The enhanced block whose intermediate LR is shipped."""
        return self.inn[self.lr_block_index]

    def lr_size(self, height: int, width: int) -> Tuple[int, int]:
        """(h, w) of the LR image of an ``height x width`` HR image."""
        return height // self.scale, width // self.scale

    def forward(self,
                x: Tensor,
                rev: bool = False,
                jac: bool = False
                ) -> Union[Tuple[Tensor, Tensor], Tuple[Tensor, Tensor,
                                                        Tensor]]:
        """The official ``SAINet.forward``: ``(out, lr)`` forward,
        ``(x, lr_recon)`` with ``rev=True``; ``jac=True`` adds the
        ``(N,)`` log-determinant (see the class docstring).

        The chain runs in three parts: the blocks before the last enhanced
        block, that block (which returns its intermediate LR with
        :meth:`~invtoolbox.models.inn.EnhancedAffineCoupling.forward_with_lr`),
        and the blocks after it; each part runs in memory-efficient mode
        when the network has it.
        """
        k = self.lr_block_index
        block = self.inn[k]
        if rev:
            h, logdet = self.inn.run(x, k + 1, None, rev=True, jac=jac)
            res = block.forward_with_lr(h, rev=True, jac=jac)
            logdet = logdet + res.logdet if jac else None
            out, logdet = self.inn.run(res.out, 0, k, rev=True, jac=jac,
                                       logdet=logdet)
        else:
            h, logdet = self.inn.run(x, 0, k, jac=jac)
            res = block.forward_with_lr(h, jac=jac)
            logdet = logdet + res.logdet if jac else None
            out, logdet = self.inn.run(res.out, k + 1, None, jac=jac,
                                       logdet=logdet)
        if jac:
            return out, res.lr, logdet
        return out, res.lr

    def num_official_params(self) -> int:
        """Parameter count as the official code reports it (the fixed Haar
        filters, buffers here, are frozen ``nn.Parameter`` s there)."""
        count = sum(p.numel() for p in self.parameters())
        count += sum(b.numel() for name, b in self.named_buffers()
                     if name.endswith('haar_weights'))
        return count

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, out_channels='
                f'{self.lr_channels}, scale={self.scale}, e_blocks='
                f'{self.e_blocks}, v_blocks={self.v_blocks}, '
                f'gmm_components={self.gmm.num_components}, '
                f'memory_efficient={self.memory_efficient}')
