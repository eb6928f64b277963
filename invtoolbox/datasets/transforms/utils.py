# Copyright (c) invtoolbox contributors. All rights reserved.
"""Helpers shared by the transforms."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def describe(results: dict, key: str) -> str:
    """A short name of image ``key`` for error messages: its file or sample key."""
    path = results.get(f'{key}_path')
    if path:
        return f'{key} image {str(path)!r}'
    if results.get('key') is not None:
        return f'{key} image of sample {results["key"]!r}'
    return f'{key} image'


def get_image(results: dict, key: str, owner: str) -> np.ndarray:
    """``results[key]`` as an ``(H, W)`` / ``(H, W, C)`` numpy image.

    Raises:
        ValueError: ``key`` is missing (naming the keys present) or its
            value is not a 2-D / 3-D numpy array.
    """
    if key not in results:
        raise ValueError(
            f'{owner}: no {key!r} image in the results (keys: '
            f'{", ".join(sorted(map(str, results)))}); load it first '
            f"(LoadImageFromFile(key='{key}')) or fix the key")
    img = results[key]
    if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
        shape = getattr(img, 'shape', None)
        raise ValueError(
            f'{owner}: results[{key!r}] must be an (H, W, C) numpy image, got '
            f'{type(img).__name__} of shape {shape}')
    return img


def present_keys(results: dict, keys: Sequence[str], owner: str) -> list:
    """The keys of ``keys`` present in ``results``; at least one must be."""
    found = [k for k in keys if k in results]
    if not found:
        raise ValueError(
            f'{owner}: none of the keys {tuple(keys)} is in the results (keys: '
            f'{", ".join(sorted(map(str, results)))}); fix keys')
    return found


def check_positive_int(value: Any, name: str, owner: str) -> int:
    """``value`` as a positive ``int``; a clear ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(
            value, (int, np.integer, float)) or int(value) != value or value < 1:
        raise ValueError(
            f'{owner}: {name} must be a positive integer, got {value!r}')
    return int(value)


def check_ratio(value: Any, name: str, owner: str) -> float:
    """``value`` as a probability in [0, 1]."""
    if isinstance(value, bool) or not isinstance(
            value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(
            f'{owner}: {name} must be a probability in [0, 1], got {value!r}')
    return float(value)
