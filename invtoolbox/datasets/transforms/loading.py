# Copyright (c) invtoolbox contributors. All rights reserved.
"""Reading images from files."""
from __future__ import annotations

from typing import Optional, Sequence

from mmcv.transforms import BaseTransform
from mmengine import fileio

from ...registry import TRANSFORMS
from ...utils.image_io import (ImageReadError, check_read_options,
                               read_image, resolve_max_pixels)


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read ``results[f'{key}_path']`` into ``results[key]``.

    The bytes come from mmengine's file backend (local disk, HTTP, object
    storage through ``backend_args``) and are decoded by
    :func:`invtoolbox.utils.read_image`, the reader that inference uses
    too, so training, testing and inference see the same pixels:

    - the EXIF orientation is applied;
    - **RGB ``(H, W, 3)``** (``color_type='color'``): grey files repeated
      to 3 channels (Set14's ``bridge.png`` batches with colour images);
      ``(H, W, 1)`` with ``color_type='grayscale'`` (colour reduced to
      BT.601 luma, OpenCV 4 fixed point);
    - **alpha** (RGBA, grey + alpha, palette or PNG transparency):
      ``alpha='composite'`` (default) composites on ``background`` (white),
      ``'refuse'`` stops with a one-line error, ``'drop'`` keeps the stored
      colour (the behaviour before this option existed); the policy is
      logged once per process;
    - **uint8** by default: 16-bit files are rounded, ``(v + 128) // 257``
      (neither truncated, ``v >> 8``, nor clipped to white).

    ``bit_depth=16`` gives **uint16** for every file (8-bit files widened
    exactly, ``v * 257``); ``bit_depth=None`` keeps each file's own depth
    (mixing them in one batch needs the data preprocessor to normalise each
    sample). ``PackInputs`` packs uint16 images as int32 codes. Float
    images (32-bit TIFF, EXR) are refused: convert them to 16-bit PNG.

    Added keys: ``key`` (the image), ``f'{key}_ori_shape'`` (``(H, W)`` as
    read, before any crop).

    Args:
        key (str): which image: reads ``f'{key}_path'``, writes ``key``.
            Default: ``'gt'``.
        color_type (str): ``'color'`` (3-channel RGB) or ``'grayscale'``
            (1 channel). Default: ``'color'``.
        imdecode_backend (str): ``'cv2'`` or ``'pillow'``; kept so that
            existing configs load: both give the same array, as
            :func:`~invtoolbox.utils.read_image` picks the decoder (Pillow,
            OpenCV for 16-bit colour). Default: ``'cv2'``.
        backend_args (dict, optional): mmengine file-backend arguments.
        bit_depth (int, optional): ``8`` (uint8, default), ``16`` (uint16)
            or ``None`` (the file's own depth).
        alpha (str): ``'composite'``, ``'refuse'`` or ``'drop'`` (see
            above). Default: ``'composite'``.
        background (tuple): RGB 0..255 background of ``'composite'``.
            Default: ``(255, 255, 255)``.
        max_pixels (int, optional): largest image, in pixels. Default:
            ``INVTB_MAX_IMAGE_PIXELS`` or 2**30.

    Raises:
        ValueError: ``f'{key}_path'`` is not in the results; the file
            cannot be decoded (corrupt, truncated, not an image, float
            pixels, too large, alpha with ``alpha='refuse'``), naming the
            file (:class:`~invtoolbox.utils.ImageReadError`); a bad option.
        FileNotFoundError: the file does not exist.
    """

    def __init__(self,
                 key: str = 'gt',
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 bit_depth: Optional[int] = 8,
                 alpha: str = 'composite',
                 background: Sequence[int] = (255, 255, 255),
                 max_pixels: Optional[int] = None) -> None:
        if color_type not in ('color', 'grayscale'):
            raise ValueError(
                f"LoadImageFromFile: color_type must be 'color' or "
                f"'grayscale', got {color_type!r}")
        if imdecode_backend not in ('cv2', 'pillow'):
            raise ValueError(
                f"LoadImageFromFile: imdecode_backend must be 'cv2' or "
                f"'pillow', got {imdecode_backend!r}")
        try:  # the same checks (and messages) as read_image's
            background = check_read_options(
                3 if color_type == 'color' else 1, bit_depth, alpha,
                background)
            resolve_max_pixels(max_pixels)
        except ValueError as err:
            raise ValueError(
                f"LoadImageFromFile: {str(err).replace('read_image: ', '')}"
            ) from None
        self.bit_depth = bit_depth
        self.key = key
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args
        self.alpha = alpha
        self.background = background
        self.max_pixels = max_pixels

    def _read_options(self) -> dict:
        return dict(
            channels=3 if self.color_type == 'color' else 1,
            bit_depth=self.bit_depth,
            alpha=self.alpha,
            background=self.background,
            max_pixels=self.max_pixels)

    def _read_bytes(self, path: str) -> bytes:
        try:
            return fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'LoadImageFromFile: image file {path!r} does not exist; '
                'check the dataset folder or regenerate the file list') \
                from None

    def _decode(self, content: bytes, path: str):
        """The file's bytes -> ``(H, W, C)`` array (see the class)."""
        try:
            return read_image(content, name=path, **self._read_options())
        except ImageReadError as err:
            raise ImageReadError(f'LoadImageFromFile: {err}') from None

    def read(self, path: str):
        """Read one image file as this transform does: ``(H, W, C)``."""
        return self._decode(self._read_bytes(path), path)

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
        img = self.read(path)
        results[self.key] = img
        results[f'{self.key}_ori_shape'] = tuple(img.shape[:2])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(key={self.key!r}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r}, '
                f'bit_depth={self.bit_depth!r}, alpha={self.alpha!r}, '
                f'background={self.background!r})')
