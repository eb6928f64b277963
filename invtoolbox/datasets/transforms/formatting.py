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


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """numpy ``(H, W[, C])`` image -> float32 tensor ``(C, H, W)`` in [0, 1].

    uint8 is divided by 255; float images are taken as already in [0, 1] and
    only cast to float32 (not clipped).
    """
    if img.ndim == 2:
        img = img[:, :, None]
    if img.dtype == np.uint8:
        array = img.astype(np.float32) / np.float32(255.)
    elif np.issubdtype(img.dtype, np.floating):
        array = img.astype(np.float32, copy=False)
    else:
        raise ValueError(
            f'PackInputs: images must be uint8 or float in [0, 1], got '
            f'{img.dtype}')
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack the results dict into ``{'inputs': tensor, 'data_samples': DataSample}``.

    - ``inputs``: ``results[input_key]`` as a float32 ``(C, H, W)`` tensor in
      [0, 1] (uint8 divided by 255);
    - ``data_samples``: a :class:`~invtoolbox.structures.DataSample` holding,
      for each ``results key -> field`` of ``fields`` whose key is present,
      the image as a float32 ``(C, H, W)`` tensor (``gt -> gt_img``,
      ``lr -> lr_img`` by default; absent keys are skipped), and the meta
      information of ``meta_keys`` that is present. ``img_path`` and
      ``ori_shape`` default to ``f'{input_key}_path'`` and
      ``f'{input_key}_ori_shape'`` (set by the dataset / the loader).

    Args:
        input_key (str): the image fed to the model. Default: ``'gt'``.
        fields (dict): results key -> DataSample field. Default:
            ``dict(gt='gt_img', lr='lr_img')``.
        meta_keys (Sequence[str]): meta information to copy. Default:
            ``('key', 'img_path', 'ori_shape', 'scale', 'lr_path',
            'sample_idx')``.

    Raises:
        ValueError: ``results[input_key]`` is missing.
    """

    def __init__(self,
                 input_key: str = 'gt',
                 fields: Optional[Dict[str, str]] = None,
                 meta_keys: Sequence[str] = ('key', 'img_path', 'ori_shape',
                                             'scale', 'lr_path',
                                             'sample_idx')) -> None:
        self.input_key = input_key
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
            dict: ``{'inputs': (C, H, W) float32 tensor,
            'data_samples': DataSample}``.
        """
        inputs = image_to_tensor(
            get_image(results, self.input_key, 'PackInputs'))
        sample = DataSample(metainfo=self._meta(results))
        for key, field in self.fields.items():
            if key not in results:
                continue
            try:
                tensor = image_to_tensor(get_image(results, key, 'PackInputs'))
            except ValueError as err:
                raise ValueError(f'{err} ({describe(results, key)})') from None
            sample.set_data({field: tensor})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_key={self.input_key!r}, '
                f'fields={self.fields!r}, meta_keys={self.meta_keys!r})')
