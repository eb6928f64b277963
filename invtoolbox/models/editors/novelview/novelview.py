# Copyright (c) invtoolbox contributors. All rights reserved.
"""The novel-view JPEG model: hide an MPI in a JPEG of the reference view,
recover it, render new views."""
from __future__ import annotations

import inspect
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.optim import OptimWrapperDict
from torch import Tensor, nn

from ....registry import DEGRADATIONS, LOSSES, MODELS
from ....structures import DataSample
from ...base_models import BaseEditModel, ModuleCfg
from ...degradations import apply_codec
from .mpi_renderer import pose_matrix
from .novelview_net import check_mpi_pair

__all__ = ['NovelViewJPEG', 'NovelViewOutput', 'evaluation_poses',
           'DEFAULT_PREPROCESSOR']

#: inputs (the reference) to [-1, 1]; the MPI's RGB to [-1, 1], alpha kept
#: in [0, 1] (the official ranges)
DEFAULT_PREPROCESSOR = dict(
    type='DataPreprocessor',
    mean=0.5,
    std=0.5,
    sample_fields=('gt_mpi', ),
    per_field=dict(
        gt_mpi=dict(mean=(0.5, 0.5, 0.5, 0.0), std=(0.5, 0.5, 0.5, 1.0))))

#: the official evaluation (render_test.py): fractions of the image size
REALESTATE10K_FX, REALESTATE10K_FY = 0.486242434, 0.864430976


class NovelViewOutput(NamedTuple):
    """What :meth:`NovelViewJPEG.roundtrip` returns for a batch.

    Attributes:
        embedding (Tensor): the encoder output ``(N, 3, H, W)`` in [-1, 1].
        coded (Tensor): the embedding after the test codec (the decoded
            JPEG), ``(N, 3, H, W)`` in [-1, 1].
        mpi (Tensor): the decoded MPI ``(N, P, 4, H, W)``, RGB in [-1, 1],
            alpha in [0, 1] (ready to render).
        num_bytes (list[int] | None): the JPEG size of each embedding.
    """

    embedding: Tensor
    coded: Tensor
    mpi: Tensor
    num_bytes: Optional[List[int]]


def evaluation_poses(multiples: Sequence[float] = (-4, -2, 0, 2, 4),
                     step: float = 0.017,
                     axes: Sequence[str] = ('x', 'y', 'z')
                     ) -> Tuple[Tensor, List[str]]:
    """The official evaluation poses: translations ``multiples * step``
    along each axis in turn, no rotation, the identity pose once (first
    axis). Returns ``(V, 4, 4)`` poses and their names (``'tx+0.034'``)."""
    poses, names = [], []
    for index, axis in enumerate(axes):
        if axis not in 'xyz' or len(axis) != 1:
            raise ValueError(f"evaluation axes must be 'x', 'y' or 'z', got "
                             f'{axis!r}.')
        for multiple in multiples:
            if multiple == 0 and index > 0:
                continue
            translation = [0.0, 0.0, 0.0]
            translation['xyz'.index(axis)] = float(multiple) * step
            poses.append(pose_matrix(translation))
            names.append(f't{axis}{float(multiple) * step:+.3f}')
    return torch.stack(poses), names


def _set_requires_grad(module: Optional[nn.Module], flag: bool) -> None:
    if module is not None:
        for param in module.parameters():
            param.requires_grad_(flag)


@MODELS.register_module()
class NovelViewJPEG(BaseEditModel):
    """Embedding novel views in a single JPEG (Wu, Meng, Chen, ICCV 2021).

    The generator (:class:`NovelViewJPEGNet`) encodes the reference view
    and its multiplane image into an embedding that should look like the
    reference; the embedding goes through a JPEG; the decoder recovers the
    MPI from the decoded JPEG; views are rendered from the MPI
    (:class:`MPIRenderer`). Not an invertible network: the decoder is
    trained to undo the encoder and the JPEG.

    The paper's objective (the official ``train.py``; its loss module was
    not released, so the terms are rebuilt from their names and options),
    every weight 1 by default::

        e      = encode(ref, mpi)                       # [-1, 1]
        e_jpeg = 2 * DiffJPEG_q((e + 1) / 2) - 1        # q ~ U{87..93}, STE
        mpi'   = decode(e_jpeg); alpha' = (a' + 1) / 2
        loss_ref_pix    = MSE(e, ref)
        loss_ref_vgg    = VGG(e, ref)                   # if VGG weights
        loss_fft        = FFT(e, ref)                   # |F(e) - F(ref)|^2
        loss_gan        = sum_scales LSGAN(D_k(e), real)
        loss_mpi_rgb    = MSE(rgb', rgb); loss_mpi_alpha = MSE(alpha', alpha)
        loss_render_pix = MSE(R(mpi', pose), R(mpi, pose))
        loss_render_vgg = VGG(R(mpi', pose), R(mpi, pose))   # if VGG weights
        # pose: every translation component ~ U[-0.5, 0.5], every angle
        # ~ U[-8, 8] degrees, one per sample, fx = fy = 0.5
        loss_disc = sum_scales LSGAN(D_k(ref), real) + LSGAN(D_k(e), fake)

    The discriminator is trained on ``optim_wrapper['discriminator']``
    after the generator step of each iteration (official order). Without a
    discriminator (``discriminator=None``) or without VGG weights
    (``perceptual_loss=None``) the corresponding terms are switched off and
    a one-line notice is logged once.

    At test time (:meth:`predict`) the embedding is saved as a real JPEG
    (``test_cfg.codec``: Pillow, quality 90, 4:2:0) and decoded, the MPI is
    recovered from it, and views are rendered from the recovered and from
    the ground-truth MPI at the official evaluation poses (translations
    ``{-4, -2, 0, 2, 4} x 0.017`` along x, y and z; ``fx = 0.486``,
    ``fy = 0.864`` of the image size). Predictions hold ``pred_img`` (the
    decoded JPEG of the embedding, [0, 1]) and ``gt_img`` (the reference),
    ``pred_views`` / ``gt_views`` ``(V, 3, H, W)`` in [0, 1], ``num_bytes``
    and ``bpp``; measure them with ``PSNR`` / ``SSIM`` (the embedding) and
    ``ViewPSNR`` / ``ViewSSIM`` (the views).

    Args:
        generator (dict): the :class:`NovelViewJPEGNet` config.
        discriminator (dict, optional): Default: the official
            :class:`MultiscaleDiscriminator` (3 scales). None: no GAN term.
        jpeg (dict, optional): the differentiable JPEG of training
            (``DEGRADATIONS``). Default: :class:`RandomDegradation` over
            ``DiffJPEG(q, rounding='ste', transposed_tables=True)`` for
            ``q = 87 .. 93`` (the official simulation; one quality per
            batch). None: no JPEG in training.
        train_renderer (dict): Default: ``MPIRenderer(fx=0.5, fy=0.5)``.
        test_renderer (dict): Default: ``MPIRenderer(fx=0.486242434,
            fy=0.864430976)`` (the official RealEstate10K evaluation).
        pixel_loss (dict): embedding, MPI and render L2. Default:
            ``MSELoss``.
        perceptual_loss (dict, optional): ``PerceptualLoss`` config for the
            embedding and the renders, e.g. the official VGG19 relu1_1 ..
            relu5_1 with weights 1/32 .. 1, L1, inputs in [-1, 1] without
            ImageNet normalisation (see the configs). Built at the first
            training iteration (so testing and inference need no VGG file),
            frozen, and not part of the model's state dict. Default: None
            (off).
        fft_loss (dict, optional): Default: ``FrequencyLoss(norm='ortho',
            reduction='mean')``.
        gan_loss (dict): Default: ``GANLoss(gan_type='lsgan')``.
        train_cfg (dict): ``seed``; loss weights ``ref_pix``, ``ref_vgg``,
            ``fft``, ``gan``, ``mpi_rgb``, ``mpi_alpha``, ``render_pix``,
            ``render_vgg`` (all 1.0); ``max_translation`` (0.5),
            ``max_rotation`` (8 degrees); ``size_multiple`` (16).
        test_cfg (dict): ``codec`` (Default ``RealJPEG(quality=90,
            subsampling='420')``; None: 8-bit rounding only),
            ``translations`` ((-4, -2, 0, 2, 4)), ``translation_step``
            (0.017), ``axes`` (('x', 'y', 'z')), ``render`` (True),
            ``baseline`` (True: also predict the classical baseline, see
            below).

    The classical baseline (``test_cfg.baseline``): the reference itself
    through the same codec (``baseline_img``: what a plain JPEG of the
    reference gives, an upper bound for the embedding's PSNR), shown
    unchanged at every pose (``baseline_views``: a still photograph, no
    parallax). ``ViewPSNR(pred_key='baseline_views')`` scores it.
    """

    TRAIN_CFG_DEFAULTS = dict(
        seed=None,
        ref_pix=1.0,
        ref_vgg=1.0,
        fft=1.0,
        gan=1.0,
        mpi_rgb=1.0,
        mpi_alpha=1.0,
        render_pix=1.0,
        render_vgg=1.0,
        max_translation=0.5,
        max_rotation=8.0,
        size_multiple=16)
    TEST_CFG_DEFAULTS = dict(
        codec=dict(type='RealJPEG', quality=90, subsampling='420'),
        translations=(-4, -2, 0, 2, 4),
        translation_step=0.017,
        axes=('x', 'y', 'z'),
        render=True,
        baseline=True)

    def __init__(self,
                 generator: ModuleCfg = dict(type='NovelViewJPEGNet'),
                 discriminator: ModuleCfg = dict(
                     type='MultiscaleDiscriminator'),
                 jpeg: ModuleCfg = dict(
                     type='RandomDegradation',
                     degradations=[
                         dict(type='DiffJPEG',
                              quality=[87, 88, 89, 90, 91, 92, 93],
                              rounding='ste',
                              transposed_tables=True)
                     ]),
                 train_renderer: ModuleCfg = dict(
                     type='MPIRenderer', fx=0.5, fy=0.5),
                 test_renderer: ModuleCfg = dict(
                     type='MPIRenderer',
                     fx=REALESTATE10K_FX,
                     fy=REALESTATE10K_FY),
                 pixel_loss: ModuleCfg = dict(type='MSELoss'),
                 perceptual_loss: ModuleCfg = None,
                 fft_loss: ModuleCfg = dict(
                     type='FrequencyLoss', norm='ortho', reduction='mean'),
                 gan_loss: ModuleCfg = dict(type='GANLoss', gan_type='lsgan'),
                 data_preprocessor: ModuleCfg = DEFAULT_PREPROCESSOR,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        self.generator = self.build(MODELS, generator, 'generator')
        if self.generator is None:
            raise ValueError('NovelViewJPEG needs a generator config, e.g. '
                             "dict(type='NovelViewJPEGNet').")
        self.num_planes = int(self.generator.num_planes)
        self.discriminator = self.build(MODELS, discriminator,
                                        'discriminator')
        self.jpeg = self.build(DEGRADATIONS, jpeg, 'jpeg')
        # a random choice (RandomDegradation) draws from the model's seeded
        # training generator
        self._jpeg_takes_generator = self.jpeg is not None and \
            'generator' in inspect.signature(self.jpeg.forward).parameters
        self.train_renderer = self.build(MODELS, self._planes(train_renderer),
                                         'train_renderer')
        self.test_renderer = self.build(MODELS, self._planes(test_renderer),
                                        'test_renderer')
        self.pixel_loss = self.build(LOSSES, pixel_loss, 'pixel_loss')
        # built at the first training iteration and kept out of the model's
        # modules: the VGG weights are the user's file, not model weights
        # (no checkpoint bloat, no VGG file needed to test or run the model)
        self._perceptual_cfg = perceptual_loss
        self._perceptual_module: Optional[nn.Module] = None
        self.fft_loss = self.build(LOSSES, fft_loss, 'fft_loss')
        self.gan_loss = self.build(LOSSES, gan_loss, 'gan_loss')
        self.test_codec = self.build(DEGRADATIONS, self.test_cfg['codec'],
                                     'test_cfg.codec')
        if self.pixel_loss is None:
            raise ValueError('NovelViewJPEG needs a pixel_loss (the L2 of '
                             "the embedding, MPI and renders), e.g. "
                             "dict(type='MSELoss').")
        poses, names = evaluation_poses(self.test_cfg['translations'],
                                        self.test_cfg['translation_step'],
                                        self.test_cfg['axes'])
        self.register_buffer('eval_poses', poses, persistent=False)
        self.eval_pose_names = names
        self._notices: set = set()

    def _planes(self, cfg: ModuleCfg) -> ModuleCfg:
        if isinstance(cfg, dict):
            cfg = dict(cfg)
            cfg.setdefault('num_planes', self.num_planes)
        return cfg

    def _notice(self, key: str, message: str) -> None:
        if key not in self._notices:
            self._notices.add(key)
            print_log(message, logger='current')

    # ------------------------------------------------------------------
    # checks
    # ------------------------------------------------------------------
    def check_inputs(self, ref: Tensor, mpi: Tensor) -> None:
        """One-line errors for tensors the model cannot use: shapes (see
        :func:`check_mpi_pair`) and sizes not multiples of
        ``train_cfg.size_multiple`` (16: the JPEG's 4:2:0 MCU)."""
        owner = type(self).__name__
        check_mpi_pair(ref, mpi, self.num_planes, owner)
        self.check_size(ref.shape[-2:], owner)

    def check_size(self, size: Sequence[int], owner: str) -> None:
        multiple = int(self.train_cfg['size_multiple'])
        h, w = (int(v) for v in size)
        if h % multiple or w % multiple:
            raise ValueError(
                f'{owner}: image size {h}x{w} (HxW) is not a multiple of '
                f'{multiple} (the JPEG 4:2:0 MCU); crop or resize the '
                f'reference and every plane to e.g. '
                f'{h - h % multiple or multiple}x{w - w % multiple or multiple}.'
            )

    def _gt_mpi(self, data_samples: Optional[List[DataSample]],
                ref: Tensor) -> Tensor:
        if not data_samples or any('gt_mpi' not in s for s in data_samples):
            raise ValueError(
                "NovelViewJPEG: every data sample needs the MPI as 'gt_mpi' "
                '(P, 4, H, W) (the pipeline LoadMPIFromFolder + '
                'PackMPIInputs).')
        mpi = torch.stack([s.gt_mpi for s in data_samples]).to(ref)
        self.check_inputs(ref, mpi)
        return mpi

    # ------------------------------------------------------------------
    # pieces
    # ------------------------------------------------------------------
    def encode(self, ref: Tensor, mpi: Tensor) -> Tensor:
        """Reference + MPI (official ranges) -> embedding in [-1, 1]."""
        self.check_inputs(ref, mpi)
        return self.generator.encode(ref, mpi)

    def decode(self, embedding: Tensor) -> Tensor:
        """Embedding in [-1, 1] -> renderable MPI (alpha in [0, 1])."""
        return self.generator.alpha_to_unit(self.generator.decode(embedding))

    def simulate_jpeg(self, embedding: Tensor,
                      generator: Optional[torch.Generator] = None) -> Tensor:
        """The training JPEG on an embedding in [-1, 1]."""
        if self.jpeg is None:
            return embedding
        x = (embedding + 1) / 2
        if self._jpeg_takes_generator:
            return self.jpeg(x, generator=generator) * 2 - 1
        return self.jpeg(x) * 2 - 1

    def code(self, embedding: Tensor
             ) -> Tuple[Tensor, Optional[List[int]]]:
        """The test codec on an embedding in [-1, 1]: returns the decoded
        image in [-1, 1] and the file sizes (None without sizes)."""
        x = ((embedding + 1) / 2).clamp(0, 1)
        if self.test_codec is None:
            return torch.round(x * 255) / 255 * 2 - 1, None
        decoded, num_bytes = apply_codec(self.test_codec, x)
        return decoded * 2 - 1, num_bytes

    @property
    def perceptual_loss(self) -> Optional[nn.Module]:
        """The perceptual loss (None when off), built on first use on the
        generator's device, frozen, not registered as a submodule."""
        if self._perceptual_cfg is None:
            return None
        if self._perceptual_module is None:
            module = self.build(LOSSES, self._perceptual_cfg,
                                'perceptual_loss')
            for param in module.parameters():
                param.requires_grad_(False)
            self._perceptual_module = module.eval()
        device = next(self.generator.parameters()).device
        return self._perceptual_module.to(device)

    def _perceptual(self, pred: Tensor, target: Tensor) -> Tensor:
        # the official VGGLoss halves images wider than 500 px first
        while pred.shape[-1] > 500:
            pred = F.avg_pool2d(pred, 2, 2)
            target = F.avg_pool2d(target, 2, 2)
        return self.perceptual_loss(pred, target)

    def _gan(self, outputs: Sequence[Tensor], real: bool,
             is_disc: bool) -> Tensor:
        return sum(self.gan_loss(o, real, is_disc=is_disc) for o in outputs)

    def generator_losses(self, ref: Tensor, mpi: Tensor,
                         rng: Optional[torch.Generator]
                         ) -> Tuple[Dict[str, Tensor], Tensor]:
        """The generator's loss terms of a batch (see the class docstring)
        and the embedding."""
        cfg = self.train_cfg
        embedding = self.generator.encode(ref, mpi)
        decoded = self.decode(self.simulate_jpeg(embedding, rng))
        losses: Dict[str, Tensor] = {}
        losses['loss_ref_pix'] = cfg['ref_pix'] * self.pixel_loss(
            embedding, ref)
        if self._perceptual_cfg is not None:
            losses['loss_ref_vgg'] = cfg['ref_vgg'] * self._perceptual(
                embedding, ref)
        else:
            self._notice(
                'vgg', 'NovelViewJPEG: no perceptual_loss (VGG19 weights): '
                'the VGG terms on the embedding and the renders are off.')
        if self.fft_loss is not None:
            losses['loss_fft'] = cfg['fft'] * self.fft_loss(embedding, ref)
        if self.discriminator is not None:
            losses['loss_gan'] = cfg['gan'] * self._gan(
                self.discriminator(embedding), True, False)
        losses['loss_mpi_rgb'] = cfg['mpi_rgb'] * self.pixel_loss(
            decoded[:, :, :3], mpi[:, :, :3])
        losses['loss_mpi_alpha'] = cfg['mpi_alpha'] * self.pixel_loss(
            decoded[:, :, 3], mpi[:, :, 3])
        if self.train_renderer is not None:
            poses = self.train_renderer.random_poses(
                ref.shape[0], float(cfg['max_translation']),
                float(cfg['max_rotation']), rng)
            view = self.train_renderer(decoded, poses)
            with torch.no_grad():
                target = self.train_renderer(mpi, poses)
            losses['loss_render_pix'] = cfg['render_pix'] * self.pixel_loss(
                view, target)
            if self._perceptual_cfg is not None:
                losses['loss_render_vgg'] = cfg[
                    'render_vgg'] * self._perceptual(view, target)
        return losses, embedding

    def discriminator_losses(self, ref: Tensor,
                             embedding: Tensor) -> Dict[str, Tensor]:
        """``LSGAN(D(ref), real) + LSGAN(D(embedding), fake)``, summed over
        the scales."""
        return dict(loss_disc=self._gan(self.discriminator(ref), True, True) +
                    self._gan(self.discriminator(embedding.detach()), False,
                              True))

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor,
             data_samples: Optional[List[DataSample]] = None
             ) -> Dict[str, Tensor]:
        """The generator losses (the discriminator is not updated here;
        :meth:`train_step` with an ``OptimWrapperDict`` updates both)."""
        mpi = self._gt_mpi(data_samples, inputs)
        losses, _ = self.generator_losses(inputs, mpi,
                                          self.next_train_generator())
        return losses

    def train_step(self, data, optim_wrapper) -> Dict[str, Tensor]:
        """With a discriminator the optimiser wrapper must be an
        ``OptimWrapperDict`` (``generator``, ``discriminator``); without
        one, a single ``OptimWrapper`` trains the generator."""
        if self.discriminator is not None and not isinstance(
                optim_wrapper, OptimWrapperDict):
            self.check_optim_wrappers(optim_wrapper,
                                      ['generator', 'discriminator'])
        return super().train_step(data, optim_wrapper)

    def train_step_multi(self, data: dict, optim_wrapper: OptimWrapperDict
                         ) -> Dict[str, Tensor]:
        """One generator step, then (with a discriminator) one
        discriminator step; ``data`` is preprocessed."""
        names = ['generator'] + (['discriminator']
                                 if self.discriminator is not None else [])
        self.check_optim_wrappers(optim_wrapper, names)
        ref = data['inputs']
        mpi = self._gt_mpi(data['data_samples'], ref)
        rng = self.next_train_generator()
        state = {}

        def generator_losses():
            losses, state['embedding'] = self.generator_losses(ref, mpi, rng)
            return losses

        _set_requires_grad(self.discriminator, False)
        log_vars = self.optimizer_step(optim_wrapper['generator'],
                                       self.generator, generator_losses)
        if self.discriminator is not None:
            _set_requires_grad(self.discriminator, True)
            log_d = self.optimizer_step(
                optim_wrapper['discriminator'], self.discriminator,
                lambda: self.discriminator_losses(ref, state['embedding']))
            log_vars['loss_disc'] = log_d['loss_disc']
        return log_vars

    # ------------------------------------------------------------------
    # testing
    # ------------------------------------------------------------------
    def roundtrip(self, ref: Tensor, mpi: Tensor) -> NovelViewOutput:
        """Encode, code with the test codec, decode (no gradients)."""
        with torch.no_grad():
            embedding = self.encode(ref, mpi)
            coded, num_bytes = self.code(embedding)
            return NovelViewOutput(embedding, coded, self.decode(coded),
                                   num_bytes)

    def render_views(self, mpi: Tensor,
                     poses: Optional[Tensor] = None) -> Tensor:
        """Views of ``mpi`` ``(N, P, 4, H, W)`` (alpha in [0, 1]) at
        ``poses`` ``(V, 4, 4)`` (default: the evaluation poses) with the
        test renderer: ``(N, V, 3, H, W)`` in [-1, 1] (not clamped)."""
        poses = self.eval_poses if poses is None else poses
        views = [self.test_renderer(mpi, pose) for pose in poses]
        return torch.stack(views, dim=1)

    def forward_tensor(self, inputs: Tensor,
                       data_samples: Optional[List[DataSample]] = None
                       ) -> Dict[str, Tensor]:
        """``mode='tensor'``: the generator's ``{'embedding', 'mpis'}``
        without any codec (decoded alpha in [-1, 1], as the official
        decoder)."""
        mpi = self._gt_mpi(data_samples, inputs)
        return self.generator(inputs, mpi)

    def predict(self, inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        mpi = self._gt_mpi(data_samples, inputs)
        out = self.roundtrip(inputs, mpi)
        n = inputs.shape[0]
        fields = dict(
            pred_img=((out.coded + 1) / 2).clamp(0, 1),
            gt_img=((inputs + 1) / 2).clamp(0, 1),
            embedding_img=((out.embedding + 1) / 2).clamp(0, 1))
        if self.test_cfg['render'] and self.test_renderer is not None:
            with torch.no_grad():
                fields['pred_views'] = ((self.render_views(out.mpi) + 1) /
                                        2).clamp(0, 1)
                fields['gt_views'] = ((self.render_views(mpi) + 1) /
                                      2).clamp(0, 1)
        if self.test_cfg['baseline']:
            with torch.no_grad():
                plain, plain_bytes = self.code(inputs)
            fields['baseline_img'] = ((plain + 1) / 2).clamp(0, 1)
            if 'pred_views' in fields:
                fields['baseline_views'] = fields['baseline_img'][:, None]\
                    .expand_as(fields['pred_views'])
            if plain_bytes is not None:
                fields['baseline_num_bytes'] = plain_bytes
        if out.num_bytes is not None:
            pixels = inputs.shape[-2] * inputs.shape[-1]
            fields['num_bytes'] = out.num_bytes
            fields['bpp'] = [8.0 * b / pixels for b in out.num_bytes]
        return self.pack_predictions(
            data_samples, n, fields=fields,
            metainfo=dict(view_names=list(self.eval_pose_names)))
