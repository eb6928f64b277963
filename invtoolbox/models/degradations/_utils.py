# Copyright (c) invtoolbox contributors. All rights reserved.
"""Argument checks shared by the degradation simulators."""
import numbers
from typing import Any

import torch


def check_quality(quality: Any, name: str) -> int:
    """Return ``quality`` as an int in ``1..100`` or raise a ``ValueError``."""
    if isinstance(quality, bool) or not isinstance(quality, numbers.Real):
        raise ValueError(
            f'{name}: quality must be a number in 1..100, got '
            f'{quality!r}; to pick one of several qualities at random use '
            f"dict(type='RandomDegradation', degradations=[dict(type='{name}',"
            f' quality=[...])]).')
    if quality != int(quality) or not 1 <= quality <= 100:
        raise ValueError(
            f'{name}: quality must be an integer in 1..100, got {quality!r}; '
            'pass e.g. quality=75.')
    return int(quality)


def check_image_tensor(x: Any, name: str, rgb: bool = True) -> None:
    """Check that ``x`` is a float ``(N, 3, H, W)`` tensor (``rgb=True``) or
    any float tensor (``rgb=False``); raise a one-line ``ValueError`` if not."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(
            f'{name} expects a torch.Tensor, got {type(x).__name__}; convert '
            'the image with torch.from_numpy(img).permute(2, 0, 1)[None] / 255.'
        )
    if not x.is_floating_point():
        raise ValueError(
            f'{name} expects a float tensor in [0, 1], got dtype {x.dtype}; '
            'divide uint8 images by 255 first (x.float() / 255).')
    if not rgb:
        return
    if x.dim() != 4:
        raise ValueError(
            f'{name} expects an NCHW tensor (4 dims), got shape '
            f'{tuple(x.shape)}; add a batch dimension with x[None] or '
            'x.unsqueeze(0).')
    if x.shape[1] == 4:
        raise ValueError(
            f'{name} expects RGB images (3 channels), got 4 channels (RGBA?) '
            f'in shape {tuple(x.shape)}; drop the alpha channel first, '
            'e.g. x[:, :3].')
    if x.shape[1] != 3:
        raise ValueError(
            f'{name} expects RGB images (3 channels), got {x.shape[1]} '
            f'channels in shape {tuple(x.shape)}; convert grey images with '
            'x.expand(-1, 3, -1, -1) and pass only the RGB channels.')
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(
            f'{name} got an empty image of shape {tuple(x.shape)}; pass images '
            'with H, W >= 1.')
