# Copyright (c) invtoolbox contributors. All rights reserved.
"""Shared machinery of the per-image metrics."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric


def get_field(sample: Any, key: str, metric: str, option: str) -> Any:
    """Read ``key`` from a data sample.

    Args:
        sample: a dict (what mmengine's ``Evaluator`` passes, after
            ``DataSample.to_dict()``) or any object with attributes (e.g. a
            ``DataSample``). ``key`` may be a dotted path through nested dicts
            or attributes, e.g. ``'output.pred_img'``.
        key (str): the key or dotted path.
        metric (str): the metric's name, for the error message.
        option (str): the constructor option that set ``key``, e.g.
            ``'pred_key'``, for the error message.

    Raises:
        ValueError: naming the missing key, the keys that exist and the
            option to change.
    """
    value = sample
    for part in key.split('.'):
        if isinstance(value, Mapping):
            if part in value:
                value = value[part]
                continue
            available = list(value.keys())
        elif hasattr(value, part):
            value = getattr(value, part)
            continue
        elif hasattr(value, 'keys') and callable(value.keys):
            available = list(value.keys())
        else:
            available = sorted(k for k in vars(value) if not k.startswith('_')) \
                if hasattr(value, '__dict__') else []
        raise ValueError(
            f'{metric}: data sample has no {key!r} (found keys: '
            f'{", ".join(map(str, available)) or "none"}); set {option} to the '
            'key that holds it')
    return value


class BaseSampleWiseMetric(BaseMetric):
    """Base class of the metrics that compare a prediction with a ground truth image by image.

    Each data sample (a dict, or an object with attributes) must hold:

    - ``gt_key`` (default ``'gt_img'``): the ground truth,
    - ``pred_key`` (default ``'pred_img'``): the prediction,

    each a float tensor ``(C, H, W)`` (or ``(1, C, H, W)``) in [0, 1], or a
    uint8 numpy image ``(H, W, C)``; see :mod:`invtoolbox.evaluation.functional`
    for the 8-bit conventions. ``compute_metrics`` returns the mean of the
    per-image values under the key :attr:`metric` (``metric + '_Y'`` with
    ``test_y_channel=True``), prefixed by ``prefix + '/'`` when a prefix is
    given.

    Args:
        gt_key (str): key of the ground truth in each data sample.
        pred_key (str): key of the prediction in each data sample.
        crop_border (int): pixels cropped on each side before measuring
            (rescaling papers use the scale). Default: 0.
        test_y_channel (bool): measure on BT.601 Y. Default: False.
        collect_device (str): ``'cpu'`` or ``'gpu'``, where results of all
            ranks are gathered. Default: ``'cpu'``.
        prefix (str, optional): prefix of the reported names, e.g. ``'Set5'``.
    """
    #: name under which the metric is reported
    metric: str = ''
    default_prefix: Optional[str] = ''

    def __init__(self,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 crop_border: int = 0,
                 test_y_channel: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if int(crop_border) != crop_border or crop_border < 0:
            raise ValueError(
                f'{type(self).__name__}: crop_border must be a non-negative '
                f'integer, got {crop_border!r}')
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.crop_border = int(crop_border)
        self.test_y_channel = bool(test_y_channel)

    @property
    def name(self) -> str:
        """The reported name: :attr:`metric`, plus ``'_Y'`` on the Y channel."""
        return self.metric + ('_Y' if self.test_y_channel else '')

    def process_image(self, gt: Any, pred: Any) -> float:
        """Return the metric of one image pair."""
        raise NotImplementedError

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Measure every sample of a batch and store the values.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples (Sequence[dict | object]): the model's outputs, one
                per image, holding ``gt_key`` and ``pred_key``.
        """
        for sample in data_samples:
            gt = get_field(sample, self.gt_key, type(self).__name__, 'gt_key')
            pred = get_field(sample, self.pred_key, type(self).__name__,
                             'pred_key')
            self.results.append({self.name: self.process_image(gt, pred)})

    def compute_metrics(self, results: list) -> dict:
        """Average the per-image values.

        Args:
            results (list[dict]): the stored per-image values.

        Returns:
            dict[str, float]: ``{name: mean}``.
        """
        keys = results[0].keys() if results else [self.name]
        return {
            key: float(np.mean([r[key] for r in results]))
            for key in keys
        }
