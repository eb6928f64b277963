# Copyright (c) invtoolbox contributors. All rights reserved.
"""The *reversible conversion* capability: embed K images into one image
and restore them from it."""
from __future__ import annotations

from typing import Tuple

from torch import Tensor

__all__ = ['ReversibleConversionMixin']


class ReversibleConversionMixin:
    """Capability of models that **embed** K images into one image (the
    embedding, 8-bit values) and **restore** the K images from it: IICNet
    with every task, and any model a plugin registers for a new task.

    A model opts in by listing this mixin before its base model and
    implementing :meth:`embed`, :meth:`restore` and the properties below;
    the inference commands (``tools/infer.py embed`` / ``restore``,
    :class:`~invtoolbox.apis.Inferencer`) talk to this capability only::

        embedding = model.embed(images)     # (N, K, 3, H, W) -> (N, c, H/s, W/s)
        restored = model.restore(embedding)  # -> (N, K, 3, H, W), not clamped
    """

    # -- to implement ----------------------------------------------------------
    @property
    def num_images(self) -> int:
        """K, the number of RGB images embedded into one."""
        raise NotImplementedError

    @property
    def conversion_scale(self) -> int:
        """``s``: the embedding is ``(H / s, W / s)``."""
        raise NotImplementedError

    @property
    def embedding_channels(self) -> int:
        """Channels of the embedding (3, or 1 for a grey embedding)."""
        raise NotImplementedError

    @property
    def image_names(self) -> Tuple[str, ...]:
        """A short name per image, natural order (e.g. ``('left',
        'right')``); the restored files are named after them."""
        raise NotImplementedError

    @property
    def takes_frames(self) -> bool:
        """Whether the K images are consecutive video frames (then a video
        file or GIF can be embedded, and restored as an animation)."""
        return False

    def embed(self, images: Tensor) -> Tensor:
        """``(N, K, 3, H, W)`` RGB in ``[0, 1]`` -> the 8-bit embedding
        ``(N, c, H/s, W/s)``."""
        raise NotImplementedError

    def restore(self, embedding: Tensor) -> Tensor:
        """The embedding ``(N, c, h, w)`` -> the K images ``(N, K, 3, h*s,
        w*s)``, natural order, not clamped."""
        raise NotImplementedError
