# Copyright (c) invtoolbox contributors. All rights reserved.
"""invtoolbox: an OpenMMLab-style toolbox for invertible image processing."""
import warnings

from .errors import (BitstreamError, CodecFileError, DataError,
                     InvToolboxError, PluginImportError, RawFormatError,
                     ShapeError)
from .version import __version__, version_info

__all__ = [
    '__version__', 'version_info', 'InvToolboxError', 'ShapeError',
    'PluginImportError', 'DataError', 'RawFormatError', 'CodecFileError',
    'BitstreamError'
]


def _warn_on_old_dependencies() -> None:
    """Warn (never assert) when a dependency is older than the tested range."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return
    from .version import parse_version_info
    minimum = {'torch': (2, 1), 'mmengine': (0, 10, 7)}
    for name, low in minimum.items():
        try:
            found = parse_version_info(version(name).split('+')[0])
        except PackageNotFoundError:
            continue
        numeric = tuple(v for v in found if isinstance(v, int))
        if numeric[:len(low)] < low:
            warnings.warn(
                f'invtoolbox is tested with {name}>={".".join(map(str, low))}, '
                f'found {version(name)}; upgrade it if something fails.',
                stacklevel=2)


_warn_on_old_dependencies()
