# Copyright (c) invtoolbox contributors. All rights reserved.
"""Invertible-ISP on files: render camera RAW files to JPEGs, recover the
RAW (as a DNG and ``.npy``) from those JPEGs.

The rendered JPEG carries what the DNG of the recovered RAW needs and what
a JPEG cannot say (the CFA pattern, black and white levels, white balance,
orientation, colour matrix), as a JSON comment segment (``COM``) tagged
:data:`RAW_TAG`. It adds ~300 bytes. Recovery works from the model's own
rendering only: an arbitrary camera JPEG was not made by the network, and
its inverse does not give that camera's RAW (official issues #4, #18).
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

import numpy as np
import torch
from PIL import Image

from ..datasets.raw import RawMetadata, load_raw_input
from ..errors import InvToolboxError, RawFormatError
from ..utils.image_io import read_image
from .checkpoint_io import write_file_atomic

__all__ = [
    'RAW_TAG', 'RenderedJPEG', 'RecoveredRAW', 'load_raw_input',
    'render_raw_file', 'read_rendered_jpeg', 'check_rendered_jpeg',
    'recover_raw_from_jpeg',
    'write_rendered_jpeg', 'write_recovered_raw'
]

#: prefix of the JPEG comment that holds the RAW metadata (JSON after it)
RAW_TAG = b'invtoolbox-invisp-raw/1:'


class RenderedJPEG(NamedTuple):
    """A RAW file rendered by the model.

    Attributes:
        data (bytes): the JPEG file (with the RAW metadata comment).
        meta (RawMetadata): the RAW's camera metadata.
        size (tuple[int, int]): (height, width) of the rendering (oriented
            as LibRaw shows the photo).
        raw (np.ndarray): the model's RAW input ``(3, H, W)`` float32 in
            [0, 1] (white-balanced, gamma-compressed, demosaiced, oriented).
    """

    data: bytes
    meta: RawMetadata
    size: Tuple[int, int]
    raw: np.ndarray


class RecoveredRAW(NamedTuple):
    """The RAW recovered from a rendered JPEG.

    Attributes:
        raw (np.ndarray): ``(3, H, W)`` float32 in [0, 1], the model's RAW
            representation (what :class:`LoadRAWFromFile` makes), oriented.
        bayer (np.ndarray): ``(H', W')`` uint16 sensor values, in the
            sensor's own orientation (``raw_image_visible`` layout), for
            the DNG.
        meta (RawMetadata): the metadata the rendering carried.
    """

    raw: np.ndarray
    bayer: np.ndarray
    meta: RawMetadata


def _to_tensor(image: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image))[None].to(device)


def render_raw_file(model, path, quality: int = 90,
                    subsampling: int = 1) -> RenderedJPEG:
    """Render one RAW file with an :class:`InvISP` model into a JPEG.

    Args:
        model: an ``InvISP`` model (``render``), in eval mode.
        path: the RAW file (any format LibRaw reads; Bayer sensors).
        quality (int): JPEG quality. Default: 90 (the official one).
        subsampling (int): Pillow's chroma subsampling (0: 4:4:4, 1: 4:2:2,
            2: 4:2:0). Default: 1 (4:2:2, as the official ``test_rgb.py``).
    """
    image, meta = load_raw_input(path)
    device = next(model.parameters()).device
    with torch.no_grad():
        rgb = model.render(_to_tensor(image, device))[0]
    pixels = (rgb.clamp(0, 1) * 255.).round().byte().permute(1, 2, 0)
    info = dict(meta=meta.to_dict(), height=int(image.shape[1]),
                width=int(image.shape[2]), source=Path(path).name)
    comment = RAW_TAG + json.dumps(info, sort_keys=True).encode('utf-8')
    with io.BytesIO() as buffer:
        Image.fromarray(pixels.cpu().numpy(), mode='RGB').save(
            buffer, format='JPEG', quality=int(quality),
            subsampling=int(subsampling), comment=comment)
        data = buffer.getvalue()
    return RenderedJPEG(data, meta, tuple(image.shape[1:]), image)


def read_rendered_jpeg(path) -> Tuple[np.ndarray, Optional[dict]]:
    """A JPEG -> ``(3, H, W)`` float32 RGB in [0, 1] and the RAW metadata
    comment (None when the JPEG has none)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found.')
    try:
        with Image.open(path) as img:
            fmt = img.format
            comment = img.info.get('comment')
        # decoded as every reader of the toolbox decodes (EXIF applied)
        rgb = read_image(path).astype(np.float32) / 255.
    except (OSError, ValueError) as err:
        raise InvToolboxError(
            f"cannot read {path} as an image ({str(err).rstrip('.')})."
        ) from None
    if fmt != 'JPEG':
        raise InvToolboxError(f'{path} is a {fmt} image, not a JPEG written '
                              'by infer.py render.')
    info = None
    if isinstance(comment, bytes) and comment.startswith(RAW_TAG):
        try:
            info = json.loads(comment[len(RAW_TAG):].decode('utf-8'))
            info['meta'] = RawMetadata.from_dict(info['meta'])
        except (ValueError, KeyError, TypeError) as err:
            raise InvToolboxError(
                f'{path}: its RAW metadata comment is damaged ({err}); '
                're-render the RAW with infer.py render.') from None
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)), info


def check_rendered_jpeg(path) -> Tuple[np.ndarray, dict]:
    """Read a JPEG for :func:`recover_raw_from_jpeg` and check it: it must
    carry the RAW metadata and have the size of the RAW it came from.

    Returns:
        tuple: ``(rgb (3, H, W) float32, info)`` as
        :func:`read_rendered_jpeg`.

    Raises:
        RawFormatError: one line, for a JPEG without the metadata or of
            another size.
    """
    rgb, info = read_rendered_jpeg(path)
    if info is None:
        raise RawFormatError(
            f'{path} carries no RAW metadata (no {RAW_TAG[:-1].decode()} '
            'comment): recovery works only from JPEGs written by infer.py '
            'render (the network inverts its own rendering, not a camera '
            'JPEG).')
    expected = (int(info['height']), int(info['width']))
    if tuple(rgb.shape[1:]) != expected:
        raise RawFormatError(
            f'{path} is {rgb.shape[2]}x{rgb.shape[1]} (width x height) but '
            f'claims to come from the {expected[1]}x{expected[0]} RAW '
            f"{info.get('source', '?')}; was it resized or cropped? Use the "
            'JPEG as infer.py render wrote it.')
    return rgb, info


def recover_raw_from_jpeg(model, path) -> RecoveredRAW:
    """Recover the RAW from a JPEG that :func:`render_raw_file` wrote.

    Raises:
        RawFormatError: see :func:`check_rendered_jpeg`.
    """
    from ..datasets.raw import to_bayer, undo_flip
    rgb, info = check_rendered_jpeg(path)
    meta = info['meta']
    device = next(model.parameters()).device
    with torch.no_grad():
        raw = model.recover(_to_tensor(rgb, device))[0].cpu().numpy()
    raw = np.ascontiguousarray(raw, dtype=np.float32)
    bayer = to_bayer(np.ascontiguousarray(undo_flip(raw, meta.flip)), meta)
    return RecoveredRAW(raw, bayer, meta)


def write_rendered_jpeg(rendered: RenderedJPEG, path) -> None:
    """Write the JPEG atomically."""
    write_file_atomic(path, lambda f: f.write(rendered.data))


def write_recovered_raw(recovered: RecoveredRAW, dng_path,
                        npy_path=None, overwrite: bool = False) -> None:
    """Write the DNG (LibRaw opens it with the camera's CFA, levels and
    white balance) and, optionally, the ``.npy`` of the model's RAW
    representation; both atomically."""
    from ..datasets.raw import write_dng
    write_dng(dng_path, recovered.bayer, recovered.meta, overwrite=overwrite)
    if npy_path is not None:
        if os.path.exists(npy_path) and not overwrite:
            raise FileExistsError(f'{npy_path} exists; pass overwrite=True.')
        write_file_atomic(npy_path, lambda f: np.save(f, recovered.raw))
