# Copyright (c) invtoolbox contributors. All rights reserved.
"""Transforms of multi-image samples: loading, crops, resizing, dual view,
packing."""
import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from invtoolbox.datasets.transforms import (CenterCropImages,
                                            GenerateDualView, LoadImages,
                                            ModCropImages, PackImages,
                                            RandomCropImages, ResizeImages)
from invtoolbox.registry import TRANSFORMS
from invtoolbox.utils import imresize


def random_image(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(
        0, 256, (h, w, c), dtype=np.uint8)


def sample(*sizes, seed=0):
    """Results with in-memory images of the given (H, W) sizes."""
    return dict(
        key='clip',
        imgs=[random_image(h, w, seed=seed + i)
              for i, (h, w) in enumerate(sizes)])


def one_line(err):
    assert '\n' not in str(err.value)
    return str(err.value)


def test_load_images_reads_rgb_grey_and_rgba(tmp_path):
    rgb = random_image(6, 5)
    grey = random_image(6, 5, 1, seed=1)[:, :, 0]
    rgba = random_image(6, 5, 4, seed=2)
    Image.fromarray(rgb).save(tmp_path / 'a.png')
    Image.fromarray(grey, mode='L').save(tmp_path / 'b.png')
    Image.fromarray(rgba, mode='RGBA').save(tmp_path / 'c.png')
    paths = [str(tmp_path / n) for n in ('a.png', 'b.png', 'c.png')]
    results = TRANSFORMS.build(dict(type='LoadImages'))(dict(img_paths=paths))
    imgs = results['imgs']
    assert [img.dtype for img in imgs] == [np.uint8] * 3
    assert np.array_equal(imgs[0], rgb)
    assert np.array_equal(imgs[1], np.repeat(grey[:, :, None], 3, axis=2))
    c, a = rgba[:, :, :3].astype(int), rgba[:, :, 3:].astype(int)
    on_white = np.floor((c * a + 255 * (255 - a)) / 255 + 0.5)
    assert np.array_equal(imgs[2], on_white)  # composited on white
    dropped = TRANSFORMS.build(dict(type='LoadImages', alpha='drop'))(
        dict(img_paths=paths))['imgs'][2]
    assert np.array_equal(dropped, rgba[:, :, :3])  # the stored colour
    assert results['ori_shapes'] == [(6, 5)] * 3
    assert results['ori_shape'] == (6, 5)


def test_load_images_size_mismatch(tmp_path):
    Image.fromarray(random_image(6, 5)).save(tmp_path / 'a.png')
    Image.fromarray(random_image(7, 4)).save(tmp_path / 'b.png')
    paths = [str(tmp_path / 'a.png'), str(tmp_path / 'b.png')]
    with pytest.raises(ValueError, match='differ in size') as err:
        LoadImages()(dict(img_paths=paths, key='pair'))
    message = one_line(err)
    assert 'a.png' in message and 'b.png' in message and '7x4' in message
    cropped = LoadImages(size_mismatch='crop')(dict(img_paths=paths))
    assert [img.shape for img in cropped['imgs']] == [(6, 4, 3)] * 2
    assert cropped['ori_shapes'] == [(6, 5), (7, 4)]
    kept = LoadImages(size_mismatch='keep')(dict(img_paths=paths))
    assert [img.shape[:2] for img in kept['imgs']] == [(6, 5), (7, 4)]


def test_load_images_bad_input(tmp_path):
    with pytest.raises(ValueError, match="'img_paths'") as err:
        LoadImages()(dict(gt_path='x.png'))
    one_line(err)
    with pytest.raises(FileNotFoundError, match='missing.png'):
        LoadImages()(dict(img_paths=[str(tmp_path / 'missing.png')]))
    with pytest.raises(ValueError, match='size_mismatch must be'):
        LoadImages(size_mismatch='pad')


def test_random_crop_uses_one_window_for_all_images():
    np.random.seed(3)
    results = sample((20, 30), (20, 30), (20, 30))
    originals = [img.copy() for img in results['imgs']]
    out = RandomCropImages(crop_size=(8, 10))(results)
    (top, left, h, w), = set(out['crop_boxes'])
    assert (h, w) == (8, 10)
    for img, original in zip(out['imgs'], originals):
        assert np.array_equal(img, original[top:top + 8, left:left + 10])
    windows = set()
    for seed in range(5):
        np.random.seed(seed)
        windows.add(RandomCropImages(8)(sample((20, 30)))['crop_boxes'][0])
    assert len(windows) > 1  # the window moves


def test_random_crop_own_windows_and_errors():
    np.random.seed(0)
    out = RandomCropImages(8, same_window=False)(sample((20, 30), (40, 12)))
    assert [img.shape for img in out['imgs']] == [(8, 8, 3)] * 2
    with pytest.raises(ValueError, match='differ in size') as err:
        RandomCropImages(8)(sample((20, 30), (40, 12)))
    assert 'same_window=False' in one_line(err)
    with pytest.raises(ValueError, match='smaller than the 16x16 crop') as e:
        RandomCropImages(16)(sample((20, 30), (12, 30)))
    assert "sample 'clip'" in one_line(e)
    with pytest.raises(ValueError, match='crop_size must be a positive'):
        RandomCropImages(0)


def test_center_and_mod_crop():
    results = sample((11, 9), (13, 9))
    originals = [img.copy() for img in results['imgs']]
    out = CenterCropImages((4, 6))(results)
    assert out['crop_boxes'] == [(3, 1, 4, 6), (4, 1, 4, 6)]
    assert np.array_equal(out['imgs'][1], originals[1][4:8, 1:7])
    with pytest.raises(ValueError, match='smaller than the 12x12') as err:
        CenterCropImages(12)(sample((11, 20)))
    one_line(err)
    out = ModCropImages(scale=4)(sample((11, 9), (11, 9)))
    assert [img.shape for img in out['imgs']] == [(8, 8, 3)] * 2
    assert out['scale'] == 4
    with pytest.raises(ValueError, match='smaller than the 4x4 scale'):
        ModCropImages(4)(sample((3, 9)))


def test_resize_images_is_cv2_bilinear():
    results = sample((20, 30), (20, 30))
    originals = [img.copy() for img in results['imgs']]
    out = ResizeImages(size=16)(results)
    for img, original in zip(out['imgs'], originals):
        assert img.dtype == np.uint8
        assert np.array_equal(
            img, cv2.resize(original, (16, 16),
                            interpolation=cv2.INTER_LINEAR))
    halved = ResizeImages(downsample=2)(sample((21, 30)))
    assert halved['imgs'][0].shape == (10, 15, 3)
    with pytest.raises(ValueError, match='either size .* or downsample'):
        ResizeImages(size=8, downsample=2)
    with pytest.raises(ValueError, match='interpolation must be one of'):
        ResizeImages(8, interpolation='lanczos')


def test_generate_dual_view_test_mode():
    hr = random_image(50, 66)
    out = GenerateDualView(view_scale=4)(dict(imgs=[hr], key='0801'))
    lr, crop = out['imgs']
    hr = hr[:48, :64]  # mod-cropped to the view scale
    assert lr.dtype == np.uint8 and lr.shape == (12, 16, 3)
    assert np.array_equal(lr, imresize(hr, 0.25))  # MATLAB bicubic, 8-bit
    assert np.array_equal(crop, hr[18:30, 24:40])  # the centre of the HR
    assert out['view_scale'] == 4


def test_generate_dual_view_training_crop():
    hr = random_image(64, 80)
    lr_full = imresize(hr, 0.5)
    np.random.seed(1)
    lr, crop = GenerateDualView(view_scale=2, crop_size=8)(
        dict(imgs=[hr]))['imgs']
    np.random.seed(1)
    top = np.random.randint(0, 32 - 8 + 1)
    left = np.random.randint(0, 40 - 8 + 1)
    assert np.array_equal(lr, lr_full[top:top + 8, left:left + 8])
    # the HR region under the LR patch (16x16), centre-cropped to 8x8
    region = hr[2 * top:2 * top + 16, 2 * left:2 * left + 16]
    assert np.array_equal(crop, region[4:12, 4:12])


def test_generate_dual_view_errors():
    with pytest.raises(ValueError, match='expects the one HR image') as err:
        GenerateDualView(2)(sample((8, 8), (8, 8)))
    one_line(err)
    with pytest.raises(ValueError, match='smaller than crop_size 16') as err:
        GenerateDualView(4, crop_size=16)(sample((40, 80)))
    one_line(err)
    with pytest.raises(ValueError, match='view_scale must be >= 2'):
        GenerateDualView(1)


def test_pack_images():
    results = sample((4, 5), (4, 5))
    results.update(img_paths=['/d/a.png', '/d/b.png'], sample_idx=3,
                   ori_shape=(4, 5), unrelated='x')
    packed = TRANSFORMS.build(dict(type='PackImages'))(results)
    inputs = packed['inputs']
    assert inputs.shape == (2, 3, 4, 5) and inputs.dtype == torch.uint8
    assert np.array_equal(inputs[1].permute(1, 2, 0).numpy(),
                          results['imgs'][1])
    meta = packed['data_samples'].metainfo
    assert meta['key'] == 'clip' and meta['sample_idx'] == 3
    assert meta['img_paths'] == ['/d/a.png', '/d/b.png']
    assert meta['img_path'] == '/d/a.png' and 'unrelated' not in meta
    mixed = sample((4, 5), (4, 5))
    mixed['imgs'][1] = mixed['imgs'][1].astype(np.float32) / 255.
    floats = PackImages()(mixed)['inputs']
    assert floats.dtype == torch.float32
    assert torch.equal(
        floats[1], torch.from_numpy(mixed['imgs'][1]).permute(2, 0, 1))
    assert torch.allclose(
        floats[0] * 255,
        torch.from_numpy(mixed['imgs'][0]).permute(2, 0, 1).float(),
        atol=1e-4)


def test_pack_images_errors():
    with pytest.raises(ValueError, match='differ in size') as err:
        PackImages()(sample((4, 5), (4, 6)))
    assert 'RandomCropImages' in one_line(err)
    grey = sample((4, 5))
    grey['imgs'][0] = grey['imgs'][0][:, :, :1]
    with pytest.raises(ValueError, match='must be RGB'):
        PackImages()(grey)
    with pytest.raises(ValueError, match="no 'imgs'") as err:
        PackImages()(dict(key='x'))
    one_line(err)
