# Copyright (c) invtoolbox contributors. All rights reserved.
"""mmengine metrics, registered in ``invtoolbox.registry.METRICS``."""
from .base_sample_wise_metric import BaseSampleWiseMetric, get_field
from .bicubic_baseline import BicubicBaselinePSNR
from .bpp import BPP
from .invertibility_error import InvertibilityError, invertibility_error
from .mae import MAE
from .ms_ssim import MSSSIM
from .psnr import PSNR
from .isp_baseline import SyntheticISPBaseline
from .jpeg_same_rate import JPEGSameRateBaseline, jpeg_at_rate
from .ric import RICMetric, RepeatReferenceBaseline
from .ssim import SSIM
from .views import ViewPSNR, ViewSSIM

__all__ = [
    'BaseSampleWiseMetric', 'get_field', 'PSNR', 'SSIM', 'MSSSIM', 'MAE',
    'BPP', 'InvertibilityError', 'invertibility_error', 'BicubicBaselinePSNR',
    'RICMetric', 'RepeatReferenceBaseline', 'SyntheticISPBaseline', 'JPEGSameRateBaseline',
    'jpeg_at_rate', 'ViewPSNR', 'ViewSSIM'
]
