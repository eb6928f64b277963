# Copyright (c) invtoolbox contributors. All rights reserved.
"""find_config: a config by its repo-relative path, from any directory, in
a source checkout and in a built package (``invtoolbox/.mim/configs``)."""
import os
import subprocess
import sys
import textwrap

import pytest

from invtoolbox.utils import config_finder
from invtoolbox.utils.config_finder import config_search_roots, find_config
from tests.helpers import HANG_TIMEOUT, REPO_ROOT

FIND = textwrap.dedent('''
    import invtoolbox
    from invtoolbox.utils.config_finder import find_config
    print(invtoolbox.__file__)
    print(find_config('configs/iicnet/hide_3.py'))
''')


def test_finds_configs_of_the_checkout():
    assert config_search_roots()[0] == REPO_ROOT
    path = find_config('configs/irn/irn_x2_div2k.py')
    assert path == str(REPO_ROOT / 'configs' / 'irn' / 'irn_x2_div2k.py')
    # an absolute path of an existing file is returned as it is
    assert find_config(path) == path


@pytest.mark.e2e
def test_finds_configs_from_another_directory(tmp_path):
    proc = subprocess.run([sys.executable, '-c', FIND], cwd=tmp_path,
                          capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == str(REPO_ROOT / 'configs' / 'iicnet' /
                                          'hide_3.py')


def test_falls_back_to_the_package_copy(tmp_path, monkeypatch):
    package = tmp_path / 'site-packages' / 'invtoolbox'
    copy = package / '.mim' / 'configs' / 'irn' / 'irn_x2_div2k.py'
    copy.parent.mkdir(parents=True)
    copy.write_text('model = dict(type="IRN")\n')
    monkeypatch.setattr(config_finder, '_PACKAGE_DIR', package)
    assert config_search_roots() == [package / '.mim']
    assert find_config('configs/irn/irn_x2_div2k.py') == str(copy)
    with pytest.raises(FileNotFoundError,
                       match=r"config 'configs/irn/none\.py' was found "
                       r'neither .*reinstall invtoolbox') as info:
        find_config('configs/irn/none.py')
    assert '\n' not in str(info.value)


def test_bad_paths_are_one_line_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        find_config(str(tmp_path / 'missing.py'))
    with pytest.raises(FileNotFoundError, match="without '..'"):
        find_config('configs/../setup.py')


@pytest.mark.e2e
def test_a_built_package_carries_the_configs(tmp_path):
    """setup.py's build_py copies configs/ into invtoolbox/.mim/ (what a
    wheel holds); the built package finds them outside the checkout."""
    build = tmp_path / 'build'
    proc = subprocess.run(
        [sys.executable, 'setup.py', '-q', 'build_py', '--build-lib',
         str(build)], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    mim = build / 'invtoolbox' / '.mim' / 'configs'
    for config in (REPO_ROOT / 'configs').rglob('*.py'):
        relative = config.relative_to(REPO_ROOT / 'configs')
        assert (mim / relative).read_bytes() == config.read_bytes(), relative
    assert (mim / 'iicnet' / 'metafile.yml').is_file()
    env = dict(os.environ, PYTHONPATH=str(build))
    proc = subprocess.run([sys.executable, '-c', FIND], cwd=tmp_path,
                          env=env, capture_output=True, text=True,
                          timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    package_file, found = proc.stdout.split()[-2:]
    assert package_file == str(build / 'invtoolbox' / '__init__.py')
    assert found == str(mim / 'iicnet' / 'hide_3.py')
