# Copyright (c) invtoolbox contributors. All rights reserved.
"""Multiplane images (MPIs) stored in the folder layout of "Embedding Novel
Views in a Single JPEG Image" (Wu et al., ICCV 2021).

One MPI (a *frame*) is a folder holding

- ``src_image_0.png``: the reference view, RGB;
- ``mpi_rgb_XX.png``: the RGB of plane ``XX``;
- ``mpi_alpha_XX.png``: the alpha of plane ``XX``, 8-bit grey;

with planes numbered ``00, 01, ...`` from the **farthest** (plane 0, at
depth ``inv_depths(1, 100, P)[0] = 100``) to the nearest. This is what the
official loader (``data/real_dataset.py``) reads from
``<image_dir>/<split>/<video_id>/<frame>/``, with ``split`` ``'train'`` or
``'test_final'`` and RealEstate10K video ids (16 hex digits) naming the
video folders; :class:`MPIFolderDataset` reads the same tree.
"""
from __future__ import annotations

import os
import os.path as osp
import re
import tempfile
from typing import (Callable, Dict, List, Optional, Sequence, Set, Tuple,
                    Union)

import cv2
import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from ..errors import DataError
from ..registry import DATASETS
from .utils import build_pipeline

__all__ = [
    'REF_IMAGE', 'RGB_PREFIX', 'ALPHA_PREFIX', 'MPI_ID_LISTS',
    'MPIFolderError', 'find_mpi_planes', 'read_mpi_files', 'read_mpi_folder',
    'write_mpi_folder', 'plane_names', 'write_bytes_atomic', 'read_id_list',
    'MPIFolderDataset'
]

#: the reference view of a frame folder
REF_IMAGE = 'src_image_0.png'
#: plane file names: ``f'{RGB_PREFIX}{index:02d}.png'``, same for alpha
RGB_PREFIX = 'mpi_rgb_'
ALPHA_PREFIX = 'mpi_alpha_'
_PLANE_NAME = re.compile(r'^mpi_(rgb|alpha)_([0-9]+)\.png$')

SPLITS_DIR = osp.join(
    osp.dirname(osp.abspath(__file__)), 'splits_realestate10k')
#: names of the shipped RealEstate10K video-id lists (official repository,
#: MIT licence; see ``splits_realestate10k/README.md``)
MPI_ID_LISTS = {
    'realestate10k_train': osp.join(SPLITS_DIR, 'train_data_ids.txt'),
    'realestate10k_test': osp.join(SPLITS_DIR, 'test_data_ids.txt'),
}
#: the official split folders (``opt.isTrain`` -> ``'train'`` else
#: ``'test_final'``)
OFFICIAL_SPLITS = ('train', 'test_final')


class MPIFolderError(DataError):
    """A frame folder is not a complete MPI: no reference image, no planes,
    a plane without its alpha (or RGB), gaps in the plane numbers, another
    plane count than expected, a file that is not a plane image, or an
    image that cannot be read / has another size than the reference."""


# ---------------------------------------------------------------------------
# one frame folder
def find_mpi_planes(folder: str, num_planes: Optional[int] = None
                    ) -> Tuple[str, List[str], List[str]]:
    """The files of the MPI in ``folder``, planes from far to near.

    Planes are ordered by their number, which for the official zero-padded
    names (``mpi_rgb_00.png`` ... ``mpi_rgb_31.png``) is the official
    ``sorted(glob('mpi_rgb_*.png'))`` order. Other files of the folder
    (``src_image_1.png``, poses, ...) are ignored, except files whose name
    starts with ``mpi_rgb_`` / ``mpi_alpha_`` but is not
    ``mpi_{rgb,alpha}_<number>.png``.

    Args:
        folder (str): the frame folder.
        num_planes (int, optional): the plane count required. Default:
            None (any count).

    Returns:
        tuple: ``(ref_path, rgb_paths, alpha_paths)``, the two lists of
        equal length ``P``, plane 0 (farthest) first.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
        MPIFolderError: no ``src_image_0.png``; no plane; a plane with only
            one of its two files; numbers not ``0 .. P-1``; two files with
            the same number (``mpi_rgb_1.png`` and ``mpi_rgb_01.png``);
            ``P != num_planes``; a file named like a plane that is not one
            (``mpi_rgb_03.jpg``). Each one line, naming the folder.
    """
    if not osp.isdir(folder):
        what = 'is not a folder' if osp.exists(folder) else 'does not exist'
        raise FileNotFoundError(
            f'MPI frame folder {folder!r} {what}; point the dataset at the '
            'folders that hold src_image_0.png, mpi_rgb_XX.png and '
            'mpi_alpha_XX.png')
    tables: Dict[str, Dict[int, str]] = dict(rgb={}, alpha={})
    has_ref = False
    for name in sorted(os.listdir(folder)):
        if name == REF_IMAGE:
            has_ref = True
            continue
        if not name.startswith((RGB_PREFIX, ALPHA_PREFIX)):
            continue
        match = _PLANE_NAME.match(name)
        if match is None:
            raise MPIFolderError(
                f'{folder!r}: {name!r} is not a plane image (expected '
                'mpi_rgb_<number>.png / mpi_alpha_<number>.png, 8-bit PNG); '
                'remove or rename it')
        kind, index = match.group(1), int(match.group(2))
        table = tables[kind]
        if index in table:
            raise MPIFolderError(
                f'{folder!r}: {table[index]!r} and {name!r} are both plane '
                f'{index}; remove one of them')
        table[index] = name
    rgb, alpha = tables['rgb'], tables['alpha']
    if not rgb and not alpha:
        raise MPIFolderError(
            f'{folder!r} holds no plane (mpi_rgb_XX.png + mpi_alpha_XX.png); '
            'it is not an MPI frame folder')
    if not has_ref:
        raise MPIFolderError(
            f'{folder!r} has no reference image {REF_IMAGE!r}; add it or '
            'remove the frame')
    for have, lack, name in ((rgb, alpha, 'mpi_alpha'), (alpha, rgb,
                                                         'mpi_rgb')):
        orphans = sorted(set(have) - set(lack))
        if orphans:
            raise MPIFolderError(
                f'{folder!r}: plane {orphans[0]} has {have[orphans[0]]!r} '
                f'but no {name}_{orphans[0]:02d}.png; every plane needs '
                'both its mpi_rgb and its mpi_alpha file')
    count = len(rgb)
    missing = [i for i in range(count) if i not in rgb]
    if missing:
        raise MPIFolderError(
            f'{folder!r}: planes must be numbered 0..{count - 1} without '
            f'gaps, but plane {missing[0]} is missing (highest: '
            f'{max(rgb)}); restore it or renumber the planes')
    if num_planes is not None and count != num_planes:
        raise MPIFolderError(
            f'{folder!r} holds {count} planes, expected num_planes='
            f'{num_planes}; set num_planes={count} (or None) if that is '
            'right')
    return (osp.join(folder, REF_IMAGE),
            [osp.join(folder, rgb[i]) for i in range(count)],
            [osp.join(folder, alpha[i]) for i in range(count)])


def _decode(path: str) -> np.ndarray:
    """An 8-bit image file as cv2 decodes it (grey, BGR or BGRA)."""
    try:
        with open(path, 'rb') as handle:
            content = handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f'MPI image {path!r} does not exist (removed after the dataset '
            'was scanned?); restore it or rebuild the dataset') from None
    img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MPIFolderError(
            f'cannot decode {path!r} as an image ({len(content)} bytes; '
            'corrupt, truncated or not an image); replace the file or '
            'remove its frame')
    if img.dtype != np.uint8:
        raise MPIFolderError(
            f'{path!r} has {img.dtype} pixels; MPI images must be 8-bit '
            '(convert the file to 8-bit PNG)')
    return img


def _as_rgb(img: np.ndarray, path: str = '') -> np.ndarray:
    """Grey -> repeated to RGB; BGR -> RGB; BGRA -> RGB, alpha dropped."""
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, 2::-1])


def _as_alpha(img: np.ndarray, path: str) -> np.ndarray:
    """Grey -> itself; colour files whose colour channels are equal (a grey
    saved as RGB / RGBA) -> that channel; anything else is refused."""
    if img.ndim == 2:
        return img
    colour = img[:, :, :3]
    if not (colour == colour[:, :, :1]).all():
        raise MPIFolderError(
            f'{path!r} is a colour image; a plane alpha must be one grey '
            'channel (save it as an 8-bit grey PNG)')
    return np.ascontiguousarray(colour[:, :, 0])


def read_mpi_files(ref_path: str, rgb_paths: Sequence[str],
                   alpha_paths: Sequence[str]
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Read a reference image and its planes (see :func:`read_mpi_folder`).

    Raises:
        ValueError: ``rgb_paths`` and ``alpha_paths`` differ in length or
            are empty.
    """
    if len(rgb_paths) != len(alpha_paths) or not rgb_paths:
        raise ValueError(
            f'read_mpi_files: {len(rgb_paths)} RGB and {len(alpha_paths)} '
            'alpha files; give one of each per plane (at least one plane)')
    ref = _as_rgb(_decode(ref_path), ref_path)
    height, width = ref.shape[:2]
    mpi = np.empty((len(rgb_paths), height, width, 4), np.uint8)
    for index, (rgb_path, alpha_path) in enumerate(zip(rgb_paths,
                                                       alpha_paths)):
        for path, channels, convert in (
                (rgb_path, slice(0, 3), _as_rgb),
                (alpha_path, 3, _as_alpha)):
            img = convert(_decode(path), path)
            if img.shape[:2] != (height, width):
                raise MPIFolderError(
                    f'{path!r} is {img.shape[0]}x{img.shape[1]} (HxW) but '
                    f'the reference {ref_path!r} is {height}x{width}; every '
                    'plane of a frame must have the size of its reference '
                    'image')
            mpi[index, :, :, channels] = img
    return ref, mpi


def read_mpi_folder(folder: str, num_planes: Optional[int] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Read the MPI of a frame folder.

    - reference ``src_image_0.png``: RGB; a grey file is repeated to 3
      channels, the alpha channel of an RGBA file is dropped;
    - ``mpi_rgb_XX.png``: the same (RGB; **an RGBA file's own alpha is
      dropped**: the plane's alpha is ``mpi_alpha_XX.png`` alone, as in the
      official loader, which cannot use 4-channel RGB files at all);
    - ``mpi_alpha_XX.png``: one grey channel; an RGB / RGBA file whose
      colour channels are all equal (a grey image saved in colour) gives
      that channel, other colour files are refused.

    All files must be 8-bit and have the reference's size (the official
    loader would resize mismatched planes silently; a mismatch means a
    broken frame).

    Args:
        folder (str): the frame folder.
        num_planes (int, optional): the plane count required.

    Returns:
        tuple: ``(ref, mpi)``: ``ref`` uint8 ``(H, W, 3)`` RGB, ``mpi``
        uint8 ``(P, H, W, 4)``, RGB then alpha, plane 0 the farthest.

    Raises:
        FileNotFoundError: the folder or a file is missing.
        MPIFolderError: see :func:`find_mpi_planes`; a file that cannot be
            decoded or is not 8-bit; a plane of another size than the
            reference (naming the first such file and both sizes); a colour
            alpha file.
    """
    return read_mpi_files(*find_mpi_planes(folder, num_planes))


def _encode_png(img: np.ndarray, path: str) -> bytes:
    ok, buf = cv2.imencode('.png', img)
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 images
        raise MPIFolderError(f'cannot encode {path!r} as PNG')
    return buf.tobytes()


def write_bytes_atomic(path: str, content: bytes, fsync: bool = True) -> None:
    """Write ``content`` to a hidden temporary file next to ``path`` and
    rename it onto ``path``: a reader (another rank, another process) sees
    the old file, no file, or the whole new one, never part of it.
    ``fsync=False`` skips flushing the file to the disk before the rename
    (for files that can be made again, e.g. a cache of synthetic data)."""
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(content)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def plane_names(num_planes: int) -> Tuple[List[str], List[str]]:
    """The official file names of ``num_planes`` planes: two digits below
    100 planes (``mpi_rgb_00.png``), more digits above."""
    digits = max(2, len(str(num_planes - 1)))
    return ([f'{RGB_PREFIX}{i:0{digits}d}.png' for i in range(num_planes)],
            [f'{ALPHA_PREFIX}{i:0{digits}d}.png' for i in range(num_planes)])


def write_mpi_folder(folder: str, ref: np.ndarray, mpi: np.ndarray,
                     overwrite: bool = False, fsync: bool = True) -> str:
    """Write an MPI in the official layout (see :func:`read_mpi_folder`).

    ``src_image_0.png``, ``mpi_rgb_XX.png`` and ``mpi_alpha_XX.png``
    (8-bit grey) go into ``folder`` (created if missing); every file is
    written to a temporary name and renamed, so a reader never sees a
    partial file. With ``overwrite=True`` the plane files of an earlier MPI
    that the new one does not have (more planes, other numbering) are
    removed after the new files are in place.

    Args:
        folder (str): the frame folder.
        ref (np.ndarray): uint8 ``(H, W, 3)`` RGB.
        mpi (np.ndarray): uint8 ``(P, H, W, 4)``, RGB then alpha, plane 0
            the farthest.
        overwrite (bool): replace an MPI already in ``folder``. Default:
            False.
        fsync (bool): flush every file to the disk before it is renamed
            into place (see :func:`write_bytes_atomic`). Default: True.

    Returns:
        str: ``folder``.

    Raises:
        ValueError: wrong dtypes or shapes.
        MPIFolderError: ``folder`` already holds an MPI (a reference image
            or plane files) and ``overwrite`` is False.
    """
    if not (isinstance(ref, np.ndarray) and ref.dtype == np.uint8
            and ref.ndim == 3 and ref.shape[2] == 3):
        raise ValueError(
            'write_mpi_folder: ref must be a uint8 (H, W, 3) RGB array, got '
            f'{getattr(ref, "dtype", type(ref).__name__)} '
            f'{getattr(ref, "shape", "")}')
    if not (isinstance(mpi, np.ndarray) and mpi.dtype == np.uint8
            and mpi.ndim == 4 and mpi.shape[3] == 4 and mpi.shape[0] >= 1
            and mpi.shape[1:3] == ref.shape[:2]):
        raise ValueError(
            'write_mpi_folder: mpi must be a uint8 (P, H, W, 4) RGBA array '
            f'with the reference size {ref.shape[:2]}, got '
            f'{getattr(mpi, "dtype", type(mpi).__name__)} '
            f'{getattr(mpi, "shape", "")}')
    os.makedirs(folder, exist_ok=True)
    old = [
        name for name in os.listdir(folder)
        if name == REF_IMAGE or name.startswith((RGB_PREFIX, ALPHA_PREFIX))
    ]
    if old and not overwrite:
        raise MPIFolderError(
            f'{folder!r} already holds an MPI ({sorted(old)[0]!r}, ...); '
            'choose another folder or pass overwrite=True')
    rgb_names, alpha_names = plane_names(mpi.shape[0])
    write_bytes_atomic(
        osp.join(folder, REF_IMAGE),
        _encode_png(np.ascontiguousarray(ref[:, :, ::-1]), folder), fsync)
    for plane, rgb_name, alpha_name in zip(mpi, rgb_names, alpha_names):
        path = osp.join(folder, rgb_name)
        write_bytes_atomic(
            path,
            _encode_png(np.ascontiguousarray(plane[:, :, 2::-1]), path), fsync)
        path = osp.join(folder, alpha_name)
        write_bytes_atomic(
            path, _encode_png(np.ascontiguousarray(plane[:, :, 3]), path),
            fsync)
    keep = set(rgb_names) | set(alpha_names) | {REF_IMAGE}
    for name in old:
        if name not in keep:
            try:
                os.remove(osp.join(folder, name))
            except FileNotFoundError:  # another process removed it
                pass
    return folder


# ---------------------------------------------------------------------------
# video-id lists
def read_id_list(ids_file: str, data_root: str = '') -> Tuple[str, Set[str]]:
    """The video ids of a list: a shipped name (:data:`MPI_ID_LISTS`) or a
    text file, one id per line (blank lines and ``#`` comments ignored),
    looked up as given, then relative to ``data_root``.

    Returns:
        tuple: ``(path, ids)``.

    Raises:
        FileNotFoundError: no such list.
        DataError: the list holds no id.
    """
    path = MPI_ID_LISTS.get(ids_file, ids_file)
    if not osp.isfile(path) and data_root and osp.isfile(
            osp.join(data_root, ids_file)):
        path = osp.join(data_root, ids_file)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'MPIFolderDataset: ids_file {ids_file!r} is not a file; give a '
            f'text file of video ids (one per line) or one of '
            f'{sorted(MPI_ID_LISTS)}')
    with open(path, encoding='utf-8') as handle:
        ids = {
            line.split('#', 1)[0].strip()
            for line in handle
        } - {''}
    if not ids:
        raise DataError(
            f'MPIFolderDataset: ids_file {path!r} holds no video id; write '
            'one per line')
    return path, ids


# ---------------------------------------------------------------------------
# the dataset
def _is_frame(names: Sequence[str]) -> bool:
    """Whether a folder with these entries is an MPI frame folder."""
    return any(name == REF_IMAGE or name.startswith((RGB_PREFIX,
                                                     ALPHA_PREFIX))
               for name in names)


def _subfolders(folder: str) -> List[str]:
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries
                      if e.is_dir() and not e.name.startswith('.'))


@DATASETS.register_module()
class MPIFolderDataset(BaseDataset):
    """MPIs in the official folder layout (see :func:`read_mpi_folder`).

    ``data_root`` may point at

    1. the dataset root, with ``split`` set: ``<data_root>/<split>/<video>/
       <frame>/`` (the official tree; ``split`` ``'train'`` or
       ``'test_final'``);
    2. with ``split=None``, a folder of video folders
       (``<data_root>/<video>/<frame>/``, e.g. ``.../test_final`` or the
       output of :func:`generate_synthetic_mpis`);
    3. with ``split=None``, one video folder (``<data_root>/<frame>/``; the
       video is the folder's name);
    4. with ``split=None``, one frame folder (the video is its parent's
       name).

    The layout is told apart by where the frame folders (folders holding
    ``src_image_0.png`` or ``mpi_*`` files) are: ``data_root`` itself (4),
    among its sub-folders (3), else one level further down (1, 2). Video
    and frame folders are taken in sorted order; hidden folders are
    skipped. Each data info is::

        {'frame_path': '<root>/test_final/000c3ab189999a83/00000',
         'img_path': '<frame_path>/src_image_0.png',
         'key': '000c3ab189999a83/00000', 'video': '000c3ab189999a83',
         'frame': '00000', 'num_planes': 32, 'sample_idx': 0}

    and the pipeline reads it with ``LoadMPIFromFolder``::

        dataset = dict(
            type='MPIFolderDataset',
            data_root='data/stereo_mpi', split='test_final',
            ids_file='realestate10k_test', test_mode=True,
            pipeline=[
                dict(type='LoadMPIFromFolder'),
                dict(type='MPIResizeCrop', size=(288, 512),
                     max_resize_ratio=0),
                dict(type='PackMPIInputs'),
            ])

    Args:
        data_root (str): see above.
        split (str, optional): the split folder under ``data_root``.
            Default: None.
        ids_file (str, optional): keep only the videos named in this list:
            ``'realestate10k_train'`` / ``'realestate10k_test'`` (the
            official 48,925 / 1,500 RealEstate10K ids, shipped with
            invtoolbox) or a text file of ids. Default: None (all videos).
        num_planes (int, optional): the plane count every frame must have.
            Default: 32. None: any count.
        pipeline (Sequence[dict | Callable]): the transforms.
        skip_incomplete (bool): leave out frames that are not complete MPIs
            (:class:`MPIFolderError`; one log line says how many and names
            the first), as the official loader silently does. Default:
            False (an error naming the first such frame).
        metainfo (dict, optional): ``dataset_name`` defaults to the name
            of the scanned folder (e.g. ``'test_final'``).
        serialize_data (bool): mmengine's packing of the data list. Default:
            True (the official train split has ~49k videos).
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments
            (``test_mode``, ``indices``, ``lazy_init``, ``max_refetch``).

    Raises:
        FileNotFoundError: ``data_root`` (or ``<data_root>/<split>``, or
            ``ids_file``) does not exist.
        DataError: no frame found (naming the layout expected); no video
            left after the id filter; an incomplete frame without
            ``skip_incomplete`` (count and first one).
    """

    def __init__(self,
                 data_root: str,
                 split: Optional[str] = None,
                 ids_file: Optional[str] = None,
                 num_planes: Optional[int] = 32,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 skip_incomplete: bool = False,
                 metainfo: Optional[dict] = None,
                 serialize_data: bool = True,
                 **kwargs) -> None:
        owner = type(self).__name__
        if not isinstance(data_root, str) or not data_root:
            raise ValueError(f'{owner}: data_root must be a folder path, got '
                             f'{data_root!r}')
        if split is not None and (not isinstance(split, str) or not split
                                  or split != osp.basename(split)):
            raise ValueError(
                f'{owner}: split must be the name of a folder under '
                f"data_root (e.g. 'train', 'test_final'), got {split!r}")
        if num_planes is not None and (isinstance(num_planes, bool)
                                       or not isinstance(num_planes, int)
                                       or num_planes < 1):
            raise ValueError(f'{owner}: num_planes must be a positive int or '
                             f'None, got {num_planes!r}')
        self.split = split
        self.ids_file = ids_file
        self.num_planes = num_planes
        self.skip_incomplete = bool(skip_incomplete)
        metainfo = dict(metainfo or {})
        if metainfo.get('dataset_name') is None:
            folder = osp.join(data_root, split) if split else data_root
            metainfo['dataset_name'] = osp.basename(
                osp.normpath(osp.abspath(folder))) or 'mpi'
        super().__init__(
            data_root=data_root,
            metainfo=metainfo,
            pipeline=build_pipeline(pipeline),
            serialize_data=serialize_data,
            **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo=None) -> dict:
        """Like mmengine's, but ``dataset_name`` stays a plain string
        (mmengine would try to read it as a file of names)."""
        metainfo = dict(metainfo or {})
        name = metainfo.pop('dataset_name', None)
        parsed = super()._load_metainfo(metainfo)
        if name is not None:
            parsed['dataset_name'] = str(name)
        return parsed

    # -- scanning -----------------------------------------------------------
    def _scan_root(self) -> str:
        owner = type(self).__name__
        root = self.data_root
        if not osp.isdir(root):
            what = 'is not a folder' if osp.exists(root) else 'does not exist'
            raise FileNotFoundError(
                f'{owner}: data_root {root!r} {what}; point it at the MPI '
                'dataset (the folder holding train/ and test_final/)')
        if self.split is None:
            return root
        base = osp.join(root, self.split)
        if not osp.isdir(base):
            found = _subfolders(root)
            raise FileNotFoundError(
                f'{owner}: split folder {base!r} does not exist (sub-folders '
                f'of data_root: {", ".join(found[:5]) or "none"}); fix split, '
                'or set split=None to read data_root itself')
        return base

    def _find_frames(self, base: str) -> List[Tuple[str, str, str]]:
        """``(video, frame, folder)`` of every frame folder under ``base``
        (see the class docstring for the layouts), filtered by the id
        list."""
        if _is_frame(os.listdir(base)):
            abs_base = osp.abspath(base)
            frames = [(osp.basename(osp.dirname(abs_base)),
                       osp.basename(abs_base), base)]
            return self._filter(frames, base)
        children = _subfolders(base)
        listings = {}
        for child in children:
            names = os.listdir(osp.join(base, child))
            if _is_frame(names):
                video = osp.basename(osp.normpath(osp.abspath(base)))
                frames = [(video, name, osp.join(base, name))
                          for name in children]
                return self._filter(frames, base)
            listings[child] = names
        videos = self._filter([(child, '', '') for child in children], base)
        frames = []
        for video, _, _ in videos:
            folder = osp.join(base, video)
            names = listings[video]
            frames.extend(
                (video, name, osp.join(folder, name)) for name in sorted(names)
                if not name.startswith('.')
                and osp.isdir(osp.join(folder, name)))
        return frames

    def _filter(self, frames: List[Tuple[str, str, str]],
                base: str) -> List[Tuple[str, str, str]]:
        if self.ids_file is None or not frames:
            return frames
        path, ids = read_id_list(self.ids_file, self.data_root)
        videos = sorted({video for video, _, _ in frames})
        kept = [v for v in videos if v in ids]
        owner = type(self).__name__
        if not kept:
            raise DataError(
                f'{owner}: none of the {len(videos)} video folders under '
                f'{base!r} (first: {videos[0]!r}) is in the id list '
                f'{self.ids_file!r} ({len(ids)} ids); fix split / data_root, '
                'or ids_file')
        if len(kept) < len(videos):
            print_log(
                f'{owner}: {len(kept)} of the {len(videos)} video folders '
                f'under {base} are in the id list {self.ids_file!r} '
                f'({len(ids)} ids); the others are left out',
                logger='current')
        keep = set(kept)
        return [f for f in frames if f[0] in keep]

    def _data_infos(self, frames: Sequence[Tuple[str, str, str]],
                    base: str) -> List[dict]:
        """Check every frame (:func:`find_mpi_planes`) and make its data
        info; incomplete frames raise or are skipped (``skip_incomplete``).
        """
        owner = type(self).__name__
        data_list, bad = [], []
        for video, frame, folder in frames:
            try:
                ref_path, rgb_paths, _ = find_mpi_planes(
                    folder, self.num_planes)
            except MPIFolderError as error:
                bad.append(error)
                continue
            data_list.append(
                dict(frame_path=folder, img_path=ref_path,
                     key=f'{video}/{frame}', video=video, frame=frame,
                     num_planes=len(rgb_paths)))
        if not data_list and not any(
                _is_frame(os.listdir(folder)) for _, _, folder in frames):
            raise self._no_frames_error(base)
        if bad and not self.skip_incomplete:
            raise DataError(
                f'{owner}: {len(bad)} of the {len(frames)} frames under '
                f'{base!r} are not complete MPIs; first: {bad[0]}; fix them '
                'or set skip_incomplete=True to leave them out')
        if bad:
            print_log(
                f'{owner}: left out {len(bad)} of the {len(frames)} frames '
                f'under {base} that are not complete MPIs (first: {bad[0]})',
                logger='current')
        if not data_list:
            raise DataError(
                f'{owner}: no complete MPI frame under {base!r} '
                f'({len(frames)} frame folders, all incomplete)')
        return data_list

    def load_data_list(self) -> List[dict]:
        """Scan the folders.

        Returns:
            list[dict]: one data info per frame, sorted by video and frame.
        """
        base = self._scan_root()
        frames = self._find_frames(base)
        if not frames:
            raise self._no_frames_error(base)
        return self._data_infos(frames, base)

    def _no_frames_error(self, base: str) -> DataError:
        hint = ''
        splits = [s for s in OFFICIAL_SPLITS if osp.isdir(osp.join(base, s))]
        if self.split is None and splits:
            hint = (f'; data_root holds the split folders '
                    f'{", ".join(splits)}: set split={splits[0]!r}')
        return DataError(
            f'{type(self).__name__}: no MPI frame found under {base!r}; '
            'expected <data_root>/<split>/<video>/<frame>/ folders holding '
            f'{REF_IMAGE}, mpi_rgb_XX.png and mpi_alpha_XX.png (or data_root '
            f'pointing at a video folder or one frame folder){hint}')
