# Copyright (c) invtoolbox contributors. All rights reserved.
"""The interface shared by the latent models (distributions of the ``z`` of an
invertible rescaling network)."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

__all__ = ['BaseLatent']

_NLL_REDUCTIONS = ('mean', 'sum', 'none')


class BaseLatent(nn.Module):
    """Base class of the latent models registered in ``LATENTS``.

    A latent model is a distribution over the tensor ``z`` that an invertible
    network splits off (IRN: ``z ~ N(0, 1)``; SAIN: a learnable Gaussian
    mixture). Subclasses implement :meth:`sample` and :meth:`log_prob`; the
    negative log-likelihood (:meth:`nll`) and ``forward`` (= ``log_prob``)
    come from here.

    Conventions:
        - The first dimension of ``z`` is the batch; every other dimension is
          an event dimension (``(N, C, H, W)`` for image latents).
        - ``sample`` takes an optional :class:`torch.Generator`, so that a
          latent draw can be reproduced without touching the global RNG.
    """

    def sample(self,
               shape: Sequence[int],
               generator: Optional[torch.Generator] = None,
               scale: float = 1.0,
               device: Optional[torch.device] = None,
               dtype: Optional[torch.dtype] = None) -> Tensor:
        """Draw a latent tensor of ``shape`` (see the subclasses)."""
        raise NotImplementedError

    def log_prob(self, z: Tensor, elementwise: bool = False) -> Tensor:
        """Log-density of ``z``: shape ``(N,)``, or ``z.shape`` when
        ``elementwise=True`` (see the subclasses)."""
        raise NotImplementedError

    def forward(self, z: Tensor) -> Tensor:
        """Same as :meth:`log_prob` with the default arguments."""
        return self.log_prob(z)

    def nll(self,
            z: Tensor,
            reduction: str = 'mean',
            bits_per_dim: bool = False) -> Tensor:
        """True negative log-likelihood of ``z`` (constants included).

        Args:
            z (Tensor): ``(N, ...)`` latent tensor.
            reduction (str): how the per-sample NLLs ``(N,)`` are combined:
                ``'mean'`` (over the batch), ``'sum'`` or ``'none'``.
                Default: ``'mean'``.
            bits_per_dim (bool): report ``-log2 p(z_i) / D`` with ``D`` the
                number of elements of one sample, instead of nats per sample.
                Default: False.

        Returns:
            Tensor: a scalar, or ``(N,)`` for ``reduction='none'``.
        """
        if reduction not in _NLL_REDUCTIONS:
            raise ValueError(f'{type(self).__name__}.nll: unknown reduction '
                             f'{reduction!r}; use one of {_NLL_REDUCTIONS}.')
        nll = -self.log_prob(z)
        if bits_per_dim:
            dims = max(1, math.prod(z.shape[1:]))
            nll = nll / (dims * math.log(2.0))
        if reduction == 'mean':
            return nll.mean()
        if reduction == 'sum':
            return nll.sum()
        return nll

    # -- helpers for subclasses ------------------------------------------
    @staticmethod
    def _check_shape(shape: Sequence[int], owner: str) -> Tuple[int, ...]:
        """Validate a sample shape and return it as a tuple of ints."""
        if isinstance(shape, int):
            shape = (shape, )
        try:
            out = tuple(int(s) for s in shape)
        except (TypeError, ValueError):
            raise ValueError(f'{owner}.sample: shape must be a sequence of '
                             f'ints such as (N, C, H, W), got {shape!r}.')
        if any(s < 0 for s in out):
            raise ValueError(f'{owner}.sample: shape {out} has a negative '
                             'size; pass non-negative sizes.')
        return out

    @staticmethod
    def _check_z(z: Tensor, owner: str) -> None:
        if not isinstance(z, Tensor) or not z.is_floating_point():
            got = z.dtype if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f'{owner}.log_prob: expected a floating-point '
                             f'tensor z of shape (N, ...), got {got}.')
        if z.dim() == 0:
            raise ValueError(f'{owner}.log_prob: z must have a batch '
                             'dimension (shape (N, ...)), got a scalar; '
                             'use z.reshape(1).')

    @staticmethod
    def _reduce_events(log_p: Tensor, elementwise: bool) -> Tensor:
        """Sum an element-wise log-density over every non-batch dimension."""
        if elementwise or log_p.dim() <= 1:
            return log_p
        return log_p.flatten(1).sum(dim=1)
