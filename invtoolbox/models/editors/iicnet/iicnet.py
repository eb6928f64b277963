# Copyright (c) invtoolbox contributors. All rights reserved.
"""IICNet: the generic reversible-image-conversion model (objective,
quantisation, test path), driven by a task (``invtoolbox.tasks``)."""
from __future__ import annotations

from typing import Dict, List, Optional, Union

import torch
from torch import Tensor, nn

from ....errors import ShapeError
from ....registry import DEGRADATIONS, LOSSES, MODELS
from ....structures import DataSample
from ....tasks import BaseRICTask, VideoEmbedding, build_task
from ...base_models import (BaseEditModel, ModuleCfg,
                            ReversibleConversionMixin)
from ...degradations import NoiseQuantization

__all__ = ['IICNet', 'iicnet_generator_config']

#: the loss terms of the objective, in the order they are reported.
LOSS_NAMES = ('embed_loss', 'freq_loss', 'restore_loss')


def _build_task(task) -> BaseRICTask:
    """:func:`~invtoolbox.tasks.build_task` with IICNet's name in errors."""
    try:
        return build_task(task)
    except ValueError as err:
        raise ValueError(f'IICNet: {err}'.replace('build_task: ', '')) from None


def iicnet_generator_config(task: BaseRICTask,
                            generator: Optional[dict] = None) -> dict:
    """The :class:`IICNetNet` config that :class:`IICNet` builds for a task.

    Keys left out of ``generator`` are filled in from the task: ``type``
    (``'IICNetNet'``), ``num_images``, ``out_channels`` and ``down``
    (``dict(type='haar', order='hl', use_conv1x1=True)`` for
    ``task.scale == 2``, else None). The official-checkpoint converter
    reads the networks of the configs through this function, so it builds
    what the model builds.
    """
    cfg = dict(generator or {})
    cfg.setdefault('type', 'IICNetNet')
    cfg.setdefault('num_images', task.num_images)
    cfg.setdefault('out_channels', task.out_channels)
    if task.scale == 2:
        cfg.setdefault('down', dict(type='haar', order='hl', use_conv1x1=True))
    else:
        cfg.setdefault('down', None)
    return cfg


@MODELS.register_module()
class IICNet(ReversibleConversionMixin, BaseEditModel):
    """IICNet: A Generic Framework for Reversible Image Conversion
    (Cheng, Xie, Chen, ICCV 2021).

    A task (:class:`~invtoolbox.tasks.BaseRICTask`) says which K images are
    embedded into one image and what the embedding should look like; the
    generator (:class:`IICNetNet`) embeds and restores. Users pass images as
    ``(N, K, 3, H, W)`` RGB in ``[0, 1]``, natural order; the model packs
    them with ``task.pack`` into the official stacking (reference first,
    BGR with ``channel_order='bgr'``, so converted official checkpoints
    work unchanged) and unpacks the restored images back.

    Official objective (``InvNet.loss_and_log``), every term a sum over C,
    H, W averaged over the batch::

        x     = pack(images);  r = task.reference(images)    (BGR-flipped)
        e     = G(x)                                      # before quantisation
        loss_embed   = 1     * sum((e - r)^2)
        loss_freq    = 0.001 * sum(|rfft2(e) - rfft2(r)|^2)
        e_q   = clamp(e*255 + U(-0.5, 0.5), 0, 255) / 255   # NoiseQuantization
        x_hat = G^-1(e_q)
        loss_restore = 3 * 1/K sum_k Charbonnier(x_hat_k, x_k)  # 0.4 with x2

    The weights come from ``task.default_losses()``; ``losses`` overrides
    them per term (``None`` switches a term off, e.g. ``freq_loss=None`` for
    the official ``*-03`` ablations).

    **Reproducible noise.** The training noise is drawn from a CPU
    generator seeded with ``(seed, iteration, rank)`` (iteration from
    mmengine's ``MessageHub``; see :class:`BaseEditModel`), so a resumed run draws the noise of an uninterrupted one on any
    device. ``train_cfg.seed=None`` takes ``torch.initial_seed()``.

    **Test path** (``predict``): ``e_q = round(e * 255) / 255`` (clamped,
    half to even), ``x_hat = clamp(G^-1(e_q), 0, 1)``.

    Args:
        task (dict | BaseRICTask): a ``TASKS`` config, e.g.
            ``dict(type='VideoEmbedding', num_images=5)``.
        generator (dict, optional): the :class:`IICNetNet` config;
            ``type`` (default ``'IICNetNet'``), ``num_images``,
            ``out_channels`` and, for ``task.scale == 2``, ``down``
            (default ``dict(type='haar', order='hl', use_conv1x1=True)``)
            are filled in from the task. Default: all from the task.
        losses (dict, optional): ``{'embed_loss' | 'freq_loss' |
            'restore_loss': LOSSES config or None}`` overriding
            ``task.default_losses()``.
        quantization (dict): ``DEGRADATIONS`` config of the quantiser.
            Default: ``dict(type='NoiseQuantization')``.
        channel_order (str): ``'bgr'`` (official; needed for converted
            checkpoints) or ``'rgb'``: the channel order inside the network.
        train_cfg (dict, optional): ``seed`` (None).
        test_cfg (dict, optional): ``quantize`` (True): restore from the
            8-bit embedding.
        data_preprocessor (dict, optional): Default:
            ``dict(type='DataPreprocessor')``.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    TRAIN_CFG_DEFAULTS = dict(
        seed=None,  # noise seed; None: torch.initial_seed() (= run's seed)
    )
    TEST_CFG_DEFAULTS = dict(
        quantize=True,  # restore from the 8-bit embedding (official test)
    )

    def __init__(self,
                 task: Union[dict, BaseRICTask],
                 generator: Optional[dict] = None,
                 losses: Optional[Dict[str, Optional[dict]]] = None,
                 quantization: ModuleCfg = dict(type='NoiseQuantization'),
                 channel_order: str = 'bgr',
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: ModuleCfg = dict(type='DataPreprocessor'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)
        name = type(self).__name__
        self.task = _build_task(task)
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"{name}: channel_order must be 'bgr' (official)"
                             f" or 'rgb', got {channel_order!r}.")
        self.channel_order = channel_order
        self.generator = self._build_generator(generator)
        loss_cfgs = dict(self.task.default_losses())
        unknown = sorted(set(losses or {}) - set(LOSS_NAMES))
        if unknown:
            raise ValueError(f'{name}: unknown loss name(s) {unknown}; the '
                             f'objective has {list(LOSS_NAMES)}.')
        loss_cfgs.update(losses or {})
        self.embed_loss = self.build(LOSSES, loss_cfgs.get('embed_loss'),
                                     'embed_loss')
        self.freq_loss = self.build(LOSSES, loss_cfgs.get('freq_loss'),
                                    'freq_loss')
        self.restore_loss = self.build(LOSSES,
                                       loss_cfgs.get('restore_loss'),
                                       'restore_loss')
        self.quantization = self.build(DEGRADATIONS, quantization,
                                       'quantization')

    def _build_generator(self, generator: Optional[dict]) -> nn.Module:
        name = type(self).__name__
        task = self.task
        if isinstance(generator, nn.Module):
            net = generator
        else:
            net = self.build(MODELS, iicnet_generator_config(task, generator),
                             'generator')
        found = (getattr(net, 'num_images', None),
                 getattr(net, 'out_channels', None), getattr(net, 'scale',
                                                             None))
        wanted = (task.num_images, task.out_channels, task.scale)
        if found != wanted:
            raise ValueError(
                f'{name}: the generator embeds (num_images, out_channels, '
                f'scale) = {found}, but the task {task!r} needs {wanted}; '
                'leave these generator keys out to take them from the task.')
        return net

    # ------------------------------------------------------------------
    # packing, randomness
    # ------------------------------------------------------------------
    @property
    def _bgr(self) -> bool:
        return self.channel_order == 'bgr'

    def _to_network_order(self, img: Tensor) -> Tensor:
        """RGB <-> the network's channel order for a ``(N, C, h, w)``
        embedding or reference (1-channel images are unchanged)."""
        return img.flip(1) if self._bgr and img.shape[1] == 3 else img

    def pack(self, images: Tensor) -> Tensor:
        """``(N, K, 3, H, W)`` natural RGB -> the network input ``(N, 3K,
        H, W)``."""
        return self.task.pack(images, bgr=self._bgr)

    def unpack(self, stacked: Tensor) -> Tensor:
        """The network's ``(N, 3K, H, W)`` -> ``(N, K, 3, H, W)`` natural
        RGB."""
        return self.task.unpack(stacked, bgr=self._bgr)

    def reference(self, images: Tensor) -> Tensor:
        """The target embedding in the network's channel order."""
        ref = self.task.reference(images)
        n, _, h, w = images.shape[:2] + images.shape[3:]
        s = self.task.scale
        expected = (n, self.task.out_channels, h // s, w // s)
        if tuple(ref.shape) != expected:
            raise ShapeError(
                f'{type(self).__name__}: {type(self.task).__name__}.'
                f'reference returned shape {tuple(ref.shape)}, expected '
                f'{expected}.')
        return self._to_network_order(ref)

    def quantize(self, embedding: Tensor, noise: bool,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        """Quantise an embedding: training noise or 8-bit rounding."""
        quant = self.quantization
        if quant is None:
            return embedding
        if isinstance(quant, NoiseQuantization):
            return quant(embedding, generator=generator, noise=noise)
        return quant(embedding)

    # ------------------------------------------------------------------
    # objective
    # ------------------------------------------------------------------
    def loss_terms(self, embedding: Tensor, reference: Tensor,
                   restored: Tensor, stacked: Tensor) -> Dict[str, Tensor]:
        """The weighted loss terms for given tensors (network order).

        Args:
            embedding (Tensor): ``(N, c, h, w)`` pre-quantisation embedding.
            reference (Tensor): ``(N, c, h, w)`` target embedding.
            restored (Tensor): ``(N, 3K, H, W)`` restored stack.
            stacked (Tensor): ``(N, 3K, H, W)`` input stack.

        Returns:
            dict[str, Tensor]: ``loss_embed``, ``loss_freq``,
            ``loss_restore`` (those whose loss is set).
        """
        losses: Dict[str, Tensor] = {}
        if self.embed_loss is not None:
            losses['loss_embed'] = self.embed_loss(embedding, reference)
        if self.freq_loss is not None:
            losses['loss_freq'] = self.freq_loss(embedding, reference)
        if self.restore_loss is not None:
            k = self.task.num_images
            per_image = [
                self.restore_loss(restored[:, 3 * i:3 * i + 3],
                                  stacked[:, 3 * i:3 * i + 3])
                for i in range(k)
            ]
            losses['loss_restore'] = sum(per_image) / k
        return losses

    def compute_losses(self, images: Tensor,
                       generator: Optional[torch.Generator] = None
                       ) -> Dict[str, Tensor]:
        """The official objective for one batch.

        Args:
            images (Tensor): ``(N, K, 3, H, W)`` RGB in ``[0, 1]``, natural
                order.
            generator (torch.Generator, optional): RNG of the quantisation
                noise. Default: :meth:`train_generator`.

        Returns:
            dict[str, Tensor]: see :meth:`loss_terms`.
        """
        if generator is None:
            generator = self.train_generator()
        stacked = self.pack(images)
        reference = self.reference(images)
        embedding = self.generator(stacked)
        quantized = self.quantize(embedding, noise=True, generator=generator)
        restored = self.generator(quantized, rev=True)
        return self.loss_terms(embedding, reference, restored, stacked)

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    @property
    def num_images(self) -> int:
        return self.task.num_images

    @property
    def conversion_scale(self) -> int:
        return self.task.scale

    @property
    def embedding_channels(self) -> int:
        return self.task.out_channels

    @property
    def image_names(self):
        return tuple(self.task.image_names)

    @property
    def takes_frames(self) -> bool:
        return isinstance(self.task, VideoEmbedding)

    @torch.no_grad()
    def embed(self, images: Tensor) -> Tensor:
        """``(N, K, 3, H, W)`` natural RGB -> the 8-bit embedding ``(N, c,
        H/s, W/s)`` in RGB (the image IICNet ships)."""
        embedding = self.generator(self.pack(images))
        quantized = self.quantize(embedding, noise=False)
        return self._to_network_order(quantized)

    @torch.no_grad()
    def restore(self, embedding: Tensor) -> Tensor:
        """An RGB embedding ``(N, c, h, w)`` -> the K restored images
        ``(N, K, 3, h*s, w*s)``, natural order RGB, not clamped."""
        restored = self.generator(self._to_network_order(embedding), rev=True)
        return self.unpack(restored)

    # ------------------------------------------------------------------
    # mmengine interface
    # ------------------------------------------------------------------
    def _images(self, inputs: Tensor) -> Tensor:
        if not isinstance(inputs, Tensor) or inputs.dim() != 5:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else \
                type(inputs).__name__
            raise ShapeError(
                f'{type(self).__name__}: expected inputs as (N, K, 3, H, W) '
                f'image groups (K={self.task.num_images}), got {shape}; the '
                'dataset must pack each sample as a (K, 3, H, W) tensor.')
        self.task.check_images(inputs, 'inputs')
        return inputs

    def forward_tensor(self, inputs: Tensor,
                       data_samples: Optional[List[DataSample]] = None
                       ) -> Tensor:
        """``mode='tensor'``: the generator's pre-quantisation embedding
        ``(N, c, H/s, W/s)`` (network channel order) of ``inputs`` ``(N, K,
        3, H, W)``."""
        return self.generator(self.pack(self._images(inputs)))

    def loss(self, inputs: Tensor,
             data_samples: Optional[List[DataSample]] = None
             ) -> Dict[str, Tensor]:
        """Training losses of a batch (see :meth:`compute_losses`)."""
        images = self._images(inputs)
        return self.compute_losses(images, self.next_train_generator())

    def predict(self, inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Embed, quantise, restore; one :class:`DataSample` per sample with
        ``pred_embed`` (the 8-bit embedding, ``(c, h, w)`` RGB),
        ``ref_img`` (the task's reference), ``pred_img`` (the restored
        images ``(K, 3, H, W)``, natural order RGB, clamped to [0, 1]),
        ``gt_img`` (the input images unless the sample has one) and the
        metainfo ``image_names`` / ``reference_index`` for
        :class:`~invtoolbox.evaluation.RICMetric`."""
        images = self._images(inputs)
        with torch.no_grad():
            stacked = self.pack(images)
            embedding = self.generator(stacked)
            quantized = self.quantize(
                embedding, noise=False) if self.test_cfg['quantize'] \
                else embedding
            restored = self.unpack(self.generator(quantized, rev=True))
            restored = restored.clamp(0, 1)
            reference = self.task.reference(images)
            quantized = self._to_network_order(quantized)
        return self.pack_predictions(
            data_samples,
            images.shape[0],
            fields=dict(
                pred_img=restored, pred_embed=quantized, ref_img=reference),
            defaults=dict(gt_img=images),
            metainfo=dict(
                image_names=tuple(self.task.image_names),
                reference_index=self.task.reference_index))
