# Copyright (c) invtoolbox contributors. All rights reserved.
"""Fourier-domain loss (IICNet's ``FrequencyLoss``)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ...registry import LOSSES
from .utils import check_pair, check_reduction, reduce_loss

__all__ = ['FrequencyLoss']


@LOSSES.register_module()
class FrequencyLoss(nn.Module):
    """Squared error between the 2-D Fourier spectra of two images.

    The official IICNet loss (``codes/models/modules/loss.py``, weight
    ``lambda_embedding_frame_freq = 0.001``), rebuilt on ``torch.fft``:

    - each channel's ``(H, W)`` plane goes through a **one-sided,
      unnormalised** real FFT, ``torch.fft.rfft2(x, norm='backward')`` (the
      removed ``torch.rfft(x, 2, normalized=False, onesided=True)`` of the
      official code), giving ``W // 2 + 1`` frequency columns;
    - the **complex values** are compared (real and imaginary parts, not
      magnitudes): the element-wise loss is
      ``(Re X - Re Y) ** 2 + (Im X - Im Y) ** 2 = |X - Y| ** 2``;
    - the official reduction is ``'batch_sum'``: sum over C, H and the
      one-sided W, then mean over the batch.

    Because only the one-sided half of the spectrum is summed, the value is
    not Parseval-scaled (it is not a multiple of the pixel-domain squared
    error); this follows the official definition on purpose.

    Args:
        loss_weight (float): multiplies the loss (IICNet uses 0.001).
            Default: 1.0.
        reduction (str): ``'batch_sum'`` (official), ``'mean'`` (over every
            spectral element), ``'sum'`` or ``'none'`` (element-wise
            ``|X - Y| ** 2`` of shape ``(N, C, H, W // 2 + 1)``).
            Default: ``'batch_sum'``.
        norm (str): the FFT normalisation, ``'backward'`` (official IICNet:
            unnormalised, values grow with ``H * W``) or ``'ortho'``
            (divided by ``sqrt(H * W)``: a ``'mean'`` loss is then on the
            scale of the pixel-domain squared error whatever the image
            size; used by the novel-view model, whose official FFT loss was
            not released). Default: ``'backward'``.

    Shapes:
        ``pred``, ``target``: ``(N, C, H, W)`` float, same shape.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'batch_sum',
                 norm: str = 'backward') -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.reduction = check_reduction(reduction, 'FrequencyLoss')
        if norm not in ('backward', 'ortho'):
            raise ValueError("FrequencyLoss: norm must be 'backward' or "
                             f"'ortho', got {norm!r}.")
        self.norm = norm

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Compute the loss (see the class docstring)."""
        check_pair(pred, target, 'FrequencyLoss')
        if pred.dim() != 4:
            raise ValueError('FrequencyLoss: expected (N, C, H, W) tensors, '
                             f'got shape {tuple(pred.shape)}.')
        if pred.dtype in (torch.float16, torch.bfloat16):
            # FFTs of half tensors are limited (powers of two, CUDA only).
            pred, target = pred.float(), target.float()
        # Two transforms, then the difference, as the official code does
        # (rfft2 of the difference is equal up to float32 rounding).
        diff = (
            torch.view_as_real(torch.fft.rfft2(pred, norm=self.norm)) -
            torch.view_as_real(torch.fft.rfft2(target, norm=self.norm)))
        loss = diff.square().sum(dim=-1)
        return self.loss_weight * reduce_loss(loss, self.reduction)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f"reduction='{self.reduction}', norm='{self.norm}'")
