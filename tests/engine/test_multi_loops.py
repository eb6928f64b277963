# Copyright (c) invtoolbox contributors. All rights reserved.
"""MultiValLoop / MultiTestLoop with a real mmengine Runner."""
import glob
import re
import uuid

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from PIL import Image

from invtoolbox.datasets.transforms import PackInputs
from invtoolbox.engine.runner import (DataloaderChain, MultiTestLoop,
                                      MultiValLoop, format_metric_table)
from invtoolbox.evaluation.functional import psnr, ssim
from invtoolbox.registry import LOOPS, MODELS
from invtoolbox.structures import DataSample

SHRINK = 0.9  # the model "restores" gt * SHRINK


@MODELS.register_module(force=True)
class ShrinkingModelForLoopTests(BaseModel):
    """Predicts ``gt * 0.9``; the loss pulls a dummy weight to zero."""

    def __init__(self):
        super().__init__(data_preprocessor=dict(type='DataPreprocessor'))
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return dict(loss=(self.weight * inputs.mean())**2)
        outputs = []
        for image, sample in zip(inputs, data_samples):
            out = DataSample(
                gt_img=sample.gt_img,
                pred_img=image * SHRINK,
                metainfo=sample.metainfo)
            outputs.append(out)
        return outputs


class RecordingHook(Hook):
    """Records what hooks see during the test / validation loops."""

    def __init__(self):
        self.iters, self.epochs = [], []

    def _record(self, runner, mode, batch_idx):
        loop = getattr(runner, f'{mode}_loop')
        self.iters.append((mode, batch_idx, len(loop.dataloader),
                           loop.current_dataset_name,
                           loop.dataloader.dataset.metainfo['dataset_name']))

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        self._record(runner, 'test', batch_idx)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        self._record(runner, 'val', batch_idx)

    def after_test_epoch(self, runner, metrics=None):
        self.epochs.append(('test', dict(metrics)))

    def after_val_epoch(self, runner, metrics=None):
        self.epochs.append(('val', dict(metrics)))


def make_folder(root, sizes, seed):
    """Images of the given (H, W) sizes; returns them as float [0, 1] CHW."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    images = []
    for i, (h, w) in enumerate(sizes):
        array = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(array).save(root / f'img{i}.png')
        images.append(torch.from_numpy(array).permute(2, 0, 1) / 255.)
    return images


def loader(root, name=None, batch_size=1):
    metainfo = None if name is None else dict(dataset_name=name)
    return dict(
        batch_size=batch_size,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='ImageFolderDataset',
            data_root=str(root),
            metainfo=metainfo,
            test_mode=True,
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='PackInputs')]))


def make_runner(tmp_path, **kwargs):
    return Runner(
        model=dict(type='ShrinkingModelForLoopTests'),
        work_dir=str(tmp_path / 'work'),
        default_scope='invtoolbox',
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=1)),
        experiment_name=f'loops_{uuid.uuid4().hex}',
        **kwargs)


def expected(images, metric=psnr, **kwargs):
    return float(np.mean([metric(gt, gt * SHRINK, **kwargs)
                          for gt in images]))


@pytest.fixture
def two_sets(tmp_path):
    a = make_folder(tmp_path / 'a', [(12, 12), (12, 12)], seed=0)
    b = make_folder(tmp_path / 'b', [(12, 14), (16, 11), (12, 12)], seed=1)
    return tmp_path / 'a', a, tmp_path / 'b', b


def test_multi_test_loop_reports_each_dataset(tmp_path, two_sets):
    root_a, images_a, root_b, images_b = two_sets
    recorder = RecordingHook()
    runner = make_runner(
        tmp_path,
        test_dataloader=[loader(root_a, 'SetA', batch_size=2),
                         loader(root_b, 'SetB')],
        test_cfg=dict(type='MultiTestLoop'),
        test_evaluator=[dict(type='PSNR', crop_border=2),
                        dict(type='SSIM', test_y_channel=True)],
        custom_hooks=[recorder])
    metrics = runner.test()
    assert isinstance(runner.test_loop, MultiTestLoop)
    assert set(metrics) == {'SetA/PSNR', 'SetA/SSIM_Y', 'SetB/PSNR',
                            'SetB/SSIM_Y'}
    assert metrics['SetA/PSNR'] == pytest.approx(
        expected(images_a, crop_border=2))
    assert metrics['SetB/PSNR'] == pytest.approx(
        expected(images_b, crop_border=2))
    assert metrics['SetB/SSIM_Y'] == pytest.approx(
        expected(images_b, ssim, test_y_channel=True))
    assert metrics['SetA/PSNR'] != pytest.approx(metrics['SetB/PSNR'])
    # hooks: global batch index, total length, the current dataset
    assert recorder.iters == [
        ('test', 0, 4, 'SetA', 'SetA'),
        ('test', 1, 4, 'SetB', 'SetB'),
        ('test', 2, 4, 'SetB', 'SetB'),
        ('test', 3, 4, 'SetB', 'SetB'),
    ]
    assert recorder.epochs == [('test', metrics)]
    # one table at the end of the log
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    table = log[log.index('test results:'):]
    assert re.search(r'dataset \|\s+PSNR \| SSIM_Y', table)
    assert re.search(r'SetA\s+\| {:.4f} \|'.format(metrics['SetA/PSNR']),
                     table)


def test_per_dataset_evaluators(tmp_path, two_sets):
    root_a, images_a, root_b, images_b = two_sets
    runner = make_runner(
        tmp_path,
        test_dataloader=[loader(root_a, 'SetA'), loader(root_b, 'SetB')],
        test_cfg=dict(type='MultiTestLoop'),
        test_evaluator=[[dict(type='PSNR')],
                        dict(metrics=[dict(type='MAE')])])
    metrics = runner.test()
    assert set(metrics) == {'SetA/PSNR', 'SetB/MAE'}
    assert metrics['SetA/PSNR'] == pytest.approx(expected(images_a))


def test_single_dataloader(tmp_path, two_sets):
    root_a, images_a, _, _ = two_sets
    runner = make_runner(
        tmp_path,
        test_dataloader=loader(root_a),  # named after its folder: 'a'
        test_cfg=dict(type='MultiTestLoop'),
        test_evaluator=dict(type='PSNR'))
    metrics = runner.test()
    assert metrics == {'a/PSNR': pytest.approx(expected(images_a))}
    assert runner.test_loop.dataloader is runner.test_loop.dataloaders[0]


class UnnamedDataset(torch.utils.data.Dataset):
    """A dataset without ``metainfo`` (not an mmengine BaseDataset)."""

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        array = (self.images[index].permute(1, 2, 0).numpy() * 255).round()
        return PackInputs()(dict(gt=array.astype(np.uint8), key=str(index)))


def test_unnamed_datasets(tmp_path, two_sets):
    _, images_a, _, images_b = two_sets

    def unnamed(images):
        return dict(batch_size=1, num_workers=0, dataset=UnnamedDataset(images),
                    sampler=dict(type='DefaultSampler', shuffle=False))

    runner = make_runner(
        tmp_path,
        test_dataloader=unnamed(images_a),
        test_cfg=dict(type='MultiTestLoop'),
        test_evaluator=[dict(type='PSNR')])
    assert runner.test() == {'PSNR': pytest.approx(expected(images_a))}
    runner = make_runner(
        tmp_path,
        test_dataloader=[unnamed(images_a), unnamed(images_b)],
        test_cfg=dict(type='MultiTestLoop'),
        test_evaluator=[dict(type='PSNR')])
    assert set(runner.test()) == {'UnnamedDataset_0/PSNR',
                                  'UnnamedDataset_1/PSNR'}


def test_multi_val_loop_during_training(tmp_path, two_sets):
    root_a, images_a, root_b, images_b = two_sets
    recorder = RecordingHook()
    train_loader = loader(root_a, 'train', batch_size=2)
    train_loader['sampler'] = dict(type='InfiniteSampler', shuffle=True)
    runner = make_runner(
        tmp_path,
        train_dataloader=train_loader,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2,
                       val_interval=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        val_dataloader=[loader(root_a, 'SetA'), loader(root_b, 'SetB')],
        val_cfg=dict(type='MultiValLoop'),
        val_evaluator=[dict(type='PSNR')],
        custom_hooks=[recorder])
    runner.train()
    assert isinstance(runner.val_loop, MultiValLoop)
    assert [mode for mode, *_ in recorder.iters] == ['val'] * 5
    (mode, metrics), = recorder.epochs
    assert mode == 'val'
    assert metrics['SetA/PSNR'] == pytest.approx(expected(images_a))
    assert metrics['SetB/PSNR'] == pytest.approx(expected(images_b))
    # the runtime info hook published them for the logger / checkpoints
    assert runner.message_hub.get_scalar('val/SetB/PSNR').current() == \
        pytest.approx(expected(images_b))


class _FakeRunner:
    """Just what the loops read at construction."""

    seed = 0
    _randomness_cfg = {}

    def build_dataloader(self, cfg, seed=None, diff_rank_seed=False):
        return cfg

    def build_evaluator(self, spec):
        from mmengine.evaluator import Evaluator
        return spec if isinstance(spec, Evaluator) else Evaluator(spec)


class _Loader(list):

    def __init__(self, name, batches):
        super().__init__(range(batches))
        self.dataset = type('D', (), {'metainfo': {'dataset_name': name}})()


def test_bad_configurations():
    runner = _FakeRunner()
    loaders = [_Loader('A', 1), _Loader('B', 1)]
    with pytest.raises(ValueError, match='3 evaluators for 2 dataloaders'):
        MultiValLoop(runner, loaders, [[dict(type='PSNR')]] * 3)
    with pytest.raises(ValueError, match='mixes'):
        MultiValLoop(runner, loaders,
                     [[dict(type='PSNR')], dict(type='SSIM')])
    with pytest.raises(ValueError, match=r"named \['A'\]"):
        MultiTestLoop(runner, [_Loader('A', 1), _Loader('A', 2)],
                      dict(type='PSNR'))
    with pytest.raises(ValueError, match='empty list'):
        MultiTestLoop(runner, [], dict(type='PSNR'))
    loop = MultiValLoop(runner, loaders, dict(type='PSNR'))
    assert loop.dataset_names == ['A', 'B']
    assert loop.evaluators[0] is not loop.evaluators[1]  # one per dataset
    assert LOOPS.get('MultiValLoop') is MultiValLoop
    assert LOOPS.get('MultiTestLoop') is MultiTestLoop


def test_dataloader_chain():
    first, second = _Loader('A', 2), _Loader('B', 3)
    chain = DataloaderChain([first, second])
    assert len(chain) == 5
    assert list(chain) == [0, 1, 0, 1, 2]
    assert chain.dataset.metainfo['dataset_name'] == 'A'
    chain.current = 1
    assert chain.dataset.metainfo['dataset_name'] == 'B'
    with pytest.raises(AttributeError):
        chain.no_such_attribute


def test_format_metric_table():
    table = format_metric_table({
        'Set5': {'PSNR_Y': 33.6612, 'SSIM_Y': 0.92987},
        'Urban100': {'PSNR_Y': 26.88}
    })
    lines = table.splitlines()
    assert lines[0].split(' | ') == ['dataset ', ' PSNR_Y', 'SSIM_Y']
    assert set(lines[1]) == {'-', '+'}
    assert lines[2].split() == ['Set5', '|', '33.6612', '|', '0.9299']
    assert lines[3].split() == ['Urban100', '|', '26.8800', '|', '-']
    assert len({len(line) for line in lines}) == 1  # aligned columns
