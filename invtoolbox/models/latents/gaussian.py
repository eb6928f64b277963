# Copyright (c) invtoolbox contributors. All rights reserved.
"""Standard normal latent (IRN)."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import Tensor

from ...registry import LATENTS
from .base_latent import BaseLatent

__all__ = ['StandardGaussian']

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@LATENTS.register_module()
class StandardGaussian(BaseLatent):
    """Isotropic standard normal latent ``z ~ N(0, I)``, as in IRN.

    IRN draws ``z = gaussian_scale * randn(zshape)`` for the inverse pass
    (``gaussian_scale`` = 1 for IRN/IRN+, 0 for IRN-Color) and pushes the
    forward ``z`` towards ``N(0, 1)`` with the "CE" surrogate
    ``sum(z ** 2) / N`` (:meth:`surrogate_loss`). :meth:`log_prob` and
    :meth:`nll` give the true log-likelihood, constants included.

    The module has no parameters.

    Example:
        >>> from invtoolbox.registry import LATENTS
        >>> latent = LATENTS.build(dict(type='StandardGaussian'))
        >>> g = torch.Generator().manual_seed(2)
        >>> z = latent.sample((1, 9, 32, 32), generator=g)  # IRN's randn
        >>> latent.log_prob(z).shape
        torch.Size([1])
    """

    def sample(self,
               shape: Sequence[int],
               generator: Optional[torch.Generator] = None,
               scale: float = 1.0,
               device: Optional[torch.device] = None,
               dtype: Optional[torch.dtype] = None) -> Tensor:
        """Draw ``scale * randn(shape)``.

        With ``generator=torch.Generator().manual_seed(s)`` the result is
        bit-identical to ``torch.randn(shape, generator=...)`` (and, for
        ``scale=1``, to IRN's ``gaussian_batch`` after
        ``torch.manual_seed(s)`` when ``generator`` is None).

        Args:
            shape (Sequence[int]): output shape, e.g. ``(N, C, H, W)``.
            generator (torch.Generator, optional): RNG to draw from; the
                global RNG when None. Its device must match ``device``.
            scale (float): standard deviation (IRN's ``gaussian_scale``);
                0 gives zeros. Default: 1.0.
            device (torch.device, optional): default: the CPU.
            dtype (torch.dtype, optional): default: torch's default float.

        Returns:
            Tensor: ``shape`` tensor.
        """
        shape = self._check_shape(shape, type(self).__name__)
        z = torch.randn(shape, generator=generator, device=device, dtype=dtype)
        if scale != 1.0:
            z = z * scale
        return z

    def log_prob(self, z: Tensor, elementwise: bool = False) -> Tensor:
        """``log N(z; 0, I)``.

        Args:
            z (Tensor): ``(N, ...)`` latent.
            elementwise (bool): return the per-element log-density (shape of
                ``z``) instead of its sum over the non-batch dimensions
                (shape ``(N,)``). Default: False.
        """
        self._check_z(z, type(self).__name__)
        log_p = -0.5 * z.square() - _HALF_LOG_2PI
        return self._reduce_events(log_p, elementwise)

    def surrogate_loss(self, z: Tensor, reduction: str = 'mean') -> Tensor:
        """IRN's latent "CE" loss ``sum(z ** 2) / N``.

        Exactly ``torch.sum(z ** 2) / z.shape[0]`` of the official
        ``IRNModel.loss_forward`` for the default ``reduction='mean'`` (the
        per-sample sum of squares averaged over the batch). It equals
        ``2 * (nll + const)`` and has the same gradient direction, without
        the constants.

        Args:
            z (Tensor): ``(N, ...)`` latent.
            reduction (str): ``'mean'`` (official), ``'sum'`` or ``'none'``
                (per-sample sums, shape ``(N,)``).
        """
        self._check_z(z, type(self).__name__)
        if reduction == 'mean':
            return torch.sum(z**2) / z.shape[0]
        per_sample = (z**2).reshape(z.shape[0], -1).sum(dim=1)
        if reduction == 'sum':
            return per_sample.sum()
        if reduction == 'none':
            return per_sample
        raise ValueError(f'StandardGaussian.surrogate_loss: unknown reduction '
                         f"{reduction!r}; use 'mean', 'sum' or 'none'.")
