# Copyright (c) invtoolbox contributors. All rights reserved.
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from invtoolbox.datasets import FiveKRAWDataset, RAWFolderDataset
from invtoolbox.datasets.fivek_raw_dataset import read_split
from invtoolbox.datasets.raw import render_srgb_target, targets
from invtoolbox.errors import DataError, RawFormatError
from invtoolbox.registry import TRANSFORMS
from tests.datasets.raw.tiny_dng import bayer_image, write_test_dng
from tests.helpers import shared_path


@pytest.fixture
def kdc(tmp_path):
    path = tmp_path / 'kodak.kdc'
    shutil.copy(shared_path('data', 'raw', 'RAW_KODAK_DC50.KDC'), path)
    return str(path)


def test_target_rendered_once_and_cached(kdc, tmp_path, monkeypatch):
    calls = []
    render = targets._render
    monkeypatch.setattr(targets, '_render',
                        lambda p: calls.append(p) or render(p))
    jpeg = render_srgb_target(kdc)
    assert jpeg.startswith(str(tmp_path / '.invtoolbox_srgb'))
    with Image.open(jpeg) as img:
        assert img.format == 'JPEG' and img.size == (768, 512)
        # Pillow subsampling=1 (4:2:2): luma 2x1, chroma 1x1 sampling
        assert img.layer[0][1:3] == (2, 1)
    assert render_srgb_target(kdc) == jpeg and len(calls) == 1
    # the same pixels LibRaw renders (JPEG q90 error only)
    import rawpy
    with rawpy.imread(kdc) as raw:
        ref = raw.postprocess(use_camera_wb=True, no_auto_bright=True)
    diff = np.abs(np.asarray(Image.open(jpeg), np.float64) - ref).mean()
    assert diff < 3
    # a replaced RAW gets a new target
    data = open(kdc, 'rb').read()
    with open(kdc, 'wb') as handle:
        handle.write(data + b'\0')
    assert render_srgb_target(kdc) != jpeg and len(calls) == 2
    assert not [n for n in os.listdir(
        tmp_path / '.invtoolbox_srgb') if n.startswith('.tmp')]


def test_target_cache_dir_and_errors(tmp_path):
    dng = write_test_dng(str(tmp_path / 'a.dng'), bayer_image(), orientation=6)
    out = render_srgb_target(dng, cache_dir=str(tmp_path / 'cache'))
    assert out.startswith(str(tmp_path / 'cache'))
    assert Image.open(out).size == (64, 96)  # oriented like apply_flip
    with pytest.raises(FileNotFoundError, match='nope.dng'):
        render_srgb_target(tmp_path / 'nope.dng')
    bad = write_test_dng(str(tmp_path / 'b.dng'), bayer_image(), neutral=None)
    with pytest.raises(RawFormatError, match='white balance'):
        render_srgb_target(bad)


def pipeline(cache):
    return [TRANSFORMS.build(t) for t in [
        dict(type='LoadRAWFromFile'),
        dict(type='LoadSRGBTarget', cache_dir=cache),
        dict(type='PairedRandomCrop', gt_patch_size=32, scale=1,
             keys=('gt', 'raw')),
        dict(type='RandomRot90Flip'),
        dict(type='PackInputs', input_key='raw', fields=dict(gt='gt_img')),
    ]]


def test_transforms_on_rotated_dng(tmp_path):
    dng = write_test_dng(str(tmp_path / 'a.dng'), bayer_image(), orientation=6)
    results = dict(raw_path=dng)
    for t in pipeline(str(tmp_path / 'c'))[:2]:
        results = t(results)
    assert results['raw'].shape == results['gt'].shape == (96, 64, 3)
    assert results['raw'].dtype == results['gt'].dtype == np.float32
    assert results['raw_meta']['flip'] == 6
    np.random.seed(0)
    for t in pipeline(str(tmp_path / 'c'))[2:]:
        results = t(results)
    assert results['inputs'].shape == (3, 32, 32)
    assert results['data_samples'].gt_img.shape == (3, 32, 32)


def test_random_rot90_flip_is_official_and_paired():
    t = TRANSFORMS.build(dict(type='RandomRot90Flip'))
    img = np.arange(4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3)
    seen = set()
    for seed in range(20):
        np.random.seed(seed)
        k, axis = np.random.randint(4), np.random.randint(2)
        np.random.seed(seed)
        out = t(dict(raw=img, gt=img + 1))
        expected = np.flip(np.rot90(img, k), axis=axis)
        np.testing.assert_array_equal(out['raw'], expected)
        np.testing.assert_array_equal(out['gt'], expected + 1)
        seen.add(out['raw'].tobytes())
    assert len(seen) == 4  # always a reflection: 4 distinct results


def test_crop_too_small_and_no_raw_path(tmp_path):
    crop = TRANSFORMS.build(dict(type='PairedRandomCrop', gt_patch_size=256,
                                 scale=1, keys=('gt', 'raw')))
    img = np.zeros((64, 96, 3), np.float32)
    with pytest.raises(ValueError, match='smaller than the 256x256'):
        crop(dict(gt=img, raw=img))
    with pytest.raises(ValueError, match='raw_path'):
        TRANSFORMS.build(dict(type='LoadRAWFromFile'))(dict(gt_path='x'))


def test_target_size_mismatch(tmp_path):
    dng = write_test_dng(str(tmp_path / 'a.dng'), bayer_image())
    load = TRANSFORMS.build(dict(type='LoadSRGBTarget', max_size_diff=2))
    out = load(dict(raw_path=dng, raw=np.zeros((66, 95, 3), np.float32)))
    assert out['raw'].shape == out['gt'].shape == (64, 95, 3)
    with pytest.raises(DataError, match='64x96 but its RAW is 80x96'):
        load(dict(raw_path=dng, raw=np.zeros((80, 96, 3), np.float32)))


def test_official_split_sizes():
    sizes = {(c, s): len(read_split(c, s)) for c in ('nikon', 'canon')
             for s in ('train', 'test')}
    assert sizes == {('nikon', 'train'): 414, ('nikon', 'test'): 73,
                     ('canon', 'train'): 650, ('canon', 'test'): 127}
    assert read_split('nikon', 'train')[0] == 'a2754-_DSC7455'
    with pytest.raises(ValueError, match='camera'):
        read_split('sony', 'train')


def test_fivek_dataset(tmp_path):
    names = read_split('nikon', 'test')
    data = bayer_image()
    for name in names[:-2]:
        write_test_dng(str(tmp_path / f'{name}.dng'), data)
    with pytest.raises(DataError, match='2 of the 73 nikon test DNGs'):
        FiveKRAWDataset(str(tmp_path), camera='nikon', split='test')
    for name in names[-2:]:
        write_test_dng(str(tmp_path / f'{name}.DNG'), data)
    ds = FiveKRAWDataset(str(tmp_path), camera='nikon', split='test',
                         pipeline=[dict(type='LoadRAWFromFile')])
    assert len(ds) == 73 and ds.get_data_info(0)['key'] == names[0]
    assert ds[0]['raw'].shape == (64, 96, 3)


def test_raw_folder_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        RAWFolderDataset(str(tmp_path / 'none'))
    (tmp_path / 'x.png').write_bytes(b'png')
    with pytest.raises(DataError, match='no camera RAW'):
        RAWFolderDataset(str(tmp_path))
    for name in ('b.DNG', 'a.dng', '.hidden.dng'):
        write_test_dng(str(tmp_path / name), bayer_image())
    ds = RAWFolderDataset(str(tmp_path))
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))] == ['a', 'b']
    (tmp_path / 'list.txt').write_text('b.DNG\n\nmissing.dng\n')
    with pytest.raises(DataError, match='1 of the 2 .*missing.dng'):
        RAWFolderDataset(str(tmp_path), ann_file='list.txt')
