# Copyright (c) invtoolbox contributors. All rights reserved.
"""Metrics over a stack of rendered views (novel-view synthesis)."""
from typing import Any

from invtoolbox.registry import METRICS
from ..functional import psnr, ssim
from .psnr import PSNR
from .ssim import SSIM

__all__ = ['ViewPSNR', 'ViewSSIM']


def _mean_over_views(measure, gt: Any, pred: Any, options: dict,
                     owner: str) -> float:
    """``measure`` of every view pair of two ``(V, C, H, W)`` stacks,
    averaged."""
    for value in (gt, pred):
        if not hasattr(value, 'dim') or value.dim() != 4:
            shape = tuple(getattr(value, 'shape', ())) or type(value).__name__
            raise ValueError(f'{owner}: expected the views as a (V, C, H, W) '
                             f'tensor, got {shape}.')
    values = [measure(g, p, **options) for g, p in zip(gt, pred)]
    return float(sum(values) / len(values))


@METRICS.register_module()
class ViewPSNR(PSNR):
    """PSNR of rendered views, averaged over the views of a sample, then
    over the samples (the official novel-view ``render_test.py``: one PSNR
    per rendered view, then the mean).

    Each data sample holds ``pred_key`` / ``gt_key`` (default
    ``'pred_views'`` / ``'gt_views'``) as ``(V, 3, H, W)`` float tensors in
    [0, 1]; every view is measured as an 8-bit image by default. Reported
    as ``'view_PSNR'``. Other arguments: see :class:`PSNR`.
    """

    metric = 'view_PSNR'

    def __init__(self, gt_key: str = 'gt_views',
                 pred_key: str = 'pred_views', **kwargs) -> None:
        super().__init__(gt_key=gt_key, pred_key=pred_key, **kwargs)

    def process_image(self, gt: Any, pred: Any) -> float:
        return _mean_over_views(psnr, gt, pred, self.measure_options,
                                type(self).__name__)


@METRICS.register_module()
class ViewSSIM(SSIM):
    """SSIM of rendered views, averaged over the views of a sample, then
    over the samples (see :class:`ViewPSNR`). Reported as
    ``'view_SSIM'``."""

    metric = 'view_SSIM'

    def __init__(self, gt_key: str = 'gt_views',
                 pred_key: str = 'pred_views', **kwargs) -> None:
        super().__init__(gt_key=gt_key, pred_key=pred_key, **kwargs)

    def process_image(self, gt: Any, pred: Any) -> float:
        return _mean_over_views(ssim, gt, pred, self.measure_options,
                                type(self).__name__)
