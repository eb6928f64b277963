# Copyright (c) invtoolbox contributors. All rights reserved.
"""The ``.itb`` container: the documented byte layout, round trips of
random headers, and a one-line :class:`CodecFileError` for every damaged
file (each prefix, each flipped byte, foreign files, newer versions)."""
import binascii
import os
import struct
import zlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from invtoolbox.apis.codec_file import (FORMAT_VERSION, MAGIC, CodecFile, pack,
                                        read_codec_file, unpack,
                                        write_codec_file)
from invtoolbox.errors import CodecFileError, InvToolboxError
from tests.helpers import shared_path

FP = bytes(range(16))


def sample(**kw):
    fields = dict(model_id='InvCompress',
                  fingerprint=FP,
                  height=45,
                  width=70,
                  padding=(9, 10, 0, 58),
                  latent_shape=(1, 2),
                  strings=[b'\x01' * 300, b'\x02\x03' * 7])
    fields.update(kw)
    return CodecFile(**fields)


def one_line(err):
    text = str(err.value)
    assert '\n' not in text and text.endswith('.'), text
    return text


def reseal(data: bytes, body: bytes) -> bytes:
    """A file with ``data``'s magic and version around ``body`` (the fields
    after the size check), with correct size, CRC-16 and CRC32: a
    well-sealed file whose fields may be inconsistent."""
    total = 5 + 1 + 2 + len(body) + 4
    assert total < 128  # one varint byte
    head = data[:5] + bytes([total])
    head += struct.pack('>H', binascii.crc_hqx(head, 0))
    out = head + body
    return out + struct.pack('>I', zlib.crc32(out))


def test_the_bytes_follow_the_documented_layout():
    cf = CodecFile(model_id='ab',
                   fingerprint=FP,
                   height=300,
                   width=5,
                   padding=(1, 2, 3, 4),
                   latent_shape=(7, 129),
                   strings=[b'xyz', b''])
    data = pack(cf)
    # the fields, by the module docstring: varint 300 = ac 02, 129 = 81 01
    body = (b'\x02ab' + FP + b'\xac\x02\x05' + b'\x01\x02\x03\x04' +
            b'\x02\x07\x81\x01' + b'\x02\x03\x00' + b'xyz')
    total = 4 + 1 + 1 + 2 + len(body) + 4
    head = b'ITBC\x01' + bytes([total])
    head += struct.pack('>H', binascii.crc_hqx(head, 0))
    expected = head + body
    expected += struct.pack('>I', zlib.crc32(expected))
    assert data == expected
    assert unpack(data) == cf


def test_header_of_an_invcompress_file_is_56_bytes():
    # magic 4, version 1, size 2, CRC-16 2, id 1 + 11, fingerprint 16,
    # H and W 2 + 2, padding 4, latent shape 1 + 1 + 1, count 1, lengths
    # 2 + 1, CRC32 4 (a Kodak image at about 0.1 bpp)
    cf = sample(height=512,
                width=768,
                padding=(0, 0, 0, 0),
                latent_shape=(8, 12),
                strings=[b'y' * 4500, b'z' * 100])
    data = pack(cf)
    assert len(data) - cf.payload_bytes == 56
    assert unpack(data) == cf


@settings(max_examples=60, deadline=None)
@given(model_id=st.text(
    min_size=1,
    max_size=20).filter(lambda s: 1 <= len(s.encode('utf-8')) <= 255),
       fingerprint=st.binary(min_size=16, max_size=16),
       size=st.tuples(st.integers(1, 2**35 - 1), st.integers(1, 70000)),
       padding=st.tuples(*[st.integers(0, 2**20)] * 4),
       latent_shape=st.lists(st.integers(0, 2**35 - 1), max_size=5),
       strings=st.lists(st.binary(max_size=300), max_size=4))
def test_random_headers_round_trip(model_id, fingerprint, size, padding,
                                   latent_shape, strings):
    cf = CodecFile(model_id=model_id,
                   fingerprint=fingerprint,
                   height=size[0],
                   width=size[1],
                   padding=padding,
                   latent_shape=tuple(latent_shape),
                   strings=strings)
    data = pack(cf)
    assert data[:5] == MAGIC + bytes([FORMAT_VERSION])
    back = unpack(data)
    assert back == cf
    assert [type(s) for s in back.strings] == [bytes] * len(strings)


def test_the_size_field_grows_across_a_varint_boundary():
    # files of about 128 and 16384 bytes: the size field counts itself
    for n in range(90, 140):
        cf = sample(strings=[b's' * n])
        assert unpack(pack(cf)) == cf
    for n in range(16300, 16340):
        cf = sample(strings=[b's' * n])
        assert unpack(pack(cf)) == cf


def test_every_prefix_is_reported_as_truncated():
    data = pack(sample())
    for length in range(len(data)):
        with pytest.raises(CodecFileError) as err:
            unpack(data[:length], source='x.itb')
        text = one_line(err)
        assert text.startswith('x.itb is truncated: expected '), text
        assert f'found {length};' in text
        if length >= 9:  # magic, version, 2-byte size, CRC-16: size known
            assert f'expected {len(data)} bytes' in text


@pytest.mark.parametrize('mask', [0x01, 0x80, 0xFF])
def test_every_flipped_byte_is_caught(mask):
    data = pack(sample())
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= mask
        with pytest.raises(CodecFileError) as err:
            unpack(bytes(bad), source='x.itb')
        text = one_line(err)
        if pos < 4:
            assert 'not an invtoolbox codec file' in text
        elif pos == 4:
            assert 'format version' in text
        else:
            assert text.startswith('x.itb is corrupted ('), (pos, text)


def test_foreign_files_are_not_codec_files():
    png = b'\x89PNG\r\n\x1a\n' + bytes(100)
    for data in (png, b'hello', b'ITBX' + bytes(60), b'\x00'):
        with pytest.raises(CodecFileError) as err:
            unpack(data, source='a.png')
        assert 'a.png is not an invtoolbox codec file' in one_line(err)
        assert "expected b'ITBC'" in str(err.value)


def test_a_newer_version_names_both_versions():
    data = bytearray(pack(sample()))
    data[4] = FORMAT_VERSION + 1
    with pytest.raises(CodecFileError) as err:
        unpack(bytes(data))
    assert one_line(err) == (
        f'file has format version {FORMAT_VERSION + 1}, this invtoolbox '
        f'reads versions 1 to {FORMAT_VERSION}; update invtoolbox to decode '
        'it.')


def test_extra_bytes_and_inconsistent_fields_are_corruption():
    data = pack(sample())
    with pytest.raises(CodecFileError, match='corrupted .*says'):
        unpack(data + b'\x00')
    good = pack(CodecFile('m', FP, 2, 3, strings=[b'abc']))
    fields = good[8:-4]
    assert unpack(reseal(good, fields)).strings == [b'abc']
    # a string length past the end, one unused byte, a bad UTF-8 id, H = 0
    for body in (fields[:-4] + b'\x09abc', fields + b'!',
                 b'\x01\xff' + fields[2:],
                 fields[:18] + b'\x00' + fields[19:]):
        with pytest.raises(CodecFileError) as err:
            unpack(reseal(good, body), source='x.itb')
        assert one_line(err).startswith('x.itb is corrupted ('), body


@pytest.mark.parametrize('field,value,fragment', [
    ('fingerprint', b'short', 'must be 16 bytes'),
    ('model_id', '', '1 to 255'),
    ('model_id', 'x' * 256, '1 to 255'),
    ('height', 0, 'height must be an int in [1'),
    ('padding', (0, -1, 0, 0), 'bottom must be an int'),
    ('padding', (0, 0, 0), 'must be (top, bottom, left, right)'),
    ('latent_shape', (2.5, ), 'latent_shape[0] must be an int'),
    ('strings', ['text'], 'strings[0] must be bytes'),
])
def test_fields_the_format_cannot_hold(field, value, fragment):
    with pytest.raises(ValueError) as err:
        pack(sample(**{field: value}))
    assert fragment in one_line(err)


def test_files_are_written_atomically_and_read_back(tmp_path):
    path = tmp_path / 'a.itb'
    cf = sample()
    assert write_codec_file(path, cf) == len(pack(cf))
    assert read_codec_file(path) == cf
    # a failing write leaves the old file and no temporary file behind
    with pytest.raises(ValueError):
        write_codec_file(path, sample(fingerprint=b''))
    assert read_codec_file(path) == cf
    assert os.listdir(tmp_path) == ['a.itb']


def test_missing_and_unreadable_paths(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        read_codec_file(tmp_path / 'missing.itb')
    assert 'missing.itb' in one_line(err)
    with pytest.raises(CodecFileError, match='is a folder'):
        read_codec_file(tmp_path)
    empty = tmp_path / 'empty.itb'
    empty.write_bytes(b'')
    with pytest.raises(CodecFileError) as err:
        read_codec_file(empty)
    assert 'is truncated' in one_line(err) and 'found 0' in str(err.value)
    assert issubclass(CodecFileError, (InvToolboxError, ValueError))


def test_the_official_bitstreams_fit_with_a_small_header():
    """The official compress() output of the InvCompress vectors (64x64,
    y 704 B + z 64 B: 1.5000 bpp) survives the container byte for byte;
    the whole file costs the documented header on top."""
    vectors = torch.load(shared_path('vectors', 'invcompress.pt'),
                         weights_only=True)
    case = next(c for c in vectors['cases'] if c['direction'] == 'compress')
    out = case['outputs']
    strings = [bytes(out[f'{k}_string'].numpy()) for k in ('y', 'z')]
    assert [len(s) for s in strings] == [704, 64]
    shape = tuple(int(v) for v in out['shape'])
    cf = CodecFile(model_id='InvCompress',
                   fingerprint=FP,
                   height=64,
                   width=64,
                   latent_shape=shape,
                   strings=strings)
    data = pack(cf)
    assert unpack(data).strings == strings
    header = len(data) - 768
    # as above but H, W, and the file size 1 + 1 + 2 bytes: 54
    assert header == 54
    official_bpp = float(out['bpp_real'])
    assert official_bpp == pytest.approx(1.5)
    assert 8 * len(data) / 64**2 == pytest.approx(official_bpp +
                                                  8 * 54 / 64**2)
