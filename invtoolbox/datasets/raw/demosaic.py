# Copyright (c) invtoolbox contributors. All rights reserved.
"""Bilinear demosaicing as Invertible-ISP's data preparation, and its
inverse on the measured sites.

The official ``data/data_preprocess.py`` calls
``colour_demosaicing.demosaicing_CFA_Bayer_bilinear`` (colour-demosaicing
0.1.6): each colour plane is the mosaic times that colour's 0/1 mask,
convolved (``scipy.ndimage.convolve``) with

- green: ``[[0, 1, 0], [1, 4, 1], [0, 1, 0]] / 4``,
- red and blue: ``[[1, 2, 1], [2, 4, 2], [1, 2, 1]] / 4``.

The official README (known issue, 10/2021) says that ``mode='constant'``
must be added to those ``convolve`` calls: scipy's default ``'reflect'``
border mirrors the mosaic so that a site of another colour takes a red or
blue value, and border pixels leave the sensor range. This module
implements the patched version: zero padding outside the image (scipy
``mode='constant', cval=0``), so border pixels average over fewer
neighbours (they come out darker, never out of range).

Every measured sample is kept exactly at its own site (the kernel centre is
1 and no other site of the same colour lies in the 3x3 window), so
``mosaic(bilinear_demosaic(b, cfa), cfa) == b``.

The official script always passes ``'RGGB'`` (its command-line default);
here the pattern comes from the file (:func:`read_raw`), never assumed.

Both functions run on torch (``conv2d``), on numpy arrays or on batched
tensors.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch
import torch.nn.functional as F

from .metadata import CFA_PATTERNS

ArrayLike = Union[np.ndarray, torch.Tensor]

_KERNEL_G = torch.tensor([[0., 1., 0.], [1., 4., 1.], [0., 1., 0.]]) / 4
_KERNEL_RB = torch.tensor([[1., 2., 1.], [2., 4., 2.], [1., 2., 1.]]) / 4


def _check_cfa(cfa: str) -> str:
    if cfa not in CFA_PATTERNS:
        raise ValueError(f'cfa must be one of {CFA_PATTERNS}, got {cfa!r}')
    return cfa


def cfa_masks(height: int, width: int, cfa: str,
              device=None) -> torch.Tensor:
    """0/1 masks of the R, G, B sites.

    Returns:
        torch.Tensor: ``(3, H, W)`` float32; ``masks[c, y, x] == 1`` where
        site ``(y, x)`` measures channel ``c`` (R, G, B).
    """
    _check_cfa(cfa)
    masks = torch.zeros(3, height, width, device=device)
    for letter, (dy, dx) in zip(cfa, ((0, 0), (0, 1), (1, 0), (1, 1))):
        masks['RGB'.index(letter), dy::2, dx::2] = 1
    return masks


def _as_tensor(x: ArrayLike, name: str, min_dim: int):
    is_numpy = isinstance(x, np.ndarray)
    if not is_numpy and not isinstance(x, torch.Tensor):
        raise TypeError(f'{name}: expected a numpy array or a torch tensor, '
                        f'got {type(x).__name__}')
    tensor = torch.from_numpy(np.ascontiguousarray(x)) if is_numpy else x
    if tensor.dim() < min_dim:
        raise ValueError(f'{name}: expected at least {min_dim} dimensions, '
                         f'got shape {tuple(tensor.shape)}')
    return tensor, is_numpy


def bilinear_demosaic(bayer: ArrayLike, cfa: str) -> ArrayLike:
    """Bilinear demosaic of a Bayer mosaic (official Invertible-ISP input).

    Args:
        bayer: ``(H, W)`` or ``(..., H, W)`` mosaic (numpy or torch, any
            real dtype; sensor units, not normalised). H and W even.
        cfa (str): the 2x2 layout, one of :data:`CFA_PATTERNS`.

    Returns:
        ``(..., 3, H, W)`` float32 RGB in the mosaic's units (numpy in,
        numpy out; torch in, torch out on the same device). Interior values
        are the colour-demosaicing 0.1.6 bilinear values with the README's
        ``'constant'`` border patch; each measured sample is kept exactly.

    Raises:
        ValueError: a bad ``cfa``, fewer than 2 dimensions, an odd side.
    """
    _check_cfa(cfa)
    tensor, is_numpy = _as_tensor(bayer, 'bilinear_demosaic', 2)
    *lead, height, width = tensor.shape
    if height % 2 or width % 2:
        raise ValueError(f'bilinear_demosaic: the mosaic is {height}x{width}'
                         ' (HxW); a Bayer mosaic needs even sides')
    flat = tensor.reshape(-1, 1, height, width).to(torch.float32)
    masks = cfa_masks(height, width, cfa, device=flat.device)
    planes = flat * masks  # (N, 3, H, W)
    kernels = torch.stack([_KERNEL_RB, _KERNEL_G, _KERNEL_RB])[:, None]
    out = F.conv2d(planes, kernels.to(flat.device), padding=1, groups=3)
    out = out.reshape(*lead, 3, height, width)
    return out.numpy() if is_numpy else out


def mosaic(rgb: ArrayLike, cfa: str) -> ArrayLike:
    """Sample each site's own channel: the inverse of
    :func:`bilinear_demosaic` on the measured sites.

    Args:
        rgb: ``(..., 3, H, W)`` image (numpy or torch), H and W even.
        cfa (str): the 2x2 layout, one of :data:`CFA_PATTERNS`.

    Returns:
        ``(..., H, W)`` mosaic of the same dtype and kind as ``rgb``.

    Raises:
        ValueError: a bad ``cfa``, not 3 channels, an odd side.
    """
    _check_cfa(cfa)
    tensor, is_numpy = _as_tensor(rgb, 'mosaic', 3)
    *lead, channels, height, width = tensor.shape
    if channels != 3 or height % 2 or width % 2:
        raise ValueError(
            f'mosaic: expected (..., 3, H, W) with even H and W, got shape '
            f'{tuple(tensor.shape)}')
    out = torch.empty(*lead, height, width, dtype=tensor.dtype,
                      device=tensor.device)
    for letter, (dy, dx) in zip(cfa, ((0, 0), (0, 1), (1, 0), (1, 1))):
        out[..., dy::2, dx::2] = tensor[..., 'RGB'.index(letter), dy::2,
                                        dx::2]
    return out.numpy() if is_numpy else out
