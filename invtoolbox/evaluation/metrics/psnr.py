# Copyright (c) invtoolbox contributors. All rights reserved.
from typing import Any

from invtoolbox.registry import METRICS
from ..functional import psnr
from .base_sample_wise_metric import BaseSampleWiseMetric


@METRICS.register_module()
class PSNR(BaseSampleWiseMetric):
    """Peak signal-to-noise ratio in dB, averaged over images.

    Each image pair is measured with :func:`invtoolbox.evaluation.functional.psnr`,
    by default on 8-bit images (float tensors are rounded with
    ``round(x * 255)``). Reported as ``'PSNR'`` (``'PSNR_Y'`` with
    ``test_y_channel=True``).

    Example configs: the rescaling-paper protocol at x4, and RAW PSNR on
    float [0, 1] data (no 8-bit rounding)::

        val_evaluator = [
            dict(type='PSNR', crop_border=4, test_y_channel=True),
            dict(type='SSIM', crop_border=4, test_y_channel=True),
        ]
        raw_evaluator = dict(type='PSNR', quantize=False, max_value=1.0)

    Args: see :class:`BaseSampleWiseMetric` (``gt_key='gt_img'``,
        ``pred_key='pred_img'``, ``crop_border``, ``test_y_channel``,
        ``collect_device``, ``prefix``, ``max_value``, ``quantize``).
    """
    metric = 'PSNR'

    def process_image(self, gt: Any, pred: Any) -> float:
        return psnr(gt, pred, **self.measure_options)
