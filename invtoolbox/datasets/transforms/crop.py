# Copyright (c) invtoolbox contributors. All rights reserved.
"""Crops: mod-crop to the scale, random (paired) patches."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from ...errors import DataError
from ...registry import TRANSFORMS
from ...utils.image import modcrop
from .utils import check_positive_int, describe, get_image


@TRANSFORMS.register_module()
class ModCrop(BaseTransform):
    """Crop the bottom / right of an image to multiples of the scale.

    Keeps the top-left ``(H - H % scale, W - W % scale)`` region, as IRN's
    test protocol and the ``GTmod`` benchmark files do, so that the LR image
    is exactly ``1 / scale`` of the GT. Sets ``results['scale']``.

    Args:
        key (str): the image to crop. Default: ``'gt'``.
        scale (int): the rescaling factor.

    Raises:
        ValueError: the image is smaller than ``scale`` on a side.
    """

    def __init__(self, key: str = 'gt', scale: int = 4) -> None:
        self.key = key
        self.scale = check_positive_int(scale, 'scale', 'ModCrop')

    def transform(self, results: dict) -> dict:
        """Crop ``results[key]`` (a view, no copy) and set ``scale``."""
        img = get_image(results, self.key, 'ModCrop')
        h, w = img.shape[:2]
        if h < self.scale or w < self.scale:
            raise ValueError(
                f'ModCrop: {describe(results, self.key)} is {h}x{w}, smaller '
                f'than the scale {self.scale}; remove it from the dataset')
        results[self.key] = modcrop(img, self.scale)
        results['scale'] = self.scale
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(key={self.key!r}, scale={self.scale})'


@TRANSFORMS.register_module()
class PairedRandomCrop(BaseTransform):
    """Crop a random GT patch and, when present, the matching LR patch.

    With both images, the LR patch of size ``gt_patch_size // scale`` is
    drawn uniformly inside the LR image and the GT patch is the region it
    covers (top-left ``scale`` times the LR one), as IRN / BasicSR do. With
    the GT image only (LR made afterwards by ``GenerateBicubicLR``), the GT
    patch is drawn uniformly at any position. Sets ``results['scale']``.
    Random numbers come from numpy's global generator (seeded per dataloader
    worker by mmengine).

    Args:
        gt_patch_size (int): side of the square GT patch; a multiple of
            ``scale``.
        scale (int): the rescaling factor (GT size / LR size).
        keys (Sequence[str]): ``(gt_key, lr_key)``. Default:
            ``('gt', 'lr')``.

    Raises:
        DataError: (a ValueError) the image is smaller than the patch, or
            the GT is not ``scale`` times the LR (sizes in the message).
        ValueError: a bad argument.
    """

    def __init__(self,
                 gt_patch_size: int,
                 scale: int,
                 keys: Sequence[str] = ('gt', 'lr')) -> None:
        owner = 'PairedRandomCrop'
        self.gt_patch_size = check_positive_int(gt_patch_size,
                                                'gt_patch_size', owner)
        self.scale = check_positive_int(scale, 'scale', owner)
        if self.gt_patch_size % self.scale:
            raise ValueError(
                f'PairedRandomCrop: gt_patch_size {gt_patch_size} is not a '
                f'multiple of scale {scale}; use e.g. '
                f'{self.gt_patch_size - self.gt_patch_size % self.scale}')
        if isinstance(keys, str) or len(keys) != 2:
            raise ValueError(
                "PairedRandomCrop: keys must be (gt_key, lr_key), e.g. "
                f"('gt', 'lr'), got {keys!r}")
        self.keys = tuple(keys)

    @staticmethod
    def _offset(length: int, patch: int) -> int:
        return int(np.random.randint(0, length - patch + 1))

    def _check_size(self, results, key, img, patch):
        h, w = img.shape[:2]
        if h < patch or w < patch:
            raise DataError(
                f'PairedRandomCrop: {describe(results, key)} is {h}x{w} '
                f'(HxW), smaller than the {patch}x{patch} patch; remove '
                'small images or lower gt_patch_size')

    def transform(self, results: dict) -> dict:
        """Crop the patch(es) (views into the images, no copy)."""
        gt_key, lr_key = self.keys
        gt = get_image(results, gt_key, 'PairedRandomCrop')
        size = self.gt_patch_size
        if lr_key not in results:
            self._check_size(results, gt_key, gt, size)
            top = self._offset(gt.shape[0], size)
            left = self._offset(gt.shape[1], size)
            results[gt_key] = gt[top:top + size, left:left + size, ...]
            results['scale'] = self.scale
            return results

        lr = get_image(results, lr_key, 'PairedRandomCrop')
        (h_lr, w_lr), (h_gt, w_gt) = lr.shape[:2], gt.shape[:2]
        if (h_gt, w_gt) != (h_lr * self.scale, w_lr * self.scale):
            raise DataError(
                f'PairedRandomCrop: {describe(results, gt_key)} is '
                f'{h_gt}x{w_gt} but {describe(results, lr_key)} is '
                f'{h_lr}x{w_lr}, not 1/{self.scale} of it; ModCrop the GT '
                'or fix scale / the LR files')
        self._check_size(results, gt_key, gt, size)
        lr_size = size // self.scale
        top = self._offset(h_lr, lr_size)
        left = self._offset(w_lr, lr_size)
        results[lr_key] = lr[top:top + lr_size, left:left + lr_size, ...]
        top, left = top * self.scale, left * self.scale
        results[gt_key] = gt[top:top + size, left:left + size, ...]
        results['scale'] = self.scale
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(gt_patch_size={self.gt_patch_size}, '
                f'scale={self.scale}, keys={self.keys!r})')


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the centre ``crop_size`` region of each image in ``keys``.

    The window starts at ``((H - h) // 2, (W - w) // 2)`` of the first
    key's image; every key must have that image's size (e.g. a RAW and its
    sRGB target). Updates ``results[f'{key}_ori_shape']`` where present.

    Args:
        crop_size (int | tuple[int, int]): ``size`` or ``(height, width)``.
        keys (Sequence[str]): the images to crop. Default: ``('gt', )``.

    Raises:
        DataError: (a ValueError) an image is smaller than the crop, or the
            images of ``keys`` differ in size.
    """

    def __init__(self, crop_size, keys: Sequence[str] = ('gt', )) -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_size = tuple(int(v) for v in crop_size)
        if len(crop_size) != 2 or min(crop_size) <= 0:
            raise ValueError('CenterCrop: crop_size must be a positive int '
                             f'or (height, width), got {crop_size!r}')
        self.crop_size = crop_size
        self.keys = (keys, ) if isinstance(keys, str) else tuple(keys)

    def transform(self, results: dict) -> dict:
        h, w = self.crop_size
        shapes = {}
        for key in self.keys:
            if key not in results:
                raise DataError(f'CenterCrop: no {key!r} image in the '
                                'results; check keys.')
            shapes[key] = results[key].shape[:2]
        first = shapes[self.keys[0]]
        for key, shape in shapes.items():
            if shape != first:
                raise DataError(
                    f'CenterCrop: {key!r} is {shape[1]}x{shape[0]} but '
                    f'{self.keys[0]!r} is {first[1]}x{first[0]}; the images '
                    'must have one size.')
        if first[0] < h or first[1] < w:
            raise DataError(
                f'CenterCrop: the image is {first[1]}x{first[0]} (width x '
                f'height), smaller than the crop {w}x{h}.')
        top, left = (first[0] - h) // 2, (first[1] - w) // 2
        for key in self.keys:
            results[key] = results[key][top:top + h, left:left + w]
            if f'{key}_ori_shape' in results:
                results[f'{key}_ori_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'keys={self.keys})')
