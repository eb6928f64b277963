# Copyright (c) invtoolbox contributors. All rights reserved.
"""configs/_base_: every file loads and builds; x4 data bases; a short run."""
import uuid

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from PIL import Image

from invtoolbox.registry import (DATASETS, LOG_PROCESSORS, MODELS,
                                 PARAM_SCHEDULERS, VISUALIZERS)
from invtoolbox.structures import DataSample
from tests.helpers import REPO_ROOT, shared_path

BASE = REPO_ROOT / 'configs' / '_base_'
RUNTIME = BASE / 'default_runtime.py'
SCHEDULE = BASE / 'schedules' / 'adam_500k_multistep.py'
TRAIN_SET = BASE / 'datasets' / 'div2k_train_x2.py'
TEST_SETS = BASE / 'datasets' / 'sr_test_x2.py'
TRAIN_SET_X4 = BASE / 'datasets' / 'div2k_train_x4.py'
TEST_SETS_X4 = BASE / 'datasets' / 'sr_test_x4.py'

# an algorithm config at x4 picks its data by inheriting the x4 files
X4_CHILD = """
_base_ = [{bases}]
"""


def write_child(tmp_path, text=X4_CHILD, bases=(RUNTIME, TRAIN_SET_X4,
                                                TEST_SETS_X4, SCHEDULE)):
    path = tmp_path / f'child_{uuid.uuid4().hex[:6]}.py'
    path.write_text(text.format(bases=', '.join(repr(str(b)) for b in bases)))
    return Config.fromfile(str(path))


def make_images(root, count, size, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, size + (3, ),
                                     dtype=np.uint8)).save(root / f'{i}.png')
    return root


def test_every_base_config_loads():
    files = sorted(BASE.rglob('*.py'))
    assert {f.relative_to(BASE).as_posix() for f in files} >= {
        'default_runtime.py', 'datasets/div2k_train.py',
        'datasets/sr_test.py', 'schedules/adam_500k_multistep.py'
    } | {f'datasets/{name}_x{s}.py' for name in ('div2k_train', 'sr_test')
         for s in (2, 3, 4, 8)}
    for path in files:
        assert Config.fromfile(str(path)).keys(), path


def test_default_runtime_builds(tmp_path):
    cfg = Config.fromfile(str(RUNTIME))
    assert cfg.default_scope == 'invtoolbox'
    assert cfg.load_from is None and cfg.resume is False
    assert cfg.log_level == 'INFO' and cfg.randomness.seed == 10
    assert {name: hook.type for name, hook in cfg.default_hooks.items()} == {
        'timer': 'IterTimerHook',
        'logger': 'LoggerHook',
        'param_scheduler': 'ParamSchedulerHook',
        'checkpoint': 'AtomicCheckpointHook',
        'sampler_seed': 'DistSamplerSeedHook'
    }
    assert cfg.default_hooks.checkpoint.by_epoch is False
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, name=f'rt_{uuid.uuid4().hex}',
             save_dir=str(tmp_path)))
    assert type(visualizer).__name__ == 'RestorationVisualizer'
    assert [type(b).__name__ for b in visualizer._vis_backends.values()] == [
        'LocalVisBackend', 'OptionalTensorboardVisBackend'
    ]
    processor = LOG_PROCESSORS.build(cfg.log_processor)
    assert processor.by_epoch is False


def test_schedule_is_irn_s():
    cfg = Config.fromfile(str(SCHEDULE))
    model = torch.nn.Conv2d(3, 3, 1)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    group = wrapper.optimizer.param_groups[0]
    assert type(wrapper.optimizer).__name__ == 'Adam'
    assert group['lr'] == 2e-4 and group['betas'] == (0.9, 0.999)
    assert group['weight_decay'] == 1e-5
    assert wrapper.clip_grad_kwargs == dict(max_norm=10.)
    scheduler = PARAM_SCHEDULERS.build(
        dict(cfg.param_scheduler, optimizer=wrapper))
    assert sorted(scheduler.milestones) == [100000, 200000, 300000, 400000]
    assert scheduler.gamma == 0.5 and scheduler.by_epoch is False
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == 500000


def build_item(dataset_cfg, index=0):
    dataset = DATASETS.build(dataset_cfg)
    return dataset, dataset[index]


def test_sr_test_sets_build_on_real_images(tmp_path):
    set5, set14 = shared_path('data', 'set5'), shared_path('data', 'set14')
    bsd100 = shared_path('data', 'bsd100')
    urban = make_images(tmp_path / 'urban', 1, (21, 17))
    div2k = make_images(tmp_path / 'div2k', 1, (15, 30))
    cfg = Config.fromfile(str(TEST_SETS))
    roots = [set5, set14, bsd100, urban, div2k]
    cfg.merge_from_dict({  # what --cfg-options does
        f'test_dataloader.{i}.dataset.data_root': str(root)
        for i, root in enumerate(roots)
    })
    assert cfg.val_cfg.type == 'MultiValLoop'
    assert cfg.test_cfg.type == 'MultiTestLoop'
    assert [m.crop_border for m in cfg.test_evaluator] == [2, 2]
    assert all(m.test_y_channel for m in cfg.test_evaluator)
    names = [loader.dataset.metainfo.dataset_name
             for loader in cfg.test_dataloader]
    assert names == ['Set5', 'Set14', 'BSD100', 'Urban100', 'DIV2K_val']
    assert [loader.dataset.metainfo.dataset_name
            for loader in cfg.val_dataloader] == ['Set5', 'Set14']
    lengths = {}
    for loader, index in zip(cfg.test_dataloader, [4, 2, 0, 0, 0]):
        dataset, item = build_item(loader.dataset, index)
        lengths[dataset.metainfo['dataset_name']] = len(dataset)
        sample = item['data_samples']
        h, w = sample.gt_img.shape[-2:]
        assert h % 2 == 0 and w % 2 == 0
        assert sample.lr_img.shape == (3, h // 2, w // 2)
        assert sample.ori_shape[0] - h in (0, 1)
        assert sample.scale == 2
    assert lengths == dict(Set5=5, Set14=14, BSD100=100, Urban100=1,
                           DIV2K_val=1)
    # Set14's bridge.png is grayscale: loaded as 3 equal channels
    bridge = item_of(cfg.test_dataloader[1].dataset, 'bridge')
    assert bridge.shape == (3, 512, 512)
    assert torch.equal(bridge[0], bridge[2])


def item_of(dataset_cfg, key):
    dataset = DATASETS.build(dataset_cfg)
    keys = [dataset.get_data_info(i)['key'] for i in range(len(dataset))]
    return dataset[keys.index(key)]['inputs']


def test_div2k_train_set_builds():
    root = shared_path('data', 'train_hr')
    cfg = Config.fromfile(str(TRAIN_SET))
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': str(root)})
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert cfg.train_dataloader.batch_size == 16
    dataset, item = build_item(
        dict(cfg.train_dataloader.dataset, indices=[0]))
    assert item['inputs'].shape == (3, 144, 144)
    assert item['data_samples'].lr_img.shape == (3, 72, 72)
    types = [t.type for t in cfg.train_pipeline]
    assert types == ['LoadImageFromFile', 'PairedRandomCrop', 'Flip', 'Flip',
                     'RandomTranspose', 'GenerateBicubicLR', 'PackInputs']


def test_x4_data_bases_set_the_scale(tmp_path):
    cfg = write_child(tmp_path)
    for pipeline in (cfg.train_dataloader.dataset.pipeline,
                     *(loader.dataset.pipeline
                       for loader in cfg.test_dataloader),
                     *(loader.dataset.pipeline
                       for loader in cfg.val_dataloader)):
        scales = [t.scale for t in pipeline if 'scale' in t]
        assert scales and set(scales) == {4}
    assert [m.crop_border for m in cfg.val_evaluator] == [4, 4]
    # the other settings are inherited untouched
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.test_dataloader[3].dataset.data_root == 'data/Urban100'
    assert cfg.test_dataloader[3].dataset.metainfo.dataset_name == 'Urban100'
    root = make_images(tmp_path / 'imgs', 1, (22, 19))
    dataset_cfg = dict(cfg.test_dataloader[0].dataset, data_root=str(root))
    sample = build_item(dataset_cfg)[1]['data_samples']
    assert sample.gt_img.shape == (3, 20, 16)
    assert sample.lr_img.shape == (3, 5, 4)


@MODELS.register_module(force=True)
class TinyRestorerForConfigTests(BaseModel):
    """A 1x1 conv "restorer": enough to drive the base runtime."""

    def __init__(self):
        super().__init__(data_preprocessor=dict(type='DataPreprocessor'))
        self.conv = torch.nn.Conv2d(3, 3, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        restored = self.conv(inputs)
        if mode == 'loss':
            return dict(loss=(restored - inputs).abs().mean())
        if mode == 'tensor':
            return restored
        return [
            DataSample(gt_img=s.gt_img, pred_img=r.clamp(0, 1),
                       lr_img=s.lr_img, metainfo=s.metainfo)
            for r, s in zip(restored, data_samples)
        ]


def test_base_configs_drive_a_short_run(tmp_path):
    cfg = write_child(tmp_path)
    train_root = make_images(tmp_path / 'train', 2, (40, 40))
    val_roots = [make_images(tmp_path / f'val{i}', 1, (30, 29), seed=i)
                 for i in range(2)]
    small = dict(num_workers=0, persistent_workers=False)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': str(train_root),
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 2,
        'custom_hooks.0.interval': 2,
        'default_hooks.logger.interval': 1,
        'env_cfg.dist_cfg.backend': 'gloo',
    })
    cfg.train_dataloader.update(small)
    cfg.train_dataloader.dataset.pipeline[1].gt_patch_size = 16
    for loader, root in zip(cfg.val_dataloader, val_roots):
        loader.update(small)
        loader.dataset.data_root = str(root)
    cfg.model = dict(type='TinyRestorerForConfigTests')
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'cfg_{uuid.uuid4().hex}'
    for key in ('test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg.pop(key)
    runner = Runner.from_cfg(cfg)
    runner.train()
    work = tmp_path / 'work'
    assert (work / 'iter_2.pth').exists()  # CheckpointHook save_last
    assert len(list((work / 'vis').glob('*_2.png'))) == 2  # train grids
    assert sorted(p.name for p in (work / 'vis').iterdir()
                  if p.is_dir()) == []  # visualize_val is off
    scalars = runner.message_hub.log_scalars
    assert 'val/Set5/PSNR_Y' in scalars and 'val/Set14/SSIM_Y' in scalars
    lr = runner.optim_wrapper.get_lr()['lr'][0]
    assert lr == pytest.approx(2e-4)  # before the first milestone
