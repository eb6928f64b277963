# Copyright (c) invtoolbox contributors. All rights reserved.
"""Differentiable MS-SSIM distortion (the MS-SSIM models of learned codecs)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import LOSSES

__all__ = ['MSSSIMLoss', 'ms_ssim_torch']

_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_1d(size: int, sigma: float, like: Tensor) -> Tensor:
    coords = torch.arange(size, dtype=like.dtype, device=like.device)
    coords = coords - size // 2
    g = torch.exp(-coords**2 / (2 * sigma**2))
    return g / g.sum()


def _blur(x: Tensor, g: Tensor) -> Tensor:
    """'Valid' separable Gaussian filter of every channel."""
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_terms(x: Tensor, y: Tensor, g: Tensor, data_range: float):
    c1 = (0.01 * data_range)**2
    c2 = (0.03 * data_range)**2
    mu_x, mu_y = _blur(x, g), _blur(y, g)
    sxx = _blur(x * x, g) - mu_x**2
    syy = _blur(y * y, g) - mu_y**2
    sxy = _blur(x * y, g) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs
    return ssim.flatten(2).mean(-1), cs.flatten(2).mean(-1)


def ms_ssim_torch(x: Tensor, y: Tensor, data_range: float = 1.0,
                  weights: Sequence[float] = _WEIGHTS, win_size: int = 11,
                  sigma: float = 1.5) -> Tensor:
    """MS-SSIM of ``(N, C, H, W)`` tensors, averaged over N and C.

    The pytorch_msssim formulation that the official InvCompress training
    uses: 11x11 sigma-1.5 Gaussian window ('valid'), 2x2 average pooling
    between the scales (padding odd sizes), contrast-structure terms
    clipped at 0 (ReLU), ``prod(cs_1..cs_{L-1}, ssim_L) ** weights``. The
    same definition as :func:`invtoolbox.evaluation.functional.ms_ssim`
    (which works on 8-bit numpy images), differentiable.
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f'ms_ssim_torch: expected two (N, C, H, W) tensors '
                         f'of one shape, got {tuple(x.shape)} and '
                         f'{tuple(y.shape)}.')
    levels = len(weights)
    min_size = (win_size - 1) * 2**(levels - 1)
    if min(x.shape[-2:]) <= min_size:
        raise ValueError(
            f'ms_ssim_torch: the smaller image side must exceed {min_size} '
            f'for {levels} scales, got {tuple(x.shape[-2:])}; train on '
            'larger crops or use the MSE objective.')
    g = _gaussian_1d(win_size, sigma, x)
    w = torch.tensor(list(weights), dtype=x.dtype, device=x.device)
    factors = []
    for level in range(levels):
        ssim, cs = _ssim_terms(x, y, g, data_range)
        if level < levels - 1:
            factors.append(torch.relu(cs))
            pad = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, 2, padding=pad)
            y = F.avg_pool2d(y, 2, padding=pad)
    factors.append(torch.relu(ssim))
    stacked = torch.stack(factors, dim=0)          # (L, N, C)
    value = torch.prod(stacked**w.view(-1, 1, 1), dim=0)
    return value.mean()


@LOSSES.register_module()
class MSSSIMLoss(nn.Module):
    """``loss_weight * (1 - MS-SSIM(pred, target))`` for images in
    ``[0, data_range]`` (the official MS-SSIM rate-distortion term)."""

    def __init__(self, loss_weight: float = 1.0,
                 data_range: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.data_range = float(data_range)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.loss_weight * (
            1 - ms_ssim_torch(pred, target, self.data_range))
