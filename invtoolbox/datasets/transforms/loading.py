# Copyright (c) invtoolbox contributors. All rights reserved.
"""Reading images from files."""
from __future__ import annotations

import io
from typing import Optional

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from PIL import Image, ImageOps

from ...errors import DataError
from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read ``results[f'{key}_path']`` into ``results[key]``.

    The image is decoded with mmcv (``mmcv.imfrombytes``) from the bytes that
    mmengine's file backend returns, so any mmengine backend (local disk,
    HTTP, object storage through ``backend_args``) works.

    Result: an **RGB ``(H, W, 3)``** numpy array (``(H, W, 1)`` with
    ``color_type='grayscale'``), **uint8** by default, whatever the file
    holds:

    - grayscale files become 3-channel RGB (the grey value repeated), so
      Set14's ``bridge.png`` batches with colour images;
    - the **alpha channel of RGBA files is dropped** (not composited on a
      background): the stored RGB values are kept as they are;
    - the EXIF orientation is applied (by both decoders);
    - 16-bit files are reduced to 8 bits (OpenCV truncates, ``v >> 8``, for
      PNG; the Pillow path rounds ``v / 257`` for 16-bit grey files, which
      Pillow itself would clip to white).

    ``bit_depth=16`` keeps 16-bit PNG / TIFF data: the result is **uint16**
    for every file, 8-bit files widened exactly (``v * 257``, so 255 becomes
    65535); ``bit_depth=None`` keeps each file's own depth (uint8 or uint16;
    mixing them in one batch needs the data preprocessor to normalise each
    sample). Both decode with OpenCV (``IMREAD_ANYDEPTH`` with
    ``IMREAD_COLOR`` / ``IMREAD_GRAYSCALE``), which keeps the EXIF
    orientation, alpha and grey handling of the 8-bit path; the channels are
    RGB as there. ``PackInputs`` packs uint16 images as int32 codes.

    Added keys: ``key`` (the image), ``f'{key}_ori_shape'`` (``(H, W)`` as
    read, before any crop).

    Args:
        key (str): which image: reads ``f'{key}_path'``, writes ``key``.
            Default: ``'gt'``.
        color_type (str): ``'color'`` (3-channel RGB) or ``'grayscale'``
            (1 channel). Default: ``'color'``.
        imdecode_backend (str): mmcv decoding backend, ``'cv2'`` or
            ``'pillow'``. Default: ``'cv2'``.
        backend_args (dict, optional): mmengine file-backend arguments.
        bit_depth (int, optional): ``8`` (uint8, default), ``16`` (uint16)
            or ``None`` (the file's own depth). 16 and None need
            ``imdecode_backend='cv2'``: Pillow decodes 16-bit colour PNG /
            TIFF to 8 bits.

    Raises:
        ValueError: ``f'{key}_path'`` is not in the results, the file cannot
            be decoded (corrupt, truncated, not an image), or it decodes to
            something other than 8- or 16-bit integers, naming the file; a
            bad option.
        FileNotFoundError: the file does not exist.
    """

    def __init__(self,
                 key: str = 'gt',
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 bit_depth: Optional[int] = 8) -> None:
        if color_type not in ('color', 'grayscale'):
            raise ValueError(
                f"LoadImageFromFile: color_type must be 'color' or "
                f"'grayscale', got {color_type!r}")
        if imdecode_backend not in ('cv2', 'pillow'):
            raise ValueError(
                f"LoadImageFromFile: imdecode_backend must be 'cv2' or "
                f"'pillow', got {imdecode_backend!r}")
        if bit_depth not in (8, 16, None) or isinstance(bit_depth, bool):
            raise ValueError(
                f'LoadImageFromFile: bit_depth must be 8, 16 or None (the '
                f"file's own depth), got {bit_depth!r}")
        if bit_depth != 8 and imdecode_backend != 'cv2':
            raise ValueError(
                f"LoadImageFromFile: bit_depth={bit_depth} needs "
                f"imdecode_backend='cv2' (Pillow decodes 16-bit colour PNG / "
                f"TIFF to 8 bits), got {imdecode_backend!r}")
        self.bit_depth = bit_depth
        self.key = key
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def _read_bytes(self, path: str) -> bytes:
        try:
            return fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'LoadImageFromFile: image file {path!r} does not exist; '
                'check the dataset folder or regenerate the file list') \
                from None

    def _undecodable(self, content: bytes, path: str) -> DataError:
        return DataError(
            f'LoadImageFromFile: cannot decode {path!r} as an image '
            f'({len(content)} bytes; corrupt, truncated or not an image); '
            'replace or remove the file')

    def _decode_pillow_16bit_grey(self, content: bytes) -> Optional[np.ndarray]:
        """16-bit grey files through Pillow, reduced to 8 bits by rounding.

        Pillow's own conversion of its ``I;16`` / ``I`` modes to RGB clips
        every value above 255 (an all-white image); returns None for any
        other file, which mmcv decodes.
        """
        try:
            with Image.open(io.BytesIO(content)) as pil:
                if not (pil.mode.startswith('I;16') or pil.mode == 'I'):
                    return None
                codes = np.asarray(ImageOps.exif_transpose(pil)).astype(
                    np.int64)
        except Exception:  # not an image: mmcv reports it
            return None
        if codes.size and (codes.min() < 0 or codes.max() > 65535):
            return None  # 32-bit data: left to the generic path
        img = ((codes + 128) // 257).astype(np.uint8)  # round(v / 257)
        return img[:, :, None] if self.color_type == 'grayscale' else \
            np.repeat(img[:, :, None], 3, axis=2)

    def _decode_anydepth(self, content: bytes, path: str) -> np.ndarray:
        """OpenCV with IMREAD_ANYDEPTH: 8- or 16-bit, RGB, EXIF applied."""
        flag = cv2.IMREAD_ANYDEPTH | (cv2.IMREAD_COLOR if self.color_type ==
                                      'color' else cv2.IMREAD_GRAYSCALE)
        try:
            img = cv2.imdecode(np.frombuffer(content, np.uint8), flag)
        except cv2.error:
            img = None
        if not isinstance(img, np.ndarray) or img.size == 0:
            raise self._undecodable(content, path) from None
        if img.dtype not in (np.uint8, np.uint16):
            raise DataError(
                f'LoadImageFromFile: {path!r} decoded to {img.dtype}; '
                f'bit_depth={self.bit_depth} reads 8- and 16-bit integer '
                'images: convert the file to a 16-bit PNG or TIFF')
        if img.ndim == 3 and img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if self.bit_depth == 16 and img.dtype == np.uint8:
            img = img.astype(np.uint16) * np.uint16(257)
        return img

    def _decode(self, content: bytes, path: str) -> np.ndarray:
        if self.bit_depth != 8:
            img = self._decode_anydepth(content, path)
        else:
            img = self._decode_pillow_16bit_grey(content) \
                if self.imdecode_backend == 'pillow' else None
            if img is None:
                try:
                    img = mmcv.imfrombytes(
                        content,
                        flag=self.color_type,
                        channel_order='rgb',
                        backend=self.imdecode_backend)
                except Exception:  # each decoder fails in its own way
                    img = None
            if not isinstance(img, np.ndarray) or img.size == 0:
                raise self._undecodable(content, path) from None
        if img.ndim == 2:
            img = img[:, :, None]
        expected = 3 if self.color_type == 'color' else 1
        if img.shape[2] != expected:  # e.g. a decoder that keeps alpha
            img = img[:, :, :3] if expected == 3 and img.shape[2] == 4 else \
                img[:, :, :1]
        if self.bit_depth == 8 and img.dtype != np.uint8:
            raise DataError(
                f'LoadImageFromFile: {path!r} decoded to {img.dtype}, '
                'expected 8-bit; convert the file to 8-bit PNG')
        return np.ascontiguousarray(img)

    def transform(self, results: dict) -> dict:
        """Read the image.

        Args:
            results (dict): holds ``f'{key}_path'``.

        Returns:
            dict: ``results`` with ``key`` (HWC RGB, uint8 or uint16 as
            ``bit_depth`` says) and ``f'{key}_ori_shape'``.
        """
        path_key = f'{self.key}_path'
        if path_key not in results:
            raise ValueError(
                f'LoadImageFromFile: no {path_key!r} in the results (keys: '
                f'{", ".join(sorted(map(str, results)))}); the dataset must '
                f"provide it, or set key to one of its '<key>_path' entries")
        path = str(results[path_key])
        img = self._decode(self._read_bytes(path), path)
        results[self.key] = img
        results[f'{self.key}_ori_shape'] = tuple(img.shape[:2])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(key={self.key!r}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r}, '
                f'bit_depth={self.bit_depth!r})')
