# Copyright (c) invtoolbox contributors. All rights reserved.
"""The base of invertible rescalers (IRN, SAIN): an invertible network maps
the HR image to an LR image plus a latent, and back."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ...errors import ShapeError
from ...registry import DEGRADATIONS, MODELS
from ...structures import DataSample
from .base_edit_model import BaseEditModel, ModuleCfg
from .rescaling import RescalingMixin

__all__ = ['InvertibleRescalingModel']

#: marks an argument that defaults to the value in ``test_cfg``.
_FROM_TEST_CFG = object()


class InvertibleRescalingModel(RescalingMixin, BaseEditModel):
    """Base of the models whose generator ``G`` maps an HR image ``x``
    ``(N, C, H, W)`` to an LR image and a latent ``z`` (``(N, c, H/s,
    W/s)`` and ``(N, C*s^2 - c, H/s, W/s)``) and whose inverse upscales
    ``cat(LR, z)`` with a ``z`` drawn from a prior at test time.

    It implements the rescaling capability for them:

    - :meth:`downscale`: ``Quant(LR)``, with :meth:`check_hr_size`;
    - :meth:`upscale`: ``G^-1(cat(lr, z))[:, :C]`` with the test latent
      chosen by ``test_cfg``: ``latent=RANDOM_LATENT`` (drawn per image from
      ``seed``, so a result does not depend on the batch it came in) or
      ``'zero'``, times ``gaussian_scale``; or an explicit ``z``.

    Subclasses (siblings: :class:`~invtoolbox.models.IRN`,
    :class:`~invtoolbox.models.SAIN`) implement :meth:`forward_split`
    (the continuous LR and the latent), :meth:`reconstruct` and
    :meth:`sample_latent` (their prior), plus the training objective
    (:meth:`loss`). The generator must expose ``in_channels``,
    ``lr_channels``, ``latent_channels`` and ``scale``.

    Args:
        generator (dict | nn.Module): the network (``MODELS``).
        quantization (dict): ``DEGRADATIONS`` config applied to the LR.
        test_codec (dict, optional): see
            :meth:`~RescalingMixin.set_test_codec`.
        data_preprocessor, train_cfg, test_cfg, init_cfg: see
            :class:`BaseEditModel`.
    """

    #: ``test_cfg.latent`` value of the random test latent (drawn with
    #: :meth:`sample_latent`); the other value is ``'zero'``.
    RANDOM_LATENT = 'gaussian'
    #: the attributes the generator must expose.
    GENERATOR_ATTRS = ('in_channels', 'lr_channels', 'latent_channels',
                       'scale')

    def __init__(self,
                 generator: ModuleCfg,
                 quantization: ModuleCfg = dict(type='Quantization'),
                 test_codec: ModuleCfg = None,
                 data_preprocessor: ModuleCfg = dict(type='DataPreprocessor'),
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)
        self.generator = self.build(MODELS, generator, 'generator')
        self.check_generator(self.generator)
        self.quantization = self.build(DEGRADATIONS, quantization,
                                       'quantization')
        self.init_rescaling(test_codec)
        latent = self.test_cfg.get('latent', self.RANDOM_LATENT)
        if latent not in (self.RANDOM_LATENT, 'zero'):
            raise ValueError(
                f"{type(self).__name__}: test_cfg.latent must be "
                f"'{self.RANDOM_LATENT}' or 'zero', got {latent!r}.")

    def check_generator(self, generator) -> None:
        """One-line error unless the generator exposes
        :attr:`GENERATOR_ATTRS`."""
        for attr in self.GENERATOR_ATTRS:
            if not hasattr(generator, attr):
                raise ValueError(
                    f'{type(self).__name__}: the generator must be an '
                    f'invertible rescaling network exposing {attr!r}, got '
                    f'{type(generator).__name__}.')

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
    # to implement
    # ------------------------------------------------------------------
    def forward_split(self, hr: Tensor) -> Tuple[Tensor, Tensor]:
        """``G(hr)`` split into the continuous LR ``(N, c, h, w)`` and the
        latent ``(N, C*s^2 - c, h, w)``."""
        raise NotImplementedError

    def reconstruct(self, lr: Tensor, z: Tensor) -> Tensor:
        """``G^-1(cat(lr, z))[:, :C]``: the HR image (not clamped)."""
        raise NotImplementedError

    def sample_latent(self,
                      shape: Sequence[int],
                      like: Tensor,
                      generator: Optional[torch.Generator] = None,
                      scale: float = 1.0) -> Tensor:
        """``scale`` times a draw of the latent prior of ``shape`` (from
        ``generator``), on ``like``'s device and dtype."""
        raise NotImplementedError

    # ------------------------------------------------------------------
    # building blocks
    # ------------------------------------------------------------------
    def check_hr_size(self, hr: Tensor, what: str = 'HR image') -> None:
        """One-line error unless ``hr`` is ``(N, C_in, H, W)`` with H, W
        multiples of the scale."""
        name = type(self).__name__
        c = self.generator.in_channels
        if not isinstance(hr, Tensor) or hr.dim() != 4 or hr.shape[1] != c:
            shape = tuple(hr.shape) if isinstance(hr, Tensor) else type(
                hr).__name__
            raise ShapeError(f'{name}: expected the {what} as an (N, {c}, H, '
                             f'W) batch, got shape {shape}.')
        s = self.scale
        h, w = hr.shape[2:]
        if h < s or w < s:
            raise ShapeError(
                f'{name} (x{s}): {what} size {h}x{w} (HxW) is smaller than '
                f'the scale {s}; use images of at least {s}x{s} pixels.')
        if h % s or w % s:
            raise ShapeError(
                f'{name} (x{s}): {what} size {h}x{w} (HxW) is not divisible '
                f'by {s}; mod-crop it to {h - h % s}x{w - w % s} (e.g. '
                'invtoolbox.utils.modcrop, or a ModCrop step in the test '
                'pipeline).')

    def reference_lr(self, data_samples: Optional[List[DataSample]],
                     like: Tensor) -> Tensor:
        """The reference LRs (``lr_img``) of a training batch, stacked on
        ``like``'s device and dtype."""
        if not data_samples:
            raise ValueError(
                f'{type(self).__name__}: training needs data_samples with '
                'the reference LR (lr_img); check the pipeline.')
        return DataSample.stack(data_samples, 'lr_img').to(like)

    # ------------------------------------------------------------------
    # rescaling capability
    # ------------------------------------------------------------------
    @torch.no_grad()
    def downscale(self, hr: Tensor) -> Tensor:
        """HR ``(N, C, H, W)`` -> the quantised LR ``(N, c, H/s, W/s)``
        (8-bit values in ``[0, 1]``) that is shipped."""
        lr, _ = self.forward_split(hr)
        return self.quantization(lr)

    def test_latent(self, lr: Tensor, latent: str, seed: Optional[int],
                    gaussian_scale: float) -> Tensor:
        """The test latent for a batch of LR images: zeros, or one
        :meth:`sample_latent` draw per image from ``seed`` (None: the
        global RNG)."""
        n, _, h, w = lr.shape
        shape = (1, self.latent_channels, h, w)
        if latent == 'zero':
            return lr.new_zeros((n, ) + shape[1:])
        if latent != self.RANDOM_LATENT:
            raise ValueError(f"{type(self).__name__}: latent must be "
                             f"'{self.RANDOM_LATENT}' or 'zero', got "
                             f'{latent!r}.')
        draws = []
        for _ in range(n):
            gen = None
            if seed is not None:
                gen = torch.Generator().manual_seed(int(seed))
            draws.append(self.sample_latent(shape, lr, gen, gaussian_scale))
        return torch.cat(draws, dim=0)

    def draw_upscale_latent(self,
                            lr: Tensor,
                            latent: Optional[str] = None,
                            seed=_FROM_TEST_CFG,
                            gaussian_scale: Optional[float] = None,
                            z: Optional[Tensor] = None) -> Tensor:
        """The latent :meth:`upscale` uses for ``lr`` with these arguments
        (``z`` when given, else drawn as :meth:`upscale` draws it)."""
        if z is not None:
            return z
        latent = self.test_cfg['latent'] if latent is None else latent
        if seed is _FROM_TEST_CFG:
            seed = self.test_cfg['seed']
        if gaussian_scale is None:
            gaussian_scale = self.test_cfg['gaussian_scale']
        return self.test_latent(lr, latent, seed, float(gaussian_scale))

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
            latent (str, optional): :attr:`RANDOM_LATENT` or ``'zero'``.
                Default: ``test_cfg.latent``.
            seed (int, optional): seed of each image's random latent;
                ``None`` uses the global RNG. Default: ``test_cfg.seed``.
            gaussian_scale (float, optional): multiplies the random latent.
                Default: ``test_cfg.gaussian_scale``.
            z (Tensor, optional): an explicit latent; overrides the above.
        """
        name = type(self).__name__
        c = self.lr_channels
        if not isinstance(lr, Tensor) or lr.dim() != 4 or lr.shape[1] != c:
            shape = tuple(lr.shape) if isinstance(lr, Tensor) else type(
                lr).__name__
            raise ShapeError(f'{name}: expected the LR as an (N, {c}, h, w) '
                             f'batch, got shape {shape}.')
        z = self.draw_upscale_latent(lr, latent, seed, gaussian_scale, z)
        return self.reconstruct(lr, z)

    # ------------------------------------------------------------------
    # mmengine interface
    # ------------------------------------------------------------------
    def forward_tensor(self, inputs: Tensor,
                       data_samples: Optional[List[DataSample]] = None):
        """The raw generator output for HR ``inputs``."""
        self.check_hr_size(inputs)
        return self.generator(inputs)
