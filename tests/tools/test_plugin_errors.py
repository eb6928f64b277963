# Copyright (c) invtoolbox contributors. All rights reserved.
"""A plugin that fails to import ends tools/train.py with one line that
names it and shows its own error (entry point and custom_imports)."""
import os
import subprocess
import sys

import pytest

from tests.helpers import HANG_TIMEOUT, REPO_ROOT

CONFIG = REPO_ROOT / 'configs' / 'irn' / 'irn_x2_quickstart.py'


def _run(args, pythonpath, **extra_env):
    # this checkout's package first (not an installed copy of another one)
    paths = [*pythonpath, REPO_ROOT]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, paths)),
               **extra_env)
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=HANG_TIMEOUT)


@pytest.fixture
def broken_plugin(tmp_path):
    site = tmp_path / 'site'
    (site / 'broken_plugin_pkg').mkdir(parents=True)
    (site / 'broken_plugin_pkg' / '__init__.py').write_text(
        "raise RuntimeError('the plugin is broken on purpose')\n")
    return site


def _assert_one_line(proc, *needles):
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.e2e
def test_broken_entry_point_plugin(tmp_path, broken_plugin):
    info = broken_plugin / 'broken_plugin-1.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n')
    (info / 'entry_points.txt').write_text(
        '[invtoolbox.plugins]\nbroken = broken_plugin_pkg\n')
    proc = _run([str(CONFIG), '--work-dir', str(tmp_path / 'w')],
                [broken_plugin])
    _assert_one_line(proc, "plugin 'broken'", 'broken_plugin_pkg',
                     'the plugin is broken on purpose',
                     'or set INVTB_NO_PLUGINS=1 to run without plugins')
    # skipped: the run goes on to check the config (and stops at its value)
    proc = _run([str(CONFIG), '--work-dir', str(tmp_path / 'w'),
                 '--cfg-options', 'train_cfg.max_iters=abc'],
                [broken_plugin], INVTB_NO_PLUGINS='1')
    _assert_one_line(proc, "train_cfg.max_iters is 'abc'")


@pytest.mark.e2e
@pytest.mark.parametrize('module', ['broken_plugin_pkg', 'missing_pkg_xyz'])
def test_failing_custom_imports(tmp_path, broken_plugin, module):
    config = tmp_path / 'cfg.py'
    config.write_text(
        f"custom_imports = dict(imports=['{module}'], "
        'allow_failed_imports=False)\n'
        f"_base_ = ['{CONFIG}']\n")
    proc = _run([str(config), '--work-dir', str(tmp_path / 'w')],
                [broken_plugin])
    expected = ('the plugin is broken on purpose'
                if module == 'broken_plugin_pkg' else 'No module named')
    _assert_one_line(proc, f"custom_imports module '{module}'", expected)


@pytest.mark.e2e
def test_unregistered_task_lists_the_registered_ones(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text(
        f"_base_ = ['{REPO_ROOT / 'configs' / 'iicnet' / 'mono_binocular.py'}']\n"
        "model = dict(task=dict(_delete_=True, type='MyMissingTask'))\n")
    proc = _run([str(config), '--work-dir', str(tmp_path / 'w')], [])
    _assert_one_line(proc, "unknown task type 'MyMissingTask'",
                     'BinocularMononizing', 'VideoEmbedding',
                     'invtoolbox.plugins')
