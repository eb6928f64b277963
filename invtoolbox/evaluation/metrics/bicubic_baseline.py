# Copyright (c) invtoolbox contributors. All rights reserved.
"""The bicubic down/up-scaling baseline, measured on the evaluated images."""
from typing import Any, Optional

import numpy as np
import torch

from invtoolbox.registry import METRICS
from ...utils.imresize import imresize
from ..functional import psnr
from .base_sample_wise_metric import BaseSampleWiseMetric, get_field


def _to_hwc_float(img: Any) -> np.ndarray:
    """(C, H, W) / (1, C, H, W) float tensor in [0, 1] or uint8 HWC -> HWC float."""
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().float()
        if img.dim() == 4:
            img = img[0]
        return np.round(img.clamp(0, 1).permute(1, 2, 0).numpy() *
                        255.) / 255.
    array = np.asarray(img)
    return array.astype(np.float64) / 255. if array.dtype == np.uint8 \
        else array.astype(np.float64)


@METRICS.register_module()
class BicubicBaselinePSNR(BaseSampleWiseMetric):
    """PSNR of the bicubic baseline on the same ground-truth images.

    Each ground truth is downscaled by ``1/scale`` with MATLAB bicubic
    (antialiased), rounded to 8 bits (a saved LR image), upscaled back, and
    compared with the ground truth exactly as :class:`PSNR` compares the
    model's output (same ``crop_border`` / ``test_y_channel``). Put it next to
    ``PSNR`` in an evaluator to print the model's score beside the baseline
    the rescaling papers report (their "Bicubic & Bicubic" row). Reported as
    ``'Bicubic_PSNR'`` (``'Bicubic_PSNR_Y'``).

    Args:
        scale (int): the rescaling factor.
        codec (dict, optional): a ``DEGRADATIONS`` codec config (e.g.
            ``dict(type='RealJPEG', quality=75)``) applied to the 8-bit
            bicubic LR before upscaling: the "Bicubic & Bicubic" row of the
            SAIN tables. Default: None.
        gt_key, crop_border, test_y_channel, collect_device, prefix: as in
            :class:`BaseSampleWiseMetric`.
    """
    metric = 'Bicubic_PSNR'

    def __init__(self,
                 scale: int,
                 gt_key: str = 'gt_img',
                 crop_border: int = 0,
                 test_y_channel: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 codec: Optional[dict] = None) -> None:
        super().__init__(gt_key=gt_key, pred_key=gt_key,
                         crop_border=crop_border,
                         test_y_channel=test_y_channel,
                         collect_device=collect_device, prefix=prefix)
        if int(scale) != scale or scale < 2:
            raise ValueError(f'BicubicBaselinePSNR: scale must be an integer '
                             f'>= 2, got {scale!r}')
        self.scale = int(scale)
        self.codec = None
        if codec is not None:
            from invtoolbox.registry import DEGRADATIONS
            self.codec = DEGRADATIONS.build(codec)

    def process(self, data_batch: Any, data_samples) -> None:
        for sample in data_samples:
            gt = _to_hwc_float(
                get_field(sample, self.gt_key, type(self).__name__, 'gt_key'))
            h, w = gt.shape[:2]
            if h % self.scale or w % self.scale:
                raise ValueError(
                    f'BicubicBaselinePSNR: image size {h}x{w} is not '
                    f'divisible by the scale {self.scale}; ModCrop the '
                    'ground truth in the test pipeline.')
            low = np.round(
                np.clip(imresize(gt, 1 / self.scale), 0, 1) * 255.) / 255.
            if self.codec is not None:
                coded = self.codec(
                    torch.from_numpy(low).permute(2, 0, 1)[None].float())
                low = coded[0].permute(1, 2, 0).double().numpy()
            up = np.clip(imresize(low, self.scale), 0, 1)
            to_u8 = (lambda a: np.round(a * 255.).astype(np.uint8))
            self.results.append({
                self.name:
                psnr(to_u8(gt), to_u8(up), crop_border=self.crop_border,
                     test_y_channel=self.test_y_channel)
            })
