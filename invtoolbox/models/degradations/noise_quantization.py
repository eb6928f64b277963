# Copyright (c) invtoolbox contributors. All rights reserved.
"""IICNet's 8-bit quantiser: additive uniform noise in training, rounding at
test time (the official ``Noise`` module)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from invtoolbox.registry import DEGRADATIONS
from ._utils import check_image_tensor

__all__ = ['NoiseQuantization']


@DEGRADATIONS.register_module()
class NoiseQuantization(nn.Module):
    """8-bit quantisation simulated by uniform noise (IICNet's ``Noise``).

    - **Training** (``noise=True``, the default while the module is in
      training mode): ``clamp(x * 255 + U(-0.5, 0.5), 0, 255) / 255``. The
      noise is additive, so the gradient is that of the clamp (1 inside
      ``[0, 255]``, 0 outside); no straight-through estimator is involved,
      exactly as in the official code.
    - **Test** (``noise=False``, the default in eval mode):
      ``clamp(round(x * 255), 0, 255) / 255`` with ``torch.round`` (round half
      to even), i.e. the 8-bit image that is stored.

    Unlike the official module (which calls ``.cuda()``), the noise works on
    any device: it is drawn from ``generator`` on the generator's device
    (the CPU for ``torch.Generator()``) and moved to ``x``'s device, so a
    seeded run draws the same noise on CPU and GPU. Without a generator the
    global RNG of ``x``'s device is used.

    Shapes:
        - Input: float tensor of any shape (e.g. ``(N, C, H, W)``), nominally
          in ``[0, 1]``.
        - Output: same shape and dtype, in ``[0, 1]``.

    Example:
        >>> quant = DEGRADATIONS.build(dict(type='NoiseQuantization'))
        >>> gen = torch.Generator().manual_seed(0)
        >>> y = quant(x, generator=gen)   # training
        >>> y = quant.eval()(x)                                       # 8 bits
    """

    def forward(self,
                x: torch.Tensor,
                generator: Optional[torch.Generator] = None,
                noise: Optional[bool] = None) -> torch.Tensor:
        """Quantise ``x`` (see the class docstring).

        Args:
            x (Tensor): float tensor in ``[0, 1]``.
            generator (torch.Generator, optional): RNG of the training noise.
            noise (bool, optional): add noise (training form) or round (test
                form). Default: ``self.training``.

        Returns:
            Tensor: the quantised tensor, same shape and dtype as ``x``.
        """
        check_image_tensor(x, type(self).__name__, rgb=False)
        if noise is None:
            noise = self.training
        scaled = x * 255.0
        if not noise:
            return torch.clamp(scaled.round(), 0, 255.) / 255.0
        device = generator.device if generator is not None else x.device
        uniform = torch.rand(x.shape, generator=generator, device=device,
                             dtype=x.dtype)
        uniform = uniform.to(x.device) - 0.5
        return torch.clamp(scaled + uniform, 0, 255.) / 255.0
