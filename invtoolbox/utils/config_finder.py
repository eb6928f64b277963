# Copyright (c) invtoolbox contributors. All rights reserved.
"""Find a config of the repository from an installed package.

The configs live at the repository root (``configs/``). A source checkout or
an editable install reads them there; a wheel carries a copy under the
package, ``invtoolbox/.mim/configs/`` (written by ``setup.py``'s
``build_py``, as MMagic's ``add_mim_extension`` does for ``mmagic/.mim``),
so the same repo-relative path works after ``pip install invtoolbox``::

    from invtoolbox.utils.config_finder import find_config
    find_config('configs/irn/irn_x2_div2k.py')  # an absolute path

Only the standard library is used here: ``invtoolbox.utils`` stays a leaf.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import List

__all__ = ['find_config', 'config_search_roots']

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def config_search_roots() -> List[Path]:
    """Where :func:`find_config` looks, in order.

    1. the source checkout holding this package (``<repo>/``), recognised
       by its ``setup.py`` and ``configs/`` next to ``invtoolbox/``: a
       clone, or an editable install of one;
    2. the copy inside the installed package (``invtoolbox/.mim/``).
    """
    roots = []
    repo = _PACKAGE_DIR.parent
    if (repo / 'setup.py').is_file() and (repo / 'configs').is_dir():
        roots.append(repo)
    roots.append(_PACKAGE_DIR / '.mim')
    return roots


def find_config(path: str) -> str:
    """The absolute path of a config given by its repo-relative path.

    Args:
        path (str): e.g. ``'configs/irn/irn_x2_div2k.py'`` (relative to the
            repository root, whatever the current directory is), or an
            absolute path of an existing file (returned as is).

    Returns:
        str: the absolute path of the file.

    Raises:
        FileNotFoundError: one line naming the places searched.
    """
    given = Path(os.path.expanduser(os.fspath(path)))
    if given.is_absolute():
        if given.is_file():
            return str(given)
        raise FileNotFoundError(f'config {str(given)!r} does not exist.')
    relative = PurePosixPath(given.as_posix())
    if '..' in relative.parts:
        raise FileNotFoundError(
            f'config {str(path)!r}: give the path relative to the repository '
            "root without '..' (e.g. 'configs/irn/irn_x2_div2k.py').")
    roots = config_search_roots()
    for root in roots:
        candidate = root.joinpath(*relative.parts)
        if candidate.is_file():
            return str(candidate)
    searched = ', '.join(str(r) for r in roots)
    raise FileNotFoundError(
        f'config {str(path)!r} was found neither in the source checkout nor '
        f'in the installed package (searched {searched}); reinstall '
        'invtoolbox (a wheel carries the configs under invtoolbox/.mim) or '
        'pass an absolute path.')
