# Copyright (c) invtoolbox contributors. All rights reserved.
"""Image-quality metrics with the conventions of the image-rescaling literature.

Inputs and conventions shared by every function here:

- **numpy** arrays are images with values in ``[0, max_value]`` (default
  ``max_value=255``): integer (``uint8``, ``uint16``, ...) or float,
  ``(H, W)``, ``(H, W, C)`` or, with ``input_order='CHW'``, ``(C, H, W)``.
  They are used as given (no rounding, whatever ``quantize`` says); an
  integer image holding a value above ``max_value`` is an error.
- **torch** tensors are ``(C, H, W)`` or ``(N, C, H, W)`` floats in
  ``[0, 1]`` (``input_order`` does not apply). With ``quantize=True`` (the
  default) they are first converted to integer images in
  ``[0, max_value]``: clamp to [0, 1], ``round(x * max_value)`` in float32.
  With the default ``max_value=255`` this is
  :func:`invtoolbox.utils.tensor2img`, exactly as IRN / SAIN / BasicSR
  evaluate (the reported numbers of those papers are measured on the saved
  8-bit images); ``max_value=65535`` measures the 16-bit image a 16-bit PNG
  would store. With ``quantize=False`` the tensors are measured as they are
  (float64, not clamped) with peak ``max_value`` (default 1.0): RAW PSNR on
  float [0, 1] data, for instance. A batch of ``N`` images gives the mean of
  the ``N`` per-image values.
- ``crop_border=s`` drops ``s`` pixels on every side before measuring
  (rescaling papers use ``s = scale``).
- ``test_y_channel=True`` measures on the BT.601 luma
  ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` (R, G, B in
  [0, 255]), i.e. MATLAB's ``rgb2ycbcr``, kept in float (the Y computed from
  the 8-bit RGB image is not rounded again), as IRN's ``test.py`` and
  BasicSR's ``to_y_channel`` do; at another ``max_value`` the same formula
  is applied in those units. invtoolbox images are **RGB**; BasicSR and
  IRN read BGR with OpenCV and call ``bgr2ycbcr``: the Y is the same.
- Data in another range (e.g. [-1, 1] after a ``DataPreprocessor`` with
  ``mean=0.5, std=0.5``) must be mapped back to [0, 1] first
  (``DataPreprocessor.destruct``).
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch

from ..errors import ShapeError
from ..utils.image import rgb2ycbcr, tensor2img

__all__ = ['psnr', 'ssim', 'ms_ssim', 'mae', 'MS_SSIM_WEIGHTS']

#: Wang, Simoncelli & Bovik (2003) weights of the 5 scales of MS-SSIM.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

#: SSIM window: 11 x 11 Gaussian, sigma 1.5 (Wang et al. 2004, MATLAB ssim.m).
SSIM_WINDOW_SIZE = 11
SSIM_SIGMA = 1.5


def check_metric_options(max_value, quantize, owner: str) -> None:
    """Validate the ``max_value`` / ``quantize`` options of a metric.

    Shared by the functions here and the metric classes, so that a config
    with a bad value stops with the same one-line message.

    Raises:
        ValueError: ``quantize`` is not a bool, or ``max_value`` is not
            ``None`` or a positive finite number.
    """
    if not isinstance(quantize, (bool, np.bool_)):
        raise ValueError(f'{owner}: quantize must be True or False, got '
                         f'{quantize!r}')
    if max_value is None:
        return
    if isinstance(max_value, (bool, np.bool_)) or not isinstance(
            max_value, (int, float, np.integer, np.floating)) or \
            not math.isfinite(max_value) or max_value <= 0:
        raise ValueError(f'{owner}: max_value must be a positive number (the '
                         f'peak value), got {max_value!r}')


def check_quantize_peak(max_value, owner: str) -> None:
    """With ``quantize=True``, ``max_value`` must be an integer scale >= 2."""
    if max_value is not None and (max_value != int(max_value)
                                  or max_value < 2):
        raise ValueError(
            f'{owner}: quantize=True rounds float tensors to integers in '
            f'[0, max_value], so max_value must be an integer >= 2 (255 for '
            f'8 bits, 65535 for 16 bits), got {max_value!r}; pass '
            'quantize=False to measure float tensors as they are')


def _quantize(img: torch.Tensor, peak: float) -> List[np.ndarray]:
    """Float tensor in [0, 1] -> integer-valued float64 ``(H, W, C)`` images."""
    if peak == 255:  # exactly IRN's / BasicSR's tensor2img
        images = tensor2img(img)
        images = images if isinstance(images, list) else [images]
        return [im.astype(np.float64) for im in images]
    x = img.detach().float().cpu().clamp(0, 1).numpy()
    x = (x * np.float32(peak)).round().astype(np.float64)
    x = x[None] if x.ndim == 3 else x
    return [np.ascontiguousarray(im.transpose(1, 2, 0)) for im in x]


def _as_image_list(img, input_order: str, name: str, fn: str, quantize: bool,
                   peak: float) -> List[np.ndarray]:
    """Turn one input into a list of float64 ``(H, W, C)`` images in
    ``[0, peak]`` units."""
    if isinstance(img, torch.Tensor):
        if not img.is_floating_point():
            raise ValueError(
                f'{fn}: tensor {name} must be float in [0, 1], got '
                f'{img.dtype}; pass integer images as numpy (H, W, C) arrays')
        if img.dim() not in (3, 4):
            raise ShapeError(
                f'{fn}: tensor {name} must be (C, H, W) or (N, C, H, W), got '
                f'shape {tuple(img.shape)}')
        if img.shape[-3] not in (1, 3, 4):
            raise ShapeError(
                f'{fn}: tensor {name} of shape {tuple(img.shape)} has '
                f'{img.shape[-3]} channels at dim -3, expected 1, 3 or 4 '
                '(tensors are (N)CHW)')
        if quantize:
            images = _quantize(img, peak)
        else:
            x = img.detach().cpu().double().numpy()
            x = x[None] if x.ndim == 3 else x
            images = [np.ascontiguousarray(im.transpose(1, 2, 0)) for im in x]
        return [im[:, :, None] if im.ndim == 2 else im for im in images]
    if isinstance(img, np.ndarray):
        if input_order not in ('HWC', 'CHW'):
            raise ValueError(f"{fn}: input_order must be 'HWC' or 'CHW', got "
                             f'{input_order!r}')
        if img.ndim == 2:
            im = img[:, :, None]
        elif img.ndim == 3:
            im = img.transpose(1, 2, 0) if input_order == 'CHW' else img
        else:
            raise ShapeError(
                f'{fn}: numpy {name} must be (H, W) or (H, W, C) (or '
                f"(C, H, W) with input_order='CHW'), got shape {img.shape}")
        if im.shape[2] not in (1, 3, 4):
            hint = ("; pass input_order='CHW'" if input_order == 'HWC' and
                    img.shape[0] in (1, 3, 4) else '')
            raise ShapeError(
                f'{fn}: numpy {name} of shape {img.shape} read as '
                f'{input_order} has {im.shape[2]} channels, expected 1, 3 '
                f'or 4{hint}')
        if not np.issubdtype(img.dtype, np.number) or np.issubdtype(
                img.dtype, np.complexfloating):
            raise ValueError(f'{fn}: numpy {name} must be numeric, got '
                             f'{img.dtype}')
        if np.issubdtype(img.dtype, np.integer) and img.size and \
                img.max() > peak:
            top = np.iinfo(img.dtype).max
            raise ValueError(
                f'{fn}: numpy {name} ({img.dtype}) holds values up to '
                f'{img.max()}, above max_value={peak:g}; pass the peak of '
                f'its scale (e.g. max_value={top} for {img.dtype})')
        return [im.astype(np.float64)]
    raise TypeError(f'{fn}: {name} must be a numpy array or a torch tensor, '
                    f'got {type(img).__name__}')


def _to_y(img: np.ndarray, max_value: float) -> np.ndarray:
    """RGB ``(H, W, 3)`` in [0, max_value] -> float Y ``(H, W, 1)`` (16-235 at 255)."""
    y = rgb2ycbcr(img / max_value, y_only=True) * max_value
    return y[:, :, None]


def _prepare(a,
             b,
             crop_border: int,
             test_y_channel: bool,
             input_order: str,
             max_value: float | None,
             quantize: bool,
             fn: str,
             min_size: int = 1) -> Tuple[List[Tuple[np.ndarray, np.ndarray]],
                                         float]:
    """Validate a pair of inputs and return cropped float64 image pairs and
    the peak value."""
    check_metric_options(max_value, quantize, fn)
    has_tensor = isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor)
    if has_tensor and quantize:
        check_quantize_peak(max_value, fn)
    if max_value is None:
        max_value = 1.0 if has_tensor and not quantize else 255.0
    peak = float(max_value)
    imgs_a = _as_image_list(a, input_order, 'a', fn, quantize, peak)
    imgs_b = _as_image_list(b, input_order, 'b', fn, quantize, peak)
    if len(imgs_a) != len(imgs_b):
        raise ShapeError(f'{fn}: a holds {len(imgs_a)} images but b holds '
                         f'{len(imgs_b)}; pass batches of the same size')
    if int(crop_border) != crop_border or crop_border < 0:
        raise ValueError(f'{fn}: crop_border must be a non-negative integer, '
                         f'got {crop_border!r}')
    crop_border = int(crop_border)
    pairs = []
    for im_a, im_b in zip(imgs_a, imgs_b):
        if im_a.shape != im_b.shape:
            raise ShapeError(
                f'{fn}: image shapes differ: a is {im_a.shape} and b is '
                f'{im_b.shape} (as H, W, C); compare images of the same size')
        h, w, c = im_a.shape
        if crop_border:
            if 2 * crop_border >= min(h, w):
                raise ValueError(
                    f'{fn}: crop_border={crop_border} removes the whole '
                    f'{h}x{w} image; use a smaller crop_border')
            im_a = im_a[crop_border:-crop_border, crop_border:-crop_border]
            im_b = im_b[crop_border:-crop_border, crop_border:-crop_border]
        if test_y_channel:
            if c != 3:
                raise ShapeError(
                    f'{fn}: test_y_channel=True needs RGB images with 3 '
                    f'channels, got {c}; use test_y_channel=False')
            im_a, im_b = _to_y(im_a, peak), _to_y(im_b, peak)
        if min(im_a.shape[:2]) < min_size:
            raise ValueError(
                f'{fn}: needs images of at least {min_size}x{min_size} pixels '
                f'after crop_border, got {im_a.shape[0]}x{im_a.shape[1]}')
        pairs.append((im_a, im_b))
    return pairs, peak


def psnr(a,
         b,
         crop_border: int = 0,
         test_y_channel: bool = False,
         input_order: str = 'HWC',
         max_value: float | None = None,
         quantize: bool = True) -> float:
    """Peak signal-to-noise ratio ``10 log10(max_value^2 / MSE)`` in dB.

    The MSE is over all pixels and channels (RGB mode) or over Y
    (``test_y_channel=True``). Identical images give ``inf``.

    Args:
        a, b (np.ndarray | torch.Tensor): the two images; see the module
            docstring (integer/float numpy in [0, max_value], or float
            tensors (N)CHW in [0, 1]).
        crop_border (int): pixels removed on each side. Default: 0.
        test_y_channel (bool): measure on BT.601 Y (16-235). Default: False.
        input_order (str): ``'HWC'`` or ``'CHW'``, for numpy inputs.
        max_value (float, optional): the peak value, in the units the images
            are measured in: numpy images are in [0, max_value]; quantized
            tensors are rounded to integers in [0, max_value] (an integer
            >= 2). Default: 255, or 1.0 for tensors with ``quantize=False``.
        quantize (bool): round float tensors to integers in
            [0, max_value] before measuring (the 8-bit evaluation of the
            rescaling papers at the default 255); False measures them as
            they are. numpy inputs are never rounded. Default: True.

    Returns:
        float: PSNR in dB (mean over the batch for N > 1).
    """
    pairs, peak = _prepare(a, b, crop_border, test_y_channel, input_order,
                           max_value, quantize, 'psnr')
    values = []
    for im_a, im_b in pairs:
        mse = np.mean((im_a - im_b)**2)
        values.append(float('inf') if mse == 0 else 10.0 *
                      math.log10(peak * peak / mse))
    return float(np.mean(values))


def mae(a,
        b,
        crop_border: int = 0,
        test_y_channel: bool = False,
        input_order: str = 'HWC',
        max_value: float | None = None,
        quantize: bool = True) -> float:
    """Mean absolute error, normalised by ``max_value`` (so in [0, 1]).

    Same inputs and conventions as :func:`psnr` (8-bit rounding of tensors
    by default; ``quantize=False, max_value=1.0`` for float data).
    For the un-rounded error of an invertible network use
    :class:`invtoolbox.evaluation.metrics.InvertibilityError`.

    Returns:
        float: ``mean(|a - b|) / max_value`` (mean over the batch for N > 1).
    """
    pairs, peak = _prepare(a, b, crop_border, test_y_channel, input_order,
                           max_value, quantize, 'mae')
    return float(np.mean([np.mean(np.abs(x - y)) / peak for x, y in pairs]))


def _gaussian_window(size: int = SSIM_WINDOW_SIZE,
                     sigma: float = SSIM_SIGMA) -> np.ndarray:
    """1-D normalised Gaussian of ``size`` taps (the SSIM window is its outer product)."""
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-coords**2 / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(x: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable ``window x window`` filtering of ``(H, W)``, 'valid' part only."""
    r = (len(window) - 1) // 2
    out = cv2.sepFilter2D(
        x, cv2.CV_64F, window, window, borderType=cv2.BORDER_REFLECT)
    return out[r:-r, r:-r] if r else out


def _ssim_maps(x: np.ndarray, y: np.ndarray,
               peak: float) -> Tuple[np.ndarray, np.ndarray]:
    """SSIM and contrast-structure maps of two ``(H, W)`` float64 channels.

    Returns ``(ssim_map, cs_map)`` over the valid region
    ``(H - 10, W - 10)``.
    """
    c1 = (0.01 * peak)**2
    c2 = (0.03 * peak)**2
    window = _gaussian_window()
    mu_x = _filter_valid(x, window)
    mu_y = _filter_valid(y, window)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    sigma_xx = _filter_valid(x * x, window) - mu_xx
    sigma_yy = _filter_valid(y * y, window) - mu_yy
    sigma_xy = _filter_valid(x * y, window) - mu_xy
    cs_map = (2.0 * sigma_xy + c2) / (sigma_xx + sigma_yy + c2)
    ssim_map = (2.0 * mu_xy + c1) / (mu_xx + mu_yy + c1) * cs_map
    return ssim_map, cs_map


def ssim(a,
         b,
         crop_border: int = 0,
         test_y_channel: bool = False,
         input_order: str = 'HWC',
         max_value: float | None = None,
         quantize: bool = True) -> float:
    """Structural similarity, MATLAB-equivalent (Wang et al. 2004).

    11 x 11 Gaussian window (sigma 1.5), 'valid' filtering (no padding),
    ``C1 = (0.01 * max_value)^2``, ``C2 = (0.03 * max_value)^2``, population
    (not sample) statistics; computed per channel and averaged in RGB mode.
    This is BasicSR's / IRN's ``calculate_ssim`` and equals scikit-image's
    ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)``. Measured on the 8-bit
    images by default (tensors are rounded), see the module docstring; with
    ``quantize=False`` on the float values, ``C1`` / ``C2`` scaled by
    ``max_value``.

    Args:
        a, b, crop_border, test_y_channel, input_order, max_value, quantize:
            as in :func:`psnr`.

    Returns:
        float: SSIM in [-1, 1] (mean over the batch for N > 1).
    """
    pairs, peak = _prepare(a, b, crop_border, test_y_channel, input_order,
                           max_value, quantize, 'ssim',
                           min_size=SSIM_WINDOW_SIZE)
    values = []
    for im_a, im_b in pairs:
        per_channel = [
            _ssim_maps(im_a[:, :, c], im_b[:, :, c], peak)[0].mean()
            for c in range(im_a.shape[2])
        ]
        values.append(np.mean(per_channel))
    return float(np.mean(values))


def _downsample2(x: np.ndarray) -> np.ndarray:
    """2 x 2 average pooling of ``(H, W)``; odd sides get one zero row/column
    of padding on each side, counted in the average.

    This is ``F.avg_pool2d(x, 2, padding=[s % 2 for s in (H, W)])``, the
    pyramid of the pytorch_msssim / CompressAI MS-SSIM.
    """
    pad_h, pad_w = x.shape[0] % 2, x.shape[1] % 2
    if pad_h or pad_w:
        x = np.pad(x, ((pad_h, pad_h), (pad_w, pad_w)))
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = x[:h, :w]
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4.0


def ms_ssim(a,
            b,
            crop_border: int = 0,
            test_y_channel: bool = False,
            input_order: str = 'HWC',
            max_value: float | None = None,
            weights: Sequence[float] = MS_SSIM_WEIGHTS,
            quantize: bool = True) -> float:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) on [0, max_value] values.

    Follows the standard pytorch_msssim / CompressAI evaluation: per channel,
    SSIM components with the 11 x 11 sigma-1.5 Gaussian window ('valid'),
    ``len(weights)`` scales with 2 x 2 average pooling in between; the
    contrast-structure means of the first ``len(weights) - 1`` scales and the
    SSIM mean of the last one, each clipped at 0, are combined as
    ``prod(value_i ** weight_i)``; the channels are averaged. Tensors are
    rounded to 8 bits first (CompressAI does the same) unless
    ``quantize=False``.

    Args:
        a, b, crop_border, test_y_channel, input_order, max_value, quantize:
            as in :func:`psnr`.
        weights (Sequence[float]): per-scale exponents; default
            :data:`MS_SSIM_WEIGHTS` (5 scales).

    Returns:
        float: MS-SSIM in [0, 1] (mean over the batch for N > 1).

    Raises:
        ValueError: when the smaller image side (after ``crop_border``) is not
            larger than ``10 * 2 ** (len(weights) - 1)`` (160 for 5 scales).
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or len(weights) < 1:
        raise ValueError('ms_ssim: weights must be a non-empty sequence of '
                         f'numbers, got {weights!r}')
    levels = len(weights)
    min_size = (SSIM_WINDOW_SIZE - 1) * 2**(levels - 1) + 1
    pairs, peak = _prepare(a, b, crop_border, test_y_channel, input_order,
                           max_value, quantize, 'ms_ssim', min_size=min_size)
    values = []
    for im_a, im_b in pairs:
        per_channel = []
        for c in range(im_a.shape[2]):
            x, y = im_a[:, :, c], im_b[:, :, c]
            factors = []
            for level in range(levels):
                ssim_map, cs_map = _ssim_maps(x, y, peak)
                if level < levels - 1:
                    factors.append(max(cs_map.mean(), 0.0))
                    x, y = _downsample2(x), _downsample2(y)
                else:
                    factors.append(max(ssim_map.mean(), 0.0))
            per_channel.append(np.prod(np.power(factors, weights)))
        values.append(np.mean(per_channel))
    return float(np.mean(values))
