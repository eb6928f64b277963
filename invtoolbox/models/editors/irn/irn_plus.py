# Copyright (c) invtoolbox contributors. All rights reserved.
"""IRN+: IRN x4 finetuned with a discriminator and a perceptual loss."""
from __future__ import annotations

from typing import Dict, Optional

import torch
from mmengine.optim import OptimWrapperDict
from torch import Tensor, nn

from ....registry import LOSSES, MODELS
from ...base_models import ModuleCfg
from .irn import IRN

__all__ = ['IRNPlus']

#: extra train_cfg keys of IRN+ and their official values.
PLUS_TRAIN_CFG_DEFAULTS = dict(
    disc_init_steps=5000,  # official D_init_iters: G frozen before this
    disc_steps=1,  # official D_update_ratio: G updated every n iterations
)


def _set_requires_grad(module: nn.Module, flag: bool) -> None:
    for param in module.parameters():
        param.requires_grad_(flag)


@MODELS.register_module()
class IRNPlus(IRN):
    """IRN+ (IRN paper, section 3.5 / official ``IRNpModel``).

    The IRN x4 generator, initialised from ``IRN_x4``, is finetuned so that
    upscaled images look real: the latent loss is replaced by an adversarial
    one. One :meth:`train_step` (iteration ``t``, counted from 0 like
    mmengine):

    1. generator (only when ``t >= disc_init_steps`` and ``(t + 1) %
       disc_steps == 0``; the discriminator's parameters are frozen)::

           LR = G(x)[:, :3];  x_hat = G^-1(cat(Quant(LR), N(0, 1)))
           loss_forw_fit = pixel_loss_forw(LR, lr_ref)    # 16 * l2
           loss_back_rec = pixel_loss_back(x_hat, x)      # 0.01 * Charbonnier
           loss_back_fea = perceptual_loss(x_hat, x)      # 0.01 * Charbonnier(VGG19 conv5_4)
           loss_back_gan = gan_loss(D(x_hat), real)       # 1 * BCE

       one step of ``optim_wrapper['generator']`` (clip 10);
    2. discriminator, every iteration: ``loss_disc = BCE(D(x), real) +
       BCE(D(x_hat.detach()), fake)``, one step of
       ``optim_wrapper['discriminator']`` (no clipping).

    The optimiser wrapper must be an ``OptimWrapperDict`` with the keys
    ``'generator'`` and ``'discriminator'``. Test-time behaviour is IRN's.

    Args:
        generator (dict): the :class:`IRNNet` config (IRN x4).
        discriminator (dict): the :class:`VGGStyleDiscriminator` config.
        gan_loss (dict): ``LOSSES`` config.
            Default: ``GANLoss(gan_type='vanilla', loss_weight=1)``.
        perceptual_loss (dict, optional): ``LOSSES`` config of the feature
            loss (``PerceptualLoss`` with a local VGG19 weights file), or
            None to train without it.
        pixel_loss_forw (dict): Default: ``MSELoss(16, 'batch_sum')``.
        pixel_loss_back (dict): Default: ``CharbonnierLoss(0.01,
            'batch_sum')``.
        latent_loss (dict, optional): Default: None (IRN+ has none).
        train_cfg (dict, optional): IRN's keys plus ``disc_init_steps``
            (5000) and ``disc_steps`` (1).
        **kwargs: the other :class:`IRN` arguments.
    """

    TRAIN_CFG_DEFAULTS = dict(IRN.TRAIN_CFG_DEFAULTS,
                              **PLUS_TRAIN_CFG_DEFAULTS)

    def __init__(self,
                 generator: ModuleCfg,
                 discriminator: ModuleCfg,
                 gan_loss: ModuleCfg = dict(
                     type='GANLoss', gan_type='vanilla', loss_weight=1.0),
                 perceptual_loss: ModuleCfg = None,
                 pixel_loss_forw: ModuleCfg = dict(
                     type='MSELoss', loss_weight=16.0,
                     reduction='batch_sum'),
                 pixel_loss_back: ModuleCfg = dict(
                     type='CharbonnierLoss',
                     loss_weight=0.01,
                     reduction='batch_sum'),
                 latent_loss: ModuleCfg = None,
                 train_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            generator,
            pixel_loss_forw=pixel_loss_forw,
            latent_loss=latent_loss,
            pixel_loss_back=pixel_loss_back,
            train_cfg=train_cfg,
            **kwargs)
        for key in PLUS_TRAIN_CFG_DEFAULTS:
            self.train_cfg[key] = int(self.train_cfg[key])
        if self.train_cfg['disc_steps'] < 1 or \
                self.train_cfg['disc_init_steps'] < 0:
            raise ValueError(
                'IRNPlus: train_cfg.disc_steps must be >= 1 and '
                f"disc_init_steps >= 0, got disc_steps="
                f"{self.train_cfg['disc_steps']}, disc_init_steps="
                f"{self.train_cfg['disc_init_steps']}.")
        self.discriminator = self.build(MODELS, discriminator,
                                        'discriminator')
        if self.discriminator is None:
            raise ValueError('IRNPlus needs a discriminator config, e.g. '
                             "dict(type='VGGStyleDiscriminator').")
        self.gan_loss = self.build(LOSSES, gan_loss, 'gan_loss')
        self.perceptual_loss = self.build(LOSSES, perceptual_loss,
                                          'perceptual_loss')

    def generator_updates(self, iteration: int) -> bool:
        """Whether the generator is trained at ``iteration`` (0-based)."""
        return (iteration >= self.train_cfg['disc_init_steps'] and
                (iteration + 1) % self.train_cfg['disc_steps'] == 0)

    def generator_losses(self, hr: Tensor, lr_ref: Tensor, fake: Tensor,
                         lr: Tensor, z_forw: Tensor) -> Dict[str, Tensor]:
        """The generator's loss terms for a batch (see the class doc)."""
        losses: Dict[str, Tensor] = {}
        if self.pixel_loss_forw is not None:
            losses['loss_forw_fit'] = self.pixel_loss_forw(lr, lr_ref)
        if self.latent_loss is not None:
            losses['loss_forw_ce'] = self.latent_loss(z_forw)
        if self.pixel_loss_back is not None:
            losses['loss_back_rec'] = self.pixel_loss_back(fake, hr)
        if self.perceptual_loss is not None:
            losses['loss_back_fea'] = self.perceptual_loss(fake, hr)
        losses['loss_back_gan'] = self.gan_loss(
            self.discriminator(fake), True, is_disc=False)
        return losses

    def _fake(self, hr: Tensor, generator: torch.Generator):
        lr, z_forw = self.forward_split(hr)
        z = self.sample_latent(z_forw.shape, z_forw, generator,
                               float(self.train_cfg['gaussian_scale']))
        lr_q = self.add_y_noise(self.quantization(lr), generator)
        return self.reconstruct(lr_q, z), lr, z_forw

    def train_step(self, data, optim_wrapper: OptimWrapperDict
                   ) -> Dict[str, Tensor]:
        """One generator step (after the warm-up) and one discriminator
        step; returns the log variables."""
        if not isinstance(optim_wrapper, OptimWrapperDict):
            self.check_optim_wrappers(optim_wrapper,
                                      ['generator', 'discriminator'])
        return super().train_step(data, optim_wrapper)

    def train_step_multi(self, data: dict, optim_wrapper: OptimWrapperDict
                         ) -> Dict[str, Tensor]:
        """See the class docstring; ``data`` is preprocessed."""
        self.check_optim_wrappers(optim_wrapper,
                                  ['generator', 'discriminator'])
        hr, samples = data['inputs'], data['data_samples']
        iteration = self.current_iteration()
        rng = self.next_train_generator()
        log_vars: Dict[str, Tensor] = {}

        _set_requires_grad(self.discriminator, False)
        if self.generator_updates(iteration):
            lr_ref = None
            if self.pixel_loss_forw is not None:
                lr_ref = self.reference_lr(samples, hr)
            state = {}

            def generator_losses():
                fake, lr, z_forw = self._fake(hr, rng)
                state['fake'] = fake
                return self.generator_losses(hr, lr_ref, fake, lr, z_forw)

            log_vars.update(
                self.optimizer_step(optim_wrapper['generator'],
                                    self.generator, generator_losses))
            fake = state['fake']
        else:
            with torch.no_grad():
                fake, _, _ = self._fake(hr, rng)

        _set_requires_grad(self.discriminator, True)

        def discriminator_losses():
            loss_real = self.gan_loss(
                self.discriminator(hr), True, is_disc=True)
            loss_fake = self.gan_loss(
                self.discriminator(fake.detach()), False, is_disc=True)
            return dict(loss_disc=loss_real + loss_fake)

        log_d = self.optimizer_step(optim_wrapper['discriminator'],
                                    self.discriminator, discriminator_losses)
        log_vars['loss_disc'] = log_d['loss_disc']
        return log_vars
