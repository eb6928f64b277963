# Copyright (c) invtoolbox contributors. All rights reserved.
"""Restoration grids, RestorationVisualizer and VisualizationHook."""
import sys
import uuid

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.runner import Runner
from PIL import Image

from invtoolbox.engine.hooks import VisualizationHook
from invtoolbox.errors import ShapeError
from invtoolbox.registry import HOOKS, MODELS, VISBACKENDS, VISUALIZERS
from invtoolbox.structures import DataSample
from invtoolbox.visualization import (OptionalTensorboardVisBackend,
                                      RestorationVisualizer,
                                      make_restoration_grid)

PATCH = 8


@MODELS.register_module(force=True)
class EchoModelForVisTests(BaseModel):
    """Returns the GT as restoration and a 2x average-pooled LR.

    In predict mode it also draws a random number (like IRN sampling its
    latent) and records whether it ran in eval mode.
    """

    def __init__(self, with_prediction=True):
        super().__init__(data_preprocessor=dict(type='DataPreprocessor'))
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.with_prediction = with_prediction
        self.predict_modes = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return dict(loss=(self.weight * inputs.mean())**2)
        self.predict_modes.append((self.training, torch.is_grad_enabled()))
        torch.rand(1)
        outputs = []
        for image, sample in zip(inputs, data_samples):
            out = DataSample(gt_img=sample.gt_img, metainfo=sample.metainfo)
            if self.with_prediction:
                out.pred_img = image.clone()
                out.pred_lr = F.avg_pool2d(image[None], 2)[0]
            outputs.append(out)
        return outputs


def make_images(root, count=3, size=(12, 10)):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        array = rng.integers(0, 256, size + (3, ), dtype=np.uint8)
        Image.fromarray(array).save(root / f'im{i}.png')
    return root


def dataloader(root, pipeline, batch_size=1, train=False, name=None):
    sampler = dict(type='InfiniteSampler' if train else 'DefaultSampler',
                   shuffle=train)
    return dict(
        batch_size=batch_size,
        num_workers=0,
        sampler=sampler,
        dataset=dict(
            type='ImageFolderDataset',
            data_root=str(root),
            metainfo=None if name is None else dict(dataset_name=name),
            pipeline=pipeline))


TRAIN_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='PairedRandomCrop', gt_patch_size=PATCH, scale=2),
    dict(type='Flip'),
    dict(type='GenerateBicubicLR', scale=2),
    dict(type='PackInputs'),
]
TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='ModCrop', scale=2),
    dict(type='GenerateBicubicLR', scale=2),
    dict(type='PackInputs'),
]


def make_runner(tmp_path, model=None, **kwargs):
    return Runner(
        model=model or dict(type='EchoModelForVisTests'),
        work_dir=str(tmp_path / 'work'),
        default_scope='invtoolbox',
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        visualizer=dict(
            type='RestorationVisualizer',
            vis_backends=[dict(type='LocalVisBackend')]),
        experiment_name=f'vis_{uuid.uuid4().hex}',
        **kwargs)


def read_png(path):
    return np.asarray(Image.open(path).convert('RGB'))


# --------------------------------------------------------------------------
# make_restoration_grid
# --------------------------------------------------------------------------
def test_grid_panels():
    gt = torch.rand(3, 4, 6)
    restored = (gt + 0.02).clamp(0, 1)
    lr = torch.rand(3, 2, 3)
    grid = make_restoration_grid(gt, restored, lr, padding=2)
    assert grid.shape == (4, 4 * 6 + 3 * 2, 3) and grid.dtype == np.uint8

    def panel(i):
        return grid[:, i * 8:i * 8 + 6].astype(np.float64) / 255.

    def hwc(t):
        return t.permute(1, 2, 0).numpy().astype(np.float64)

    assert np.abs(panel(0) - hwc(gt)).max() <= 0.5 / 255 + 1e-7
    up = lr.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
    assert np.abs(panel(1) - hwc(up)).max() <= 0.5 / 255 + 1e-7
    assert np.abs(panel(2) - hwc(restored)).max() <= 0.5 / 255 + 1e-7
    error = (10 * (restored - gt).abs().mean(0)).clamp(0, 1).numpy()
    for c in range(3):
        assert np.abs(panel(3)[:, :, c] - error).max() <= 0.5 / 255 + 1e-7
    assert (grid[:, 6:8] == 255).all()  # white separators


def test_grid_without_lr_grey_and_uint8_inputs():
    gt = torch.randint(0, 256, (1, 5, 5), dtype=torch.uint8)
    grid = make_restoration_grid(gt, gt, None, padding=0)
    assert grid.shape == (5, 15, 3)
    assert np.array_equal(grid[:, :5, 0], gt[0].numpy())
    assert np.array_equal(grid[:, :5, 0], grid[:, :5, 2])
    assert (grid[:, 10:] == 0).all()  # exact restoration: black error map
    numpy_grid = make_restoration_grid(
        gt[0].numpy(), gt[0].numpy(), np.zeros((2, 2, 3), np.uint8))
    assert numpy_grid.shape == (5, 4 * 5 + 3 * 2, 3)


def test_grid_errors():
    with pytest.raises(ShapeError, match='differ in size'):
        make_restoration_grid(torch.rand(3, 4, 4), torch.rand(3, 4, 5))
    with pytest.raises(ShapeError, match='1 or 3'):
        make_restoration_grid(torch.rand(12, 4, 4), torch.rand(12, 4, 4))


# --------------------------------------------------------------------------
# RestorationVisualizer and the optional TensorBoard backend
# --------------------------------------------------------------------------
def test_restoration_visualizer_add_datasample(tmp_path):
    visualizer = VISUALIZERS.build(
        dict(type='RestorationVisualizer', name=f'v_{uuid.uuid4().hex}',
             vis_backends=[dict(type='LocalVisBackend')],
             save_dir=str(tmp_path)))
    assert isinstance(visualizer, RestorationVisualizer)
    gt = torch.rand(3, 6, 6)
    sample = DataSample(gt_img=gt, pred_img=gt * 0.5,
                        lr_img=torch.rand(3, 3, 3))
    grid = visualizer.add_datasample('baby', sample, step=7,
                                     out_file=str(tmp_path / 'o' / 'g.png'))
    assert grid.shape == (6, 4 * 6 + 6, 3)
    assert np.array_equal(read_png(tmp_path / 'vis_data' / 'vis_image' / 'baby_7.png'),
                          grid)
    assert np.array_equal(read_png(tmp_path / 'o' / 'g.png'), grid)
    with pytest.raises(ValueError, match="'pred_img'"):
        visualizer.add_datasample('x', DataSample(gt_img=gt))


def test_optional_tensorboard_backend(tmp_path, monkeypatch):
    # without TensorBoard: every call is a no-op
    monkeypatch.setitem(sys.modules, 'torch.utils.tensorboard', None)
    backend = VISBACKENDS.build(
        dict(type='OptionalTensorboardVisBackend', save_dir=str(tmp_path)))
    assert isinstance(backend, OptionalTensorboardVisBackend)
    backend.add_scalars({'loss': 1.0}, step=1)
    backend.add_image('x', np.zeros((2, 2, 3), np.uint8))
    assert backend.available is False
    backend.close()

    # with a SummaryWriter: calls are forwarded
    calls = []

    class FakeWriter:

        def __init__(self, save_dir):
            calls.append(('init', save_dir))

        def add_image(self, name, image, step, dataformats):
            calls.append(('image', name, image.shape, step, dataformats))

        def add_scalar(self, name, value, step):
            calls.append(('scalar', name, value, step))

        def close(self):
            calls.append(('close', ))

    fake = type(sys)('torch.utils.tensorboard')
    fake.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, 'torch.utils.tensorboard', fake)
    backend = OptionalTensorboardVisBackend(save_dir=str(tmp_path / 'tb'))
    backend.add_image('grid', np.zeros((2, 3, 3), np.uint8), step=5)
    backend.add_scalars({'PSNR': 30.0}, step=5)
    backend.close()
    assert backend.available is True
    assert calls == [('init', str(tmp_path / 'tb')),
                     ('image', 'grid', (2, 3, 3), 5, 'HWC'),
                     ('scalar', 'PSNR', 30.0, 5), ('close', )]


# --------------------------------------------------------------------------
# VisualizationHook with a real Runner
# --------------------------------------------------------------------------
def test_hook_during_training(tmp_path):
    root = make_images(tmp_path / 'train')
    hook = VisualizationHook(interval=2)
    runner = make_runner(
        tmp_path,
        train_dataloader=dataloader(root, TRAIN_PIPELINE, batch_size=2,
                                    train=True),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=[hook])
    runner.train()
    vis = tmp_path / 'work' / 'vis'
    files = sorted(p.name for p in vis.iterdir())
    assert len(files) == 4  # 2 samples at iterations 2 and 4
    assert {f.rsplit('_', 1)[1] for f in files} == {'2.png', '4.png'}
    assert all(f.split('_')[0].split('-')[0] in ('im0', 'im1', 'im2')
               for f in files)
    grid = read_png(vis / files[0])
    assert grid.shape == (PATCH, 4 * PATCH + 3 * 2, 3)
    gt, lr, restored, error = (grid[:, i * (PATCH + 2):i * (PATCH + 2) +
                                    PATCH] for i in range(4))
    assert np.array_equal(gt, restored)  # the model echoes the GT
    assert (error == 0).all()
    assert not np.array_equal(lr, gt)  # the model's (pooled) LR
    # the same grids went through the visualizer's LocalVisBackend
    local = list((tmp_path / 'work').glob('*/vis_data/vis_image/*.png'))
    assert sorted(p.name for p in local) == files
    # the model predicted in eval mode without gradients, then trained on
    model = runner.model
    assert model.predict_modes == [(False, False), (False, False)]
    assert model.training


def test_hook_predict_restores_mode_and_rng():
    model = EchoModelForVisTests()
    model.train()
    batch = dict(inputs=[torch.rand(3, 4, 4)],
                 data_samples=[DataSample(gt_img=torch.rand(3, 4, 4))])
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    outputs = VisualizationHook._predict(model, batch)
    assert torch.equal(torch.rand(3), expected_next)  # RNG untouched
    assert model.training and model.predict_modes == [(False, False)]
    assert torch.equal(outputs[0].pred_img, batch['inputs'][0])


def test_hook_at_test_time(tmp_path):
    root = make_images(tmp_path / 'set', count=2, size=(13, 10))
    runner = make_runner(
        tmp_path,
        test_dataloader=dataloader(root, TEST_PIPELINE),
        test_cfg=dict(),
        test_evaluator=[dict(type='PSNR')],
        custom_hooks=[dict(type='VisualizationHook')])
    runner.test()
    vis = tmp_path / 'work' / 'vis'
    assert sorted(p.name for p in vis.iterdir()) == ['im0_0.png', 'im1_0.png']
    grid = read_png(vis / 'im0_0.png')
    assert grid.shape == (12, 4 * 10 + 6, 3)  # mod-cropped to 12x10


def test_hook_with_multi_test_loop_uses_dataset_folders(tmp_path):
    root_a = make_images(tmp_path / 'a', count=1)
    root_b = make_images(tmp_path / 'b', count=2)
    runner = make_runner(
        tmp_path,
        test_dataloader=[
            dataloader(root_a, TEST_PIPELINE, name='Set5'),
            dataloader(root_b, TEST_PIPELINE, name='Set14')
        ],
        test_cfg=dict(type='MultiTestLoop'),
        test_evaluator=[dict(type='PSNR')],
        custom_hooks=[dict(type='VisualizationHook')])
    runner.test()
    vis = tmp_path / 'work' / 'vis'
    assert sorted(str(p.relative_to(vis)) for p in vis.rglob('*.png')) == [
        'Set14/im0_0.png', 'Set14/im1_0.png', 'Set5/im0_0.png'
    ]
    local = sorted(p.name for p in (tmp_path / 'work').glob(
        '*/vis_data/vis_image/*.png'))
    assert local == ['Set14_im0_0.png', 'Set14_im1_0.png', 'Set5_im0_0.png']


def test_hook_skips_outputs_without_prediction(tmp_path):
    root = make_images(tmp_path / 'set', count=2)
    runner = make_runner(
        tmp_path,
        model=dict(type='EchoModelForVisTests', with_prediction=False),
        test_dataloader=dataloader(root, TEST_PIPELINE),
        test_cfg=dict(),
        test_evaluator=[dict(type='MAE', pred_key='gt_img')],
        custom_hooks=[dict(type='VisualizationHook')])
    runner.test()  # no crash
    assert not (tmp_path / 'work' / 'vis').exists()


def test_hook_arguments():
    assert HOOKS.get('VisualizationHook') is VisualizationHook
    with pytest.raises(ValueError, match='interval'):
        VisualizationHook(interval=0)
    with pytest.raises(ValueError, match='max_samples_per_batch'):
        VisualizationHook(max_samples_per_batch=0)
