# Copyright (c) invtoolbox contributors. All rights reserved.
from types import SimpleNamespace

import numpy as np
import pytest
import rawpy

from invtoolbox.datasets.raw import CFA_PATTERNS, is_raw_file, read_raw
from invtoolbox.datasets.raw.io import _metadata_and_bayer
from invtoolbox.errors import RawFormatError
from tests.datasets.raw.tiny_dng import bayer_image, write_test_dng
from tests.helpers import shared_path


def kdc_path():
    return shared_path('data', 'raw', 'RAW_KODAK_DC50.KDC')


def test_read_kodak_kdc_matches_its_readme():
    bayer, meta = read_raw(kdc_path())
    assert bayer.shape == (512, 768) and bayer.dtype == np.uint16
    assert (int(bayer.min()), int(bayer.max())) == (23, 16383)
    assert meta.cfa == 'GRBG'  # raw_pattern [[1,0],[2,3]], desc RGBG
    assert meta.black_level == (0, 0, 0, 0) and meta.white_level == 16383
    assert meta.wb == (1.0, 1.0, 1.0) and meta.flip == 0
    assert meta.color_matrix is None  # LibRaw reports all zeros
    assert 'DC50' in meta.camera


@pytest.mark.parametrize('cfa', CFA_PATTERNS)
def test_read_dng_pattern_levels_and_pixels(tmp_path, cfa):
    data = bayer_image()
    path = write_test_dng(str(tmp_path / 'a.dng'), data, cfa=cfa,
                          black=(64, 65, 66, 67), neutral=(0.5, 1.0, 0.8))
    bayer, meta = read_raw(path)
    np.testing.assert_array_equal(bayer, data)
    assert meta.cfa == cfa
    assert meta.black_level == (64, 65, 66, 67)  # row-major site order
    assert meta.white_level == 4095
    np.testing.assert_allclose(meta.wb, (2.0, 1.0, 1.25), rtol=1e-4)
    assert meta.camera == 'TestMake TestModel'


def test_read_dng_orientation(tmp_path):
    path = write_test_dng(str(tmp_path / 'r.dng'), bayer_image(),
                          orientation=6)
    assert read_raw(path)[1].flip == 6


def test_read_returns_a_copy(tmp_path):
    path = write_test_dng(str(tmp_path / 'a.dng'), bayer_image())
    first, _ = read_raw(path)
    first[:] = 0  # writable, and not LibRaw's (freed) buffer
    second, _ = read_raw(path)
    assert second.any()


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.dng.*does not exist'):
        read_raw(tmp_path / 'nope.dng')
    with pytest.raises(FileNotFoundError, match='not a file'):
        read_raw(tmp_path)


@pytest.mark.parametrize('content', [b'hello, not a raw\n' * 50, None])
def test_not_a_raw_file(tmp_path, content):
    path = tmp_path / 'fake.dng'
    if content is None:  # a real PNG named .dng
        from PIL import Image
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(path, 'PNG')
    else:
        path.write_bytes(content)
    with pytest.raises(RawFormatError, match='fake.dng') as info:
        read_raw(path)
    assert '\n' not in str(info.value)


def test_truncated_kdc(tmp_path):
    data = kdc_path().read_bytes()
    path = tmp_path / 'half.kdc'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(RawFormatError, match='half.kdc.*truncated'):
        read_raw(path)


def test_truncated_dng(tmp_path):
    full = write_test_dng(str(tmp_path / 'full.dng'), bayer_image())
    data = open(full, 'rb').read()
    cut = tmp_path / 'cut.dng'
    cut.write_bytes(data[:int(len(data) * 0.9)])
    with pytest.raises(RawFormatError, match='truncated'):
        read_raw(cut)


def test_linear_dng_is_not_bayer(tmp_path):
    data = np.random.default_rng(1).integers(0, 4000, (64, 96, 3))
    path = write_test_dng(str(tmp_path / 'lin.dng'), data.astype(np.uint16),
                          linear=True)
    with pytest.raises(RawFormatError, match='lin.dng.*not a Bayer'):
        read_raw(path)


def test_odd_size(tmp_path):
    path = write_test_dng(str(tmp_path / 'odd.dng'), bayer_image()[:63, :95])
    with pytest.raises(RawFormatError, match='63x95.*even'):
        read_raw(path)


def test_missing_white_balance(tmp_path):
    path = write_test_dng(str(tmp_path / 'nowb.dng'), bayer_image(),
                          neutral=None)
    # what LibRaw reports for a DNG without AsShotNeutral
    with rawpy.imread(path) as raw:
        assert list(raw.camera_whitebalance)[:3] == [0.0, 1.0, 0.0]
    with pytest.raises(RawFormatError, match='nowb.dng.*white balance'):
        read_raw(path)


def fake_raw(**overrides):
    """A stand-in for rawpy.RawPy for sensors we have no file of."""
    fields = dict(
        raw_type=rawpy.RawType.Flat,
        raw_pattern=np.array([[0, 1], [3, 2]]),
        color_desc=b'RGBG',
        raw_image_visible=np.full((8, 8), 500, np.uint16),
        white_level=4095,
        black_level_per_channel=[10, 20, 30, 40],
        camera_whitebalance=[2.0, 1.0, 1.5, 0.0],
        sizes=SimpleNamespace(flip=0),
        rgb_xyz_matrix=np.zeros((4, 3)))
    fields.update(overrides)
    return SimpleNamespace(**fields)


def test_fake_raw_black_levels_reordered_to_sites():
    _, meta = _metadata_and_bayer('x.raw', fake_raw())
    # RGGB, color indices [[0,1],[3,2]]: sites R, G, G2, B
    assert meta.cfa == 'RGGB' and meta.black_level == (10, 20, 40, 30)


@pytest.mark.parametrize('overrides, match', [
    (dict(raw_pattern=np.zeros((6, 6), int)), '6x6.*X-Trans'),
    (dict(raw_type=rawpy.RawType.Stack), 'not a Bayer'),
    (dict(raw_pattern=None), 'no colour filter'),
    (dict(color_desc=b'CMYG'), 'not a Bayer layout'),
    (dict(raw_pattern=np.array([[0, 0], [2, 2]])), 'not a Bayer layout'),
    (dict(raw_image_visible=np.zeros((8, 8, 3), np.uint16)), 'not a 2-D'),
    (dict(raw_image_visible=np.zeros((8, 8), np.uint16)), 'all-zero'),
    (dict(raw_image_visible=np.concatenate(
        [np.full((6, 8), 500), np.zeros((2, 8))]).astype(np.uint16)),
     'bottom 2 rows all zero'),
    (dict(camera_whitebalance=[0.0, 0.0, 0.0, 0.0]), 'white balance'),
    (dict(camera_whitebalance=[np.nan, 1.0, 1.0, 0.0]), 'white balance'),
    (dict(white_level=30), 'white level'),
    (dict(sizes=SimpleNamespace(flip=2)), 'flip=2'),
])
def test_fake_raw_rejections(overrides, match):
    with pytest.raises(RawFormatError, match=match):
        _metadata_and_bayer('x.raw', fake_raw(**overrides))


def test_is_raw_file():
    assert is_raw_file('a.DNG') and is_raw_file('b.kdc')
    assert not is_raw_file('c.png') and not is_raw_file('dng')
