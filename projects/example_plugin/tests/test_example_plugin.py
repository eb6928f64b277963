"""Tests of the example plugin: the task, the transform, and training it
through invtoolbox's tools/train.py both ways a plugin is found
(``custom_imports`` and the ``invtoolbox.plugins`` entry point)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = PLUGIN_ROOT.parents[1]
CONFIG = PLUGIN_ROOT / 'configs' / 'exposure_bracket_demo.py'
sys.path.insert(0, str(PLUGIN_ROOT))

from invtb_exposure import (ExposureBracketEmbedding,  # noqa: E402
                            SimulateExposureBracket)
from invtoolbox.registry import TASKS, TRANSFORMS  # noqa: E402

TINY = [
    'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
    'model.generator.block_num=1', 'model.generator.rel_channels=4',
    'model.generator.subnet.growth=4', 'train_dataloader.batch_size=2',
    'default_hooks.checkpoint.interval=3', 'train_pipeline.1.crop_size=32',
    'val_pipeline.1.crop_size=32'
]


def test_registered_from_outside():
    assert TASKS.get('ExposureBracketEmbedding') is ExposureBracketEmbedding
    assert TRANSFORMS.get('SimulateExposureBracket') is \
        SimulateExposureBracket
    assert 'invtb_exposure' in TASKS.get(
        'ExposureBracketEmbedding').__module__


def test_task_reference_and_packing():
    task = ExposureBracketEmbedding()
    assert task.num_images == 3 and task.reference_index == 1
    assert task.order == [1, 0, 2]
    images = torch.rand(2, 3, 3, 8, 8)
    assert torch.equal(task.unpack(task.pack(images)), images)
    weights = task.weights(images)
    assert torch.allclose(weights.sum(dim=1), torch.ones(2, 1, 8, 8))
    ref = task.reference(images)
    assert ref.shape == (2, 3, 8, 8)
    # a convex combination of the exposures, pixel by pixel
    assert (ref >= images.min(dim=1).values - 1e-6).all()
    assert (ref <= images.max(dim=1).values + 1e-6).all()
    # a bracket whose middle shot is mid-grey and others clipped -> mid-grey
    grey = torch.stack([torch.zeros(3, 4, 4), torch.full((3, 4, 4), .5),
                        torch.ones(3, 4, 4)])[None]
    assert torch.allclose(task.reference(grey), torch.full((1, 3, 4, 4), .5),
                          atol=1e-3)
    with pytest.raises(ValueError, match='sigma must be > 0'):
        ExposureBracketEmbedding(sigma=0)


def test_transform_makes_a_bracket():
    img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8)
    out = SimulateExposureBracket()(dict(imgs=[img]))
    under, normal, over = [i.astype(int) for i in out['imgs']]
    assert np.abs(normal - img).max() <= 1  # 0 EV is the image itself
    assert (under <= normal).all() and (over >= normal).all()
    assert under.mean() < normal.mean() < over.mean()
    with pytest.raises(ValueError, match='exactly one loaded image'):
        SimulateExposureBracket()(dict(imgs=[img, img]))
    with pytest.raises(ValueError, match='increasing'):
        SimulateExposureBracket(evs=(1, 0))


def _train(tmp_path, config, env_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, env_path)),
               OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), str(config),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', *TINY],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


def _check_run(proc, tmp_path):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / 'work' / 'iter_3.pth').is_file()
    log = proc.stdout + proc.stderr
    match = re.search(r'demo_val/restored_PSNR: ([\d.]+)', log)
    assert match and float(match.group(1)) > 10
    assert 'demo_val/ev0_PSNR' in log  # the task's image names


@pytest.mark.e2e
@pytest.mark.slow
def test_trains_through_tools_train_with_custom_imports(tmp_path):
    _check_run(_train(tmp_path, CONFIG, [PLUGIN_ROOT]), tmp_path)


@pytest.mark.e2e
@pytest.mark.slow
def test_trains_through_the_entry_point(tmp_path):
    # What `pip install` writes for pyproject.toml's entry-point table: a
    # .dist-info folder on sys.path. The config below has no custom_imports,
    # so the task can only be found through the entry point.
    site = tmp_path / 'site'
    info = site / 'invtb_exposure-0.1.0.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: invtb-exposure\nVersion: 0.1.0\n')
    tomllib = pytest.importorskip('tomllib')  # Python >= 3.11
    project = tomllib.loads((PLUGIN_ROOT / 'pyproject.toml').read_text())
    group = project['project']['entry-points']['invtoolbox.plugins']
    (info / 'entry_points.txt').write_text('[invtoolbox.plugins]\n' + ''.join(
        f'{name} = {value}\n' for name, value in group.items()))
    config = tmp_path / 'no_custom_imports.py'
    text = CONFIG.read_text()
    text = re.sub(r'^custom_imports = .*$', '', text, flags=re.M)
    text = text.replace("'../../../configs/", f"'{REPO_ROOT}/configs/")
    config.write_text(text)
    assert 'custom_imports' not in config.read_text().split('_base_')[0]
    _check_run(_train(tmp_path, config, [PLUGIN_ROOT, site]), tmp_path)
