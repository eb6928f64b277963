# Copyright (c) invtoolbox contributors. All rights reserved.
from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from invtoolbox.registry import METRICS
from .base_sample_wise_metric import get_field


@METRICS.register_module()
class BPP(BaseMetric):
    """Bits per pixel of a compressed representation, averaged over images.

    ``bpp = num_bytes * 8 / (H * W)`` per image, where ``num_bytes`` is the
    recorded size of everything a decoder needs (a real JPEG/WebP file, or the
    entropy-coded strings of a learned codec) and ``H x W`` is the size of the
    original image. The mean of the per-image values is reported as
    ``'bpp'`` (the CompressAI / Kodak convention).

    Each data sample (dict or object) must hold:

    - ``bytes_key`` (default ``'num_bytes'``): an int, a scalar tensor, or a
      list of them (summed, e.g. the ``y`` and ``z`` strings of a
      hyperprior codec);
    - the image size: ``shape_key`` (default ``'ori_shape'``, ``(H, W)`` or
      ``(H, W, C)``) if present, else the shape of ``gt_key`` (a tensor
      ``(C, H, W)`` or a numpy image ``(H, W, C)``).

    Args:
        bytes_key (str): key of the byte count.
        shape_key (str): key of the original ``(H, W[, C])`` size.
        gt_key (str): key of the ground-truth image, used when ``shape_key``
            is missing.
        collect_device (str): where results of all ranks are gathered.
        prefix (str, optional): prefix of the reported name.
    """
    default_prefix: Optional[str] = ''

    def __init__(self,
                 bytes_key: str = 'num_bytes',
                 shape_key: str = 'ori_shape',
                 gt_key: str = 'gt_img',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.bytes_key = bytes_key
        self.shape_key = shape_key
        self.gt_key = gt_key

    def _num_bytes(self, sample: Any) -> float:
        value = get_field(sample, self.bytes_key, 'BPP', 'bytes_key')
        items = value if isinstance(value, (list, tuple)) else [value]
        total = 0.0
        for item in items:
            if isinstance(item, (bytes, bytearray)):
                item = len(item)  # the compressed bytes themselves
            elif isinstance(item, torch.Tensor) and item.numel() == 1:
                item = item.item()
            elif isinstance(item, (np.ndarray, np.generic)) and item.size == 1:
                item = item.item()
            if not isinstance(item, numbers.Real) or isinstance(item, bool) \
                    or item < 0:
                raise ValueError(
                    f'BPP: {self.bytes_key!r} must be a non-negative byte '
                    'count (int, scalar tensor, bytes, or a list of those), '
                    f'got {type(item).__name__} {getattr(item, "shape", item)}')
            total += float(item)
        return total

    def _image_size(self, sample: Any) -> Tuple[int, int]:
        try:
            shape = get_field(sample, self.shape_key, 'BPP', 'shape_key')
        except ValueError:
            shape = None
        if shape is not None:
            shape = [int(s) for s in (shape.tolist() if hasattr(
                shape, 'tolist') else shape)]
            if len(shape) not in (2, 3):
                raise ValueError(
                    f'BPP: {self.shape_key!r} must be (H, W) or (H, W, C), '
                    f'got {shape}')
            h, w = shape[0], shape[1]
        else:
            try:
                gt = get_field(sample, self.gt_key, 'BPP', 'gt_key')
            except ValueError:
                raise ValueError(
                    f'BPP: data sample has neither {self.shape_key!r} nor '
                    f'{self.gt_key!r}; record the original (H, W) under '
                    'shape_key or the image under gt_key') from None
            if isinstance(gt, torch.Tensor) and gt.dim() >= 2:
                h, w = gt.shape[-2:]
            elif isinstance(gt, np.ndarray) and gt.ndim in (2, 3):
                h, w = gt.shape[:2]
            else:
                raise ValueError(
                    f'BPP: {self.gt_key!r} must be a (C, H, W) tensor or an '
                    f'(H, W[, C]) numpy image, got {type(gt).__name__} '
                    f'{getattr(gt, "shape", "")}')
        if h < 1 or w < 1:
            raise ValueError(f'BPP: image size must be positive, got {h}x{w}')
        return int(h), int(w)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store ``(num_bytes, H * W)`` of every sample."""
        for sample in data_samples:
            h, w = self._image_size(sample)
            self.results.append(
                dict(num_bytes=self._num_bytes(sample), num_pixels=h * w))

    def compute_metrics(self, results: list) -> dict:
        """Return ``{'bpp': mean over images of bytes * 8 / pixels}``."""
        return {
            'bpp':
            float(
                np.mean([
                    r['num_bytes'] * 8.0 / r['num_pixels'] for r in results
                ]))
        }
