# Copyright (c) invtoolbox contributors. All rights reserved.
"""The multi-image IICNet tasks: several RGB images embedded into one.

Each task fixes K (``num_images``), which image is the reference (the
official code stacks it first) and the short names used in metric names.
The images always arrive in their natural order (frames in time order,
``[left, right]``, ...); see :class:`~invtoolbox.tasks.BaseRICTask`.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..registry import TASKS
from .base_task import BaseRICTask

__all__ = [
    'VideoEmbedding', 'BinocularMononizing', 'DualViewEmbedding',
    'CompositionDecomposition', 'ImageHiding', 'quantize_8bit'
]


def quantize_8bit(images: Tensor) -> Tensor:
    """Round float images in [0, 1] to the 8-bit grid (``round(x * 255) / 255``).

    The official datasets compute their references with OpenCV on uint8
    images, so every reference value lies on this grid.
    """
    return torch.round(images.clamp(0, 1) * 255.) / 255.


def _halve_like_cv2(images: Tensor) -> Tensor:
    """``cv2.resize(img, (W // 2, H // 2), interpolation=INTER_LINEAR)`` on
    uint8 images, computed exactly.

    For an exact factor 2 OpenCV's bilinear weights are 1/2, 1/2 on both
    axes, and its fixed-point arithmetic rounds the 2x2 mean half up:
    ``floor((a + b + c + d + 2) / 4)``. ``images`` (float in [0, 1]) are read
    as 8-bit values first; every step below is exact in float32.
    """
    levels = torch.round(images.clamp(0, 1) * 255.)
    block_sum = F.avg_pool2d(levels, 2) * 4.
    return torch.floor((block_sum + 2.) / 4.) / 255.


@TASKS.register_module()
class VideoEmbedding(BaseRICTask):
    """Embed ``num_frames`` video frames into one image (IICNet video tasks).

    Official config ids: ``st-01`` (5 frames, the default), ``st-02`` /
    ``st-03`` (ablations: no relation module / no frequency loss),
    ``st-04`` / ``st-05`` (7 / 9 frames), and with ``scale=2`` the
    spatio-temporal downscaling variants ``st-06`` (3 frames, Haar) and
    ``st-07`` (5 frames, squeeze).

    Images: the frames in time order, ``(N, num_frames, 3, H, W)``; image
    names ``('t0', 't1', ...)``. Reference: the middle frame (index
    ``num_frames // 2``); with ``scale=2`` the middle frame halved by
    bilinear interpolation, exactly as the official ``cv2.resize``
    ``INTER_LINEAR`` on the 8-bit frame (so the reference is 8-bit too).

    Args:
        num_frames (int): frames per clip (>= 2). Default: 5.
        scale (int): 1 (embedding at full size) or 2 (spatio-temporal
            downscaling: embedding ``(H / 2, W / 2)``). Default: 1.
        exact_8bit (bool): with ``scale=2``, round the halved reference to
            8 bits as the official dataset does (``False``: plain float
            bilinear). Default: True.
    """

    def __init__(self,
                 num_frames: int = 5,
                 scale: int = 1,
                 exact_8bit: bool = True) -> None:
        num_frames = int(num_frames)
        if num_frames < 2:
            raise ValueError(
                f'VideoEmbedding: num_frames must be >= 2 (a clip), got '
                f'{num_frames}; for a single image use GrayscaleEmbedding '
                f'or ImageRescaling.')
        self.image_names = tuple(f't{i}' for i in range(num_frames))
        self.exact_8bit = bool(exact_8bit)
        super().__init__(
            num_images=num_frames, scale=scale,
            reference_index=num_frames // 2)

    @property
    def num_frames(self) -> int:
        """Frames per clip (= ``num_images``)."""
        return self.num_images

    def reference(self, images: Tensor) -> Tensor:
        """The middle frame, halved with ``scale=2``.

        Args:
            images (Tensor): ``(N, K, 3, H, W)`` in [0, 1].

        Returns:
            Tensor: ``(N, 3, H / scale, W / scale)`` in [0, 1].
        """
        if self.scale == 2 and self.exact_8bit:
            return _halve_like_cv2(images[:, self.reference_index])
        return super().reference(images)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'scale={self.scale}, exact_8bit={self.exact_8bit})')


@TASKS.register_module()
class BinocularMononizing(BaseRICTask):
    """Embed a stereo pair into its left view (IICNet binocular mononizing).

    Official config ids: ``mono-01`` (and the ablations ``mono-02`` without
    the relation module, ``mono-03`` without the frequency loss).

    Images: ``[left, right]``; reference: the left view.
    """

    num_images = 2
    reference_index = 0
    image_names = ('left', 'right')

    def __init__(self) -> None:
        super().__init__()

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


@TASKS.register_module()
class DualViewEmbedding(BaseRICTask):
    """Embed a zoomed-in view into the full view (IICNet dual-view).

    Official config ids: ``dual-01`` / ``dual-02`` / ``dual-03`` for
    ``view_scale`` 2 / 4 / 8 (DIV2K bicubic X2 / X4 / X8).

    Images: ``[LR full view, HR centre crop]``, both of the same pixel size
    (the LR is the HR image bicubically reduced by ``view_scale``, the crop
    is the HR image's centre region of the LR's size; see the
    ``GenerateDualView`` transform). Reference: the LR full view. The
    embedding has the input size: ``scale`` (the embedding's downscaling)
    is 1; ``view_scale`` is the zoom between the two views.

    Args:
        view_scale (int): 2, 4 or 8. Default: 2.
    """

    num_images = 2
    reference_index = 0
    image_names = ('lr_view', 'hr_crop')

    def __init__(self, view_scale: int = 2) -> None:
        if view_scale not in (2, 4, 8):
            raise ValueError(
                f'DualViewEmbedding: view_scale must be 2, 4 or 8 (the '
                f'official DIV2K X2 / X4 / X8 settings), got {view_scale!r}.')
        self.view_scale = int(view_scale)
        super().__init__()

    def __repr__(self) -> str:
        return f'{type(self).__name__}(view_scale={self.view_scale})'


@TASKS.register_module()
class CompositionDecomposition(BaseRICTask):
    """Embed a composite's layers into the composite (IICNet composition).

    Official config ids: ``adobe-01`` (3 images: ``[composite, background,
    foreground]``, Adobe Deep Matting) and ``real-01`` (2 images:
    ``[frame, background]``, Real-Matting). Reference: the composite
    (image 0).

    Args:
        num_images (int): 3 (``composite, background, foreground``) or 2
            (``frame, background``). Default: 3.
    """

    reference_index = 0
    _NAMES = {
        3: ('composite', 'background', 'foreground'),
        2: ('frame', 'background'),
    }

    def __init__(self, num_images: int = 3) -> None:
        if num_images not in self._NAMES:
            raise ValueError(
                f'CompositionDecomposition: num_images must be 3 (composite, '
                f'background, foreground) or 2 (frame, background), got '
                f'{num_images!r}.')
        self.image_names = self._NAMES[int(num_images)]
        super().__init__(num_images=num_images)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_images={self.num_images})'


@TASKS.register_module()
class ImageHiding(BaseRICTask):
    """Hide ``num_secrets`` images in a cover image (IICNet image hiding).

    Official config ids: ``hide-01`` .. ``hide-04`` (1 to 4 secrets) and
    the 4-secret ablations ``hide-05`` (no relation module) / ``hide-06``
    (no frequency loss). More than 4 secrets work the same way (the
    network grows about linearly) but were not evaluated by the authors.

    Images: ``[cover, secret1, ...]``; reference: the cover.

    Args:
        num_secrets (int): secret images per cover (>= 1). Default: 1.
    """

    reference_index = 0

    def __init__(self, num_secrets: int = 1) -> None:
        if isinstance(num_secrets, bool) or not isinstance(
                num_secrets, int) or num_secrets < 1:
            raise ValueError(
                f'ImageHiding: num_secrets must be an integer >= 1 (the '
                f'official configs use 1..4), got {num_secrets!r}.')
        self.num_secrets = num_secrets
        self.image_names = ('cover', ) + tuple(
            f'secret{i}' for i in range(1, num_secrets + 1))
        super().__init__(num_images=num_secrets + 1)

    @property
    def secret_names(self) -> Tuple[str, ...]:
        """The names of the hidden images."""
        return tuple(self.image_names[1:])

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_secrets={self.num_secrets})'
