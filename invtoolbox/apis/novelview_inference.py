# Copyright (c) invtoolbox contributors. All rights reserved.
"""Novel views on files: hide a multiplane image (MPI) folder in a JPEG,
render views, GIFs and MP4s from that JPEG.

The embedding is written as the official test path saves it: the encoder
output rounded to 8 bits, saved with Pillow (quality 90, 4:2:0 by default);
the decoder runs on the decoded JPEG. The JPEG carries a comment segment
(``COM``, ~100 bytes)::

    invtoolbox-novelview v1 planes=32 size=288x512 fingerprint=0123456789abcdef

(``size`` is ``HxW``; ``fingerprint`` the first 16 hex digits of the sha256
of the generator's weights, :func:`model_fingerprint`). Reading a JPEG
checks it: a plane count other than the model's or a size that is not a
multiple of 16 (or not the one the marker records) is an error; a file
without the marker, or with another model's fingerprint, is rendered anyway
after one warning (the decoder makes *some* MPI from any image, but only an
embedding made by the same weights holds a meaningful one).

Poses are *pose vectors* ``(tx, ty, tz)`` or ``(tx, ty, tz, rx, ry, rz)``:
a translation in the MPI's depth units (the nearest plane is at depth 1)
and angles in degrees, as :func:`~invtoolbox.models.editors.novelview.
pose_matrix` takes them. They must lie in the range the model was trained
for (``train_cfg.max_translation`` per component, ``max_rotation``
degrees), checked with :func:`~invtoolbox.models.editors.novelview.
check_pose`. Views use the model's test renderer (the official RealEstate10K
evaluation intrinsics ``fx = 0.486 W``, ``fy = 0.864 H``).
"""
from __future__ import annotations

import math
import numbers
import os
import re
import warnings
from io import BytesIO
from typing import (Callable, List, NamedTuple, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from ..errors import InvToolboxError
from ..models.degradations._utils import check_quality
from ..models.editors.novelview import check_pose, pose_matrix
from ..utils.image_io import ImageReadError, read_image
from .checkpoint_io import write_file_atomic
from .codec_inference import weights_fingerprint
from .media_io import VideoWriteError, write_gif, write_mp4, write_png

__all__ = [
    'MARKER_TAG', 'MARKER_VERSION', 'CAMERA_PATHS', 'DEFAULT_AMPLITUDE',
    'DEFAULT_FOCUS_DEPTH', 'VIEW_FORMATS', 'EmbeddingFileError',
    'ForeignEmbeddingWarning', 'VideoWriteError', 'NovelViewMarker',
    'EmbedResult', 'model_fingerprint', 'format_marker', 'parse_marker',
    'embed_mpi', 'read_embedding', 'check_poses', 'render_embedding',
    'render_from_jpeg', 'camera_path', 'views_to_uint8', 'write_png',
    'write_gif', 'write_mp4', 'write_views'
]

PathLike = Union[str, os.PathLike]
#: a pose vector: (tx, ty, tz) or (tx, ty, tz, rx, ry, rz), degrees
PoseVector = Sequence[float]

#: the first word of the JPEG comment of an embedding
MARKER_TAG = 'invtoolbox-novelview'
#: the marker format this code writes and reads
MARKER_VERSION = 1
_MARKER = re.compile(r'^invtoolbox-novelview v(?P<version>[0-9]+)'
                     r' planes=(?P<planes>[0-9]+)'
                     r' size=(?P<height>[0-9]+)x(?P<width>[0-9]+)'
                     r' fingerprint=(?P<fingerprint>[0-9a-f]{16})$')

#: camera paths of :func:`camera_path`
CAMERA_PATHS = ('circle', 'x', 'y', 'z', 'swing')
#: default path amplitude: 4 x 0.017, the largest translation of the
#: official RealEstate10K evaluation (nearest plane at depth 1)
DEFAULT_AMPLITUDE = 4 * 0.017
#: default focus depth of the ``'swing'`` path: about the inverse-depth
#: middle of planes over depths 1..100 (1 / mean(1/1, 1/100) = 1.98)
DEFAULT_FOCUS_DEPTH = 2.0

#: output extensions of :func:`write_views`
VIEW_FORMATS = ('.png', '.gif', '.mp4')


class EmbeddingFileError(InvToolboxError, ValueError):
    """A file that cannot be rendered as a novel-view embedding: not a
    JPEG/PNG, corrupt or truncated, a size that is not a multiple of 16, made
    for another plane count, resized after embedding."""


class ForeignEmbeddingWarning(UserWarning):
    """A JPEG without the invtoolbox novel-view marker, or made by other
    weights: it is rendered anyway, but its views are meaningless."""


class NovelViewMarker(NamedTuple):
    """The fields of an embedding's JPEG comment."""

    version: int
    planes: int
    height: int
    width: int
    fingerprint: str


class EmbedResult(NamedTuple):
    """What :func:`embed_mpi` wrote.

    Attributes:
        path (str): the JPEG.
        num_bytes (int): its size, the marker comment included.
        bpp (float): ``8 * num_bytes / (H * W)``.
        psnr (float): PSNR (dB, RGB, 8 bits) of the decoded JPEG against the
            reference view: how much the embedding looks like the photo.
        size (tuple[int, int]): ``(H, W)``.
        num_planes (int): the MPI's planes.
        marker (str): the comment written.
    """

    path: str
    num_bytes: int
    bpp: float
    psnr: float
    size: Tuple[int, int]
    num_planes: int
    marker: str


# ---------------------------------------------------------------------------
# the marker
def model_fingerprint(model) -> str:
    """16 hex digits of sha256 over ``model.generator``'s state dict (the
    digest of :func:`~invtoolbox.apis.codec_inference.weights_fingerprint`:
    keys, dtypes, shapes and bytes in sorted key order)."""
    return weights_fingerprint(model.generator).hex()[:16]


def format_marker(num_planes: int, size: Sequence[int],
                  fingerprint: str) -> str:
    """The comment of an embedding: ``invtoolbox-novelview v1 planes=P
    size=HxW fingerprint=F``."""
    height, width = (int(v) for v in size)
    return (f'{MARKER_TAG} v{MARKER_VERSION} planes={int(num_planes)} '
            f'size={height}x{width} fingerprint={fingerprint}')


def parse_marker(comment) -> Optional[NovelViewMarker]:
    """The marker in a JPEG/PNG comment (str or bytes), or None when the
    comment is not one of ours. A comment that starts with
    :data:`MARKER_TAG` but does not parse raises :class:`ValueError`."""
    if isinstance(comment, (bytes, bytearray)):
        comment = bytes(comment).decode('latin-1')
    if not isinstance(comment, str):
        return None
    comment = comment.strip().rstrip('\x00')
    if not comment.startswith(MARKER_TAG + ' '):
        return None
    match = _MARKER.match(comment)
    if match is None:
        raise ValueError(f'unreadable {MARKER_TAG} marker {comment[:80]!r}')
    return NovelViewMarker(int(match['version']), int(match['planes']),
                           int(match['height']), int(match['width']),
                           match['fingerprint'])


# ---------------------------------------------------------------------------
# tensors
def _device(model) -> torch.device:
    return next(model.generator.parameters()).device


def _rgb_to_tensor(image: np.ndarray, device) -> Tensor:
    """uint8 ``(H, W, 3)`` -> ``(1, 3, H, W)`` in [-1, 1]."""
    x = torch.from_numpy(np.array(image, np.uint8)).permute(2, 0, 1)
    return (x.float() / 127.5 - 1)[None].to(device)


def _mpi_to_tensor(mpi: np.ndarray, device) -> Tensor:
    """uint8 ``(P, H, W, 4)`` -> ``(1, P, 4, H, W)``: RGB in [-1, 1], alpha
    in [0, 1] (the official ranges)."""
    x = torch.from_numpy(np.array(mpi, np.uint8)).permute(0, 3, 1, 2)
    x = x.float() / 255
    x = torch.cat([x[:, :3] * 2 - 1, x[:, 3:]], dim=1)
    return x[None].to(device)


def views_to_uint8(views: Tensor) -> List[np.ndarray]:
    """``(V, 3, H, W)`` in [-1, 1] -> V uint8 ``(H, W, 3)`` images
    (``round(clamp((v + 1) / 2, 0, 1) * 255)``)."""
    out = ((views.detach().float() + 1) / 2).clamp(0, 1).mul(255).round()
    out = out.to(device='cpu', dtype=torch.uint8).permute(0, 2, 3, 1)
    return [np.ascontiguousarray(v) for v in out.numpy()]


# ---------------------------------------------------------------------------
# embedding
def embed_mpi(model,
              mpi_dir: PathLike,
              out_path: PathLike,
              quality: int = 90) -> EmbedResult:
    """Hide the MPI of a frame folder in a JPEG.

    Reads ``mpi_dir`` (``src_image_0.png``, ``mpi_rgb_XX.png``,
    ``mpi_alpha_XX.png``; :func:`~invtoolbox.datasets.mpi_dataset.
    read_mpi_folder`), checks it against the model (plane count; size a
    multiple of 16), encodes it, rounds the embedding to 8 bits and writes
    it atomically as a Pillow JPEG (4:2:0, ``quality``) with the marker
    comment (:func:`format_marker`). The pixels equal the model's test
    codec output (``model.code``) at the same quality.

    Args:
        model: a :class:`NovelViewJPEG` (eval mode).
        mpi_dir: the frame folder.
        out_path: the JPEG to write (replaced if it exists).
        quality (int): JPEG quality 1..100. Default: 90 (the official
            test).

    Returns:
        EmbedResult: path, bytes, bpp, PSNR of the decoded JPEG against
        the reference, size, planes and the marker.

    Raises:
        FileNotFoundError: ``mpi_dir`` or one of its files is missing.
        ValueError: one line (an ``MPIFolderError`` for a broken folder:
            missing or extra planes, planes of different sizes, corrupt
            files; another plane count than the model's; a size that is not
            a multiple of 16; a bad quality).
    """
    from ..datasets.mpi_dataset import read_mpi_folder
    from ..evaluation.functional import psnr
    quality = check_quality(quality, 'embed_mpi')
    mpi_dir, out_path = os.fspath(mpi_dir), os.fspath(out_path)
    ref, mpi = read_mpi_folder(mpi_dir)
    if mpi.shape[0] != model.num_planes:
        raise ValueError(
            f'MPI folder {mpi_dir!r} holds {mpi.shape[0]} planes but the '
            f'model takes {model.num_planes}; use the config of a '
            f'{mpi.shape[0]}-plane model (generator num_planes='
            f'{mpi.shape[0]}) or an MPI of {model.num_planes} planes.')
    model.check_size(ref.shape[:2], f'MPI folder {mpi_dir!r}')
    device = _device(model)
    with torch.no_grad():
        embedding = model.encode(_rgb_to_tensor(ref, device),
                                 _mpi_to_tensor(mpi, device))
    pixels = views_to_uint8(embedding)[0]
    marker = format_marker(mpi.shape[0], ref.shape[:2],
                           model_fingerprint(model))
    with BytesIO() as buffer:
        Image.fromarray(pixels, mode='RGB').save(
            buffer, format='JPEG', quality=quality, subsampling=2,
            comment=marker.encode('ascii'))
        data = buffer.getvalue()
    with Image.open(BytesIO(data)) as img:
        decoded = np.asarray(img.convert('RGB'))
    write_file_atomic(out_path, lambda f: f.write(data))
    height, width = ref.shape[:2]
    return EmbedResult(out_path, len(data), 8.0 * len(data) / (height * width),
                       float(psnr(decoded, ref)), (height, width),
                       int(mpi.shape[0]), marker)


def _default_warn(message: str) -> None:
    warnings.warn(message, ForeignEmbeddingWarning, stacklevel=3)


def read_embedding(path: PathLike,
                   model,
                   warn: Optional[Callable[[str], None]] = None) -> Tensor:
    """Read an embedding JPEG (or a PNG of one) for ``model``.

    Args:
        path: the file.
        model: the :class:`NovelViewJPEG` that will decode it.
        warn (callable, optional): called with one line, at most once per
            call, when the file carries no novel-view marker (it was not
            made by :func:`embed_mpi`), a damaged one, or the marker of
            other weights; the file is read anyway. Default:
            ``warnings.warn(..., ForeignEmbeddingWarning)`` (shown once per
            file and run by Python's default filter).

    Returns:
        Tensor: ``(1, 3, H, W)`` in [-1, 1] on the model's device.

    Raises:
        FileNotFoundError: no such file.
        EmbeddingFileError: one line: a folder, not a JPEG/PNG, corrupt or
            truncated, a size that is not a multiple of 16, a marker of
            another plane count or another size (the file was resized), a
            newer marker version.
    """
    warn = _default_warn if warn is None else warn
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'embedding {path!r} not found.')
    if os.path.isdir(path):
        raise EmbeddingFileError(f'{path!r} is a folder; pass the JPEG '
                                 'written by infer.py embed.')
    try:
        with Image.open(path) as img:
            fmt, comment = img.format, img.info.get('comment')
            if fmt not in ('JPEG', 'PNG'):
                raise EmbeddingFileError(
                    f'{path!r} is a {fmt} image, not a JPEG; pass the JPEG '
                    'written by infer.py embed.')
        # the pixels as every other reader of the toolbox sees them
        image = read_image(path)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError,
            SyntaxError, ValueError) as err:
        if isinstance(err, InvToolboxError) and not isinstance(
                err, ImageReadError):
            raise
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise EmbeddingFileError(
            f'cannot read {path!r} as a JPEG ({reason}); pass the JPEG '
            'written by infer.py embed, complete and unmodified.') from None
    height, width = image.shape[:2]
    multiple = int(model.train_cfg['size_multiple'])
    if height % multiple or width % multiple:
        raise EmbeddingFileError(
            f'{path!r} is {height}x{width} (HxW), not a multiple of '
            f'{multiple}: it is not a novel-view embedding (infer.py embed '
            f'writes multiples of {multiple}); was it cropped or resized?')
    fingerprint = model_fingerprint(model)
    try:
        marker = parse_marker(comment)
    except ValueError as err:
        warn(f'{path} carries a damaged {MARKER_TAG} marker ({err}); '
             'rendering anyway, the views may be meaningless.')
        marker = None
    else:
        if marker is None:
            warn(f"{path} was not made by invtoolbox's novel-view encoder "
                 f'(no {MARKER_TAG} marker); rendering anyway, the views '
                 'will be meaningless.')
    if marker is not None:
        if marker.version > MARKER_VERSION:
            raise EmbeddingFileError(
                f'{path!r} has a {MARKER_TAG} v{marker.version} marker, '
                f'newer than this invtoolbox (v{MARKER_VERSION}); update '
                'invtoolbox.')
        if marker.planes != model.num_planes:
            raise EmbeddingFileError(
                f'{path!r} holds a {marker.planes}-plane MPI but the model '
                f'decodes {model.num_planes} planes; use the config and '
                'checkpoint that embedded it.')
        if (marker.height, marker.width) != (height, width):
            raise EmbeddingFileError(
                f'{path!r} is {height}x{width} (HxW) but was embedded at '
                f'{marker.height}x{marker.width}; it was resized or '
                'cropped: use the JPEG as infer.py embed wrote it.')
        if marker.fingerprint != fingerprint:
            warn(f'{path} was embedded by other weights (fingerprint '
                 f'{marker.fingerprint}, this checkpoint {fingerprint}); '
                 'rendering anyway, the views will be meaningless unless '
                 'you use the checkpoint that embedded it.')
    return _rgb_to_tensor(image, _device(model))


# ---------------------------------------------------------------------------
# poses and rendering
def _pose_limits(model) -> Tuple[float, float, float]:
    return (float(model.train_cfg['max_translation']),
            float(model.train_cfg['max_rotation']),
            float(model.test_renderer.near))


def check_poses(model, poses: Sequence[PoseVector]
                ) -> List[Tuple[Tuple[float, ...], Tuple[float, ...]]]:
    """Check pose vectors against the model's trained range.

    Returns:
        list: ``(translation, rotation)`` pairs of floats.

    Raises:
        ValueError: one line: not 3 or 6 numbers, no pose, or a pose
            outside the range (:func:`check_pose`: ``|t| <=
            max_translation``, ``|r| <= max_rotation`` degrees, not past the
            nearest plane), naming the pose and the limit.
    """
    if model.test_renderer is None:
        raise ValueError('the model has no test_renderer; set '
                         "test_renderer=dict(type='MPIRenderer', ...).")
    max_t, max_r, near = _pose_limits(model)
    if isinstance(poses, Tensor) or not isinstance(poses, (list, tuple)):
        raise ValueError('poses must be a list of (tx, ty, tz) or (tx, ty, '
                         f'tz, rx, ry, rz) pose vectors, got '
                         f'{type(poses).__name__}.')
    if not poses:
        raise ValueError('no pose to render; give at least one pose vector.')
    out = []
    for index, pose in enumerate(poses):
        values = list(pose) if isinstance(pose, (list, tuple)) else None
        if values is None or len(values) not in (3, 6) or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool)
                for v in values):
            raise ValueError(
                f'pose {index} is {pose!r}; a pose is (tx, ty, tz) or (tx, '
                'ty, tz, rx, ry, rz): a translation and angles in degrees.')
        values = [float(v) for v in values] + [0.0] * (6 - len(values))
        translation, rotation = tuple(values[:3]), tuple(values[3:])
        try:
            check_pose(translation, rotation, max_t, max_r, near)
        except ValueError as err:
            where = '' if len(poses) == 1 else f'pose {index}: '
            raise ValueError(f'{where}{err}') from None
        out.append((translation, rotation))
    return out


def render_embedding(model, embedding: Tensor,
                     poses: Sequence[PoseVector]) -> Tensor:
    """Decode an embedding ``(1, 3, H, W)`` in [-1, 1] and render it.

    Returns:
        Tensor: ``(V, 3, H, W)`` views in [-1, 1] (not clamped), one per
        pose vector (checked with :func:`check_poses`), rendered one at a
        time with ``model.test_renderer``.
    """
    checked = check_poses(model, poses)
    with torch.no_grad():
        mpi = model.decode(embedding)
        views = [
            model.render_views(mpi, pose_matrix(t, r)[None].to(mpi))[0, 0]
            for t, r in checked
        ]
    return torch.stack(views)


def render_from_jpeg(model,
                     jpeg_path: PathLike,
                     poses: Sequence[PoseVector],
                     warn: Optional[Callable[[str], None]] = None
                     ) -> List[np.ndarray]:
    """Render views of the MPI hidden in an embedding JPEG.

    Args:
        model: the :class:`NovelViewJPEG` (eval mode).
        jpeg_path: the JPEG written by :func:`embed_mpi` (a PNG of an
            embedding works too).
        poses: pose vectors ``(tx, ty, tz[, rx, ry, rz])``, checked against
            the model's trained range before anything is read.
        warn: see :func:`read_embedding` (at most one warning).

    Returns:
        list[np.ndarray]: one uint8 ``(H, W, 3)`` view per pose.
    """
    check_poses(model, poses)
    embedding = read_embedding(jpeg_path, model, warn=warn)
    return views_to_uint8(render_embedding(model, embedding, poses))


def camera_path(kind: str,
                frames: int = 30,
                amplitude: float = DEFAULT_AMPLITUDE,
                focus_depth: float = DEFAULT_FOCUS_DEPTH
                ) -> List[Tuple[float, ...]]:
    """Pose vectors of a looping camera path, for animations.

    With ``theta_k = 2 pi k / frames`` (``k = 0 .. frames - 1``) and
    ``A = amplitude``:

    - ``'circle'``: ``(A cos theta, A sin theta, 0)``, a circle in the x-y
      plane (the camera never sits at the reference view);
    - ``'x'``, ``'y'``, ``'z'``: back and forth along one axis,
      ``A sin theta`` (starts at the reference view);
    - ``'swing'``: ``tx = A sin theta`` while turning about y by
      ``-asin(tx / focus_depth)`` degrees so that the point straight ahead
      at ``focus_depth`` stays at the image centre (a swing around the
      subject).

    The default amplitude, 0.068 = 4 x 0.017, is the largest offset of the
    official RealEstate10K evaluation (the nearest plane is at depth 1):
    a clear parallax that stays well inside the trained range (0.5);
    larger moves show the MPI's holes and edges.

    Returns:
        list[tuple]: ``frames`` pose vectors ``(tx, ty, tz, rx, ry, rz)``.
    """
    if kind not in CAMERA_PATHS:
        raise ValueError(f'unknown camera path {kind!r}; choose one of '
                         f'{", ".join(CAMERA_PATHS)}.')
    if isinstance(frames, bool) or not isinstance(
            frames, numbers.Integral) or frames < 1:
        raise ValueError(f'frames must be an integer >= 1, got {frames!r}.')
    if not (isinstance(amplitude, numbers.Real) and math.isfinite(amplitude)
            and amplitude >= 0):
        raise ValueError(f'amplitude must be a finite number >= 0, got '
                         f'{amplitude!r}.')
    if not (isinstance(focus_depth, numbers.Real) and focus_depth > 0):
        raise ValueError(f'focus_depth must be > 0, got {focus_depth!r}.')
    poses = []
    for k in range(int(frames)):
        theta = 2 * math.pi * k / frames
        t, r = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
        if kind == 'circle':
            t[0], t[1] = amplitude * math.cos(theta), amplitude * math.sin(
                theta)
        elif kind == 'swing':
            t[0] = amplitude * math.sin(theta)
            ratio = max(-1.0, min(1.0, t[0] / focus_depth))
            r[1] = -math.degrees(math.asin(ratio))
        else:
            t['xyz'.index(kind)] = amplitude * math.sin(theta)
        poses.append(tuple(t + r))
    return poses


# ---------------------------------------------------------------------------
# writers
def write_views(frames: Sequence[np.ndarray], path: PathLike,
                fps: float = 15) -> None:
    """Write views by the extension of ``path``: ``.png`` (exactly one
    view), ``.gif`` or ``.mp4`` (an animation)."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in VIEW_FORMATS:
        raise ValueError(f'{os.fspath(path)!r}: unknown output type '
                         f'{ext or "(none)"!r}; use .png (one view), .gif '
                         'or .mp4 (an animation).')
    if ext == '.png':
        if len(frames) != 1:
            raise ValueError(f'{os.fspath(path)!r}: a PNG holds one view, '
                             f'got {len(frames)}; write a .gif or .mp4.')
        write_png(frames[0], path)
    elif ext == '.gif':
        write_gif(frames, path, fps)
    else:
        write_mp4(frames, path, fps)
