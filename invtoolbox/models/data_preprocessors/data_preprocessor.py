# Copyright (c) invtoolbox contributors. All rights reserved.
"""Batching and device placement of images and data samples."""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from ...registry import MODELS
from ...structures import DataSample


def _to_float(img: torch.Tensor) -> torch.Tensor:
    """uint8 (0..255) -> float in [0, 1]; floats are kept as they are."""
    if img.dtype == torch.uint8:
        return img.float().div_(255.)
    return img.float() if not img.is_floating_point() else img


@MODELS.register_module()
class DataPreprocessor(BaseDataPreprocessor):
    """Stacks ``inputs`` into an NCHW float batch in [0, 1] on the model's device.

    ``data`` from the dataloader is ``{'inputs': list of (C, H, W) tensors or
    an (N, C, H, W) tensor, 'data_samples': list of DataSample}`` (the output
    of ``PackInputs`` after mmengine's ``pseudo_collate``). uint8 tensors are
    divided by 255. Image fields of the data samples listed in
    ``sample_fields`` get the same treatment (so ``gt_img``/``lr_img`` are on
    the device as float images).

    Args:
        sample_fields (Sequence[str]): data-sample image fields to convert.
            Default: ``('gt_img', 'lr_img')``.
        non_blocking (bool): passed to ``Tensor.to``.
    """

    def __init__(self,
                 sample_fields: Sequence[str] = ('gt_img', 'lr_img'),
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        self.sample_fields = tuple(sample_fields)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data.get('inputs')
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(t.shape) for t in inputs}
            if len(shapes) > 1:
                raise ValueError(
                    f'cannot batch inputs of different sizes {sorted(shapes)};'
                    ' crop to a fixed size in the pipeline or use '
                    'batch_size=1.')
            inputs = torch.stack(list(inputs)) if inputs else None
        if inputs is not None:
            if inputs.dim() == 3:
                inputs = inputs[None]
            inputs = _to_float(inputs)
        samples: Optional[List[DataSample]] = data.get('data_samples')
        if samples is not None:
            for sample in samples:
                for field in self.sample_fields:
                    if field in sample:
                        sample.set_field(
                            _to_float(sample.get(field)), field)
        return dict(inputs=inputs, data_samples=samples)
