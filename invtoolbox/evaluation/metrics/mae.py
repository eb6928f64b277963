# Copyright (c) invtoolbox contributors. All rights reserved.
from typing import Any

from invtoolbox.registry import METRICS
from ..functional import mae
from .base_sample_wise_metric import BaseSampleWiseMetric


@METRICS.register_module()
class MAE(BaseSampleWiseMetric):
    """Mean absolute error divided by the peak value (so in [0, 1]).

    By default on 8-bit images, divided by 255; ``quantize=False,
    max_value=1.0`` gives the mean absolute error of float data in [0, 1].
    See :func:`invtoolbox.evaluation.functional.mae`. Reported as ``'MAE'``
    (``'MAE_Y'`` with ``test_y_channel=True``). For the un-rounded error of
    an inverse pass use :class:`InvertibilityError`.

    Args: see :class:`BaseSampleWiseMetric`.
    """
    metric = 'MAE'

    def process_image(self, gt: Any, pred: Any) -> float:
        return mae(gt, pred, **self.measure_options)
