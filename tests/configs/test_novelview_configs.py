# Copyright (c) invtoolbox contributors. All rights reserved.
"""configs/novelview: the official config builds and reads the official
layout; the quick start trains and prints the baseline."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from invtoolbox.datasets.mpi_dataset import write_mpi_folder
from invtoolbox.datasets.synthetic_mpi import make_synthetic_scene
from invtoolbox.registry import DATASETS, MODELS
from invtoolbox.utils import register_all_modules
from tests.helpers import REPO_ROOT

CONFIG_DIR = REPO_ROOT / 'configs' / 'novelview'


def official_tree(root, size, videos=('000c3ab189999a83', '0000cc6d8b108390')):
    """Two RealEstate10K ids (the first in the official test list, the
    second in the train list), one frame each, in the official layout."""
    photos = [np.random.default_rng(i).integers(0, 256, (80, 96, 3),
                                                dtype=np.uint8)
              for i in range(3)]
    for i, video in enumerate(videos):
        for split in ('train', 'test_final'):
            ref, mpi = make_synthetic_scene(photos, np.random.default_rng(i),
                                            size=size)
            write_mpi_folder(root / split / video / '00000', ref, mpi,
                             fsync=False)


def test_official_config_builds_and_reads_the_official_layout(tmp_path):
    register_all_modules()
    cfg = Config.fromfile(str(CONFIG_DIR / 'novelview_realestate10k.py'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'NovelViewJPEG'
    assert model.num_planes == 32 and model.discriminator.num_scales == 3
    assert model.test_renderer.fx == pytest.approx(0.486242434)
    assert model.train_renderer.fx == 0.5
    assert model._perceptual_cfg['feature_extractor']['arch'] == 'vgg19'
    assert cfg.optim_wrapper.generator.optimizer.lr == 2e-4
    assert cfg.param_scheduler.generator.milestones == [20]
    official_tree(tmp_path, size=(320, 320))
    train = dict(cfg.train_dataloader.dataset, data_root=str(tmp_path))
    dataset = DATASETS.build(train)
    assert len(dataset) == 1  # only the id of the official train list
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 256, 256)
    assert sample['data_samples'].gt_mpi.shape == (32, 4, 256, 256)
    test = dict(cfg.test_dataloader.dataset, data_root=str(tmp_path))
    dataset = DATASETS.build(test)
    assert len(dataset) == 1
    assert dataset[0]['inputs'].shape == (3, 288, 512)


def test_official_config_without_data_says_where_it_goes(tmp_path):
    register_all_modules()
    cfg = Config.fromfile(str(CONFIG_DIR / 'novelview_realestate10k.py'))
    dataset = dict(cfg.train_dataloader.dataset,
                   data_root=str(tmp_path / 'none'))
    with pytest.raises(FileNotFoundError, match='does not exist; point it at'):
        DATASETS.build(dataset)

# The quick start runs (shortened) as the command of configs/novelview/README.md
# in tests/docs/test_docs_commands.py.
