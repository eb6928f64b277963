# Copyright (c) invtoolbox contributors. All rights reserved.
"""Learnable 1-D Gaussian mixture latent (SAIN)."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from ...registry import LATENTS
from .base_latent import BaseLatent

__all__ = ['GaussianMixture']

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@LATENTS.register_module()
class GaussianMixture(BaseLatent):
    """SAIN's learnable isotropic Gaussian mixture latent.

    One 1-D mixture of ``K`` Gaussians is shared by every latent element
    (elements are i.i.d.)::

        p(z) = sum_k w_k N(z; mu_k, sigma_k^2)
        w = softmax(pi),  sigma = exp(0.5 * clamp(logvar, -20, 20))

    The parameters live in one tensor ``gmm_para`` of shape ``(3, K)`` with
    rows ``(pi, mu, logvar)``, initialised ``1e-4 * randn(3, K)``, exactly as
    the official ``GaussianMixture`` (so an official ``gmm.gmm_para`` loads
    unchanged into a module registered as ``gmm``).

    Sampling (:meth:`sample`) is the official straight-through
    Gumbel-softmax: a hard one-hot component choice whose backward pass is
    that of ``softmax((log w + g) / tau)``, times reparameterised normal
    samples of every component, so gradients reach ``pi``, ``mu`` and
    ``logvar``. SAIN trains the mixture only through this path (the backward
    reconstruction loss); :meth:`log_prob` / :meth:`nll` give the exact
    mixture likelihood for other uses.

    Args:
        num_components (int): ``K``. Default: 5 (all SAIN configs).

    Example:
        >>> from invtoolbox.registry import LATENTS
        >>> gmm = LATENTS.build(dict(type='GaussianMixture'))
        >>> z = gmm.sample((2, 9, 32, 32), generator=torch.Generator())
        >>> gmm.log_prob(z).shape
        torch.Size([2])
    """

    def __init__(self, num_components: int = 5) -> None:
        super().__init__()
        if isinstance(num_components, bool) or not isinstance(
                num_components, int) or num_components < 1:
            raise ValueError('GaussianMixture: num_components must be a '
                             f'positive int, got {num_components!r}.')
        self.num_components = num_components
        self.gmm_para = nn.Parameter(1e-4 * torch.randn(3, num_components))

    # -- mixture parameters ------------------------------------------------
    @property
    def logits(self) -> Tensor:
        """Mixture logits ``pi``, shape ``(K,)``."""
        return self.gmm_para[0]

    @property
    def means(self) -> Tensor:
        """Component means ``mu``, shape ``(K,)``."""
        return self.gmm_para[1]

    @property
    def log_vars(self) -> Tensor:
        """Clamped component log-variances, shape ``(K,)``."""
        return torch.clamp(self.gmm_para[2], -20, 20)

    @property
    def stds(self) -> Tensor:
        """Component standard deviations ``exp(0.5 * logvar)``, ``(K,)``."""
        return torch.exp(0.5 * self.log_vars)

    @property
    def weights(self) -> Tensor:
        """Mixture weights ``softmax(pi)``, shape ``(K,)``."""
        return self.logits.softmax(dim=0)

    @property
    def mean(self) -> Tensor:
        """Mean of the mixture (a 0-dim tensor)."""
        return (self.weights * self.means).sum()

    @property
    def variance(self) -> Tensor:
        """Variance of the mixture (a 0-dim tensor)."""
        second_moment = (self.weights *
                         (self.stds.square() + self.means.square())).sum()
        return second_moment - self.mean.square()

    # -- sampling ------------------------------------------------------------
    def sample(self,
               shape: Sequence[int],
               generator: Optional[torch.Generator] = None,
               scale: float = 1.0,
               device: Optional[torch.device] = None,
               dtype: Optional[torch.dtype] = None,
               tau: float = 1.0) -> Tensor:
        """Draw a reparameterised sample of ``shape`` (differentiable).

        Same computation as the official ``GaussianMixture.sample(zshape)``:

        1. ``logits = log(w)`` expanded to ``shape + (K,)``;
        2. Gumbel noise ``g = -log(E)``, ``E ~ Exp(1)`` (what
           ``F.gumbel_softmax`` draws), ``y = softmax((logits + g) / tau)``,
           hard one-hot of ``argmax y`` with the straight-through gradient
           ``onehot - y.detach() + y``;
        3. ``eps ~ N(0, 1)`` of shape ``shape + (K,)``,
           ``samples = mu + eps * sigma`` (``Normal.rsample``);
        4. ``z = scale * sum_k onehot_k * samples_k``.

        The random numbers are drawn in the official order (exponentials,
        then normals) with ``Tensor.exponential_`` / ``Tensor.normal_`` from
        ``generator`` (the global RNG when None), so a CPU generator seeded
        ``s`` reproduces the official sample taken after
        ``torch.manual_seed(s)`` bit for bit.

        Args:
            shape (Sequence[int]): latent shape, e.g. ``(N, C, H, W)``.
            generator (torch.Generator, optional): RNG (its device must be
                ``device``). Default: the global RNG.
            scale (float): multiplies the whole sample, as SAIN's
                ``gaussian_scale * gmm.sample(zshape)``. Default: 1.0.
            device (torch.device, optional): default: the parameter's.
            dtype (torch.dtype, optional): default: the parameter's.
            tau (float): Gumbel-softmax temperature of the straight-through
                gradient (the forward value is always a hard choice).
                Default: 1.0 (official).

        Returns:
            Tensor: ``shape`` tensor, differentiable w.r.t. ``gmm_para``.
        """
        shape = self._check_shape(shape, type(self).__name__)
        if tau <= 0:
            raise ValueError('GaussianMixture.sample: tau must be > 0, got '
                             f'{tau!r}.')
        device = self.gmm_para.device if device is None else device
        dtype = self.gmm_para.dtype if dtype is None else dtype
        para = self.gmm_para.to(device=device, dtype=dtype)
        k = self.num_components
        weights = para[0].softmax(dim=0)
        # torch.distributions.Categorical renormalises its probs; the
        # official code takes the log of those.
        weights = weights / weights.sum(dim=-1, keepdim=True)
        logits = weights.log().expand(*shape, k)

        full_shape = tuple(shape) + (k, )
        exponentials = torch.empty(
            full_shape, device=device,
            dtype=dtype).exponential_(generator=generator)
        gumbels = -exponentials.log()
        soft = ((logits + gumbels) / tau).softmax(dim=-1)
        index = soft.argmax(dim=-1, keepdim=True)
        hard = torch.zeros_like(soft).scatter_(-1, index, 1.0)
        onehot = hard - soft.detach() + soft

        eps = torch.empty(
            full_shape, device=device,
            dtype=dtype).normal_(generator=generator)
        std = torch.exp(0.5 * torch.clamp(para[2], -20, 20))
        samples = para[1] + eps * std
        z = (onehot * samples).sum(dim=-1)
        if scale != 1.0:
            z = z * scale
        return z

    # -- density -----------------------------------------------------------
    def log_prob(self, z: Tensor, elementwise: bool = False) -> Tensor:
        """Mixture log-density, computed stably with ``logsumexp``.

        ``log p(z) = logsumexp_k(log w_k + log N(z; mu_k, sigma_k^2))``,
        the same value as the official ``MixtureSameFamily.log_prob``.

        Args:
            z (Tensor): ``(N, ...)`` latent.
            elementwise (bool): return the per-element log-density (shape of
                ``z``) instead of its sum over the non-batch dimensions
                (shape ``(N,)``). Default: False.
        """
        self._check_z(z, type(self).__name__)
        para = self.gmm_para.to(dtype=z.dtype)
        log_w = para[0].log_softmax(dim=0)
        log_var = torch.clamp(para[2], -20, 20)
        diff = z.unsqueeze(-1) - para[1]
        log_comp = (-0.5 * diff.square() * torch.exp(-log_var) -
                    0.5 * log_var - _HALF_LOG_2PI)
        log_p = torch.logsumexp(log_comp + log_w, dim=-1)
        return self._reduce_events(log_p, elementwise)

    def extra_repr(self) -> str:
        return f'num_components={self.num_components}'
