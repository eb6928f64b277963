# Copyright (c) invtoolbox contributors. All rights reserved.
"""Multi-image datasets (IICNet tasks) and their base configs."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from PIL import Image

from invtoolbox.datasets import (ImageGroupDataset, MultiFolderDataset,
                                 StereoPairDataset, VideoClipDataset)
from invtoolbox.errors import DataError
from invtoolbox.models.data_preprocessors import DataPreprocessor
from invtoolbox.registry import DATASETS
from tests.helpers import REPO_ROOT, shared_path

BASE = REPO_ROOT / 'configs' / '_base_' / 'datasets'
PACK = [dict(type='LoadImages'), dict(type='PackImages')]


def write_image(path, size=(8, 6), seed=0):
    """A random RGB image of ``size`` (H, W) written with Pillow."""
    array = np.random.default_rng(seed).integers(
        0, 256, size + (3, ), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return array


def write_frames(folder, count, size=(8, 6), pattern='{:05d}.png', start=0):
    for i in range(count):
        write_image(folder / pattern.format(i + start), size, seed=i)
    return folder


def one_line(err):
    message = str(err.value)
    assert '\n' not in message
    return message


# --------------------------------------------------------------------------
# VideoClipDataset
# --------------------------------------------------------------------------
def test_video_folders_on_the_shared_vimeo_septuplets():
    root = shared_path('data', 'video')
    dataset = VideoClipDataset(data_root=str(root), num_frames=5,
                               pipeline=PACK)
    assert len(dataset) == 5  # one centred clip per sequence
    info = dataset.get_data_info(0)
    assert info['key'] == 'vimeo_00001_0002'
    assert info['frame_indices'] == [1, 2, 3, 4, 5]
    assert [p.rsplit('/', 1)[1] for p in info['img_paths']] == [
        'im2.png', 'im3.png', 'im4.png', 'im5.png', 'im6.png']
    item = dataset[0]
    assert item['inputs'].shape == (5, 3, 256, 448)
    assert item['inputs'].dtype == torch.uint8
    frame = np.asarray(Image.open(root / 'vimeo_00001_0002' / 'im4.png'))
    assert np.array_equal(item['inputs'][2].permute(1, 2, 0).numpy(), frame)
    meta = item['data_samples'].metainfo
    assert meta['key'] == 'vimeo_00001_0002' and meta['sample_idx'] == 0
    assert meta['img_paths'] == info['img_paths']
    assert meta['ori_shape'] == (256, 448)
    # the data preprocessor batches samples into (N, K, 3, H, W) in [0, 1]
    batch = DataPreprocessor()(pseudo_collate([dataset[0], dataset[1]]))
    assert batch['inputs'].shape == (2, 5, 3, 256, 448)
    assert batch['inputs'].dtype == torch.float32
    assert torch.equal(batch['inputs'][0] * 255, item['inputs'].float())
    # every clip of 3 frames two apart, starting at every frame
    sliding = VideoClipDataset(data_root=str(root), num_frames=3,
                               frame_step=2, clip_step=1)
    assert len(sliding) == 5 * 3
    assert sliding.get_data_info(1)['frame_indices'] == [1, 3, 5]
    assert sliding.get_data_info(1)['key'] == 'vimeo_00001_0002/im2'


def test_video_vimeo_layout_with_and_without_list(tmp_path):
    for seq in ('00001/0001', '00001/0002', '00002/0001'):
        write_frames(tmp_path / 'sequences' / seq, 7, pattern='im{}.png',
                     start=1)
    (tmp_path / 'sep_testlist.txt').write_text('00001/0002\n\n00002/0001\n')
    every = VideoClipDataset(data_root=str(tmp_path), num_frames=7,
                             layout='vimeo')
    assert [every.get_data_info(i)['key'] for i in range(3)] == [
        '00001/0001', '00001/0002', '00002/0001']
    listed = DATASETS.build(
        dict(type='VideoClipDataset', data_root=str(tmp_path), num_frames=3,
             layout='vimeo', ann_file='sep_testlist.txt'))
    assert len(listed) == 2
    info = listed.get_data_info(0)
    assert info['clip_folder'] == '00001/0002'
    assert info['img_paths'][0].endswith('sequences/00001/0002/im3.png')
    with pytest.raises(FileNotFoundError, match='ann_file') as err:
        VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                         layout='vimeo', ann_file='missing.txt')
    one_line(err)


def test_video_davis_layout_clips_like_the_official_annotation(tmp_path):
    frames = tmp_path / 'JPEGImages' / '480p'
    write_frames(frames / 'bear', 12, pattern='{:05d}.jpg')
    write_frames(frames / 'cat', 11, pattern='{:05d}.jpg')
    write_frames(frames / 'dog', 13, pattern='{:05d}.jpg')
    dataset = VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                               layout='davis', frame_step=5, pipeline=PACK)
    # a clip spans 11 frames and starts at every frame that leaves room
    assert [dataset.get_data_info(i)['key'] for i in range(len(dataset))] == [
        'bear/00000', 'bear/00001', 'cat/00000', 'dog/00000', 'dog/00001',
        'dog/00002']
    assert dataset.get_data_info(1)['frame_indices'] == [1, 6, 11]
    odd = VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                           layout='davis', frame_step=5,
                           sequence_slice=(1, None, 2))
    assert {odd.get_data_info(i)['clip_folder']
            for i in range(len(odd))} == {'cat'}
    # a slice that keeps no sequence says so, with the count
    with pytest.raises(DataError) as info:
        VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                         layout='davis', frame_step=5,
                         sequence_slice=(5, None))
    assert one_line(info) == (
        f"VideoClipDataset: sequence_slice (5, None) of the 3 scenes in "
        f"'{frames}' leaves no sequence, so no clip; give a slice that "
        'keeps some of the 3 (indices 0 to 2) or add sequences')
    strided = VideoClipDataset(data_root=str(tmp_path), num_frames=2,
                               layout='davis', clip_step=4)
    assert [strided.get_data_info(i)['key'] for i in range(3)] == [
        'bear/00000', 'bear/00004', 'bear/00008']
    item = dataset[3]
    assert item['inputs'].shape == (3, 3, 8, 6)


def test_video_clip_with_too_few_frames_names_the_folder(tmp_path):
    write_frames(tmp_path / 'long', 7)
    write_frames(tmp_path / 'short', 4)
    with pytest.raises(ValueError, match='short') as err:
        VideoClipDataset(data_root=str(tmp_path), num_frames=5)
    assert 'has 4 frames, fewer than the 5' in one_line(err)
    with pytest.raises(ValueError, match='fewer than the 9') as err:
        VideoClipDataset(data_root=str(tmp_path), num_frames=5, frame_step=2,
                         ann_file=str(write_list(tmp_path, ['long'])))
    assert "long' has 7 frames" in one_line(err)


def write_list(tmp_path, names):
    path = tmp_path / 'list.txt'
    path.write_text('\n'.join(names))
    return path


def test_video_frames_of_different_sizes_name_the_folder(tmp_path):
    write_frames(tmp_path / 'good', 3)
    folder = write_frames(tmp_path / 'mixed', 3)
    write_image(folder / '00001.png', size=(10, 6))
    with pytest.raises(ValueError, match="clip folder '.*mixed'") as err:
        VideoClipDataset(data_root=str(tmp_path), num_frames=3)
    assert 'differ in size' in one_line(err) and '10x6' in str(err.value)
    # without the header check, LoadImages catches it when loading
    lazy = VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                            check_sizes=False, pipeline=PACK)
    with pytest.raises(ValueError, match='differ in size') as err:
        lazy[1]
    assert '00001.png' in one_line(err)


def test_video_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist') as err:
        VideoClipDataset(data_root=str(tmp_path / 'nowhere'), num_frames=3)
    assert 'data_root' in one_line(err)
    with pytest.raises(FileNotFoundError, match='JPEGImages/480p'):
        VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                         layout='davis')
    with pytest.raises(ValueError, match='no sequence folders found') as err:
        VideoClipDataset(data_root=str(tmp_path), num_frames=3)
    one_line(err)
    with pytest.raises(ValueError, match='layout must be one of'):
        VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                         layout='kitti')
    with pytest.raises(ValueError, match='frame_step must be a positive'):
        VideoClipDataset(data_root=str(tmp_path), num_frames=3, frame_step=0)
    with pytest.raises(ValueError, match='sequence_slice must be'):
        VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                         sequence_slice=(0, 'x'))
    write_list(tmp_path, ['absent'])
    with pytest.raises(FileNotFoundError, match="absent' .*does not exist"):
        VideoClipDataset(data_root=str(tmp_path), num_frames=3,
                         ann_file='list.txt')


# --------------------------------------------------------------------------
# StereoPairDataset
# --------------------------------------------------------------------------
def test_stereo_pairs_on_the_shared_middlebury_folders():
    root = shared_path('data', 'stereo')
    dataset = StereoPairDataset(data_root=str(root), pipeline=PACK)
    assert len(dataset) == 4
    assert dataset.get_data_info(0)['key'] == 'middlebury2003_cones'
    item = dataset[0]
    assert item['inputs'].shape == (2, 3, 375, 450)
    left = np.asarray(Image.open(root / 'middlebury2003_cones' / 'left.png'))
    right = np.asarray(Image.open(root / 'middlebury2003_cones' /
                                  'right.png'))
    assert np.array_equal(item['inputs'][0].permute(1, 2, 0).numpy(), left)
    assert np.array_equal(item['inputs'][1].permute(1, 2, 0).numpy(), right)


def test_stereo_flickr1024_flat_layout(tmp_path):
    for stem in ('0001', '0002'):
        write_image(tmp_path / f'{stem}_L.png', seed=1)
        write_image(tmp_path / f'{stem}_R.png', seed=2)
    dataset = DATASETS.build(
        dict(type='StereoPairDataset', data_root=str(tmp_path),
             left='{}_L.png', right='{}_R.png'))
    assert [dataset.get_data_info(i)['key'] for i in range(2)] == [
        '0001', '0002']
    paths = dataset.get_data_info(1)['img_paths']
    assert paths[0].endswith('0002_L.png') and paths[1].endswith(
        '0002_R.png')
    write_image(tmp_path / '0003_L.png')
    with pytest.raises(FileNotFoundError, match='0003_L.png') as err:
        StereoPairDataset(data_root=str(tmp_path), left='{}_L.png',
                          right='{}_R.png')
    assert '0003_R.png' in one_line(err)


def test_stereo_errors(tmp_path):
    write_image(tmp_path / 'pair_a' / 'left.png')
    write_image(tmp_path / 'pair_a' / 'right.png')
    write_image(tmp_path / 'pair_b' / 'left.png')
    with pytest.raises(FileNotFoundError, match='pair_b') as err:
        StereoPairDataset(data_root=str(tmp_path))
    assert "no right view 'right.png'" in one_line(err)
    with pytest.raises(FileNotFoundError, match='does not exist') as err:
        StereoPairDataset(data_root=str(tmp_path / 'nowhere'))
    one_line(err)
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no pair folder') as err:
        StereoPairDataset(data_root=str(tmp_path / 'empty'))
    one_line(err)
    with pytest.raises(ValueError, match='two templates'):
        StereoPairDataset(data_root=str(tmp_path), left='{}_L.png',
                          right='right.png')


# --------------------------------------------------------------------------
# MultiFolderDataset
# --------------------------------------------------------------------------
def test_multi_folder_matches_stems_across_extensions(tmp_path):
    for stem in ('a', 'b'):
        write_image(tmp_path / 'composite' / f'{stem}.png', seed=1)
        write_image(tmp_path / 'background' / f'{stem}.jpg', seed=2)
        write_image(tmp_path / 'foreground' / f'{stem}.png', seed=3)
    write_image(tmp_path / 'background' / 'extra.png')  # ignored
    dataset = MultiFolderDataset(data_root=str(tmp_path), pipeline=PACK)
    assert len(dataset) == 2
    info = dataset.get_data_info(1)
    assert info['key'] == 'b'
    assert [p.split('/')[-2:] for p in info['img_paths']] == [
        ['composite', 'b.png'], ['background', 'b.jpg'],
        ['foreground', 'b.png']]
    assert dataset[0]['inputs'].shape == (3, 3, 8, 6)
    two = MultiFolderDataset(data_root=str(tmp_path),
                             folders=('composite', 'foreground'))
    assert len(two.get_data_info(0)['img_paths']) == 2


def test_multi_folder_errors(tmp_path):
    write_image(tmp_path / 'composite' / 'a.png')
    write_image(tmp_path / 'composite' / 'b.png')
    write_image(tmp_path / 'background' / 'a.png')
    with pytest.raises(FileNotFoundError, match='b.png') as err:
        MultiFolderDataset(data_root=str(tmp_path),
                           folders=('composite', 'background'))
    assert "in folder 'background'" in one_line(err)
    with pytest.raises(FileNotFoundError, match="folder 'foreground'") as err:
        MultiFolderDataset(data_root=str(tmp_path))
    one_line(err)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        MultiFolderDataset(data_root=str(tmp_path / 'nowhere'))
    (tmp_path / 'empty' / 'x').mkdir(parents=True)
    (tmp_path / 'empty' / 'y').mkdir(parents=True)
    with pytest.raises(ValueError, match='no image') as err:
        MultiFolderDataset(data_root=str(tmp_path / 'empty'),
                           folders=('x', 'y'))
    one_line(err)
    with pytest.raises(ValueError, match='at least two distinct'):
        MultiFolderDataset(data_root=str(tmp_path), folders=('x', 'x'))


# --------------------------------------------------------------------------
# ImageGroupDataset
# --------------------------------------------------------------------------
def test_image_groups_are_deterministic(tmp_path):
    for i in range(7):
        write_image(tmp_path / f'{i:02d}.png', size=(8 + i, 8 + i))
    ordered = ImageGroupDataset(data_root=str(tmp_path), group_size=3,
                                seed=None)
    assert len(ordered) == 2  # the 7th image is left over
    assert [p[-6:] for p in ordered.get_data_info(1)['img_paths']] == [
        '03.png', '04.png', '05.png']
    assert ordered.get_data_info(1)['key'] == '03'
    shuffled = [
        ImageGroupDataset(data_root=str(tmp_path), group_size=3, seed=5)
        for _ in range(2)
    ]
    paths = [[d.get_data_info(i)['img_paths'] for i in range(2)]
             for d in shuffled]
    assert paths[0] == paths[1]
    other = ImageGroupDataset(data_root=str(tmp_path), group_size=3, seed=6)
    assert [other.get_data_info(i)['img_paths'] for i in range(2)] != \
        paths[0]
    big = ImageGroupDataset(data_root=str(tmp_path), group_size=1, seed=None,
                            min_size=12)
    assert [big.get_data_info(i)['key'] for i in range(len(big))] == [
        '04', '05', '06']
    sliced = ImageGroupDataset(data_root=str(tmp_path), group_size=1,
                               seed=None, group_slice=(5, None))
    assert len(sliced) == 2


def test_image_group_official_split(tmp_path):
    for i in range(20):
        write_image(tmp_path / f'{i:02d}.png')
    sizes = {
        split: len(ImageGroupDataset(data_root=str(tmp_path), group_size=2,
                                     seed=None, split=split))
        for split in ('train', 'val', 'test')
    }
    assert sizes == dict(train=7, val=1, test=2)  # round(10 * .7), ...


def test_image_group_errors(tmp_path):
    write_image(tmp_path / 'a.png')
    with pytest.raises(ValueError, match='fewer than one group of 2') as err:
        ImageGroupDataset(data_root=str(tmp_path), group_size=2)
    one_line(err)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ImageGroupDataset(data_root=str(tmp_path / 'nowhere'), group_size=1)
    with pytest.raises(ValueError, match='group_size must be'):
        ImageGroupDataset(data_root=str(tmp_path), group_size=0)
    with pytest.raises(ValueError, match='split must be'):
        ImageGroupDataset(data_root=str(tmp_path), group_size=1,
                          split='dev')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no image'):
        ImageGroupDataset(data_root=str(tmp_path / 'empty'), group_size=1)


# --------------------------------------------------------------------------
# Base dataset configs
# --------------------------------------------------------------------------
def load_base(name, **overrides):
    cfg = Config.fromfile(str(BASE / name))
    cfg.merge_from_dict(overrides)  # what --cfg-options does
    assert cfg.val_cfg.type == 'MultiValLoop'
    assert cfg.test_cfg.type == 'MultiTestLoop'
    return cfg


def build(dataset_cfg):
    with DefaultScope.overwrite_default_scope('invtoolbox'):
        return DATASETS.build(dataset_cfg)


def test_iicnet_video_config(tmp_path):
    for release in ('trainval', 'test-dev', 'test-challenge'):
        for scene in ('s1', 's2'):
            write_frames(tmp_path / f'DAVIS-2017-{release}' / 'JPEGImages' /
                         '480p' / scene, 21, size=(150, 160),
                         pattern='{:05d}.jpg')
    cfg = load_base('iicnet_video.py')
    assert cfg.train_dataloader.batch_size == 2
    roots = {
        'train_dataloader.dataset.datasets.0.data_root':
        str(tmp_path / 'DAVIS-2017-trainval'),
        'train_dataloader.dataset.datasets.1.data_root':
        str(tmp_path / 'DAVIS-2017-test-dev'),
        'val_dataloader.0.dataset.data_root':
        str(tmp_path / 'DAVIS-2017-test-dev'),
        'test_dataloader.0.dataset.data_root':
        str(tmp_path / 'DAVIS-2017-test-challenge'),
    }
    cfg.merge_from_dict(roots)
    train = build(cfg.train_dataloader.dataset)
    assert len(train) == 2 + 1  # s1, s2 of trainval + even test-dev s1
    assert train[0]['inputs'].shape == (5, 3, 144, 144)
    val = build(cfg.val_dataloader[0].dataset)
    assert len(val) == 1 and val[0]['inputs'].shape == (5, 3, 150, 160)
    test = build(cfg.test_dataloader[0].dataset)
    assert len(test) == 2 * 17  # step-1 clips start at 17 frames per scene


def test_iicnet_stereo_config(tmp_path):
    write_image(tmp_path / '0001_L.png', size=(150, 170))
    write_image(tmp_path / '0001_R.png', size=(152, 170))
    cfg = load_base('iicnet_stereo.py', **{
        'train_dataloader.dataset.data_root': str(tmp_path),
        'test_dataloader.0.dataset.data_root': str(tmp_path)
    })
    assert build(cfg.train_dataloader.dataset)[0]['inputs'].shape == (
        2, 3, 144, 144)
    # the official loader crops the views to their common size
    assert build(cfg.test_dataloader[0].dataset)[0]['inputs'].shape == (
        2, 3, 150, 170)


def test_iicnet_dual_view_config(tmp_path):
    write_image(tmp_path / '0001.png', size=(300, 292))
    cfg = load_base('iicnet_dual_view.py', **{
        'train_dataloader.dataset.data_root': str(tmp_path),
        'test_dataloader.0.dataset.data_root': str(tmp_path)
    })
    assert build(cfg.train_dataloader.dataset)[0]['inputs'].shape == (
        2, 3, 144, 144)
    assert build(cfg.test_dataloader[0].dataset)[0]['inputs'].shape == (
        2, 3, 150, 146)


def test_iicnet_composition_hiding_grayscale_configs(tmp_path):
    for folder in ('composite', 'background', 'foreground'):
        write_image(tmp_path / 'adobe' / folder / 'a.png', size=(40, 30))
    cfg = load_base('iicnet_composition.py', **{
        'train_dataloader.dataset.data_root': str(tmp_path / 'adobe'),
        'test_dataloader.0.dataset.data_root': str(tmp_path / 'adobe')
    })
    assert build(cfg.train_dataloader.dataset)[0]['inputs'].shape == (
        3, 3, 256, 256)
    assert build(cfg.test_dataloader[0].dataset)[0]['inputs'].shape == (
        3, 3, 20, 15)

    for i in range(20):
        write_image(tmp_path / 'flickr' / f'{i:02d}.png',
                    size=(576 + i, 580) if i != 3 else (500, 600), seed=i)
    cfg = load_base('iicnet_hiding.py')
    assert cfg.train_dataloader.dataset.group_size == 2
    datasets = {
        split: build(dict(loader.dataset, data_root=str(tmp_path / 'flickr')))
        for split, loader in (('train', cfg.train_dataloader),
                              ('test', cfg.test_dataloader[0]))
    }
    assert len(datasets['train']) == 6  # 19 usable images -> 9 groups
    assert datasets['train'][0]['inputs'].shape == (2, 3, 144, 144)
    assert datasets['test'][0]['inputs'].shape == (2, 3, 576, 576)

    for i in range(3):
        write_image(tmp_path / 'voc' / f'{i}.jpg', size=(150, 160))
    cfg = load_base('iicnet_grayscale.py', **{
        'train_dataloader.dataset.data_root': str(tmp_path / 'voc')
    })
    assert build(cfg.train_dataloader.dataset)[0]['inputs'].shape == (
        1, 3, 144, 144)


def test_image_group_dataset_empty_after_slicing(tmp_path):
    from invtoolbox.datasets import ImageGroupDataset
    root = tmp_path / 'imgs'
    root.mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / f'{i}.png')
    with pytest.raises(ValueError, match='none left after') as info:
        ImageGroupDataset(str(root), group_size=1, group_slice=(750, 800))
    assert '\n' not in str(info.value)
