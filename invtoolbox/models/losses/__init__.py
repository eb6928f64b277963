# Copyright (c) invtoolbox contributors. All rights reserved.
"""Losses (``LOSSES``): pixel, frequency, perceptual, adversarial, latent and
rate terms, with the official IRN/SAIN/IICNet reductions available."""
from .frequency_loss import FrequencyLoss
from .gan_loss import GANLoss
from .latent_loss import LatentNLLLoss
from .ms_ssim_loss import MSSSIMLoss, ms_ssim_torch
from .perceptual_loss import PerceptualLoss, VGGFeatureExtractor
from .pixelwise_loss import CharbonnierLoss, L1Loss, MSELoss
from .rate_loss import RateLoss
from .utils import REDUCTIONS, reduce_loss, weighted_reduce_loss

__all__ = [
    'L1Loss', 'MSELoss', 'CharbonnierLoss', 'FrequencyLoss', 'PerceptualLoss',
    'VGGFeatureExtractor', 'GANLoss', 'LatentNLLLoss', 'RateLoss',
    'MSSSIMLoss', 'ms_ssim_torch',
    'REDUCTIONS', 'reduce_loss', 'weighted_reduce_loss'
]
