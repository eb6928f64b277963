# Copyright (c) invtoolbox contributors. All rights reserved.
"""Atomic checkpoint writing, and the checkpoint readers of the one trust
policy (:mod:`invtoolbox.utils.checkpoint_trust`, re-exported here)."""
from __future__ import annotations

import hashlib
import math
import numbers
import os
import tempfile
from typing import Any, Callable, Iterable, Optional

import torch

from ..utils.checkpoint_trust import (TRUSTED_GLOBALS, load_trusted_checkpoint,
                                      load_weights_only)

__all__ = [
    'load_weights_only', 'load_trusted_checkpoint', 'save_checkpoint_atomic',
    'write_file_atomic', 'write_path_atomic',
    'plain_meta', 'file_sha256', 'default_file_mode', 'TRUSTED_GLOBALS'
]


def plain_meta(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with only plain types (loadable with
    ``weights_only=True``): str, int, float, bool, None, lists, tuples and
    dicts with str keys; other objects become their ``str()``, numpy
    scalars their Python value."""
    if _depth > 20:
        return str(value)
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {
            str(k): plain_meta(v, _depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [plain_meta(v, _depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if hasattr(value, 'item') and getattr(value, 'size', None) == 1:
        return plain_meta(value.item(), _depth + 1)
    return str(value)


def file_sha256(path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def default_file_mode() -> int:
    """``0o666`` minus the process umask: the mode ``open()`` would give a new
    file (``tempfile.mkstemp`` creates files readable by the owner only)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_path_atomic(path, produce: Callable[[str], Any],
                      suffix: str = '.tmp') -> None:
    """Make a file atomically: ``produce(tmp_path)`` writes a temporary
    file next to ``path`` (its name ends in ``suffix``, for writers that
    pick the format from the extension), which then gets the usual file
    mode and is ``os.replace``-d onto ``path``. On any failure the
    temporary file is removed and an existing ``path`` is untouched."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + os.path.basename(path) + '.', suffix=suffix, dir=folder)
    os.close(fd)
    try:
        produce(tmp)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_file_atomic(path, write: Callable[[Any], None],
                      check: Optional[Callable[[str], Any]] = None) -> None:
    """Write a file atomically: ``write(f)`` into a temporary file next to
    ``path``, flush and fsync it, run ``check(tmp_path)`` if given, give it
    the usual file mode and ``os.replace`` it onto ``path``. On any failure
    the temporary file is removed and an existing ``path`` is untouched.
    """

    def produce(tmp: str) -> None:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(tmp)

    write_path_atomic(path, produce)


def save_checkpoint_atomic(obj: Any,
                           path,
                           verify: bool = True,
                           protect: Optional[Iterable] = None) -> str:
    """``torch.save`` ``obj`` to ``path`` without ever leaving a partial file.

    The checkpoint is written to a temporary file in the destination folder,
    flushed to disk, re-read with ``weights_only=True`` (``verify``) and
    only then renamed over ``path`` (``os.replace``, atomic on one file
    system). On any failure the temporary file is removed and an existing
    ``path`` is untouched.

    Args:
        obj: what to save (tensors, plain dicts/lists/str/numbers).
        path: destination file.
        verify (bool): re-load the temporary file with ``weights_only=True``.
        protect (Iterable, optional): files that must never be overwritten
            (e.g. the source checkpoint).

    Returns:
        str: the absolute destination path.
    """
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    for other in protect or ():
        other = os.path.abspath(os.path.expanduser(os.fspath(other)))
        if os.path.exists(other) and os.path.exists(path) and \
                os.path.samefile(other, path):
            raise ValueError(f'refusing to overwrite the input {other!r}; '
                             'choose another output path.')
    check = ((lambda tmp: torch.load(tmp, map_location='cpu',
                                     weights_only=True)) if verify else None)
    write_file_atomic(path, lambda f: torch.save(obj, f), check=check)
    return path
