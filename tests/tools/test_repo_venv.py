# Copyright (c) invtoolbox contributors. All rights reserved.
"""The tools run with the repository's ``.venv`` when the caller's python
lacks the toolbox (``tools/repo_venv.py``, ``tools/toolbox_python.sh``).

After ``make quickstart`` the README's ``python tools/train.py ...`` is
typed with the system python, which has neither torch nor mmengine. Here
that python is this interpreter run with ``-I -S`` (no site-packages, no
PYTHONPATH), and the repository is a copy of ``tools/`` in a temporary
folder, with or without a ``.venv`` beside it.
"""
import ast
import os
import shutil
import subprocess
import sys
import venv

import pytest

from tests.helpers import HANG_TIMEOUT, REPO_ROOT
from tests.tools.test_train_test_tools import free_port

TOOLS = REPO_ROOT / 'tools'


def bare_python(bin_dir):
    """A ``python`` launcher in ``bin_dir`` without site-packages: it
    cannot import torch, mmengine or invtoolbox."""
    bin_dir.mkdir(exist_ok=True)
    launcher = bin_dir / 'python'
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "$@"\n')
    launcher.chmod(0o755)
    assert subprocess.run([str(launcher), '-c', 'import torch'],
                          capture_output=True).returncode != 0
    return str(launcher)


def make_repo(tmp_path, with_venv=True, working_venv=True):
    """``tmp_path/repo`` with a copy of ``tools/`` and, when asked, a
    ``.venv``: this interpreter's environment (working) or an empty one."""
    repo = tmp_path / 'repo'
    shutil.copytree(TOOLS, repo / 'tools',
                    ignore=shutil.ignore_patterns('__pycache__'))
    if with_venv and working_venv:
        if sys.prefix != sys.base_prefix:  # the tests run in a venv
            os.symlink(sys.prefix, repo / '.venv')
        else:
            venv.create(repo / '.venv', system_site_packages=True)
    elif with_venv:
        venv.create(repo / '.venv', with_pip=False)
    return repo


def run_env(**extra):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), **extra)
    env.pop('INVTB_REPO_VENV_REEXEC', None)
    env.pop('PYTHON', None)
    return env


def help_by_bare_python(tmp_path, tool='train.py', **repo):
    """``<tool> --help`` of a ``make_repo(tmp_path, **repo)`` copy, run by
    :func:`bare_python`."""
    repo_dir = make_repo(tmp_path, **repo)
    python = bare_python(tmp_path / 'bin')
    return subprocess.run(
        [python, str(repo_dir / 'tools' / tool), '--help'],
        capture_output=True, text=True, env=run_env(), cwd=tmp_path,
        timeout=HANG_TIMEOUT), repo_dir


@pytest.mark.e2e
@pytest.mark.parametrize('tool', [
    'train.py', 'test.py', 'infer.py',
    'analysis_tools/bicubic_baseline.py',
    'model_converters/convert_official.py'
])
def test_tool_reruns_with_repo_venv(tmp_path, tool):
    proc, repo = help_by_bare_python(tmp_path, tool)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('usage: ')
    assert 'Traceback' not in proc.stderr
    note = proc.stderr.splitlines()[0]
    assert note.startswith('note: ') and 'lacks torch' in note
    assert str(repo / '.venv' / 'bin' / 'python') in note


@pytest.mark.e2e
def test_tool_without_venv_says_how_in_one_line(tmp_path):
    proc, _ = help_by_bare_python(tmp_path, with_venv=False)
    assert proc.returncode == 1
    assert proc.stdout == ''
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('error: ') and 'lacks torch' in lines[0]
    assert 'source .venv/bin/activate' in lines[0]
    assert 'pip install -e .' in lines[0]


@pytest.mark.e2e
def test_broken_venv_ends_in_one_line_not_a_loop(tmp_path):
    proc, _ = help_by_bare_python(tmp_path, working_venv=False)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0].startswith('note: ')  # one re-run, then the error
    assert len(lines) == 2, proc.stderr
    assert lines[1].startswith('error: ') and '.venv' in lines[1]
    assert 'make venv' in lines[1]


def path_without_torchrun(bin_dir):
    """``bin_dir`` (the bare ``python``) and the system folders; no
    ``torchrun``."""
    dirs = [str(bin_dir), '/usr/bin', '/bin']
    for folder in dirs[1:]:
        assert not os.path.exists(os.path.join(folder, 'torchrun'))
    return os.pathsep.join(dirs)


@pytest.mark.e2e
def test_dist_train_uses_repo_venv(tmp_path):
    repo = make_repo(tmp_path)
    bare_python(tmp_path / 'bin')
    env = run_env(PATH=path_without_torchrun(tmp_path / 'bin'),
                  PORT=str(free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', str(repo / 'tools' / 'dist_train.sh'), 'cfg.py', '1',
         '--help'], capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert 'usage: ' in proc.stdout and '--launcher' in proc.stdout
    assert 'No module named' not in proc.stderr


@pytest.mark.e2e
@pytest.mark.parametrize('script,args', [
    ('dist_train.sh', ['cfg.py', '1']),
    ('dist_test.sh', ['cfg.py', 'x.pth', '1']),
    ('slurm_train.sh', ['p', 'j', 'cfg.py', 'wd']),
])
def test_launch_scripts_without_venv_say_how(tmp_path, script, args):
    repo = make_repo(tmp_path, with_venv=False)
    bare_python(tmp_path / 'bin')
    env = run_env(PATH=path_without_torchrun(tmp_path / 'bin'))
    proc = subprocess.run(['bash', str(repo / 'tools' / script), *args],
                          capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('error: ') and 'lacks torch' in lines[0]
    assert 'source .venv/bin/activate' in lines[0]


@pytest.mark.e2e
def test_slurm_train_uses_repo_venv(tmp_path):
    repo = make_repo(tmp_path)
    bin_dir = tmp_path / 'bin'
    bare_python(bin_dir)
    srun = bin_dir / 'srun'
    srun.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$RECORD"\n')
    srun.chmod(0o755)
    record = tmp_path / 'srun_args'
    env = run_env(PATH=path_without_torchrun(bin_dir), RECORD=str(record))
    subprocess.run(['bash', str(repo / 'tools' / 'slurm_train.sh'), 'p', 'j',
                    'cfg.py', 'wd'], env=env, check=True, cwd=tmp_path)
    args = record.read_text().splitlines()
    python = args[args.index('-u') - 1]
    assert python == str(repo / 'tools' / '..' / '.venv' / 'bin' / 'python')


def tool_scripts():
    return sorted(p.relative_to(TOOLS).as_posix()
                  for p in list(TOOLS.glob('*.py')) + list(TOOLS.glob('*/*.py'))
                  if p.name != 'repo_venv.py')


@pytest.mark.parametrize('tool', tool_scripts())
def test_every_tool_checks_its_python_before_heavy_imports(tool):
    """Each script calls ``use_repo_venv()`` under ``__main__`` before
    its first top-level import of anything outside the standard library
    (a new tool without it fails here)."""
    tree = ast.parse((TOOLS / tool).read_text())
    stdlib = set(sys.stdlib_module_names)
    for node in tree.body:
        if isinstance(node, ast.If) and 'use_repo_venv' in ast.dump(node):
            assert ast.unparse(node.test) == "__name__ == '__main__'"
            return
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or '']
        else:
            continue
        heavy = [n for n in names if n.split('.')[0] not in stdlib]
        assert not heavy, f'tools/{tool} imports {heavy} before use_repo_venv()'
    pytest.fail(f'tools/{tool} never calls use_repo_venv() (tools/repo_venv.py)')
