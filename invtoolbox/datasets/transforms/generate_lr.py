# Copyright (c) invtoolbox contributors. All rights reserved.
"""Low-resolution references made on the fly."""
from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from ...registry import TRANSFORMS
from ...utils.imresize import imresize
from .utils import check_positive_int, describe, get_image


@TRANSFORMS.register_module()
class GenerateBicubicLR(BaseTransform):
    """Make the bicubic LR reference with MATLAB's ``imresize``.

    ``results[out_key] = imresize(results[key], 1 / scale)``: MATLAB bicubic
    with antialiasing (:func:`invtoolbox.utils.imresize`), computed on the
    float image in [0, 1] (uint8 input is divided by 255), exactly as IRN's
    dataset makes its LR targets on the fly (``imresize_np(img, 1/scale,
    True)``). The output is **float32 ``(H / scale, W / scale, C)``**, not
    rounded by default. Bicubic overshoot can leave values a few 1/255
    outside [0, 1] near sharp edges, as in IRN (``clip=True`` clamps them).
    Sets ``results['scale']``.

    Args:
        scale (int): the downscaling factor.
        key (str): the source image. Default: ``'gt'``.
        out_key (str): where the LR image goes. Default: ``'lr'``.
        round_to_uint8 (bool): round to 8 bits and return uint8, like an LR
            image stored as PNG (e.g. DIV2K's official bicubic files).
            Default: False.
        clip (bool): clamp the float result to [0, 1]. Default: False.

    Raises:
        ValueError: height or width is not a multiple of ``scale`` (put
            ``ModCrop`` or ``PairedRandomCrop`` before it).
    """

    def __init__(self,
                 scale: int,
                 key: str = 'gt',
                 out_key: str = 'lr',
                 round_to_uint8: bool = False,
                 clip: bool = False) -> None:
        self.scale = check_positive_int(scale, 'scale', 'GenerateBicubicLR')
        self.key = key
        self.out_key = out_key
        self.round_to_uint8 = bool(round_to_uint8)
        self.clip = bool(clip)

    def transform(self, results: dict) -> dict:
        """Add ``results[out_key]`` and ``results['scale']``."""
        img = get_image(results, self.key, 'GenerateBicubicLR')
        h, w = img.shape[:2]
        if h % self.scale or w % self.scale:
            raise ValueError(
                f'GenerateBicubicLR: {describe(results, self.key)} is {h}x{w},'
                f' not a multiple of the scale {self.scale}; put '
                f"ModCrop(key='{self.key}', scale={self.scale}) before it")
        if img.dtype == np.uint8:
            img = img.astype(np.float32) / np.float32(255.)
        elif np.issubdtype(img.dtype, np.floating):
            img = img.astype(np.float32, copy=False)
        else:
            raise ValueError(
                f'GenerateBicubicLR: {describe(results, self.key)} has dtype '
                f'{img.dtype}; expected uint8 or float in [0, 1]')
        lr = img.copy() if self.scale == 1 else imresize(img, 1. / self.scale)
        if img.ndim == 3 and lr.ndim == 2:
            lr = lr[:, :, None]
        if self.round_to_uint8:
            lr = np.clip(np.round(lr * 255.), 0, 255).astype(np.uint8)
        elif self.clip:
            lr = np.clip(lr, 0., 1.)
        results[self.out_key] = np.ascontiguousarray(lr)
        results['scale'] = self.scale
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, key={self.key!r}, '
                f'out_key={self.out_key!r}, '
                f'round_to_uint8={self.round_to_uint8}, clip={self.clip})')


@TRANSFORMS.register_module()
class GenerateGreyReference(BaseTransform):
    """Make IRN-Color's grey reference: ``0.299 R + 0.587 G + 0.114 B``.

    The official IRN-Color dataset computes ``cv2.cvtColor(img,
    cv2.COLOR_BGR2GRAY)`` on the float BGR image in [0, 1]; on our RGB
    images that is the same weighted sum (OpenCV's ITU-R BT.601 luma
    weights), with no rounding. The output is float32 ``(H, W, 1)`` at full
    resolution (IRN-Color embeds the grey image at the input size).

    Args:
        key (str): the RGB source image. Default: ``'gt'``.
        out_key (str): where the grey image goes. Default: ``'lr'``.
    """

    WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

    def __init__(self, key: str = 'gt', out_key: str = 'lr') -> None:
        self.key = key
        self.out_key = out_key

    def transform(self, results: dict) -> dict:
        """Add ``results[out_key]``."""
        img = get_image(results, self.key, 'GenerateGreyReference')
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f'GenerateGreyReference: {describe(results, self.key)} has '
                f'shape {img.shape}; expected an RGB image (H, W, 3)')
        if img.dtype == np.uint8:
            img = img.astype(np.float32) / np.float32(255.)
        grey = img.astype(np.float32) @ self.WEIGHTS
        results[self.out_key] = np.ascontiguousarray(grey[:, :, None])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(key={self.key!r}, '
                f'out_key={self.out_key!r})')
