# Copyright (c) invtoolbox contributors. All rights reserved.
"""The sRGB training target of Invertible-ISP: LibRaw's rendering of the RAW.

Official ``data/data_preprocess.py``: ``raw.postprocess(use_camera_wb=True,
no_auto_bright=True)`` (LibRaw defaults otherwise: AHD demosaic, sRGB,
BT.709 gamma, 8 bit, oriented by ``sizes.flip``), saved by Pillow as JPEG
quality 90 with ``subsampling=1`` (4:2:2). It is rendered once per RAW and
cached.

Cache: ``<cache_dir>/<raw stem>.<key>.jpg`` where ``cache_dir`` defaults to
``.invtoolbox_srgb/`` beside the RAW and ``key`` hashes the RAW's file name,
size and modification time (ns) and the rendering settings, so a replaced
RAW is rendered again. The JPEG is written to a temporary file in the cache
folder and moved into place with ``os.replace``: concurrent dataloader
workers may both render a missing target, but a reader only ever sees a
complete file.

Size: LibRaw's rendering can differ from the visible mosaic for some
cameras (margins, pixel aspect). :func:`render_srgb_target` keeps LibRaw's
size; :class:`~invtoolbox.datasets.transforms.raw.LoadSRGBTarget` crops RAW
and target to their common top-left area when they differ by at most a few
pixels, and raises otherwise.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Optional

from ...errors import RawFormatError
from .io import _metadata_and_bayer, open_raw

JPEG_QUALITY = 90
#: Pillow ``subsampling=1`` (4:2:2), as the official targets.
JPEG_SUBSAMPLING = 1
CACHE_FOLDER = '.invtoolbox_srgb'
_SETTINGS = 'libraw-postprocess(use_camera_wb=True,no_auto_bright=True)' \
    f'-q{JPEG_QUALITY}-s{JPEG_SUBSAMPLING}'


def target_cache_path(raw_path, cache_dir: Optional[str] = None) -> str:
    """Where :func:`render_srgb_target` keeps the target of ``raw_path``."""
    raw_path = os.fspath(raw_path)
    if not os.path.isfile(raw_path):
        raise FileNotFoundError(
            f'render_srgb_target: RAW file {raw_path!r} does not exist; '
            'check the path or the dataset folder')
    stat = os.stat(raw_path)
    name = os.path.basename(raw_path)
    key = hashlib.sha1(
        f'{name}|{stat.st_size}|{stat.st_mtime_ns}|{_SETTINGS}'.encode()
    ).hexdigest()[:16]
    folder = cache_dir if cache_dir is not None else os.path.join(
        os.path.dirname(os.path.abspath(raw_path)), CACHE_FOLDER)
    return os.path.join(os.fspath(folder),
                        f'{os.path.splitext(name)[0]}.{key}.jpg')


def _render(raw_path: str):
    """LibRaw's 8-bit rendering, ``(H, W, 3)`` uint8 (checks the RAW)."""
    raw = open_raw(raw_path)
    try:
        _metadata_and_bayer(raw_path, raw)  # same checks as read_raw
        try:
            return raw.postprocess(use_camera_wb=True, no_auto_bright=True)
        except Exception as err:  # rawpy / LibRaw errors of many kinds
            raise RawFormatError(
                f'render_srgb_target: LibRaw cannot render {raw_path!r}: '
                f'{type(err).__name__}: {err}; replace the file') from None
    finally:
        raw.close()


def render_srgb_target(raw_path, cache_dir: Optional[str] = None) -> str:
    """Render (once) and cache the official sRGB target of a RAW.

    Args:
        raw_path (str | os.PathLike): the camera RAW.
        cache_dir (str, optional): folder of the cached JPEGs. Default:
            ``.invtoolbox_srgb/`` beside the RAW.

    Returns:
        str: path of the JPEG (8-bit sRGB ``(H, W, 3)``, oriented, quality
        90, 4:2:2). An existing, up-to-date target is returned without
        rendering.

    Raises:
        FileNotFoundError: the RAW does not exist.
        RawFormatError: the RAW cannot be read or rendered (see
            :func:`~invtoolbox.datasets.raw.io.read_raw`).
        OSError: the cache folder cannot be written (message names it).
    """
    from PIL import Image
    raw_path = os.fspath(raw_path)
    target = target_cache_path(raw_path, cache_dir)
    if os.path.isfile(target):
        return target
    rgb = _render(raw_path)
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.tmp-', suffix='.jpg', dir=folder)
    except OSError as err:
        raise OSError(
            f'render_srgb_target: cannot write the target cache {folder!r} '
            f'({err.strerror}); pass a writable cache_dir') from None
    try:
        with os.fdopen(fd, 'wb') as handle:
            Image.fromarray(rgb).save(
                handle, format='JPEG', quality=JPEG_QUALITY,
                subsampling=JPEG_SUBSAMPLING)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target
