# Copyright (c) invtoolbox contributors. All rights reserved.
"""SyntheticCamera (Brooks et al. unprocessing) and SyntheticRAWDataset."""
import os

import cv2
import numpy as np
import pytest

from invtoolbox.datasets.raw.metadata import CFA_PATTERNS, RawMetadata
from invtoolbox.datasets.raw.synthetic import (SyntheticCamera,
                                               camera_to_srgb,
                                               process_linear,
                                               unprocess_linear)
from invtoolbox.registry import DATASETS

rawpy = pytest.importorskip('rawpy')


def _meta(camera='canon_eos_5d'):
    return SyntheticCamera(camera=camera).metadata(
        SyntheticCamera(camera=camera).draw(7))


@pytest.mark.parametrize('camera', ['nikon_d700', 'canon_eos_5d', 'random'])
def test_linear_pipeline_inverse_pairs(camera):
    meta = _meta(camera)
    srgb = np.random.default_rng(0).uniform(0.05, 0.95, (3, 16, 16))
    cam = unprocess_linear(srgb, meta)
    np.testing.assert_allclose(process_linear(cam, meta), srgb, atol=1e-6)
    # from the metadata alone, e.g. after a JSON round trip
    again = RawMetadata.from_dict(meta.to_dict())
    np.testing.assert_allclose(unprocess_linear(
        process_linear(cam, again), again), cam, atol=1e-6)


def test_pipeline_steps():
    meta = _meta()
    # white balanced white stays white; ccm rows sum to 1
    np.testing.assert_allclose(camera_to_srgb(meta.color_matrix).sum(1), 1)
    white = np.ones((3, 1, 1)) / np.asarray(meta.wb)[:, None, None]
    np.testing.assert_allclose(process_linear(white, meta), 1, atol=1e-9)
    mid = process_linear(np.full((3, 1, 1), 0.18) / np.asarray(
        meta.wb)[:, None, None], meta)
    s = 1.055 * 0.18**(1 / 2.4) - 0.055
    np.testing.assert_allclose(mid, 3 * s * s - 2 * s**3, atol=1e-9)
    clipped = process_linear(np.full((3, 2, 2), 5.0), meta)
    assert clipped.max() <= 1.0 and clipped.min() > 1 - 1e-12


@pytest.mark.parametrize('cfa', CFA_PATTERNS)
def test_mosaic_follows_the_pattern(cfa):
    cam = SyntheticCamera(cfa=cfa, noise=False, black_level=(16, 17, 18, 19),
                          white_level=4095)
    srgb = np.empty((23, 31, 3))
    srgb[:] = (0.8, 0.5, 0.2)
    bayer, meta = cam.unprocess(srgb, seed=3)
    assert bayer.shape == (22, 30) and bayer.dtype == np.uint16
    assert meta.cfa == cfa and meta.black_level == (16, 17, 18, 19)
    linear = unprocess_linear(srgb[:22, :30].transpose(2, 0, 1), meta)[
        :, 0, 0] * cam.draw(3).exposure
    for site, letter in enumerate(cfa):
        i, j = divmod(site, 2)
        black = meta.black_level[site]
        expected = round(black + linear['RGB'.index(letter)] * (4095 - black))
        assert np.all(bayer[i::2, j::2] == expected), (letter, expected)


def test_deterministic_from_the_seed():
    cam = SyntheticCamera(camera='random')
    srgb = np.random.default_rng(1).random((24, 24, 3))
    a, meta_a = cam.unprocess(srgb, seed=5)
    b, meta_b = cam.unprocess(srgb, seed=5)
    c, meta_c = cam.unprocess(srgb, seed=6)
    np.testing.assert_array_equal(a, b)
    assert meta_a == meta_b and meta_a != meta_c
    assert not np.array_equal(a, c)


def test_noise_variance_follows_the_model():
    cam = SyntheticCamera(cfa='RGGB', black_level=0, white_level=65535)
    srgb = np.full((256, 256, 3), 0.6)
    bayer, meta = cam.unprocess(srgb, seed=11)
    draw = cam.draw(11)
    clean, _ = SyntheticCamera(cfa='RGGB', black_level=0, white_level=65535,
                               noise=False).unprocess(srgb, seed=11)
    for site, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        x = clean[i::2, j::2].astype(float) / 65535
        noisy = bayer[i::2, j::2].astype(float) / 65535
        expected = draw.shot_noise * x.mean() + draw.read_noise
        assert noisy.var() == pytest.approx(expected, rel=0.1)
        assert noisy.mean() == pytest.approx(x.mean(), abs=4 * np.sqrt(
            expected / x.size))


def test_bad_input():
    cam = SyntheticCamera()
    with pytest.raises(ValueError, match='divide 8-bit'):
        cam.unprocess(np.zeros((4, 4, 3), np.uint8), 0)
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        cam.unprocess(np.zeros((3, 4, 4)), 0)
    with pytest.raises(ValueError, match=r'in \[0, 1\]'):
        cam.unprocess(np.full((4, 4, 3), 1.5), 0)
    with pytest.raises(ValueError, match='unknown camera'):
        SyntheticCamera(camera='leica')
    with pytest.raises(ValueError, match='cfa'):
        SyntheticCamera(cfa='RGBG')


def _images(folder, n=2):
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    for k in range(n):
        cv2.imwrite(os.path.join(folder, f'im{k}.png'),
                    rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))


def test_dataset_writes_readable_deterministic_dngs(tmp_path):
    _images(str(tmp_path / 'src'))
    cfg = dict(type='SyntheticRAWDataset', src_root=str(tmp_path / 'src'),
               camera=dict(cfa='GBRG'), seed=1)
    one = DATASETS.build(dict(cfg, cache_root=str(tmp_path / 'a')))
    two = DATASETS.build(dict(cfg, cache_root=str(tmp_path / 'b')))
    assert len(one) == 2
    info = one.get_data_info(0)
    assert info['key'] == 'im0'
    assert info['img_path'] == str(tmp_path / 'src' / 'im0.png')
    for k in range(2):
        a, b = one.get_data_info(k)['raw_path'], two.get_data_info(k)[
            'raw_path']
        assert open(a, 'rb').read() == open(b, 'rb').read()
    with rawpy.imread(info['raw_path']) as raw:
        assert raw.raw_image_visible.shape == (24, 32)
        desc = raw.color_desc.decode()
        assert ''.join(desc[i] for i in raw.raw_pattern.ravel()) == 'GBRG'
    # present files are kept; other settings in the same folder are refused
    stamp = os.stat(info['raw_path']).st_mtime_ns
    DATASETS.build(dict(cfg, cache_root=str(tmp_path / 'a')))
    assert os.stat(info['raw_path']).st_mtime_ns == stamp
    with pytest.raises(ValueError, match='other settings'):
        DATASETS.build(dict(cfg, cache_root=str(tmp_path / 'a'), seed=2))


def test_dataset_default_cache_and_errors(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    _images(str(tmp_path / 'src'), n=1)
    data = DATASETS.build(dict(type='SyntheticRAWDataset',
                               src_root=str(tmp_path / 'src')))
    assert data.get_data_info(0)['raw_path'].startswith(
        str(tmp_path / 'home' / '.cache' / 'invtoolbox' / 'synthetic_raw'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        DATASETS.build(dict(type='SyntheticRAWDataset',
                            src_root=str(tmp_path / 'none')))
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(ValueError, match='no image'):
        DATASETS.build(dict(type='SyntheticRAWDataset',
                            src_root=str(tmp_path / 'empty'),
                            cache_root=str(tmp_path / 'c')))
