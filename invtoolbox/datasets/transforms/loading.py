# Copyright (c) invtoolbox contributors. All rights reserved.
"""Reading images from files."""
from __future__ import annotations

from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio

from ...errors import DataError
from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read ``results[f'{key}_path']`` into ``results[key]``.

    The image is decoded with mmcv (``mmcv.imfrombytes``) from the bytes that
    mmengine's file backend returns, so any mmengine backend (local disk,
    HTTP, object storage through ``backend_args``) works.

    Result: an **RGB ``(H, W, 3)`` uint8** numpy array (``(H, W, 1)`` with
    ``color_type='grayscale'``), whatever the file holds:

    - grayscale files become 3-channel RGB (the grey value repeated), so
      Set14's ``bridge.png`` batches with colour images;
    - the **alpha channel of RGBA files is dropped** (not composited on a
      background): the stored RGB values are kept as they are;
    - 16-bit files are reduced to 8 bits by the decoder.

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

    Raises:
        ValueError: ``f'{key}_path'`` is not in the results, or the file
            cannot be decoded (corrupt, truncated, not an image), naming the
            file.
        FileNotFoundError: the file does not exist.
    """

    def __init__(self,
                 key: str = 'gt',
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        if color_type not in ('color', 'grayscale'):
            raise ValueError(
                f"LoadImageFromFile: color_type must be 'color' or "
                f"'grayscale', got {color_type!r}")
        if imdecode_backend not in ('cv2', 'pillow'):
            raise ValueError(
                f"LoadImageFromFile: imdecode_backend must be 'cv2' or "
                f"'pillow', got {imdecode_backend!r}")
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

    def _decode(self, content: bytes, path: str) -> np.ndarray:
        try:
            img = mmcv.imfrombytes(
                content,
                flag=self.color_type,
                channel_order='rgb',
                backend=self.imdecode_backend)
        except Exception:  # each decoder fails in its own way
            img = None
        if not isinstance(img, np.ndarray) or img.size == 0:
            raise DataError(
                f'LoadImageFromFile: cannot decode {path!r} as an image '
                f'({len(content)} bytes; corrupt, truncated or not an image); '
                'replace or remove the file') from None
        if img.ndim == 2:
            img = img[:, :, None]
        expected = 3 if self.color_type == 'color' else 1
        if img.shape[2] != expected:  # e.g. a decoder that keeps alpha
            img = img[:, :, :3] if expected == 3 and img.shape[2] == 4 else \
                img[:, :, :1]
        if img.dtype != np.uint8:
            raise DataError(
                f'LoadImageFromFile: {path!r} decoded to {img.dtype}, '
                'expected 8-bit; convert the file to 8-bit PNG')
        return np.ascontiguousarray(img)

    def transform(self, results: dict) -> dict:
        """Read the image.

        Args:
            results (dict): holds ``f'{key}_path'``.

        Returns:
            dict: ``results`` with ``key`` (HWC uint8 RGB) and
            ``f'{key}_ori_shape'``.
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
                f'imdecode_backend={self.imdecode_backend!r})')
