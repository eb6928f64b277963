# Copyright (c) invtoolbox contributors. All rights reserved.
from typing import Any

from invtoolbox.registry import METRICS
from ..functional import ssim
from .base_sample_wise_metric import BaseSampleWiseMetric


@METRICS.register_module()
class SSIM(BaseSampleWiseMetric):
    """Structural similarity (MATLAB-equivalent), averaged over images.

    11 x 11 Gaussian window (sigma 1.5), valid filtering, computed per channel
    on the 8-bit images by default (``quantize=False, max_value=1.0`` for
    float data); see :func:`invtoolbox.evaluation.functional.ssim`.
    Reported as ``'SSIM'`` (``'SSIM_Y'`` with ``test_y_channel=True``).

    Args: see :class:`BaseSampleWiseMetric`.
    """
    metric = 'SSIM'

    def process_image(self, gt: Any, pred: Any) -> float:
        return ssim(gt, pred, **self.measure_options)
