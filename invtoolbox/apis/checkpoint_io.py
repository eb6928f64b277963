# Copyright (c) invtoolbox contributors. All rights reserved.
"""Safe checkpoint reading and atomic checkpoint writing."""
from __future__ import annotations

import hashlib
import importlib
import math
import numbers
import os
import re
import tempfile
from typing import Any, Callable, Iterable, List, Optional

import torch

__all__ = [
    'load_weights_only', 'load_trusted_checkpoint', 'save_checkpoint_atomic',
    'write_file_atomic',
    'plain_meta', 'file_sha256', 'default_file_mode', 'TRUSTED_GLOBALS'
]

#: The globals (besides torch's own) that mmengine training checkpoints need:
#: numpy arrays and scalars, and the message hub's ``HistoryBuffer``.
TRUSTED_GLOBALS = (
    'numpy.ndarray',
    'numpy.dtype',
    'numpy._core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar',
    'numpy.core.multiarray._reconstruct',
    'numpy.core.multiarray.scalar',
    'mmengine.logging.history_buffer.HistoryBuffer',
)
#: numpy's dtype classes (``numpy.dtypes.Float32DType``, ...) are allowed too.
TRUSTED_GLOBAL_PREFIXES = ('numpy.dtypes.', )


def _history_buffer_getattr(obj, name):
    """``getattr`` as the unpickler of mmengine's ``HistoryBuffer`` needs it.

    A pickled ``HistoryBuffer`` stores its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; anything else (private attributes,
    other objects) is refused, so the allowed ``getattr`` cannot be used to
    reach arbitrary code.
    """
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and isinstance(name, str) and \
            name.isidentifier() and not name.startswith('_'):
        return getattr(obj, name)
    raise ValueError(f'refusing getattr({obj!r}, {name!r}) while unpickling.')


def _trusted(name: str) -> bool:
    return name in TRUSTED_GLOBALS or name.startswith(TRUSTED_GLOBAL_PREFIXES)


def _check_file(path, what: str) -> str:
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        hint = ' (it is a folder)' if os.path.isdir(path) else ''
        raise FileNotFoundError(f'{what} {path!r} not found{hint}; check the '
                                'path.')
    return path


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def load_weights_only(path, what: str = 'checkpoint') -> Any:
    """``torch.load(path, map_location='cpu', weights_only=True)``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: one line, when the file is not a weights-only checkpoint
            (corrupt, or it holds Python objects).
    """
    path = _check_file(path, what)
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # unpickling error, truncated zip, ...
        raise ValueError(
            f'{what} {path!r} cannot be read with weights_only=True '
            f'({type(err).__name__}: {_first_line(err)}); pass a tensor-only '
            'checkpoint (publish a training checkpoint with tools/'
            'model_converters/publish_model.py).') from None


def _import_global(name: str):
    module, _, attr = name.rpartition('.')
    obj = importlib.import_module(module)
    for part in attr.split('.'):
        obj = getattr(obj, part)
    return obj


_GLOBAL_IN_ERROR = (re.compile(r"GLOBAL ([\w.]+)"),
                    re.compile(r"got <class '([\w.]+)'>"))


def _needed_global(err: BaseException) -> Optional[str]:
    """The class named by a weights-only unpickling error, if any."""
    text = str(err)
    for pattern in _GLOBAL_IN_ERROR:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def load_trusted_checkpoint(path, what: str = 'checkpoint',
                            trust: bool = False) -> Any:
    """Load a training checkpoint (e.g. to publish it).

    mmengine's training checkpoints also hold its message hub
    (``HistoryBuffer`` objects, numpy arrays and scalars), which plain
    ``weights_only=True`` refuses. They are allowed one by one
    (``torch.serialization.safe_globals``) when they are in
    :data:`TRUSTED_GLOBALS` (``getattr`` only on ``HistoryBuffer``), so no
    arbitrary code is unpickled. ``trust=True`` loads with
    ``weights_only=False`` instead: only for files you wrote yourself.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: one line, for an unreadable file or one that needs a
            class outside the allow-list (and ``trust`` is False).
    """
    path = _check_file(path, what)
    if trust:
        return torch.load(path, map_location='cpu', weights_only=False)
    getter = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint',
                     None)
    names: List[str] = []
    if getter is not None:
        try:
            names = list(getter(path))
        except Exception as err:
            raise ValueError(f'{what} {path!r} is not a readable torch '
                             f'checkpoint ({_first_line(err)}).') from None
    allowed: List[Any] = []
    seen = set()
    for _ in range(100):
        for name in names:
            seen.add(name)
            if name in ('builtins.getattr', '__builtin__.getattr'):
                allowed.append((_history_buffer_getattr, name))
                continue
            if not _trusted(name):
                raise ValueError(
                    f'{what} {path!r} needs {name} to load, which is not a '
                    'tensor, numpy or mmengine message-hub type; refusing to '
                    'unpickle it (pass trust=True / --trusted only for a '
                    'file you wrote yourself).')
            try:
                allowed.append(_import_global(name))
            except (ImportError, AttributeError) as err:
                raise ValueError(f'{what} {path!r} needs {name}, which '
                                 f'cannot be imported here ({err}).') from None
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(
                    path, map_location='cpu', weights_only=True)
        except Exception as err:
            name = _needed_global(err)
            if name is None or name in seen:
                raise ValueError(
                    f'{what} {path!r} cannot be read ({type(err).__name__}: '
                    f'{_first_line(err)}).') from None
            names = [name]
    raise ValueError(f'{what} {path!r} needs too many classes to load.')


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


def write_file_atomic(path, write: Callable[[Any], None],
                      check: Optional[Callable[[str], Any]] = None) -> None:
    """Write a file atomically: ``write(f)`` into a temporary file next to
    ``path``, flush and fsync it, run ``check(tmp_path)`` if given, give it
    the usual file mode and ``os.replace`` it onto ``path``. On any failure
    the temporary file is removed and an existing ``path`` is untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(tmp)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
