# Copyright (c) invtoolbox contributors. All rights reserved.
"""Shared machinery of the per-image metrics."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..functional import check_metric_options, check_quantize_peak


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

    each a float tensor ``(C, H, W)`` (or ``(1, C, H, W)``) in [0, 1], or an
    integer / float numpy image ``(H, W, C)`` in [0, max_value]; see
    :mod:`invtoolbox.evaluation.functional` for the conventions. By default
    tensors are measured as 8-bit images (``round(x * 255)``, peak 255), as
    the rescaling papers do; ``quantize=False, max_value=1.0`` measures float
    data in [0, 1] as it is (e.g. RAW PSNR), ``max_value=65535`` measures
    the 16-bit image. ``compute_metrics`` returns the mean of the per-image
    values under the key :attr:`metric` (``metric + '_Y'`` with
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
        max_value (float, optional): the peak value: tensors are rounded to
            integers in [0, max_value] (``quantize=True``, an integer >= 2)
            or measured as they are with this peak (``quantize=False``).
            Default: 255 (1.0 with ``quantize=False``).
        quantize (bool): round float tensors before measuring. Default: True.

    Raises:
        ValueError: a bad ``crop_border``, ``max_value`` or ``quantize``, or
            ``quantize=True`` with a ``max_value`` that is not an integer
            >= 2 (``max_value=1.0`` needs ``quantize=False``).
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
                 prefix: Optional[str] = None,
                 max_value: Optional[float] = None,
                 quantize: bool = True) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        owner = type(self).__name__
        check_metric_options(max_value, quantize, owner)
        if quantize:
            check_quantize_peak(max_value, owner)
        if int(crop_border) != crop_border or crop_border < 0:
            raise ValueError(
                f'{type(self).__name__}: crop_border must be a non-negative '
                f'integer, got {crop_border!r}')
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.crop_border = int(crop_border)
        self.test_y_channel = bool(test_y_channel)
        self.max_value = max_value
        self.quantize = bool(quantize)

    @property
    def measure_options(self) -> dict:
        """The keyword arguments of the functional metric:
        ``crop_border``, ``test_y_channel``, ``max_value``, ``quantize``."""
        return dict(crop_border=self.crop_border,
                    test_y_channel=self.test_y_channel,
                    max_value=self.max_value, quantize=self.quantize)

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
