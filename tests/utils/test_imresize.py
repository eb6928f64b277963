# Copyright (c) invtoolbox contributors. All rights reserved.
"""MATLAB-compatible bicubic imresize: geometry, kernel, boundary, API, Set5/Set14 baseline."""
import importlib.util
import math

import numpy as np
import pytest
import torch
from PIL import Image

from invtoolbox.evaluation.functional import psnr, ssim
from invtoolbox.utils import imresize, modcrop, rgb2ycbcr
from invtoolbox.utils.imresize import cubic_kernel, resize_weights
from tests.helpers import REPO_ROOT, shared_path

# Published bicubic down/up baselines (Y-PSNR, crop = scale), as listed in the
# IRN README (x2, x4) and the SRCNN/VDSR/LapSRN tables (x3).
PUBLISHED_BICUBIC = {
    'set5': {2: 33.66, 3: 30.39, 4: 28.42},
    'set14': {2: 30.24, 3: 27.55, 4: 26.00},
}


def _rand(shape, seed=0):
    return np.random.default_rng(seed).random(shape)


# --------------------------------------------------------------------------
# the kernel and the per-axis weights
# --------------------------------------------------------------------------
def test_cubic_kernel_values():
    # Keys' kernel, a = -0.5: interpolating (1 at 0, 0 at the other integers)
    x = np.array([0.0, 1.0, -1.0, 2.0, -2.0, 2.5, 0.5, 1.5])
    expected = [1, 0, 0, 0, 0, 0, 0.5625, -0.0625]
    np.testing.assert_allclose(cubic_kernel(x), expected, atol=1e-15)


@pytest.mark.parametrize('scale', [0.25, 1 / 3, 0.5, 0.7, 1.0, 2.0, 3.0])
def test_weights_are_normalised_and_indices_in_range(scale):
    in_len = 23
    out_len = math.ceil(in_len * scale - 1e-9)
    idx, w = resize_weights(in_len, out_len, scale)
    assert idx.shape == w.shape and idx.shape[0] == out_len
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
    assert idx.min() >= 0 and idx.max() < in_len


def test_scale_one_is_identity():
    img = _rand((13, 17, 3))
    np.testing.assert_allclose(imresize(img, 1.0), img, atol=1e-12)


# --------------------------------------------------------------------------
# known properties
# --------------------------------------------------------------------------
@pytest.mark.parametrize('scale', [0.25, 1 / 3, 0.5, 0.8, 1.5, 2, 4])
def test_constant_image_stays_constant(scale):
    img = np.full((24, 36, 3), 0.37)
    out = imresize(img, scale)
    np.testing.assert_allclose(out, 0.37, atol=1e-12)
    out_t = imresize(torch.full((2, 3, 24, 36), 0.37), scale)
    torch.testing.assert_close(
        out_t, torch.full_like(out_t, 0.37), atol=1e-6, rtol=0)


@pytest.mark.parametrize('scale', [0.5, 0.25, 2, 3])
def test_pixel_centres_are_aligned_like_matlab(scale):
    """A linear ramp stays a ramp sampled at MATLAB's pixel centres.

    Output pixel ``i`` (0-based) sits at input coordinate
    ``(i + 0.5) / scale - 0.5``; symmetric kernels reproduce linear functions
    away from the borders.
    """
    w_in = 64
    ramp = np.tile(np.arange(w_in, dtype=np.float64) * 0.7 + 3.0, (8, 1))
    out = imresize(ramp, (1.0, scale))
    centres = (np.arange(out.shape[1]) + 0.5) / scale - 0.5
    margin = int(math.ceil(3 * max(1.0, scale)))
    np.testing.assert_allclose(
        out[:, margin:-margin],
        np.tile(centres * 0.7 + 3.0, (8, 1))[:, margin:-margin],
        atol=1e-9)


@pytest.mark.parametrize('size', [(22, 27), (45, 56), (30, 100), (17, 200)])
def test_interior_matches_pillow_bicubic(size):
    """Pillow's BICUBIC is the same antialiased a=-0.5 filter with the same
    pixel-centre convention but another boundary rule: the interiors agree.
    """
    img = _rand((64, 80)).astype(np.float32)
    h, w = size
    ref = np.asarray(
        Image.fromarray(img, mode='F').resize((w, h), Image.BICUBIC))
    out = imresize(img.astype(np.float64), size=size)
    b = int(math.ceil(2 * max(h / 64, w / 80))) + 3
    np.testing.assert_allclose(out[b:-b, b:-b], ref[b:-b, b:-b], atol=2e-6)


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_boundary_is_symmetric_padding(scale):
    """MATLAB extends the image by mirroring with the edge pixel repeated."""
    img = _rand((8 * scale, 6 * scale, 2), seed=scale)
    pad = 3 * scale  # more than the antialiased kernel reach (2 * scale)
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode='symmetric')
    down = imresize(img, 1 / scale)
    down_padded = imresize(padded, 1 / scale)
    np.testing.assert_allclose(down_padded[3:-3, 3:-3], down, atol=1e-12)
    up = imresize(img, scale)
    up_padded = imresize(np.pad(img, ((3, 3), (3, 3), (0, 0)),
                                mode='symmetric'), scale)
    k = 3 * scale
    np.testing.assert_allclose(up_padded[k:-k, k:-k], up, atol=1e-12)


def test_no_antialiasing_uses_the_narrow_kernel():
    img = _rand((32, 32))
    # without antialiasing, x0.5 samples the bicubic interpolant at the
    # half-pixel positions: a 4-tap filter of weights (-1, 9, 9, -1) / 16
    out = imresize(img, 0.5, antialiasing=False)
    expected = (-img[:, 0:-3] + 9 * img[:, 1:-2] + 9 * img[:, 2:-1] -
                img[:, 3:]) / 16
    expected = (-expected[0:-3] + 9 * expected[1:-2] + 9 * expected[2:-1] -
                expected[3:]) / 16
    np.testing.assert_allclose(
        out[1:-1, 1:-1], expected[1::2, 1::2], atol=1e-12)
    assert not np.allclose(imresize(img, 0.5), out)


# --------------------------------------------------------------------------
# torch / numpy, batches, dtypes, sizes
# --------------------------------------------------------------------------
@pytest.mark.parametrize('scale', [0.25, 1 / 3, 0.5, 0.7, 1.3, 2, 3, 4])
def test_torch_and_numpy_agree(scale):
    img = _rand((37, 53, 3)).astype(np.float32)
    out_np = imresize(img, scale)
    tensor = torch.from_numpy(img).permute(2, 0, 1)
    out_chw = imresize(tensor, scale)
    assert out_np.dtype == np.float32 and out_chw.dtype == torch.float32
    np.testing.assert_allclose(
        out_chw.permute(1, 2, 0).numpy(), out_np, atol=1e-5, rtol=0)


def test_batched_tensor_equals_per_image():
    batch = torch.rand(4, 3, 20, 28)
    out = imresize(batch, 0.5)
    assert out.shape == (4, 3, 10, 14)
    for i in range(4):
        torch.testing.assert_close(out[i], imresize(batch[i], 0.5))
    # (H, W) tensors and float64 work too
    gray = torch.rand(20, 28, dtype=torch.float64)
    out_gray = imresize(gray, 2)
    assert out_gray.shape == (40, 56) and out_gray.dtype == torch.float64
    np.testing.assert_allclose(
        out_gray.numpy(), imresize(gray.numpy(), 2), atol=1e-12)


def test_half_precision_and_gradients():
    x = torch.rand(1, 3, 16, 16)
    out = imresize(x.half(), 0.5)
    assert out.dtype == torch.float16
    torch.testing.assert_close(
        out.float(), imresize(x, 0.5), atol=2e-3, rtol=0)
    x.requires_grad_(True)
    imresize(x, 0.5).sum().backward()
    # every weight row sums to one: d(sum)/dx sums to the output pixel count
    assert x.grad is not None
    assert abs(x.grad.sum().item() - 3 * 8 * 8) < 1e-3


def test_uint8_is_rounded_and_clipped_like_matlab():
    img = (np.random.default_rng(1).random((30, 30, 3)) * 255).astype(np.uint8)
    img[:5] = 255  # an edge that overshoots above 255 when upscaled
    img[5:10] = 0
    out = imresize(img, 2)
    ref = np.clip(np.round(imresize(img.astype(np.float64), 2)), 0, 255)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, ref.astype(np.uint8))
    out_t = imresize(torch.from_numpy(img).permute(2, 0, 1), 2)
    assert out_t.dtype == torch.uint8
    assert np.abs(out_t.permute(1, 2, 0).numpy().astype(int) - out).max() <= 1


def test_output_sizes():
    img = _rand((30, 45, 3))
    assert imresize(img, 0.5).shape == (15, 23, 3)  # ceil, as MATLAB
    assert imresize(img, 1 / 3).shape == (10, 15, 3)
    assert imresize(np.zeros((255, 255)), 1 / 3).shape == (85, 85)  # not 86
    assert imresize(img, (0.5, 2)).shape == (15, 90, 3)
    assert imresize(img, size=(7, 100)).shape == (7, 100, 3)
    # down then up returns the modcropped size exactly
    for s in (2, 3, 4):
        hr = modcrop(img, s)
        assert imresize(imresize(hr, 1 / s), s).shape == hr.shape
    t = torch.rand(2, 3, 30, 45)
    assert imresize(t, size=(64, 64)).shape == (2, 3, 64, 64)


def test_error_messages():
    img = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match='exactly one of scale'):
        imresize(img)
    with pytest.raises(ValueError, match='exactly one of scale'):
        imresize(img, 0.5, size=(4, 4))
    with pytest.raises(ValueError, match='positive and finite'):
        imresize(img, -2)
    with pytest.raises(ValueError, match='size must be'):
        imresize(img, size=(4, 0))
    with pytest.raises(ValueError, match='below one pixel'):
        imresize(img, 0.1)  # 8 x 0.1 = 0.8 pixel
    assert imresize(img, 0.125).shape == (1, 1, 3)
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        imresize(np.zeros((1, 3, 8, 8)), 0.5)
    with pytest.raises(ValueError, match='float or uint8'):
        imresize(np.zeros((8, 8), dtype=np.int32), 0.5)
    with pytest.raises(ValueError, match='floating or uint8'):
        imresize(torch.zeros(1, 3, 8, 8, dtype=torch.int64), 0.5)
    with pytest.raises(ValueError, match='got shape'):
        imresize(torch.zeros(1, 1, 3, 8, 8), 0.5)
    with pytest.raises(TypeError, match='numpy array or a torch tensor'):
        imresize([[0.0]], 0.5)
    with pytest.raises(ValueError) as info:
        imresize(img, size=(4, 4, 4))
    assert '\n' not in str(info.value) and '(4, 4, 4)' in str(info.value)


# --------------------------------------------------------------------------
# the bicubic baseline of the literature
# --------------------------------------------------------------------------
def _load(folder):
    images = []
    for path in sorted(folder.glob('*.png')):
        with Image.open(path) as im:
            images.append(np.asarray(im.convert('L' if im.mode == 'L' else
                                                'RGB')))
    return images


def _matlab_bicubic_y_psnr(hr, scale):
    """The MATLAB benchmark protocol: uint8 Y, uint8 down/up, crop = scale."""
    hr = modcrop(hr, scale)
    y = rgb2ycbcr(hr, y_only=True) if hr.ndim == 3 else hr
    assert y.dtype == np.uint8
    up = imresize(imresize(y, 1 / scale), scale)
    return psnr(y, up, crop_border=scale), ssim(y, up, crop_border=scale)


@pytest.mark.parametrize('dataset,scales', [('set5', (2, 3, 4)),
                                            ('set14', (2, 4))])
def test_bicubic_baseline_reproduces_published_numbers(dataset, scales):
    images = _load(shared_path('data', dataset))
    assert len(images) == {'set5': 5, 'set14': 14}[dataset]
    for scale in scales:
        values = [_matlab_bicubic_y_psnr(img, scale) for img in images]
        mean_psnr = np.mean([v[0] for v in values])
        assert abs(mean_psnr - PUBLISHED_BICUBIC[dataset][scale]) < 0.02, (
            f'{dataset} x{scale}: {mean_psnr:.4f} dB')


def test_bicubic_baseline_tool(capsys):
    folder = shared_path('data', 'set5')
    spec = importlib.util.spec_from_file_location(
        'bicubic_baseline',
        REPO_ROOT / 'tools' / 'analysis_tools' / 'bicubic_baseline.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(folder), '--scales', '4']) == 0
    out = capsys.readouterr().out
    row = [line for line in out.splitlines() if line.startswith('| x4 |')]
    assert len(row) == 1
    assert abs(float(row[0].split('|')[2]) - 28.42) < 0.02
    assert tool.main([str(folder / 'missing'), '--scales', '2']) == 2
    err = capsys.readouterr().err
    assert 'not found' in err and 'missing' in err
