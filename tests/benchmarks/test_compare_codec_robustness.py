# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/compare_codec_robustness.py on a tiny budget."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import HANG_TIMEOUT, REPO_ROOT

TOOL = [sys.executable, '-m', 'benchmarks.compare_codec_robustness']


@pytest.mark.e2e
@pytest.mark.slow
def test_compare_tool_end_to_end(tmp_path):
    images = tmp_path / 'hr'
    images.mkdir()
    crop = np.asarray(Image.open(REPO_ROOT / 'demo' / 'kodim23_crop.png')
                      .convert('RGB'))[:64, :96]
    Image.fromarray(crop).save(images / 'a.png')
    out_json, out_png = tmp_path / 'r.json', tmp_path / 'rd.png'
    configs = ['IRN=configs/irn/irn_x2_quickstart.py']
    if (REPO_ROOT / 'configs/sain/sain_x2_jpeg_quickstart.py').exists():
        configs.append('SAIN=configs/sain/sain_x2_jpeg_quickstart.py')
    # started elsewhere than the repository root: the configs are still
    # found (relative to the repository)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        TOOL + ['--configs', *configs,
         '--budget-min', '0.02', '--calib-iters', '2', '--eval-dir',
         str(images), '--qualities', '30', '90', '--work-dir',
         str(tmp_path / 'work'), '--plot', str(out_png), '--json',
         str(out_json)],
        capture_output=True, text=True, timeout=HANG_TIMEOUT, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(out_json.read_text())
    assert Image.open(out_png).format == 'PNG'
    for name in summary['results']:
        run = summary['runs'][name]
        assert run['iterations'] >= 1 and run['train_cpu_s'] > 0
        res = summary['results'][name]
        # higher JPEG quality -> more bits for the LR
        assert res['90']['bpp'] > res['30']['bpp'] > 0
        assert 10 < res['30']['psnr'] < 60
        row = next(line for line in proc.stdout.splitlines()
                   if line.startswith('| 30 |'))
        assert f'{res["30"]["psnr"]:.2f} / {res["30"]["bpp"]:.3f}' in row
    assert summary['device'] == 'CPU, 1 thread'
    assert summary['budget_clock'] == 'CPU'
    assert 'trained and evaluated on CPU, 1 thread' in proc.stdout
    bic = summary['bicubic']
    assert bic['90']['psnr'] > bic['30']['psnr']


@pytest.mark.e2e
def test_compare_tool_bad_input(tmp_path):
    proc = subprocess.run(
        TOOL + ['--configs', 'IRN=nope.py'],
        capture_output=True, text=True, timeout=HANG_TIMEOUT, cwd=REPO_ROOT)
    assert proc.returncode == 2
    assert 'config nope.py not found' in proc.stderr
    assert 'Traceback' not in proc.stderr
    proc = subprocess.run(
        TOOL + ['--configs', 'IRN=configs/irn/irn_x2_quickstart.py',
                '--eval-dir', str(tmp_path / 'missing')],
        capture_output=True, text=True, timeout=HANG_TIMEOUT, cwd=REPO_ROOT)
    assert proc.returncode == 2 and 'not found' in proc.stderr
