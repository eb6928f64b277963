# Copyright (c) invtoolbox contributors. All rights reserved.
"""CodecSweepTestLoop: a real Runner, a real (tiny) IRN, real JPEG."""
import uuid

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from invtoolbox.engine.runner import (CodecSweepTestLoop, codec_label,
                                      format_sweep_table)
from invtoolbox.evaluation.functional import psnr
from invtoolbox.models.degradations import RealJPEG
from invtoolbox.registry import MODELS
from invtoolbox.utils import register_all_modules
from tests.engine.test_multi_loops import loader, make_folder

register_all_modules()

TINY_IRN = dict(
    type='IRN',
    generator=dict(
        type='IRNNet',
        in_channels=3,
        out_channels=3,
        scale=2,
        block_num=[1],
        subnet=dict(type='DenseBlock', growth=4)),
    test_cfg=dict(latent='zero'))


def make_runner(tmp_path, **kwargs):
    return Runner(
        model=TINY_IRN,
        work_dir=str(tmp_path / 'work'),
        default_scope='invtoolbox',
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=1)),
        experiment_name=f'sweep_{uuid.uuid4().hex}',
        randomness=dict(seed=0),
        **kwargs)


def test_codec_label_and_table():
    assert codec_label(dict(type='RealJPEG', quality=30)) == 'JPEG-30'
    assert codec_label(dict(type='RealWebP', quality=75)) == 'WebP-75'
    assert codec_label(None) == 'none'
    table = format_sweep_table(
        'PSNR', {'Set5': {'JPEG-30': 30.0, 'JPEG-90': 35.5},
                 'Set14': {'JPEG-30': 28.25}})
    lines = table.splitlines()
    assert lines[0].split('|')[0].strip() == 'PSNR'
    assert 'JPEG-90' in lines[0] and '35.5000' in lines[2]
    assert lines[3].rstrip().endswith('-')


def test_sweep_matches_manual_codec_path(tmp_path, capsys):
    images_a = make_folder(tmp_path / 'a', [(32, 32), (32, 32)], seed=0)
    make_folder(tmp_path / 'b', [(16, 24)], seed=1)
    codecs = [None, dict(type='RealJPEG', quality=30),
              dict(type='RealJPEG', quality=90)]
    runner = make_runner(
        tmp_path,
        test_dataloader=[loader(tmp_path / 'a', 'SetA'),
                         loader(tmp_path / 'b', 'SetB')],
        test_cfg=dict(type='CodecSweepTestLoop', codecs=codecs,
                      table_metrics=['PSNR']),
        test_evaluator=[dict(type='PSNR'), dict(type='SSIM')])
    metrics = runner.test()
    assert isinstance(runner.test_loop, CodecSweepTestLoop)
    # 3 images x 3 codecs: the total EvalProgressHook shows
    assert runner.test_loop.num_batches == 9
    labels = ['none', 'JPEG-30', 'JPEG-90']
    assert set(metrics) == {f'{label}/{ds}/{m}' for label in labels
                            for ds in ('SetA', 'SetB')
                            for m in ('PSNR', 'SSIM')}
    # the model's codec is restored after the sweep
    assert runner.model.test_codec is None

    # recompute SetA by hand: downscale -> codec -> upscale
    model = runner.model
    for label, codec in zip(labels, codecs):
        values = []
        for gt in images_a:
            with torch.no_grad():
                lr = model.downscale(gt[None])
                if codec is not None:
                    lr = RealJPEG(quality=codec['quality'])(lr)
                hr = model.upscale(lr).clamp(0, 1)[0]
            values.append(psnr(hr, gt))
        assert metrics[f'{label}/SetA/PSNR'] == pytest.approx(
            float(np.mean(values)), abs=1e-4)
    # stronger compression hurts
    assert metrics['JPEG-30/SetA/PSNR'] < metrics['JPEG-90/SetA/PSNR']

    log = capsys.readouterr().out
    assert 'test results by codec' in log
    header = [line for line in log.splitlines() if 'JPEG-30 | JPEG-90' in line]
    assert header and 'PSNR' in header[-1]
    assert 'SSIM |' not in log  # only the requested table


def test_sweep_bad_configs(tmp_path):
    make_folder(tmp_path / 'a', [(16, 16)], seed=0)
    base = dict(test_dataloader=loader(tmp_path / 'a', 'SetA'),
                test_evaluator=dict(type='PSNR'))
    for cfg, match in [
        (dict(codecs=[]), 'codecs is empty'),
        (dict(codecs=[dict(type='RealJPEG', quality=101)]), 'quality'),
        (dict(codecs=[dict(type='RealJPEG', quality=30)] * 2),
         'labels must be distinct'),
        (dict(codecs=[None], labels=['a', 'b']), '2 labels for 1 codecs'),
    ]:
        runner = make_runner(
            tmp_path, test_cfg=dict(type='CodecSweepTestLoop', **cfg),
            **base)
        with pytest.raises(ValueError, match=match):
            runner.test()


def test_sweep_needs_a_rescaling_model(tmp_path):
    make_folder(tmp_path / 'a', [(16, 16)], seed=0)
    runner = Runner(
        model=dict(type='ShrinkingModelForLoopTests'),
        work_dir=str(tmp_path / 'work'),
        default_scope='invtoolbox',
        experiment_name=f'sweep_{uuid.uuid4().hex}',
        test_dataloader=loader(tmp_path / 'a', 'SetA'),
        test_evaluator=dict(type='PSNR'),
        test_cfg=dict(type='CodecSweepTestLoop', codecs=[None]))
    with pytest.raises(TypeError, match='no rescaling capability'):
        runner.test()
