# Copyright (c) invtoolbox contributors. All rights reserved.
import numpy as np
import pytest
import torch
from scipy.ndimage import convolve

from invtoolbox.datasets.raw import (CFA_PATTERNS, RawMetadata, apply_flip,
                                     bilinear_demosaic, denormalise, mosaic,
                                     normalise, read_raw, to_bayer, undo_flip)
from tests.helpers import shared_path


def reference_demosaic(bayer, cfa):
    """colour-demosaicing 0.1.6 bilinear with the README's 'constant' patch,
    written out independently (float64, scipy)."""
    cfa_img = bayer.astype(np.float64)
    masks = {c: np.zeros(bayer.shape) for c in 'RGB'}
    for c, (y, x) in zip(cfa, [(0, 0), (0, 1), (1, 0), (1, 1)]):
        masks[c][y::2, x::2] = 1
    h_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4
    h_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4
    return np.stack([
        convolve(cfa_img * masks['R'], h_rb, mode='constant', cval=0),
        convolve(cfa_img * masks['G'], h_g, mode='constant', cval=0),
        convolve(cfa_img * masks['B'], h_rb, mode='constant', cval=0)])


@pytest.mark.parametrize('cfa', CFA_PATTERNS)
def test_demosaic_matches_reference_and_keeps_samples(cfa):
    bayer = np.random.default_rng(3).integers(0, 16384, (10, 14)).astype(
        np.uint16)
    out = bilinear_demosaic(bayer, cfa)
    assert out.shape == (3, 10, 14) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference_demosaic(bayer, cfa), atol=1e-3)
    np.testing.assert_array_equal(mosaic(out, cfa), bayer.astype(np.float32))


def test_demosaic_batched_torch_equals_per_image():
    bayer = torch.randint(0, 4096, (2, 3, 8, 12)).float()
    out = bilinear_demosaic(bayer, 'BGGR')
    assert out.shape == (2, 3, 3, 8, 12)
    np.testing.assert_array_equal(
        out[1, 2].numpy(), bilinear_demosaic(bayer[1, 2].numpy(), 'BGGR'))
    assert torch.equal(mosaic(out, 'BGGR'), bayer)


def test_demosaic_bad_input():
    with pytest.raises(ValueError, match='cfa'):
        bilinear_demosaic(np.zeros((4, 4)), 'RGBG')
    with pytest.raises(ValueError, match='even'):
        bilinear_demosaic(np.zeros((5, 4)), 'RGGB')
    with pytest.raises(ValueError, match='3, H, W'):
        mosaic(np.zeros((2, 4, 4)), 'RGGB')


def meta(**kw):
    fields = dict(cfa='GBRG', black_level=(60, 62, 64, 66), white_level=4095,
                  wb=(2.0, 1.0, 1.6))
    fields.update(kw)
    return RawMetadata(**fields)


def test_normalise_black_zero_equals_official_formula():
    m = meta(black_level=(0, 0, 0, 0), white_level=16383)
    bayer = np.random.default_rng(4).integers(0, 16384, (8, 10))
    demosaiced = bilinear_demosaic(bayer, m.cfa).astype(np.float64)
    # official: wb / wb.max(), raw * wb, raw ** (1/2.2) / white ** (1/2.2)
    wb = np.array(m.wb) / max(m.wb)
    official = (demosaiced * wb[:, None, None]) ** (1 / 2.2) / 16383**(1 / 2.2)
    out = normalise(demosaiced.astype(np.float32), m)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, official, atol=2e-6)


def test_normalise_subtracts_black_per_site():
    m = meta()
    bayer = np.random.default_rng(5).integers(100, 4000, (8, 10))
    out = normalise(bilinear_demosaic(bayer, m.cfa), m, gamma=False)
    black = np.tile(np.reshape(m.black_level, (2, 2)), (4, 5))
    # at the measured sites: (x - black_site) / (white - black_site) * gain
    site_value = mosaic(out, m.cfa)
    gains = {c: g / max(m.wb) for c, g in zip('RGB', m.wb)}
    gain = np.tile(np.reshape([gains[c] for c in m.cfa], (2, 2)), (4, 5))
    # GBRG sites G(60) B(62) R(64) G(66): G spans white - mean(60, 66)
    span = np.tile(np.reshape([4095 - 63, 4095 - 62, 4095 - 64, 4095 - 63],
                              (2, 2)), (4, 5))
    np.testing.assert_allclose(site_value, (bayer - black) / span * gain,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('gamma', [True, False])
def test_denormalise_round_trip(gamma):
    m = meta()
    x = torch.rand(3, 6, 8)
    back = normalise(denormalise(x, m, gamma), m, gamma)
    torch.testing.assert_close(back, x, atol=1e-5, rtol=0)
    assert 0 <= normalise(denormalise(x.numpy(), m, gamma), m, gamma).min()


def test_to_bayer_recovers_the_mosaic():
    m = meta()
    bayer = np.random.default_rng(6).integers(60, 4096, (8, 10))
    x = normalise(bilinear_demosaic(bayer, m.cfa), m)
    out = to_bayer(x, m)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, bayer)


@pytest.mark.parametrize('flip, k', [(0, 0), (3, 2), (5, 1), (6, 3)])
def test_flip_is_official_rot90_and_undoes(flip, k):
    img = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    np.testing.assert_array_equal(
        apply_flip(img, flip, axes=(0, 1)), np.rot90(img, k))
    chw = torch.from_numpy(img).permute(2, 0, 1)
    assert torch.equal(undo_flip(apply_flip(chw, flip), flip), chw)
    with pytest.raises(ValueError, match='flip'):
        apply_flip(img, 1)


def test_kodak_pipeline_read_demosaic_normalise_flip():
    bayer, m = read_raw(shared_path('data', 'raw', 'RAW_KODAK_DC50.KDC'))
    x = apply_flip(normalise(bilinear_demosaic(bayer, m.cfa), m), m.flip)
    assert x.shape == (3, 512, 768) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1 and x.max() == 1  # 16383 = white
    np.testing.assert_array_equal(to_bayer(undo_flip(x, m.flip), m), bayer)
