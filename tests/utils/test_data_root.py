# Copyright (c) invtoolbox contributors. All rights reserved.
"""set_data_root: --data-root rewrites every dataset root of a config."""
import pytest
from mmengine.config import Config

from invtoolbox.utils.data_root import (dataset_roots, folder_dataset_name,
                                        set_data_root)
from tests.helpers import REPO_ROOT


def load(path):
    return Config.fromfile(str(REPO_ROOT / path))


def roots(cfg):
    return sorted({d[k] for d, k in dataset_roots(cfg)})


def test_davis_releases_keep_their_sub_folders():
    cfg = load('configs/iicnet/video_embed.py')
    assert cfg.data_root == 'data/DAVIS'
    assert set_data_root(cfg, '/x/DAVIS') == []
    assert cfg.data_root == '/x/DAVIS'
    # the ConcatDataset's two inner datasets, val and test
    train = cfg.train_dataloader.dataset
    assert train.type == 'ConcatDataset' and 'data_root' not in train
    assert [d.data_root for d in train.datasets] == [
        '/x/DAVIS/DAVIS-2017-trainval', '/x/DAVIS/DAVIS-2017-test-dev']
    assert cfg.val_dataloader[0].dataset.data_root == \
        '/x/DAVIS/DAVIS-2017-test-dev'
    assert cfg.test_dataloader[0].dataset.data_root == \
        '/x/DAVIS/DAVIS-2017-test-challenge'
    # the rest of each dataset is untouched
    assert train.datasets[1].sequence_slice == (0, None, 2)
    assert train.datasets[1].layout == 'davis'


def test_quickstart_train_and_val_folders():
    cfg = load('configs/iicnet/video_embed_quickstart.py')
    set_data_root(cfg, 'my_clips/')
    assert roots(cfg) == ['my_clips/train', 'my_clips/val']


def test_without_a_declared_root_the_common_folder_is_swapped():
    # IRN x2: DIV2K under data/DIV2K/..., the test sets under data/<name>
    cfg = load('configs/irn/irn_x2_div2k.py')
    assert 'data_root' not in cfg
    before = roots(cfg)
    assert set_data_root(cfg, '/d') == []
    assert roots(cfg) == sorted(
        '/d' + r[len('data'):] for r in before)
    # one dataset alone: DIR is that dataset's folder
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='ImageFolderDataset', data_root='data/DIV2K/train'))))
    set_data_root(cfg, '/d')
    assert cfg.train_dataloader.dataset.data_root == '/d'


def test_wrappers_and_src_root_and_lists_of_loaders():
    cfg = Config(dict(
        data_root='data/x',
        train_dataloader=dict(dataset=dict(
            type='RepeatDataset', times=2, dataset=dict(
                type='ConcatDataset', datasets=[
                    dict(type='A', data_root='data/x/a', ann_file='l.txt'),
                    dict(type='SyntheticMPIDataset', src_root='data/x/b',
                         cache_root='work_dirs/cache')]))),
        val_dataloader=[dict(dataset=dict(type='A', data_root='data/x')),
                        dict(dataset=dict(type='A', data_root='data/kodak'))],
        test_dataloader=None))
    left = set_data_root(cfg, 'new')
    inner = cfg.train_dataloader.dataset.dataset.datasets
    assert inner[0].data_root == 'new/a' and inner[0].ann_file == 'l.txt'
    assert inner[1].src_root == 'new/b'
    assert inner[1].cache_root == 'work_dirs/cache'  # not a data folder
    assert cfg.val_dataloader[0].dataset.data_root == 'new'
    # a dataset outside the declared root is reported, not moved
    assert left == ['data/kodak']
    assert cfg.val_dataloader[1].dataset.data_root == 'data/kodak'


def test_prefix_is_a_folder_not_a_string_prefix():
    cfg = Config(dict(
        data_root='data/DAVIS',
        train_dataloader=dict(dataset=dict(type='A', data_root='data/DAVIS2')),
        val_dataloader=dict(dataset=dict(type='A', data_root='data/DAVIS/v'))))
    assert set_data_root(cfg, '/n') == ['data/DAVIS2']
    assert cfg.val_dataloader.dataset.data_root == '/n/v'


@pytest.mark.parametrize('bad', ['', '  ', None])
def test_bad_root(bad):
    cfg = load('configs/iicnet/video_embed.py')
    with pytest.raises(ValueError, match='--data-root must be a folder'):
        set_data_root(cfg, bad)


def test_config_without_datasets():
    with pytest.raises(ValueError, match='no dataset with a data_root'):
        set_data_root(Config(dict(model=dict(type='X'))), '/d')


@pytest.mark.parametrize('path', sorted(
    str(p.relative_to(REPO_ROOT))
    for p in (REPO_ROOT / 'configs').glob('*/*.py')
    if not p.name.startswith('_') and p.parent.name != '_base_'))
def test_every_config_family_moves_to_the_new_root(path):
    """Every dataset of every config ends up under the new root, except
    those a config keeps outside its declared data_root (reported)."""
    cfg = load(path)
    if not dataset_roots(cfg):  # e.g. configs/inn/: a network, no data
        with pytest.raises(ValueError, match='no dataset with a data_root'):
            set_data_root(cfg, '/new_root')
        return
    left = set_data_root(cfg, '/new_root')
    moved = [r for r in roots(cfg) if r not in left]
    assert moved and all(
        r == '/new_root' or r.startswith('/new_root/') for r in moved)


def test_stale_inherited_root_falls_back_to_the_common_folder():
    # the InvCompress quick start inherits data_root='data/flicker' from
    # its base but reads demo/data/train and demo/data/val
    cfg = load('configs/invcompress/invcompress_quickstart.py')
    assert cfg.data_root == 'data/flicker'
    assert set_data_root(cfg, '/d') == []
    assert roots(cfg) == ['/d/train', '/d/val']


def test_named_datasets_are_renamed_after_their_new_folder():
    """``demo_val`` is the name of the bundled Kodak crops: results on other
    data must not carry it."""
    cfg = load('configs/irn/irn_x2_quickstart.py')
    assert cfg.val_dataloader.dataset.metainfo.dataset_name == 'demo_val'
    set_data_root(cfg, '/data/kodak')
    assert cfg.train_dataloader.dataset.metainfo.dataset_name == 'kodak_train'
    assert cfg.val_dataloader.dataset.metainfo.dataset_name == 'kodak_val'
    assert cfg.test_dataloader.dataset.metainfo.dataset_name == 'kodak_val'
    # a named benchmark folder keeps its own name; unnamed datasets stay
    # unnamed (they are named after their folder when built)
    cfg = Config(dict(
        data_root='data',
        val_dataloader=[
            dict(dataset=dict(type='ImageFolderDataset',
                              data_root='data/Set5',
                              metainfo=dict(dataset_name='Set5'))),
            dict(dataset=dict(type='ImageFolderDataset',
                              data_root='data/Set14')),
        ]))
    set_data_root(cfg, '/mnt/other_benchmarks')
    assert cfg.val_dataloader[0].dataset.metainfo.dataset_name == 'Set5'
    assert 'metainfo' not in cfg.val_dataloader[1].dataset


def test_folder_dataset_name():
    assert folder_dataset_name('/data/kodak/val') == 'kodak_val'
    assert folder_dataset_name('/data/bench/Set5/') == 'Set5'
    assert folder_dataset_name('my_clips/train') == 'my_clips_train'
    assert folder_dataset_name('/') == 'data'
