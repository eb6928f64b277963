# Copyright (c) invtoolbox contributors. All rights reserved.
"""Learned image codecs on images and files: 8-bit RGB -> ``.itb`` bytes ->
8-bit RGB.

The model is an invtoolbox model with the learned-codec capability
(:class:`~invtoolbox.models.base_models.LearnedCodecMixin`: ``compress``,
``decompress``, ``update``), e.g. InvCompress. Encoding pads the image with
zeros to a multiple of ``model.pad_multiple`` (default 64; split evenly,
the extra row/column at the bottom/right, as the official evaluation),
codes it and stores the strings with the original size, the padding, the
model's ``codec_id`` and a fingerprint of its weights in an ``.itb`` file
(:mod:`~invtoolbox.apis.codec_file`). Decoding checks the id and the
fingerprint (an entropy decoder fed with other tables decodes garbage
without noticing), decompresses, crops the padding and rounds to 8 bits
(``(x.clamp(0, 1) * 255).round()``). The bpp counts the whole file.
"""
from __future__ import annotations

import hashlib
import os
import struct
import time
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import nn

from ..errors import CodecFileError, InvToolboxError, ShapeError
from ..models.base_models.learned_codec import codec_padding
from ..utils import ImageReadError, img2tensor, read_image, tensor2img
from .checkpoint_io import write_file_atomic
from .codec_file import (FINGERPRINT_BYTES, CodecFile, pack, read_codec_file,
                         unpack)

__all__ = [
    'weights_fingerprint', 'codec_id', 'codec_padding', 'compress_image',
    'decompress_image', 'roundtrip_image', 'read_rgb8', 'encode_image_file',
    'decode_image_file', 'ImageReadError'
]

#: the padding multiple of models that do not say theirs (InvCompress's:
#: six stride-2 stages).
DEFAULT_PAD_MULTIPLE = 64
#: Pillow modes that carry transparency.
_ALPHA_MODES = ('RGBA', 'RGBa', 'LA', 'La', 'PA')
#: Pillow modes converted to RGB (bilevel, grey, palette).
_RGB_CONVERTIBLE = ('1', 'L', 'P', 'RGB')


#: ``ImageReadError`` is :class:`invtoolbox.utils.ImageReadError`, the error
#: of the toolbox's one image reader: here also an input image that the
#: codec cannot take (alpha, more than 8 bits, an unusual colour mode).


# -- model facts --------------------------------------------------------------
def _network(model: nn.Module) -> nn.Module:
    """The network whose weights code the bits (``model.generator``)."""
    network = getattr(model, 'generator', None)
    return model if network is None else network


def codec_id(model: nn.Module) -> str:
    """The architecture id written into ``.itb`` files:
    ``model.codec_id``, else the model's class name."""
    value = getattr(model, 'codec_id', None)
    return str(value) if value else type(model).__name__


def weights_fingerprint(module: nn.Module) -> bytes:
    """The first 16 bytes of sha256 over ``module.state_dict()``:
    parameters and buffers (so the entropy coder's CDF tables count), in
    sorted key order; each entry contributes its key, dtype, shape and raw
    bytes (native byte order, i.e. little-endian), each length-prefixed so
    no two state dicts hash the same stream. Independent of the device."""
    digest = hashlib.sha256()
    state = module.state_dict()
    for key in sorted(state):
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor):
            continue
        tensor = tensor.detach().to('cpu').contiguous()
        for text in (key, str(tensor.dtype)):
            raw = text.encode('utf-8')
            digest.update(struct.pack('<Q', len(raw)) + raw)
        digest.update(struct.pack('<Q', tensor.dim()))
        digest.update(struct.pack(f'<{tensor.dim()}Q', *tensor.shape))
        flat = tensor.reshape(-1)
        if flat.numel():
            raw = memoryview(flat.view(torch.uint8).numpy())
        else:
            raw = memoryview(b'')
        digest.update(struct.pack('<Q', raw.nbytes))
        digest.update(raw)
    return digest.digest()[:FINGERPRINT_BYTES]


def _pad_multiple(model: nn.Module) -> int:
    multiple = getattr(model, 'pad_multiple', DEFAULT_PAD_MULTIPLE)
    if isinstance(multiple, bool) or not isinstance(multiple, int) or \
            multiple < 1:
        raise ValueError(f'{type(model).__name__}.pad_multiple must be a '
                         f'positive int, got {multiple!r}.')
    return multiple


def _check_codec_model(model: nn.Module) -> None:
    for name in ('compress', 'decompress'):
        if not callable(getattr(model, name, None)):
            raise ValueError(
                f'the model {type(model).__name__} is not a learned codec '
                f'(no {name}()); use a codec config such as '
                'configs/invcompress/...py.')


def _ensure_tables(model: nn.Module) -> None:
    """Make the entropy coder's tables usable: ``model.ensure_tables()``
    when the model has it (the tables a checkpoint stores are used as
    they are), else ``update(force=False)`` (builds empty tables only)."""
    ensure = getattr(model, 'ensure_tables', None)
    if callable(ensure):  # InvCompress: stored tables kept, stale rebuilt
        ensure()
        return
    update = getattr(model, 'update', None)
    if update is None:
        return
    try:
        update(force=False)
    except NotImplementedError:
        pass


def _device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device('cpu')


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or \
            image.ndim != 3 or image.shape[2] != 3 or \
            min(image.shape[:2]) < 1:
        what = (f'{image.dtype} array of shape {image.shape}' if isinstance(
            image, np.ndarray) else type(image).__name__)
        raise ShapeError(f'compress_image: expected a uint8 RGB image of '
                         f'shape (H, W, 3), got a {what}.')


# -- images <-> bytes ---------------------------------------------------------
def _compress(model: nn.Module, image: np.ndarray) -> CodecFile:
    _check_codec_model(model)
    _check_image(image)
    height, width = image.shape[:2]
    padding = codec_padding(height, width, _pad_multiple(model))
    top, bottom, left, right = padding
    _ensure_tables(model)
    x = img2tensor(np.ascontiguousarray(image))[None].to(_device(model))
    x = F.pad(x, (left, right, top, bottom), mode='constant', value=0.)
    with torch.no_grad():
        out = model.compress(x)
    strings = []
    for i, latent in enumerate(out['strings']):
        latent = list(latent)
        if len(latent) != 1 or not isinstance(latent[0], (bytes, bytearray)):
            raise ValueError(
                f'{type(model).__name__}.compress returned strings[{i}] = '
                f'{type(latent).__name__} of {len(latent)} item(s); '
                'expected one bytes object per latent for one image.')
        strings.append(bytes(latent[0]))
    return CodecFile(model_id=codec_id(model),
                     fingerprint=weights_fingerprint(_network(model)),
                     height=height,
                     width=width,
                     padding=padding,
                     latent_shape=tuple(int(s) for s in out['shape']),
                     strings=strings)


def compress_image(model: nn.Module, image: np.ndarray) -> bytes:
    """Code one image into ``.itb`` bytes.

    Args:
        model: a learned-codec model (``compress``/``decompress``/
            ``update``), in eval mode.
        image (np.ndarray): uint8 ``(H, W, 3)`` RGB.

    Returns:
        bytes: the whole ``.itb`` file (header, strings, CRC).
    """
    return pack(_compress(model, image))


def _decompress(model: nn.Module, cf: CodecFile, source: str) -> np.ndarray:
    _check_codec_model(model)
    mine = codec_id(model)
    if cf.model_id != mine:
        raise CodecFileError(
            f'{source} was made by the codec {cf.model_id!r}, this model is '
            f'{mine!r}: decode with the config and checkpoint it was encoded '
            'with.')
    _ensure_tables(model)
    own = weights_fingerprint(_network(model))
    if cf.fingerprint != own:
        raise CodecFileError(
            f'{source} was made with other weights (fingerprint '
            f'{cf.fingerprint.hex()}, these weights {own.hex()}): decode '
            'with the checkpoint it was encoded with.')
    with torch.no_grad():
        out = model.decompress([[s] for s in cf.strings],
                               tuple(cf.latent_shape))
    x_hat = out['x_hat']
    coded = cf.coded_size
    if x_hat.dim() != 4 or x_hat.shape[0] != 1 or x_hat.shape[1] != 3 or \
            tuple(x_hat.shape[2:]) != coded:
        raise CodecFileError(
            f'{source}: the model decoded shape {tuple(x_hat.shape)}, the '
            f'file says (1, 3, {coded[0]}, {coded[1]}); the file does not '
            'fit this model.')
    top, _, left, _ = cf.padding
    x_hat = x_hat[:, :, top:top + cf.height, left:left + cf.width]
    return tensor2img(x_hat.float().cpu())


def decompress_image(model: nn.Module,
                     data: bytes,
                     source: str = 'file') -> np.ndarray:
    """Decode ``.itb`` bytes into uint8 ``(H, W, 3)`` RGB (the original
    size).

    Raises:
        CodecFileError: one line: a bad file (see
            :func:`~invtoolbox.apis.codec_file.unpack`), another codec, or
            other weights than the encoder's.
    """
    return _decompress(model, unpack(data, source), source)


def roundtrip_image(model: nn.Module,
                    image: np.ndarray) -> Tuple[bytes, np.ndarray]:
    """Encode then decode ``image`` (uint8 ``(H, W, 3)``) through real
    bitstreams; returns ``(data, decoded)``: the ``.itb`` bytes (bpp =
    ``8 * len(data) / (H * W)``) and the uint8 decoded image."""
    data = compress_image(model, image)
    return data, decompress_image(model, data, source='the encoded image')


# -- files --------------------------------------------------------------------
def read_rgb8(path) -> np.ndarray:
    """Read an 8-bit image as uint8 ``(H, W, 3)`` RGB.

    Greyscale, bilevel and palette images are converted to RGB, the EXIF
    orientation is applied (:func:`invtoolbox.utils.read_image`). Rejected
    with one line (:class:`ImageReadError` / ``FileNotFoundError``): a
    missing path, a file that is not an image, an image with transparency
    (RGBA, LA, PA, a tRNS colour key), more than 8 bits per sample (16-bit
    PNG/TIFF, 32-bit integer) or float samples, and other colour modes
    (CMYK, ...), since the codec takes opaque 8-bit RGB only.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'image {path!r} not found.')
    if os.path.isdir(path):
        raise ImageReadError(f'{path!r} is a folder; pass an image file.')
    try:
        with Image.open(path) as img:
            mode = img.mode
            raw_modes = []
            for tile in img.tile:
                args = tile.args if hasattr(tile, 'args') else tile[3]
                raw_modes.append(
                    args if isinstance(args, str) else args[0] if args else '')
            if mode in _ALPHA_MODES or 'transparency' in img.info:
                raise ImageReadError(
                    f'image {path!r} has transparency (mode {mode}); the '
                    'codec takes opaque RGB: flatten it onto a background '
                    'first.')
            wide = img.format != 'BMP' and any(
                ';16' in str(r) or ';32' in str(r) for r in raw_modes)
            if mode.startswith(('I', 'F')) or wide:
                raise ImageReadError(
                    f'image {path!r} has more than 8 bits per sample (mode '
                    f'{mode}, stored as {raw_modes[0] if raw_modes else mode}'
                    '); the codec takes 8-bit images: convert it first.')
            if mode not in _RGB_CONVERTIBLE:
                raise ImageReadError(
                    f'image {path!r} is in colour mode {mode}; the codec '
                    'takes RGB, grey or palette images: convert it to RGB '
                    'first.')
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError,
            SyntaxError, ValueError) as err:
        if isinstance(err, InvToolboxError):
            raise
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ImageReadError(f'cannot read image {path!r} ({reason}); pass '
                             'a PNG, JPEG, BMP, TIFF or WebP image.') from None
    # checked: opaque 8-bit; decoded as every reader of the toolbox decodes
    # (EXIF orientation applied, the pixel limit)
    try:
        image = read_image(path, alpha='refuse', name=os.path.basename(path))
    except ImageReadError as err:
        raise ImageReadError(f'cannot read image {path!r}: {err}') from None
    return np.ascontiguousarray(image)


def _refuse_input(src: str, dst: str) -> None:
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise ValueError(f'the output {dst!r} is the input; choose another '
                         'output path (inputs are never overwritten).')


def encode_image_file(model: nn.Module, src, dst) -> Dict[str, float]:
    """Encode the image file ``src`` into the ``.itb`` file ``dst``
    (written atomically).

    Returns:
        dict: ``bytes`` (the file size), ``header_bytes``, ``height``,
        ``width``, ``bpp`` (``8 * bytes / (H * W)``, the whole file) and
        ``seconds`` (coding time, reading and writing excluded).
    """
    src, dst = os.fspath(src), os.fspath(dst)
    image = read_rgb8(src)
    _refuse_input(src, dst)
    start = time.perf_counter()
    cf = _compress(model, image)
    data = pack(cf)
    seconds = time.perf_counter() - start
    write_file_atomic(dst, lambda f: f.write(data))
    height, width = image.shape[:2]
    return dict(bytes=len(data),
                header_bytes=len(data) - cf.payload_bytes,
                height=height,
                width=width,
                bpp=8.0 * len(data) / (height * width),
                seconds=seconds)


def decode_image_file(model: nn.Module, src, dst) -> Dict[str, float]:
    """Decode the ``.itb`` file ``src`` into the PNG ``dst`` (written
    atomically; nothing is written when decoding fails).

    Returns:
        dict: ``bytes`` (size of ``src``), ``height``, ``width``, ``bpp``
        and ``seconds`` (decoding time).
    """
    src, dst = os.fspath(src), os.fspath(dst)
    cf = read_codec_file(src)
    _refuse_input(src, dst)
    start = time.perf_counter()
    image = _decompress(model, cf, repr(src))
    seconds = time.perf_counter() - start
    write_file_atomic(dst,
                      lambda f: Image.fromarray(image).save(f, format='PNG'))
    size = os.path.getsize(src)
    height, width = image.shape[:2]
    return dict(bytes=size,
                height=height,
                width=width,
                bpp=8.0 * size / (height * width),
                seconds=seconds)
