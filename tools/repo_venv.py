# Copyright (c) invtoolbox contributors. All rights reserved.
"""Run the tools with the repository's ``.venv`` when the caller's python lacks the toolbox.

``make quickstart`` installs torch, mmengine, mmcv and invtoolbox into
``<repo>/.venv``; a user who then types ``python tools/train.py ...`` (the
system python) would get ``No module named 'mmengine'``. Every script in
``tools/`` therefore calls :func:`use_repo_venv` before its heavy imports
(only when run as a script, never when imported):

- this python has all of :data:`REQUIRED` -> nothing happens;
- it lacks some and ``<repo>/.venv`` has a python -> the script re-runs
  itself with that python (same arguments, same environment), after one
  ``note:`` line on stderr;
- otherwise -> one ``error:`` line on stderr saying how to create or
  activate the environment, and exit status 1.

Only the standard library is used here: this module must run on any
python 3 that can parse it.
"""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

#: top-level modules every tool needs (``mmcv`` is mmcv-lite)
REQUIRED = ('torch', 'mmengine', 'mmcv', 'invtoolbox')
#: set in the re-run's environment, so a ``.venv`` that lacks the modules
#: too ends with the error line instead of re-running forever
REEXEC_FLAG = 'INVTB_REPO_VENV_REEXEC'


def repo_root():
    """The repository folder: the parent of ``tools/``."""
    return osp.dirname(osp.dirname(osp.abspath(__file__)))


def venv_python(root=None):
    """``<root>/.venv``'s python (POSIX or Windows layout), or None."""
    root = repo_root() if root is None else root
    for rel in (('bin', 'python'), ('Scripts', 'python.exe')):
        path = osp.join(root, '.venv', *rel)
        if osp.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def missing_modules(names=REQUIRED):
    """The names in ``names`` that this python cannot import (found
    without importing them, so the check costs milliseconds)."""
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def use_repo_venv(argv=None):
    """Make sure the running script has the toolbox's dependencies.

    Args:
        argv (list[str] | None): the script's command line
            (default ``sys.argv``); ``argv[0]`` is the script's path.

    Returns:
        None when this python has every module of :data:`REQUIRED`;
        otherwise it does not return (re-runs the script with the
        repository's ``.venv`` python, or exits with status 1).
    """
    missing = missing_modules()
    if not missing:
        return
    argv = list(sys.argv if argv is None else argv)
    venv = venv_python()
    names = ', '.join(missing)
    rerun = (venv is not None and not os.environ.get(REEXEC_FLAG)
             and not osp.samefile(sys.prefix, osp.join(repo_root(), '.venv')))
    if rerun:
        print(f'note: {sys.executable} lacks {names}; running with '
              f'{venv} instead (or run `source .venv/bin/activate` '
              'first)', file=sys.stderr, flush=True)
        env = dict(os.environ, **{REEXEC_FLAG: '1'})
        command = [venv, *argv]
        if os.name == 'nt':  # no real exec on Windows
            sys.exit(subprocess.call(command, env=env))
        os.execve(venv, command, env)
    if venv is not None:
        where = (f'the python of {osp.join(repo_root(), ".venv")} lacks '
                 f'{names} too; recreate it with `rm -rf .venv && make '
                 'venv`')
    else:
        where = (f'{sys.executable} lacks {names}; run `make venv` (or '
                 '`make quickstart`) in the repository, then `source '
                 '.venv/bin/activate`, or install into this python: `pip '
                 'install torch` (the build for your platform) and `pip '
                 'install -e .` (see README.md, "Manual set-up")')
    print(f'error: {where}', file=sys.stderr, flush=True)
    sys.exit(1)
