# Copyright (c) invtoolbox contributors. All rights reserved.
"""Reduction helpers shared by the losses."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

__all__ = [
    'REDUCTIONS', 'check_reduction', 'check_pair', 'check_weight',
    'reduce_loss', 'weighted_reduce_loss'
]

#: ``'mean'``: mean over every element; ``'sum'``: sum over every element;
#: ``'batch_sum'``: sum over the non-batch dimensions, then mean over the
#: batch (the official IRN/SAIN/IICNet ``ReconstructionLoss``); ``'none'``:
#: element-wise.
REDUCTIONS = ('mean', 'sum', 'batch_sum', 'none')


def check_reduction(reduction: str, owner: str) -> str:
    """Return ``reduction`` or raise a one-line ``ValueError``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'{owner}: unknown reduction {reduction!r}; use one '
                         f'of {REDUCTIONS}.')
    return reduction


def check_pair(pred: Tensor, target: Tensor, owner: str) -> None:
    """Require two tensors of identical shape (no silent broadcasting)."""
    for name, t in (('pred', pred), ('target', target)):
        if not isinstance(t, Tensor):
            raise ValueError(f'{owner}: {name} must be a tensor, got '
                             f'{type(t).__name__}.')
    if pred.shape != target.shape:
        raise ValueError(f'{owner}: pred shape {tuple(pred.shape)} does not '
                         f'match target shape {tuple(target.shape)}; pass '
                         'tensors of the same shape.')
    if pred.dim() == 0:
        raise ValueError(f'{owner}: expected tensors with a batch dimension '
                         '(N, ...), got scalars.')


def check_weight(weight: Optional[Tensor], pred: Tensor, owner: str) -> None:
    """``weight`` must have ``pred.dim()`` dims and broadcast to ``pred``."""
    if weight is None:
        return
    if not isinstance(weight, Tensor):
        raise ValueError(f'{owner}: weight must be a tensor or None, got '
                         f'{type(weight).__name__}.')
    ok = weight.dim() == pred.dim()
    if ok:
        try:
            ok = torch.broadcast_shapes(weight.shape, pred.shape) == pred.shape
        except RuntimeError:
            ok = False
    if not ok:
        raise ValueError(f'{owner}: weight shape {tuple(weight.shape)} does '
                         f'not broadcast to pred shape {tuple(pred.shape)}; '
                         'use e.g. (N, 1, H, W) or (N, C, H, W).')


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Reduce an element-wise loss ``(N, ...)`` (see :data:`REDUCTIONS`)."""
    if reduction == 'none':
        return loss
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'batch_sum':
        return loss.reshape(loss.shape[0], -1).sum(dim=1).mean()
    raise ValueError(f'unknown reduction {reduction!r}; use one of '
                     f'{REDUCTIONS}.')


def weighted_reduce_loss(loss: Tensor,
                         weight: Optional[Tensor] = None,
                         reduction: str = 'mean',
                         eps: float = 1e-12) -> Tensor:
    """Apply an element-wise ``weight`` map, then reduce.

    With a weight, ``'mean'`` is the weighted mean
    ``sum(loss * w) / sum(w)`` where ``w`` is broadcast to the loss's shape
    (BasicSR / MMagic convention); the other reductions act on
    ``loss * w``.
    """
    if weight is None:
        return reduce_loss(loss, reduction)
    loss = loss * weight
    if reduction == 'mean':
        return loss.sum() / (weight.expand_as(loss).sum() + eps)
    return reduce_loss(loss, reduction)
