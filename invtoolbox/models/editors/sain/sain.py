# Copyright (c) invtoolbox contributors. All rights reserved.
"""SAIN: the compression-robust invertible rescaling model (objective,
codecs, latents, test path)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ....errors import ShapeError
from ....registry import DEGRADATIONS, LOSSES, MODELS
from ....structures import DataSample
from ...base_models import InvertibleRescalingModel, ModuleCfg
from ...degradations.real_codecs import RealCodecBase

__all__ = ['SAIN']

#: the loss terms averaged in the official total (see SAIN.parse_losses).
LR_TERMS = ('loss_fit1', 'loss_fit2', 'loss_reg', 'loss_rel')


def _build_codec(cfg: ModuleCfg, what: str, real_only: bool):
    """Build a codec from a ``DEGRADATIONS`` config with one-line errors."""
    if cfg is None or isinstance(cfg, nn.Module):
        module = cfg
    else:
        if not isinstance(cfg, dict) or not isinstance(cfg.get('type'), str):
            raise ValueError(
                f"SAIN: {what} must be a config dict such as "
                f"dict(type='RealJPEG', quality=75), got {cfg!r}.")
        if DEGRADATIONS.get(cfg['type']) is None:
            raise ValueError(
                f"SAIN: unknown {what} type {cfg['type']!r}; use 'RealJPEG' "
                "or 'RealWebP' (real codecs, quality 1..100)" +
                ('.' if real_only else ", or 'DiffJPEG'."))
        module = DEGRADATIONS.build(cfg)  # RealJPEG etc. check the quality
    if real_only and not isinstance(module, RealCodecBase):
        raise ValueError(
            f'SAIN: {what} must be a real codec (RealJPEG or RealWebP), got '
            f'{type(module).__name__}; the differentiable simulator goes in '
            'diff_codec.')
    return module


@MODELS.register_module()
class SAIN(InvertibleRescalingModel):
    """Self-Asymmetric Invertible Network (Yang et al., AAAI 2023): IRN made
    robust to JPEG / WebP compression of the LR.

    The generator (:class:`SAINNet`) returns the simulated compressed LR and
    the latent ``(y_hat, z) = out`` and, from inside its last enhanced block,
    the high-quality LR ``y`` that is shipped. The objective is the official
    one (``model.py::optimize_parameters``), every term a sum over C, H, W
    averaged over the batch, ``lambda`` = ``pixel_loss_forw.loss_weight``
    (``scale**2``: 4 for x2, 16 for x4)::

        out, y = G(x);  y_hat = out[:, :3]
        loss_fit1 = lambda * l2(y, lr_ref)                    # HQ LR guidance
        y_q  = Quant(y);  y_c = DiffJPEG_75(y_q)              # differentiable codec
        x_hat, y_rec = G^-1(cat(y_c, gaussian_scale * z)),  z ~ GMM
        loss_rec  = Charbonnier(x_hat[:, :3], x)              # HR reconstruction
        loss_fit2 = lambda * l2(y_hat, Codec(lr_ref))         # simulator vs real codec
        loss_reg  = lambda * l2(y_q, y_rec)                   # LR recovered by g^-1
        loss_rel  = lambda * l2(y_hat, Codec(y_q))            # simulator vs real codec of y
        loss = loss_rec + (loss_fit1 + loss_fit2 + loss_reg + loss_rel) / 4

    ``Codec`` (``train_codec``) is real JPEG or WebP (Pillow) at QF 75; its
    outputs are detached targets computed on copies (the inputs are never
    modified). The logged ``loss_*`` values are the official weighted terms
    and ``loss`` is the official total (:meth:`parse_losses`).

    **Where the latent lives.** The Gaussian mixture belongs to the
    generator (``generator.gmm``, as ``gmm.gmm_para`` belongs to the
    official ``SAINet``), so one converted official checkpoint fills the
    network and the mixture; :attr:`latent` is that module. It is learnt
    only through the reparameterised samples of the backward pass (no
    likelihood term), as in the official code.

    **Randomness.** As for every editor (:class:`BaseEditModel`): the
    training latents come from a CPU
    generator seeded with ``(seed, iteration, rank)``; the test latent of
    each image from ``test_cfg.seed``.

    **Real-codec targets off the critical path.** WebP encodes 20-100x
    slower than JPEG. With ``train_cfg.codec_threads=k > 0`` both targets
    are encoded in a pool of ``k`` threads (Pillow releases the GIL while it
    encodes), the bicubic-LR target while the forward pass runs and the
    ``Codec(y_q)`` target while DiffJPEG and the inverse pass run.

    **Test path** (``predict``): ``LR = Quant(y)`` -> :meth:`transmit`
    (``test_codec``, e.g. real JPEG at a quality factor; ``num_bytes`` is
    recorded) -> ``x_hat = clamp(G^-1(cat(LR', z))[:, :3], 0, 1)`` with
    ``z`` a GMM sample seeded per image (``test_cfg.latent='gmm'``, the
    official choice) or zeros (``'zero'``). The QF-sweep loop
    (:class:`~invtoolbox.engine.CodecSweepTestLoop`) sets the test codec per
    quality factor through :meth:`set_test_codec`. HR sizes must be
    multiples of the scale (one-line :class:`~invtoolbox.ShapeError`);
    images must be RGB (the loader drops alpha channels). LR sizes need not
    be multiples of 16: DiffJPEG pads internally.

    Args:
        generator (dict): the :class:`SAINNet` config.
        pixel_loss_forw (dict, optional): ``LOSSES`` config of the four LR
            terms. Default: ``MSELoss(loss_weight=scale**2,
            reduction='batch_sum')`` (official ``lambda_fit_forw`` l2).
        pixel_loss_back (dict, optional): ``LOSSES`` config of the HR
            reconstruction. Default: ``CharbonnierLoss(loss_weight=1,
            reduction='batch_sum')`` (the official "l1").
        quantization (dict): ``DEGRADATIONS`` config. Default:
            ``dict(type='Quantization')``.
        diff_codec (dict, optional): the differentiable codec simulator of
            the training loop. Default: ``DiffJPEG(quality=75,
            rounding='fourier')`` (official, also for the WebP model).
            None: no simulator (ablation).
        train_codec (dict): the real codec of the targets: ``RealJPEG`` or
            ``RealWebP``. Default: ``RealJPEG(quality=75)``.
        test_codec (dict, optional): the codec the LR goes through at test
            time (:meth:`transmit`). Default: None.
        train_cfg (dict, optional): ``seed`` (None), ``gaussian_scale`` (1),
            ``codec_threads`` (0).
        test_cfg (dict, optional): ``latent`` (``'gmm'``), ``seed`` (0;
            None = global RNG), ``gaussian_scale`` (1).
        data_preprocessor (dict, optional): Default:
            ``dict(type='DataPreprocessor')``.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    RANDOM_LATENT = 'gmm'
    #: train_cfg keys and their defaults.
    TRAIN_CFG_DEFAULTS = dict(
        seed=None,  # latent seed; None: torch.initial_seed() (= run's seed)
        gaussian_scale=1.0,  # multiplies the GMM sample of the backward pass
        codec_threads=0,  # threads encoding the real-codec targets; 0: inline
    )
    #: test_cfg keys and their defaults.
    TEST_CFG_DEFAULTS = dict(
        latent='gmm',  # 'gmm' (official) or 'zero'
        seed=0,  # seed of the GMM latent of each image; None: global RNG
        gaussian_scale=1.0,  # multiplies it
    )

    def __init__(self,
                 generator: ModuleCfg,
                 pixel_loss_forw: ModuleCfg = None,
                 pixel_loss_back: ModuleCfg = dict(
                     type='CharbonnierLoss',
                     loss_weight=1.0,
                     reduction='batch_sum'),
                 quantization: ModuleCfg = dict(type='Quantization'),
                 diff_codec: ModuleCfg = dict(
                     type='DiffJPEG', quality=75, rounding='fourier'),
                 train_codec: ModuleCfg = dict(type='RealJPEG', quality=75),
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
        if pixel_loss_forw is None:
            pixel_loss_forw = dict(
                type='MSELoss',
                loss_weight=float(self.generator.scale**2),
                reduction='batch_sum')
        if pixel_loss_back is None:
            raise ValueError('SAIN: pixel_loss_back is required (the HR '
                             'reconstruction term).')
        self.pixel_loss_forw = self.build(LOSSES, pixel_loss_forw,
                                          'pixel_loss_forw')
        self.pixel_loss_back = self.build(LOSSES, pixel_loss_back,
                                          'pixel_loss_back')
        self.diff_codec = _build_codec(diff_codec, 'diff_codec', False)
        self.train_codec = _build_codec(train_codec, 'train_codec', True)
        if self.train_codec is None:
            raise ValueError("SAIN: train_codec is required, e.g. "
                             "dict(type='RealJPEG', quality=75).")
        threads = self.train_cfg['codec_threads']
        if isinstance(threads, bool) or not isinstance(threads, int) or \
                threads < 0:
            raise ValueError('SAIN: train_cfg.codec_threads must be an int '
                             f'>= 0 (0: encode inline), got {threads!r}.')
        self._codec_pool: Optional[ThreadPoolExecutor] = None

    def check_generator(self, generator) -> None:
        """The generator must be a SAIN network (with its mixture)."""
        if not isinstance(getattr(generator, 'gmm', None), nn.Module) or \
                not hasattr(generator, 'lr_block_index'):
            raise ValueError(
                'SAIN: the generator must be a SAIN network (SAINNet, with '
                'its Gaussian mixture gmm), got '
                f'{type(generator).__name__}.')
        super().check_generator(generator)

    # ------------------------------------------------------------------
    # the latent lives in the generator
    # ------------------------------------------------------------------
    @property
    def latent(self) -> nn.Module:
        """The Gaussian mixture of the latent (``generator.gmm``); configure
        it with ``generator.gmm_components``."""
        return self.generator.gmm

    def sample_latent(self,
                      shape: Sequence[int],
                      like: Tensor,
                      generator: Optional[torch.Generator] = None,
                      scale: float = 1.0) -> Tensor:
        """A reparameterised GMM sample of ``shape`` (differentiable w.r.t.
        the mixture), drawn on ``generator``'s device (CPU for the seeded
        training / test generators) and moved to ``like``'s device and
        dtype, times ``scale``."""
        device = None if generator is None else generator.device
        z = self.latent.sample(tuple(shape), generator=generator,
                               device=device)
        z = z.to(device=like.device, dtype=like.dtype)
        return z * scale if scale != 1.0 else z

    # ------------------------------------------------------------------
    # real-codec targets
    # ------------------------------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state['_codec_pool'] = None  # threads cannot be copied or pickled
        return state

    def _pool(self) -> ThreadPoolExecutor:
        if self._codec_pool is None:
            self._codec_pool = ThreadPoolExecutor(
                max_workers=self.train_cfg['codec_threads'],
                thread_name_prefix='sain-codec')
        return self._codec_pool

    def real_codec_target(self, x: Tensor) -> Callable[[], Tensor]:
        """Start coding ``x`` with ``train_codec``; returns a function that
        gives the detached result.

        With ``train_cfg.codec_threads=0`` the coding is done now; otherwise
        the batch is split into ``codec_threads`` chunks coded in the
        background (see the class docstring). ``x`` is only read.
        """
        x = x.detach()
        threads = self.train_cfg['codec_threads']
        if threads == 0 or x.shape[0] == 0:
            result = self.train_codec(x)
            return lambda: result
        # a codec keeps no state between calls: one instance serves all
        # threads
        pool = self._pool()
        futures = [
            pool.submit(self.train_codec, chunk)
            for chunk in x.chunk(threads, dim=0)
        ]
        return lambda: torch.cat([f.result() for f in futures], dim=0)

    # ------------------------------------------------------------------
    # building blocks
    # ------------------------------------------------------------------
    def encode(self, hr: Tensor) -> Tuple[Tensor, Tensor]:
        """``G(hr)``: ``(out, lr)`` (see :class:`SAINNet`), after checking
        the HR size."""
        self.check_hr_size(hr)
        return self.generator(hr)

    def forward_split(self, hr: Tensor) -> Tuple[Tensor, Tensor]:
        """The shipped (continuous) high-quality LR ``(N, 3, h, w)`` and the
        latent half of the output ``(N, C*s^2 - 3, h, w)``."""
        out, lr = self.encode(hr)
        return lr, out[:, self.lr_channels:]

    def reconstruct(self, lr: Tensor, z: Tensor) -> Tensor:
        """``G^-1(cat(lr, z))[:, :C_in]``: the HR image (not clamped)."""
        hr, _ = self.generator(torch.cat((lr, z), dim=1), rev=True)
        return hr[:, :self.generator.in_channels]

    def compute_losses(self,
                       hr: Tensor,
                       lr_ref: Tensor,
                       z: Optional[Tensor] = None,
                       generator: Optional[torch.Generator] = None
                       ) -> Dict[str, Tensor]:
        """The official SAIN loss terms for one batch.

        Args:
            hr (Tensor): ``(N, 3, H, W)`` HR images in ``[0, 1]``.
            lr_ref (Tensor): ``(N, 3, H/s, W/s)`` bicubic LR reference.
            z (Tensor, optional): the latent of the backward pass,
                ``(N, C*s^2 - 3, H/s, W/s)``, multiplied by
                ``train_cfg.gaussian_scale`` like the official ``gmm_batch``
                output. Default: a GMM sample from ``generator``.
            generator (torch.Generator, optional): RNG of the latent.
                Default: :meth:`train_generator`.

        Returns:
            dict[str, Tensor]: ``loss_fit1``, ``loss_fit2``, ``loss_reg``,
            ``loss_rel``, ``loss_rec`` (the official ``l_forw_fit1``,
            ``l_forw_fit2``, ``l_reg``, ``l_rel``, ``l_back_rec2``).
        """
        name = type(self).__name__
        self.check_hr_size(hr)
        n, _, height, width = hr.shape
        c, s = self.lr_channels, self.scale
        lr_shape = (n, c, height // s, width // s)
        if lr_ref is None or tuple(lr_ref.shape) != lr_shape:
            got = None if lr_ref is None else tuple(lr_ref.shape)
            raise ShapeError(
                f'{name}: the reference LR (data_samples lr_img) must have '
                f'shape {lr_shape}, got {got}; build it as the GT downscaled '
                f'by {s} (GenerateBicubicLR).')
        if generator is None:
            generator = self.train_generator()
        lr_ref = lr_ref.to(hr)
        # started first: it is coded while the forward pass runs
        ref_target = self.real_codec_target(lr_ref)
        out, lr = self.generator(hr)
        y_hat = out[:, :c]
        fit1 = self.pixel_loss_forw(lr, lr_ref)

        lr_q = self.quantization(lr)
        rel_target = self.real_codec_target(lr_q)
        lr_sim = lr_q if self.diff_codec is None else self.diff_codec(lr_q)
        scale = float(self.train_cfg['gaussian_scale'])
        z_shape = (n, out.shape[1] - c) + tuple(out.shape[2:])
        if z is None:
            z = self.sample_latent(z_shape, out, generator, scale)
        else:
            if tuple(z.shape) != z_shape:
                raise ShapeError(f'{name}: z must have shape {z_shape}, got '
                                 f'{tuple(z.shape)}.')
            z = z.to(out) * scale
        hr_rec, lr_recon = self.generator(torch.cat((lr_sim, z), dim=1),
                                          rev=True)
        rec = self.pixel_loss_back(hr_rec[:, :self.generator.in_channels], hr)

        fit2 = self.pixel_loss_forw(y_hat, ref_target())
        reg = self.pixel_loss_forw(lr_q, lr_recon)
        rel = self.pixel_loss_forw(y_hat, rel_target())
        return dict(
            loss_fit1=fit1,
            loss_fit2=fit2,
            loss_reg=reg,
            loss_rel=rel,
            loss_rec=rec)

    def parse_losses(self, losses: Dict[str, Tensor]
                     ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """The official total ``loss_rec + (loss_fit1 + loss_fit2 +
        loss_reg + loss_rel) / 4``; every term is logged as computed.

        Terms other than those five (added by a subclass) count in full.
        """
        _, log_vars = super().parse_losses(losses)
        total = 0.
        for key, value in losses.items():
            if 'loss' not in key:
                continue
            value = value.mean()
            total = total + (value / len(LR_TERMS) if key in LR_TERMS else
                             value)
        log_vars['loss'] = total.detach() if isinstance(total, Tensor) \
            else torch.tensor(total)
        return total, log_vars

    # ------------------------------------------------------------------
    # mmengine interface, test codec
    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor,
             data_samples: Optional[List[DataSample]] = None
             ) -> Dict[str, Tensor]:
        """Training losses of a batch of HR ``inputs`` (see
        :meth:`compute_losses`); ``data_samples`` carry the bicubic LR
        ``lr_img``."""
        lr_ref = self.reference_lr(data_samples, inputs)
        return self.compute_losses(
            inputs, lr_ref, generator=self.next_train_generator())

    def build_test_codec(self, codec: ModuleCfg):
        """A real codec config or module (``dict(type='RealJPEG',
        quality=30)``, ``RealWebP``; ``DiffJPEG`` for simulated tests) or
        None. Unknown types and qualities outside 1..100 raise a one-line
        ValueError."""
        return _build_codec(codec, 'test_codec', False)
