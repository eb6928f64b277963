# Copyright (c) invtoolbox contributors. All rights reserved.
"""Files of several images: folders in natural order, videos and
animations (read and written), shared by the inference commands.

- :func:`natural_key` / :func:`list_image_files`: ``frame_2`` before
  ``frame_10``;
- :func:`read_video_frames`: frames of a video file (OpenCV: MP4, AVI, MOV,
  MKV, WebM) or an animation (Pillow: GIF, animated WebP / PNG), uint8 RGB;
- :func:`write_png`, :func:`write_gif`, :func:`write_mp4`: atomic writers
  (a temporary file renamed into place).
"""
from __future__ import annotations

import math
import numbers
import os
import re
from typing import List, NamedTuple, Optional, Sequence, Union

import numpy as np
from PIL import Image, ImageSequence

from ..errors import InvToolboxError
from .checkpoint_io import write_file_atomic, write_path_atomic

__all__ = [
    'VIDEO_SUFFIXES', 'ANIMATION_SUFFIXES', 'IMAGE_SUFFIXES',
    'VideoReadError', 'VideoWriteError', 'Frames', 'natural_key',
    'list_image_files', 'is_video_file', 'read_video_frames', 'write_png',
    'write_gif', 'write_mp4', 'write_frames'
]

PathLike = Union[str, os.PathLike]
#: files read with OpenCV's video reader
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
#: animations read with Pillow
ANIMATION_SUFFIXES = ('.gif', )
#: the still-image files the commands take from a folder
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp',
                  '.ppm', '.pgm')


class VideoReadError(InvToolboxError, ValueError):
    """A video or animation that cannot be read (one-line message)."""


class VideoWriteError(InvToolboxError, OSError):
    """OpenCV cannot write the MP4 here (no ``mp4v`` encoder)."""


class Frames(NamedTuple):
    """Frames read from a video: uint8 ``(H, W, 3)`` RGB, their names
    (``frame_00012``: the index in the file) and the frame rate (None when
    the file does not say)."""

    images: List[np.ndarray]
    names: List[str]
    fps: Optional[float]
    total: int


def natural_key(name: str):
    """Sort key that orders digit runs by value: ``img2`` < ``img10``."""
    return [(0, int(part), part) if part.isdigit() else (1, 0, part.lower())
            for part in re.split(r'(\d+)', os.path.basename(name)) if part]


def list_image_files(folder: PathLike, what: str = 'images') -> List[str]:
    """The image files of ``folder`` in natural order (hidden files
    skipped); one-line errors for a missing folder or one without
    images."""
    folder = os.fspath(folder)
    if not os.path.exists(folder):
        raise FileNotFoundError(f'input folder {folder!r} not found.')
    if not os.path.isdir(folder):
        raise InvToolboxError(f'{folder!r} is not a folder; pass a folder '
                              f'of {what}.')
    files = [
        os.path.join(folder, name) for name in os.listdir(folder)
        if not name.startswith('.') and os.path.isfile(
            os.path.join(folder, name)) and os.path.splitext(name)[1].lower()
        in IMAGE_SUFFIXES
    ]
    if not files:
        raise InvToolboxError(f'no {what} ({", ".join(IMAGE_SUFFIXES)}) in '
                              f'{folder!r}.')
    return sorted(files, key=natural_key)


def is_video_file(path: PathLike) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in (
        VIDEO_SUFFIXES + ANIMATION_SUFFIXES)


def _rgb(frame: Image.Image) -> np.ndarray:
    return np.asarray(frame.convert('RGB'))


def read_video_frames(path: PathLike,
                      count: Optional[int] = None,
                      start: int = 0) -> Frames:
    """Frames ``start .. start + count - 1`` of a video or animation (all
    from ``start`` when ``count`` is None), uint8 RGB.

    Raises:
        FileNotFoundError: no such file.
        VideoReadError: one line: not a video OpenCV / Pillow can decode,
            fewer frames than asked, frames of different sizes.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'video {path!r} not found.')
    if start < 0 or (count is not None and count < 1):
        raise VideoReadError(f'{path!r}: cannot read {count} frames from '
                             f'frame {start}.')
    stop = None if count is None else start + count
    images, total, fps = [], 0, None
    if os.path.splitext(path)[1].lower() in ANIMATION_SUFFIXES:
        try:
            with Image.open(path) as anim:
                duration = anim.info.get('duration')
                fps = 1000.0 / duration if duration else None
                for index, frame in enumerate(ImageSequence.Iterator(anim)):
                    total = index + 1
                    if index >= start and (stop is None or index < stop):
                        images.append(_rgb(frame))
        except (OSError, ValueError, SyntaxError) as err:
            raise VideoReadError(f'cannot read {path!r} as an animation '
                                 f'({err}); is it a GIF?') from None
    else:
        import cv2
        capture = cv2.VideoCapture(path)
        try:
            if not capture.isOpened():
                raise VideoReadError(
                    f'cannot open {path!r} as a video (OpenCV '
                    f'{cv2.__version__}); convert it to MP4 or a folder of '
                    'frames.')
            rate = capture.get(cv2.CAP_PROP_FPS)
            fps = float(rate) if rate and math.isfinite(rate) else None
            while stop is None or total < stop:
                ok, frame = capture.read()
                if not ok:
                    break
                if total >= start:
                    images.append(np.ascontiguousarray(frame[:, :, ::-1]))
                total += 1
        finally:
            capture.release()
        if total == 0:
            raise VideoReadError(f'{path!r} holds no frame OpenCV can '
                                 'decode; is it a video?')
    if count is not None and len(images) < count:
        raise VideoReadError(
            f'{path!r} has {total} frames; {count} are needed from frame '
            f'{start} (frames {start}..{start + count - 1}).')
    if not images:
        raise VideoReadError(f'{path!r} has {total} frames, none from frame '
                             f'{start}.')
    shapes = {img.shape for img in images}
    if len(shapes) > 1:
        raise VideoReadError(f'{path!r}: frames differ in size '
                             f'({sorted(shapes)}).')
    digits = max(5, len(str(start + len(images))))
    names = [f'frame_{start + i:0{digits}d}' for i in range(len(images))]
    return Frames(images, names, fps, total)


def _check_frames(frames: Sequence[np.ndarray], what: str) -> None:
    if not len(frames):
        raise ValueError(f'{what}: no frame to write.')
    shape = None
    for frame in frames:
        if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8
                and frame.ndim == 3 and frame.shape[2] == 3):
            raise ValueError(f'{what}: frames must be uint8 (H, W, 3) RGB '
                             f'arrays, got {getattr(frame, "dtype", "")} '
                             f'{getattr(frame, "shape", type(frame))}.')
        if shape is not None and frame.shape != shape:
            raise ValueError(f'{what}: frames differ in size ({shape} and '
                             f'{frame.shape}).')
        shape = frame.shape


def _check_fps(fps: float) -> float:
    if not (isinstance(fps, numbers.Real) and math.isfinite(fps)
            and fps > 0):
        raise ValueError(f'fps must be a positive number, got {fps!r}.')
    return float(fps)


def write_png(view: np.ndarray, path: PathLike) -> None:
    """One uint8 ``(H, W, 3)`` view as a PNG (atomic)."""
    _check_frames([view], 'write_png')
    write_file_atomic(
        path, lambda f: Image.fromarray(view, mode='RGB').save(f, 'PNG'))


def write_gif(frames: Sequence[np.ndarray], path: PathLike,
              fps: float = 15) -> None:
    """An animated GIF that loops forever (Pillow, atomic).

    Every frame is shown ``1 / fps`` s (GIF delays are whole hundredths of
    a second); colours are reduced to 256 per frame. Pillow merges
    consecutive identical frames into one longer frame, so the animation
    plays the same with fewer frames.
    """
    _check_frames(frames, 'write_gif')
    duration = 1000.0 / _check_fps(fps)
    images = [Image.fromarray(f, mode='RGB') for f in frames]
    write_file_atomic(
        path, lambda f: images[0].save(
            f, format='GIF', save_all=True, append_images=images[1:],
            duration=duration, loop=0))


def write_mp4(frames: Sequence[np.ndarray], path: PathLike,
              fps: float = 15) -> None:
    """An MP4 (OpenCV ``VideoWriter``, fourcc ``mp4v``), written to a
    temporary file in the target folder, checked (it opens and holds every
    frame) and renamed into place.

    Raises:
        VideoWriteError: one line, when OpenCV cannot write MP4 here.
    """
    import cv2
    _check_frames(frames, 'write_mp4')
    fps = _check_fps(fps)
    height, width = frames[0].shape[:2]

    def produce(tmp: str) -> None:
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                 (width, height))
        if not writer.isOpened():
            raise VideoWriteError(
                f'cannot write {os.fspath(path)!r}: OpenCV {cv2.__version__} '
                "has no 'mp4v' MP4 encoder here; write a .gif instead.")
        try:
            for frame in frames:
                writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
        finally:
            writer.release()
        capture = cv2.VideoCapture(tmp)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) \
            if capture.isOpened() else 0
        capture.release()
        if count != len(frames):
            raise VideoWriteError(
                f'cannot write {os.fspath(path)!r}: OpenCV wrote an MP4 with '
                f'{count} of {len(frames)} frames; write a .gif instead.')

    # the container follows the extension: the temporary name ends in .mp4
    write_path_atomic(path, produce, suffix='.tmp.mp4')


def write_frames(frames: Sequence[np.ndarray], path: PathLike,
                 fps: float = 15) -> None:
    """An animation by the extension of ``path``: ``.gif`` or ``.mp4``."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext == '.gif':
        write_gif(frames, path, fps)
    elif ext == '.mp4':
        write_mp4(frames, path, fps)
    else:
        raise ValueError(f'{os.fspath(path)!r}: unknown animation type '
                         f'{ext or "(none)"!r}; use .gif or .mp4.')
