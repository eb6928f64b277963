# Copyright (c) invtoolbox contributors. All rights reserved.
"""16-bit images from file to model batch: loading, packing, normalising."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from PIL import Image

from invtoolbox.datasets import ImageFolderDataset
from invtoolbox.datasets.transforms import (LoadImageFromFile, PackInputs,
                                            image_to_tensor)
from invtoolbox.models.data_preprocessors import DataPreprocessor
from invtoolbox.structures import DataSample
from tests.helpers import shared_path


def codes16(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 65536, (h, w, c),
                                                dtype=np.uint16)


def load(path, **kwargs):
    return LoadImageFromFile(**kwargs)(dict(gt_path=str(path)))['gt']


def write_rgb16(path, rgb):
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def exif_orientation(value):
    exif = Image.Exif()
    exif[274] = value
    return exif.tobytes()


# --------------------------------------------------------------------------
# LoadImageFromFile(bit_depth=...)
# --------------------------------------------------------------------------
@pytest.mark.parametrize('suffix', ['.png', '.tif'])
def test_16_bit_rgb_keeps_every_code_in_rgb_order(tmp_path, suffix):
    rgb = codes16(5, 7)
    rgb[0, 0] = (65535, 0, 257)  # red, no green, a little blue
    write_rgb16(tmp_path / f'a{suffix}', rgb)
    for depth in (16, None):
        img = load(tmp_path / f'a{suffix}', bit_depth=depth)
        assert img.dtype == np.uint16 and img.shape == (5, 7, 3)
        assert np.array_equal(img, rgb)
    # the default stays 8-bit, in the same channel order
    eight = load(tmp_path / f'a{suffix}')
    assert eight.dtype == np.uint8
    assert np.abs(eight.astype(int) - rgb / 257.).max() <= 1


def test_16_bit_grey_and_rgba(tmp_path):
    grey = codes16(6, 4, 1)[:, :, 0]
    Image.fromarray(grey).save(tmp_path / 'g.png')  # Pillow: mode I;16
    assert Image.open(tmp_path / 'g.png').mode == 'I;16'
    img = load(tmp_path / 'g.png', bit_depth=16)
    assert img.dtype == np.uint16 and img.shape == (6, 4, 3)
    for c in range(3):
        assert np.array_equal(img[:, :, c], grey)
    one = load(tmp_path / 'g.png', bit_depth=16, color_type='grayscale')
    assert one.shape == (6, 4, 1) and np.array_equal(one[:, :, 0], grey)
    rgba = codes16(4, 5, 4, seed=1)
    assert cv2.imwrite(str(tmp_path / 'a.png'), rgba[..., [2, 1, 0, 3]])
    img = load(tmp_path / 'a.png', bit_depth=16, alpha='drop')
    assert np.array_equal(img, rgba[:, :, :3])  # alpha dropped, as at 8 bits


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_16_bit_grey_at_8_bits_is_not_white(tmp_path, backend):
    """Pillow alone clips I;16 to 255; both decoders give the grey here."""
    grey = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 1000 + 300)
    Image.fromarray(grey).save(tmp_path / 'g.png')
    img = load(tmp_path / 'g.png', imdecode_backend=backend)
    assert img.dtype == np.uint8 and img.shape == (6, 8, 3)
    assert np.abs(img[:, :, 0].astype(int) - grey / 257.).max() <= 1
    assert img.min() < 5 and img.max() > 180


def test_exif_orientation_as_in_the_8_bit_path(tmp_path):
    grey = codes16(6, 8, 1, seed=2)[:, :, 0]
    for suffix in ('.png', '.tif'):
        path = tmp_path / f'o{suffix}'
        Image.fromarray(grey).save(path, exif=exif_orientation(6))
        img = load(path, bit_depth=16)
        assert img.shape == (8, 6, 3)  # orientation 6: rotate 90 clockwise
        assert np.array_equal(img[:, :, 1], np.rot90(grey, -1))
        assert load(path).shape == (8, 6, 3)  # the 8-bit path agrees
        assert load(path, imdecode_backend='pillow').shape == (8, 6, 3)
    # an 8-bit file with an orientation, widened exactly
    rgb8 = np.random.default_rng(3).integers(0, 256, (6, 8, 3), np.uint8)
    Image.fromarray(rgb8).save(tmp_path / 'o8.png', exif=exif_orientation(6))
    wide = load(tmp_path / 'o8.png', bit_depth=16)
    assert wide.dtype == np.uint16
    assert np.array_equal(wide, load(tmp_path / 'o8.png').astype(np.uint16) *
                          257)
    assert np.array_equal(load(tmp_path / 'o8.png', bit_depth=None),
                          load(tmp_path / 'o8.png'))


def test_bit_depth_errors(tmp_path):
    with pytest.raises(ValueError, match='bit_depth must be 8, 16 or None'):
        LoadImageFromFile(bit_depth=12)
    assert cv2.imwrite(str(tmp_path / 'f.tif'),
                       np.random.rand(4, 4, 3).astype(np.float32))
    with pytest.raises(ValueError, match="f.tif' holds float32 pixels; "
                       'invtoolbox reads 8- and 16-bit') as err:
        load(tmp_path / 'f.tif', bit_depth=16)
    assert '\n' not in str(err.value)
    (tmp_path / 'bad.png').write_bytes(b'not an image' * 8)
    with pytest.raises(ValueError, match='cannot decode'):
        load(tmp_path / 'bad.png', bit_depth=16)
    assert 'bit_depth=16' in repr(LoadImageFromFile(bit_depth=16))


# --------------------------------------------------------------------------
# PackInputs
# --------------------------------------------------------------------------
def test_pack_passes_16_bit_codes_through():
    gt = codes16(4, 6)
    lr = np.random.rand(2, 3, 3).astype(np.float32)
    packed = PackInputs()(dict(gt=gt, lr=lr, key='k'))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.dtype == torch.int32 and inputs.shape == (3, 4, 6)
    assert np.array_equal(inputs.numpy(), gt.transpose(2, 0, 1))
    assert sample.gt_img.dtype == torch.int32
    assert sample.lr_img.dtype == torch.float32
    assert sample.metainfo == dict(key='k', bit_depths=dict(inputs=16,
                                                            gt_img=16))
    assert sample.get_bit_depth('gt_img') == 16
    assert sample.get_bit_depth('lr_img') is None
    assert sample.get_value_range('gt_img') == (0, 65535)
    # 8-bit images: float32 as before, or uint8 codes with keep_uint8
    img8 = np.random.default_rng(0).integers(0, 256, (4, 6, 3), np.uint8)
    packed = PackInputs()(dict(gt=img8))
    assert packed['inputs'].dtype == torch.float32
    assert 'bit_depths' not in packed['data_samples'].metainfo
    packed = PackInputs(keep_uint8=True)(dict(gt=img8))
    assert packed['inputs'].dtype == torch.uint8
    assert packed['data_samples'].metainfo['bit_depths'] == dict(inputs=8,
                                                                 gt_img=8)
    assert 'keep_uint8=True' in repr(PackInputs(keep_uint8=True))
    # the preprocessor gives the same floats either way, bit for bit
    a = DataPreprocessor()(pseudo_collate([PackInputs()(dict(gt=img8))]))
    b = DataPreprocessor()(pseudo_collate(
        [PackInputs(keep_uint8=True)(dict(gt=img8))]))
    assert torch.equal(a['inputs'], b['inputs'])
    assert torch.equal(a['data_samples'][0].gt_img,
                       b['data_samples'][0].gt_img)


def test_pack_other_dtypes_is_a_one_line_error():
    with pytest.raises(ValueError, match='must be uint8, uint16 or float in '
                       r"\[0, 1\], got int16 \(gt image of sample 'k'\)"):
        PackInputs()(dict(gt=np.zeros((4, 4, 3), np.int16), key='k'))
    with pytest.raises(ValueError, match='got int32'):
        image_to_tensor(np.zeros((4, 4), np.int32))


def test_16_bit_srgb_pipeline_to_model_batch(tmp_path):
    """16-bit PNGs -> crops and flips on uint16 -> int32 -> [0, 1] floats."""
    images = [codes16(12, 10, seed=i) for i in range(3)]
    for i, rgb in enumerate(images):
        write_rgb16(tmp_path / f'{i}.png', rgb)
    dataset = ImageFolderDataset(
        data_root=str(tmp_path),
        pipeline=[
            dict(type='LoadImageFromFile', key='gt', bit_depth=16),
            dict(type='ModCrop', key='gt', scale=4),
            dict(type='Flip', keys=('gt', ), flip_ratio=1.0),
            dict(type='PackInputs'),
        ])
    batch = pseudo_collate([dataset[i] for i in range(3)])
    data = DataPreprocessor()(batch)
    assert data['inputs'].shape == (3, 3, 12, 8)
    assert data['inputs'].dtype == torch.float32
    for i, rgb in enumerate(images):
        expected = rgb[:12, :8][:, ::-1].transpose(2, 0, 1).astype(
            np.float32) / np.float32(65535)
        assert np.array_equal(data['inputs'][i].numpy(), expected)
        assert np.array_equal(data['data_samples'][i].gt_img.numpy(),
                              expected)
        assert data['data_samples'][i].get_bit_depth('inputs') == 16


def test_real_raw_mosaic_from_a_16_bit_png(tmp_path):
    """The Kodak DC50 RAW (14-bit codes, white 16383) saved as a 16-bit
    grey PNG comes back through the pipeline as rawpy's values / 16383."""
    rawpy = pytest.importorskip('rawpy')
    with rawpy.imread(str(shared_path('data', 'raw',
                                      'RAW_KODAK_DC50.KDC'))) as raw:
        mosaic = raw.raw_image_visible.copy()
        white = int(raw.white_level)
    assert mosaic.dtype == np.uint16 and white == 16383
    Image.fromarray(mosaic).save(tmp_path / 'raw.png')
    dataset = ImageFolderDataset(
        data_root=str(tmp_path),
        pipeline=[
            dict(type='LoadImageFromFile', key='gt', bit_depth=16,
                 color_type='grayscale'),
            dict(type='PackInputs'),
        ])
    batch = pseudo_collate([dataset[0]])
    pre = DataPreprocessor(black_level=0, white_level=white)
    data = pre(batch)
    assert data['inputs'].shape == (1, 1, 512, 768)
    expected = mosaic.astype(np.float32) / np.float32(white)
    assert np.array_equal(data['inputs'][0, 0].numpy(), expected)
    assert float(data['inputs'].max()) == 1.0
    # and back to the codes, exactly
    codes = pre.destruct(data['inputs'], data['data_samples'],
                         restore_levels=True)
    assert np.array_equal(codes.round().to(torch.int32)[0, 0].numpy(),
                          mosaic.astype(np.int32))
    # by bit depth instead: / 65535
    by_depth = DataPreprocessor()(pseudo_collate([dataset[0]]))['inputs']
    assert torch.allclose(by_depth * 65535, data['inputs'] * white,
                          atol=2e-3)


def test_data_sample_stack_of_16_bit_codes():
    samples = [PackInputs()(dict(gt=codes16(4, 4, seed=i)))['data_samples']
               for i in range(2)]
    batch = DataSample.stack(samples, 'gt_img')
    assert batch.dtype == torch.int32 and batch.shape == (2, 3, 4, 4)
