# Copyright (c) invtoolbox contributors. All rights reserved.
"""Packing the results dict into model inputs and a DataSample."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ...registry import TRANSFORMS
from ...structures import DataSample
from .utils import describe, get_image


def image_to_tensor(img: np.ndarray, keep_uint8: bool = False) -> torch.Tensor:
    """numpy ``(H, W[, C])`` image -> tensor ``(C, H, W)``.

    - uint8: float32 in [0, 1] (divided by 255), or with ``keep_uint8=True``
      a uint8 tensor of the same codes;
    - uint16: an **int32** tensor holding the same codes 0..65535 (not
      rescaled: the data preprocessor normalises them, by bit depth or by
      black/white levels). int32 because ``torch.uint16`` cannot be stacked,
      subtracted or flipped in every supported torch release;
    - float: float32, taken as already in [0, 1] (not clipped).

    Raises:
        ValueError: any other dtype.
    """
    if img.ndim == 2:
        img = img[:, :, None]
    if img.dtype == np.uint8:
        array = img if keep_uint8 else img.astype(np.float32) / np.float32(
            255.)
    elif img.dtype == np.uint16:
        array = img.astype(np.int32)
    elif np.issubdtype(img.dtype, np.floating):
        array = img.astype(np.float32, copy=False)
    else:
        raise ValueError(
            f'PackInputs: images must be uint8, uint16 or float in [0, 1], '
            f'got {img.dtype}')
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _packed_bit_depth(img: np.ndarray, keep_uint8: bool = False) -> Optional[int]:
    """Bits of the integer codes :func:`image_to_tensor` keeps for ``img``
    (16 for uint16, 8 for uint8 with ``keep_uint8``), ``None`` for floats."""
    if img.dtype == np.uint16:
        return 16
    if img.dtype == np.uint8 and keep_uint8:
        return 8
    return None


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack the results dict into ``{'inputs': tensor, 'data_samples': DataSample}``.

    - ``inputs``: ``results[input_key]`` as a ``(C, H, W)`` tensor;
    - ``data_samples``: a :class:`~invtoolbox.structures.DataSample` holding,
      for each ``results key -> field`` of ``fields`` whose key is present,
      the image as a ``(C, H, W)`` tensor (``gt -> gt_img``,
      ``lr -> lr_img`` by default; absent keys are skipped), and the meta
      information of ``meta_keys`` that is present. ``img_path`` and
      ``ori_shape`` default to ``f'{input_key}_path'`` and
      ``f'{input_key}_ori_shape'`` (set by the dataset / the loader).

    Images become tensors by :func:`image_to_tensor`: uint8 -> float32 in
    [0, 1] (divided by 255; a uint8 tensor with ``keep_uint8=True``),
    **uint16 -> int32 codes 0..65535, unchanged**, float -> float32. Images
    packed as integer codes get their bit depth recorded in the sample's
    ``bit_depths`` metainfo (``{'inputs': 16, 'gt_img': 16}``), which the
    ``DataPreprocessor`` reads to scale them to [0, 1]; int32 survives
    mmengine's ``pseudo_collate`` and ``cast_data`` on every device.

    Args:
        input_key (str): the image fed to the model. Default: ``'gt'``.
        fields (dict): results key -> DataSample field. Default:
            ``dict(gt='gt_img', lr='lr_img')``.
        meta_keys (Sequence[str]): meta information to copy. Default:
            ``('key', 'img_path', 'ori_shape', 'scale', 'lr_path',
            'sample_idx')``.
        keep_uint8 (bool): pack uint8 images as uint8 tensors and let the
            data preprocessor normalise them (its levels are then in 8-bit
            units; 4x less data to move). Default: False (float32 in [0, 1],
            as earlier versions).

    Raises:
        ValueError: ``results[input_key]`` is missing, or an image is not
            uint8, uint16 or float.
    """

    def __init__(self,
                 input_key: str = 'gt',
                 fields: Optional[Dict[str, str]] = None,
                 meta_keys: Sequence[str] = ('key', 'img_path', 'ori_shape',
                                             'scale', 'lr_path',
                                             'sample_idx'),
                 keep_uint8: bool = False) -> None:
        self.input_key = input_key
        self.keep_uint8 = bool(keep_uint8)
        self.fields = dict(
            gt='gt_img', lr='lr_img') if fields is None else dict(fields)
        self.meta_keys = (meta_keys, ) if isinstance(meta_keys,
                                                     str) else tuple(meta_keys)

    def _meta(self, results: dict) -> dict:
        aliases = dict(
            img_path=f'{self.input_key}_path',
            ori_shape=f'{self.input_key}_ori_shape')
        meta = {}
        for name in self.meta_keys:
            source = name if name in results else aliases.get(name)
            if source is not None and source in results:
                meta[name] = results[source]
        return meta

    def transform(self, results: dict) -> dict:
        """Pack.

        Returns:
            dict: ``{'inputs': (C, H, W) tensor, 'data_samples':
            DataSample}``.
        """
        image = get_image(results, self.input_key, 'PackInputs')
        try:
            inputs = image_to_tensor(image, self.keep_uint8)
        except ValueError as err:
            raise ValueError(
                f'{err} ({describe(results, self.input_key)})') from None
        bit_depths = {}
        depth = _packed_bit_depth(image, self.keep_uint8)
        if depth is not None:
            bit_depths['inputs'] = depth
        sample = DataSample(metainfo=self._meta(results))
        for key, field in self.fields.items():
            if key not in results:
                continue
            image = get_image(results, key, 'PackInputs')
            try:
                tensor = image_to_tensor(image, self.keep_uint8)
            except ValueError as err:
                raise ValueError(f'{err} ({describe(results, key)})') from None
            sample.set_data({field: tensor})
            depth = _packed_bit_depth(image, self.keep_uint8)
            if depth is not None:
                bit_depths[field] = depth
        if bit_depths:
            sample.set_metainfo(dict(bit_depths=bit_depths))
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_key={self.input_key!r}, '
                f'fields={self.fields!r}, meta_keys={self.meta_keys!r}, '
                f'keep_uint8={self.keep_uint8})')
