# Copyright (c) invtoolbox contributors. All rights reserved.
"""The *rescaling* capability: downscale, transmit through a codec,
upscale."""
from __future__ import annotations

import contextlib
from typing import Iterator, List, NamedTuple, Optional

import torch
from torch import Tensor, nn

from ...registry import DEGRADATIONS
from ...structures import DataSample
from .base_edit_model import ModuleCfg

__all__ = ['RescalingMixin', 'RescaleResult', 'Transmission']


class Transmission(NamedTuple):
    """What the receiver gets (:meth:`RescalingMixin.transmit`)."""

    #: the received LR ``(N, c, h, w)`` in ``[0, 1]``.
    images: Tensor
    #: the compressed size of each image, or None when no real codec ran.
    num_bytes: Optional[List[int]]


class RescaleResult(NamedTuple):
    """The whole test path of a rescaling model (:meth:`~RescalingMixin.rescale`)."""

    #: the LR the sender ships, ``(N, c, H/s, W/s)`` (8-bit values).
    lr: Tensor
    #: the LR after the test codec (``lr`` itself without one).
    received: Tensor
    #: the upscaled image ``(N, C, H, W)``, clamped to ``[0, 1]``.
    hr: Tensor
    #: compressed size of each LR, or None when no real codec ran.
    num_bytes: Optional[List[int]]


class RescalingMixin:
    """Capability of models that **downscale** an image, send the LR through
    a channel (nothing, or a lossy codec) and **upscale** it back.

    A model opts in by listing this mixin *before* its base model
    (``class IRN(RescalingMixin, BaseEditModel)``), calling
    :meth:`init_rescaling` in ``__init__`` and implementing :attr:`scale`, :meth:`downscale` and :meth:`upscale`; it
    gets the test-time channel and the whole test path::

        lr = model.downscale(hr)                  # what the sender ships
        received, num_bytes = model.transmit(lr)  # through test_codec
        hr_hat = model.upscale(received)
        result = model.rescale(hr)                # all three, clamped

    The channel is ``model.test_codec``: ``None`` or a ``DEGRADATIONS``
    module, e.g. ``dict(type='RealJPEG', quality=30)``; codecs with a
    ``code(x)`` method (the real codecs) also report the compressed sizes.
    :meth:`set_test_codec` / :meth:`using_test_codec` change it; the QF-sweep
    test loop (:class:`~invtoolbox.engine.CodecSweepTestLoop`) talks to
    this capability only.
    """

    def init_rescaling(self, test_codec: ModuleCfg = None) -> None:
        """Set the initial test codec (see :meth:`set_test_codec`); call it
        in ``__init__`` after ``nn.Module.__init__``."""
        self.set_test_codec(test_codec)

    # -- to implement ----------------------------------------------------------
    @property
    def scale(self) -> int:
        """The rescaling factor ``s`` (HR size = ``s`` x LR size)."""
        raise NotImplementedError

    def downscale(self, hr: Tensor) -> Tensor:
        """HR ``(N, C, H, W)`` in ``[0, 1]`` -> the LR that is shipped."""
        raise NotImplementedError

    def upscale(self, lr: Tensor, **kwargs) -> Tensor:
        """Received LR -> HR (not clamped)."""
        raise NotImplementedError

    def draw_upscale_latent(self, lr: Tensor, **kwargs) -> Optional[Tensor]:
        """The random per-pixel input that :meth:`upscale` would draw for
        the whole of ``lr`` (same ``kwargs``), or None when it draws none.
        Models that return a tensor accept it back as ``upscale(lr, z=z)``:
        tiled inference (:mod:`invtoolbox.apis.tiling`) draws it once for
        the whole image and hands each tile its part, so tiles change no
        value."""
        return None

    # -- the channel -----------------------------------------------------------
    def build_test_codec(self, codec: ModuleCfg) -> Optional[nn.Module]:
        """Build a test codec from a ``DEGRADATIONS`` config (or pass a
        module / None through), with one-line errors for unknown types;
        models may restrict the allowed codecs by overriding this."""
        name = type(self).__name__
        if codec is None or isinstance(codec, nn.Module):
            return codec
        if not isinstance(codec, dict) or not isinstance(
                codec.get('type'), str):
            raise ValueError(
                f"{name}: test_codec must be a config dict such as "
                f"dict(type='RealJPEG', quality=30), got {codec!r}.")
        if DEGRADATIONS.get(codec['type']) is None:
            raise ValueError(
                f"{name}: unknown test_codec type {codec['type']!r}; use a "
                "DEGRADATIONS type such as 'RealJPEG' or 'RealWebP' (real "
                "codecs, quality 1..100) or 'DiffJPEG'.")
        return DEGRADATIONS.build(codec)  # the codecs check their quality

    def set_test_codec(self, codec: ModuleCfg) -> None:
        """Set the codec the LR goes through at test time: a
        ``DEGRADATIONS`` config or module, or None for a lossless channel."""
        self.test_codec = self.build_test_codec(codec)

    @contextlib.contextmanager
    def using_test_codec(self, codec: ModuleCfg) -> Iterator[None]:
        """Use ``codec`` inside the block, then restore the previous one."""
        previous = self.test_codec
        self.set_test_codec(codec)
        try:
            yield
        finally:
            self.test_codec = previous

    def transmit(self, lr: Tensor) -> Transmission:
        """What happens to the LR between sender and receiver at test time:
        nothing, or the ``test_codec``. Returns the received LR and the
        compressed sizes (None unless a codec that reports them ran)."""
        codec = self.test_codec
        if codec is None:
            return Transmission(lr, None)
        if callable(getattr(codec, 'code', None)):
            out = codec.code(lr)
            return Transmission(out.images, list(out.num_bytes))
        return Transmission(codec(lr), None)

    # -- the test path -----------------------------------------------------------
    @torch.no_grad()
    def rescale(self, hr: Tensor) -> RescaleResult:
        """Downscale, transmit, upscale (clamped to ``[0, 1]``)."""
        lr = self.downscale(hr)
        received, num_bytes = self.transmit(lr)
        out = self.upscale(received).clamp(0, 1)
        return RescaleResult(lr, received, out, num_bytes)

    def predict(self, inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """Downscale, transmit, upscale; one :class:`DataSample` per image
        with ``pred_img`` (``(C, H, W)`` in ``[0, 1]``), ``pred_lr`` (the
        shipped LR ``(c, h, w)``), ``gt_img`` (the sample's, else the
        input), ``lr_img`` when the sample has one, ``num_bytes`` when a
        real codec ran, and the inputs' meta information."""
        result = self.rescale(inputs)
        return self.pack_predictions(
            data_samples,
            inputs.shape[0],
            fields=dict(
                pred_img=result.hr,
                pred_lr=result.lr,
                num_bytes=None if result.num_bytes is None else
                [int(n) for n in result.num_bytes]),
            defaults=dict(gt_img=inputs),
            keep=('lr_img', ))
