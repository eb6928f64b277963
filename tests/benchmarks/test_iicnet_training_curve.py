# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/iicnet_training_curve.py: a tiny run writes its table, JSON
and plot (that the PSNRs rise is for the real run)."""
import json

import pytest
from PIL import Image

from tests.helpers import shared_path

TINY = ['--iters', '3', '--eval-interval', '2', '--crop', '16', '--batch',
        '1', '--blocks', '1', '--rel-channels', '4', '--growth', '4']


@pytest.fixture(scope='module')
def curve():
    from benchmarks import iicnet_training_curve
    return iicnet_training_curve


@pytest.fixture
def small_video(tmp_path):
    """Two 3-frame sequences of the shared clips, cut to 32x48."""
    source = shared_path('data', 'video')
    root = tmp_path / 'video'
    for name in ('vimeo_00001_0002', 'vimeo_00002_0007'):
        (root / name).mkdir(parents=True)
        for i in (3, 4, 5):
            with Image.open(source / name / f'im{i}.png') as img:
                img.crop((100, 80, 148, 112)).save(root / name / f'im{i}.png')
    return root


def test_tiny_run_writes_table_json_and_plot(curve, small_video, tmp_path,
                                             capsys):
    out_dir = tmp_path / 'out'
    plot = tmp_path / 'figures' / 'curve.png'
    rows = curve.main(TINY + [
        '--data-root', str(small_video), '--train-sequences', '1',
        '--out-dir', str(out_dir), '--plot', str(plot)
    ])
    assert [r['iteration'] for r in rows] == [0, 2, 3]
    out = capsys.readouterr().out
    assert ('| iteration | train time (s) | embed PSNR (dB) | restored PSNR '
            '(dB) | restored-noref PSNR (dB) |') in out
    assert 'IICNet VideoEmbedding(num_frames=3)' in out
    assert 'CPU, 1 thread; held-out clip' in out
    assert len([line for line in out.splitlines()
                if line.startswith('| ') and line[2].isdigit()]) == 3
    result = json.loads((out_dir / 'curve.json').read_text())
    assert result['options']['iters'] == 3
    assert [r['iteration'] for r in result['rows']] == [0, 2, 3]
    for row in result['rows']:
        for key, _ in curve.COLUMNS:
            assert 10 < row[key] < 100, (key, row)
    assert result['rows'][0]['loss'] is None
    assert result['rows'][-1]['loss'] > 0
    for png in (out_dir / 'curve.png', plot):
        with Image.open(png) as img:
            assert img.format == 'PNG' and img.size == (640, 400)
    assert not list(out_dir.glob('.*.tmp'))  # atomic writes left nothing


def test_untrained_model_embeds_the_frame_mean(curve, small_video, tmp_path):
    """At iteration 0 IICNet is an identity up to the channel squeeze, so
    the embedding is the mean of the 3 frames: check the evaluation
    against that closed form."""
    import numpy as np
    from invtoolbox.evaluation.functional import psnr
    args = curve.parse_args(TINY + [
        '--data-root', str(small_video), '--train-sequences', '1',
        '--out-dir', str(tmp_path)
    ])
    model, _, _, val_loader, cfg = curve.build(args)
    metrics = curve.evaluate(model, val_loader, cfg)
    frames = [
        np.asarray(Image.open(small_video / 'vimeo_00002_0007' /
                              f'im{i}.png')).astype(np.float64)
        for i in (3, 4, 5)
    ]
    mean = np.clip(np.round(sum(frames) / 3), 0, 255).astype(np.uint8)
    expected = psnr(mean, frames[1].astype(np.uint8))
    assert abs(metrics['embed_PSNR'] - expected) < 0.05


@pytest.mark.parametrize('args,message', [
    (['--config', 'missing.py'], 'config missing.py not found'),
    (['--data-root', 'no/such/dir'], '--data-root no/such/dir is not a'),
    (['--lr', '0'], '--lr must be > 0'),
    (['--iters', '0'], 'must be >= 1, got 0'),
])
def test_bad_options_are_one_line(curve, capsys, args, message):
    with pytest.raises(SystemExit) as err:
        curve.main(args)
    assert err.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_no_held_out_sequence(curve, small_video, tmp_path, capsys):
    with pytest.raises(SystemExit):
        curve.main(TINY + ['--data-root', str(small_video),
                           '--train-sequences', '2', '--out-dir',
                           str(tmp_path)])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert 'no held-out sequence' in error
    assert 'has 2 sequence folder(s)' in error
