# Copyright (c) invtoolbox contributors. All rights reserved.
"""The one checkpoint-trust policy: every checkpoint invtoolbox reads.

Since torch 2.6, ``torch.load`` unpickles only tensors and plain data by
default (``weights_only=True``), while mmengine 0.10.7 relies on the old
default: its training checkpoints also hold the message hub's
``HistoryBuffer`` objects and numpy arrays and scalars. Every path that reads
a checkpoint (mmengine's loader for ``resume`` and ``load_from``, registered
by :func:`register_checkpoint_loader`; ``tools/test.py``; ``init_model`` and
``tools/infer.py``; the converters; ``publish_model.py``) goes through
:func:`load_checkpoint_file`, which applies one rule:

- **untrusted** (the default, including the run's own checkpoints in its
  ``work_dir``): ``weights_only=True`` plus :data:`TRUSTED_GLOBALS`, the
  inert non-tensor globals of mmengine checkpoints: numpy arrays, dtypes and
  scalars, ``HistoryBuffer`` and, in place of ``builtins.getattr``,
  :func:`history_buffer_getattr` (which looks up only the statistics methods
  of ``HistoryBuffer``). A file that needs any other global (a custom class,
  ``os.system``, ``builtins.eval``) is refused with a one-line
  :class:`UntrustedCheckpointError` naming the file and the globals, before
  anything in it is unpickled;
- **trusted**: ``weights_only=False``, only for a file the user explicitly
  vouches for: ``tools/train.py --resume CKPT`` (registered with
  :func:`trust_checkpoint_path`), ``publish_model.py --trusted``, or
  ``trusted=True`` in Python.

This module is a leaf: it imports torch, numpy, mmengine and
:mod:`invtoolbox.errors` only.
"""
import os
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Optional, Set

import numpy as np
import torch

from ..errors import InvToolboxError

__all__ = [
    'TRUSTED_GLOBALS', 'CheckpointError', 'UntrustedCheckpointError',
    'history_buffer_getattr', 'safe_globals', 'refused_globals',
    'load_checkpoint_file', 'load_weights_only', 'load_trusted_checkpoint',
    'trust_checkpoint_path', 'reset_trusted_checkpoint_paths',
    'is_trusted_checkpoint', 'register_checkpoint_loader'
]


class CheckpointError(InvToolboxError, ValueError):
    """A checkpoint file cannot be loaded (not a torch checkpoint, truncated,
    or refused by the trust policy)."""


class UntrustedCheckpointError(CheckpointError):
    """A checkpoint holds objects that are not weights and is not trusted."""


# ---------------------------------------------------------------------------
# The allow-list
# ---------------------------------------------------------------------------
def _numpy_dtype_classes() -> tuple:
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    if dtypes is None:
        return ()
    return tuple(
        f'numpy.dtypes.{name}' for name in sorted(dir(dtypes))
        if name.endswith('DType') and isinstance(getattr(dtypes, name), type))


#: The only globals (besides torch's own tensors and plain containers) that an
#: untrusted checkpoint may name: what mmengine writes into its training
#: checkpoints, all inert. ``builtins.getattr`` is never the real ``getattr``:
#: it resolves to :func:`history_buffer_getattr`. numpy 1.x pickles name
#: ``numpy.core.multiarray``, numpy 2.x ``numpy._core.multiarray``.
TRUSTED_GLOBALS = (
    'numpy.ndarray',
    'numpy.dtype',
    'numpy._core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar',
    'numpy.core.multiarray._reconstruct',
    'numpy.core.multiarray.scalar',
    'mmengine.logging.history_buffer.HistoryBuffer',
    'builtins.getattr',
) + _numpy_dtype_classes()


def history_buffer_getattr(obj: Any, name: Any) -> Callable:
    """Stand-in for ``builtins.getattr`` in weights-only loads.

    mmengine pickles a ``HistoryBuffer``'s statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; this allows exactly those lookups
    (``min``, ``max``, ``current``, ``mean`` and registered statistics) and
    nothing else: a general ``getattr`` would reach arbitrary callables.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer
    statistics = {'min', 'max', 'current', 'mean'}
    statistics.update(HistoryBuffer._statistics_methods)  # registered ones
    if obj is HistoryBuffer and isinstance(name, str) and name in statistics:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refused getattr({getattr(obj, "__name__", type(obj).__name__)}, '
        f'{name!r})')


def _modules() -> dict:
    """The modules that the names of :data:`TRUSTED_GLOBALS` come from."""
    from mmengine.logging import history_buffer
    multiarray = (getattr(np, '_core', None) or np.core).multiarray
    return {
        'numpy': np,
        'numpy.dtypes': getattr(np, 'dtypes', None),
        # numpy 1.x pickles name numpy.core, numpy 2.x numpy._core (and
        # numpy 2 warns when numpy.core is imported): the same functions
        'numpy.core.multiarray': multiarray,
        'numpy._core.multiarray': multiarray,
        'mmengine.logging.history_buffer': history_buffer,
    }


def _resolve(name: str, modules: dict) -> Any:
    """The object that the allow-listed global ``name`` stands for."""
    if name == 'builtins.getattr':
        return history_buffer_getattr
    module, _, attr = name.rpartition('.')
    try:
        return getattr(modules[module], attr)
    except (KeyError, AttributeError):
        raise ValueError(f'{name} in TRUSTED_GLOBALS is not an object of '
                         f'{", ".join(modules)}.') from None


def safe_globals() -> List[tuple]:
    """:data:`TRUSTED_GLOBALS` as ``(object, name)`` pairs for
    ``torch.serialization.safe_globals``. Read at every load, so the list
    is the single source of what an untrusted checkpoint may contain."""
    modules = _modules()
    return [(_resolve(name, modules), name) for name in TRUSTED_GLOBALS]


def refused_globals(path) -> Optional[List[str]]:
    """The globals of checkpoint ``path`` outside :data:`TRUSTED_GLOBALS`.

    Read from the pickle without unpickling it
    (``torch.serialization.get_unsafe_globals_in_checkpoint``). ``None`` when
    that cannot be determined (torch < 2.5, a legacy non-zip file); the
    weights-only unpickler still refuses such globals when loading.
    """
    getter = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint',
                     None)
    if getter is None:
        return None
    try:
        names = getter(os.fspath(path))
    except Exception:  # not a zip checkpoint: torch.load reports it
        return None
    allowed = set(TRUSTED_GLOBALS)
    return list(dict.fromkeys(n for n in names if n not in allowed))


# ---------------------------------------------------------------------------
# Trusted paths (files the user vouches for)
# ---------------------------------------------------------------------------
_TRUSTED_PATHS: Set[str] = set()


def _real(path) -> str:
    return osp.realpath(osp.abspath(osp.expanduser(os.fspath(path))))


def trust_checkpoint_path(path) -> None:
    """Trust the file ``path`` (or every file in the folder ``path``).

    ``tools/train.py --resume CKPT`` trusts ``CKPT``: the user vouches for
    it. Trusted files are loaded with ``weights_only=False`` by mmengine's
    loader (:func:`register_checkpoint_loader`).
    """
    _TRUSTED_PATHS.add(_real(path))


def reset_trusted_checkpoint_paths() -> None:
    """Forget every trusted path (all checkpoints become weights-only)."""
    _TRUSTED_PATHS.clear()


def is_trusted_checkpoint(filename) -> bool:
    """Whether ``filename`` is a trusted file or lies in a trusted folder
    (symbolic links and ``..`` resolved)."""
    real = _real(filename)
    for trusted in _TRUSTED_PATHS:
        if real == trusted or real.startswith(trusted.rstrip(os.sep) + os.sep):
            return True
    return False


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------
#: What to do about a refused file, unless the caller says otherwise.
DEFAULT_HINT = ('If you wrote the file yourself, resume from it with '
                'tools/train.py --resume FILE (which trusts it), or load it '
                'with trusted=True and save its state_dict alone; to share a '
                'training checkpoint, strip it with tools/model_converters/'
                'publish_model.py.')

_REFUSED_IN_ERROR = (re.compile(r'GLOBAL ([\w.]+)'),
                     re.compile(r"but got <class '([\w.]+)'>"),
                     re.compile(r'(getattr\(.*?\))'))


def _first_sentence(line: str) -> str:
    return line.strip().split('. ')[0].rstrip('.')[:200]


def _first_line(err: BaseException) -> str:
    for line in str(err).strip().splitlines():
        if line.strip():
            return _first_sentence(line)
    return type(err).__name__


def _refused_in_error(message: str) -> Optional[str]:
    """The globals named by torch's weights-only unpickling error, or None
    when the error names none (a damaged pickle, not a refused object)."""
    for pattern in _REFUSED_IN_ERROR:
        found = pattern.findall(message)
        if found:
            return ', '.join(dict.fromkeys(found))
    return None


def _unpickler_detail(err: BaseException) -> str:
    """The informative line of torch's weights-only unpickling error (after
    its boilerplate about the ``weights_only`` default)."""
    text = str(err)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        rest = text.split(marker, 1)[1]
        for line in rest.splitlines():
            if line.strip():
                return _first_sentence(line)
    return _first_line(err)


def _refuse(what: str, path: str, refused: str,
            hint: Optional[str]) -> UntrustedCheckpointError:
    return UntrustedCheckpointError(
        f'{what} {path} holds objects that are not weights ({refused}); '
        'refusing to unpickle it (weights_only=True allows only tensors, '
        'numpy values and mmengine log buffers; nothing in it was run). '
        f'{hint or DEFAULT_HINT}')


def _corrupt(what: str, path: str, err: BaseException) -> CheckpointError:
    return CheckpointError(
        f'{what} {path} cannot be read ({type(err).__name__}: '
        f'{_unpickler_detail(err)}); check that it is a complete torch '
        'checkpoint (torch.save) and not truncated.')


def load_checkpoint_file(filename,
                         map_location: Any = None,
                         trusted: Optional[bool] = None,
                         what: str = 'checkpoint',
                         hint: Optional[str] = None,
                         mmap: bool = False) -> Any:
    """Load a local checkpoint file under the trust policy (module doc).

    Args:
        filename (str | PathLike): the file.
        map_location: as in ``torch.load``.
        trusted (bool, optional): ``True`` loads with ``weights_only=False``
            (only for a file you wrote yourself), ``False`` with the
            allow-list; by default a file is trusted when
            :func:`is_trusted_checkpoint` says so.
        what (str): how the file is named in error messages.
        hint (str, optional): what the user can do about a refused file
            (the end of the error message).
        mmap (bool): as in ``torch.load``.

    Raises:
        FileNotFoundError: the file does not exist.
        UntrustedCheckpointError: an untrusted file needs a global outside
            :data:`TRUSTED_GLOBALS` (one line naming the file and the
            globals; nothing in the file is executed).
        CheckpointError: the file is not a (complete) torch checkpoint.
    """
    path = osp.expanduser(os.fspath(filename))
    if not osp.isfile(path):
        where = ' (it is a folder)' if osp.isdir(path) else ''
        raise FileNotFoundError(f'{what} {path} not found{where}; pass an '
                                'existing .pth file.')
    if trusted is None:
        trusted = is_trusted_checkpoint(path)
    kwargs = dict(map_location=map_location, mmap=mmap) if mmap else dict(
        map_location=map_location)
    if trusted:
        try:
            return torch.load(path, weights_only=False, **kwargs)
        except Exception as err:  # whatever the unpickled objects raise
            raise _corrupt(what, path, err) from None
    refused = refused_globals(path)
    if refused:
        raise _refuse(what, path, ', '.join(refused), hint)
    serialization = torch.serialization
    try:
        if hasattr(serialization, 'safe_globals'):  # torch >= 2.5
            with serialization.safe_globals(safe_globals()):
                return torch.load(path, weights_only=True, **kwargs)
        return torch.load(path, weights_only=True, **kwargs)
    except pickle.UnpicklingError as err:
        refused = _refused_in_error(str(err))
        if refused is not None:
            raise _refuse(what, path, refused, hint) from None
        raise _corrupt(what, path, err) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError,
            AttributeError, TypeError) as err:
        raise _corrupt(what, path, err) from None


def load_weights_only(path, what: str = 'checkpoint') -> Any:
    """A checkpoint a user hands us (``init_model``, ``tools/infer.py``, the
    converters): :func:`load_checkpoint_file` on the CPU, never trusted
    (``weights_only=True`` with :data:`TRUSTED_GLOBALS`)."""
    return load_checkpoint_file(
        path,
        'cpu',
        trusted=False,
        what=what,
        hint='If you trust the file, load it yourself and re-save its '
        "weights alone (a dict of tensors, or {'state_dict': ...}).")


def load_trusted_checkpoint(path,
                            what: str = 'checkpoint',
                            trust: bool = False) -> Any:
    """A training checkpoint to publish (``publish_model.py``): the
    allow-list, or ``weights_only=False`` with ``trust=True`` (only for a
    file you wrote yourself, ``--trusted``)."""
    return load_checkpoint_file(
        path,
        'cpu',
        trusted=trust,
        what=what,
        hint='Pass --trusted (trust=True) only if you wrote the file '
        'yourself.')


# ---------------------------------------------------------------------------
# mmengine
# ---------------------------------------------------------------------------
def load_from_local_with_policy(filename: str, map_location: Any = None):
    """mmengine ``CheckpointLoader`` scheme for local paths (module doc)."""
    return load_checkpoint_file(filename, map_location)


def register_checkpoint_loader(trusted_paths=()) -> None:
    """Make mmengine load local checkpoints with :func:`load_checkpoint_file`.

    Replaces the loader of the empty scheme prefix (local paths) of
    ``mmengine.runner.CheckpointLoader`` (what ``Runner.resume``,
    ``load_from`` and ``init_cfg=dict(type='Pretrained')`` call); URL
    schemes are left alone. Idempotent. ``trusted_paths`` are passed to
    :func:`trust_checkpoint_path`.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_with_policy, force=True)
    for path in trusted_paths:
        trust_checkpoint_path(path)
