# Copyright (c) invtoolbox contributors. All rights reserved.
"""Reading a Bayer camera RAW with rawpy (LibRaw), checked for what the
Invertible-ISP pipeline needs.

What counts as "no white balance": LibRaw fills ``camera_whitebalance`` with
zeros for the channels a file does not specify. A DNG without
``AsShotNeutral`` reads as ``[0, 1, 0, 0]`` (rawpy 0.28 / LibRaw 0.22), so
the white balance is missing when any of R, G, B (``camera_whitebalance[:3]``)
is zero, negative or not finite. ``[1, 1, 1, 1]`` (e.g. the Kodak DC50, whose
file has no WB tag and which LibRaw fills with ones) is a valid, neutral
value.

Truncated files: LibRaw 0.22 checks its reads against the file size and
raises ``LibRawIOError`` on ``unpack`` for a Kodak KDC or an uncompressed DNG
cut anywhere (measured at 30 % .. 99.5 % of their bytes); it is reported as
a :class:`~invtoolbox.errors.RawFormatError`. As a second guard against a
decoder that zero-fills missing data, a mosaic whose values are all zero, or
whose bottom eighth is all zero while the sensor has a black level above
zero (no real exposure reads 0 there), is rejected as truncated.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np

from ...errors import RawFormatError
from .metadata import CFA_PATTERNS, RawMetadata

#: file extensions treated as camera RAW (compared case-insensitively).
RAW_EXTENSIONS = ('.dng', '.nef', '.cr2', '.arw', '.raf', '.orf', '.rw2',
                  '.pef', '.srw', '.kdc')

_FLIPS = (0, 3, 5, 6)


def is_raw_file(name: str) -> bool:
    """Whether ``name`` has one of :data:`RAW_EXTENSIONS` (any case)."""
    return os.path.splitext(str(name))[1].lower() in RAW_EXTENSIONS


def _check_path(path) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f'read_raw: RAW file {path!r} does not exist; check the path or '
            'the dataset folder')
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'read_raw: {path!r} is not a file (a folder?); give the path of '
            'a camera RAW file')
    return path


def _cfa_from_libraw(path: str, raw_pattern, color_desc) -> str:
    """'RGGB'-style string from LibRaw's ``raw_pattern`` (indices into
    ``color_desc``, e.g. b'RGBG' where index 3 is the second green)."""
    if raw_pattern is None:
        raise RawFormatError(
            f'read_raw: {path!r} has no colour filter pattern (a linear or '
            'already demosaiced image, e.g. a 3-sample DNG); the pipeline '
            'needs a Bayer mosaic: use the camera\'s original RAW file')
    pattern = np.asarray(raw_pattern)
    if pattern.shape != (2, 2):
        raise RawFormatError(
            f'read_raw: {path!r} has a {pattern.shape[0]}x{pattern.shape[1]} '
            'colour filter pattern (X-Trans or another non-Bayer sensor); '
            'only 2x2 Bayer RAWs (RGGB, BGGR, GRBG, GBRG) are supported')
    desc = color_desc.decode('ascii', 'replace') if isinstance(
        color_desc, bytes) else str(color_desc)
    try:
        cfa = ''.join(desc[int(i)] for i in pattern.reshape(-1))
    except IndexError:
        cfa = '?'
    if cfa not in CFA_PATTERNS:
        raise RawFormatError(
            f'read_raw: {path!r} has colour filters {cfa!r} (LibRaw '
            f'raw_pattern {pattern.tolist()}, colours {desc!r}), not a '
            f'Bayer layout {CFA_PATTERNS} (CMYG or another sensor); '
            'only R/G/B Bayer RAWs are supported')
    return cfa


def _tiff_info(path: str) -> Tuple[Optional[str], Optional[tuple]]:
    """Make + model and DNG ``ColorMatrix1`` (XYZ -> camera, 9 floats) from
    a TIFF-based RAW's first IFD; (None, None) if not TIFF.

    LibRaw uses ``ColorMatrix1`` but reports ``rgb_xyz_matrix`` as zeros for
    DNGs it has no table entry for (e.g. the synthetic ones), so the tag is
    read here.
    """
    matrix = None
    try:
        import tifffile
        with tifffile.TiffFile(path) as tif:
            tags = tif.pages[0].tags
            make = tags.get('Make')
            model = tags.get('Model')
            unique = tags.get('UniqueCameraModel')
            make = str(make.value).strip('\x00 ') if make else ''
            model = str(model.value).strip('\x00 ') if model else ''
            if not model and unique:
                model = str(unique.value).strip('\x00 ')
            cm = tags.get('ColorMatrix1')
            if cm is not None:
                values = np.asarray(cm.value, dtype=np.float64).reshape(-1)
                if values.size == 18:  # (numerator, denominator) pairs
                    values = values[0::2] / values[1::2]
                if values.size == 9 and np.all(np.isfinite(values)) and \
                        np.any(values):
                    matrix = tuple(float(v) for v in values)
    except Exception:  # not a TIFF container (or an unreadable one)
        return None, None
    if model.lower().startswith(make.lower()):
        make = ''
    name = ' '.join(part for part in (make, model) if part)
    return name or None, matrix


def _libraw_error(path: str, err: Exception, stage: str) -> RawFormatError:
    message = err.args[0] if err.args else ''
    if isinstance(message, bytes):
        message = message.decode('ascii', 'replace')
    size = os.path.getsize(path)
    what = ('not a camera RAW that LibRaw recognises' if stage == 'open'
            else 'truncated or corrupt (LibRaw could not decode its data)')
    return RawFormatError(
        f'read_raw: {path!r} ({size} bytes) is {what}: '
        f'{type(err).__name__}: {message or "no details"}; replace the file '
        'with a complete copy of the camera RAW')


def open_raw(path):
    """Open ``path`` with rawpy and unpack it; LibRaw errors become a
    one-line :class:`RawFormatError`. The caller closes the returned object.
    """
    import rawpy
    path = _check_path(path)
    try:
        raw = rawpy.imread(path)
    except rawpy.LibRawError as err:
        raise _libraw_error(path, err, 'open') from None
    try:
        raw.unpack()
    except rawpy.LibRawError as err:
        raw.close()
        raise _libraw_error(path, err, 'unpack') from None
    return raw


def _metadata_and_bayer(path: str, raw) -> Tuple[np.ndarray, RawMetadata]:
    import rawpy
    if raw.raw_type != rawpy.RawType.Flat:
        raise RawFormatError(
            f'read_raw: {path!r} is not a Bayer mosaic (LibRaw raw_type '
            f'{raw.raw_type.name}: a Foveon, linear or already demosaiced '
            'image); the pipeline needs the camera\'s Bayer RAW')
    cfa = _cfa_from_libraw(path, raw.raw_pattern, raw.color_desc)
    image = raw.raw_image_visible
    if image is None or image.ndim != 2:
        shape = None if image is None else image.shape
        raise RawFormatError(
            f'read_raw: {path!r} holds a {shape} image, not a 2-D Bayer '
            'mosaic; the pipeline needs the camera\'s Bayer RAW')
    height, width = image.shape
    if height % 2 or width % 2 or height < 2 or width < 2:
        raise RawFormatError(
            f'read_raw: {path!r} has a visible area of {height}x{width} '
            '(HxW); the Bayer pipeline needs an even height and width: '
            'crop the RAW to even sides (e.g. in the DNG DefaultCrop)')
    bayer = np.array(image, dtype=np.uint16, copy=True)

    white = int(raw.white_level)
    pattern = np.asarray(raw.raw_pattern).reshape(-1)
    per_channel = list(raw.black_level_per_channel)
    black = tuple(float(per_channel[int(i)]) for i in pattern)
    if white <= max(black):
        raise RawFormatError(
            f'read_raw: {path!r} has white level {white} not above its black '
            f'levels {black}; the file\'s level tags are broken')

    wb = np.asarray(raw.camera_whitebalance, dtype=np.float64)[:3]
    if wb.shape != (3, ) or not np.all(np.isfinite(wb)) or np.any(wb <= 0):
        raise RawFormatError(
            f'read_raw: {path!r} has no camera white balance (LibRaw '
            f'camera_whitebalance {list(raw.camera_whitebalance)}; a DNG '
            'needs AsShotNeutral); the Invertible-ISP normalisation needs '
            'it: use a RAW straight from the camera, or write the DNG with '
            'AsShotNeutral')

    flip = int(raw.sizes.flip)
    if flip not in _FLIPS:
        raise RawFormatError(
            f'read_raw: {path!r} has LibRaw orientation flip={flip}; only '
            f'{_FLIPS} (none, 180, 90 CCW, 90 CW) are supported')

    matrix = np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3]
    color_matrix = None if not np.any(matrix) else tuple(
        float(v) for v in matrix.reshape(-1))

    if not bayer.any():
        raise RawFormatError(
            f'read_raw: {path!r} decodes to an all-zero mosaic (truncated or '
            'corrupt data); replace the file with a complete copy')
    tail = bayer[height - max(2, height // 8):]
    if min(black) > 0 and not tail.any():
        raise RawFormatError(
            f'read_raw: {path!r} decodes with its bottom {tail.shape[0]} rows '
            f'all zero although the black level is {min(black)} (the data '
            'looks truncated); replace the file with a complete copy')

    tiff_name, tiff_matrix = _tiff_info(path)
    if color_matrix is None:
        color_matrix = tiff_matrix
    camera = tiff_name or 'unknown camera'
    meta = RawMetadata(
        cfa=cfa,
        black_level=black,
        white_level=white,
        wb=tuple(float(v) for v in wb),
        flip=flip,
        color_matrix=color_matrix,
        camera=camera)
    return bayer, meta


def read_raw(path) -> Tuple[np.ndarray, RawMetadata]:
    """Read the visible Bayer mosaic of a camera RAW and its metadata.

    Args:
        path (str | os.PathLike): a camera RAW file (any format LibRaw
            reads: DNG, NEF, CR2, ARW, KDC, ...).

    Returns:
        tuple: ``bayer`` (``(H, W)`` uint16 numpy array, a copy of LibRaw's
        ``raw_image_visible``, sensor units in ``[0, white_level]``, not
        oriented: apply :func:`~invtoolbox.datasets.raw.isp.apply_flip`
        after demosaicing) and ``meta`` (:class:`RawMetadata`: CFA from
        ``raw_pattern`` + ``color_desc``, black levels in the CFA's
        row-major site order, white level, ``camera_whitebalance[:3]``,
        ``sizes.flip``, ``rgb_xyz_matrix[:3]`` or None when all zero, make
        and model from the TIFF tags or ``'unknown camera'``).

    Raises:
        FileNotFoundError: ``path`` does not exist or is a folder.
        RawFormatError: LibRaw does not recognise the file; it is truncated
            or corrupt; it is not a 2x2 R/G/B Bayer sensor (X-Trans, Foveon,
            linear DNG); its visible height or width is odd; it has no
            camera white balance; its levels are inconsistent.
    """
    raw = open_raw(path)
    try:
        return _metadata_and_bayer(os.fspath(path), raw)
    finally:
        raw.close()
