# Copyright (c) invtoolbox contributors. All rights reserved.
"""Every configs/iicnet config trains (2 iterations) and validates through
tools/train.py on small real data, with only --cfg-options changed: the data
roots (../shared/data/video, ../shared/data/stereo, the demo images) and a
tiny network. The recipe is the one configs/iicnet/README.md documents."""
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import HANG_TIMEOUT, REPO_ROOT, shared_path

CONFIG_DIR = REPO_ROOT / 'configs' / 'iicnet'
DEMO_TRAIN = REPO_ROOT / 'demo' / 'data' / 'train'
DEMO_VAL = REPO_ROOT / 'demo' / 'data' / 'val'

# the official settings (the video quick start runs in
# tests/configs/test_iicnet_video_quickstart.py)
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('*.py')
                 if not p.name.startswith('_') and 'quickstart' not in p.name)
TINY = [
    'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2', 'model.generator.block_num=1',
    'model.generator.rel_channels=4', 'model.generator.subnet.growth=4',
    'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.0.num_workers=0',
    'val_dataloader.0.persistent_workers=False',
    'val_dataloader.0.dataset.indices=1'
]


def _longer_clips(video, num_frames, root):
    """Copies of the shared clips with their frames repeated up to
    ``num_frames`` (names sorted in time order)."""
    for clip in sorted(p for p in Path(video).iterdir() if p.is_dir()):
        frames = sorted(clip.glob('*.png'))
        (root / clip.name).mkdir(parents=True)
        for i in range(num_frames):
            shutil.copy(frames[i % len(frames)],
                        root / clip.name / f'{i:02d}.png')
    return root


def data_options(name, tmp_path):
    """The --cfg-options that point a config at small local data."""
    train = 'train_dataloader.dataset'
    val = 'val_dataloader.0.dataset'
    if name.startswith('video_embed'):
        video = shared_path('data', 'video')
        if name == 'video_embed_9f.py':  # 9-frame clips from the 7-frame ones
            video = _longer_clips(video, 9, tmp_path / 'clips9')
        opts = []
        for i in (0, 1):  # the official train set joins two DAVIS releases
            opts += [f'{train}.datasets.{i}.data_root={video}',
                     f'{train}.datasets.{i}.layout=folders',
                     f'{train}.datasets.{i}.frame_step=1',
                     f'{train}.datasets.{i}.pipeline.1.crop_size=32']
        return opts + [f'{val}.data_root={video}', f'{val}.layout=folders',
                       f'{val}.frame_step=1']
    if name.startswith('mono_binocular'):
        stereo = shared_path('data', 'stereo')
        views = []
        for ds in (train, val):  # Middlebury folders, not Flickr1024 files
            views += [f'{ds}.left=left.png', f'{ds}.right=right.png']
        return [f'{train}.data_root={stereo}', f'{val}.data_root={stereo}',
                f'{train}.pipeline.1.crop_size=32'] + views
    if name.startswith('composition'):
        root = tmp_path / 'layers'
        folders = (('frame', 'background') if name == 'composition_real.py'
                   else ('composite', 'background', 'foreground'))
        for folder in folders:
            (root / folder).mkdir(parents=True)
            for image in sorted(DEMO_VAL.iterdir())[:2]:
                shutil.copy(image, root / folder / image.name)
        return [f'{train}.data_root={root}', f'{val}.data_root={root}']
    # single-folder datasets: DIV2K (dual view), Flickr 2W (hiding), VOC
    opts = [f'{train}.data_root={DEMO_TRAIN}', f'{val}.data_root={DEMO_VAL}',
            f'{train}.pipeline.1.crop_size=32']
    if name.startswith('hide_'):  # 576x576 evaluation crops; demo crops are smaller
        opts += [f'{val}.pipeline.1.crop_size=128',
                 f'{val}.data_root={DEMO_TRAIN}']  # >= 5 images
    for ds in (train, val):  # the official splits assume thousands of images
        opts += [f'{ds}.split=None', f'{ds}.group_slice=None',
                 f'{ds}.min_size=None']
    return opts


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize('name', CONFIGS)
def test_config_trains_on_small_data(name, tmp_path):
    options = TINY + data_options(name, tmp_path)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'),
         str(CONFIG_DIR / name), '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', *options],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
    match = re.search(r'/embed_PSNR: ([\d.]+)', log)
    assert match and float(match.group(1)) > 5, log[-2000:]
    assert re.search(r'/restored_PSNR: ([\d.]+)', log)


def test_every_config_is_covered():
    assert len(CONFIGS) == 23, CONFIGS  # one per released config id


@pytest.mark.e2e
def test_short_clips_stop_training_with_one_line(tmp_path):
    video = shared_path('data', 'video')  # 7-frame clips
    options = TINY + [f'train_dataloader.dataset.datasets.{i}.{key}'
                      for i in (0, 1)
                      for key in (f'data_root={video}', 'layout=folders')]
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'),
         str(CONFIG_DIR / 'video_embed.py'), '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', *options],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'has 7 frames, fewer than' in last


@pytest.mark.e2e
@pytest.mark.slow
def test_dist_train_video_embed_on_cpu(tmp_path):
    """tools/dist_train.sh CONFIG 2: two gloo processes train IICNet."""
    from tests.tools.test_train_test_tools import free_port
    options = TINY + data_options('video_embed.py', tmp_path) + [
        'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=3'
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(free_port()),
               PYTHON=sys.executable)
    proc = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / 'dist_train.sh'),
         str(CONFIG_DIR / 'video_embed.py'), '2', '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', *options],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'device cpu x 2 processes' in log  # the terminal's header
    # the environment and config dumps are in the log file
    log_file, = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))
    with open(log_file) as f:
        dumps = f.read()
    assert 'Distributed training: True' in dumps
    assert 'DeviceAwareDistributedDataParallel' in dumps
    # (a CPU-only torch has no nccl: the run used gloo, set up by train.py)
    import torch
    ckpt = torch.load(tmp_path / 'work' / 'iter_3.pth', weights_only=False)
    state = ckpt['state_dict']
    assert any(k.startswith('generator.') for k in state)
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())
    assert re.search(r'/restored_PSNR: ([\d.]+)', log)


@pytest.mark.e2e
def test_corrupt_image_stops_training_with_one_line(tmp_path):
    root = tmp_path / 'imgs'
    root.mkdir()
    for image in sorted(DEMO_TRAIN.iterdir())[:3]:
        shutil.copy(image, root / image.name)
    (root / 'zz_broken.png').write_bytes(b'not an image at all' * 10)
    options = TINY + data_options('grayscale.py', tmp_path) + [
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.seed=None',
        'train_dataloader.sampler.shuffle=False',
    ]
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'),
         str(CONFIG_DIR / 'grayscale.py'), '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', *options,
         'train_cfg.max_iters=4'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'zz_broken.png' in last
    assert 'cannot decode' in last
