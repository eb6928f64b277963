# Copyright (c) invtoolbox contributors. All rights reserved.
"""Adversarial losses (IRN+'s ``GANLoss``, BasicSR/MMagic semantics)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import LOSSES

__all__ = ['GANLoss']

#: accepted spellings -> canonical gan_type ('gan' and 'wgan-gp' are the
#: names used by the official IRN/BasicSR-era option files).
_GAN_TYPES = {
    'vanilla': 'vanilla',
    'gan': 'vanilla',
    'lsgan': 'lsgan',
    'wgan': 'wgan',
    'wgan-gp': 'wgan',
    'wgan_softplus': 'wgan_softplus',
    'hinge': 'hinge',
}


@LOSSES.register_module()
class GANLoss(nn.Module):
    """GAN loss on discriminator outputs.

    ``forward(input, target_is_real, is_disc=False)`` with ``input`` the raw
    discriminator output (logits), any shape:

    - ``'vanilla'`` (alias ``'gan'``, IRN+): ``BCEWithLogits(input, label)``
      with ``label = real_label_val`` or ``fake_label_val``, mean over
      elements;
    - ``'lsgan'``: ``MSE(input, label)``;
    - ``'wgan'`` (alias ``'wgan-gp'``; the gradient penalty is separate):
      ``-mean(input)`` for real, ``mean(input)`` for fake;
    - ``'wgan_softplus'``: ``mean(softplus(-input))`` for real,
      ``mean(softplus(input))`` for fake;
    - ``'hinge'``: discriminator ``mean(relu(1 - input))`` for real,
      ``mean(relu(1 + input))`` for fake; generator ``-mean(input)``.

    ``loss_weight`` is applied to the generator loss only
    (``is_disc=False``); discriminator losses are returned unweighted
    (BasicSR / MMagic convention). IRN+: ``GANLoss('vanilla',
    loss_weight=gan_weight)`` for G and the same module with
    ``is_disc=True`` for D (``l_d = loss(D(x), True, True) +
    loss(D(x_hat), False, True)``). The relativistic variant (``'ragan'``)
    is a different use of the same BCE loss on ``D(a) - mean(D(b))`` and is
    done by the caller.

    Args:
        gan_type (str): see above. Default: ``'vanilla'``.
        real_label_val (float): target for real samples (vanilla, lsgan).
            Default: 1.0.
        fake_label_val (float): target for fake samples (vanilla, lsgan).
            Default: 0.0.
        loss_weight (float): weight of the generator loss. Default: 1.0.
    """

    def __init__(self,
                 gan_type: str = 'vanilla',
                 real_label_val: float = 1.0,
                 fake_label_val: float = 0.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        key = gan_type.lower() if isinstance(gan_type, str) else gan_type
        if key not in _GAN_TYPES:
            raise ValueError(f'GANLoss: unknown gan_type {gan_type!r}; use '
                             f'one of {tuple(_GAN_TYPES)}.')
        self.gan_type = _GAN_TYPES[key]
        self.real_label_val = float(real_label_val)
        self.fake_label_val = float(fake_label_val)
        self.loss_weight = float(loss_weight)

    def get_target_label(self, input: Tensor, target_is_real: bool) -> Tensor:
        """Label tensor shaped like ``input`` (vanilla / lsgan)."""
        value = self.real_label_val if target_is_real else self.fake_label_val
        return torch.full_like(input, value)

    def forward(self,
                input: Tensor,
                target_is_real: bool,
                is_disc: bool = False) -> Tensor:
        """Compute the loss.

        Args:
            input (Tensor): discriminator output, e.g. ``(N, 1)`` or
                ``(N, 1, h, w)`` (patch GAN); logits, not probabilities.
            target_is_real (bool): whether ``input`` should be judged real.
            is_disc (bool): computing the discriminator's loss (changes the
                hinge loss and disables ``loss_weight``). Default: False.

        Returns:
            Tensor: scalar loss.
        """
        if not isinstance(input, Tensor) or not input.is_floating_point():
            raise ValueError('GANLoss: input must be a floating-point tensor '
                             'of discriminator logits.')
        gan_type = self.gan_type
        if gan_type == 'vanilla':
            loss = F.binary_cross_entropy_with_logits(
                input, self.get_target_label(input, target_is_real))
        elif gan_type == 'lsgan':
            loss = F.mse_loss(input,
                              self.get_target_label(input, target_is_real))
        elif gan_type == 'wgan':
            loss = -input.mean() if target_is_real else input.mean()
        elif gan_type == 'wgan_softplus':
            loss = (
                F.softplus(-input).mean()
                if target_is_real else F.softplus(input).mean())
        else:  # hinge
            if is_disc:
                signed = -input if target_is_real else input
                loss = F.relu(1 + signed).mean()
            else:
                loss = -input.mean()
        return loss if is_disc else loss * self.loss_weight

    def extra_repr(self) -> str:
        return (f"gan_type='{self.gan_type}', "
                f'real_label_val={self.real_label_val}, '
                f'fake_label_val={self.fake_label_val}, '
                f'loss_weight={self.loss_weight}')
