# Copyright (c) invtoolbox contributors. All rights reserved.
"""write_dng: DNG files that LibRaw (rawpy) reads back exactly."""
import os

import numpy as np
import pytest

from invtoolbox.datasets.raw.dng import XYZ_TO_SRGB, write_dng
from invtoolbox.datasets.raw.metadata import CFA_PATTERNS, RawMetadata
from tests.helpers import shared_path

rawpy = pytest.importorskip('rawpy')
tifffile = pytest.importorskip('tifffile')


def _cfa_of(raw) -> str:
    """The row-major 2x2 pattern LibRaw reports."""
    desc = raw.color_desc.decode()
    return ''.join(desc[i] for i in raw.raw_pattern.ravel())


def _site_black(raw) -> list:
    """LibRaw's per-colour black levels, back in row-major CFA order."""
    return [raw.black_level_per_channel[i] for i in raw.raw_pattern.ravel()]


def _meta(cfa, flip=0, matrix=None):
    return RawMetadata(cfa=cfa, black_level=(60.0, 61.0, 62.0, 63.0),
                       white_level=4095, wb=(2.25, 1.0, 1.5), flip=flip,
                       color_matrix=matrix, camera='Acme Cam 1')


@pytest.mark.parametrize('cfa,flip', list(zip(CFA_PATTERNS, (0, 3, 5, 6))))
def test_round_trip_through_rawpy(tmp_path, cfa, flip):
    rng = np.random.default_rng(CFA_PATTERNS.index(cfa))
    bayer = rng.integers(0, 4096, (24, 30), dtype=np.uint16)
    matrix = tuple(rng.uniform(-1, 2, 9))
    path = write_dng(str(tmp_path / 'a.dng'), bayer, _meta(cfa, flip, matrix))
    with rawpy.imread(path) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, bayer)
        assert raw.raw_image_visible.dtype == np.uint16
        assert _cfa_of(raw) == cfa
        assert _site_black(raw) == [60, 61, 62, 63]
        assert raw.white_level == 4095
        np.testing.assert_allclose(raw.camera_whitebalance[:3],
                                   (2.25, 1.0, 1.5), rtol=1e-5)
        assert raw.sizes.flip == flip
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        stored = np.asarray(tags['ColorMatrix1'].value, float).reshape(9, 2)
        np.testing.assert_allclose(stored[:, 0] / stored[:, 1], matrix,
                                   atol=1e-6)
        assert tags['UniqueCameraModel'].value == 'Acme Cam 1'
        assert tags['CalibrationIlluminant1'].value == 21
        assert bytes(tags['DNGVersion'].value) == b'\x01\x04\x00\x00'


def test_default_matrix_is_srgb(tmp_path):
    bayer = np.zeros((24, 24), np.uint16)
    path = write_dng(str(tmp_path / 'a.dng'), bayer, _meta('RGGB'))
    with tifffile.TiffFile(path) as tif:
        stored = np.asarray(tif.pages[0].tags['ColorMatrix1'].value,
                            float).reshape(9, 2)
    np.testing.assert_allclose(stored[:, 0] / stored[:, 1], XYZ_TO_SRGB,
                               atol=1e-6)


@pytest.mark.parametrize('cfa', CFA_PATTERNS)
def test_postprocess_keeps_a_grey_ramp_grey(tmp_path, cfa):
    """A neutral ramp (camera RGB = grey / wb) renders to a neutral ramp."""
    wb = (2.0, 1.0, 1.6)
    height, width, black, white = 24, 64, 64, 4095
    ramp = np.tile(np.linspace(0.05, 0.9, width), (height, 1))
    signal = np.empty_like(ramp)
    for site, letter in enumerate(cfa):
        i, j = divmod(site, 2)
        signal[i::2, j::2] = ramp[i::2, j::2] / wb['RGB'.index(letter)]
    bayer = np.round(black + signal * (white - black)).astype(np.uint16)
    meta = RawMetadata(cfa=cfa, black_level=(black, ) * 4, white_level=white,
                       wb=wb, color_matrix=(0.8139, -0.2171, -0.0663,
                                            -0.8747, 1.6541, 0.2295,
                                            -0.1925, 0.2008, 0.8093))
    path = write_dng(str(tmp_path / 'ramp.dng'), bayer, meta)
    with rawpy.imread(path) as raw:
        rgb = raw.postprocess(use_camera_wb=True, no_auto_bright=True,
                              output_bps=16, gamma=(1, 1)).astype(float)
    columns = rgb[4:-4, 4:-4].mean(axis=0)  # (W - 8, 3), off the borders
    spread = (columns.max(axis=1) - columns.min(axis=1)) / columns.mean(1)
    assert spread.max() < 0.02, spread.max()
    grey = columns.mean(axis=1)
    assert np.all(np.diff(grey) > 0)
    slope = grey / ramp[0, 4:-4]  # linear output (gamma 1): constant
    np.testing.assert_allclose(slope, np.median(slope), rtol=0.03)


def test_real_raw_round_trip(tmp_path):
    """The Kodak DC50's mosaic and metadata survive a DNG round trip."""
    kdc = shared_path('data', 'raw', 'RAW_KODAK_DC50.KDC')
    with rawpy.imread(str(kdc)) as raw:
        bayer = raw.raw_image_visible.copy()
        meta = RawMetadata(cfa=_cfa_of(raw),
                           black_level=tuple(_site_black(raw)),
                           white_level=int(raw.white_level),
                           wb=tuple(raw.camera_whitebalance[:3]),
                           flip=raw.sizes.flip, camera='Kodak DC50')
    path = write_dng(str(tmp_path / 'kodak.dng'), bayer, meta)
    assert os.path.getsize(path) < bayer.nbytes + 4096
    with rawpy.imread(path) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, bayer)
        assert _cfa_of(raw) == 'GRBG' == meta.cfa
        assert raw.white_level == 16383
        assert raw.postprocess(use_camera_wb=True).shape == (512, 768, 3)


def test_same_input_same_bytes(tmp_path):
    bayer = np.arange(576, dtype=np.uint16).reshape(24, 24)
    a = write_dng(str(tmp_path / 'a.dng'), bayer, _meta('BGGR'))
    b = write_dng(str(tmp_path / 'b.dng'), bayer, _meta('BGGR'))
    assert open(a, 'rb').read() == open(b, 'rb').read()


def test_existing_file_needs_overwrite(tmp_path):
    path = str(tmp_path / 'a.dng')
    write_dng(path, np.zeros((24, 24), np.uint16), _meta('RGGB'))
    before = open(path, 'rb').read()
    with pytest.raises(FileExistsError, match='overwrite=True'):
        write_dng(path, np.ones((24, 24), np.uint16), _meta('RGGB'))
    assert open(path, 'rb').read() == before
    write_dng(path, np.ones((24, 24), np.uint16), _meta('RGGB'),
              overwrite=True)
    with rawpy.imread(path) as raw:
        assert raw.raw_image_visible.max() == 1
    assert os.listdir(tmp_path) == ['a.dng']  # no temporary file left


@pytest.mark.parametrize('bayer,match', [
    (np.zeros((25, 24), np.uint16), 'even height and width'),
    (np.zeros((20, 24), np.uint16), 'smaller than 22x22'),
    (np.zeros((24, 24, 3), np.uint16), '2-D'),
    (np.zeros((24, 24), np.float32), 'uint16'),
    (np.full((24, 24), 4096, np.uint16), 'exceed the white level 4095'),
])
def test_bad_input_is_one_line_value_error(tmp_path, bayer, match):
    path = str(tmp_path / 'bad.dng')
    with pytest.raises(ValueError, match=match) as info:
        write_dng(path, bayer, _meta('RGGB'))
    assert 'bad.dng' in str(info.value) and '\n' not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_missing_folder_and_compression(tmp_path):
    bayer = np.zeros((24, 24), np.uint16)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        write_dng(str(tmp_path / 'no' / 'a.dng'), bayer, _meta('RGGB'))
    with pytest.raises(ValueError, match='compression'):
        write_dng(str(tmp_path / 'a.dng'), bayer, _meta('RGGB'),
                  compression='deflate')
    assert os.listdir(tmp_path) == []


def test_read_raw_gives_back_what_write_dng_wrote(tmp_path):
    """The reader and the writer agree on every field of RawMetadata,
    ColorMatrix1 included (LibRaw reports zeros for it)."""
    import numpy as np

    from invtoolbox.datasets.raw import (RawMetadata, read_raw,
                                         write_dng)
    rng = np.random.default_rng(0)
    for cfa, flip in (('RGGB', 0), ('GRBG', 6), ('BGGR', 3), ('GBRG', 5)):
        meta = RawMetadata(
            cfa=cfa, black_level=(60., 61., 62., 63.), white_level=4095,
            wb=(2.0, 1.0, 1.5), flip=flip,
            color_matrix=(0.8, -0.2, -0.1, -0.9, 1.7, 0.2, -0.2, 0.2, 0.8),
            camera='test camera')
        bayer = rng.integers(60, 4096, (32, 48), dtype=np.uint16)
        path = tmp_path / f'{cfa}.dng'
        write_dng(path, bayer, meta)
        got_bayer, got = read_raw(path)
        assert np.array_equal(got_bayer, bayer)
        assert (got.cfa, got.black_level, got.white_level, got.flip) == (
            cfa, meta.black_level, 4095, flip)
        assert np.allclose(np.array(got.wb) / got.wb[1], meta.wb, rtol=1e-4)
        assert np.allclose(got.color_matrix, meta.color_matrix, atol=1e-4)
