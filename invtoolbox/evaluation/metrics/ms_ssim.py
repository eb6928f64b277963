# Copyright (c) invtoolbox contributors. All rights reserved.
from typing import Any

from invtoolbox.registry import METRICS
from ..functional import ms_ssim
from .base_sample_wise_metric import BaseSampleWiseMetric


@METRICS.register_module()
class MSSSIM(BaseSampleWiseMetric):
    """Multi-scale SSIM (5 scales, Wang et al. 2003), averaged over images.

    The pytorch_msssim / CompressAI convention, by default on 8-bit [0, 255]
    values (``quantize`` / ``max_value`` as for :class:`PSNR`); see
    :func:`invtoolbox.evaluation.functional.ms_ssim`. Images must be larger
    than 160 pixels on their smaller side (after ``crop_border``).
    Reported as ``'MS-SSIM'`` (``'MS-SSIM_Y'`` with ``test_y_channel=True``).

    Args: see :class:`BaseSampleWiseMetric`.
    """
    metric = 'MS-SSIM'

    def process_image(self, gt: Any, pred: Any) -> float:
        return ms_ssim(gt, pred, **self.measure_options)
