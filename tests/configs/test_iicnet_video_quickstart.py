# Copyright (c) invtoolbox contributors. All rights reserved.
"""The IICNet video quick start: its data are the bundled demo clips, its
model the st-01 task at a CPU size, its evaluation beside the baseline.
(Its training runs in tests/docs/test_docs_commands.py and
tests/tools/test_data_root_tools.py.)"""
import numpy as np
from mmengine.config import Config
from PIL import Image

from invtoolbox.registry import DATASETS, MODELS
from invtoolbox.utils import register_all_modules
from tests.helpers import REPO_ROOT

CONFIG = REPO_ROOT / 'configs' / 'iicnet' / 'video_embed_quickstart.py'
CLIPS = REPO_ROOT / 'demo' / 'data' / 'videos'


def load():
    register_all_modules()
    return Config.fromfile(str(CONFIG))


def test_model_is_the_video_task_at_a_cpu_size():
    cfg = load()
    assert cfg.model.task == dict(type='VideoEmbedding', num_frames=5)
    model = MODELS.build(cfg.model)
    assert model.task.reference_index == 2
    params = sum(p.numel() for p in model.parameters())
    assert params < 500_000  # the official st-01 has 6.8M
    assert [m['type'] for m in cfg.val_evaluator] == [
        'RICMetric', 'RepeatReferenceBaseline']


def test_reads_the_bundled_clips_with_held_out_val_clips():
    cfg = load()
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.val_dataloader[0].dataset)
    # 10 clips of 12 frames, a 5-frame clip at every start: 10 x 8
    assert len(train) == 80
    # 4 clips of 9 frames, clip starts every 2 frames: 4 x 3
    assert len(val) == 12
    train_sources = {d['clip_folder'] for d in train.data_list}
    val_sources = {d['clip_folder'] for d in val.data_list}
    assert all(s.startswith('clic_') for s in train_sources)
    assert all(s.startswith('kodim') for s in val_sources)
    sample = val[0]['inputs']
    assert tuple(sample.shape) == (5, 3, 96, 96)


def test_demo_clips_move_smoothly():
    """Consecutive frames are close (a moving camera, not a slide show),
    yet not identical (there is motion)."""
    for clip in sorted(CLIPS.glob('*/*')):
        frames = [np.asarray(Image.open(f), dtype=np.float64)
                  for f in sorted(clip.glob('*.png'))]
        steps = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]
        far = np.abs(frames[0] - frames[-1]).mean()
        assert 0 < min(steps) and max(steps) < far, clip.name


def test_data_hint_names_the_readme_section():
    cfg = load()
    assert 'README.md#your-own-video-clips' in cfg.data_hint
    assert 'README.md#your-own-video-clips' in Config.fromfile(
        str(REPO_ROOT / 'configs' / 'iicnet' / 'video_embed.py')).data_hint
