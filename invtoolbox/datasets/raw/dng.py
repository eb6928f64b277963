# Copyright (c) invtoolbox contributors. All rights reserved.
"""Writing Bayer RAW as DNG 1.4 files that LibRaw (rawpy) reads back.

The file is a plain TIFF written by :mod:`tifffile` (no hand-written TIFF):
one uncompressed 16-bit CFA image in IFD 0 with the DNG tags LibRaw needs
to decode it and to ``postprocess()`` it with sensible colours.
"""
import os
import os.path as osp
import tempfile
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from .metadata import RawMetadata

#: XYZ (D65) -> linear sRGB (IEC 61966-2-1), written as ``ColorMatrix1``
#: when the metadata has no camera matrix: the "camera" is then linear sRGB.
XYZ_TO_SRGB = (3.2404542, -1.5371385, -0.4985314,
               -0.9692660, 1.8760108, 0.0415560,
               0.0556434, -0.2040259, 1.0572252)

#: LibRaw ``sizes.flip`` -> TIFF/DNG ``Orientation`` (LibRaw maps it back).
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}
_CFA_CODE = {'R': 0, 'G': 1, 'B': 2}
_D65 = 21  # EXIF LightSource code of CalibrationIlluminant1

# TIFF field types
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL = 1, 2, 3, 4, 5, 10


def _umask() -> int:
    """The process umask (mkstemp makes 0600 files; a DNG is 0666 - umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _rationals(values: Sequence[float], signed: bool = False) -> list:
    """Flattened (numerator, denominator) pairs, as tifffile takes them."""
    out = []
    for value in values:
        frac = Fraction(float(value)).limit_denominator(1000000)
        if not signed and frac < 0:
            raise ValueError(f'write_dng: {value!r} must not be negative')
        out += [frac.numerator, frac.denominator]
    return out


def _check(path: str, bayer: np.ndarray, meta: RawMetadata) -> None:
    name = f'write_dng({path!r})'
    if not isinstance(meta, RawMetadata):
        raise ValueError(f'{name}: meta must be a RawMetadata, got '
                         f'{type(meta).__name__}')
    if not isinstance(bayer, np.ndarray) or bayer.ndim != 2:
        shape = getattr(bayer, 'shape', type(bayer).__name__)
        raise ValueError(f'{name}: the Bayer image must be a 2-D (H, W) '
                         f'numpy array, got {shape}; pass one plane of '
                         'the mosaic, not an RGB image')
    if bayer.dtype != np.uint16:
        raise ValueError(f'{name}: the Bayer image must be uint16, got '
                         f'{bayer.dtype}; quantise it to the white level '
                         'first (e.g. np.round(x).astype(np.uint16))')
    height, width = bayer.shape
    if height < 2 or width < 2:
        raise ValueError(f'{name}: the Bayer image is {height}x{width}; it '
                         'needs at least one whole 2x2 CFA cell (and 22x22 '
                         'pixels for a DNG)')
    if height % 2 or width % 2:
        raise ValueError(f'{name}: the Bayer image must have an even height '
                         f'and width (whole 2x2 CFA cells), got {height}x'
                         f'{width}; crop it to {height - height % 2}x'
                         f'{width - width % 2}')
    if height < 22 or width < 22:
        raise ValueError(f'{name}: the Bayer image is {height}x{width}; '
                         'LibRaw refuses RAWs smaller than 22x22 pixels, so '
                         'write at least 22x22')
    if not 0 < meta.white_level <= 65535:
        raise ValueError(f'{name}: white_level must be in 1..65535, got '
                         f'{meta.white_level}')
    peak = int(bayer.max())
    if peak > meta.white_level:
        raise ValueError(f'{name}: values up to {peak} exceed the white '
                         f'level {meta.white_level}; clip the image or '
                         'raise meta.white_level')
    if any(not 0 <= b < meta.white_level for b in meta.black_level):
        raise ValueError(f'{name}: black levels {meta.black_level} must be '
                         f'in [0, white_level={meta.white_level})')
    if any(not w > 0 for w in meta.wb):
        raise ValueError(f'{name}: white balance {meta.wb} must be '
                         'positive')
    if meta.color_matrix is not None and len(meta.color_matrix) != 9:
        raise ValueError(f'{name}: color_matrix needs 9 values (3x3 '
                         f'XYZ -> camera), got {len(meta.color_matrix)}')


def dng_tags(meta: RawMetadata) -> list:
    """The DNG tags of ``meta`` as tifffile ``extratags``.

    ``AsShotNeutral`` is ``1 / wb`` normalised so that G = 1 (LibRaw's
    ``camera_whitebalance`` then gives back ``wb / wb[1]``); ``ColorMatrix1``
    is ``meta.color_matrix`` or :data:`XYZ_TO_SRGB`, calibrated under D65.
    """
    wb = np.asarray(meta.wb, dtype=np.float64)
    neutral = wb[1] / wb
    matrix = meta.color_matrix if meta.color_matrix is not None \
        else XYZ_TO_SRGB
    camera = meta.camera or 'invtoolbox synthetic'
    make, _, model = camera.partition(' ')
    return [
        (271, _ASCII, None, make, True),  # Make
        (272, _ASCII, None, model or make, True),  # Model
        (274, _SHORT, 1, _FLIP_TO_ORIENTATION[meta.flip], True),
        (33421, _SHORT, 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, _BYTE, 4, bytes(_CFA_CODE[c] for c in meta.cfa), True),
        (50706, _BYTE, 4, bytes((1, 4, 0, 0)), True),  # DNGVersion
        (50707, _BYTE, 4, bytes((1, 1, 0, 0)), True),  # DNGBackwardVersion
        (50708, _ASCII, None, camera, True),  # UniqueCameraModel
        (50710, _BYTE, 3, bytes((0, 1, 2)), True),  # CFAPlaneColor
        (50711, _SHORT, 1, 1, True),  # CFALayout: rectangular
        (50713, _SHORT, 2, (2, 2), True),  # BlackLevelRepeatDim
        (50714, _RATIONAL, 4, _rationals(meta.black_level), True),
        (50717, _LONG, 1, int(meta.white_level), True),  # WhiteLevel
        (50721, _SRATIONAL, 9, _rationals(matrix, signed=True), True),
        (50728, _RATIONAL, 3, _rationals(neutral), True),  # AsShotNeutral
        (50778, _SHORT, 1, _D65, True),  # CalibrationIlluminant1
    ]


def write_dng(path: str,
              bayer: np.ndarray,
              meta: RawMetadata,
              overwrite: bool = False,
              compression: Optional[str] = None) -> str:
    """Write a Bayer mosaic as a DNG 1.4 file that LibRaw reads back exactly.

    rawpy then gives ``raw_image_visible == bayer`` bit-exactly, the CFA
    pattern ``meta.cfa`` (``raw_pattern``/``color_desc``), the per-site
    black levels (``black_level_per_channel``, in LibRaw's colour order),
    ``white_level``, ``camera_whitebalance == wb / wb[1]``, ``sizes.flip ==
    meta.flip``, and ``postprocess()`` renders it (a neutral grey stays
    grey). Nothing but the pixels and ``meta`` is written (no timestamp), so
    the same input gives byte-identical files.

    Args:
        path (str): the ``.dng`` file to write (its folder must exist).
        bayer (np.ndarray): (H, W) uint16 mosaic, H and W even and at
            least 22 (LibRaw's smallest RAW), values in
            ``[0, meta.white_level]``; the top-left pixel is the first
            letter of ``meta.cfa``.
        meta (RawMetadata): CFA pattern, 4 black levels (row-major CFA
            order), white level, white balance, flip, colour matrix (XYZ ->
            camera; :data:`XYZ_TO_SRGB` when None) and camera name.
        overwrite (bool): replace an existing file. Default: False.
        compression (str, optional): only None (uncompressed) is
            supported: LibRaw 0.22 (rawpy 0.28) cannot read integer Deflate
            DNGs, and tifffile needs the ``imagecodecs`` package for lossless
            or lossy JPEG.

    Returns:
        str: ``path``.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        FileNotFoundError: the folder of ``path`` does not exist.
        ValueError: not a 2-D uint16 array, an odd size, values above the
            white level, bad levels or an unsupported ``compression``.
    """
    import tifffile

    path = os.fspath(path)
    _check(path, bayer, meta)
    if compression is not None:
        raise ValueError(
            f'write_dng({path!r}): compression={compression!r} is not '
            'supported; use compression=None (LibRaw 0.22 reads no integer '
            'Deflate DNG, and lossless/lossy JPEG needs imagecodecs)')
    folder = osp.dirname(osp.abspath(path))
    if not osp.isdir(folder):
        raise FileNotFoundError(f'write_dng: the folder {folder!r} of '
                                f'{path!r} does not exist; create it first')
    if osp.exists(path) and not overwrite:
        raise FileExistsError(f'write_dng: {path!r} exists; pass '
                              'overwrite=True to replace it')
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=folder)
    os.close(fd)
    try:
        tifffile.imwrite(
            tmp,
            np.ascontiguousarray(bayer),
            photometric=32803,  # CFA
            planarconfig=1,
            subfiletype=0,
            metadata=None,
            software=False,
            extratags=dng_tags(meta))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path
