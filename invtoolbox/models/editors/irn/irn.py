# Copyright (c) invtoolbox contributors. All rights reserved.
"""IRN: the invertible-rescaling model (objective, latents, test path)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ....errors import ShapeError
from ....registry import LATENTS, LOSSES, MODELS
from ....structures import DataSample
from ...base_models import InvertibleRescalingModel, ModuleCfg

__all__ = ['IRN']


@MODELS.register_module()
class IRN(InvertibleRescalingModel):
    """Invertible Image Rescaling (Xiao et al., ECCV 2020; IJCV 2022).

    The generator (:class:`IRNNet`) maps the HR image ``x`` to
    ``(LR, z)``; the model is trained with the official objective, every
    term a sum over C, H, W averaged over the batch::

        out = G(x);  LR = out[:, :c];  z = out[:, c:]
        loss_forw_fit = pixel_loss_forw(LR, lr_ref)       # 4 * l2 (x2), l1 for the finetune
        loss_forw_ce  = latent_loss(z)                    # 1 * sum(z^2) / N
        LR_q = Quantization(LR)   [+ y_noise_scale * N(0, 1) with prob. y_noise_prob]
        x_hat = G^-1(cat(LR_q, gaussian_scale * N(0, 1)))[:, :3]
        loss_back_rec = pixel_loss_back(x_hat, x)         # 1 * Charbonnier

    (``c`` = 3; 1 for IRN-Color, whose ``lr_ref`` is the grey image and
    whose ``gaussian_scale`` is 0.) Gradient clipping (max-norm 10), Adam
    and the step schedule live in the config's ``optim_wrapper`` and
    ``param_scheduler``.

    **Reproducible latents.** The training latents (and the y-noise) are
    drawn from a CPU ``torch.Generator`` seeded with ``(seed, iteration,
    rank)``, the iteration read from mmengine's ``MessageHub`` (``'iter'``),
    so a resumed run draws exactly the latents of an uninterrupted one and
    the draws do not depend on the device. ``train_cfg.seed=None`` takes
    ``torch.initial_seed()``, which mmengine's ``randomness=dict(seed=S)``
    sets to ``S`` (and a resumed run restores from its checkpoint).

    **Test path** (``predict``): ``LR_q = Quantization(G(x)[:, :c])``, the
    latent chosen by ``test_cfg`` (``latent='gaussian'`` drawn per image
    from ``seed``, so a result does not depend on the batch it came in, or
    ``latent='zero'``), ``x_hat = clamp(G^-1(cat(LR_q, z))[:, :3], 0, 1)``.
    HR sizes must be multiples of the scale: other sizes raise a one-line
    :class:`~invtoolbox.ShapeError` (mod-crop the ground truth in the test
    pipeline, as the official test does); nothing is padded silently.

    Args:
        generator (dict): the :class:`IRNNet` config.
        pixel_loss_forw (dict, optional): ``LOSSES`` config of the LR
            guidance. Default: ``MSELoss(loss_weight=4, reduction='batch_sum')``.
        latent_loss (dict, optional): ``LOSSES`` config on ``z``.
            Default: ``LatentNLLLoss(loss_weight=1)`` (``sum(z^2)/N``).
        pixel_loss_back (dict, optional): ``LOSSES`` config of the HR
            reconstruction. Default: ``CharbonnierLoss(loss_weight=1,
            reduction='batch_sum')`` (the official "l1").
        quantization (dict): ``DEGRADATIONS`` config applied to the LR.
            Default: ``dict(type='Quantization')``.
        latent (dict): ``LATENTS`` config of the latent prior.
            Default: ``dict(type='StandardGaussian')``.
        test_codec (dict, optional): ``DEGRADATIONS`` config of a lossy
            codec the quantised LR goes through at test time (e.g.
            ``dict(type='RealJPEG', quality=30)``); see
            :meth:`set_test_codec`. Default: None (no codec).
        train_cfg (dict, optional): ``seed`` (None), ``gaussian_scale`` (1),
            ``y_noise_prob`` (0), ``y_noise_scale`` (0).
        test_cfg (dict, optional): ``latent`` (``'gaussian'``), ``seed``
            (0; None = global RNG), ``gaussian_scale`` (1).
        data_preprocessor (dict, optional): Default:
            ``dict(type='DataPreprocessor')``.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    RANDOM_LATENT = 'gaussian'
    #: train_cfg keys and their defaults (official IRN ``train`` options).
    TRAIN_CFG_DEFAULTS = dict(
        seed=None,  # latent seed; None: torch.initial_seed() (= the run's seed)
        gaussian_scale=1.0,  # std of the latent in the backward pass
        y_noise_prob=0.0,  # IJCV finetune: probability of adding noise to LR
        y_noise_scale=0.0,  # ... and its std (0.01 in IRN_x2_finetune)
    )
    #: test_cfg keys and their defaults.
    TEST_CFG_DEFAULTS = dict(
        latent='gaussian',  # 'gaussian' or 'zero'
        seed=0,  # seed of the Gaussian latent of each image; None: global RNG
        gaussian_scale=1.0,  # its std
    )

    def __init__(self,
                 generator: ModuleCfg,
                 pixel_loss_forw: ModuleCfg = dict(
                     type='MSELoss', loss_weight=4.0, reduction='batch_sum'),
                 latent_loss: ModuleCfg = dict(
                     type='LatentNLLLoss', loss_weight=1.0),
                 pixel_loss_back: ModuleCfg = dict(
                     type='CharbonnierLoss',
                     loss_weight=1.0,
                     reduction='batch_sum'),
                 quantization: ModuleCfg = dict(type='Quantization'),
                 latent: ModuleCfg = dict(type='StandardGaussian'),
                 test_codec: ModuleCfg = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: ModuleCfg = dict(type='DataPreprocessor'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            generator,
            quantization=quantization,
            test_codec=test_codec,
            data_preprocessor=data_preprocessor,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)
        self.pixel_loss_forw = self.build(LOSSES, pixel_loss_forw,
                                          'pixel_loss_forw')
        self.latent_loss = self.build(LOSSES, latent_loss, 'latent_loss')
        self.pixel_loss_back = self.build(LOSSES, pixel_loss_back,
                                          'pixel_loss_back')
        self.latent = self.build(LATENTS, latent, 'latent')
        if not 0.0 <= float(self.train_cfg['y_noise_prob']) <= 1.0:
            raise ValueError(f'{type(self).__name__}: train_cfg.y_noise_prob '
                             'must be in [0, 1], got '
                             f"{self.train_cfg['y_noise_prob']}.")

    # ------------------------------------------------------------------
    # building blocks
    # ------------------------------------------------------------------
    def sample_latent(self,
                      shape: Sequence[int],
                      like: Tensor,
                      generator: Optional[torch.Generator] = None,
                      scale: float = 1.0) -> Tensor:
        """Draw ``scale * N(0, 1)`` of ``shape`` on the CPU (from
        ``generator``), then move it to ``like``'s device and dtype."""
        z = self.latent.sample(tuple(shape), generator=generator)
        z = z.to(device=like.device, dtype=like.dtype)
        return z * scale if scale != 1.0 else z

    def forward_split(self, hr: Tensor) -> Tuple[Tensor, Tensor]:
        """``G(hr)`` split into the continuous LR ``(N, c, h, w)`` and the
        latent ``(N, C*s^2 - c, h, w)``."""
        self.check_hr_size(hr)
        out = self.generator(hr)
        c = self.lr_channels
        return out[:, :c], out[:, c:]

    def reconstruct(self, lr: Tensor, z: Tensor) -> Tensor:
        """``G^-1(cat(lr, z))[:, :C_in]``: the HR image (not clamped)."""
        out = self.generator(torch.cat((lr, z), dim=1), rev=True)
        return out[:, :self.generator.in_channels]

    def add_y_noise(self, lr_q: Tensor,
                    generator: Optional[torch.Generator]) -> Tensor:
        """IJCV finetune: with probability ``y_noise_prob`` (one draw per
        batch) add ``y_noise_scale * N(0, 1)`` to the quantised LR."""
        prob = float(self.train_cfg['y_noise_prob'])
        noise_scale = float(self.train_cfg['y_noise_scale'])
        if prob <= 0 or noise_scale == 0:
            return lr_q
        draw = torch.rand((), generator=generator).item()
        if draw >= prob:
            return lr_q
        return lr_q + self.sample_latent(lr_q.shape, lr_q, generator,
                                         noise_scale)

    def compute_losses(self,
                       hr: Tensor,
                       lr_ref: Tensor,
                       z: Optional[Tensor] = None,
                       generator: Optional[torch.Generator] = None
                       ) -> Dict[str, Tensor]:
        """The official IRN loss terms for one batch.

        Args:
            hr (Tensor): ``(N, C, H, W)`` HR images in ``[0, 1]``.
            lr_ref (Tensor): ``(N, c, H/s, W/s)`` reference LR (bicubic;
                grey for IRN-Color).
            z (Tensor, optional): the ``N(0, 1)`` draw of the backward pass,
                ``(N, C*s^2 - c, H/s, W/s)``; it is multiplied by
                ``train_cfg.gaussian_scale`` like the official
                ``gaussian_batch`` output. Default: drawn from ``generator``.
            generator (torch.Generator, optional): RNG of the latent and the
                y-noise. Default: :meth:`train_generator`.

        Returns:
            dict[str, Tensor]: ``loss_forw_fit``, ``loss_forw_ce`` (when a
            latent loss is set) and ``loss_back_rec``, each a scalar.
        """
        name = type(self).__name__
        if generator is None:
            generator = self.train_generator()
        lr, z_forw = self.forward_split(hr)
        losses: Dict[str, Tensor] = {}
        if self.pixel_loss_forw is not None:
            if lr_ref is None or tuple(lr_ref.shape) != tuple(lr.shape):
                got = None if lr_ref is None else tuple(lr_ref.shape)
                raise ShapeError(
                    f'{name}: the reference LR (data_samples lr_img) must '
                    f'have the shape of the network LR {tuple(lr.shape)}, '
                    f'got {got}; build it as the GT downscaled by '
                    f'{self.scale} (bicubic), grey for IRN-Color.')
            losses['loss_forw_fit'] = self.pixel_loss_forw(lr, lr_ref)
        if self.latent_loss is not None:
            losses['loss_forw_ce'] = self.latent_loss(z_forw)
        if self.pixel_loss_back is not None:
            scale = float(self.train_cfg['gaussian_scale'])
            if z is None:
                z = self.sample_latent(z_forw.shape, z_forw, generator, scale)
            else:
                if tuple(z.shape) != tuple(z_forw.shape):
                    raise ShapeError(f'{name}: z must have shape '
                                     f'{tuple(z_forw.shape)}, got '
                                     f'{tuple(z.shape)}.')
                z = z.to(z_forw) * scale
            lr_q = self.add_y_noise(self.quantization(lr), generator)
            hr_rec = self.reconstruct(lr_q, z)
            losses['loss_back_rec'] = self.pixel_loss_back(hr_rec, hr)
        return losses

    # ------------------------------------------------------------------
    # mmengine interface
    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor,
             data_samples: Optional[List[DataSample]] = None
             ) -> Dict[str, Tensor]:
        """Training losses of a batch of HR ``inputs`` ``(N, C, H, W)`` in
        ``[0, 1]`` (see :meth:`compute_losses`); ``data_samples`` carry the
        reference LR ``lr_img``."""
        lr_ref = None
        if self.pixel_loss_forw is not None:
            lr_ref = self.reference_lr(data_samples, inputs)
        return self.compute_losses(
            inputs, lr_ref, generator=self.next_train_generator())
