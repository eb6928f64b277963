# Copyright (c) invtoolbox contributors. All rights reserved.
"""Rate term of learned compression: bits per pixel from likelihoods."""
from __future__ import annotations

import math
from typing import Mapping, Sequence, Union

import torch
from torch import Tensor, nn

from ...registry import LOSSES

__all__ = ['RateLoss']

Likelihoods = Union[Tensor, Mapping[str, Tensor], Sequence[Tensor]]


@LOSSES.register_module()
class RateLoss(nn.Module):
    """Estimated bits per pixel, ``sum(-log2 p) / (N * H * W)``.

    The CompressAI convention used by InvCompress: the likelihoods of every
    entropy-coded tensor (e.g. ``{'y': ..., 'z': ...}``) are turned into
    bits and divided by the number of image pixels of the whole batch, so the
    result is the batch-average bpp. Likelihoods are used as given (entropy
    models already bound them away from 0, e.g. CompressAI's 1e-9).

    Args:
        loss_weight (float): multiplies the bpp. Default: 1.0.
        reduction (str): ``'mean'`` (bits of the batch / pixels of the batch)
            or ``'none'`` (bpp of each image, shape ``(N,)``).
            Default: ``'mean'``.

    Call:
        ``loss(likelihoods, pixels)`` with ``likelihoods`` a tensor, a dict
        (its values are used) or a list/tuple of tensors, each
        ``(N, ...)`` with values in ``(0, 1]``; ``pixels`` the image tensor
        ``(N, C, H, W)`` (``N * H * W`` pixels are counted) or an int, the
        total pixel count ``N * H * W`` of the batch (CompressAI's
        ``num_pixels``).
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in ('mean', 'none'):
            raise ValueError(f'RateLoss: unknown reduction {reduction!r}; '
                             "use 'mean' or 'none'.")
        self.loss_weight = float(loss_weight)
        self.reduction = reduction

    @staticmethod
    def _as_list(likelihoods: Likelihoods) -> list:
        if isinstance(likelihoods, Tensor):
            items = [likelihoods]
        elif isinstance(likelihoods, Mapping):
            items = list(likelihoods.values())
        elif isinstance(likelihoods, (list, tuple)):
            items = list(likelihoods)
        else:
            items = None
        if not items or not all(isinstance(t, Tensor) for t in items):
            raise ValueError('RateLoss: likelihoods must be a tensor or a '
                             'non-empty dict/list of tensors, got '
                             f'{type(likelihoods).__name__}.')
        batch = {t.shape[0] if t.dim() else None for t in items}
        if len(batch) != 1 or None in batch:
            raise ValueError('RateLoss: every likelihood tensor needs the '
                             'same batch size N as its first dim, got '
                             f'shapes {[tuple(t.shape) for t in items]}.')
        return items

    def forward(self, likelihoods: Likelihoods, pixels: Union[Tensor,
                                                              int]) -> Tensor:
        """Return the bpp (see the class docstring)."""
        items = self._as_list(likelihoods)
        batch = items[0].shape[0]
        if isinstance(pixels, Tensor):
            if pixels.dim() < 3 or pixels.shape[0] != batch:
                raise ValueError('RateLoss: the image must be (N, C, H, W) '
                                 f'with N = {batch}, got shape '
                                 f'{tuple(pixels.shape)}.')
            num_pixels = batch * pixels.shape[-2] * pixels.shape[-1]
        elif isinstance(pixels, int) and not isinstance(pixels, bool) \
                and pixels > 0:
            num_pixels = pixels
        else:
            raise ValueError('RateLoss: pixels must be the image tensor '
                             '(N, C, H, W) or the positive pixel count '
                             f'N * H * W, got {pixels!r}.')
        bits = sum(torch.log(t).reshape(batch, -1).sum(dim=1)
                   for t in items) / (-math.log(2.0))
        if self.reduction == 'mean':
            bpp = bits.sum() / num_pixels
        else:
            bpp = bits / (num_pixels / batch)
        return self.loss_weight * bpp

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f"reduction='{self.reduction}'")
