# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/dataset_converters/make_synthetic_raw.py, run as a user would."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import HANG_TIMEOUT

rawpy = pytest.importorskip('rawpy')
REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'dataset_converters' / 'make_synthetic_raw.py'


def _run(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)],
                          capture_output=True, text=True, env=env,
                          timeout=HANG_TIMEOUT)


@pytest.mark.e2e
def test_make_synthetic_raw(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'out'
    src.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a.png', 'b.jpg'):
        cv2.imwrite(str(src / name),
                    rng.integers(0, 256, (25, 30, 3), dtype=np.uint8))
    done = _run(src, out, '--cfa', 'BGGR', '--seed', '3', '--camera',
                'canon_eos_5d')
    assert done.returncode == 0, done.stderr
    assert '2 DNG files' in done.stdout and 'BGGR' in done.stdout
    assert '512/16383' in done.stdout
    with rawpy.imread(str(out / 'a.dng')) as raw:
        assert raw.raw_image_visible.shape == (24, 30)  # odd height cropped
        desc = raw.color_desc.decode()
        assert ''.join(desc[i] for i in raw.raw_pattern.ravel()) == 'BGGR'
    first = (out / 'b.dng').read_bytes()

    again = _run(src, out, '--cfa', 'BGGR')
    assert again.returncode == 1
    assert again.stderr.strip().count('\n') == 0
    assert '--overwrite' in again.stderr and str(out) in again.stderr
    assert (out / 'b.dng').read_bytes() == first

    redo = _run(src, out, '--cfa', 'BGGR', '--seed', '3', '--camera',
                'canon_eos_5d', '--overwrite')
    assert redo.returncode == 0, redo.stderr
    assert (out / 'b.dng').read_bytes() == first  # deterministic


@pytest.mark.e2e
def test_errors_are_one_line(tmp_path):
    missing = _run(tmp_path / 'none', tmp_path / 'out')
    assert missing.returncode == 1 and 'is not a folder' in missing.stderr
    (tmp_path / 'empty').mkdir()
    empty = _run(tmp_path / 'empty', tmp_path / 'out')
    assert empty.returncode == 1 and 'no image' in empty.stderr
    for result in (missing, empty):
        assert result.stderr.strip().count('\n') == 0, result.stderr
    assert not (tmp_path / 'out').exists()
