# Copyright (c) invtoolbox contributors. All rights reserved.
"""The reversible-image-conversion (RIC) task: the plugin point of IICNet.

A task says *what* is embedded into one image (``num_images`` RGB images of
one sample) and *what the embedding should look like* (:meth:`reference`).
The generic :class:`~invtoolbox.models.IICNet` model does the rest: it packs
the images on the channel axis (:meth:`pack`), embeds them, restores them
and unpacks the result (:meth:`unpack`).

Image convention everywhere in the public API: ``images`` is a float tensor
``(N, K, 3, H, W)`` in ``[0, 1]``, RGB, the K images in their natural order
(frames in time order, ``[left, right]``, ``[cover, secret1, ...]``).
The official IICNet code stacks the images on channels with the reference
image first and every image in BGR order; :meth:`pack` produces exactly that
layout (``bgr=True``) so that converted official checkpoints work unchanged,
and :meth:`unpack` undoes it.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch.nn.functional as F
from torch import Tensor

from ..errors import ShapeError

__all__ = ['BaseRICTask']


class BaseRICTask:
    """Base class of reversible-image-conversion tasks.

    Subclasses set the class attributes (or pass them to ``__init__``) and
    implement :meth:`reference`. Everything else has a default that fits
    the IICNet tasks; override what a task needs.

    Class attributes:
        num_images (int): K, the number of RGB images per sample.
        scale (int): the embedding is ``(H / scale, W / scale)``.
        out_channels (int): channels of the embedding (3; 1 for grayscale).
        reference_index (int): which image (natural order) the official
            code stacks first; the default :meth:`pack` moves it to the
            front, :meth:`unpack` moves it back.
        image_names (tuple[str], optional): a short name per image (natural
            order) used in metric names, e.g. ``('left', 'right')``.
            Default: ``('img0', 'img1', ...)``.

    Args:
        num_images, scale, out_channels, reference_index: override the
            class attributes (e.g. ``ImageHiding(num_images=3)``).
    """

    num_images: int = 1
    scale: int = 1
    out_channels: int = 3
    reference_index: int = 0
    image_names: Optional[Sequence[str]] = None

    def __init__(self,
                 num_images: Optional[int] = None,
                 scale: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 reference_index: Optional[int] = None) -> None:
        name = type(self).__name__
        if num_images is not None:
            self.num_images = int(num_images)
        if scale is not None:
            self.scale = int(scale)
        if out_channels is not None:
            self.out_channels = int(out_channels)
        if reference_index is not None:
            self.reference_index = int(reference_index)
        if self.num_images < 1:
            raise ValueError(f'{name}: num_images must be >= 1, got '
                             f'{self.num_images}.')
        if self.scale not in (1, 2):
            raise ValueError(f'{name}: scale must be 1 or 2 (IICNet has one '
                             f'optional x2 downscaling stage), got '
                             f'{self.scale}.')
        if self.out_channels not in (1, 3):
            raise ValueError(f'{name}: out_channels must be 1 or 3, got '
                             f'{self.out_channels}.')
        if not 0 <= self.reference_index < self.num_images:
            raise ValueError(
                f'{name}: reference_index {self.reference_index} is outside '
                f'0..{self.num_images - 1} ({self.num_images} images).')
        if self.image_names is None:
            self.image_names = tuple(f'img{i}' for i in range(self.num_images))
        elif len(self.image_names) != self.num_images:
            raise ValueError(
                f'{name}: image_names has {len(self.image_names)} entries '
                f'for {self.num_images} images.')

    # ------------------------------------------------------------------
    # what subclasses implement
    # ------------------------------------------------------------------
    def reference(self, images: Tensor) -> Tensor:
        """What the embedding should look like.

        Args:
            images (Tensor): ``(N, K, 3, H, W)`` RGB in ``[0, 1]``, natural
                order.

        Returns:
            Tensor: ``(N, out_channels, H / scale, W / scale)`` in ``[0, 1]``.
            Default: the reference image, bilinearly halved when
            ``scale == 2`` (the official ``cv2.resize`` INTER_LINEAR).
        """
        ref = images[:, self.reference_index]
        if self.scale > 1:
            ref = F.interpolate(
                ref, scale_factor=1. / self.scale, mode='bilinear',
                align_corners=False, antialias=False)
        return ref

    # ------------------------------------------------------------------
    # defaults shared by the tasks
    # ------------------------------------------------------------------
    @property
    def order(self) -> List[int]:
        """The natural-order index of each stacked image (reference first,
        then the others in natural order), as the official code stacks
        them; e.g. ``[2, 0, 1, 3, 4]`` for 5 video frames."""
        ref = self.reference_index
        return [ref] + [i for i in range(self.num_images) if i != ref]

    def check_images(self, images: Tensor, what: str = 'images') -> None:
        """Raise a one-line :class:`~invtoolbox.ShapeError` unless ``images``
        is ``(N, K, 3, H, W)`` with K = ``num_images`` and H, W divisible by
        ``scale``."""
        name = type(self).__name__
        if images.dim() != 5 or images.shape[2] != 3:
            raise ShapeError(
                f'{name}: expected {what} as an (N, {self.num_images}, 3, H, '
                f'W) batch of RGB images, got shape {tuple(images.shape)}.')
        if images.shape[1] != self.num_images:
            raise ShapeError(
                f'{name}: this task embeds {self.num_images} images per '
                f'sample, got {images.shape[1]} (shape '
                f'{tuple(images.shape)}); check the dataset or the task\'s '
                f'num_images.')
        h, w = images.shape[-2:]
        if h % self.scale or w % self.scale:
            raise ShapeError(
                f'{name}: image size {h}x{w} is not divisible by the scale '
                f'{self.scale}; crop it to a multiple of {self.scale}.')

    def pack(self, images: Tensor, bgr: bool = True) -> Tensor:
        """``(N, K, 3, H, W)`` natural-order RGB -> ``(N, 3K, H, W)`` in the
        official stacking (reference first, then the others; BGR if
        ``bgr``)."""
        self.check_images(images)
        stacked = images[:, self.order]
        if bgr:
            stacked = stacked.flip(2)
        n, k, c, h, w = stacked.shape
        return stacked.reshape(n, k * c, h, w)

    def unpack(self, stacked: Tensor, bgr: bool = True) -> Tensor:
        """Inverse of :meth:`pack`: ``(N, 3K, H, W)`` -> ``(N, K, 3, H, W)``
        natural-order RGB."""
        n, kc, h, w = stacked.shape
        if kc != 3 * self.num_images:
            raise ShapeError(
                f'{type(self).__name__}: expected {3 * self.num_images} '
                f'stacked channels, got {kc}.')
        images = stacked.reshape(n, self.num_images, 3, h, w)
        if bgr:
            images = images.flip(2)
        inverse = [0] * self.num_images
        for pos, idx in enumerate(self.order):
            inverse[idx] = pos
        return images[:, inverse]

    def default_losses(self) -> Dict[str, dict]:
        """The official objective's ``LOSSES`` configs (sums over C, H, W,
        averaged over the batch): embedding L2 (1), FFT frequency loss
        (0.001) and Charbonnier restoration (3; 0.4 with x2 downscaling).
        A model's config may override any of them."""
        return dict(
            embed_loss=dict(
                type='MSELoss', loss_weight=1.0, reduction='batch_sum'),
            freq_loss=dict(type='FrequencyLoss', loss_weight=0.001),
            restore_loss=dict(
                type='CharbonnierLoss',
                loss_weight=3.0 if self.scale == 1 else 0.4,
                reduction='batch_sum'))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_images={self.num_images}, '
                f'scale={self.scale}, out_channels={self.out_channels}, '
                f'reference_index={self.reference_index})')
