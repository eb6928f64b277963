# Copyright (c) invtoolbox contributors. All rights reserved.
"""modcrop, BT.601 YCbCr conversions and tensor <-> image conversion."""
import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr as skimage_rgb2ycbcr

from invtoolbox.utils import (bgr2ycbcr, img2tensor, modcrop, rgb2ycbcr,
                              tensor2img, ycbcr2bgr, ycbcr2rgb)


def _rgb_uint8(shape=(17, 23, 3), seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# --------------------------------------------------------------------------
# modcrop
# --------------------------------------------------------------------------
def test_modcrop_numpy_and_tensor():
    img = _rgb_uint8((17, 23, 3))
    out = modcrop(img, 4)
    assert out.shape == (16, 20, 3)
    np.testing.assert_array_equal(out, img[:16, :20])  # top-left region
    assert modcrop(img[:, :, 0], 3).shape == (15, 21)
    t = torch.rand(2, 3, 17, 23)
    assert modcrop(t, 4).shape == (2, 3, 16, 20)
    torch.testing.assert_close(modcrop(t, 4), t[..., :16, :20])
    assert modcrop(img, 1).shape == img.shape


def test_modcrop_errors():
    with pytest.raises(ValueError, match='positive integer'):
        modcrop(np.zeros((8, 8)), 0)
    with pytest.raises(ValueError, match='positive integer'):
        modcrop(np.zeros((8, 8)), 2.5)
    with pytest.raises(ValueError, match=r'\(H, W\) or'):
        modcrop(np.zeros((1, 8, 8, 3)), 2)


# --------------------------------------------------------------------------
# YCbCr
# --------------------------------------------------------------------------
def test_rgb2ycbcr_matlab_reference_values():
    # MATLAB: rgb2ycbcr(uint8([255 255 255; 0 0 0; 255 0 0; 0 255 0; 0 0 255]))
    rgb = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0],
                     [0, 0, 255]]], dtype=np.uint8)
    expected = np.array([[[235, 128, 128], [16, 128, 128], [81, 90, 240],
                          [145, 54, 34], [41, 240, 110]]], dtype=np.uint8)
    out = rgb2ycbcr(rgb)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(rgb2ycbcr(rgb, y_only=True), expected[..., 0])


def test_rgb2ycbcr_matches_scikit_image():
    img = _rgb_uint8((32, 40, 3), seed=3)
    x = img.astype(np.float64) / 255
    ref = skimage_rgb2ycbcr(x)  # [16, 235] units
    np.testing.assert_allclose(rgb2ycbcr(x) * 255, ref, atol=1e-10)
    # uint8 in, uint8 out: the rounded float result
    np.testing.assert_array_equal(rgb2ycbcr(img),
                                  np.round(ref).astype(np.uint8))


def test_bgr_and_rgb_give_the_same_y():
    img = _rgb_uint8()
    np.testing.assert_array_equal(
        bgr2ycbcr(img[..., ::-1], y_only=True), rgb2ycbcr(img, y_only=True))
    x = img.astype(np.float32) / 255
    np.testing.assert_allclose(bgr2ycbcr(x[..., ::-1]), rgb2ycbcr(x))
    assert rgb2ycbcr(x).dtype == np.float32
    y = rgb2ycbcr(x, y_only=True)
    assert y.shape == (17, 23)
    assert y.min() >= 16 / 255 - 1e-6 and y.max() <= 235 / 255 + 1e-6


def test_ycbcr_round_trip_and_tensor_path():
    x = np.random.default_rng(4).random((9, 11, 3))
    np.testing.assert_allclose(ycbcr2rgb(rgb2ycbcr(x)), x, atol=1e-12)
    np.testing.assert_allclose(
        ycbcr2bgr(bgr2ycbcr(x[..., ::-1])), x[..., ::-1], atol=1e-12)
    img = _rgb_uint8(seed=5)
    back = ycbcr2rgb(rgb2ycbcr(img)).astype(int)
    assert np.abs(back - img).max() <= 2  # two 8-bit roundings
    # tensors: channels at dim -3, batches, same numbers as numpy
    t = torch.from_numpy(x).permute(2, 0, 1)[None].repeat(2, 1, 1, 1)
    out = rgb2ycbcr(t)
    assert out.shape == (2, 3, 9, 11) and out.dtype == torch.float64
    np.testing.assert_allclose(
        out[1].permute(1, 2, 0).numpy(), rgb2ycbcr(x), atol=1e-12)
    assert rgb2ycbcr(t.float(), y_only=True).shape == (2, 1, 9, 11)
    torch.testing.assert_close(ycbcr2rgb(out), t)
    t8 = torch.from_numpy(img).permute(2, 0, 1)
    np.testing.assert_array_equal(
        rgb2ycbcr(t8).permute(1, 2, 0).numpy(), rgb2ycbcr(img))


def test_ycbcr_errors():
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        rgb2ycbcr(np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r'\(\.\.\., 3, H, W\)'):
        rgb2ycbcr(torch.zeros(1, 4, 8, 8))
    with pytest.raises(ValueError, match='uint8 or float'):
        rgb2ycbcr(np.zeros((8, 8, 3), dtype=np.int16))


# --------------------------------------------------------------------------
# img2tensor / tensor2img
# --------------------------------------------------------------------------
def test_uint8_round_trip_is_exact():
    img = _rgb_uint8()
    t = img2tensor(img)
    assert t.shape == (3, 17, 23) and t.dtype == torch.float32
    assert 0 <= t.min() and t.max() <= 1
    np.testing.assert_array_equal(tensor2img(t), img)
    np.testing.assert_array_equal(tensor2img(t[None]), img)
    # BGR handling (for OpenCV I/O)
    np.testing.assert_array_equal(
        img2tensor(img, bgr2rgb=True).numpy(),
        img2tensor(img[..., ::-1].copy()).numpy())
    np.testing.assert_array_equal(tensor2img(t, rgb2bgr=True), img[..., ::-1])


def test_tensor2img_rounds_and_clamps():
    # 0.3/255 -> 0, 0.7/255 -> 1, values outside [0, 1] clamp
    t = torch.tensor([0.3 / 255, 0.7 / 255, 100.6 / 255, -0.2, 1.3]).view(
        1, 1, 5)
    np.testing.assert_array_equal(tensor2img(t), [[0, 1, 101, 0, 255]])
    # the conversion is round(x * 255) in float32
    x = torch.rand(3, 8, 8)
    expected = (x.numpy() * np.float32(255)).round().astype(np.uint8)
    np.testing.assert_array_equal(tensor2img(x), expected.transpose(1, 2, 0))
    # float output keeps [0, 1] unrounded; min_max maps other ranges
    out = tensor2img(x, out_type=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x.numpy().transpose(1, 2, 0))
    np.testing.assert_array_equal(
        tensor2img(x * 2 - 1, min_max=(-1, 1)), tensor2img(x))


def test_16_bit_round_trip_is_exact():
    codes = np.random.default_rng(2).integers(0, 65536, (9, 11, 3),
                                              dtype=np.uint16)
    codes[0, 0] = (0, 65535, 1)
    t = img2tensor(codes)
    assert t.dtype == torch.float32 and float(t.max()) == 1.0
    np.testing.assert_array_equal(t.numpy(), codes.transpose(2, 0, 1).astype(
        np.float32) / np.float32(65535))
    out = tensor2img(t, out_type=np.uint16)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, codes)
    # clamped and rounded like the 8-bit conversion
    edge = torch.tensor([-0.1, 0.4 / 65535, 0.6 / 65535, 1.2]).view(1, 1, 4)
    np.testing.assert_array_equal(tensor2img(edge, out_type=np.uint16),
                                  [[0, 0, 1, 65535]])
    with pytest.raises(ValueError, match='out_type must be np.uint8, '
                       'np.uint16 or a float type, got int32'):
        tensor2img(t, out_type=np.int32)


def test_batches_lists_and_grayscale():
    batch = torch.rand(3, 3, 6, 7)
    imgs = tensor2img(batch)
    assert isinstance(imgs, list) and len(imgs) == 3
    np.testing.assert_array_equal(imgs[2], tensor2img(batch[2]))
    gray = tensor2img(torch.rand(1, 6, 7))
    assert gray.shape == (6, 7)
    assert tensor2img(torch.rand(6, 7)).shape == (6, 7)
    ts = img2tensor([_rgb_uint8(), _rgb_uint8(seed=1)[:, :, 0]])
    assert [t.shape for t in ts] == [(3, 17, 23), (1, 17, 23)]
    f = img2tensor(np.full((4, 4, 3), 0.25, dtype=np.float64))
    assert f.dtype == torch.float32 and float(f.max()) == 0.25  # not rescaled
    assert img2tensor(np.zeros((4, 4, 3)), float32=False).dtype == \
        torch.float64


def test_conversion_errors():
    with pytest.raises(ValueError, match='got shape'):
        tensor2img(torch.rand(1, 1, 3, 4, 4))
    with pytest.raises(ValueError, match='got shape'):
        img2tensor(np.zeros((1, 4, 4, 3)))
    with pytest.raises(ValueError, match='uint8, uint16 or float'):
        img2tensor(np.zeros((4, 4, 3), dtype=np.int32))
    with pytest.raises(TypeError, match='numpy array'):
        img2tensor('image.png')
