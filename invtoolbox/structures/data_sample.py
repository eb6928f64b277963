# Copyright (c) invtoolbox contributors. All rights reserved.
"""The data structure passed between datasets, models, metrics and hooks."""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.structures import BaseDataElement


class DataSample(BaseDataElement):
    """One sample's images and meta information.

    Image fields are float tensors ``(C, H, W)`` in ``[0, 1]``, RGB, on the
    model's device once they passed the data preprocessor. Conventional
    field names (read by losses, metrics and the visualisation hook):

    - ``gt_img``: the ground-truth image (e.g. the HR image);
    - ``lr_img``: the reference low-resolution / embedding target (e.g. the
      bicubic LR image IRN's forward loss compares with);
    - ``pred_img``: the model's restoration of ``gt_img``;
    - ``pred_lr``: the image the model produced on the way (the LR it
      ships, the embedding);
    - ``num_bytes`` (int): compressed size, when a real codec ran.

    Meta information (``sample.metainfo``): ``img_path``, ``key`` (a short
    name, e.g. the file stem), ``ori_shape`` (H, W before any crop),
    ``scale``.

    Example:
        >>> sample = DataSample(gt_img=torch.rand(3, 8, 8),
        ...                     metainfo=dict(key='baby'))
        >>> sample.gt_img.shape
        torch.Size([3, 8, 8])
    """

    @staticmethod
    def stack(samples: Sequence['DataSample'], field: str) -> torch.Tensor:
        """Stack one image field of several samples into an NCHW batch.

        Raises:
            ValueError: when a sample lacks the field or sizes differ, naming
                the field and the offending shapes.
        """
        missing = [i for i, s in enumerate(samples) if field not in s]
        if missing:
            raise ValueError(
                f'data sample(s) {missing} have no {field!r} field; check the '
                'dataset pipeline (PackInputs keys).')
        tensors = [s.get(field) for s in samples]
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) > 1:
            raise ValueError(
                f'cannot batch {field!r} of different sizes {sorted(shapes)}; '
                'crop to a fixed size in the pipeline or use batch_size=1.')
        return torch.stack(tensors)
