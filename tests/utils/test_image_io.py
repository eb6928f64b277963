# Copyright (c) invtoolbox contributors. All rights reserved.
"""``invtoolbox.utils.read_image``: the one image reader (issue 14)."""
import logging
import struct
import warnings
import zlib

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from invtoolbox.datasets.transforms import LoadImageFromFile
from invtoolbox.tasks.single_image_tasks import rgb_to_grey
from invtoolbox.utils import (ALPHA_POLICIES, MAX_IMAGE_PIXELS,
                              ImageReadError, has_alpha, image_size,
                              read_image, warn_alpha_once)
from invtoolbox.utils import image_io


def rng_image(h, w, c=3, seed=0, dtype=np.uint8):
    top = np.iinfo(dtype).max + 1
    return np.random.default_rng(seed).integers(0, top, (h, w, c), dtype)


def exif_bytes(orientation):
    exif = Image.Exif()
    exif[274] = orientation
    return exif.tobytes()


def png_chunk(kind, payload):
    return (struct.pack('>I', len(payload)) + kind + payload +
            struct.pack('>I', zlib.crc32(kind + payload) & 0xffffffff))


def with_png_exif(data, orientation):
    """A PNG with an eXIf chunk (orientation) before its image data."""
    payload = exif_bytes(orientation)
    if payload.startswith(b'Exif\x00\x00'):
        payload = payload[6:]
    at = data.index(b'IDAT') - 4
    return data[:at] + png_chunk(b'eXIf', payload) + data[at:]


def huge_png_header(width, height):
    """A PNG that claims ``width x height`` (8-bit RGB) without the data."""
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', ihdr) +
            png_chunk(b'IDAT', zlib.compress(b'\x00' * 64)) +
            png_chunk(b'IEND', b''))


def one_line(err):
    message = str(err.value)
    assert '\n' not in message and 'Traceback' not in message
    return message


@pytest.fixture
def logged(monkeypatch):
    """The alpha lines logged through print_log, with a fresh 'once'."""
    lines = []
    monkeypatch.setattr(image_io, '_WARNED', set())
    monkeypatch.setattr(
        image_io, 'print_log',
        lambda msg, **kw: lines.append((msg, kw['logger'], kw['level'])))
    return lines


# --------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------
@pytest.mark.parametrize('orientation', [3, 6, 8])
def test_exif_rotated_jpeg_comes_out_upright(tmp_path, orientation):
    stored = rng_image(12, 20)
    path = tmp_path / f'phone{orientation}.jpg'
    Image.fromarray(stored).save(path, quality=95,
                                 exif=exif_bytes(orientation))
    with Image.open(path) as pil:  # Pillow's own transpose of the JPEG
        upright = np.asarray(ImageOps.exif_transpose(pil.convert('RGB')))
    img = read_image(path)
    assert img.dtype == np.uint8
    assert img.shape == ((20, 12, 3) if orientation != 3 else (12, 20, 3))
    assert np.array_equal(img, upright)
    assert image_size(path) == (img.shape[1], img.shape[0])
    # the training transform gives the same pixels
    loaded = LoadImageFromFile()(dict(gt_path=str(path)))['gt']
    assert np.array_equal(loaded, img)


@pytest.mark.parametrize('orientation', range(1, 9))
@pytest.mark.parametrize('suffix', ['.png', '.tif'])
def test_every_orientation_of_16_bit_grey(tmp_path, orientation, suffix):
    """Pillow orients TIFF itself while loading, PNG not: applied once."""
    grey = np.arange(48, dtype=np.uint16).reshape(6, 8) * 1000
    path = tmp_path / f'g{suffix}'
    Image.fromarray(grey).save(path, exif=exif_bytes(orientation))
    # the EXIF definitions, written out
    expected = {
        1: grey, 2: grey[:, ::-1], 3: grey[::-1, ::-1], 4: grey[::-1],
        5: grey.T, 6: np.rot90(grey, -1), 7: np.rot90(grey, 2).T,
        8: np.rot90(grey, 1)
    }[orientation]
    for source in (path, path.read_bytes()):
        img = read_image(source, bit_depth=16, channels=1)
        assert np.array_equal(img[:, :, 0], expected)
    assert image_size(path) == expected.shape[::-1]


def test_16_bit_rgb_png_orientation_applied_by_us(tmp_path):
    """OpenCV decodes 16-bit colour with IMREAD_UNCHANGED, which ignores
    EXIF; the orientation comes from the header."""
    rgb = rng_image(5, 7, dtype=np.uint16)
    ok, data = cv2.imencode('.png', rgb[:, :, ::-1])
    path = tmp_path / 'r6.png'
    path.write_bytes(with_png_exif(data.tobytes(), 6))
    img = read_image(path, bit_depth=16)
    assert img.dtype == np.uint16
    assert np.array_equal(img, np.rot90(rgb, -1))
    assert image_size(path) == (5, 7)


# --------------------------------------------------------------------------
# bit depth
# --------------------------------------------------------------------------
def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path):
    codes = [0, 65535, 32896, 257 * 3, 257 * 200, 128, 129, 257 * 7 + 128,
             257 * 7 + 129, 65407]
    expected = [0, 255, 128, 3, 200, 0, 1, 7, 8, 255]  # round(v / 257)
    grey = np.array([codes], np.uint16)
    Image.fromarray(grey).save(tmp_path / 'g.png')
    assert Image.open(tmp_path / 'g.png').mode == 'I;16'
    img = read_image(tmp_path / 'g.png')
    assert img.dtype == np.uint8 and img.shape == (1, len(codes), 3)
    for c in range(3):
        assert img[0, :, c].tolist() == expected
    assert read_image(tmp_path / 'g.png', channels=1)[0, :, 0].tolist() == \
        expected
    wide = read_image(tmp_path / 'g.png', bit_depth=None, channels=1)
    assert wide.dtype == np.uint16 and wide[0, :, 0].tolist() == codes


@pytest.mark.parametrize('suffix', ['.png', '.tif'])
def test_16_bit_rgb_rounded_at_8_bits_exact_at_16(tmp_path, suffix):
    rgb = rng_image(6, 5, dtype=np.uint16)
    rgb[0, 0] = (129, 200, 65407)  # v >> 8 would give (0, 0, 255)
    path = tmp_path / f'c{suffix}'
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])
    assert np.array_equal(read_image(path, bit_depth=16), rgb)
    assert np.array_equal(read_image(path, bit_depth=None), rgb)
    img = read_image(path)
    assert img.dtype == np.uint8
    assert img[0, 0].tolist() == [1, 1, 255]
    assert np.array_equal(img, np.floor(rgb / 257. + 0.5))


def test_8_bit_widened_exactly(tmp_path):
    rgb = rng_image(4, 6)
    rgb[0, 0] = (0, 1, 255)
    Image.fromarray(rgb).save(tmp_path / 'a.png')
    wide = read_image(tmp_path / 'a.png', bit_depth=16)
    assert wide.dtype == np.uint16 and wide[0, 0].tolist() == [0, 257, 65535]
    assert np.array_equal(wide, rgb.astype(np.uint16) * 257)
    assert read_image(tmp_path / 'a.png', bit_depth=None).dtype == np.uint8


# --------------------------------------------------------------------------
# alpha
# --------------------------------------------------------------------------
def rgba_file(tmp_path):
    rgba = np.array([[[200, 10, 0, 128], [0, 0, 0, 0], [100, 50, 25, 255],
                      [255, 255, 255, 1], [10, 20, 30, 51]]], np.uint8)
    Image.fromarray(rgba, mode='RGBA').save(tmp_path / 'a.png')
    return tmp_path / 'a.png', rgba


def test_rgba_composited_on_white_and_black(tmp_path, logged):
    path, rgba = rgba_file(tmp_path)
    # round((c a + b (255 - a)) / 255), worked by hand
    on_white = [[227, 132, 127], [255, 255, 255], [100, 50, 25],
                [255, 255, 255], [206, 208, 210]]
    on_black = [[100, 5, 0], [0, 0, 0], [100, 50, 25], [1, 1, 1],
                [2, 4, 6]]
    assert read_image(path)[0].tolist() == on_white
    assert read_image(path, background=(0, 0, 0))[0].tolist() == on_black
    assert read_image(path, alpha='drop')[0].tolist() == \
        rgba[0, :, :3].tolist()
    # at 16 bits the background is scaled: 65535 * 32768 / 65535 on black
    rgba16 = np.zeros((1, 2, 4), np.uint16)
    rgba16[0, 0] = (65535, 0, 1000, 32768)
    rgba16[0, 1] = (5, 6, 7, 0)
    assert cv2.imwrite(str(tmp_path / 'a16.png'), rgba16[:, :, [2, 1, 0, 3]])
    img = read_image(tmp_path / 'a16.png', bit_depth=16,
                     background=(0, 0, 0))
    assert img[0].tolist() == [[32768, 0, 500], [0, 0, 0]]
    img = read_image(tmp_path / 'a16.png', bit_depth=16,
                     background=(255, 128, 0))
    assert img[0].tolist() == [[65535, 16448, 500], [65535, 32896, 0]]
    # said once per policy (and background), through mmengine's logger
    assert [line[1:] for line in logged] == [('current', logging.WARNING)] * 4
    assert 'composited on white (255, 255, 255)' in logged[0][0]
    assert "alpha='refuse'" in logged[0][0] and str(path) in logged[0][0]
    assert 'composited on black (0, 0, 0)' in logged[1][0]
    assert "alpha='drop'" in logged[2][0] and 'dropped' in logged[2][0]
    assert '(255, 128, 0)' in logged[3][0]
    read_image(path)
    read_image(path, alpha='drop')
    assert len(logged) == 4


def test_alpha_refused_in_one_line(tmp_path, logged):
    path, _ = rgba_file(tmp_path)
    with pytest.raises(ImageReadError) as err:
        read_image(path, alpha='refuse')
    message = one_line(err)
    assert str(path) in message and "alpha='refuse'" in message
    assert "alpha='composite'" in message and "alpha='drop'" in message
    assert logged == []
    with pytest.raises(ImageReadError, match='<bytes>'):
        read_image(path.read_bytes(), alpha='refuse')
    with pytest.raises(ImageReadError, match=r'a\.png'):
        LoadImageFromFile(alpha='refuse')(dict(gt_path=str(path)))
    # images without alpha are read as usual
    Image.fromarray(rng_image(3, 3)).save(tmp_path / 'b.png')
    assert read_image(tmp_path / 'b.png', alpha='refuse').shape == (3, 3, 3)


def test_la_and_palette_transparency(tmp_path, logged):
    la = np.array([[[100, 128], [7, 255], [0, 0]]], np.uint8)
    Image.fromarray(la, mode='LA').save(tmp_path / 'la.png')
    assert has_alpha(tmp_path / 'la.png')
    img = read_image(tmp_path / 'la.png')
    assert img[0].tolist() == [[177] * 3, [7] * 3, [255] * 3]
    # a coloured background makes the grey+alpha image a colour one
    img = read_image(tmp_path / 'la.png', background=(0, 0, 255))
    assert img[0].tolist() == [[50, 50, 177], [7, 7, 7], [0, 0, 255]]
    assert read_image(tmp_path / 'la.png', channels=1)[0, :, 0].tolist() == \
        [177, 7, 255]
    # palette with a transparent index
    pal = Image.new('P', (3, 1))
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    pal.putdata([0, 1, 2])
    pal.save(tmp_path / 'p.png', transparency=1)
    assert has_alpha(tmp_path / 'p.png')
    img = read_image(tmp_path / 'p.png', background=(9, 9, 9))
    assert img[0].tolist() == [[255, 0, 0], [9, 9, 9], [0, 0, 255]]
    assert read_image(tmp_path / 'p.png', alpha='drop')[0].tolist() == \
        [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    with pytest.raises(ImageReadError, match="alpha='refuse'"):
        read_image(tmp_path / 'p.png', alpha='refuse')
    pal.save(tmp_path / 'opaque.png')
    assert not has_alpha(tmp_path / 'opaque.png')
    assert read_image(tmp_path / 'opaque.png')[0, 1].tolist() == [0, 255, 0]


# --------------------------------------------------------------------------
# channels and modes
# --------------------------------------------------------------------------
def test_grey_to_three_channels_and_colour_to_one(tmp_path):
    grey = rng_image(5, 6, 1)[:, :, 0]
    Image.fromarray(grey, mode='L').save(tmp_path / 'g.png')
    img = read_image(tmp_path / 'g.png')
    assert img.shape == (5, 6, 3)
    assert all(np.array_equal(img[:, :, c], grey) for c in range(3))
    assert np.array_equal(read_image(tmp_path / 'g.png', channels=1)[..., 0],
                          grey)
    rgb = rng_image(5, 6)
    rgb[0, :3] = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    Image.fromarray(rgb).save(tmp_path / 'c.png')
    one = read_image(tmp_path / 'c.png', channels=1)
    assert one.shape == (5, 6, 1) and one.dtype == np.uint8
    assert one[0, :3, 0].tolist() == [76, 150, 29]  # BT.601 of 255
    # the grey of GrayscaleEmbedding's default (OpenCV 4 fixed point)
    ref = rgb_to_grey(torch.from_numpy(rgb).permute(2, 0, 1)[None] / 255.)
    assert np.array_equal(one[:, :, 0],
                          (ref[0, 0] * 255).round().byte().numpy())
    # 16-bit colour keeps its depth through the grey conversion
    rgb16 = rgb.astype(np.uint16) * 257
    assert cv2.imwrite(str(tmp_path / 'c16.png'), rgb16[:, :, ::-1])
    one16 = read_image(tmp_path / 'c16.png', channels=1, bit_depth=16)
    assert one16.dtype == np.uint16
    assert np.abs(one16.astype(int) - one.astype(int) * 257).max() <= 257


def test_cmyk_and_32_bit_integer_and_float(tmp_path):
    cmyk = Image.fromarray(rng_image(4, 4, 4), mode='CMYK')
    cmyk.save(tmp_path / 'k.jpg', quality=95)
    with Image.open(tmp_path / 'k.jpg') as pil:
        assert pil.mode == 'CMYK'
        expected = np.asarray(pil.convert('RGB'))
    assert np.array_equal(read_image(tmp_path / 'k.jpg'), expected)
    codes = np.array([[0, 257, 65535]], np.int32)
    Image.fromarray(codes, mode='I').save(tmp_path / 'i.tif')
    assert read_image(tmp_path / 'i.tif', channels=1)[0, :, 0].tolist() == \
        [0, 1, 255]
    Image.fromarray(codes * 2, mode='I').save(tmp_path / 'big.tif')
    with pytest.raises(ImageReadError) as err:
        read_image(tmp_path / 'big.tif')
    assert 'outside 0..65535' in one_line(err)
    Image.fromarray(np.full((2, 2), 0.5, np.float32)).save(tmp_path / 'f.tif')
    assert cv2.imwrite(str(tmp_path / 'f3.tif'),
                       np.random.rand(4, 4, 3).astype(np.float32))
    for name in ('f.tif', 'f3.tif'):
        with pytest.raises(ImageReadError) as err:
            read_image(tmp_path / name)
        message = one_line(err)
        assert name in message and 'float32' in message
        assert '16-bit PNG' in message


# --------------------------------------------------------------------------
# limits and broken files
# --------------------------------------------------------------------------
@pytest.mark.parametrize('side', [40000, 100000])
def test_too_many_pixels_is_one_line(tmp_path, side):
    """40000^2 is between our limit and Pillow's error (twice it), 100000^2
    beyond: neither warns nor leaks a DecompressionBombError."""
    path = tmp_path / 'huge.png'
    path.write_bytes(huge_png_header(side, side))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for call in (read_image, image_size):
            with pytest.raises(ImageReadError) as err:
                call(path)
            message = one_line(err)
            assert f'huge.png\' is {side}x{side} = {side**2 / 1e6:.1f} ' \
                'megapixels' in message
            assert f'limit {MAX_IMAGE_PIXELS / 1e6:.1f}' in message
            assert f'INVTB_MAX_IMAGE_PIXELS={side**2}' in message
    assert has_alpha(path) is False  # header only: no limit, no decoding


def test_pixel_limit_argument_and_environment(tmp_path, monkeypatch):
    Image.fromarray(rng_image(10, 12)).save(tmp_path / 'a.png')
    assert read_image(tmp_path / 'a.png', max_pixels=120).shape == (10, 12, 3)
    with pytest.raises(ImageReadError, match=r'12x10 = 0.0 megapixels'):
        read_image(tmp_path / 'a.png', max_pixels=119)
    monkeypatch.setenv('INVTB_MAX_IMAGE_PIXELS', '100')
    with pytest.raises(ImageReadError, match='INVTB_MAX_IMAGE_PIXELS=120'):
        read_image(tmp_path / 'a.png')
    with pytest.raises(ImageReadError, match='above the limit'):
        LoadImageFromFile()(dict(gt_path=str(tmp_path / 'a.png')))
    assert read_image(tmp_path / 'a.png', max_pixels=200).shape[:2] == (10, 12)
    monkeypatch.setenv('INVTB_MAX_IMAGE_PIXELS', 'lots')
    with pytest.raises(ValueError, match="INVTB_MAX_IMAGE_PIXELS='lots'"):
        read_image(tmp_path / 'a.png')
    # Pillow's own limit is ours
    assert MAX_IMAGE_PIXELS == 2**30 and Image.MAX_IMAGE_PIXELS == 2**30


@pytest.mark.parametrize('content', [b'', b'not an image at all' * 10])
def test_corrupt_file_is_one_line(tmp_path, content):
    path = tmp_path / 'broken.png'
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as err:
        read_image(path)
    message = one_line(err)
    assert f"'{path}'" in message and f'({len(content)} bytes' in message


@pytest.mark.parametrize('suffix', ['.png', '.jpg', '.tif'])
def test_truncated_file_is_one_line(tmp_path, suffix):
    Image.fromarray(rng_image(64, 64)).save(tmp_path / f'full{suffix}')
    data = (tmp_path / f'full{suffix}').read_bytes()
    cut = data[:len(data) // 3]
    (tmp_path / f'cut{suffix}').write_bytes(cut)
    with pytest.raises(ImageReadError) as err:
        read_image(tmp_path / f'cut{suffix}')
    message = one_line(err)
    assert f'cut{suffix}' in message and f'({len(cut)} bytes' in message
    with pytest.raises(ImageReadError,
                       match=r"'frame 3' as an image \(\d+ bytes"):
        read_image(cut, name='frame 3')


def test_16_bit_rgb_truncated_is_one_line(tmp_path):
    assert cv2.imwrite(str(tmp_path / 'c.png'),
                       rng_image(64, 64, dtype=np.uint16))
    data = (tmp_path / 'c.png').read_bytes()
    with pytest.raises(ImageReadError) as err:
        read_image(data[:len(data) // 2])
    assert "'<bytes>'" in one_line(err)


def test_bytes_missing_file_and_options(tmp_path):
    rgb = rng_image(3, 4)
    Image.fromarray(rgb).save(tmp_path / 'a.png')
    data = (tmp_path / 'a.png').read_bytes()
    for source in (data, bytearray(data), memoryview(data),
                   str(tmp_path / 'a.png')):
        img = read_image(source)
        assert np.array_equal(img, rgb) and img.flags.writeable
        assert img.flags.c_contiguous
    assert image_size(data) == (4, 3) and not has_alpha(data)
    with pytest.raises(FileNotFoundError) as err:
        read_image(tmp_path / 'gone.png')
    assert 'gone.png' in one_line(err)
    with pytest.raises(FileNotFoundError, match='gone.png'):
        image_size(tmp_path / 'gone.png')
    with pytest.raises(ImageReadError, match='is a folder'):
        read_image(tmp_path)
    for bad in (dict(channels=2), dict(bit_depth=12), dict(alpha='ignore'),
                dict(background=(256, 0, 0)), dict(background='white'),
                dict(max_pixels=0)):
        with pytest.raises(ValueError) as err:
            read_image(data, **bad)
        assert list(bad)[0] in one_line(err)
    assert ALPHA_POLICIES == ('composite', 'refuse', 'drop')
    with pytest.raises(ValueError, match='policy'):
        warn_alpha_once('x.png', 'ignore', (0, 0, 0))


# --------------------------------------------------------------------------
# the training transform reads what read_image reads
# --------------------------------------------------------------------------
def _write_cases(folder):
    """name -> path of each kind of file above."""
    grey16 = (np.arange(30, dtype=np.uint16).reshape(5, 6) * 2000)
    Image.fromarray(grey16).save(folder / 'grey16.png',
                                 exif=exif_bytes(6))
    assert cv2.imwrite(str(folder / 'rgb16.png'),
                       rng_image(5, 6, dtype=np.uint16))
    assert cv2.imwrite(str(folder / 'rgba16.tif'),
                       rng_image(5, 6, 4, dtype=np.uint16))
    Image.fromarray(rng_image(5, 6, 4), mode='RGBA').save(folder / 'rgba.png')
    Image.fromarray(rng_image(5, 6, 2), mode='LA').save(folder / 'la.png')
    Image.fromarray(rng_image(5, 6, 1)[:, :, 0], mode='L').save(
        folder / 'grey.png')
    Image.fromarray(rng_image(12, 20)).save(folder / 'phone.jpg',
                                            exif=exif_bytes(8))
    pal = Image.fromarray(rng_image(5, 6, 1)[:, :, 0] % 4, mode='P')
    pal.putpalette(list(range(12)) + [0] * 756)
    pal.save(folder / 'pal.png', transparency=2)
    Image.fromarray(rng_image(5, 6, 4), mode='CMYK').save(folder / 'k.jpg')
    return sorted(folder.iterdir())


@pytest.mark.parametrize('options', [
    dict(), dict(color_type='grayscale'), dict(bit_depth=16),
    dict(bit_depth=None), dict(alpha='drop'),
    dict(background=(0, 128, 255), imdecode_backend='pillow')
])
def test_load_image_from_file_is_read_image(tmp_path, options, logged):
    read_options = dict(
        channels=1 if options.get('color_type') == 'grayscale' else 3,
        bit_depth=options.get('bit_depth', 8),
        alpha=options.get('alpha', 'composite'),
        background=options.get('background', (255, 255, 255)))
    loader = LoadImageFromFile(**options)
    for path in _write_cases(tmp_path):
        expected = read_image(path, **read_options)
        img = loader(dict(gt_path=str(path)))['gt']
        assert img.dtype == expected.dtype, path.name
        assert np.array_equal(img, expected), path.name
