# Copyright (c) invtoolbox contributors. All rights reserved.
"""configs/invisp: the FiveK configs build and their pipelines run on
synthetic DNGs; the quick start trains and prints the analytic baseline."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from invtoolbox.datasets import build_pipeline
from invtoolbox.datasets.raw import SyntheticCamera, write_dng
from invtoolbox.registry import DATASETS, MODELS
from invtoolbox.utils import register_all_modules
from tests.helpers import HANG_TIMEOUT, REPO_ROOT

CONFIG_DIR = REPO_ROOT / 'configs' / 'invisp'


def run_pipeline(cfg_pipeline, results):
    for transform in build_pipeline(cfg_pipeline):
        results = transform(results)
    return results


def dng(path, cfa='RGGB', size=(272, 288), seed=0):
    rng = np.random.default_rng(seed)
    bayer, meta = SyntheticCamera(cfa=cfa).unprocess(
        rng.random(size + (3, )), seed=seed)
    write_dng(path, bayer, meta)
    return path


@pytest.mark.parametrize('camera', ['nikon', 'canon'])
def test_fivek_config_builds_and_its_pipelines_run(camera, tmp_path):
    register_all_modules()
    cfg = Config.fromfile(str(CONFIG_DIR / f'invisp_{camera}_fivek.py'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert type(model.generator).__name__ == 'InvISPNet'
    assert model.generator.block_num == 8
    assert model.jpeg.transposed_tables and model.jpeg.rounding == 'fourier'
    assert cfg.train_dataloader.dataset.camera == camera
    assert cfg.param_scheduler.milestones == [50, 80]
    path = dng(tmp_path / 'a.dng', cfa='GBRG')
    sample = run_pipeline(cfg.train_pipeline, dict(raw_path=str(path)))
    assert sample['inputs'].shape == (3, 256, 256)
    assert sample['data_samples'].gt_img.shape == (3, 256, 256)
    assert sample['data_samples'].raw_meta['cfa'] == 'GBRG'
    sample = run_pipeline(cfg.test_pipeline, dict(raw_path=str(path)))
    assert sample['inputs'].shape == (3, 272, 288)
    # the official split needs the user's FiveK download
    dataset = dict(cfg.train_dataloader.dataset, data_root=str(tmp_path))
    with pytest.raises(ValueError, match='missing|not found'):
        DATASETS.build(dataset)


@pytest.mark.e2e
@pytest.mark.slow
def test_quickstart_trains_and_prints_the_baseline(tmp_path):
    """The quick start as documented, shortened to 3 iterations (and 2 of
    the 4 held-out images); the synthetic DNGs go to a temporary folder."""
    work = tmp_path / 'work'
    options = [
        'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=3',
        f'train_dataloader.dataset.cache_root={tmp_path}/raw_train',
        f'val_dataloader.dataset.cache_root={tmp_path}/raw_val',
        'val_dataloader.dataset.indices=2'
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py',
         'configs/invisp/invisp_quickstart.py', '--work-dir', str(work),
         '--cfg-options', *options],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    for name in ('PSNR:', 'SSIM:', 'RAW/PSNR:', 'bpp:', 'Baseline_RAW_PSNR:',
                 'Baseline_PSNR:'):
        assert name in log, name
    assert (work / 'iter_3.pth').is_file()
    assert len(list((tmp_path / 'raw_train').glob('*.dng'))) == 26
