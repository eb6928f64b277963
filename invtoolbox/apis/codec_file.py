# Copyright (c) invtoolbox contributors. All rights reserved.
"""The ``.itb`` container of a learned image codec: one image's bitstreams
plus what the decoder needs to check and undo the encoder's steps.

A learned codec (CompressAI's API) returns, for one image, a few byte
strings (InvCompress: the ``y`` and ``z`` latents) and the latent shape;
decoding also needs the original size and the padding, and is only
meaningful with the very weights (and entropy-coder tables) that encoded
it. The container holds exactly that and is checked on read, so a
truncated, damaged or foreign file gives a one-line error instead of a
garbage image or a deep traceback. The bpp of a codec counts the whole
file, so the header is kept small (~40 bytes plus the model id).

Format version 1, byte by byte. ``varint`` is an unsigned LEB128 integer
(7 bits per byte, least significant group first, high bit set on every
byte but the last: 0..127 take one byte, up to 16383 two)::

    offset  size    field
    0       4       magic b'ITBC'
    4       1       format version (u8), 1
    5       1-5     total file size in bytes (varint)
    .       2       CRC-16/XMODEM (binascii.crc_hqx, start 0) of every byte
                    before it, big-endian: protects the size, so a damaged
                    size is reported as damage, not as truncation
    .       1       L: length of the model id in bytes (u8, 1..255)
    .       L       model id (UTF-8), e.g. 'InvCompress'
    .       16      weights fingerprint: the first 16 bytes of sha256 over
                    the network's state dict (parameters and buffers, see
                    ``invtoolbox.apis.codec_inference.weights_fingerprint``)
    .       varint  original image height H
    .       varint  original image width W
    .       4 x varint  padding added before coding: top, bottom, left, right
                    (the coded image is (H + top + bottom) x (W + left + right))
    .       1       n: number of latent-shape dimensions (u8)
    .       n x varint  latent shape (CompressAI's ``shape``, e.g. z's (h, w))
    .       varint  K: number of strings (one per latent, e.g. y then z)
    .       K x varint  the strings' lengths in bytes
    .       sum     the K strings, concatenated in order
    end-4   4       CRC32 (zlib.crc32) of every byte before it, big-endian

Checks on read, in this order: the magic (else "not an invtoolbox codec
file"), the version (a newer one names both versions), the size and its
CRC-16, the file length against the size ("truncated: expected N bytes,
found M"; every proper prefix of a file is reported so), the CRC32
("corrupted"), then the fields. Errors are :class:`CodecFileError`.
"""
from __future__ import annotations

import binascii
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import List, Tuple

from ..errors import CodecFileError
from .checkpoint_io import write_file_atomic

__all__ = [
    'MAGIC', 'FORMAT_VERSION', 'FINGERPRINT_BYTES', 'CodecFile', 'pack',
    'unpack', 'write_codec_file', 'read_codec_file'
]

#: the first four bytes of every ``.itb`` file.
MAGIC = b'ITBC'
#: the format version this module writes (and the newest it reads).
FORMAT_VERSION = 1
#: length of the weights fingerprint in bytes.
FINGERPRINT_BYTES = 16
#: the largest varint the reader takes (5 bytes): 2**35 - 1.
_MAX_VARINT_BYTES = 5
#: magic + version + 1-byte size + CRC-16 + id length + 1-byte id
#: + fingerprint + H, W, 4 paddings + ndim + count + CRC32
MIN_FILE_BYTES = 4 + 1 + 1 + 2 + 1 + 1 + FINGERPRINT_BYTES + 6 + 1 + 1 + 4


@dataclass
class CodecFile:
    """One coded image: the learned codec's strings and what decoding needs.

    Attributes:
        model_id (str): the codec architecture (``model.codec_id``), 1 to
            255 bytes of UTF-8.
        fingerprint (bytes): 16 bytes identifying the weights and entropy
            tables that coded the strings.
        height (int): original image height (before padding), >= 1.
        width (int): original image width, >= 1.
        padding (tuple[int, int, int, int]): zero rows/columns added on the
            top, bottom, left and right before coding.
        latent_shape (tuple[int, ...]): CompressAI's ``shape`` (passed back
            to ``decompress``).
        strings (list[bytes]): one bitstream per latent, in the order of
            ``compress()['strings']`` (one image each).
    """

    model_id: str
    fingerprint: bytes
    height: int
    width: int
    padding: Tuple[int, int, int, int] = (0, 0, 0, 0)
    latent_shape: Tuple[int, ...] = ()
    strings: List[bytes] = field(default_factory=list)

    @property
    def payload_bytes(self) -> int:
        """Bytes of the strings alone."""
        return sum(len(s) for s in self.strings)

    @property
    def coded_size(self) -> Tuple[int, int]:
        """(height, width) of the padded image the network coded."""
        top, bottom, left, right = self.padding
        return self.height + top + bottom, self.width + left + right


# -- varints -----------------------------------------------------------------
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


class _Reader:
    """Reads fields from ``data``; running past the end raises
    ``_OutOfBytes`` (the caller turns it into a truncation or corruption
    message)."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise _OutOfBytes(end)
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def varint(self) -> int:
        value = 0
        for i in range(_MAX_VARINT_BYTES):
            byte = self.u8()
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                return value
        raise _BadField(f'a number longer than {_MAX_VARINT_BYTES} bytes at '
                        f'offset {self.pos - _MAX_VARINT_BYTES}')


class _OutOfBytes(Exception):

    def __init__(self, needed: int):
        super().__init__(needed)
        self.needed = needed


class _BadField(Exception):
    pass


# -- writing -----------------------------------------------------------------
def _check_fields(cf: CodecFile) -> bytes:
    """The UTF-8 model id; ValueError (one line) for fields that cannot be
    written."""
    if not isinstance(cf.model_id, str):
        raise ValueError(f'CodecFile.model_id must be a str, got '
                         f'{type(cf.model_id).__name__}.')
    model_id = cf.model_id.encode('utf-8')
    if not 1 <= len(model_id) <= 255:
        raise ValueError(f'CodecFile.model_id {cf.model_id!r} is '
                         f'{len(model_id)} bytes of UTF-8; it must have 1 to '
                         '255 (give the model a shorter codec_id).')
    if not isinstance(cf.fingerprint, (bytes, bytearray)) or \
            len(cf.fingerprint) != FINGERPRINT_BYTES:
        raise ValueError(f'CodecFile.fingerprint must be {FINGERPRINT_BYTES} '
                         f'bytes, got {cf.fingerprint!r}.')
    numbers = dict(height=cf.height, width=cf.width)
    if len(tuple(cf.padding)) != 4:
        raise ValueError('CodecFile.padding must be (top, bottom, left, '
                         f'right), got {cf.padding!r}.')
    numbers.update(zip(('top', 'bottom', 'left', 'right'), cf.padding))
    numbers.update(
        (f'latent_shape[{i}]', v) for i, v in enumerate(cf.latent_shape))
    for name, value in numbers.items():
        low = 1 if name in ('height', 'width') else 0
        if isinstance(value, bool) or not isinstance(value, int) or \
                not low <= value < 2**35:
            raise ValueError(f'CodecFile {name} must be an int in '
                             f'[{low}, 2**35), got {value!r}.')
    if len(cf.latent_shape) > 255:
        raise ValueError('CodecFile.latent_shape has more than 255 '
                         f'dimensions ({len(cf.latent_shape)}).')
    for i, string in enumerate(cf.strings):
        if not isinstance(string, (bytes, bytearray)):
            raise ValueError(f'CodecFile.strings[{i}] must be bytes, got '
                             f'{type(string).__name__}.')
    return model_id


def pack(cf: CodecFile) -> bytes:
    """Serialise ``cf`` into the ``.itb`` bytes (see the module docstring).

    Raises:
        ValueError: one line, for a field that the format cannot hold.
    """
    model_id = _check_fields(cf)
    body = bytearray()
    body.append(len(model_id))
    body += model_id
    body += bytes(cf.fingerprint)
    for value in (cf.height, cf.width, *cf.padding):
        body += _varint(int(value))
    body.append(len(cf.latent_shape))
    for value in cf.latent_shape:
        body += _varint(int(value))
    body += _varint(len(cf.strings))
    for string in cf.strings:
        body += _varint(len(string))
    for string in cf.strings:
        body += string
    head = MAGIC + bytes([FORMAT_VERSION])
    # the size field counts itself: grow it until the total is stable
    size_len = 1
    while True:
        total = len(head) + size_len + 2 + len(body) + 4
        size = _varint(total)
        if len(size) == size_len:
            break
        size_len = len(size)
    head += size
    head += struct.pack('>H', binascii.crc_hqx(head, 0))
    data = head + bytes(body)
    return data + struct.pack('>I', zlib.crc32(data))


# -- reading -----------------------------------------------------------------
def _truncated(source: str, expected: int, found: int,
               at_least: bool) -> CodecFileError:
    what = 'at least ' if at_least else ''
    return CodecFileError(
        f'{source} is truncated: expected {what}{expected} bytes, found '
        f'{found}; the file was cut short (copy it again or encode the '
        'image again).')


def _corrupted(source: str, detail: str) -> CodecFileError:
    return CodecFileError(
        f'{source} is corrupted ({detail}); it was damaged after encoding '
        '(copy it again or encode the image again).')


def _check_magic_and_version(data: bytes, source: str) -> None:
    if len(data) < len(MAGIC) + 1:
        if MAGIC.startswith(data[:len(MAGIC)]):
            raise _truncated(source, MIN_FILE_BYTES, len(data), True)
    if data[:len(MAGIC)] != MAGIC:
        raise CodecFileError(
            f'{source} is not an invtoolbox codec file (it starts with '
            f'{data[:len(MAGIC)]!r}, expected {MAGIC!r}); pass a .itb file '
            'written by tools/codec.py encode.')
    version = data[len(MAGIC)]
    if version > FORMAT_VERSION:
        raise CodecFileError(
            f'{source} has format version {version}, this invtoolbox reads '
            f'versions 1 to {FORMAT_VERSION}; update invtoolbox to decode '
            'it.')
    if version < 1:
        raise CodecFileError(
            f'{source} has format version {version}, which no invtoolbox '
            f'writes (expected 1 to {FORMAT_VERSION}); the file is '
            'corrupted.')


def unpack(data: bytes, source: str = 'file') -> CodecFile:
    """Parse and check ``.itb`` bytes.

    Args:
        data (bytes): the whole file.
        source (str): how errors name the data (e.g. its path).

    Raises:
        CodecFileError: one line: not a codec file (wrong magic), a newer
            or invalid format version, truncated (expected vs found
            bytes), corrupted (a CRC mismatch or inconsistent fields).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f'unpack: expected bytes, got {type(data).__name__}.')
    data = bytes(data)
    _check_magic_and_version(data, source)
    reader = _Reader(data, len(MAGIC) + 1)
    try:
        total = reader.varint()
        stored = struct.unpack('>H', reader.take(2))[0]
    except _OutOfBytes:
        raise _truncated(source, MIN_FILE_BYTES, len(data), True) from None
    except _BadField as err:
        raise _corrupted(source, str(err)) from None
    computed = binascii.crc_hqx(data[:reader.pos - 2], 0)
    if computed != stored:
        raise _corrupted(
            source, f'header checksum {computed:04x}, stored {stored:04x}')
    if len(data) < total:
        raise _truncated(source, total, len(data), False)
    if len(data) > total:
        raise _corrupted(source, f'{len(data)} bytes, its header says '
                         f'{total}')
    stored = struct.unpack('>I', data[-4:])[0]
    computed = zlib.crc32(data[:-4])
    if computed != stored:
        raise _corrupted(source, f'CRC32 {computed:08x}, stored {stored:08x}')
    body = _Reader(data[:-4], reader.pos)
    try:
        model_id = body.take(body.u8()).decode('utf-8')
        fingerprint = body.take(FINGERPRINT_BYTES)
        height, width = body.varint(), body.varint()
        padding = tuple(body.varint() for _ in range(4))
        latent_shape = tuple(body.varint() for _ in range(body.u8()))
        lengths = [body.varint() for _ in range(body.varint())]
        strings = [body.take(n) for n in lengths]
    except _OutOfBytes as err:
        raise _corrupted(
            source, f'its fields need {err.needed + 4} bytes, '
            f'it has {len(data)}') from None
    except (_BadField, UnicodeDecodeError) as err:
        raise _corrupted(source, f'bad field: {err}') from None
    if body.pos != len(body.data):
        raise _corrupted(
            source, f'{len(body.data) - body.pos} unused bytes '
            'after the strings')
    if not model_id or height < 1 or width < 1:
        raise _corrupted(source, f'model id {model_id!r}, size {height}x'
                         f'{width}')
    return CodecFile(model_id=model_id,
                     fingerprint=fingerprint,
                     height=height,
                     width=width,
                     padding=padding,
                     latent_shape=latent_shape,
                     strings=strings)


# -- files -------------------------------------------------------------------
def write_codec_file(path, cf: CodecFile) -> int:
    """Write ``cf`` to ``path`` atomically (a temporary file renamed into
    place; nothing half-written on failure). Returns the file size."""
    data = pack(cf)
    write_file_atomic(path, lambda f: f.write(data))
    return len(data)


def read_codec_file(path) -> CodecFile:
    """Read and check an ``.itb`` file (see :func:`unpack`).

    Raises:
        FileNotFoundError: one line, when ``path`` does not exist.
        CodecFileError: one line, see :func:`unpack`.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'codec file {path!r} not found; pass a .itb '
                                'file written by tools/codec.py encode.')
    if os.path.isdir(path):
        raise CodecFileError(f'{path!r} is a folder; pass a .itb file.')
    with open(path, 'rb') as f:
        data = f.read()
    return unpack(data, source=repr(path))
