# Copyright (c) invtoolbox contributors. All rights reserved.
from typing import Any

from invtoolbox.registry import METRICS
from ..functional import psnr
from .base_sample_wise_metric import BaseSampleWiseMetric


@METRICS.register_module()
class PSNR(BaseSampleWiseMetric):
    """Peak signal-to-noise ratio in dB, averaged over images.

    Each image pair is measured with :func:`invtoolbox.evaluation.functional.psnr`
    on 8-bit images (float tensors are rounded with ``round(x * 255)``).
    Reported as ``'PSNR'`` (``'PSNR_Y'`` with ``test_y_channel=True``).

    Example config (the rescaling-paper protocol at x4)::

        val_evaluator = [
            dict(type='PSNR', crop_border=4, test_y_channel=True),
            dict(type='SSIM', crop_border=4, test_y_channel=True),
        ]

    Args: see :class:`BaseSampleWiseMetric` (``gt_key='gt_img'``,
        ``pred_key='pred_img'``, ``crop_border``, ``test_y_channel``,
        ``collect_device``, ``prefix``).
    """
    metric = 'PSNR'

    def process_image(self, gt: Any, pred: Any) -> float:
        return psnr(gt, pred, crop_border=self.crop_border,
                    test_y_channel=self.test_y_channel)
