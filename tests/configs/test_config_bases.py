# Copyright (c) invtoolbox contributors. All rights reserved.
"""What the shared config bases guarantee, checked as properties.

- ``configs/_base_/datasets/{div2k_train,sr_test}_x<s>.py`` are the x2 data
  at scale ``s``: the same folders, loaders and transforms, with ``s`` in
  every scale-dependent transform and metric (and images that come out at
  that scale);
- every IRN / SAIN config (those built on ``_irn_base.py`` / ``_sain_base.py``
  and the others) carries its generator's scale in every transform and
  metric that has a ``scale`` or ``crop_border``;
- every IICNet hiding config agrees with its number of secrets K: task,
  group sizes of the three datasets, network and the groups a dataset yields.

Expected values follow from each config's own scale / K (or from the x2 file
that the other scales restate), never from a number a tool printed.
"""
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from invtoolbox.registry import DATASETS, MODELS
from invtoolbox.utils import register_all_modules
from tests.helpers import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'
DATASET_BASES = CONFIGS / '_base_' / 'datasets'
SCALES = (2, 3, 4, 8)
RESCALING = sorted(p for algo in ('irn', 'sain')
                   for p in (CONFIGS / algo).glob('*.py')
                   if not p.name.startswith('_'))
HIDING = sorted((CONFIGS / 'iicnet').glob('hide_*.py'))
DEMO_TRAIN = REPO_ROOT / 'demo' / 'data' / 'train'


def load(path):
    return Config.fromfile(str(path))


def without(cfg, *keys):
    """A plain copy of a config dict without ``keys`` at any depth."""
    if isinstance(cfg, dict):
        return {k: without(v, *keys) for k, v in cfg.items() if k not in keys}
    if isinstance(cfg, (list, tuple)):
        return [without(v, *keys) for v in cfg]
    return cfg


def as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def make_images(root, sizes, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i, size in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, size + (3, ), dtype=np.uint8)
                        ).save(root / f'{i}.png')
    return root


# --------------------------------------------------------------------------
# the per-scale data bases

def test_old_names_are_the_x2_files():
    for name in ('sr_test', 'div2k_train'):
        assert load(DATASET_BASES / f'{name}.py').to_dict() == load(
            DATASET_BASES / f'{name}_x2.py').to_dict(), name


@pytest.mark.parametrize('scale', SCALES)
def test_sr_test_base_is_the_x2_sets_at_its_scale(scale, tmp_path):
    x2 = load(DATASET_BASES / 'sr_test_x2.py')
    cfg = load(DATASET_BASES / f'sr_test_x{scale}.py')
    for key in ('test_dataloader', 'val_dataloader'):
        assert len(cfg[key]) == len(x2[key]) and cfg[key], key
        for loader, loader_x2 in zip(cfg[key], x2[key]):
            pipeline = loader.dataset.pipeline
            scaled = [t for t in pipeline if 'scale' in t]
            assert [t.type for t in scaled] == ['ModCrop', 'GenerateBicubicLR']
            assert all(t.scale == scale for t in scaled)
            # the same sets, folders and loader settings as x2; the same
            # transforms apart from their scale
            assert without(loader, 'pipeline') == without(loader_x2,
                                                          'pipeline')
            assert without(pipeline, 'scale') == without(
                loader_x2.dataset.pipeline, 'scale')
    assert cfg.val_dataloader == cfg.test_dataloader[:2]
    assert [m.type for m in cfg.test_evaluator] == ['PSNR', 'SSIM']
    assert all(m.crop_border == scale and m.test_y_channel
               for m in cfg.test_evaluator)
    assert cfg.val_evaluator == cfg.test_evaluator
    assert (cfg.val_cfg, cfg.test_cfg) == (x2.val_cfg, x2.test_cfg)
    # a test image comes out mod-cropped to the scale, its LR 1/scale of it
    h, w = 5 * scale + scale - 1, 4 * scale + 1
    root = make_images(tmp_path / 'set', [(h, w)])
    sample = DATASETS.build(
        dict(cfg.test_dataloader[0].dataset,
             data_root=str(root)))[0]['data_samples']
    assert sample.gt_img.shape == (3, 5 * scale, 4 * scale)
    assert sample.lr_img.shape == (3, 5, 4)


@pytest.mark.parametrize('scale', SCALES)
def test_div2k_train_base_is_the_x2_set_at_its_scale(scale, tmp_path):
    x2 = load(DATASET_BASES / 'div2k_train_x2.py')
    cfg = load(DATASET_BASES / f'div2k_train_x{scale}.py')
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert pipeline == cfg.train_pipeline
    scaled = [t for t in pipeline if 'scale' in t]
    assert [t.type for t in scaled] == ['PairedRandomCrop',
                                       'GenerateBicubicLR']
    assert all(t.scale == scale for t in scaled)
    assert without(pipeline, 'scale') == without(x2.train_pipeline, 'scale')
    assert without(cfg.train_dataloader, 'pipeline') == without(
        x2.train_dataloader, 'pipeline')
    assert cfg.gt_patch_size == x2.gt_patch_size
    patch = pipeline[1].gt_patch_size
    assert patch % scale == 0, 'the GT patch must fall on the LR grid'
    root = make_images(tmp_path / 'train', [(patch + 7, patch + 2)])
    item = DATASETS.build(dict(cfg.train_dataloader.dataset,
                               data_root=str(root)))[0]
    assert item['inputs'].shape == (3, patch, patch)
    assert item['data_samples'].lr_img.shape == (3, patch // scale,
                                                 patch // scale)


# --------------------------------------------------------------------------
# IRN / SAIN configs: one scale everywhere

def scale_carriers(cfg):
    """(where, entry) for every transform and metric of the config."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for i, loader in enumerate(as_list(cfg.get(key) or [])):
            for j, step in enumerate(loader.dataset.get('pipeline', [])):
                yield f'{key}[{i}].dataset.pipeline[{j}]', step
    for key in ('val_evaluator', 'test_evaluator'):
        for i, metric in enumerate(as_list(cfg.get(key) or [])):
            yield f'{key}[{i}]', metric


@pytest.mark.parametrize('path', RESCALING, ids=lambda p: p.stem)
def test_transforms_and_metrics_carry_the_generator_scale(path):
    cfg = load(path)
    scale = cfg.model.generator.scale
    checked = {'scale': [], 'crop_border': []}
    for where, entry in scale_carriers(cfg):
        for key in checked:
            if key in entry:
                assert entry[key] == scale, (
                    f'{path.name}: {where}.{key} = {entry[key]}, but '
                    f'model.generator.scale = {scale}')
                checked[key].append(where)
    assert any(w.startswith('train_dataloader') for w in checked['scale'])
    if scale > 1:  # not vacuous: a rescaler scales every evaluation loader
        for key in ('val_dataloader', 'test_dataloader'):
            for i, _ in enumerate(as_list(cfg[key])):
                assert any(w.startswith(f'{key}[{i}]')
                           for w in checked['scale']), f'{key}[{i}]'
        # and crops `scale` pixels before its metrics
        assert checked['crop_border']
        loss = cfg.model.get('pixel_loss_forw')
        if loss is not None:  # IRN / SAIN: lambda_fit = scale^2
            assert loss.loss_weight == scale**2
    if 'scale' in cfg:  # the module-level helper agrees
        assert cfg.scale == scale


def test_the_docs_example_is_irn_x4():
    """docs/datasets_and_runtime.md shows configs/irn/irn_x4_div2k.py."""
    text = (REPO_ROOT / 'docs' / 'datasets_and_runtime.md').read_text()
    section = text.split('### Picking the scale in an algorithm config')[1]
    example = re.search(r'```python title="configs/irn/irn_x4_div2k.py"\n(_base_ = .*?)```',
                        section, re.S).group(1)

    def code(source):
        lines = (line.split('#')[0].rstrip() for line in source.splitlines())
        return [line for line in lines if line]

    assert code(example) == code(
        (CONFIGS / 'irn' / 'irn_x4_div2k.py').read_text())


# --------------------------------------------------------------------------
# IICNet image hiding: K secrets everywhere

def hiding_datasets(cfg):
    return [cfg.train_dataloader.dataset] + [
        loader.dataset
        for loader in cfg.val_dataloader + cfg.test_dataloader
    ]


@pytest.mark.parametrize('path', HIDING, ids=lambda p: p.stem)
def test_hiding_config_agrees_with_its_secrets(path):
    register_all_modules()
    cfg = load(path)
    assert cfg.model.task.type == 'ImageHiding'
    k = cfg.model.task.num_secrets
    official = re.fullmatch(r'hide_([1-4])', path.stem)
    if official:  # hide-01 .. hide-04 hide 1 .. 4 secrets
        assert k == int(official.group(1))
    assert cfg.num_secrets == k and cfg.group_size == k + 1
    datasets = hiding_datasets(cfg)
    assert len(datasets) == 3
    assert [d.group_size for d in datasets] == [k + 1] * 3
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert model.task.num_images == model.generator.num_images == k + 1
    # what the datasets yield fits the network: K + 1 images per sample
    for dataset in datasets:
        small = dict(
            dataset, data_root=str(DEMO_TRAIN), split=None, group_slice=None,
            min_size=None, pipeline=[
                dict(t, crop_size=32) if 'crop_size' in t else t
                for t in dataset.pipeline
            ])
        inputs = DATASETS.build(small)[0]['inputs']
        assert inputs.shape == (k + 1, 3, 32, 32)


def test_official_hiding_configs_differ_only_in_secrets():
    """hide_1 .. hide_4 share everything but K (and its group size)."""
    shared = []
    for k in (1, 2, 3, 4):
        cfg = load(CONFIGS / 'iicnet' / f'hide_{k}.py').to_dict()
        assert cfg.pop('num_secrets') == k
        assert cfg.pop('group_size') == k + 1
        assert cfg['model']['task'].pop('num_secrets') == k
        for loader in [cfg['train_dataloader']] + cfg['val_dataloader'] + \
                cfg['test_dataloader']:
            assert loader['dataset'].pop('group_size') == k + 1
        shared.append(cfg)
    assert all(cfg == shared[0] for cfg in shared[1:])
