# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/train.py --data-root and the missing-data hint, end to end."""
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import HANG_TIMEOUT, REPO_ROOT

QUICKSTART = 'configs/iicnet/video_embed_quickstart.py'
TINY = [
    'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2', 'model.generator.block_num=1',
    'model.generator.subnet.growth=4', 'train_dataloader.batch_size=1'
]


def run(args, cwd=REPO_ROOT):
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py')] + args,
        cwd=cwd, capture_output=True, text=True, timeout=HANG_TIMEOUT,
        env=dict(__import__('os').environ, OMP_NUM_THREADS='1',
                 PYTHONPATH=str(REPO_ROOT)))


def readme_anchors():
    """GitHub's anchors of the README headings."""
    text = (REPO_ROOT / 'README.md').read_text()
    return {
        re.sub(r'[^\w\- ]', '', h.strip().lower()).replace(' ', '-')
        for h in re.findall(r'^#+ (.+)$', text, flags=re.M)
    }


@pytest.mark.e2e
def test_data_root_points_the_quickstart_at_other_clips(tmp_path):
    """Two train clips and one val clip copied elsewhere: the run reads
    them (one 9-frame val clip = 3 five-frame clips with clip_step 2)."""
    clips = REPO_ROOT / 'demo' / 'data' / 'videos'
    for split, names in (('train', ['clic_00_0', 'clic_01_0']),
                         ('val', ['kodim05'])):
        for name in names:
            shutil.copytree(clips / split / name, tmp_path / 'my' / split /
                            name)
    result = run([QUICKSTART, '--work-dir', str(tmp_path / 'w'),
                  '--data-root', str(tmp_path / 'my'), '--cfg-options'] +
                 TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Iter(val) [3/3]' in log
    assert 'Baseline_restored_noref_PSNR' in log
    # the results are named after the data read, not the demo clips
    assert 'my_val/' in log and 'demo_clips_val' not in log
    assert (tmp_path / 'w' / 'iter_2.pth').is_file()
    # a folder without train/ and val/: one line naming the missing folder
    result = run([QUICKSTART, '--work-dir', str(tmp_path / 'w2'),
                  '--data-root', str(tmp_path / 'my' / 'train'),
                  '--cfg-options'] + TINY)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert lines[-1].startswith(
        'error: train dataset: VideoClipDataset: video folder')
    assert f"{tmp_path / 'my' / 'train'}/train" in lines[-1]
    assert 'README.md#your-own-video-clips' in lines[-1]


@pytest.mark.e2e
def test_missing_davis_names_the_quickstart_and_the_readme(tmp_path):
    """No data/DAVIS: one line naming the missing folder, the quick start
    and the README section (whose anchor must exist); the hint's old route
    (--cfg-options ...dataset.data_root on the ConcatDataset) is one line
    too, not a traceback."""
    config = str(REPO_ROOT / 'configs' / 'iicnet' / 'video_embed.py')
    result = run([config, '--work-dir', str(tmp_path / 'w')], cwd=tmp_path)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(
        'error: train dataset: VideoClipDataset: DAVIS frame folder')
    assert 'data/DAVIS/DAVIS-2017-trainval/JPEGImages/480p' in line
    assert 'configs/iicnet/video_embed_quickstart.py' in line
    anchor = re.search(r'README\.md#([\w-]+)', line).group(1)
    assert anchor in readme_anchors()

    result = run([config, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                  'train_dataloader.dataset.data_root=/somewhere'],
                 cwd=tmp_path)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "unexpected keyword argument 'data_root'" in line
    assert '--data-root' in line

    result = run([config, '--data-root', str(tmp_path / 'nowhere')],
                 cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'error: --data-root {tmp_path / "nowhere"} is not a folder; pass '
        f'the folder that replaces the data root of {config} (data/DAVIS).')
