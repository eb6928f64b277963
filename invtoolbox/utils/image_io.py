# Copyright (c) invtoolbox contributors. All rights reserved.
"""The one image reader of invtoolbox: training, testing and inference.

:func:`read_image` turns an image file (a path or its bytes) into an
``(H, W, C)`` numpy array with the same conventions everywhere:

- **EXIF orientation applied** (a phone photo comes out upright);
- **16 bits reduced by rounding** ``v / 257`` (65535 -> 255, never the
  clipping of Pillow's own ``I;16`` -> ``L`` conversion, never ``v >> 8``);
  8 bits widened exactly ``v * 257`` when 16 bits are asked;
- **alpha by a stated policy**, said once per process
  (:func:`warn_alpha_once`): ``'composite'`` on a background (white by
  default), ``'refuse'``, or ``'drop'`` (keep the stored colour); palette
  images and grey / RGB PNGs with a transparent colour count as having
  alpha;
- **grey repeated** to 3 channels (RGB), colour reduced to 1 channel with
  the ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` in OpenCV 4's
  14-bit fixed point (``GrayscaleEmbedding``'s default ``'opencv4'``);
- **a pixel limit** (:data:`MAX_IMAGE_PIXELS`, 2**30 by default,
  ``INVTB_MAX_IMAGE_PIXELS`` overrides) checked from the header, with a
  one-line message beyond it instead of Pillow's decompression-bomb
  traceback;
- **float images refused** (32-bit float TIFF / EXR / PFM): their range is
  not agreed on ([0, 1]? linear HDR?), so there is no right 8-bit answer;
  convert them to 16-bit PNG / TIFF first.

Decoding is Pillow's (EXIF, palettes, CMYK, 16-bit grey ``I;16``), except
for 16-bit colour / grey+alpha PNG and TIFF, which Pillow reduces to 8 bits
by truncation: OpenCV decodes those (``IMREAD_UNCHANGED``), and the EXIF
orientation read by Pillow from the header is applied with numpy.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log
from PIL import Image, UnidentifiedImageError

from ..errors import DataError

__all__ = [
    'MAX_IMAGE_PIXELS', 'ImageReadError', 'ALPHA_POLICIES', 'read_image',
    'image_size', 'has_alpha', 'warn_alpha_once'
]

ENV_MAX_PIXELS = 'INVTB_MAX_IMAGE_PIXELS'
_DEFAULT_MAX_PIXELS = 2**30
#: OpenCV's own pixel limit (``OPENCV_IO_MAX_IMAGE_PIXELS``, read once when
#: cv2 is loaded; 2**30 when unset: the check is ``pixels <= limit``).
_CV2_ENV = 'OPENCV_IO_MAX_IMAGE_PIXELS'
_CV2_MAX_SIDE = 2**20  # OPENCV_IO_MAX_IMAGE_WIDTH / _HEIGHT defaults

ALPHA_POLICIES = ('composite', 'refuse', 'drop')

#: BT.601 luma in OpenCV 4's 14-bit fixed point, ``(R, G, B, shift)``: the
#: same numbers as ``invtoolbox.tasks.single_image_tasks.rgb_to_grey``'s
#: ``'opencv4'`` formula (``cvtColor(COLOR_RGB2GRAY)`` of OpenCV <= 4.x).
_GREY_WEIGHTS = (4899, 9617, 1868, 14)

#: rows are processed in blocks of about this many pixels, so that the
#: integer temporaries stay small next to the image itself
_BLOCK_PIXELS = 1 << 20

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]


class ImageReadError(DataError):
    """An image file cannot be read as asked: corrupt, truncated, not an
    image, too large, float pixels, or alpha with ``alpha='refuse'``."""


def _parse_limit(text: str) -> int:
    try:
        value = int(str(text).strip().replace('_', ''))
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f'{ENV_MAX_PIXELS}={text!r} is not a positive whole number of '
            f'pixels; set it to e.g. {_DEFAULT_MAX_PIXELS} or unset it')
    return value


def _env_limit() -> Optional[int]:
    text = os.environ.get(ENV_MAX_PIXELS)
    return None if text in (None, '') else _parse_limit(text)


try:
    #: the default pixel limit of :func:`read_image` (2**30, about 1.07
    #: gigapixels: 3 GiB as 8-bit RGB); ``INVTB_MAX_IMAGE_PIXELS`` overrides
    #: it (read again at each call, so it can be set after import).
    MAX_IMAGE_PIXELS: int = _env_limit() or _DEFAULT_MAX_PIXELS
except ValueError:  # reported at the first read, as a one-line error
    MAX_IMAGE_PIXELS = _DEFAULT_MAX_PIXELS

# Pillow warns above its limit and refuses above twice it (89.5 MP /
# 179 MP by default): make its limit ours, so that the toolbox's other
# Pillow reads agree (a user who switched the check off keeps it off).
if Image.MAX_IMAGE_PIXELS is not None:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
# OpenCV reads its limit once, when it is loaded: raise it with ours when
# that has not happened yet (2**30 is OpenCV's default already).
if MAX_IMAGE_PIXELS > 2**30 and 'cv2' not in sys.modules:
    os.environ.setdefault(_CV2_ENV, str(MAX_IMAGE_PIXELS))
_PIL_LOCK = threading.Lock()
_WARNED = set()


def resolve_max_pixels(max_pixels: Optional[int]) -> int:
    """The pixel limit in force: ``max_pixels``, else
    ``INVTB_MAX_IMAGE_PIXELS``, else :data:`MAX_IMAGE_PIXELS` (a one-line
    ValueError for a bad value of either)."""
    if max_pixels is None:
        env = _env_limit()
        return MAX_IMAGE_PIXELS if env is None else env
    if isinstance(max_pixels, bool) or not isinstance(
            max_pixels, (int, np.integer)) or max_pixels < 1:
        raise ValueError(
            f'max_pixels must be a positive int (or None for '
            f'{ENV_MAX_PIXELS} / MAX_IMAGE_PIXELS), got {max_pixels!r}')
    return int(max_pixels)


def _cv2_limit() -> int:
    try:
        return int(os.environ.get(_CV2_ENV, 2**30))
    except ValueError:
        return 2**30


# --------------------------------------------------------------------------
# opening
# --------------------------------------------------------------------------
class _Input:
    """A source with its display name, byte count and a way to re-read it."""

    def __init__(self, source: Source, name: Optional[str]) -> None:
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.data: Optional[bytes] = bytes(source)
            self.path: Optional[str] = None
            self.name = '<bytes>' if name is None else str(name)
            self._handles = []
            return
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(
                f'read_image: source must be a path (str / PathLike) or the '
                f"file's bytes, got {type(source).__name__}")
        self.path = os.fspath(source)
        self.data = None
        self._handles = []
        self.name = self.path if name is None else str(name)
        if os.path.isdir(self.path):
            raise ImageReadError(
                f'{self.name!r} is a folder, not an image file; give the path '
                'of an image')
        if not os.path.isfile(self.path):
            raise FileNotFoundError(
                f'image file {self.name!r} does not exist; check the path')

    def nbytes(self) -> int:
        if self.data is not None:
            return len(self.data)
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def stream(self):
        """A fresh binary stream. A file object, not the path: given a path,
        Pillow memory-maps uncompressed files, and its mapped TIFF path
        mixes up oriented images (Pillow 13)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        handle = open(self.path, 'rb')
        self._handles.append(handle)
        return handle

    def __enter__(self) -> '_Input':
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.close()
        self._handles = []

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        with open(self.path, 'rb') as handle:
            return handle.read()

    def undecodable(self, detail: str = '') -> ImageReadError:
        detail = f': {detail}' if detail else ''
        return ImageReadError(
            f'cannot decode {self.name!r} as an image ({self.nbytes()} '
            f'bytes; corrupt, truncated or not an image{detail}); replace or '
            'remove the file')


@contextlib.contextmanager
def _pillow_check_off():
    """Pillow's decompression-bomb check suspended (under a lock), where
    :func:`_check_size` does the check itself: Pillow warns (a line that is
    not ours) from its limit and raises from twice it. Not
    ``warnings.catch_warnings``: changing the filters resets Python's
    'once per location' memory of every other warning."""
    with _PIL_LOCK:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _open_pillow(src: _Input) -> Optional[Image.Image]:
    """Open the header with Pillow (no pixels decoded); None when Pillow
    does not know the format."""
    try:
        with _pillow_check_off():
            return Image.open(src.stream())
    except UnidentifiedImageError:
        return None
    except FileNotFoundError:
        raise FileNotFoundError(
            f'image file {src.name!r} does not exist; check the path') \
            from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise src.undecodable(_short(err)) from None


def _load_pillow(src: _Input, img: Image.Image) -> None:
    """Decode the pixels; Pillow's TIFF plugin checks the size again while
    loading, so its check is off for images above its limit (which passed
    ours)."""
    w, h = _stored_size(img)
    limit = Image.MAX_IMAGE_PIXELS
    try:
        if limit is not None and w * h > limit:
            with _pillow_check_off():
                img.load()
        else:
            img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise src.undecodable(_short(err)) from None


def _short(err: BaseException) -> str:
    return ' '.join(str(err).split())[:120]


def _rawmode(img: Image.Image) -> str:
    """The raw mode of the first tile (``'RGB;16B'`` for a 16-bit PNG)."""
    try:
        args = img.tile[0][3]
    except (IndexError, TypeError, AttributeError):
        return ''
    if isinstance(args, tuple):
        args = args[0] if args else ''
    return args if isinstance(args, str) else ''


def _needs_opencv(img: Image.Image) -> bool:
    """16-bit colour (or grey + alpha) data that Pillow would truncate."""
    return img.mode in ('RGB', 'RGBA', 'LA') and ';16' in _rawmode(img)


_TRANSPARENCY_MODES = ('P', 'L', 'RGB')
_ALPHA_MODES = ('RGBA', 'LA', 'PA', 'RGBa', 'La')


def _pil_has_alpha(img: Image.Image) -> bool:
    return img.mode in _ALPHA_MODES or (img.mode in _TRANSPARENCY_MODES and
                                        'transparency' in img.info)


def _orientation(img: Image.Image) -> int:
    """EXIF orientation (1..8) from the header, without decoding pixels.

    For PNG only an ``eXIf`` chunk before the image data is seen (where
    Pillow and the EXIF-for-PNG specification put it): Pillow would decode
    the whole image to look for one after it.
    """
    try:
        if img.format == 'PNG':
            raw = img.info.get('exif')
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
        else:
            exif = img.getexif()
        value = int(exif.get(274, 1))
    except Exception:  # a broken EXIF block does not make a broken image
        return 1
    return value if 1 <= value <= 8 else 1


def _stored_size(img: Image.Image) -> Tuple[int, int]:
    """``(width, height)`` as stored, before any orientation (Pillow's TIFF
    plugin reports the oriented size of an oriented TIFF)."""
    if img.format == 'TIFF':
        tags = getattr(img, 'tag_v2', {})
        if 256 in tags and 257 in tags:
            return int(tags[256]), int(tags[257])
    return img.size


def _oriented_size(img: Image.Image, orientation: int) -> Tuple[int, int]:
    w, h = _stored_size(img)
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _orientation_left(img: Image.Image, orientation: int) -> int:
    """After ``load()``: the orientation still to apply. Pillow orients TIFF
    files itself while loading (and then removes the tag); other formats
    keep it."""
    try:
        now = int(img.getexif().get(274, 1))
    except Exception:
        now = 1
    return orientation if now == orientation else 1


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """The EXIF orientation transform on an ``(H, W, C)`` array (a view)."""
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:  # transpose
        return arr.swapaxes(0, 1)
    if orientation == 6:  # rotate 90 clockwise
        return arr.swapaxes(0, 1)[:, ::-1]
    if orientation == 7:  # transverse
        return arr.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:  # rotate 90 counter-clockwise
        return arr.swapaxes(0, 1)[::-1]
    return arr


def _check_size(src: _Input, size: Tuple[int, int], limit: int) -> None:
    w, h = size
    pixels = w * h
    if pixels <= limit:
        return
    gib = pixels * 3 / 2**30
    raise ImageReadError(
        f'{src.name!r} is {w}x{h} = {pixels / 1e6:.1f} megapixels, above the '
        f'limit {limit / 1e6:.1f} megapixels; if this machine has the memory '
        f'(about {gib:.1f} GiB as 8-bit RGB, twice that at 16 bits, plus the '
        f'model) set {ENV_MAX_PIXELS}={pixels} or pass a larger max_pixels, '
        'else cut the image into smaller files first')


def _check_cv2_size(src: _Input, size: Tuple[int, int]) -> None:
    w, h = size
    limit = _cv2_limit()
    if w * h > limit or max(w, h) > _CV2_MAX_SIDE:
        raise ImageReadError(
            f'{src.name!r} is a {w}x{h} 16-bit colour image, which OpenCV '
            f'decodes, and that is above OpenCV\'s limit ({limit} pixels, '
            f'{_CV2_MAX_SIDE} per side); start the process with '
            f'{_CV2_ENV}={w * h} set (it is read when cv2 is first imported) '
            'or convert the file to 8 bits')


# --------------------------------------------------------------------------
# decoding to an (H, W, C) array at the file's depth, C in 1..4
# --------------------------------------------------------------------------
def _float_refused(src: _Input, dtype) -> ImageReadError:
    return ImageReadError(
        f'{src.name!r} holds {np.dtype(dtype).name} pixels; invtoolbox reads '
        '8- and 16-bit integer images (float data has no agreed range): '
        'convert it to a 16-bit PNG or TIFF')


def _pil_to_array(src: _Input, img: Image.Image) -> np.ndarray:
    """Pillow image -> ``(H, W, C)`` uint8 / uint16, C = 1, 2, 3 or 4."""
    mode = img.mode
    if mode == 'F':
        raise _float_refused(src, np.float32)
    if mode == '1':
        img = img.convert('L')
    elif mode in ('P', 'L', 'RGB') and 'transparency' in img.info:
        img = img.convert('LA' if mode == 'L' else 'RGBA')
    elif mode in ('P', 'RGBX', 'CMYK', 'YCbCr', 'LAB', 'HSV'):
        img = img.convert('RGB')
    elif mode in ('PA', 'RGBa'):
        img = img.convert('RGBA')
    elif mode == 'La':
        img = img.convert('LA')
    elif not (mode in ('L', 'LA', 'RGB', 'RGBA', 'I')
              or mode.startswith('I;16')):
        raise ImageReadError(
            f'{src.name!r} has Pillow mode {mode!r}, which invtoolbox does '
            'not read; convert it to an 8- or 16-bit PNG')
    arr = np.asarray(img)
    img.close()
    if arr.dtype.kind == 'i' or arr.dtype.byteorder not in ('=', '|'):
        # Pillow's 32-bit 'I' mode or big-endian 16 bits: into uint16
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ImageReadError(
                f'{src.name!r} holds 32-bit integer pixels outside 0..65535 '
                f'({arr.min()}..{arr.max()}); convert it to a 16-bit PNG '
                'or TIFF')
        arr = arr.astype(np.uint16)
    if arr.dtype not in (np.uint8, np.uint16):
        raise _float_refused(src, arr.dtype)
    return arr if arr.ndim == 3 else arr[:, :, None]


def _cv2_to_array(src: _Input) -> np.ndarray:
    """OpenCV ``IMREAD_UNCHANGED`` -> ``(H, W, C)`` RGB(A) / grey (+alpha)
    uint8 / uint16, as stored (no EXIF applied by OpenCV in this mode)."""
    import cv2
    data = np.frombuffer(src.read(), np.uint8)
    try:
        arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as err:
        raise src.undecodable(_short(err).split('error:')[-1].strip()) \
            from None
    del data
    if not isinstance(arr, np.ndarray) or arr.size == 0:
        raise src.undecodable()
    if arr.dtype.kind == 'f':
        raise _float_refused(src, arr.dtype)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(
            f'{src.name!r} holds {arr.dtype.name} pixels; invtoolbox reads 8- '
            'and 16-bit integer images: convert it to a 16-bit PNG or TIFF')
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.shape[2] == 3:
        return arr[:, :, ::-1]  # BGR -> RGB (a view)
    if arr.shape[2] == 4:
        return arr[:, :, [2, 1, 0, 3]]
    if arr.shape[2] in (1, 2):
        return arr
    raise ImageReadError(
        f'{src.name!r} has {arr.shape[2]} channels; expected grey, RGB or '
        'RGBA (with or without alpha)')


# --------------------------------------------------------------------------
# pixel arithmetic, in row blocks
# --------------------------------------------------------------------------
def _rows_per_block(arr: np.ndarray) -> int:
    return max(1, _BLOCK_PIXELS // max(1, arr.shape[1]))


def _to_8_bits(arr: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 by rounding ``v / 257`` (no ties: ``(v + 128) //
    257``)."""
    out = np.empty(arr.shape, np.uint8)
    step = _rows_per_block(arr)
    for top in range(0, arr.shape[0], step):
        block = arr[top:top + step].astype(np.uint32)
        block += 128
        block //= 257
        out[top:top + step] = block
    return out


def _to_16_bits(arr: np.ndarray) -> np.ndarray:
    """uint8 -> uint16 exactly: ``v * 257`` (255 -> 65535)."""
    out = arr.astype(np.uint16)
    out *= np.uint16(257)
    return out


def _composite(colour: np.ndarray, alpha: np.ndarray,
               background: Sequence[int]) -> np.ndarray:
    """``round((c a + b (M - a)) / M)`` at the array's depth (M = 255 or
    65535); ``colour`` ``(H, W, 3)``, ``alpha`` ``(H, W, 1)``."""
    top_value = 255 if colour.dtype == np.uint8 else 65535
    bg = np.asarray(background, np.uint64) * (top_value // 255)
    out = np.empty(colour.shape, colour.dtype)
    step = _rows_per_block(colour)
    for top in range(0, colour.shape[0], step):
        a = alpha[top:top + step].astype(np.uint64)
        c = colour[top:top + step].astype(np.uint64)
        c *= a
        c += bg * (top_value - a)
        c += top_value // 2
        c //= top_value
        out[top:top + step] = c
    return out


def _to_grey(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma, OpenCV 4's fixed point, rounded; ``(H, W, 1)``."""
    r_w, g_w, b_w, shift = _GREY_WEIGHTS
    out = np.empty(rgb.shape[:2] + (1, ), rgb.dtype)
    step = _rows_per_block(rgb)
    for top in range(0, rgb.shape[0], step):
        block = rgb[top:top + step].astype(np.uint32)
        grey = block[:, :, 0] * r_w
        grey += block[:, :, 1] * g_w
        grey += block[:, :, 2] * b_w
        grey += 1 << (shift - 1)
        grey >>= shift
        out[top:top + step, :, 0] = grey
    return out


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def check_read_options(channels, bit_depth, alpha, background) -> tuple:
    """Check :func:`read_image`'s options (one-line ValueErrors, as it
    raises them); returns ``background`` as a tuple of 3 ints."""
    if channels not in (1, 3) or isinstance(channels, bool):
        raise ValueError(
            f'read_image: channels must be 3 (RGB) or 1 (grey), got '
            f'{channels!r}')
    if bit_depth not in (8, 16, None) or isinstance(bit_depth, bool):
        raise ValueError(
            f"read_image: bit_depth must be 8, 16 or None (the file's own "
            f'depth), got {bit_depth!r}')
    if alpha not in ALPHA_POLICIES:
        raise ValueError(
            f'read_image: alpha must be one of {ALPHA_POLICIES}, got '
            f'{alpha!r}')
    try:
        bg = tuple(int(v) for v in background)
        ok = len(bg) == 3 and all(0 <= v <= 255 and v == b
                                  for v, b in zip(bg, background))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f'read_image: background must be an RGB triple of 0..255 ints, '
            f'e.g. (255, 255, 255) for white, got {background!r}')
    return bg


def _colour_name(background: Tuple[int, int, int]) -> str:
    names = {(255, 255, 255): 'white ', (0, 0, 0): 'black '}
    return names.get(tuple(background), '')


def warn_alpha_once(path, policy: str,
                    background: Sequence[int] = (255, 255, 255)) -> None:
    """Say once per process how images with alpha are handled.

    One WARNING line (mmengine ``print_log``, ``logger='current'``) for the
    first image with alpha seen under each policy (and, for
    ``'composite'``, each background); later calls are silent. ``'refuse'``
    logs nothing: :func:`read_image` raises for each such image instead.

    Args:
        path: the first image with alpha (named in the line).
        policy (str): one of :data:`ALPHA_POLICIES`.
        background (tuple): the RGB 0..255 background of ``'composite'``.
    """
    if policy not in ALPHA_POLICIES:
        raise ValueError(f'warn_alpha_once: policy must be one of '
                         f'{ALPHA_POLICIES}, got {policy!r}')
    if policy == 'refuse':
        return
    bg = tuple(int(v) for v in background)
    key = (policy, bg) if policy == 'composite' else (policy, )
    if key in _WARNED:
        return
    _WARNED.add(key)
    if policy == 'composite':
        message = (f'images with alpha (first: {os.fspath(path)}) are '
                   f'composited on {_colour_name(bg)}{bg}; set '
                   "alpha='refuse' to stop on them instead, or alpha='drop' "
                   'to keep the stored colour')
    else:
        message = (f'images with alpha (first: {os.fspath(path)}): the alpha '
                   "channel is dropped and the stored colour kept (alpha="
                   "'drop'); set alpha='composite' to composite them on a "
                   "background, or alpha='refuse' to stop on them")
    print_log(message, logger='current', level=logging.WARNING)


def read_image(source: Source,
               *,
               channels: int = 3,
               bit_depth: Optional[int] = 8,
               alpha: str = 'composite',
               background: Sequence[int] = (255, 255, 255),
               max_pixels: Optional[int] = None,
               name: Optional[str] = None) -> np.ndarray:
    """Read an image file the way all of invtoolbox does (see the module).

    Args:
        source (str | PathLike | bytes): the file, or its bytes.
        channels (int): 3 (RGB; grey repeated) or 1 (grey; colour reduced
            to BT.601 luma, OpenCV 4 fixed point, rounded). Default: 3.
        bit_depth (int, optional): 8 -> uint8 in [0, 255] (16-bit files
            rounded, ``(v + 128) // 257``); 16 -> uint16 in [0, 65535]
            (8-bit files widened exactly, ``v * 257``); None -> the file's
            own depth. Default: 8.
        alpha (str): images with an alpha channel or a transparent colour:
            ``'composite'`` on ``background`` (``round((c a + b (M - a)) /
            M)`` at the file's depth), ``'refuse'`` (ImageReadError), or
            ``'drop'`` (the stored colour, alpha ignored: the old training
            behaviour). Composite and drop are said once per process
            (:func:`warn_alpha_once`). Default: ``'composite'``.
        background (tuple): RGB 0..255 (times 257 for 16-bit files).
            Default: white.
        max_pixels (int, optional): refuse images of more pixels (after
            reading the header only). Default: ``INVTB_MAX_IMAGE_PIXELS`` or
            :data:`MAX_IMAGE_PIXELS` (2**30).
        name (str, optional): what messages call the image. Default: the
            path, or ``'<bytes>'``.

    Returns:
        np.ndarray: ``(H, W, channels)`` C-contiguous and writable, RGB
        order, EXIF orientation applied; uint8 / uint16 as ``bit_depth``
        says.

    Raises:
        FileNotFoundError: the file does not exist.
        ImageReadError: corrupt / truncated / not an image (names the file
            and its byte count), too many pixels, float pixels, an
            unsupported mode, or alpha with ``alpha='refuse'``.
        ValueError: a bad option.
    """
    bg = check_read_options(channels, bit_depth, alpha, background)
    limit = resolve_max_pixels(max_pixels)
    with _Input(source, name) as src:
        arr = _decode(src, limit, refuse_alpha=alpha == 'refuse')
    if arr.shape[2] in (2, 4):
        if alpha == 'refuse':
            raise _refused(src)
        warn_alpha_once(src.name, alpha, bg)
        colour, opacity = arr[:, :, :-1], arr[:, :, -1:]
        if alpha == 'drop':
            arr = colour
        else:
            if colour.shape[2] == 1 and len(set(bg)) > 1:
                colour = np.repeat(colour, 3, axis=2)
            arr = _composite(colour, opacity,
                             bg if colour.shape[2] == 3 else bg[:1])
    if channels == 1 and arr.shape[2] == 3:
        arr = _to_grey(arr)
    if bit_depth == 8 and arr.dtype == np.uint16:
        arr = _to_8_bits(arr)
    elif bit_depth == 16 and arr.dtype == np.uint8:
        arr = _to_16_bits(arr)
    if channels == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if not (arr.flags.c_contiguous and arr.flags.writeable):
        arr = np.array(arr, order='C')
    return arr


def _decode(src: _Input, limit: int, refuse_alpha: bool) -> np.ndarray:
    """The file -> ``(H, W, C)`` uint8 / uint16 at its own depth, oriented;
    C = 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)."""
    img = _open_pillow(src)
    if img is None:  # a format Pillow does not know: OpenCV, no EXIF
        arr = _cv2_to_array(src)
        _check_size(src, (arr.shape[1], arr.shape[0]), limit)
        return arr
    with img:
        orientation = _orientation(img)
        _check_size(src, _stored_size(img), limit)
        if refuse_alpha and _pil_has_alpha(img):
            raise _refused(src)
        if _needs_opencv(img):
            _check_cv2_size(src, _stored_size(img))
            arr = None
        else:
            _load_pillow(src, img)
            orientation = _orientation_left(img, orientation)
            arr = _pil_to_array(src, img)
    if arr is None:
        arr = _cv2_to_array(src)
    return _apply_orientation(arr, orientation)


def _refused(src: _Input) -> ImageReadError:
    return ImageReadError(
        f"{src.name!r} has an alpha channel (transparency) and alpha="
        "'refuse' is set; use alpha='composite' (on background=..., white by "
        "default) or alpha='drop' (keep the stored colour), or remove the "
        'transparency from the file')


def image_size(source: Source, *,
               max_pixels: Optional[int] = None) -> Tuple[int, int]:
    """``(width, height)`` of an image as :func:`read_image` returns it
    (EXIF orientation applied), from the header only.

    Formats that Pillow cannot open (read by OpenCV alone) are decoded.

    Raises:
        FileNotFoundError / ImageReadError: as :func:`read_image`, including
        more than ``max_pixels`` pixels (default: the limit of
        :func:`read_image`).
    """
    limit = resolve_max_pixels(max_pixels)
    with _Input(source, None) as src:
        img = _open_pillow(src)
        if img is None:
            arr = _cv2_to_array(src)
            size = (arr.shape[1], arr.shape[0])
        else:
            with img:
                size = _oriented_size(img, _orientation(img))
        _check_size(src, size, limit)
    return size


def has_alpha(source: Source) -> bool:
    """Whether the image has an alpha channel or a transparent colour
    (palette / grey / RGB with ``tRNS``), from the header only."""
    with _Input(source, None) as src:
        img = _open_pillow(src)
        if img is None:
            return _cv2_to_array(src).shape[2] in (2, 4)
        with img:
            return _pil_has_alpha(img)
