# Copyright (c) invtoolbox contributors. All rights reserved.
"""MPIs in the official folder layout: files, dataset, transforms, and the
batch the novel-view model receives."""
import glob
import os
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from PIL import Image

from invtoolbox.datasets import (MPI_ID_LISTS, LoadMPIFromFolder,
                                 MPIFlip, MPIFolderDataset, MPIFolderError,
                                 MPIResizeCrop, PackMPIInputs,
                                 find_mpi_planes, read_mpi_folder,
                                 write_mpi_folder)
from invtoolbox.datasets import mpi_dataset
from invtoolbox.errors import DataError, InvToolboxError
from invtoolbox.models.data_preprocessors import DataPreprocessor
from invtoolbox.registry import DATASETS, TRANSFORMS
from invtoolbox.structures import DataSample

LOAD = [dict(type='LoadMPIFromFolder')]


def random_mpi(planes=3, size=(16, 32), seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, size + (3, ), dtype=np.uint8)
    mpi = rng.integers(0, 256, (planes, ) + size + (4, ), dtype=np.uint8)
    return ref, mpi


def write_frame(folder, planes=3, size=(16, 32), seed=0):
    ref, mpi = random_mpi(planes, size, seed)
    write_mpi_folder(str(folder), ref, mpi)
    return ref, mpi


def one_line(err):
    message = str(err.value)
    assert '\n' not in message
    return message


# --------------------------------------------------------------------------
# files of one frame
# --------------------------------------------------------------------------
def test_write_read_round_trip_in_the_official_layout(tmp_path):
    ref, mpi = write_frame(tmp_path / 'f', planes=12)
    names = sorted(os.listdir(tmp_path / 'f'))
    assert names == sorted(['src_image_0.png'] +
                           [f'mpi_rgb_{i:02d}.png' for i in range(12)] +
                           [f'mpi_alpha_{i:02d}.png' for i in range(12)])
    # what the official loader (PIL + np.array) reads from our files
    folder = str(tmp_path / 'f')
    rgb_paths = sorted(glob.glob(os.path.join(folder, 'mpi_rgb_*.png')))
    alpha_paths = sorted(glob.glob(os.path.join(folder, 'mpi_alpha_*.png')))
    assert np.array_equal(np.array(Image.open(f'{folder}/src_image_0.png')),
                          ref)
    for i, (rgb, alpha) in enumerate(zip(rgb_paths, alpha_paths)):
        assert np.array_equal(np.array(Image.open(rgb)), mpi[i, ..., :3])
        official_alpha = np.array(Image.open(alpha))
        assert official_alpha.ndim == 2  # 8-bit grey, one channel
        assert np.array_equal(official_alpha, mpi[i, ..., 3])
    # our reader: the official plane order
    ref_path, rgbs, alphas = find_mpi_planes(folder, 12)
    assert (rgbs, alphas) == (rgb_paths, alpha_paths)
    got_ref, got_mpi = read_mpi_folder(folder, num_planes=12)
    assert got_ref.dtype == got_mpi.dtype == np.uint8
    assert np.array_equal(got_ref, ref) and np.array_equal(got_mpi, mpi)
    assert not [n for n in os.listdir(folder) if n.startswith('.')]


def test_write_refuses_an_existing_mpi_and_overwrite_removes_old_planes(
        tmp_path):
    write_frame(tmp_path / 'f', planes=4)
    ref, mpi = random_mpi(planes=2, seed=1)
    with pytest.raises(MPIFolderError) as err:
        write_mpi_folder(str(tmp_path / 'f'), ref, mpi)
    assert 'overwrite=True' in one_line(err) and str(tmp_path) in str(
        err.value)
    write_mpi_folder(str(tmp_path / 'f'), ref, mpi, overwrite=True)
    assert len(os.listdir(tmp_path / 'f')) == 5  # planes 2 and 3 removed
    got_ref, got_mpi = read_mpi_folder(str(tmp_path / 'f'))
    assert np.array_equal(got_mpi, mpi)


def test_write_uses_more_digits_from_100_planes_and_checks_arrays(tmp_path):
    ref, mpi = random_mpi(planes=101, size=(8, 8))
    write_mpi_folder(str(tmp_path / 'f'), ref, mpi)
    assert (tmp_path / 'f' / 'mpi_rgb_100.png').exists()
    assert (tmp_path / 'f' / 'mpi_alpha_007.png').exists()
    assert np.array_equal(read_mpi_folder(str(tmp_path / 'f'))[1], mpi)
    with pytest.raises(ValueError, match='uint8'):
        write_mpi_folder(str(tmp_path / 'g'), ref.astype(np.float32), mpi)
    with pytest.raises(ValueError, match='reference size'):
        write_mpi_folder(str(tmp_path / 'g'), ref, mpi[:, :4])


def test_planes_are_ordered_by_number(tmp_path):
    """Unpadded numbers (mpi_rgb_2, mpi_rgb_10) sort by value, not text."""
    folder = tmp_path / 'f'
    folder.mkdir()
    cv2.imwrite(str(folder / 'src_image_0.png'), np.zeros((4, 4, 3),
                                                          np.uint8))
    for i in range(12):
        cv2.imwrite(str(folder / f'mpi_rgb_{i}.png'),
                    np.full((4, 4, 3), i, np.uint8))
        cv2.imwrite(str(folder / f'mpi_alpha_{i}.png'),
                    np.full((4, 4), 20 * i, np.uint8))
    # other files of a stereo-magnification output folder are ignored
    cv2.imwrite(str(folder / 'src_image_1.png'), np.zeros((4, 4, 3),
                                                          np.uint8))
    (folder / 'poses.txt').write_text('0 0 0')
    _, mpi = read_mpi_folder(str(folder), 12)
    assert mpi[:, 0, 0, 0].tolist() == list(range(12))
    assert mpi[:, 0, 0, 3].tolist() == [20 * i for i in range(12)]


BAD_FOLDERS = {
    'no reference': (lambda f: os.remove(f / 'src_image_0.png'),
                     "no reference image 'src_image_0.png'"),
    'no planes': (lambda f: [os.remove(p) for p in f.glob('mpi_*')],
                  'holds no plane'),
    'rgb without alpha': (lambda f: os.remove(f / 'mpi_alpha_01.png'),
                          "plane 1 has 'mpi_rgb_01.png' but no mpi_alpha_01"),
    'alpha without rgb': (lambda f: os.remove(f / 'mpi_rgb_02.png'),
                          "plane 2 has 'mpi_alpha_02.png' but no mpi_rgb_02"),
    'gap': (lambda f: [os.remove(f / 'mpi_rgb_01.png'),
                       os.remove(f / 'mpi_alpha_01.png')],
            'plane 1 is missing'),
    'not a png': (lambda f: os.rename(f / 'mpi_rgb_02.png',
                                      f / 'mpi_rgb_02.jpg'),
                  "'mpi_rgb_02.jpg' is not a plane image"),
    'not a number': (lambda f: (f / 'mpi_alpha_x.png').write_bytes(b''),
                     "'mpi_alpha_x.png' is not a plane image"),
    'duplicate': (lambda f: os.link(f / 'mpi_rgb_01.png',
                                    f / 'mpi_rgb_1.png'),
                  "'mpi_rgb_01.png' and 'mpi_rgb_1.png' are both plane 1"),
}


@pytest.mark.parametrize('case', sorted(BAD_FOLDERS))
def test_incomplete_frames_are_one_line_errors_naming_the_folder(
        tmp_path, case):
    write_frame(tmp_path / 'f')
    damage, expected = BAD_FOLDERS[case]
    damage(tmp_path / 'f')
    with pytest.raises(MPIFolderError) as err:
        find_mpi_planes(str(tmp_path / 'f'))
    assert expected in one_line(err)
    assert repr(str(tmp_path / 'f')) in str(err.value)
    assert isinstance(err.value, (InvToolboxError, ValueError))


def test_plane_count_and_missing_folder(tmp_path):
    write_frame(tmp_path / 'f', planes=3)
    with pytest.raises(MPIFolderError) as err:
        find_mpi_planes(str(tmp_path / 'f'), num_planes=32)
    assert 'holds 3 planes, expected num_planes=32' in one_line(err)
    with pytest.raises(FileNotFoundError) as err:
        find_mpi_planes(str(tmp_path / 'none'))
    assert 'does not exist' in one_line(err)


def test_unreadable_or_mismatched_files(tmp_path):
    write_frame(tmp_path / 'f')
    folder = tmp_path / 'f'
    # a plane of another size: the first such file and both sizes
    cv2.imwrite(str(folder / 'mpi_alpha_01.png'), np.zeros((16, 30),
                                                           np.uint8))
    with pytest.raises(MPIFolderError) as err:
        read_mpi_folder(str(folder))
    message = one_line(err)
    assert 'mpi_alpha_01.png' in message and '16x30' in message
    assert '16x32' in message and 'src_image_0.png' in message
    # a truncated PNG
    write_frame(tmp_path / 'g')
    data = (tmp_path / 'g' / 'mpi_rgb_02.png').read_bytes()
    (tmp_path / 'g' / 'mpi_rgb_02.png').write_bytes(data[:len(data) // 2])
    with pytest.raises(MPIFolderError) as err:
        read_mpi_folder(str(tmp_path / 'g'))
    assert 'cannot decode' in one_line(err) and 'mpi_rgb_02.png' in str(
        err.value)
    # 16-bit
    write_frame(tmp_path / 'h')
    cv2.imwrite(str(tmp_path / 'h' / 'mpi_rgb_00.png'),
                np.zeros((16, 32, 3), np.uint16))
    with pytest.raises(MPIFolderError, match='8-bit'):
        read_mpi_folder(str(tmp_path / 'h'))
    # an alpha with colour
    write_frame(tmp_path / 'i')
    colour = np.zeros((16, 32, 3), np.uint8)
    colour[..., 1] = 9
    cv2.imwrite(str(tmp_path / 'i' / 'mpi_alpha_00.png'), colour)
    with pytest.raises(MPIFolderError) as err:
        read_mpi_folder(str(tmp_path / 'i'))
    assert 'colour image' in one_line(err)


def test_grey_and_rgba_files(tmp_path):
    ref, mpi = write_frame(tmp_path / 'f')
    folder = tmp_path / 'f'
    grey = np.arange(16 * 32, dtype=np.uint8).reshape(16, 32)
    cv2.imwrite(str(folder / 'src_image_0.png'), grey)  # grey reference
    rgba = np.dstack([mpi[1, ..., 2::-1], np.full((16, 32), 7, np.uint8)])
    cv2.imwrite(str(folder / 'mpi_rgb_01.png'), rgba)  # BGRA: alpha dropped
    cv2.imwrite(str(folder / 'mpi_alpha_02.png'),  # a grey saved as RGB
                np.repeat(mpi[2, ..., 3:], 3, axis=2))
    got_ref, got_mpi = read_mpi_folder(str(folder))
    assert np.array_equal(got_ref, np.repeat(grey[..., None], 3, axis=2))
    assert np.array_equal(got_mpi, mpi)  # plane 1's alpha from its own file


# --------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------
def official_tree(root, videos, frames=('00000', ), planes=2,
                  split='test_final'):
    for v, video in enumerate(videos):
        for f, frame in enumerate(frames):
            write_frame(root / split / video / frame, planes=planes,
                        seed=10 * v + f)
    return root


def test_dataset_on_the_official_tree(tmp_path):
    official_tree(tmp_path, ['bbb', 'aaa'], frames=('00010', '00002'))
    data = MPIFolderDataset(str(tmp_path), split='test_final', num_planes=2,
                            pipeline=LOAD)
    assert len(data) == 4
    assert [data.get_data_info(i)['key'] for i in range(4)] == [
        'aaa/00002', 'aaa/00010', 'bbb/00002', 'bbb/00010']
    info = data.get_data_info(1)
    folder = str(tmp_path / 'test_final' / 'aaa' / '00010')
    assert info['frame_path'] == folder and info['video'] == 'aaa'
    assert info['img_path'] == os.path.join(folder, 'src_image_0.png')
    assert info['num_planes'] == 2 and info['sample_idx'] == 1
    assert data.metainfo['dataset_name'] == 'test_final'
    item = data[1]
    ref, mpi = read_mpi_folder(folder)
    assert np.array_equal(item['ref'], ref)
    assert np.array_equal(item['mpi'], mpi)
    assert item['ori_shape'] == (16, 32)
    assert DATASETS.get('MPIFolderDataset') is MPIFolderDataset


def test_dataset_layouts_without_split(tmp_path):
    official_tree(tmp_path, ['v1', 'v2'], frames=('0', '1'))
    split = tmp_path / 'test_final'
    keys = {}
    for name, root in (('videos', split), ('video', split / 'v2'),
                       ('frame', split / 'v2' / '1')):
        data = MPIFolderDataset(str(root), num_planes=2)
        keys[name] = [data.get_data_info(i)['key'] for i in range(len(data))]
    assert keys == dict(videos=['v1/0', 'v1/1', 'v2/0', 'v2/1'],
                        video=['v2/0', 'v2/1'], frame=['v2/1'])
    # the official root without split: say which split to choose
    with pytest.raises(DataError) as err:
        MPIFolderDataset(str(tmp_path), num_planes=2)
    message = one_line(err)
    assert 'no MPI frame found' in message and "split='test_final'" in message
    assert '<data_root>/<split>/<video>/<frame>/' in message


def test_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        MPIFolderDataset(str(tmp_path / 'none'))
    assert 'does not exist' in one_line(err)
    official_tree(tmp_path, ['v1'], planes=2)
    with pytest.raises(FileNotFoundError) as err:
        MPIFolderDataset(str(tmp_path), split='train')
    assert 'test_final' in one_line(err)  # the folders that are there
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match='no MPI frame found'):
        MPIFolderDataset(str(tmp_path / 'empty'))
    with pytest.raises(DataError) as err:  # 2 planes, 32 expected
        MPIFolderDataset(str(tmp_path), split='test_final')
    assert 'expected num_planes=32' in one_line(err)
    assert 'skip_incomplete=True' in str(err.value)
    with pytest.raises(ValueError, match='split'):
        MPIFolderDataset(str(tmp_path), split='a/b')


def test_incomplete_frames_are_skipped_with_one_log_line(
        tmp_path, monkeypatch):
    official_tree(tmp_path, ['v1', 'v2', 'v3'], planes=2)
    os.remove(tmp_path / 'test_final' / 'v2' / '00000' / 'mpi_alpha_01.png')
    (tmp_path / 'test_final' / 'v3' / 'notes').mkdir()
    with pytest.raises(DataError) as err:
        MPIFolderDataset(str(tmp_path), 'test_final', num_planes=2)
    message = one_line(err)
    assert '2 of the 4 frames' in message and 'v2' in message
    logged = []
    monkeypatch.setattr(mpi_dataset, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    data = MPIFolderDataset(str(tmp_path), 'test_final', num_planes=2,
                            skip_incomplete=True)
    assert [data.get_data_info(i)['key'] for i in range(len(data))] == [
        'v1/00000', 'v3/00000']
    assert len(logged) == 1 and 'left out 2 of the 4 frames' in logged[0]


def test_shipped_realestate10k_id_lists():
    hex16 = re.compile(r'^[0-9a-f]{16}$')
    counts = {}
    for name, path in MPI_ID_LISTS.items():
        with open(path) as handle:
            ids = handle.read().split()
        assert all(hex16.match(i) for i in ids)
        counts[name] = len(set(ids))
    assert counts == dict(realestate10k_train=48925, realestate10k_test=1500)
    readme = os.path.join(os.path.dirname(MPI_ID_LISTS['realestate10k_test']),
                          'README.md')
    assert 'MIT' in open(readme).read()


def test_id_filter(tmp_path, monkeypatch):
    test_ids = open(MPI_ID_LISTS['realestate10k_test']).read().split()
    train_ids = open(MPI_ID_LISTS['realestate10k_train']).read().split()
    official_tree(tmp_path, [test_ids[5], train_ids[0], test_ids[0]],
                  planes=2)
    logged = []
    monkeypatch.setattr(mpi_dataset, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    data = MPIFolderDataset(str(tmp_path), 'test_final', num_planes=2,
                            ids_file='realestate10k_test')
    assert sorted(data.get_data_info(i)['video'] for i in range(2)) == sorted(
        [test_ids[0], test_ids[5]]) and len(data) == 2
    assert len(logged) == 1 and '2 of the 3 video folders' in logged[0]
    # a list of our own, relative to data_root, with a comment
    (tmp_path / 'mine.txt').write_text(f'# mine\n{train_ids[0]}\n\n')
    data = MPIFolderDataset(str(tmp_path), 'test_final', num_planes=2,
                            ids_file='mine.txt')
    assert [data.get_data_info(0)['video']] == [train_ids[0]]
    assert len(data) == 1
    # one video folder given directly is filtered too
    with pytest.raises(DataError) as err:
        MPIFolderDataset(str(tmp_path / 'test_final' / train_ids[0]),
                         num_planes=2, ids_file='realestate10k_test')
    assert 'none of the 1 video folders' in one_line(err)
    with pytest.raises(FileNotFoundError) as err:
        MPIFolderDataset(str(tmp_path), 'test_final', ids_file='nope.txt')
    assert 'realestate10k_train' in one_line(err)


def test_dataloader_collates_two_samples(tmp_path):
    official_tree(tmp_path, ['a', 'b'], planes=3)
    data = MPIFolderDataset(
        str(tmp_path), 'test_final', num_planes=3,
        pipeline=LOAD + [dict(type='PackMPIInputs')])
    loader = torch.utils.data.DataLoader(data, batch_size=2,
                                         collate_fn=pseudo_collate)
    batch = next(iter(loader))
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 16, 32)] * 2
    samples = batch['data_samples']
    assert [s.key for s in samples] == ['a/00000', 'b/00000']
    assert [tuple(s.gt_mpi.shape) for s in samples] == [(3, 4, 16, 32)] * 2
    ref, mpi = read_mpi_folder(samples[1].frame_path)
    assert torch.equal(batch['inputs'][1],
                       torch.from_numpy(ref).permute(2, 0, 1) / 255.)


# --------------------------------------------------------------------------
# transforms
# --------------------------------------------------------------------------
def official_resize_crop(ref, rgbs, alphas, height, width, ratio):
    """``RealDataset.__getitem__`` of the official data/real_dataset.py
    (the numpy / cv2 part, same calls in the same order)."""
    random_reize_w = int(np.random.uniform(1.0, 1.0 + ratio) * width)
    random_reize_h = int(np.random.uniform(1.0, 1.0 + ratio) * height)
    if random_reize_w > width:
        random_crop_x_1 = np.random.randint(random_reize_w - width)
    else:
        random_crop_x_1 = 0
    if random_reize_h > height:
        random_crop_y_1 = np.random.randint(random_reize_h - height)
    else:
        random_crop_y_1 = 0
    x2, y2 = random_crop_x_1 + width, random_crop_y_1 + height

    def resize_crop(img):
        img = cv2.resize(img, (random_reize_w, random_reize_h))
        return img[random_crop_y_1:y2, random_crop_x_1:x2]

    return (resize_crop(ref), [resize_crop(r) for r in rgbs],
            [resize_crop(a) for a in alphas])


@pytest.mark.parametrize('ratio,size', [(0.2, (24, 20)), (0.0, (24, 20)),
                                        (0.2, (40, 60)), (0.5, 16)])
def test_resize_crop_is_the_official_one(ratio, size):
    ref, mpi = random_mpi(planes=4, size=(37, 45), seed=3)
    transform = MPIResizeCrop(size=size, max_resize_ratio=ratio)
    height, width = transform.size
    for seed in range(4):
        np.random.seed(seed)
        want_ref, want_rgb, want_alpha = official_resize_crop(
            ref, [np.ascontiguousarray(p[..., :3]) for p in mpi],
            [np.ascontiguousarray(p[..., 3]) for p in mpi], height, width,
            ratio)
        np.random.seed(seed)
        out = transform(dict(ref=ref, mpi=mpi))
        assert out['ref'].shape == (height, width, 3)
        assert np.array_equal(out['ref'], want_ref)
        assert np.array_equal(out['mpi'][..., :3], np.stack(want_rgb))
        assert np.array_equal(out['mpi'][..., 3], np.stack(want_alpha))
        top, left, h, w = out['crop_box']
        assert (h, w) == (height, width)
        if ratio == 0:  # the official test path: resized, not cropped
            assert out['resized_shape'] == (height, width)
            assert (top, left) == (0, 0)
            assert np.array_equal(out['ref'],
                                  cv2.resize(ref, (width, height)))


def test_resize_crop_applies_one_window_to_all():
    """Planes equal to the reference stay equal to it after the crop."""
    ref = np.random.default_rng(0).integers(0, 256, (30, 30, 3), np.uint8)
    mpi = np.repeat(np.dstack([ref, ref[..., :1]])[None], 5, axis=0)
    np.random.seed(1)
    out = MPIResizeCrop(16, 0.5)(dict(ref=ref, mpi=mpi))
    assert out['crop_box'][:2] != (0, 0)
    for plane in out['mpi']:
        assert np.array_equal(plane[..., :3], out['ref'])
        assert np.array_equal(plane[..., 3], out['ref'][..., 0])


def test_resize_crop_small_sources():
    ref, mpi = random_mpi(planes=2, size=(20, 20))
    results = dict(ref=ref, mpi=mpi, key='v/0')
    # needs 24x24 before a crop of 20 after a resize of up to 1.2
    assert MPIResizeCrop(20, 0.2, small_source='skip')(dict(results)) is None
    with pytest.raises(DataError) as err:
        MPIResizeCrop(20, 0.2, small_source='error')(dict(results))
    assert "'v/0' is 20x20" in one_line(err)
    out = MPIResizeCrop(20, 0.2)(dict(results))
    assert out['ref'].shape == (20, 20, 3)
    assert MPIResizeCrop(20, 0.0, small_source='skip')(dict(results))
    with pytest.raises(DataError, match='small_source'):
        MPIResizeCrop(20, small_source='pad')


def test_flip_mirrors_reference_and_planes_together():
    ref, mpi = random_mpi(planes=3, size=(4, 6))
    out = MPIFlip(flip_ratio=1.0)(dict(ref=ref, mpi=mpi))
    assert out['flip_horizontal'] is True
    assert np.array_equal(out['ref'], ref[:, ::-1])
    assert np.array_equal(out['mpi'], mpi[:, :, ::-1])
    out = MPIFlip(flip_ratio=0.0)(dict(ref=ref, mpi=mpi))
    assert np.array_equal(out['mpi'], mpi) and not out['flip_horizontal']
    with pytest.raises(DataError, match='LoadMPIFromFolder'):
        MPIFlip()(dict(ref=ref))


def test_pack_and_its_multiple_of_16_check(tmp_path):
    ref, mpi = write_frame(tmp_path / 'v' / 'f', planes=3, size=(16, 32))
    results = LoadMPIFromFolder(num_planes=3)(
        dict(frame_path=str(tmp_path / 'v' / 'f'), key='v/f', sample_idx=7))
    packed = PackMPIInputs()(dict(results))
    sample = packed['data_samples']
    assert packed['inputs'].dtype == sample.gt_mpi.dtype == torch.float32
    assert torch.equal(packed['inputs'],
                       torch.from_numpy(ref).permute(2, 0, 1).float() / 255)
    assert torch.equal(sample.gt_mpi,
                       torch.from_numpy(mpi).permute(0, 3, 1, 2).float() /
                       255)
    assert sample.key == 'v/f' and sample.sample_idx == 7
    assert sample.ori_shape == (16, 32)
    assert sample.img_path == str(tmp_path / 'v' / 'f' / 'src_image_0.png')
    cropped = dict(results, ref=ref[:, :20], mpi=mpi[:, :, :20])
    with pytest.raises(DataError) as err:
        PackMPIInputs()(dict(cropped))
    message = one_line(err)
    assert "sample 'v/f' is 16x20" in message and 'multiple of 16' in message
    assert 'MPIResizeCrop' in message
    assert PackMPIInputs(check_multiple=None)(dict(cropped))[
        'inputs'].shape == (3, 16, 20)
    assert PackMPIInputs(check_multiple=4)(dict(cropped))
    with pytest.raises(DataError, match='LoadMPIFromFolder'):
        PackMPIInputs()(dict(key='x'))
    with pytest.raises(DataError, match='frame_path'):
        LoadMPIFromFolder()(dict(key='x'))
    for name in ('LoadMPIFromFolder', 'MPIResizeCrop', 'MPIFlip',
                 'PackMPIInputs'):
        assert TRANSFORMS.get(name) is not None


@pytest.mark.parametrize('keep_uint8', [False, True])
def test_data_preprocessor_gives_the_official_ranges(tmp_path, keep_uint8):
    """The novel-view model's preprocessor turns the packed batch into the
    official tensors: ref and plane RGB through ToTensor + Normalize(0.5,
    0.5), alpha through ToTensor (data/real_dataset.py)."""
    official_tree(tmp_path, ['a', 'b'], planes=3)
    data = MPIFolderDataset(
        str(tmp_path), 'test_final', num_planes=3,
        pipeline=LOAD + [dict(type='PackMPIInputs', keep_uint8=keep_uint8)])
    batch = pseudo_collate([data[0], data[1]])
    if keep_uint8:
        assert batch['inputs'][0].dtype == torch.uint8
    preprocessor = DataPreprocessor(
        mean=0.5, std=0.5, sample_fields=('gt_mpi', ),
        per_field=dict(gt_mpi=dict(mean=(0.5, 0.5, 0.5, 0.0),
                                   std=(0.5, 0.5, 0.5, 1.0))))
    out = preprocessor(batch)
    assert out['inputs'].shape == (2, 3, 16, 32)
    assert DataSample.stack(out['data_samples'],
                            'gt_mpi').shape == (2, 3, 4, 16, 32)
    for i, sample in enumerate(out['data_samples']):
        ref, mpi = read_mpi_folder(sample.frame_path)
        to_tensor = torch.from_numpy(ref).permute(2, 0, 1).float().div(255)
        assert torch.equal(out['inputs'][i], (to_tensor - 0.5) / 0.5)
        assert sample.gt_mpi.shape == (3, 4, 16, 32)
        for p in range(3):
            rgb = torch.from_numpy(mpi[p, ..., :3]).permute(2, 0, 1)
            alpha = torch.from_numpy(mpi[p, ..., 3])[None]
            assert torch.equal(sample.gt_mpi[p, :3],
                               (rgb.float().div(255) - 0.5) / 0.5)
            assert torch.equal(sample.gt_mpi[p, 3:], alpha.float().div(255))
        assert sample.gt_mpi[:, 3].min() >= 0
        low, high = sample.get_value_range('gt_mpi')
        assert low == (-1.0, -1.0, -1.0, 0.0) and high == (1.0, ) * 4
    sample = out['data_samples'][0]
    restored = preprocessor.destruct(sample.gt_mpi, field='gt_mpi')
    mpi = read_mpi_folder(sample.frame_path)[1]
    assert torch.allclose(restored,
                          torch.from_numpy(mpi).permute(0, 3, 1, 2) / 255.,
                          atol=1e-6)
