# Copyright (c) invtoolbox contributors. All rights reserved.
"""JPEG at the rate of a learned codec: the classical baseline of the
InvCompress quick start."""
from typing import Any, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from invtoolbox.registry import METRICS
from ..functional import ms_ssim, psnr
from ..rate_distortion import get_baseline
from .base_sample_wise_metric import get_field

__all__ = ['JPEGSameRateBaseline', 'jpeg_at_rate']

#: Pillow subsampling -> the rate-distortion baseline that codes with it
_JPEG_BASELINES = {2: 'jpeg420', 0: 'jpeg444'}


def _jpeg(img: np.ndarray, quality: int, subsampling: int):
    if subsampling not in _JPEG_BASELINES:
        raise ValueError(f'JPEGSameRateBaseline: subsampling must be 2 '
                         f'(4:2:0) or 0 (4:4:4), got {subsampling!r}.')
    data, decoded = get_baseline(_JPEG_BASELINES[subsampling])(img, quality)
    return len(data), decoded


def jpeg_at_rate(img: np.ndarray, max_bytes: float,
                 subsampling: int = 2) -> tuple:
    """The best Pillow JPEG of ``img`` (uint8 ``(H, W, 3)``) that is not
    larger than ``max_bytes``: the highest quality 1..95 that fits (found
    by bisection; sizes grow with quality), or quality 1 when nothing fits.
    Returns ``(quality, num_bytes, decoded uint8)``."""
    lo, hi = 1, 95
    best = (1, ) + _jpeg(img, 1, subsampling)
    if best[1] > max_bytes:
        return best
    while lo < hi:
        mid = (lo + hi + 1) // 2
        size, dec = _jpeg(img, mid, subsampling)
        if size <= max_bytes:
            lo, best = mid, (mid, size, dec)
        else:
            hi = mid - 1
    return best


@METRICS.register_module()
class JPEGSameRateBaseline(BaseMetric):
    """Pillow JPEG (4:2:0 by default) of every ground-truth image at the
    largest quality whose file is no larger than the model's bitstream
    (``bytes_key``), evaluated like the model. Reported:
    ``JPEG_bpp``, ``JPEG_PSNR`` (8-bit, RGB, peak 255) and, for images
    larger than 160 pixels a side, ``JPEG_MS-SSIM``.

    Args:
        subsampling (int): Pillow subsampling (2 = 4:2:0, 0 = 4:4:4).
        bytes_key (str): the field with the model's byte count (an int or a
            list summed). Default ``'num_bytes'``.
        gt_key (str): the ground-truth image field (``(3, H, W)`` in
            [0, 1]). Default ``'gt_img'``.
        collect_device, prefix: as mmengine's ``BaseMetric``.
    """
    default_prefix: Optional[str] = ''

    def __init__(self,
                 subsampling: int = 2,
                 bytes_key: str = 'num_bytes',
                 gt_key: str = 'gt_img',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.subsampling = int(subsampling)
        self.bytes_key, self.gt_key = bytes_key, gt_key

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            value = get_field(sample, self.bytes_key, 'JPEGSameRateBaseline',
                              'bytes_key')
            items = value if isinstance(value, (list, tuple)) else [value]
            budget = float(sum(int(v) for v in items))
            gt = get_field(sample, self.gt_key, 'JPEGSameRateBaseline',
                           'gt_key')
            if isinstance(gt, torch.Tensor):
                gt = gt.detach().cpu().float().numpy()
            gt = np.asarray(gt)
            if gt.ndim == 3 and gt.shape[0] == 3:
                gt = gt.transpose(1, 2, 0)
            img = np.clip(np.round(gt * 255.0), 0, 255).astype(np.uint8)
            _, size, dec = jpeg_at_rate(img, budget, self.subsampling)
            h, w = img.shape[:2]
            result = dict(bpp=8.0 * size / (h * w),
                          psnr=psnr(dec, img, max_value=255))
            if min(h, w) > 160:
                result['ms_ssim'] = ms_ssim(dec, img, max_value=255)
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict:
        out = dict(JPEG_bpp=float(np.mean([r['bpp'] for r in results])),
                   JPEG_PSNR=float(np.mean([r['psnr'] for r in results])))
        ms = [r['ms_ssim'] for r in results if 'ms_ssim' in r]
        if ms:
            out['JPEG_MS-SSIM'] = float(np.mean(ms))
        return out
