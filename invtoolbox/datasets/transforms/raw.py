# Copyright (c) invtoolbox contributors. All rights reserved.
"""Invertible-ISP data transforms: the normalised RAW, its sRGB target, and
the official rotation + flip augmentation.

Cropping: the existing :class:`PairedRandomCrop` with ``scale=1`` and
``keys=('gt', 'raw')`` cuts both at the same coordinates (the official
random crop; the RAW is already demosaiced, so odd offsets are fine) and
raises when the image is smaller than the patch.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from ...errors import DataError
from ...registry import TRANSFORMS
from ...utils.image_io import ImageReadError, read_image
from ..raw.isp import load_raw_input
from ..raw.targets import render_srgb_target
from .utils import get_image, present_keys


def _raw_path(results: dict, owner: str) -> str:
    if 'raw_path' not in results:
        raise ValueError(
            f'{owner}: no \'raw_path\' in the results (keys: '
            f'{", ".join(sorted(map(str, results)))}); use a RAW dataset '
            '(FiveKRAWDataset, RAWFolderDataset)')
    return str(results['raw_path'])


@TRANSFORMS.register_module()
class LoadRAWFromFile(BaseTransform):
    """Read ``results['raw_path']`` as Invertible-ISP's network input.

    read_raw -> bilinear_demosaic -> normalise (black, white, WB, gamma) ->
    apply_flip, i.e. the official ``data_preprocess.py`` +
    ``FiveK_dataset.py`` input.

    Added keys: ``key`` (``(H, W, 3)`` float32 in [0, 1], oriented),
    ``'raw_meta'`` (:meth:`RawMetadata.to_dict`), ``f'{key}_ori_shape'``
    (``(H, W)`` after orientation).

    Args:
        key (str): where to put the image. Default: ``'raw'``.
        gamma (bool): apply ``** (1 / 2.2)`` (official). Default: True.
    """

    def __init__(self, key: str = 'raw', gamma: bool = True) -> None:
        self.key = key
        self.gamma = bool(gamma)

    def transform(self, results: dict) -> dict:
        """Read, demosaic, normalise and orient the RAW."""
        path = _raw_path(results, 'LoadRAWFromFile')
        rgb, meta = load_raw_input(path, self.gamma)
        img = np.ascontiguousarray(rgb.transpose(1, 2, 0))
        results[self.key] = img
        results['raw_meta'] = meta.to_dict()
        results[f'{self.key}_ori_shape'] = tuple(img.shape[:2])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(key={self.key!r}, gamma={self.gamma})'


@TRANSFORMS.register_module()
class LoadSRGBTarget(BaseTransform):
    """Load the (cached) LibRaw sRGB rendering of ``results['raw_path']``.

    The JPEG is made once by :func:`render_srgb_target` and decoded with
    Pillow. When the RAW image (``raw_key``) is already in the results and
    the sizes differ by at most ``max_size_diff`` pixels per side (LibRaw's
    rendering can keep or drop a few margin pixels), both are cropped to
    their common top-left area; a larger difference raises.

    Added keys: ``key`` (``(H, W, 3)`` float32 in [0, 1]),
    ``f'{key}_path'`` (the JPEG), ``f'{key}_ori_shape'``.

    Args:
        key (str): where to put the target. Default: ``'gt'``.
        raw_key (str): the RAW image to align with. Default: ``'raw'``.
        cache_dir (str, optional): target cache folder (default: beside
            each RAW).
        max_size_diff (int): largest size difference cropped away.
            Default: 8.
    """

    def __init__(self,
                 key: str = 'gt',
                 raw_key: str = 'raw',
                 cache_dir: Optional[str] = None,
                 max_size_diff: int = 8) -> None:
        self.key = key
        self.raw_key = raw_key
        self.cache_dir = cache_dir
        self.max_size_diff = int(max_size_diff)

    def transform(self, results: dict) -> dict:
        """Render or reuse the target, load it, align it with the RAW."""
        raw_path = _raw_path(results, 'LoadSRGBTarget')
        jpeg = render_srgb_target(raw_path, self.cache_dir)
        try:
            img = read_image(jpeg).astype(np.float32) / 255.
        except (OSError, ImageReadError) as err:
            raise DataError(
                f'LoadSRGBTarget: cannot decode the cached target {jpeg!r} '
                f'({err}); delete it to render it again') from None
        if self.raw_key in results:
            raw = results[self.raw_key]
            (hr, wr), (ht, wt) = raw.shape[:2], img.shape[:2]
            if (hr, wr) != (ht, wt):
                if max(abs(hr - ht), abs(wr - wt)) > self.max_size_diff:
                    raise DataError(
                        f'LoadSRGBTarget: LibRaw renders {raw_path!r} as '
                        f'{ht}x{wt} but its RAW is {hr}x{wr} (HxW); more than '
                        f'{self.max_size_diff} px apart, so they cannot be '
                        'aligned: remove the file or raise max_size_diff')
                h, w = min(hr, ht), min(wr, wt)
                results[self.raw_key] = raw[:h, :w]
                img = img[:h, :w]
        results[self.key] = np.ascontiguousarray(img)
        results[f'{self.key}_path'] = jpeg
        results[f'{self.key}_ori_shape'] = tuple(img.shape[:2])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(key={self.key!r}, '
                f'raw_key={self.raw_key!r}, cache_dir={self.cache_dir!r}, '
                f'max_size_diff={self.max_size_diff})')


@TRANSFORMS.register_module()
class RandomRot90Flip(BaseTransform):
    """Invertible-ISP's augmentation: ``np.rot90`` by a random k in
    {0, 1, 2, 3}, then ``np.flip`` along a random axis (0 or 1), always
    applied, the same on every present key (official ``random_rotate`` then
    ``random_flip``; draws from numpy's global generator in that order).

    The result is always a mirror image: the 4 reflections of the square,
    each with probability 1/4. ``Flip`` + ``RandomTranspose`` cannot express
    this distribution, hence this transform.

    Sets ``results['rot90_k']`` and ``results['flip_axis']``.

    Args:
        keys (Sequence[str]): images ``(H, W[, C])``. Default:
            ``('raw', 'gt')``.
    """

    def __init__(self, keys: Sequence[str] = ('raw', 'gt')) -> None:
        self.keys = (keys, ) if isinstance(keys, str) else tuple(keys)
        if not self.keys:
            raise ValueError('RandomRot90Flip: keys must name an image')

    def transform(self, results: dict) -> dict:
        """Rotate then flip every present key."""
        keys = present_keys(results, self.keys, 'RandomRot90Flip')
        k = int(np.random.randint(4))
        axis = int(np.random.randint(2))
        for key in keys:
            img = get_image(results, key, 'RandomRot90Flip')
            results[key] = np.ascontiguousarray(
                np.flip(np.rot90(img, k=k, axes=(0, 1)), axis=axis))
        results['rot90_k'] = k
        results['flip_axis'] = axis
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(keys={self.keys!r})'
