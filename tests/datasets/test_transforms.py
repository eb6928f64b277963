# Copyright (c) invtoolbox contributors. All rights reserved.
"""The data transforms: loading, crops, augmentation, bicubic LR, packing."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from PIL import Image

from invtoolbox.datasets import ImageFolderDataset
from invtoolbox.datasets.transforms import (Flip, GenerateBicubicLR,
                                            LoadImageFromFile, ModCrop,
                                            PackInputs, PairedRandomCrop,
                                            RandomTranspose)
from invtoolbox.models.data_preprocessors import DataPreprocessor
from invtoolbox.registry import TRANSFORMS
from invtoolbox.structures import DataSample
from invtoolbox.utils import imresize
from tests.helpers import shared_path


def random_image(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(
        0, 256, (h, w, c), dtype=np.uint8)


def load(path, **kwargs):
    return LoadImageFromFile(**kwargs)(dict(gt_path=str(path)))


# --------------------------------------------------------------------------
# LoadImageFromFile
# --------------------------------------------------------------------------
@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_load_rgb_png(tmp_path, backend):
    array = random_image(5, 7)
    Image.fromarray(array).save(tmp_path / 'a.png')
    results = load(tmp_path / 'a.png', imdecode_backend=backend)
    assert results['gt'].dtype == np.uint8
    assert np.array_equal(results['gt'], array)  # RGB order kept
    assert results['gt_ori_shape'] == (5, 7)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_load_grayscale_becomes_rgb(tmp_path, backend):
    grey = random_image(6, 4, 1)[:, :, 0]
    Image.fromarray(grey, mode='L').save(tmp_path / 'g.png')
    img = load(tmp_path / 'g.png', imdecode_backend=backend)['gt']
    assert img.shape == (6, 4, 3)
    for c in range(3):
        assert np.array_equal(img[:, :, c], grey)
    one = load(tmp_path / 'g.png', color_type='grayscale')['gt']
    assert one.shape == (6, 4, 1) and np.array_equal(one[:, :, 0], grey)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_load_rgba_composites_on_white_or_drops_alpha(tmp_path, backend):
    rgba = random_image(4, 5, 4)
    rgba[:, :, 3] = np.arange(20, dtype=np.uint8).reshape(4, 5) * 12
    Image.fromarray(rgba, mode='RGBA').save(tmp_path / 'a.png')
    img = load(tmp_path / 'a.png', imdecode_backend=backend)['gt']
    assert img.shape == (4, 5, 3)
    c, a = rgba[:, :, :3].astype(int), rgba[:, :, 3:].astype(int)
    on_white = np.floor((c * a + 255 * (255 - a)) / 255 + 0.5)
    assert np.array_equal(img, on_white)  # the default: on white
    img = load(tmp_path / 'a.png', imdecode_backend=backend,
               alpha='drop')['gt']
    assert np.array_equal(img, rgba[:, :, :3])  # the stored colour


def test_load_shared_grayscale_bridge():
    path = shared_path('data', 'set14', 'bridge.png')
    img = load(path)['gt']
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    assert np.array_equal(img[:, :, 0], img[:, :, 2])
    assert np.array_equal(img[:, :, 0], np.asarray(Image.open(path)))


@pytest.mark.parametrize('content', [b'', b'not an image at all' * 10])
def test_load_corrupt_file_is_one_line_error(tmp_path, content):
    path = tmp_path / 'broken.png'
    path.write_bytes(content)
    with pytest.raises(ValueError) as err:
        load(path)
    message = str(err.value)
    assert str(path) in message and 'cannot decode' in message
    assert '\n' not in message


def test_load_truncated_png(tmp_path):
    Image.fromarray(random_image(64, 64)).save(tmp_path / 'full.png')
    data = (tmp_path / 'full.png').read_bytes()
    (tmp_path / 'cut.png').write_bytes(data[:len(data) // 3])
    with pytest.raises(ValueError, match='cut.png'):
        load(tmp_path / 'cut.png')


def test_load_missing_file_and_missing_path_key(tmp_path):
    with pytest.raises(FileNotFoundError, match='gone.png'):
        load(tmp_path / 'gone.png')
    with pytest.raises(ValueError, match="'lr_path'"):
        LoadImageFromFile(key='lr')(dict(gt_path='x.png'))
    with pytest.raises(ValueError, match='color_type'):
        LoadImageFromFile(color_type='unchanged')


# --------------------------------------------------------------------------
# ModCrop / PairedRandomCrop
# --------------------------------------------------------------------------
def test_modcrop():
    img = random_image(13, 10)
    results = ModCrop(key='gt', scale=4)(dict(gt=img))
    assert results['gt'].shape == (12, 8, 3)
    assert np.array_equal(results['gt'], img[:12, :8])
    assert results['scale'] == 4
    with pytest.raises(ValueError, match='3x10.*scale 4'):
        ModCrop(scale=4)(dict(gt=random_image(3, 10), key='tiny'))
    with pytest.raises(ValueError, match='positive integer'):
        ModCrop(scale=0)


def test_random_crop_gt_only_covers_every_offset():
    img = random_image(7, 6)
    crop = PairedRandomCrop(gt_patch_size=4, scale=2)
    np.random.seed(0)
    seen = set()
    for _ in range(200):
        patch = crop(dict(gt=img))['gt']
        assert patch.shape == (4, 4, 3)
        matches = [(t, left) for t in range(4) for left in range(3)
                   if np.array_equal(img[t:t + 4, left:left + 4], patch)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == {(t, left) for t in range(4) for left in range(3)}


def test_paired_crop_stays_aligned():
    gt = random_image(12, 16)
    lr = gt[::4, ::4].copy()  # (3, 4): LR patch offsets 0..1 x 0..2
    crop = PairedRandomCrop(gt_patch_size=8, scale=4)
    np.random.seed(1)
    offsets = set()
    for _ in range(100):
        out = crop(dict(gt=gt, lr=lr))
        assert out['gt'].shape == (8, 8, 3) and out['lr'].shape == (2, 2, 3)
        assert np.array_equal(out['gt'][::4, ::4], out['lr'])
        found = [(t, left) for t in range(2) for left in range(3)
                 if np.array_equal(lr[t:t + 2, left:left + 2], out['lr'])]
        assert len(found) == 1
        offsets.add(found[0])
    assert offsets == {(t, left) for t in range(2) for left in range(3)}
    assert out['scale'] == 4


def test_paired_crop_errors():
    with pytest.raises(ValueError, match='multiple of scale'):
        PairedRandomCrop(gt_patch_size=10, scale=4)
    with pytest.raises(ValueError) as err:
        PairedRandomCrop(gt_patch_size=16, scale=2)(
            dict(gt=random_image(10, 30), gt_path='small.png'))
    message = str(err.value)
    assert '10x30' in message and '16x16' in message
    assert 'small.png' in message and '\n' not in message
    with pytest.raises(ValueError, match='not 1/2'):
        PairedRandomCrop(gt_patch_size=4, scale=2)(
            dict(gt=random_image(8, 8), lr=random_image(3, 4)))
    with pytest.raises(ValueError, match="no 'gt' image"):
        PairedRandomCrop(gt_patch_size=4, scale=2)(dict(lr=random_image(4, 4)))


# --------------------------------------------------------------------------
# Flip / RandomTranspose
# --------------------------------------------------------------------------
def test_flip_directions_and_consistency():
    gt, lr = random_image(4, 6), random_image(2, 3, seed=1)
    out = Flip(direction='horizontal', flip_ratio=1.)(dict(gt=gt, lr=lr))
    assert np.array_equal(out['gt'], gt[:, ::-1])
    assert np.array_equal(out['lr'], lr[:, ::-1])
    assert out['flip_horizontal'] is True and out['gt'].flags.c_contiguous
    out = Flip(direction='vertical', flip_ratio=1.)(dict(gt=gt, lr=lr))
    assert np.array_equal(out['gt'], gt[::-1])
    assert np.array_equal(out['lr'], lr[::-1])
    out = Flip(flip_ratio=0.)(dict(gt=gt, lr=lr))
    assert out['gt'] is gt and out['flip_horizontal'] is False
    np.random.seed(3)
    flipped = []
    for _ in range(40):
        out = Flip(flip_ratio=0.5)(dict(gt=gt, lr=lr))
        gt_flipped = not np.array_equal(out['gt'], gt)
        assert gt_flipped == (not np.array_equal(out['lr'], lr))
        assert gt_flipped == out['flip_horizontal']
        flipped.append(gt_flipped)
    assert 0 < sum(flipped) < 40


def test_flip_and_transpose_skip_absent_keys():
    gt = random_image(4, 6)
    assert np.array_equal(
        Flip(flip_ratio=1.)(dict(gt=gt))['gt'], gt[:, ::-1])
    with pytest.raises(ValueError, match='none of the keys'):
        Flip()(dict(img=gt))
    with pytest.raises(ValueError, match='none of the keys'):
        RandomTranspose()(dict(img=gt))
    with pytest.raises(ValueError, match='direction'):
        Flip(direction='diagonal')
    with pytest.raises(ValueError, match='flip_ratio'):
        Flip(flip_ratio=1.5)


def test_transpose():
    gt, lr = random_image(4, 6), random_image(2, 3, seed=1)
    out = RandomTranspose(transpose_ratio=1.)(dict(gt=gt, lr=lr))
    assert out['gt'].shape == (6, 4, 3) and out['lr'].shape == (3, 2, 3)
    assert np.array_equal(out['gt'], gt.transpose(1, 0, 2))
    assert np.array_equal(out['lr'], lr.transpose(1, 0, 2))
    assert out['transpose'] is True
    out = RandomTranspose(transpose_ratio=0.)(dict(gt=gt))
    assert out['gt'] is gt and out['transpose'] is False


def test_irn_augmentation_reaches_all_eight_orientations():
    img = np.arange(4, dtype=np.uint8).reshape(2, 2, 1)
    augment = [Flip(direction='horizontal'), Flip(direction='vertical'),
               RandomTranspose()]
    np.random.seed(0)
    seen = set()
    for _ in range(200):
        results = dict(gt=img)
        for transform in augment:
            results = transform(results)
        seen.add(results['gt'].tobytes())
    assert len(seen) == 8


# --------------------------------------------------------------------------
# GenerateBicubicLR
# --------------------------------------------------------------------------
def test_bicubic_lr_is_matlab_imresize_of_the_float_image():
    gt = random_image(12, 8)
    out = GenerateBicubicLR(scale=2)(dict(gt=gt))
    lr = out['lr']
    assert lr.shape == (6, 4, 3) and lr.dtype == np.float32
    expected = imresize(gt.astype(np.float32) / 255., 0.5)
    assert np.array_equal(lr, expected)
    assert out['scale'] == 2 and out['gt'] is gt
    # bicubic overshoot is kept unless clip=True (IRN keeps it)
    edge = np.zeros((8, 8, 3), np.uint8)
    edge[:, 4:] = 255
    edge[:, 5:] = 0
    unclipped = GenerateBicubicLR(scale=2)(dict(gt=edge))['lr']
    clipped = GenerateBicubicLR(scale=2, clip=True)(dict(gt=edge))['lr']
    assert unclipped.min() < 0
    assert clipped.min() == 0 and clipped.max() <= 1


def test_bicubic_lr_options():
    gt = random_image(8, 8).astype(np.float32) / 255.
    as_uint8 = GenerateBicubicLR(
        scale=4, out_key='ref', round_to_uint8=True)(dict(gt=gt))['ref']
    float_lr = GenerateBicubicLR(scale=4)(dict(gt=gt))['lr']
    assert as_uint8.dtype == np.uint8 and as_uint8.shape == (2, 2, 3)
    assert np.array_equal(as_uint8,
                          np.clip(np.round(float_lr * 255.), 0, 255))
    grey = random_image(6, 6, 1)
    assert GenerateBicubicLR(scale=3)(dict(gt=grey))['lr'].shape == (2, 2, 1)
    with pytest.raises(ValueError) as err:
        GenerateBicubicLR(scale=2)(dict(gt=random_image(7, 8), key='odd'))
    assert '7x8' in str(err.value) and 'ModCrop' in str(err.value)


# --------------------------------------------------------------------------
# PackInputs
# --------------------------------------------------------------------------
def test_pack_inputs():
    gt = random_image(6, 4)
    lr = np.full((3, 2, 3), 1.02, np.float32)  # bicubic overshoot survives
    results = dict(gt=gt, lr=lr, gt_path='d/x.png', gt_ori_shape=(7, 5),
                   key='x', scale=2, flip_horizontal=True)
    packed = PackInputs()(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.shape == (3, 6, 4) and inputs.dtype == torch.float32
    assert torch.equal(inputs,
                       torch.from_numpy(gt).permute(2, 0, 1).float() / 255.)
    assert isinstance(sample, DataSample)
    assert torch.equal(sample.gt_img, inputs)
    assert sample.lr_img.shape == (3, 3, 2)
    assert torch.allclose(sample.lr_img, torch.tensor(1.02))
    assert sample.metainfo == dict(key='x', img_path='d/x.png',
                                   ori_shape=(7, 5), scale=2)


def test_pack_inputs_without_lr_and_custom_fields():
    packed = PackInputs(meta_keys=('key', 'flip_horizontal'))(
        dict(gt=random_image(4, 4), key='k', flip_horizontal=False))
    assert set(packed['data_samples'].keys()) == {'gt_img'}
    assert packed['data_samples'].metainfo == dict(key='k',
                                                   flip_horizontal=False)
    packed = PackInputs(input_key='lr', fields=dict(lr='lr_img'))(
        dict(gt=random_image(4, 4), lr=random_image(2, 2)))
    assert packed['inputs'].shape == (3, 2, 2)
    assert set(packed['data_samples'].keys()) == {'lr_img'}
    with pytest.raises(ValueError, match="no 'gt' image"):
        PackInputs()(dict(lr=random_image(2, 2)))


def test_transforms_are_registered_and_have_repr():
    names = ['LoadImageFromFile', 'ModCrop', 'PairedRandomCrop', 'Flip',
             'RandomTranspose', 'GenerateBicubicLR', 'PackInputs']
    args = dict(ModCrop=dict(scale=2), GenerateBicubicLR=dict(scale=2),
                PairedRandomCrop=dict(gt_patch_size=8, scale=2))
    for name in names:
        transform = TRANSFORMS.build(dict(type=name, **args.get(name, {})))
        assert type(transform).__name__ == name
        assert repr(transform).startswith(name + '(')


def test_dataset_to_model_batch(tmp_path):
    """Dataset -> pseudo_collate -> DataPreprocessor gives an NCHW batch."""
    for i in range(3):
        Image.fromarray(random_image(20, 18, seed=i)).save(tmp_path /
                                                           f'{i}.png')
    dataset = ImageFolderDataset(
        data_root=str(tmp_path),
        pipeline=[
            dict(type='LoadImageFromFile', key='gt'),
            dict(type='PairedRandomCrop', gt_patch_size=12, scale=3),
            dict(type='Flip', direction='vertical'),
            dict(type='RandomTranspose'),
            dict(type='GenerateBicubicLR', scale=3),
            dict(type='PackInputs'),
        ])
    batch = pseudo_collate([dataset[i] for i in range(3)])
    data = DataPreprocessor()(batch)
    assert data['inputs'].shape == (3, 3, 12, 12)
    lr = DataSample.stack(data['data_samples'], 'lr_img')
    assert lr.shape == (3, 3, 4, 4)
    for i, sample in enumerate(data['data_samples']):
        assert sample.key == str(i) and sample.scale == 3
        assert sample.ori_shape == (20, 18)
        expected = imresize(data['inputs'][i].permute(1, 2, 0).numpy(), 1 / 3)
        assert np.allclose(lr[i].permute(1, 2, 0).numpy(), expected,
                           atol=1e-6)


def test_generate_grey_reference_matches_opencv_bgr2gray():
    import cv2

    from invtoolbox.datasets.transforms import GenerateGreyReference
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    out = GenerateGreyReference()(dict(gt=rgb))['lr']
    assert out.shape == (6, 5, 1) and out.dtype == np.float32
    expected = cv2.cvtColor(rgb[:, :, ::-1].astype(np.float32) / 255.,
                            cv2.COLOR_BGR2GRAY)
    assert np.abs(out[:, :, 0] - expected).max() < 1e-6
    with pytest.raises(ValueError, match='expected an RGB image'):
        GenerateGreyReference()(dict(gt=rgb[:, :, :1]))


def test_center_crop_cuts_every_key_at_the_same_place():
    from invtoolbox.datasets.transforms import CenterCrop
    raw = np.arange(6 * 8 * 3, dtype=np.float32).reshape(6, 8, 3)
    results = dict(raw=raw, gt=raw * 2, raw_ori_shape=(6, 8))
    out = CenterCrop((2, 4), keys=('raw', 'gt'))(results)
    assert np.array_equal(out['raw'], raw[2:4, 2:6])
    assert np.array_equal(out['gt'], raw[2:4, 2:6] * 2)
    assert out['raw_ori_shape'] == (2, 4)
    with pytest.raises(ValueError, match='smaller than the crop'):
        CenterCrop(16, keys=('raw', ))(dict(raw=raw))
    with pytest.raises(ValueError, match='one size'):
        CenterCrop(2, keys=('raw', 'gt'))(dict(raw=raw, gt=raw[:4]))
    with pytest.raises(ValueError, match="no 'gt'"):
        CenterCrop(2, keys=('raw', 'gt'))(dict(raw=raw))
    with pytest.raises(ValueError, match='crop_size'):
        CenterCrop((0, 2))
