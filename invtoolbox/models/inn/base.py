# Copyright (c) invtoolbox contributors. All rights reserved.
"""The base class of every invertible module.

Call convention (DESIGN.md section 4), shared by couplings, reshapes, mixing
layers and containers::

    y = m(x)                     # forward
    x = m(y, rev=True)           # inverse
    y, logdet = m(x, jac=True)   # logdet: (N,) tensor, log|det dy/dx|
    x, logdet = m(y, rev=True, jac=True)   # log-det of the inverse map

Tensors are NCHW. An optional condition ``c`` may be passed as a keyword.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ...errors import ShapeError

Shape = Tuple[int, int, int]


class InvertibleModule(nn.Module):
    """Base class of invertible modules.

    Subclasses implement :meth:`_forward` and :meth:`_inverse`, each returning
    ``(output, logdet)`` where ``logdet`` is a ``(N,)`` tensor or ``None``
    when ``jac`` is False and the log-determinant is not cheap. Shape
    bookkeeping goes through :meth:`output_shape` / :meth:`input_shape`
    (identity by default), which also validate shapes with one-line errors.

    Args:
        channels (int, optional): number of input channels of the forward
            map; when given, inputs with another channel count are rejected
            with a clear :class:`~invtoolbox.ShapeError`.
    """

    #: False for blocks whose intermediate tensors are read from outside
    #: (they then run with plain autograd inside memory-efficient chains).
    memory_efficient_safe = True

    def __init__(self, channels: Optional[int] = None) -> None:
        super().__init__()
        self.channels = channels

    # ------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------
    def forward(self,
                x: Tensor,
                rev: bool = False,
                jac: bool = False,
                c: Optional[Tensor] = None):
        """Run the map (``rev=False``) or its inverse (``rev=True``).

        Args:
            x (Tensor): (N, C, H, W) input of the chosen direction.
            rev (bool): run the inverse map.
            jac (bool): also return the log-determinant, shape (N,).
            c (Tensor, optional): a condition, passed to conditional blocks.

        Returns:
            Tensor or tuple[Tensor, Tensor]: ``y`` or ``(y, logdet)``.
        """
        self._check_input(x, rev)
        if rev:
            out, logdet = self._inverse(x, c=c, jac=jac)
        else:
            out, logdet = self._forward(x, c=c, jac=jac)
        if not jac:
            return out
        if logdet is None:
            logdet = x.new_zeros(x.shape[0])
        return out, logdet

    def inverse(self, y: Tensor, jac: bool = False, c: Optional[Tensor] = None):
        """Shorthand for ``self(y, rev=True, jac=jac, c=c)``."""
        return self(y, rev=True, jac=jac, c=c)

    def output_shape(self, in_shape: Sequence[int]) -> Shape:
        """(C, H, W) of the forward output for a (C, H, W) input."""
        self._check_shape(in_shape, self.channels, 'input')
        return tuple(in_shape)

    def input_shape(self, out_shape: Sequence[int]) -> Shape:
        """(C, H, W) of the forward input for a (C, H, W) output."""
        return tuple(out_shape)

    # ------------------------------------------------------------------
    # to implement
    # ------------------------------------------------------------------
    def _forward(self, x: Tensor, c: Optional[Tensor],
                 jac: bool) -> Tuple[Tensor, Optional[Tensor]]:
        raise NotImplementedError

    def _inverse(self, y: Tensor, c: Optional[Tensor],
                 jac: bool) -> Tuple[Tensor, Optional[Tensor]]:
        raise NotImplementedError

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    @property
    def out_channels(self) -> Optional[int]:
        """Channels of the forward output (``None`` when unknown)."""
        return self.channels

    def _expected_channels(self, rev: bool) -> Optional[int]:
        """Channel count the input of the given direction must have."""
        return self.out_channels if rev else self.channels

    def _check_input(self, x: Tensor, rev: bool) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f'{type(self).__name__} expects a torch.Tensor, '
                            f'got {type(x).__name__}.')
        if x.dim() != 4:
            raise ShapeError(
                f'{type(self).__name__} expects an NCHW tensor, got shape '
                f'{tuple(x.shape)}; add a batch dimension with x[None].')
        expected = self._expected_channels(rev)
        if expected is not None and x.shape[1] != expected:
            direction = 'inverse' if rev else 'forward'
            raise ShapeError(
                f'{type(self).__name__} ({direction}) expects {expected} '
                f'channels, got input of shape {tuple(x.shape)}; check the '
                'channel count of your data or the "channels" setting.')

    def _check_shape(self, shape: Sequence[int], channels: Optional[int],
                     what: str) -> None:
        if len(shape) != 3:
            raise ShapeError(f'{type(self).__name__}: {what} shape must be '
                             f'(C, H, W), got {tuple(shape)}.')
        if channels is not None and shape[0] != channels:
            raise ShapeError(
                f'{type(self).__name__} was built for {channels} channels, '
                f'got {what} shape {tuple(shape)}; set channels='
                f'{shape[0]} or fix the preceding block.')

    def extra_repr(self) -> str:
        return f'channels={self.channels}' if self.channels is not None else ''


def zero_logdet(x: Tensor) -> Tensor:
    """A (N,) zero log-determinant on ``x``'s device and dtype."""
    return x.new_zeros(x.shape[0])


def sum_except_batch(x: Tensor) -> Tensor:
    """Sum over every dimension but the first: (N, ...) -> (N,)."""
    return x.reshape(x.shape[0], -1).sum(dim=1)


def check_divisible(module: nn.Module, h: int, w: int, factor: int,
                    what: str = 'input') -> None:
    """Raise a one-line error unless ``h`` and ``w`` are multiples of ``factor``."""
    if h % factor or w % factor:
        raise ShapeError(
            f'{type(module).__name__} needs height and width divisible by '
            f'{factor}, got {what} {h}x{w}; crop or pad the image to a '
            f'multiple of {factor} (e.g. invtoolbox modcrop).')
