# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/dataset_converters/make_synthetic_mpi.py, run as a user would."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import HANG_TIMEOUT

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'dataset_converters' / 'make_synthetic_mpi.py'


def _run(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)],
                          capture_output=True, text=True, env=env,
                          timeout=HANG_TIMEOUT)


def test_parse_args():
    spec = importlib.util.spec_from_file_location('make_synthetic_mpi', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = tool.parse_args(['a', 'b', '--size', '96', '80', '--num-planes',
                            '16', '--scenes-per-image', '2'])
    assert (args.src_dir, args.out_dir) == ('a', 'b')
    assert tuple(args.size) == (96, 80) and args.num_planes == 16
    assert args.scenes_per_image == 2 and args.seed == 0
    assert tuple(args.num_layers) == (2, 4) and not args.overwrite


@pytest.mark.e2e
def test_make_synthetic_mpi(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'out'
    src.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a.png', 'b.jpg'):
        cv2.imwrite(str(src / name),
                    rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    done = _run(src, out, '--scenes-per-image', '2', '--size', '16', '32',
                '--num-planes', '8', '--num-layers', '1', '2', '--seed', '1')
    assert done.returncode == 0, done.stderr
    assert '4 scenes of 8 planes, 16x32' in done.stdout
    assert '(4 made, 0 kept' in done.stdout and 'a_s01' in done.stdout
    frame = out / 'b_s00' / '00000'
    assert (frame / 'src_image_0.png').exists()
    assert (frame / 'mpi_alpha_07.png').exists()
    assert cv2.imread(str(frame / 'mpi_rgb_00.png')).shape == (16, 32, 3)
    first = (frame / 'mpi_rgb_00.png').read_bytes()

    os.remove(frame / 'mpi_rgb_00.png')  # an interrupted run: made again
    again = _run(src, out, '--scenes-per-image', '2', '--size', '16', '32',
                 '--num-planes', '8', '--num-layers', '1', '2', '--seed', '1')
    assert again.returncode == 0, again.stderr
    assert '(1 made, 3 kept' in again.stdout
    assert (frame / 'mpi_rgb_00.png').read_bytes() == first

    other = _run(src, out, '--size', '16', '32', '--num-planes', '8',
                 '--num-layers', '1', '2')
    assert other.returncode == 1
    assert other.stderr.strip().count('\n') == 0, other.stderr
    assert 'seed 1 -> 0' in other.stderr and '--overwrite' in other.stderr
    assert (frame / 'mpi_rgb_00.png').read_bytes() == first
