# Copyright (c) invtoolbox contributors. All rights reserved.
"""Functional PSNR / SSIM / MS-SSIM / MAE against scikit-image, MATLAB's
formulas and an independent MS-SSIM written with torch ops."""
import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.ndimage import correlate1d
from scipy.signal import correlate2d
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from invtoolbox.evaluation.functional import (MS_SSIM_WEIGHTS, mae, ms_ssim,
                                              psnr, ssim)
from invtoolbox.utils import bgr2ycbcr, imresize, img2tensor, modcrop
from tests.helpers import shared_path


def _jpeg(img, quality):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='JPEG', quality=quality)
    return np.asarray(Image.open(buf).convert('RGB'))


@pytest.fixture(scope='module')
def real_pairs():
    """Set5 HR images vs their JPEG-q30 and bicubic x2 down/up versions."""
    pairs = []
    for path in sorted(shared_path('data', 'set5').glob('*.png')):
        hr = modcrop(np.asarray(Image.open(path).convert('RGB')), 2)
        pairs.append((path.stem + '-jpeg30', hr, _jpeg(hr, 30)))
        pairs.append((path.stem + '-bicubic', hr,
                      imresize(imresize(hr, 0.5), 2)))
    return pairs


def _skimage_ssim(a, b, channel_axis=None):
    return structural_similarity(
        a.astype(np.float64),
        b.astype(np.float64),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=channel_axis)


def _y(img):
    """BasicSR's to_y_channel on a BGR image read by OpenCV (float32)."""
    bgr = img[..., ::-1].astype(np.float32) / 255.
    return bgr2ycbcr(bgr, y_only=True) * 255.


def _matlab_ssim(a, b):
    """MATLAB ssim_index.m: filter2(window, img, 'valid') with an outer-product window."""
    g = np.exp(-(np.arange(11) - 5.0)**2 / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255)**2, (0.03 * 255)**2
    a, b = a.astype(np.float64), b.astype(np.float64)

    def filt(x):
        return correlate2d(x, window, mode='valid')

    mu1, mu2 = filt(a), filt(b)
    s11 = filt(a * a) - mu1**2
    s22 = filt(b * b) - mu2**2
    s12 = filt(a * b) - mu1 * mu2
    smap = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / (
        (mu1**2 + mu2**2 + c1) * (s11 + s22 + c2))
    return smap.mean()


# --------------------------------------------------------------------------
# agreement with the references on real image pairs
# --------------------------------------------------------------------------
def test_psnr_matches_scikit_image(real_pairs):
    worst_rgb = worst_y = 0.0
    for _, hr, deg in real_pairs:
        ours = psnr(hr, deg)
        ref = peak_signal_noise_ratio(hr, deg, data_range=255)
        worst_rgb = max(worst_rgb, abs(ours - ref))
        ours_y = psnr(hr, deg, crop_border=2, test_y_channel=True)
        ref_y = peak_signal_noise_ratio(
            _y(hr)[2:-2, 2:-2], _y(deg)[2:-2, 2:-2], data_range=255)
        worst_y = max(worst_y, abs(ours_y - ref_y))
    assert worst_rgb < 1e-6  # the brief asked for 0.01 dB
    assert worst_y < 1e-5  # BasicSR computes Y in float32; we use float64


def test_ssim_matches_scikit_image_and_matlab(real_pairs):
    worst = 0.0
    for _, hr, deg in real_pairs:
        ours = ssim(hr, deg)
        ref = _skimage_ssim(hr, deg, channel_axis=2)
        worst = max(worst, abs(ours - ref))
        ours_y = ssim(hr, deg, crop_border=2, test_y_channel=True)
        ref_y = _skimage_ssim(_y(hr)[2:-2, 2:-2], _y(deg)[2:-2, 2:-2])
        worst = max(worst, abs(ours_y - ref_y))
    assert worst < 1e-6  # the brief asked for 1e-4
    # MATLAB's own formulation, on one pair (correlate2d is slow)
    _, hr, deg = real_pairs[2]  # bird vs JPEG
    for c in range(3):
        assert abs(
            ssim(hr[..., c], deg[..., c]) -
            _matlab_ssim(hr[..., c], deg[..., c])) < 1e-6


def _reference_ms_ssim(a, b, weights=MS_SSIM_WEIGHTS):
    """MS-SSIM spelled out with scipy filtering and torch's avg_pool2d."""
    x = torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1)[None]
    y = torch.from_numpy(b.astype(np.float64)).permute(2, 0, 1)[None]
    g = np.exp(-(np.arange(11) - 5.0)**2 / 4.5)
    g = g / g.sum()

    def blur(t):  # the 11 x 11 Gaussian, as two 1-D passes, 'valid' part
        out = correlate1d(correlate1d(t.numpy(), g, axis=2), g, axis=3)
        return torch.from_numpy(out[:, :, 5:-5, 5:-5])

    c1, c2 = (0.01 * 255)**2, (0.03 * 255)**2
    factors = []
    for level in range(len(weights)):
        mx, my = blur(x), blur(y)
        sxx = blur(x * x) - mx**2
        syy = blur(y * y) - my**2
        sxy = blur(x * y) - mx * my
        cs = (2 * sxy + c2) / (sxx + syy + c2)
        lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
        if level < len(weights) - 1:
            factors.append(cs.mean(dim=(2, 3)).clamp(min=0))
            pad = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, 2, padding=pad)
            y = F.avg_pool2d(y, 2, padding=pad)
        else:
            factors.append((lum * cs).mean(dim=(2, 3)).clamp(min=0))
    w = torch.tensor(weights, dtype=torch.float64)[:, None, None]
    return torch.prod(torch.stack(factors)**w, dim=0).mean().item()


def test_ms_ssim_matches_independent_reference(real_pairs):
    name, hr, deg = real_pairs[0]  # baby vs JPEG, 512 x 512
    assert name == 'baby-jpeg30'
    value = ms_ssim(hr, deg)
    assert abs(value - _reference_ms_ssim(hr, deg)) < 1e-8
    # an odd size exercises the zero-padded pooling
    odd_a, odd_b = hr[:333, :401], deg[:333, :401]
    assert abs(ms_ssim(odd_a, odd_b) -
               _reference_ms_ssim(odd_a, odd_b)) < 1e-8
    # stronger compression scores lower; identical images score 1
    assert ms_ssim(hr, _jpeg(hr, 5)) < value < 1.0
    assert ms_ssim(hr, hr) == pytest.approx(1.0, abs=1e-12)


def test_single_scale_ms_ssim_is_ssim(real_pairs):
    _, hr, deg = real_pairs[1]
    assert ms_ssim(hr, deg, weights=(1.0, )) == pytest.approx(
        ssim(hr, deg), abs=1e-12)


# --------------------------------------------------------------------------
# conventions
# --------------------------------------------------------------------------
def test_known_values():
    a = np.full((16, 16, 3), 100, dtype=np.uint8)
    b = np.full((16, 16, 3), 110, dtype=np.uint8)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))
    assert mae(a, b) == pytest.approx(10 / 255)
    assert psnr(a, a) == float('inf')
    assert ssim(a, a) == pytest.approx(1.0)
    # luminance-only SSIM of two flat images: (2 mu1 mu2 + C1) / (mu1^2 + mu2^2 + C1)
    c1 = (0.01 * 255)**2
    assert ssim(a, b) == pytest.approx((2 * 100 * 110 + c1) /
                                       (100**2 + 110**2 + c1))
    # Y of a grey offset of 10 is 10 * 219 / 255: PSNR rises by 20 log10(255/219)
    assert psnr(a, b, test_y_channel=True) == pytest.approx(
        psnr(a, b) + 20 * math.log10(255 / 219))


def test_tensors_are_rounded_to_8_bits():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 40, 48, generator=gen)
    y = (x + 0.02 * torch.randn(3, 40, 48, generator=gen)).clamp(0, 1)
    x8 = (x.numpy() * np.float32(255)).round().astype(np.uint8).transpose(
        1, 2, 0)
    y8 = (y.numpy() * np.float32(255)).round().astype(np.uint8).transpose(
        1, 2, 0)
    for fn in (psnr, ssim, mae):
        assert fn(x, y) == fn(x8, y8)
        assert fn(x[None], y[None], crop_border=3, test_y_channel=True) == \
            fn(x8, y8, crop_border=3, test_y_channel=True)
    # a perturbation below half a quantisation step does not change the result
    x_q = torch.from_numpy(x8.transpose(2, 0, 1).astype(np.float32)) / 255
    assert psnr(x_q, x_q + 1.5e-3) == float('inf')
    assert psnr(x_q, x_q + 2.5e-3) < 50
    # numpy float in [0, 1] with max_value=1 is not rounded
    assert psnr(x8 / 255., y8 / 255., max_value=1.0) == pytest.approx(
        psnr(x8, y8))
    # mixed inputs: a uint8 image and a tensor
    assert psnr(x8, y) == psnr(x8, y8)


def test_batches_average_per_image():
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(3, 3, 24, 24, generator=gen)
    b = (a + 0.05 * torch.randn(3, 3, 24, 24, generator=gen)).clamp(0, 1)
    for fn in (psnr, ssim, mae):
        expected = np.mean([fn(a[i], b[i]) for i in range(3)])
        assert fn(a, b) == pytest.approx(expected)


def test_crop_border_and_input_order():
    a = np.full((20, 20, 3), 50, dtype=np.uint8)
    b = a.copy()
    b[:2] = 0
    b[:, -2:] = 255
    assert psnr(a, b) < 20
    assert psnr(a, b, crop_border=2) == float('inf')
    assert mae(a, b, crop_border=2) == 0
    # input_order='CHW' for numpy arrays
    c = np.random.default_rng(0).integers(0, 256, (3, 20, 24), np.uint8)
    d = np.random.default_rng(1).integers(0, 256, (3, 20, 24), np.uint8)
    assert psnr(c, d, input_order='CHW') == psnr(
        c.transpose(1, 2, 0), d.transpose(1, 2, 0))
    # grayscale (H, W)
    assert psnr(c[0], d[0]) == psnr(c[0][..., None], d[0][..., None])


# --------------------------------------------------------------------------
# bad input: one-line ValueError naming what is wrong
# --------------------------------------------------------------------------
@pytest.mark.parametrize('call,match', [
    (lambda: psnr(np.zeros((8, 8, 3)), np.zeros((8, 9, 3))),
     r'shapes differ: a is \(8, 8, 3\) and b is \(8, 9, 3\)'),
    (lambda: psnr(torch.rand(2, 3, 8, 8), torch.rand(3, 3, 8, 8)),
     'a holds 2 images but b holds 3'),
    (lambda: psnr(np.zeros((8, 8)), np.zeros((8, 8)), test_y_channel=True),
     'needs RGB images with 3 channels, got 1'),
    (lambda: ssim(np.zeros((3, 32, 32)), np.zeros((3, 32, 32))),
     "has 32 channels.*pass input_order='CHW'"),
    (lambda: psnr(torch.rand(1, 6, 8, 8), torch.rand(1, 6, 8, 8)),
     'has 6 channels at dim -3'),
    (lambda: psnr(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), crop_border=4),
     'crop_border=4 removes the whole 8x8 image'),
    (lambda: ssim(np.zeros((10, 30, 3)), np.zeros((10, 30, 3))),
     'at least 11x11 pixels'),
    (lambda: ms_ssim(np.zeros((160, 300, 3)), np.zeros((160, 300, 3))),
     'at least 161x161 pixels'),
    (lambda: psnr(torch.rand(3, 8, 8), torch.rand(3, 8, 8), max_value=1.0),
     'max_value must be an integer >= 2 .*pass quantize=False'),
    (lambda: ssim(torch.rand(3, 16, 16), torch.rand(3, 16, 16),
                  max_value=255.5), 'must be an integer >= 2'),
    (lambda: psnr(torch.rand(3, 8, 8), torch.rand(3, 8, 8), quantize='no'),
     'quantize must be True or False'),
    (lambda: mae(np.zeros((8, 8)), np.zeros((8, 8)), max_value=0),
     'max_value must be a positive number'),
    (lambda: psnr(np.zeros((8, 8)), np.zeros((8, 8)), max_value=True),
     'max_value must be a positive number'),
    (lambda: psnr(np.full((8, 8), 1000, np.uint16), np.zeros((8, 8))),
     r'numpy a \(uint16\) holds values up to 1000, above max_value=255; '
     'pass .*max_value=65535'),
    (lambda: psnr(np.full((8, 8), 200, np.uint8), torch.rand(1, 8, 8),
                  quantize=False),
     'above max_value=1;'),
    (lambda: psnr(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), input_order='NHWC'
                  ), "input_order must be 'HWC' or 'CHW'"),
    (lambda: psnr(torch.zeros(3, 8, 8, dtype=torch.uint8),
                  torch.zeros(3, 8, 8, dtype=torch.uint8)),
     'must be float in'),
])
def test_bad_input_raises_one_line_value_error(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert '\n' not in str(info.value)


# --------------------------------------------------------------------------
# beyond 8 bits: float data measured as it is, 16-bit quantisation
# --------------------------------------------------------------------------
def _np_psnr(a, b, peak):
    """The textbook formula, written out here."""
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64))**2)
    return 10 * math.log10(peak * peak / mse)


def _np_y(rgb_hwc, peak):
    """BT.601 studio-swing Y in the units of ``peak`` (MATLAB rgb2ycbcr)."""
    r, g, b = (rgb_hwc[..., i] / peak for i in range(3))
    return (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255. * peak


def _wang_ssim(a, b, peak):
    """Wang et al. (2004), eq. 13 with an 11 x 11 sigma-1.5 Gaussian window,
    valid filtering, C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = peak."""
    g = np.exp(-(np.arange(11) - 5.0)**2 / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * peak)**2, (0.03 * peak)**2
    mu_a = correlate2d(a, window, mode='valid')
    mu_b = correlate2d(b, window, mode='valid')
    var_a = correlate2d(a * a, window, mode='valid') - mu_a**2
    var_b = correlate2d(b * b, window, mode='valid') - mu_b**2
    cov = correlate2d(a * b, window, mode='valid') - mu_a * mu_b
    return np.mean((2 * mu_a * mu_b + c1) * (2 * cov + c2) /
                   ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))


@pytest.fixture(scope='module')
def float_pair():
    """A float image in [0, 1] and a noisy version with values outside it."""
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(3, 36, 40, generator=gen, dtype=torch.float64)
    y = x + 0.03 * torch.randn(3, 36, 40, generator=gen, dtype=torch.float64)
    return x, y


def test_float_tensors_measured_as_they_are(float_pair):
    x, y = float_pair
    xs, ys = x.numpy(), y.numpy()
    value = psnr(x, y, quantize=False, max_value=1.0)
    assert value == pytest.approx(_np_psnr(xs, ys, 1.0), abs=1e-12)
    assert psnr(x, y, quantize=False) == value  # max_value defaults to 1.0
    assert value != pytest.approx(psnr(x, y), abs=1e-3)  # 8-bit differs
    # float32 tensors too; the result does not depend on the dtype
    assert psnr(x.float(), y.float(), quantize=False) == pytest.approx(
        value, abs=1e-5)
    # a different dynamic range: data in [-1, 1] has peak-to-peak 2
    assert psnr(2 * x - 1, 2 * y - 1, quantize=False, max_value=2.0) == \
        pytest.approx(value, abs=1e-9)
    # Y channel and border crop, on the float values
    hwc_x, hwc_y = xs.transpose(1, 2, 0), ys.transpose(1, 2, 0)
    expected_y = _np_psnr(
        _np_y(hwc_x, 1.0)[3:-3, 3:-3], _np_y(hwc_y, 1.0)[3:-3, 3:-3], 1.0)
    assert psnr(x, y, crop_border=3, test_y_channel=True,
                quantize=False) == pytest.approx(expected_y, abs=1e-9)
    # MAE: plain mean absolute difference
    assert mae(x, y, quantize=False) == pytest.approx(
        np.mean(np.abs(xs - ys)), abs=1e-15)
    # the same float data as numpy with max_value=1.0 gives the same numbers
    assert psnr(hwc_x, hwc_y, max_value=1.0) == pytest.approx(value, 1e-12)


def test_ssim_on_float_images_is_wang_et_al(float_pair):
    x, y = float_pair
    for c in range(3):
        ours = ssim(x[c:c + 1], y[c:c + 1], quantize=False, max_value=1.0)
        assert ours == pytest.approx(
            _wang_ssim(x[c].numpy(), y[c].numpy(), 1.0), abs=1e-9)
    # SSIM is scale-free when C1, C2 scale with the peak: the 8-bit image
    # measured in [0, 1] units equals the 8-bit path
    a8 = np.random.default_rng(0).integers(0, 256, (40, 44, 3), np.uint8)
    b8 = np.clip(a8 + np.random.default_rng(1).integers(-20, 21, a8.shape),
                 0, 255).astype(np.uint8)
    a01, b01 = (torch.from_numpy(im.transpose(2, 0, 1) / 255.)
                for im in (a8, b8))
    for fn in (ssim, psnr, mae):
        assert fn(a01, b01, quantize=False) == pytest.approx(
            fn(a8, b8), abs=1e-9)


def test_ms_ssim_on_float_images(real_pairs):
    _, hr, deg = real_pairs[0]
    float_value = ms_ssim(
        *(torch.from_numpy(im.transpose(2, 0, 1) / 255.) for im in (hr, deg)),
        quantize=False, max_value=1.0)
    assert float_value == pytest.approx(ms_ssim(hr, deg), abs=1e-9)


def test_16_bit_quantisation():
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 24, 28, generator=gen)
    y = (x + 1e-3 * torch.randn(2, 3, 24, 28, generator=gen)).clamp(0, 1)
    codes = [(t.numpy() * np.float32(65535)).round().astype(np.uint16)
             for t in (x, y)]
    expected = np.mean([
        _np_psnr(codes[0][i], codes[1][i], 65535.0) for i in range(2)
    ])
    assert psnr(x, y, max_value=65535) == pytest.approx(expected, abs=1e-9)
    # 1e-3 noise is far below an 8-bit step at many pixels: 8 bits loses it
    assert psnr(x, y, max_value=65535) > psnr(x, y) + 1
    # uint16 numpy images are measured with their peak
    hwc = [c[0].transpose(1, 2, 0) for c in codes]
    assert psnr(hwc[0], hwc[1], max_value=65535) == pytest.approx(
        _np_psnr(hwc[0], hwc[1], 65535.0), abs=1e-12)
    assert psnr(hwc[0], y[0], max_value=65535) == psnr(hwc[0], hwc[1],
                                                         max_value=65535)
    # 10-bit (any integer scale)
    assert psnr(x[0], y[0], max_value=1023) == pytest.approx(_np_psnr(
        (x[0].numpy() * np.float32(1023)).round(),
        (y[0].numpy() * np.float32(1023)).round(), 1023.0), abs=1e-9)


def test_raw_mosaic_psnr_on_float_data():
    """A real 14-bit Bayer mosaic (white level 16383), packed to 4 channels."""
    rawpy = pytest.importorskip('rawpy')
    with rawpy.imread(str(shared_path('data', 'raw',
                                      'RAW_KODAK_DC50.KDC'))) as raw:
        mosaic = raw.raw_image_visible.astype(np.float64) / raw.white_level
    packed = np.stack([mosaic[0::2, 0::2], mosaic[0::2, 1::2],
                       mosaic[1::2, 0::2], mosaic[1::2, 1::2]])
    noisy = packed + np.random.default_rng(0).normal(0, 0.01, packed.shape)
    value = psnr(torch.from_numpy(packed), torch.from_numpy(noisy),
                 quantize=False, max_value=1.0)
    assert value == pytest.approx(_np_psnr(packed, noisy, 1.0), abs=1e-9)
    assert 39 < value < 41  # sigma 0.01: 40 dB


def test_img2tensor_feeds_the_metrics(real_pairs):
    _, hr, deg = real_pairs[4]
    assert psnr(img2tensor(hr), img2tensor(deg)) == psnr(hr, deg)
