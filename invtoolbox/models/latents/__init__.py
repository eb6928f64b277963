# Copyright (c) invtoolbox contributors. All rights reserved.
"""Latent models (``LATENTS``): the distribution of the ``z`` that an
invertible rescaling network splits off."""
from .base_latent import BaseLatent
from .gaussian import StandardGaussian
from .gaussian_mixture import GaussianMixture

__all__ = ['BaseLatent', 'StandardGaussian', 'GaussianMixture']
