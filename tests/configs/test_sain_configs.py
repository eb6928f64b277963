# Copyright (c) invtoolbox contributors. All rights reserved.
"""Every SAIN config loads, builds its model and optimizer, and has the
paper's settings; the quick start drives a (very) short run."""
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from invtoolbox.registry import DEGRADATIONS, MODELS
from invtoolbox.utils import register_all_modules
from tests.helpers import REPO_ROOT

SAIN_DIR = REPO_ROOT / 'configs' / 'sain'
CONFIGS = {
    # name: (scale, official parameter count, real codec of the targets)
    'sain_x2_jpeg_div2k': (2, 2_015_485, 'RealJPEG'),
    'sain_x2_webp_div2k': (2, 2_015_485, 'RealWebP'),
    'sain_x4_jpeg_div2k': (4, 6_494_003, 'RealJPEG'),
    'sain_x2_jpeg_quickstart': (2, None, 'RealJPEG'),
}


def load(name):
    register_all_modules()
    return Config.fromfile(str(SAIN_DIR / f'{name}.py'))


def test_every_config_is_listed():
    # _sain_base.py is the shared part, not a config of its own
    assert {p.stem for p in SAIN_DIR.glob('*.py')
            if not p.name.startswith('_')} == set(CONFIGS)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_builds_its_model(name):
    cfg = load(name)
    model = MODELS.build(cfg.model)
    build_optim_wrapper(model, cfg.optim_wrapper)
    scale, n_params, codec = CONFIGS[name]
    assert type(model).__name__ == 'SAIN'
    assert model.generator.scale == scale
    if n_params is not None:
        assert model.generator.num_official_params() == n_params
    assert type(model.train_codec).__name__ == codec
    assert model.train_codec.quality == 75
    assert model.diff_codec.quality == 75
    assert model.diff_codec.rounding == 'fourier'
    assert model.pixel_loss_forw.loss_weight == scale**2
    scales = {t['scale'] for t in cfg.train_dataloader.dataset.pipeline
              if 'scale' in t}
    assert scales == {scale}


@pytest.mark.parametrize('name', [n for n in CONFIGS if 'div2k' in n])
def test_paper_settings(name):
    cfg = load(name)
    scale, _, codec = CONFIGS[name]
    pipeline = cfg.train_dataloader.dataset.pipeline
    crop = [t for t in pipeline if t['type'] == 'PairedRandomCrop'][0]
    assert crop['gt_patch_size'] == 128
    assert [t['type'] for t in pipeline].count('Flip') == 2
    assert any(t['type'] == 'RandomTranspose' for t in pipeline)
    assert cfg.train_dataloader.batch_size == 16
    optim = cfg.optim_wrapper
    assert optim.optimizer.lr == 2e-4
    assert tuple(optim.optimizer.betas) == (0.9, 0.999)
    assert optim.optimizer.weight_decay == 1e-5
    assert optim.clip_grad.max_norm == 10
    assert cfg.train_cfg.max_iters == 500_000
    assert cfg.param_scheduler.milestones == [100_000, 200_000, 300_000,
                                              400_000]
    assert cfg.param_scheduler.gamma == 0.5
    assert cfg.randomness.seed == 10
    # the test-time QF sweep of the paper
    assert cfg.test_cfg.type == 'CodecSweepTestLoop'
    assert [c['quality'] for c in cfg.test_cfg.codecs] == [30, 50, 70, 80, 90]
    assert {c['type'] for c in cfg.test_cfg.codecs} == {codec}
    for c in cfg.test_cfg.codecs:
        DEGRADATIONS.build(c)
    assert {m['crop_border'] for m in cfg.test_evaluator} == {scale}
    assert all(m['test_y_channel'] for m in cfg.test_evaluator)
    assert [loader.dataset.metainfo.dataset_name
            for loader in cfg.test_dataloader] == [
                'Set5', 'Set14', 'BSD100', 'Urban100', 'DIV2K_val']


def test_quickstart_drives_a_short_run(tmp_path):
    cfg = load('sain_x2_jpeg_quickstart')
    small = dict(num_workers=0, persistent_workers=False)
    cfg.merge_from_dict({
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 2,
        'param_scheduler.T_max': 2,
        'custom_hooks.0.interval': 2,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 2,
        'env_cfg.dist_cfg.backend': 'gloo',
    })
    cfg.train_dataloader.update(small)
    cfg.train_dataloader.dataset.pipeline[1].gt_patch_size = 32
    cfg.train_dataloader.dataset.data_root = str(REPO_ROOT / 'demo' / 'data' /
                                                 'train')
    cfg.val_dataloader.dataset.data_root = str(REPO_ROOT / 'demo' / 'data' /
                                               'val')
    cfg.val_dataloader.dataset.indices = 1  # one 256x256 Kodak crop
    cfg.test_dataloader = cfg.val_dataloader
    # the QF sweep of the div2k configs, on the demo images
    cfg.test_cfg = dict(
        type='CodecSweepTestLoop',
        codecs=[dict(type='RealJPEG', quality=30),
                dict(type='RealWebP', quality=75)])
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'sain_qs_{uuid.uuid4().hex}'
    torch.set_num_threads(1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    keys = ' '.join(scalars)
    for name in ('PSNR_Y', 'Bicubic_PSNR_Y', 'SSIM_Y', 'loss_rel',
                 'loss_fit2'):
        assert name in keys, name
    metrics = runner.test()
    for label in ('JPEG-30', 'WebP-75'):
        assert any(k.startswith(label) and k.endswith('PSNR_Y')
                   for k in metrics), (label, sorted(metrics))
    # the model's own codec (validation: JPEG 75) is restored afterwards
    model = runner.model
    assert type(model.test_codec).__name__ == 'RealJPEG'
    assert model.test_codec.quality == 75
