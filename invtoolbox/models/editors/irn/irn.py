# Copyright (c) invtoolbox contributors. All rights reserved.
"""IRN: the invertible-rescaling model (objective, latents, test path)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from torch import Tensor, nn

from ....errors import ShapeError
from ....registry import DEGRADATIONS, LATENTS, LOSSES, MODELS
from ....structures import DataSample
from ...degradations.real_codecs import RealCodecBase

__all__ = ['IRN', 'seeded_generator']

ModuleCfg = Union[dict, nn.Module, None]
#: marks an argument that defaults to the value in ``test_cfg``.
_FROM_TEST_CFG = object()

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


def seeded_generator(*keys: int) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded from a tuple of integers.

    The integers (e.g. ``(seed, iteration, rank)``) are mixed with numpy's
    ``SeedSequence``, so neighbouring tuples give unrelated streams and the
    result does not depend on the Python version or platform.
    """
    entropy = [int(k) % (2**64) for k in keys]
    state = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
    seed = (int(state[0]) << 31) ^ int(state[1])
    return torch.Generator().manual_seed(seed)


def _build(registry, cfg: ModuleCfg) -> Optional[nn.Module]:
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return registry.build(cfg)


def _merge_cfg(given: Optional[dict], defaults: dict, name: str,
               owner: str) -> dict:
    cfg = dict(defaults)
    given = dict(given or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f'{owner}: unknown {name} key(s) {unknown}; '
                         f'valid keys: {sorted(defaults)}.')
    cfg.update(given)
    return cfg


@MODELS.register_module()
class IRN(BaseModel):
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

    #: ``test_cfg.latent`` value of the random test latent (drawn with
    #: :meth:`sample_latent`); the other value is ``'zero'``.
    random_latent = 'gaussian'

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
            data_preprocessor=_build(MODELS, data_preprocessor),
            init_cfg=init_cfg)
        name = type(self).__name__
        self.generator = _build(MODELS, generator)
        for attr in ('in_channels', 'lr_channels', 'scale'):
            if not hasattr(self.generator, attr):
                raise ValueError(
                    f'{name}: the generator must be an IRN network '
                    f'(IRNNet) exposing {attr!r}, got '
                    f'{type(self.generator).__name__}.')
        self.pixel_loss_forw = _build(LOSSES, pixel_loss_forw)
        self.latent_loss = _build(LOSSES, latent_loss)
        self.pixel_loss_back = _build(LOSSES, pixel_loss_back)
        self.quantization = _build(DEGRADATIONS, quantization)
        self.latent = _build(LATENTS, latent)
        self.test_codec = None
        self.set_test_codec(test_codec)
        self.train_cfg = _merge_cfg(train_cfg, TRAIN_CFG_DEFAULTS,
                                    'train_cfg', name)
        self.test_cfg = _merge_cfg(test_cfg, TEST_CFG_DEFAULTS, 'test_cfg',
                                   name)
        if self.test_cfg['latent'] not in ('gaussian', 'zero'):
            raise ValueError(f"{name}: test_cfg.latent must be 'gaussian' or "
                             f"'zero', got {self.test_cfg['latent']!r}.")
        if not 0.0 <= float(self.train_cfg['y_noise_prob']) <= 1.0:
            raise ValueError(f'{name}: train_cfg.y_noise_prob must be in '
                             f"[0, 1], got {self.train_cfg['y_noise_prob']}.")
        self._local_step = 0

    # ------------------------------------------------------------------
    # properties
    # ------------------------------------------------------------------
    @property
    def scale(self) -> int:
        return self.generator.scale

    @property
    def lr_channels(self) -> int:
        return self.generator.lr_channels

    @property
    def latent_channels(self) -> int:
        return self.generator.latent_channels

    # ------------------------------------------------------------------
    # randomness
    # ------------------------------------------------------------------
    def current_iteration(self) -> int:
        """The training iteration: mmengine's ``MessageHub`` ``'iter'``, or
        (outside a Runner) the number of loss computations so far."""
        it = MessageHub.get_current_instance().get_info('iter')
        return self._local_step if it is None else int(it)

    def train_generator(self,
                        iteration: Optional[int] = None) -> torch.Generator:
        """The CPU generator of the training latents of ``iteration``.

        Seeded with ``(train_cfg.seed or torch.initial_seed(), iteration,
        rank)``; see the class docstring.
        """
        seed = self.train_cfg['seed']
        if seed is None:
            seed = torch.initial_seed()
        if iteration is None:
            iteration = self.current_iteration()
        return seeded_generator(seed, iteration, get_rank())

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

    # ------------------------------------------------------------------
    # building blocks
    # ------------------------------------------------------------------
    def check_hr_size(self, hr: Tensor, what: str = 'HR image') -> None:
        """One-line error unless ``hr`` is ``(N, C_in, H, W)`` with H, W
        multiples of the scale."""
        name = type(self).__name__
        c = self.generator.in_channels
        if hr.dim() != 4 or hr.shape[1] != c:
            raise ShapeError(f'{name}: expected the {what} as an (N, {c}, H, '
                             f'W) batch, got shape {tuple(hr.shape)}.')
        s = self.scale
        h, w = hr.shape[2:]
        if h % s or w % s:
            raise ShapeError(
                f'{name} (x{s}): {what} size {h}x{w} (HxW) is not divisible '
                f'by {s}; mod-crop it to {h - h % s}x{w - w % s} (e.g. '
                'invtoolbox.utils.modcrop, or a ModCrop step in the test '
                'pipeline).')

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
    # inference helpers
    # ------------------------------------------------------------------
    @torch.no_grad()
    def downscale(self, hr: Tensor) -> Tensor:
        """HR ``(N, C, H, W)`` -> the quantised LR ``(N, c, H/s, W/s)``
        (8-bit values in ``[0, 1]``) that IRN ships."""
        lr, _ = self.forward_split(hr)
        return self.quantization(lr)

    def _test_latent(self, lr: Tensor, latent: str, seed: Optional[int],
                     gaussian_scale: float) -> Tensor:
        n, _, h, w = lr.shape
        shape = (1, self.latent_channels, h, w)
        if latent == 'zero':
            return lr.new_zeros((n, ) + shape[1:])
        if latent != self.random_latent:
            raise ValueError(f"{type(self).__name__}: latent must be "
                             f"'{self.random_latent}' or 'zero', got "
                             f'{latent!r}.')
        draws = []
        for _ in range(n):
            gen = None
            if seed is not None:
                gen = torch.Generator().manual_seed(int(seed))
            draws.append(self.sample_latent(shape, lr, gen, gaussian_scale))
        return torch.cat(draws, dim=0)

    @torch.no_grad()
    def upscale(self,
                lr: Tensor,
                latent: Optional[str] = None,
                seed=_FROM_TEST_CFG,
                gaussian_scale: Optional[float] = None,
                z: Optional[Tensor] = None) -> Tensor:
        """Quantised LR ``(N, c, h, w)`` -> HR ``(N, C, h*s, w*s)``, not
        clamped.

        Args:
            lr (Tensor): the LR image(s) in ``[0, 1]``.
            latent (str, optional): ``'gaussian'`` or ``'zero'``. Default:
                ``test_cfg.latent``.
            seed (int, optional): seed of each image's Gaussian latent;
                ``None`` uses the global RNG. Default: ``test_cfg.seed``.
            gaussian_scale (float, optional): std of the Gaussian latent.
                Default: ``test_cfg.gaussian_scale``.
            z (Tensor, optional): an explicit latent; overrides the above.
        """
        name = type(self).__name__
        c = self.lr_channels
        if lr.dim() != 4 or lr.shape[1] != c:
            raise ShapeError(f'{name}: expected the LR as an (N, {c}, h, w) '
                             f'batch, got shape {tuple(lr.shape)}.')
        if z is None:
            latent = self.test_cfg['latent'] if latent is None else latent
            if seed is _FROM_TEST_CFG:
                seed = self.test_cfg['seed']
            if gaussian_scale is None:
                gaussian_scale = self.test_cfg['gaussian_scale']
            z = self._test_latent(lr, latent, seed, float(gaussian_scale))
        return self.reconstruct(lr, z)

    def set_test_codec(self, codec: ModuleCfg) -> None:
        """Set the lossy codec that the LR goes through at test time
        (:meth:`transmit`): a ``DEGRADATIONS`` config or module such as
        ``dict(type='RealJPEG', quality=30)``, or ``None`` for none. The
        QF-sweep test loop (:class:`~invtoolbox.engine.CodecSweepTestLoop`)
        calls this once per quality factor."""
        if codec is None or isinstance(codec, nn.Module):
            self.test_codec = codec
        else:
            self.test_codec = _build(DEGRADATIONS, codec)

    def transmit(self, lr_q: Tensor) -> Tuple[Tensor, Optional[List[int]]]:
        """What happens to the LR between sender and receiver at test time:
        nothing, or the ``test_codec`` (e.g. real JPEG at a quality factor).
        Returns ``(received LR, byte counts or None)``."""
        if self.test_codec is None:
            return lr_q, None
        if isinstance(self.test_codec, RealCodecBase):
            out = self.test_codec.code(lr_q)
            return out.images, out.num_bytes
        return self.test_codec(lr_q), None

    # ------------------------------------------------------------------
    # mmengine interface
    # ------------------------------------------------------------------
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Run the model.

        Args:
            inputs (Tensor): ``(N, C, H, W)`` HR images in ``[0, 1]``.
            data_samples (list[DataSample], optional): with ``lr_img`` (the
                reference LR, needed for ``mode='loss'``), ``gt_img`` and
                meta information.
            mode (str): ``'loss'`` -> dict of losses; ``'predict'`` -> list
                of :class:`DataSample`; ``'tensor'`` -> the raw generator
                output ``(N, C*s^2, H/s, W/s)``.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            self.check_hr_size(inputs)
            return self.generator(inputs)
        raise ValueError(f"{type(self).__name__}.forward: mode must be "
                         f"'loss', 'predict' or 'tensor', got {mode!r}.")

    def loss(self, inputs: Tensor,
             data_samples: Optional[List[DataSample]]) -> Dict[str, Tensor]:
        """Training losses of a batch (see :meth:`compute_losses`)."""
        lr_ref = None
        if self.pixel_loss_forw is not None:
            if not data_samples:
                raise ValueError(
                    f'{type(self).__name__}: training needs data_samples '
                    'with the reference LR (lr_img); check the pipeline.')
            lr_ref = DataSample.stack(data_samples, 'lr_img').to(inputs)
        generator = self.train_generator()
        self._local_step += 1
        return self.compute_losses(inputs, lr_ref, generator=generator)

    def predict(self, inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Downscale, (transmit,) upscale; one :class:`DataSample` per image
        with ``pred_img`` (``(C, H, W)`` in ``[0, 1]``), ``pred_lr`` (the
        quantised LR ``(c, h, w)``), ``gt_img``, ``lr_img`` when given,
        ``num_bytes`` when a codec ran, and the inputs' meta information."""
        with torch.no_grad():
            lr_q = self.downscale(inputs)
            received, num_bytes = self.transmit(lr_q)
            hr = self.upscale(received).clamp(0, 1)
        outputs = []
        for i in range(inputs.shape[0]):
            sample = data_samples[i] if data_samples else None
            out = DataSample(
                metainfo=dict(sample.metainfo) if sample is not None else {})
            gt = sample.gt_img if sample is not None and 'gt_img' in sample \
                else inputs[i]
            out.set_data(dict(gt_img=gt, pred_img=hr[i], pred_lr=lr_q[i]))
            if sample is not None and 'lr_img' in sample:
                out.lr_img = sample.lr_img
            if num_bytes is not None:
                out.num_bytes = int(num_bytes[i])
            outputs.append(out)
        return outputs
