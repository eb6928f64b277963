# Copyright (c) invtoolbox contributors. All rights reserved.
"""Image helpers shared by datasets, models and metrics.

Conventions (the ones the rescaling literature evaluates with):

- invtoolbox reads images as **RGB**. BasicSR / IRN read them with OpenCV as
  BGR; ``bgr2ycbcr`` / ``rgb2ycbcr`` give the same Y for the same picture.
- numpy images are ``(H, W)`` or ``(H, W, C)``, uint8 in [0, 255] or float in
  [0, 1] (``img2tensor`` / ``tensor2img`` also take / give uint16 in
  [0, 65535]); tensors are ``(C, H, W)`` or ``(N, C, H, W)``, float in
  [0, 1].
- YCbCr is ITU-R BT.601 "studio swing" as in MATLAB's ``rgb2ycbcr``:
  Y in [16, 235], Cb/Cr in [16, 240] (in 8-bit units).
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import ShapeError

__all__ = [
    'modcrop', 'rgb2ycbcr', 'bgr2ycbcr', 'ycbcr2rgb', 'ycbcr2bgr',
    'img2tensor', 'tensor2img'
]

ImageType = Union[np.ndarray, torch.Tensor]

#: MATLAB ``rgb2ycbcr``: rows give Y, Cb, Cr (8-bit units) from RGB in [0, 1].
_RGB2YCBCR = np.array([[65.481, 128.553, 24.966],
                       [-37.797, -74.203, 112.0],
                       [112.0, -93.786, -18.214]], dtype=np.float64)
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float64)
_YCBCR2RGB = np.linalg.inv(_RGB2YCBCR)


def modcrop(img: ImageType, scale: int) -> ImageType:
    """Crop the bottom / right so that height and width are multiples of ``scale``.

    Keeps the top-left ``(H - H % scale) x (W - W % scale)`` region, like
    IRN's / BasicSR's ``modcrop`` and the ``GTmod`` benchmark files.

    Args:
        img (np.ndarray | torch.Tensor): numpy ``(H, W)`` / ``(H, W, C)`` or a
            tensor ``(..., H, W)``.
        scale (int): the rescaling factor.

    Returns:
        np.ndarray | torch.Tensor: a view of ``img``, same layout.
    """
    if int(scale) != scale or scale < 1:
        raise ValueError(f'modcrop: scale must be a positive integer, got '
                         f'{scale!r}')
    scale = int(scale)
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ShapeError('modcrop: numpy images must be (H, W) or '
                             f'(H, W, C), got shape {img.shape}')
        h, w = img.shape[:2]
        return img[:h - h % scale, :w - w % scale, ...]
    if isinstance(img, torch.Tensor):
        if img.dim() < 2:
            raise ShapeError('modcrop: tensors must be (..., H, W), got '
                             f'shape {tuple(img.shape)}')
        h, w = img.shape[-2:]
        return img[..., :h - h % scale, :w - w % scale]
    raise TypeError('modcrop: img must be a numpy array or a torch tensor, '
                    f'got {type(img).__name__}')


def _color_transform(img: ImageType, matrix: np.ndarray, name: str,
                     forward: bool) -> ImageType:
    """Apply a 3x3 colour transform with the YCbCr offset.

    ``forward=True``: ``out = (matrix @ rgb01 + offset) / 255``;
    ``forward=False``: ``out = matrix @ (ycc01 * 255 - offset)``.
    uint8 input is read as ``value / 255`` and the result is rounded back to
    uint8 (clipped to [0, 255]); float input gives float output in the same
    [0, 1] domain. numpy arrays carry channels last, tensors at dim ``-3``.
    """
    if isinstance(img, np.ndarray):
        if img.ndim != 3 or img.shape[2] != 3:
            raise ShapeError(f'{name}: expected an (H, W, 3) image, got shape '
                             f'{img.shape}')
        is_uint8 = img.dtype == np.uint8
        if not (is_uint8 or np.issubdtype(img.dtype, np.floating)):
            raise ValueError(f'{name}: expected uint8 or float input, got '
                             f'{img.dtype}')
        x = img.astype(np.float64)
        if is_uint8:
            x = x / 255.0
        if forward:
            out = (x @ matrix.T + _YCBCR_OFFSET) / 255.0
        else:
            out = (x * 255.0 - _YCBCR_OFFSET) @ matrix.T
        if is_uint8:
            return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
        return out.astype(img.dtype)
    if isinstance(img, torch.Tensor):
        if img.dim() < 3 or img.shape[-3] != 3:
            raise ShapeError(f'{name}: expected a (..., 3, H, W) tensor, got '
                             f'shape {tuple(img.shape)}')
        is_uint8 = img.dtype == torch.uint8
        if not (is_uint8 or img.is_floating_point()):
            raise ValueError(f'{name}: expected a uint8 or floating tensor, '
                             f'got {img.dtype}')
        work_dtype = img.dtype if img.dtype in (torch.float32,
                                                torch.float64) else torch.float32
        x = img.to(work_dtype)
        if is_uint8:
            x = x / 255.0
        m = torch.as_tensor(matrix, dtype=work_dtype, device=img.device)
        offset = torch.as_tensor(
            _YCBCR_OFFSET, dtype=work_dtype, device=img.device)[:, None, None]
        if forward:
            out = (torch.einsum('ij,...jhw->...ihw', m, x) + offset) / 255.0
        else:
            out = torch.einsum('ij,...jhw->...ihw', m, x * 255.0 - offset)
        if is_uint8:
            return (out * 255.0).round().clamp(0, 255).to(torch.uint8)
        return out.to(img.dtype)
    raise TypeError(f'{name}: img must be a numpy array or a torch tensor, '
                    f'got {type(img).__name__}')


def _flip_channels(img: ImageType) -> ImageType:
    """Reverse the channel order (RGB <-> BGR)."""
    if isinstance(img, np.ndarray):
        if img.ndim != 3:
            raise ShapeError('expected an (H, W, 3) image, got shape '
                             f'{img.shape}')
        return img[..., ::-1]
    if isinstance(img, torch.Tensor):
        if img.dim() < 3:
            raise ShapeError('expected a (..., 3, H, W) tensor, got shape '
                             f'{tuple(img.shape)}')
        return img.flip(-3)
    raise TypeError('img must be a numpy array or a torch tensor, got '
                    f'{type(img).__name__}')


def _select_y(ycc: ImageType) -> ImageType:
    if isinstance(ycc, np.ndarray):
        return ycc[..., 0]
    return ycc[..., 0:1, :, :]


def rgb2ycbcr(img: ImageType, y_only: bool = False) -> ImageType:
    """RGB -> YCbCr (BT.601 studio swing), same as MATLAB's ``rgb2ycbcr``.

    ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for R, G, B in [0, 1] (so Y
    is in [16, 235] in 8-bit units); Cb, Cr are in [16, 240].

    Args:
        img (np.ndarray | torch.Tensor): RGB image, numpy ``(H, W, 3)`` or a
            tensor ``(..., 3, H, W)``; uint8 in [0, 255] or float in [0, 1].
        y_only (bool): return only Y: numpy ``(H, W)``, tensor
            ``(..., 1, H, W)``. Default: False.

    Returns:
        np.ndarray | torch.Tensor: YCbCr (or Y) in the input's type: uint8
        input gives rounded uint8 (Y in [16, 235]); float input gives float
        in [0, 1] units (Y in [16/255, 235/255]), not rounded.
    """
    out = _color_transform(img, _RGB2YCBCR, 'rgb2ycbcr', forward=True)
    return _select_y(out) if y_only else out


def bgr2ycbcr(img: ImageType, y_only: bool = False) -> ImageType:
    """BGR -> YCbCr, for images read with OpenCV (BasicSR / IRN convention).

    ``bgr2ycbcr(img[..., ::-1])`` equals ``rgb2ycbcr(img)``. See
    :func:`rgb2ycbcr` for shapes, ranges and rounding.
    """
    return rgb2ycbcr(_flip_channels(img), y_only=y_only)


def ycbcr2rgb(img: ImageType) -> ImageType:
    """YCbCr (BT.601 studio swing) -> RGB, the inverse of :func:`rgb2ycbcr`.

    Args:
        img (np.ndarray | torch.Tensor): numpy ``(H, W, 3)`` or tensor
            ``(..., 3, H, W)``; uint8 in [0, 255] or float in [0, 1] units.

    Returns:
        np.ndarray | torch.Tensor: RGB in the input's type (uint8 rounded and
        clipped; float not clipped, so out-of-gamut values survive).
    """
    return _color_transform(img, _YCBCR2RGB, 'ycbcr2rgb', forward=False)


def ycbcr2bgr(img: ImageType) -> ImageType:
    """YCbCr -> BGR (OpenCV channel order); see :func:`ycbcr2rgb`."""
    return _flip_channels(ycbcr2rgb(img))


def img2tensor(imgs: np.ndarray | Sequence[np.ndarray],
               bgr2rgb: bool = False,
               float32: bool = True) -> torch.Tensor | list:
    """numpy image(s) ``(H, W[, C])`` -> tensor(s) ``(C, H, W)``.

    uint8 images are scaled to float [0, 1] (``value / 255``), uint16 images
    by ``value / 65535``; float images are taken as already in [0, 1] and not
    rescaled. Unlike BasicSR, whose
    loaders read BGR with OpenCV, invtoolbox images are RGB, so the channel
    order is kept unless ``bgr2rgb=True``.

    Args:
        imgs (np.ndarray | list[np.ndarray]): ``(H, W)`` or ``(H, W, C)``.
        bgr2rgb (bool): reverse the channel order of 3-channel images.
        float32 (bool): return float32 (else keep float64 / float16 input
            dtype; uint8 and uint16 always become float32).

    Returns:
        torch.Tensor | list[torch.Tensor]: ``(C, H, W)`` tensor(s), a list
        when a list was given.
    """
    if isinstance(imgs, (list, tuple)):
        return [img2tensor(img, bgr2rgb, float32) for img in imgs]
    if not isinstance(imgs, np.ndarray):
        raise TypeError('img2tensor: expected a numpy array or a list of '
                        f'them, got {type(imgs).__name__}')
    img = imgs
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3:
        raise ShapeError('img2tensor: expected an (H, W) or (H, W, C) image, '
                         f'got shape {imgs.shape}')
    if bgr2rgb and img.shape[2] == 3:
        img = img[:, :, ::-1]
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    elif img.dtype == np.uint16:
        img = img.astype(np.float32) / np.float32(65535.0)
    elif not np.issubdtype(img.dtype, np.floating):
        raise ValueError(f'img2tensor: expected uint8, uint16 or float '
                         f'images, got {img.dtype}')
    elif float32:
        img = img.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def tensor2img(tensor: torch.Tensor | Sequence[torch.Tensor],
               rgb2bgr: bool = False,
               out_type: type = np.uint8,
               min_max: Tuple[float, float] = (0, 1)):
    """Tensor(s) -> numpy image(s) ``(H, W, C)``, the 8-bit conversion of the SR literature.

    The tensor is clamped to ``min_max``, mapped to [0, 1] and, for
    ``out_type=np.uint8``, converted with ``(x * 255).round()`` computed in
    float32, exactly as BasicSR's / IRN's ``tensor2img``: every PSNR/SSIM in
    those papers is measured on these 8-bit images. ``out_type=np.uint16``
    gives ``(x * 65535).round()`` (for 16-bit PNG / TIFF files).

    Args:
        tensor (torch.Tensor | list[torch.Tensor]): ``(H, W)``,
            ``(C, H, W)`` or ``(N, C, H, W)``; any device, any float dtype.
        rgb2bgr (bool): reverse the channel order of 3-channel images (for
            writing with OpenCV). Default: False (invtoolbox is RGB).
        out_type (type): ``np.uint8`` (rounded, [0, 255]), ``np.uint16``
            (rounded, [0, 65535]) or a float type (values in [0, 1], not
            rounded).
        min_max (tuple[float, float]): the value range of the tensor.

    Returns:
        np.ndarray | list[np.ndarray]: ``(H, W, C)`` images (``(H, W)`` for a
        single channel); a list when a list or a batch with ``N > 1`` was
        given.
    """
    if isinstance(tensor, (list, tuple)):
        return [tensor2img(t, rgb2bgr, out_type, min_max) for t in tensor]
    if not isinstance(tensor, torch.Tensor):
        raise TypeError('tensor2img: expected a tensor or a list of tensors, '
                        f'got {type(tensor).__name__}')
    if tensor.dim() == 4:
        if tensor.shape[0] != 1:
            return [
                tensor2img(t, rgb2bgr, out_type, min_max) for t in tensor
            ]
        tensor = tensor[0]
    if tensor.dim() == 2:
        tensor = tensor[None]
    if tensor.dim() != 3:
        raise ShapeError('tensor2img: expected an (H, W), (C, H, W) or '
                         f'(N, C, H, W) tensor, got shape '
                         f'{tuple(tensor.shape)}')
    if np.dtype(out_type) not in (np.uint8, np.uint16) and \
            not np.issubdtype(np.dtype(out_type), np.floating):
        raise ValueError('tensor2img: out_type must be np.uint8, np.uint16 '
                         f'or a float type, got {np.dtype(out_type)}')
    low, high = min_max
    x = tensor.detach().float().cpu().clamp(low, high)
    x = (x - low) / (high - low)
    img = x.numpy().transpose(1, 2, 0)
    if rgb2bgr and img.shape[2] == 3:
        img = img[:, :, ::-1]
    if np.dtype(out_type) == np.uint8:
        img = (img * np.float32(255.0)).round()
    elif np.dtype(out_type) == np.uint16:
        img = (img * np.float32(65535.0)).round()
    img = np.ascontiguousarray(img.astype(out_type))
    if img.shape[2] == 1:
        img = img[:, :, 0]
    return img
