# Copyright (c) invtoolbox contributors. All rights reserved.
"""Invertible-ISP's RAW normalisation and orientation, and their inverses.

Official code (yzxing87/Invertible-ISP, ``dataset/FiveK_dataset.py``, after
``data/data_preprocess.py`` demosaiced and rotated the mosaic)::

    wb = wb / wb.max()                  # camera_whitebalance, 4 values
    raw = raw * wb[:-1]                 # R, G, B gains <= 1
    raw = raw ** (1 / 2.2) / white ** (1 / 2.2)   # --gamma (always on)

with ``white`` fixed per camera (16383 Nikon D700, 4095 Canon EOS 5D).
:func:`normalise` computes ``clip((wb / max(wb)) * (x - black) /
(white - black_c), 0, 1) ** (1 / 2.2)`` (``black`` the demosaiced per-site
black, ``black_c`` the black level of channel c's sites) with the file's own levels. It differs
from the official code in three documented ways:

- the black level is subtracted (the official code never does: its Canon
  branch ``raw - 127`` is dead code behind the typo ``'Canon EOD 5D'``); the
  black level is subtracted per Bayer site *before* demosaicing, computed
  here exactly by linearity as ``demosaic(x) - demosaic(black mosaic)``, so
  for black 0 the result is identical to the official one;
- ``white`` is the file's ``white_level``, not a per-camera constant (the
  same numbers for the FiveK Nikon D700 and Canon EOS 5D DNGs);
- the white-balance maximum is taken over R, G, B only (the official
  ``wb.max()`` also sees LibRaw's 4th value, the second green or 0);
- values are clipped to [0, 1] before the gamma (a value below black would
  give NaN under ``** (1 / 2.2)``; the official data has none with black 0).

:func:`denormalise` is the exact inverse on [0, 1] (up to float rounding),
back to sensor units, so ``mosaic(denormalise(x))`` rounded and clipped to
``[0, white]`` is a Bayer mosaic to write as a DNG (:func:`to_bayer`).
"""
from __future__ import annotations

from typing import Tuple, Union

import numpy as np
import torch

from .demosaic import bilinear_demosaic, mosaic
from .metadata import RawMetadata

ArrayLike = Union[np.ndarray, torch.Tensor]

#: the official gamma exponent (``x ** (1 / GAMMA)``).
GAMMA = 2.2

#: LibRaw ``sizes.flip`` -> number of ``np.rot90`` quarter turns (official).
FLIP_TO_ROT90 = {0: 0, 3: 2, 5: 1, 6: 3}


def _check_image(x: ArrayLike, owner: str) -> Tuple[int, int]:
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        raise TypeError(f'{owner}: expected a numpy array or a torch tensor, '
                        f'got {type(x).__name__}')
    if x.ndim < 3 or x.shape[-3] != 3:
        raise ValueError(f'{owner}: expected a (..., 3, H, W) image, got '
                         f'shape {tuple(x.shape)}')
    return x.shape[-2], x.shape[-1]


def _black_image(meta: RawMetadata, height: int, width: int,
                 like: ArrayLike) -> ArrayLike:
    """The demosaiced black level: ``(3, H, W)`` (exact by linearity)."""
    if height % 2 or width % 2:
        raise ValueError(f'the image is {height}x{width}; the black level '
                         'is per Bayer site and needs even sides')
    tile = np.asarray(meta.black_level, dtype=np.float32).reshape(2, 2)
    black = bilinear_demosaic(np.tile(tile, (height // 2, width // 2)),
                              meta.cfa)
    if isinstance(like, torch.Tensor):
        return torch.from_numpy(black).to(like.device)
    return black


def _span(meta: RawMetadata, like: ArrayLike) -> ArrayLike:
    """``(3, 1, 1)`` white - black per channel (black of the channel's
    sites; the two greens' mean for G)."""
    black = [np.mean([b for b, c in zip(meta.black_level, meta.cfa)
                      if c == letter]) for letter in 'RGB']
    span = float(meta.white_level) - np.asarray(black)
    if np.any(span <= 0):
        raise ValueError(f'white level {meta.white_level} is not above the '
                         f'black levels {meta.black_level}')
    span = span.astype(np.float32).reshape(3, 1, 1)
    if isinstance(like, torch.Tensor):
        return torch.from_numpy(span).to(like.device)
    return span


def wb_gains(meta: RawMetadata) -> np.ndarray:
    """The per-channel gains of :func:`normalise`: ``wb / max(wb)`` over
    R, G, B, shape ``(3, 1, 1)`` float64 (each <= 1)."""
    wb = np.asarray(meta.wb, dtype=np.float64)
    if wb.shape != (3, ) or not np.all(np.isfinite(wb)) or np.any(wb <= 0):
        raise ValueError(f'the white balance must be 3 positive numbers, got '
                         f'{meta.wb!r}')
    return (wb / wb.max()).reshape(3, 1, 1)


def _gains(meta: RawMetadata, like: ArrayLike) -> ArrayLike:
    gains = wb_gains(meta).astype(np.float32)
    if isinstance(like, torch.Tensor):
        return torch.from_numpy(gains).to(like.device)
    return gains


def normalise(demosaiced: ArrayLike, meta: RawMetadata,
              gamma: bool = True) -> ArrayLike:
    """Sensor units -> the network's RAW input.

    Args:
        demosaiced: ``(..., 3, H, W)`` :func:`bilinear_demosaic` output in
            sensor units, in the mosaic's orientation (normalise before
            :func:`apply_flip`: the black level is per Bayer site).
        meta (RawMetadata): the file's levels and white balance.
        gamma (bool): apply ``** (1 / 2.2)`` (official ``--gamma``).

    Returns:
        ``(..., 3, H, W)`` float32 in [0, 1] (numpy or torch, as given).
    """
    height, width = _check_image(demosaiced, 'normalise')
    black = _black_image(meta, height, width, demosaiced)
    span = _span(meta, demosaiced)
    x = (demosaiced - black) / span * _gains(meta, demosaiced)
    if isinstance(x, torch.Tensor):
        x = x.to(torch.float32).clamp(0, 1)
        return x.pow(1 / GAMMA) if gamma else x
    x = np.clip(x.astype(np.float32), 0, 1)
    return np.power(x, np.float32(1 / GAMMA)) if gamma else x


def denormalise(x: ArrayLike, meta: RawMetadata,
                gamma: bool = True) -> ArrayLike:
    """The inverse of :func:`normalise`: network RAW -> sensor units.

    Args:
        x: ``(..., 3, H, W)`` in [0, 1] (values outside are clipped), in the
            mosaic's orientation (:func:`undo_flip` first).
        meta (RawMetadata): the levels and white balance used by
            :func:`normalise`.
        gamma (bool): undo the ``** (1 / 2.2)``.

    Returns:
        ``(..., 3, H, W)`` float32 in sensor units (``[black, white]``, not
        rounded).
    """
    height, width = _check_image(x, 'denormalise')
    black = _black_image(meta, height, width, x)
    span = _span(meta, x)
    if isinstance(x, torch.Tensor):
        linear = x.to(torch.float32).clamp(0, 1)
        linear = linear.pow(GAMMA) if gamma else linear
    else:
        linear = np.clip(np.asarray(x, dtype=np.float32), 0, 1)
        linear = np.power(linear, np.float32(GAMMA)) if gamma else linear
    return linear / _gains(meta, x) * span + black


def to_bayer(x: ArrayLike, meta: RawMetadata,
             gamma: bool = True) -> np.ndarray:
    """Network RAW -> a uint16 Bayer mosaic to write as a DNG.

    ``mosaic(denormalise(x, meta, gamma), meta.cfa)`` rounded to the nearest
    integer and clipped to ``[0, white_level]``.

    Args:
        x: ``(3, H, W)`` in [0, 1], in the mosaic's orientation.

    Returns:
        np.ndarray: ``(H, W)`` uint16.
    """
    sensor = denormalise(x, meta, gamma)
    if isinstance(sensor, torch.Tensor):
        sensor = sensor.detach().cpu().numpy()
    bayer = mosaic(np.asarray(sensor, dtype=np.float64), meta.cfa)
    return np.clip(np.rint(bayer), 0, meta.white_level).astype(np.uint16)


def _rotate(img: ArrayLike, k: int, axes: Tuple[int, int]) -> ArrayLike:
    if k % 4 == 0:
        return img
    if isinstance(img, torch.Tensor):
        return torch.rot90(img, k, dims=list(axes))
    return np.ascontiguousarray(np.rot90(img, k, axes=axes))


def _quarter_turns(flip: int) -> int:
    if flip not in FLIP_TO_ROT90:
        raise ValueError(f'flip must be one of {tuple(FLIP_TO_ROT90)} '
                         f'(LibRaw sizes.flip), got {flip!r}')
    return FLIP_TO_ROT90[flip]


def apply_flip(img: ArrayLike, flip: int,
               axes: Tuple[int, int] = (-2, -1)) -> ArrayLike:
    """Orient an image as the camera held it (official ``flip``).

    ``np.rot90`` by LibRaw's ``sizes.flip``: 3 -> k=2, 5 -> k=1 (90 deg
    counter-clockwise), 6 -> k=3, 0 -> unchanged.

    Args:
        img: numpy array or torch tensor.
        flip (int): LibRaw ``sizes.flip`` (0, 3, 5 or 6).
        axes (tuple): the (row, column) axes: ``(-2, -1)`` for ``(C, H, W)``
            (default), ``(0, 1)`` for ``(H, W, C)``.
    """
    return _rotate(img, _quarter_turns(flip), axes)


def undo_flip(img: ArrayLike, flip: int,
              axes: Tuple[int, int] = (-2, -1)) -> ArrayLike:
    """The inverse of :func:`apply_flip` (back to the sensor's layout)."""
    return _rotate(img, -_quarter_turns(flip) % 4, axes)


def load_raw_input(path, gamma: bool = True
                   ) -> Tuple[np.ndarray, RawMetadata]:
    """A RAW file -> the network's RAW input and the file's metadata.

    :func:`~invtoolbox.datasets.raw.read_raw` -> :func:`bilinear_demosaic`
    -> :func:`normalise` -> :func:`apply_flip`: the official
    ``data_preprocess.py`` + ``FiveK_dataset.py`` input.

    Returns:
        tuple: ``(3, H, W)`` float32 in [0, 1] (oriented as LibRaw shows the
        photo), and the :class:`RawMetadata`.
    """
    from .io import read_raw
    bayer, meta = read_raw(path)
    image = apply_flip(normalise(bilinear_demosaic(bayer, meta.cfa), meta,
                                 gamma), meta.flip)
    return np.ascontiguousarray(image, dtype=np.float32), meta
