# Copyright (c) invtoolbox contributors. All rights reserved.
"""Geometric augmentation applied identically to every image of a sample."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from ...registry import TRANSFORMS
from .utils import check_ratio, get_image, present_keys


def _as_keys(keys, owner: str) -> tuple:
    keys = (keys, ) if isinstance(keys, str) else tuple(keys)
    if not keys:
        raise ValueError(f'{owner}: keys must name at least one image')
    return keys


@TRANSFORMS.register_module()
class Flip(BaseTransform):
    """Flip the images of ``keys`` together, with probability ``flip_ratio``.

    One random draw per sample decides for all keys, so GT and LR stay
    aligned. Keys absent from the results are skipped (the same transform
    works before and after the LR image is generated); at least one must be
    present. IRN augments with a horizontal flip, a vertical flip and a
    transpose, each with probability 0.5 (eight orientations).

    Sets ``results[f'flip_{direction}']`` (bool). Images are returned as
    contiguous copies.

    Args:
        keys (Sequence[str] | str): images to flip. Default: ``('gt', 'lr')``.
        direction (str): ``'horizontal'`` (mirror left-right) or
            ``'vertical'`` (upside down). Default: ``'horizontal'``.
        flip_ratio (float): probability of flipping. Default: 0.5.
    """

    def __init__(self,
                 keys: Sequence[str] = ('gt', 'lr'),
                 direction: str = 'horizontal',
                 flip_ratio: float = 0.5) -> None:
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(
                "Flip: direction must be 'horizontal' or 'vertical', got "
                f'{direction!r}')
        self.keys = _as_keys(keys, 'Flip')
        self.direction = direction
        self.flip_ratio = check_ratio(flip_ratio, 'flip_ratio', 'Flip')

    def transform(self, results: dict) -> dict:
        """Flip (or not) every present key."""
        keys = present_keys(results, self.keys, 'Flip')
        flip = bool(np.random.rand() < self.flip_ratio)
        if flip:
            axis = 1 if self.direction == 'horizontal' else 0
            for key in keys:
                img = get_image(results, key, 'Flip')
                results[key] = np.ascontiguousarray(np.flip(img, axis=axis))
        results[f'flip_{self.direction}'] = flip
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={self.keys!r}, '
                f'direction={self.direction!r}, '
                f'flip_ratio={self.flip_ratio})')


@TRANSFORMS.register_module()
class RandomTranspose(BaseTransform):
    """Swap height and width of the images of ``keys`` together.

    With probability ``transpose_ratio`` every present key is transposed
    (``(H, W, C) -> (W, H, C)``, a reflection about the main diagonal); one
    draw decides for all keys. Keys absent from the results are skipped; at
    least one must be present. Sets ``results['transpose']`` (bool).

    Args:
        keys (Sequence[str] | str): images to transpose. Default:
            ``('gt', 'lr')``.
        transpose_ratio (float): probability of transposing. Default: 0.5.
    """

    def __init__(self,
                 keys: Sequence[str] = ('gt', 'lr'),
                 transpose_ratio: float = 0.5) -> None:
        self.keys = _as_keys(keys, 'RandomTranspose')
        self.transpose_ratio = check_ratio(transpose_ratio, 'transpose_ratio',
                                           'RandomTranspose')

    def transform(self, results: dict) -> dict:
        """Transpose (or not) every present key."""
        keys = present_keys(results, self.keys, 'RandomTranspose')
        transpose = bool(np.random.rand() < self.transpose_ratio)
        if transpose:
            for key in keys:
                img = get_image(results, key, 'RandomTranspose')
                results[key] = np.ascontiguousarray(np.swapaxes(img, 0, 1))
        results['transpose'] = transpose
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={self.keys!r}, '
                f'transpose_ratio={self.transpose_ratio})')
