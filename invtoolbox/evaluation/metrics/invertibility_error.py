# Copyright (c) invtoolbox contributors. All rights reserved.
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from invtoolbox.errors import ShapeError
from invtoolbox.registry import METRICS
from .base_sample_wise_metric import get_field


def _as_float64(value: Any, key: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    if isinstance(value, np.ndarray):
        return value.astype(np.float64)
    raise ValueError(f'InvertibilityError: {key!r} must be a tensor or a '
                     f'numpy array, got {type(value).__name__}')


def invertibility_error(x, x_rec) -> Tuple[float, float]:
    """Max and mean of ``|x_rec - x|``, in float64, without any rounding.

    Args:
        x (torch.Tensor | np.ndarray): the input of the forward pass, e.g.
            ``(C, H, W)`` in [0, 1].
        x_rec (torch.Tensor | np.ndarray): ``inverse(forward(x))``, same shape.

    Returns:
        tuple[float, float]: ``(max_abs_error, mean_abs_error)``.
    """
    a = _as_float64(x, 'input')
    b = _as_float64(x_rec, 'reconstruction')
    if a.shape != b.shape:
        raise ShapeError(
            f'InvertibilityError: input has shape {a.shape} but the '
            f'reconstruction has {b.shape}; they must match')
    diff = np.abs(b - a)
    return float(diff.max()), float(diff.mean())


@METRICS.register_module()
class InvertibilityError(BaseMetric):
    """How exactly an invertible network inverts: ``|inverse(forward(x)) - x|``.

    Measured in the float domain of the tensors ([0, 1] images), with no
    clamping or 8-bit rounding, so it shows float round-off (about 1e-6 in
    float32) and any real non-invertibility. Reported as
    ``'InvertibilityMaxError'`` (the largest absolute difference over all
    images) and ``'InvertibilityMeanError'`` (mean over images of the mean
    absolute difference).

    Each data sample (dict or object) must hold ``input_key`` and
    ``reconstruction_key``: tensors (or numpy arrays) of the same shape.

    Args:
        input_key (str): key of the network input. Default: ``'input'``.
        reconstruction_key (str): key of ``inverse(forward(input))``.
            Default: ``'reconstruction'``.
        collect_device (str): where results of all ranks are gathered.
        prefix (str, optional): prefix of the reported names.
    """
    default_prefix: Optional[str] = ''

    def __init__(self,
                 input_key: str = 'input',
                 reconstruction_key: str = 'reconstruction',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.input_key = input_key
        self.reconstruction_key = reconstruction_key

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store the max and mean absolute error of every sample."""
        for sample in data_samples:
            x = get_field(sample, self.input_key, 'InvertibilityError',
                          'input_key')
            x_rec = get_field(sample, self.reconstruction_key,
                              'InvertibilityError', 'reconstruction_key')
            max_err, mean_err = invertibility_error(x, x_rec)
            self.results.append(dict(max=max_err, mean=mean_err))

    def compute_metrics(self, results: list) -> dict:
        """Return the max of the per-image maxima and the mean of the means."""
        return {
            'InvertibilityMaxError': float(max(r['max'] for r in results)),
            'InvertibilityMeanError':
            float(np.mean([r['mean'] for r in results])),
        }
