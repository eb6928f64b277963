# Copyright (c) invtoolbox contributors. All rights reserved.
"""Images through a learned codec and ``.itb`` files: padding and cropping,
the weights fingerprint, one-line errors for other weights and bad images,
atomic files. The codec is the TEST-ONLY pooling codec of
``codec_test_model.py``; its decoding is lossy, so the expected images are
computed independently with numpy."""
import os

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from invtoolbox.apis.codec_file import CodecFile, pack, unpack
from invtoolbox.apis.codec_inference import (
    codec_padding, compress_image, decode_image_file, decompress_image,
    encode_image_file, read_rgb8, roundtrip_image, weights_fingerprint)
from invtoolbox.errors import CodecFileError, InvToolboxError
from tests.apis.codec_test_model import TinyPoolCodec, TinyPoolCodecNet


def model_with(gain=1.0):
    model = TinyPoolCodec().eval()
    with torch.no_grad():
        model.generator.gain.fill_(gain)
    return model


def expected_decoding(image, padding, gain=1.0):
    """The pooling codec's output, in numpy: zero padding, 8x8 means of
    ``x * gain`` rounded to bytes, nearest upsampling, ``/ gain``, crop."""
    top, bottom, left, right = padding
    x = np.pad(
        image.astype(np.float64) / 255,
        ((top, bottom), (left, right), (0, 0))) * gain
    h, w = x.shape[0] // 8, x.shape[1] // 8
    means = x.reshape(h, 8, w, 8, 3).mean(axis=(1, 3))
    q = np.clip(np.round(means * 255), 0, 255) / 255 / gain
    up = np.clip(q.repeat(8, 0).repeat(8, 1), 0, 1)
    crop = up[top:top + image.shape[0], left:left + image.shape[1]]
    return np.round(crop * 255).astype(np.uint8)


def random_image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def one_line(err):
    text = str(err.value)
    assert '\n' not in text, text
    return text


@pytest.mark.parametrize('size,multiple,padding', [
    ((64, 64), 64, (0, 0, 0, 0)),
    ((45, 70), 16, (1, 2, 5, 5)),
    ((45, 70), 64, (9, 10, 29, 29)),
    ((1, 65), 64, (31, 32, 31, 32)),
])
def test_padding_is_split_as_the_official_evaluation(size, multiple, padding):
    # official: padding_left = (new_w - w) // 2, the rest on the right
    assert codec_padding(*size, multiple) == padding


@pytest.mark.parametrize('size', [(45, 70), (16, 16), (1, 1), (33, 17)])
def test_roundtrip_crops_back_to_the_original_size(size):
    model = model_with(0.9)
    image = random_image(*size)
    data, decoded = roundtrip_image(model, image)
    assert decoded.dtype == np.uint8 and decoded.shape == image.shape
    cf = unpack(data)
    assert (cf.height, cf.width) == size
    assert cf.padding == codec_padding(*size, 16)  # model.pad_multiple
    assert cf.model_id == 'TinyPoolCodec' and len(cf.strings) == 2
    expected = expected_decoding(image, cf.padding, 0.9)
    assert np.abs(decoded.astype(int) - expected).max() <= 1
    assert np.array_equal(decompress_image(model, data), decoded)


def test_a_flat_image_decodes_flat_away_from_the_padding():
    model = model_with()
    image = np.full((45, 70, 3), 100, np.uint8)
    data, decoded = roundtrip_image(model, image)
    top, _, left, _ = unpack(data).padding  # 1, 5: blocks start at -1, -5
    assert np.all(decoded[8 - top:-8, 8 - left:-8] == 100)
    assert decoded[0, 0, 0] < 100  # the block shared with zero padding


def test_defaults_for_networks_without_pad_multiple_or_codec_id():
    # a bare CompressAI-style network: 64, its class name, its own weights
    net = TinyPoolCodecNet().eval()
    image = random_image(45, 70)
    data, decoded = roundtrip_image(net, image)
    cf = unpack(data)
    assert cf.padding == (9, 10, 29, 29) and cf.latent_shape == (8, 16)
    assert cf.model_id == 'TinyPoolCodecNet'
    assert cf.fingerprint == weights_fingerprint(net)
    assert np.abs(decoded.astype(int) -
                  expected_decoding(image, cf.padding)).max() <= 1


def test_tables_are_built_before_coding_and_enter_the_fingerprint():
    model = model_with(0.5)
    generator = model.generator
    assert not bool(generator.tables_built)
    empty = weights_fingerprint(generator)
    compress_image(model, random_image(16, 16))
    assert bool(generator.tables_built)
    assert generator.cdf_table.tolist() == [500] * 3
    built = weights_fingerprint(generator)
    assert built != empty
    assert model.update(force=False) is False  # nothing left to build


def test_the_fingerprint_sees_every_parameter_and_buffer():
    a, b = model_with(), model_with()
    assert weights_fingerprint(a) == weights_fingerprint(b)
    assert len(weights_fingerprint(a)) == 16
    with torch.no_grad():
        b.generator.gain[2] += 1e-7
    assert weights_fingerprint(a.generator) != weights_fingerprint(b.generator)
    c = model_with()
    c.generator.cdf_table[0] = 1
    assert weights_fingerprint(c.generator) != weights_fingerprint(a.generator)
    d = model_with()
    d.generator.cdf_table = d.generator.cdf_table.to(torch.int64)
    assert weights_fingerprint(d.generator) != weights_fingerprint(a.generator)
    # key names count (same bytes under another name)
    e = torch.nn.Module()
    e.register_buffer('x', torch.zeros(2))
    f = torch.nn.Module()
    f.register_buffer('y', torch.zeros(2))
    assert weights_fingerprint(e) != weights_fingerprint(f)


def test_other_weights_or_another_codec_are_refused():
    image = random_image(20, 30)
    data = compress_image(model_with(1.0), image)
    other = model_with(0.8)
    with pytest.raises(CodecFileError) as err:
        decompress_image(other, data, source='a.itb')
    text = one_line(err)
    encoder = model_with(1.0)
    encoder.update()  # the tables as the encoder had them
    mine = weights_fingerprint(encoder.generator)
    other.update()
    theirs = weights_fingerprint(other.generator)
    assert text == (
        f'a.itb was made with other weights (fingerprint {mine.hex()}, these '
        f'weights {theirs.hex()}): decode with the checkpoint it was encoded '
        'with.')
    foreign = unpack(data)
    foreign.model_id = 'InvCompress'
    with pytest.raises(CodecFileError) as err:
        decompress_image(other, pack(foreign), source='a.itb')
    assert "made by the codec 'InvCompress', this model is 'TinyPoolCodec'" \
        in one_line(err)


def test_a_file_that_does_not_fit_the_decoder_is_refused():
    model = model_with()
    cf = unpack(compress_image(model, random_image(16, 16)))
    cf.padding = (0, 0, 0, 8)  # says 16 x 24, the strings hold 16 x 16
    with pytest.raises(CodecFileError, match='does not fit this model'):
        decompress_image(model, pack(cf))


def test_bad_images_and_models():
    model = model_with()
    bad_images = (np.zeros((4, 4), np.uint8), np.zeros(
        (4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8), [[1, 2, 3]])
    for bad in bad_images:
        with pytest.raises(ValueError, match='expected a uint8 RGB image'):
            compress_image(model, bad)
    with pytest.raises(ValueError, match='is not a learned codec'):
        compress_image(torch.nn.Conv2d(3, 3, 1), random_image(8, 8))


def save(path, array, **kw):
    Image.fromarray(array).save(path, **kw)
    return path


def test_read_rgb8_converts_grey_and_palette(tmp_path):
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    out = read_rgb8(save(tmp_path / 'g.png', grey))
    assert out.shape == (6, 8, 3) and np.array_equal(out[..., 1], grey)
    rgb = random_image(6, 8)
    palette = Image.fromarray(rgb).quantize(16)
    palette.save(tmp_path / 'p.png')
    expected = np.asarray(palette.convert('RGB'))
    assert np.array_equal(read_rgb8(tmp_path / 'p.png'), expected)
    assert np.array_equal(read_rgb8(save(tmp_path / 'c.png', rgb)), rgb)


@pytest.mark.parametrize('kind,fragment', [
    ('rgba', 'has transparency (mode RGBA)'),
    ('la', 'has transparency (mode LA)'),
    ('trns', 'has transparency (mode RGB)'),
    ('palette_trns', 'has transparency (mode P)'),
    ('grey16', 'more than 8 bits per sample (mode I;16'),
    ('rgb16', 'more than 8 bits per sample (mode RGB, stored as RGB;16B)'),
    ('float', 'more than 8 bits per sample (mode F'),
    ('cmyk', 'colour mode CMYK'),
    ('text', 'cannot read image'),
    ('cut', 'cannot read image'),
])
def test_read_rgb8_rejects_with_one_line(tmp_path, kind, fragment):
    path = tmp_path / f'{kind}.png'
    rgb = random_image(6, 8)
    if kind == 'rgba':
        save(path, np.dstack([rgb, rgb[..., :1]]))
    elif kind == 'la':
        Image.fromarray(rgb[..., :2].copy(), 'LA').save(path)
    elif kind == 'trns':
        save(path, rgb, transparency=(0, 0, 0))
    elif kind == 'palette_trns':
        Image.fromarray(rgb).quantize(4).save(path, transparency=0)
    elif kind == 'grey16':
        save(path, (rgb[..., 0].astype(np.uint16) * 257))
    elif kind == 'rgb16':
        cv2.imwrite(str(path), rgb.astype(np.uint16) * 257)
    elif kind == 'float':
        path = save(tmp_path / 'f.tif', rgb[..., 0].astype(np.float32))
    elif kind == 'cmyk':
        path = tmp_path / 'c.jpg'
        Image.fromarray(rgb).convert('CMYK').save(path)
    elif kind == 'text':
        path.write_text('not an image')
    elif kind == 'cut':
        save(path, random_image(64, 64))
        path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InvToolboxError) as err:
        read_rgb8(path)
    assert isinstance(err.value, ValueError)
    text = one_line(err)
    assert fragment in text and repr(str(path)) in text


def test_read_rgb8_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        read_rgb8(tmp_path / 'missing.png')
    with pytest.raises(ValueError, match='is a folder'):
        read_rgb8(tmp_path)


def test_image_files_round_trip(tmp_path):
    model = model_with()
    image = random_image(45, 70)
    src = save(tmp_path / 'in.png', image)
    stats = encode_image_file(model, src, tmp_path / 'a.itb')
    data = (tmp_path / 'a.itb').read_bytes()
    cf = unpack(data)
    assert stats['bytes'] == len(data)
    assert stats['header_bytes'] == len(data) - cf.payload_bytes
    assert stats['bpp'] == pytest.approx(8 * len(data) / (45 * 70))
    assert (stats['height'], stats['width']) == (45, 70)
    back = decode_image_file(model, tmp_path / 'a.itb', tmp_path / 'out.png')
    assert back['bytes'] == len(data) and back['bpp'] == stats['bpp']
    with Image.open(tmp_path / 'out.png') as img:
        assert img.format == 'PNG' and img.mode == 'RGB'
        decoded = np.asarray(img)
    assert np.array_equal(decoded, decompress_image(model, data))
    assert sorted(os.listdir(tmp_path)) == ['a.itb', 'in.png', 'out.png']


def test_failures_write_nothing(tmp_path):
    model = model_with()
    itb = tmp_path / 'a.itb'
    encode_image_file(model, save(tmp_path / 'in.png', random_image(8, 8)),
                      itb)
    out = tmp_path / 'out.png'
    out.write_bytes(b'old')
    with pytest.raises(CodecFileError):  # other weights
        decode_image_file(model_with(0.5), itb, out)
    itb.write_bytes(itb.read_bytes()[:-1])
    with pytest.raises(CodecFileError, match='truncated'):
        decode_image_file(model, itb, out)
    assert out.read_bytes() == b'old'
    with pytest.raises(ValueError, match='is the input'):
        encode_image_file(model, tmp_path / 'in.png', tmp_path / 'in.png')
    assert read_rgb8(tmp_path / 'in.png').shape == (8, 8, 3)
    assert sorted(os.listdir(tmp_path)) == ['a.itb', 'in.png', 'out.png']


def test_strings_are_stored_in_the_order_compress_returns():
    model = model_with()
    image = random_image(16, 32)
    cf = unpack(compress_image(model, image))
    enc = model.compress(
        torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)
    assert cf.strings == [s[0] for s in enc['strings']]
    assert cf.latent_shape == tuple(enc['shape'])
    assert isinstance(cf, CodecFile)
