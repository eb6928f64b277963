# Copyright (c) invtoolbox contributors. All rights reserved.
"""Pixel-wise losses: L1, MSE and Charbonnier (the official IRN/SAIN "l1")."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from ...registry import LOSSES
from .utils import (check_pair, check_reduction, check_weight,
                    weighted_reduce_loss)

__all__ = ['L1Loss', 'MSELoss', 'CharbonnierLoss']


class _PixelLoss(nn.Module):
    """Shared argument handling of the pixel-wise losses.

    Args:
        loss_weight (float): multiplies the loss. Default: 1.0.
        reduction (str): ``'mean'`` (over all elements), ``'sum'``,
            ``'batch_sum'`` (sum over C, H, W then mean over the batch: the
            official IRN/SAIN/IICNet ``ReconstructionLoss``) or ``'none'``.
            Default: ``'mean'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.reduction = check_reduction(reduction, type(self).__name__)

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): ``(N, C, H, W)`` (any ``(N, ...)`` shape works).
            target (Tensor): same shape as ``pred``.
            weight (Tensor, optional): element-wise weight map with the same
                number of dims, broadcastable to ``pred`` (e.g.
                ``(N, 1, H, W)``). With ``reduction='mean'`` the result is
                the weighted mean ``sum(w * l) / sum(w)``.

        Returns:
            Tensor: a scalar, or ``pred``'s shape for ``reduction='none'``.
        """
        name = type(self).__name__
        check_pair(pred, target, name)
        check_weight(weight, pred, name)
        loss = self.elementwise(pred, target)
        return self.loss_weight * weighted_reduce_loss(loss, weight,
                                                       self.reduction)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f"reduction='{self.reduction}'")


@LOSSES.register_module()
class L1Loss(_PixelLoss):
    """``|pred - target|`` (MMagic/BasicSR ``L1Loss``).

    Note that the official IRN/SAIN "l1" is the Charbonnier loss
    (:class:`CharbonnierLoss` with ``reduction='batch_sum'``), not this.

    Args:
        loss_weight (float): multiplies the loss. Default: 1.0.
        reduction (str): ``'mean' | 'sum' | 'batch_sum' | 'none'``.
            Default: ``'mean'`` (= ``F.l1_loss``, Invertible-ISP's loss).
    """

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs()


@LOSSES.register_module()
class MSELoss(_PixelLoss):
    """``(pred - target) ** 2``.

    ``MSELoss(reduction='batch_sum')`` is the official IRN/SAIN/IICNet "l2":
    ``mean_N(sum_CHW (pred - target) ** 2)``.

    Args:
        loss_weight (float): multiplies the loss. Default: 1.0.
        reduction (str): ``'mean' | 'sum' | 'batch_sum' | 'none'``.
            Default: ``'mean'``.
    """

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).square()


@LOSSES.register_module()
class CharbonnierLoss(_PixelLoss):
    """Charbonnier loss ``sqrt((pred - target) ** 2 + eps)``.

    ``CharbonnierLoss(reduction='batch_sum')`` is the official IRN/SAIN/
    IICNet "l1": ``mean_N(sum_CHW sqrt(diff ** 2 + 1e-6))``. ``eps`` is added
    under the square root (not squared), as in the official code.

    Args:
        eps (float): added to ``diff ** 2`` under the square root.
            Default: 1e-6 (official).
        loss_weight (float): multiplies the loss. Default: 1.0.
        reduction (str): ``'mean' | 'sum' | 'batch_sum' | 'none'``.
            Default: ``'mean'``.
    """

    def __init__(self,
                 eps: float = 1e-6,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__(loss_weight=loss_weight, reduction=reduction)
        if not eps > 0:
            raise ValueError(f'CharbonnierLoss: eps must be > 0 (it keeps '
                             f'the gradient finite at 0), got {eps!r}.')
        self.eps = float(eps)

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        diff = pred - target
        return torch.sqrt(diff * diff + self.eps)

    def extra_repr(self) -> str:
        return f'eps={self.eps}, ' + super().extra_repr()
