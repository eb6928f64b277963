# Copyright (c) invtoolbox contributors. All rights reserved.
"""Distribution-matching loss on the forward latent (IRN's "CE" term)."""
from __future__ import annotations

from typing import Union

from torch import Tensor, nn

from ...registry import LATENTS, LOSSES
from ..latents.base_latent import BaseLatent

__all__ = ['LatentNLLLoss']

_MODES = ('surrogate', 'nll')
_REDUCTIONS = ('mean', 'sum', 'none')


@LOSSES.register_module()
class LatentNLLLoss(nn.Module):
    """Push the latent ``z`` produced by the forward pass towards a prior.

    - ``mode='surrogate'`` (IRN, ``lambda_ce_forw``): the latent model's
      ``surrogate_loss``; for :class:`StandardGaussian` that is the official
      ``sum(z ** 2) / N``, i.e. the NLL without its constants and factor 1/2.
    - ``mode='nll'``: the true negative log-likelihood ``-log p(z)`` per
      sample (nats, or bits per dimension with ``bits_per_dim=True``), which
      also works with a learnable :class:`GaussianMixture` (its parameters
      then receive gradients from this loss; SAIN itself has no such term).

    Args:
        latent (dict | BaseLatent): the prior, a ``LATENTS`` config dict or a
            built latent model (pass the model's own latent to share its
            parameters). Default: ``dict(type='StandardGaussian')``.
        mode (str): ``'surrogate'`` or ``'nll'``. Default: ``'surrogate'``.
        loss_weight (float): multiplies the loss. Default: 1.0.
        reduction (str): how the per-sample values ``(N,)`` are combined:
            ``'mean'`` over the batch (official), ``'sum'`` or ``'none'``.
            Default: ``'mean'``.
        bits_per_dim (bool): ``mode='nll'`` only: report bits per latent
            element. Default: False.

    Shapes:
        ``z``: ``(N, ...)``; output: scalar, or ``(N,)`` with
        ``reduction='none'``.
    """

    def __init__(self,
                 latent: Union[dict,
                               BaseLatent] = dict(type='StandardGaussian'),
                 mode: str = 'surrogate',
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 bits_per_dim: bool = False) -> None:
        super().__init__()
        if mode not in _MODES:
            raise ValueError(f'LatentNLLLoss: unknown mode {mode!r}; use '
                             f'one of {_MODES}.')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'LatentNLLLoss: unknown reduction '
                             f'{reduction!r}; use one of {_REDUCTIONS}.')
        if isinstance(latent, dict):
            latent = LATENTS.build(latent)
        if not isinstance(latent, BaseLatent):
            raise ValueError('LatentNLLLoss: latent must be a LATENTS config '
                             'dict or a BaseLatent module, got '
                             f'{type(latent).__name__}.')
        if mode == 'surrogate' and not hasattr(latent, 'surrogate_loss'):
            raise ValueError(f"LatentNLLLoss: {type(latent).__name__} has no "
                             "surrogate loss; use mode='nll'.")
        if bits_per_dim and mode != 'nll':
            raise ValueError("LatentNLLLoss: bits_per_dim=True needs "
                             "mode='nll'.")
        self.latent = latent
        self.mode = mode
        self.loss_weight = float(loss_weight)
        self.reduction = reduction
        self.bits_per_dim = bool(bits_per_dim)

    def forward(self, z: Tensor) -> Tensor:
        """Compute the loss on the latent ``z`` of shape ``(N, ...)``."""
        if self.mode == 'surrogate':
            loss = self.latent.surrogate_loss(z, reduction=self.reduction)
        else:
            loss = self.latent.nll(
                z, reduction=self.reduction, bits_per_dim=self.bits_per_dim)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f"mode='{self.mode}', loss_weight={self.loss_weight}, "
                f"reduction='{self.reduction}', "
                f'bits_per_dim={self.bits_per_dim}')
