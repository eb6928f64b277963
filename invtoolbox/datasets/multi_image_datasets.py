# Copyright (c) invtoolbox contributors. All rights reserved.
"""Datasets whose samples are K images (the IICNet tasks).

Each data info holds ``img_paths`` (K files in the task's natural order),
``key`` (a short unique name) and ``sample_idx``; the pipeline reads them
with ``LoadImages`` and packs them with ``PackImages`` into a
``(K, 3, H, W)`` uint8 tensor. The datasets only list files (and, for video
clips, read image headers to check sizes); images are read by the
pipeline.
"""
from __future__ import annotations

import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine import fileio
from mmengine.fileio import join_path

from ..errors import DataError
from ..registry import DATASETS
from ..utils.image_io import ImageReadError, image_size
from .image_folder_dataset import ImageFolderDataset

__all__ = [
    'VideoClipDataset', 'StereoPairDataset', 'MultiFolderDataset',
    'ImageGroupDataset'
]

PipelineType = Sequence[Union[dict, Callable]]


def _check_slice(value, name: str, owner: str) -> Optional[slice]:
    """``(start, stop[, step])`` (entries may be None) -> ``slice``."""
    if value is None:
        return None
    ok = isinstance(value, (list, tuple)) and len(value) in (2, 3) and all(
        v is None or (isinstance(v, (int, np.integer)) and
                      not isinstance(v, bool)) for v in value)
    if not ok or (len(value) == 3 and value[2] is not None and value[2] < 1):
        raise DataError(
            f'{owner}: {name} must be (start, stop) or (start, stop, step) '
            f'like a Python slice, e.g. (0, None, 2), got {value!r}')
    return slice(*value)


class _MultiImageDataset(ImageFolderDataset):
    """Shared plumbing: the root checks, folder listing and metainfo of
    :class:`ImageFolderDataset`, with multi-image data infos."""

    def __init__(self,
                 data_root: str,
                 pipeline: PipelineType = (),
                 metainfo: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 serialize_data: bool = False,
                 **kwargs) -> None:
        super().__init__(
            data_root=data_root,
            pipeline=pipeline,
            data_prefix=dict(gt=''),
            recursive=False,
            metainfo=metainfo,
            backend_args=backend_args,
            serialize_data=serialize_data,
            **kwargs)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _require_folder(self, folder: str, option: str, what: str) -> None:
        """A one-line FileNotFoundError unless ``folder`` is a folder."""
        if not fileio.isdir(folder, backend_args=self.backend_args):
            state = ('is not a folder' if fileio.exists(
                folder, backend_args=self.backend_args) else 'does not exist')
            raise FileNotFoundError(
                f'{self._name}: {what} {folder!r} {state}; point {option} at '
                f'it (e.g. tools/train.py CONFIG --data-root DIR for every '
                f'dataset of a config)')

    def _subfolders(self, folder: str, option: str, what: str) -> List[str]:
        """The sorted, non-hidden sub-folder names of ``folder``."""
        self._require_folder(folder, option, what)
        names = fileio.list_dir_or_file(
            folder, list_dir=True, list_file=False, recursive=False,
            backend_args=self.backend_args)
        return sorted(n for n in names if not n.startswith('.'))

    def _read_list(self, path: str, what: str) -> List[str]:
        """Non-empty, stripped lines of a list file."""
        if not fileio.exists(path, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'{self._name}: ann_file {path!r} does not exist; give the '
                f'list file of {what} (relative to data_root) or set '
                f"ann_file='' to use every one")
        text = fileio.get_text(path, backend_args=self.backend_args)
        lines = [line.strip() for line in text.splitlines()]
        lines = [line for line in lines if line and not line.startswith('#')]
        if not lines:
            raise DataError(
                f'{self._name}: ann_file {path!r} lists no {what}; fill it or '
                f"set ann_file=''")
        return lines

    def _image_size(self, path: str) -> Tuple[int, int]:
        """``(H, W)`` of an image file as the pipeline will read it (EXIF
        orientation applied), from its header."""
        try:
            if self.backend_args is None and osp.isfile(path):
                w, h = image_size(path)
            else:
                w, h = image_size(
                    fileio.get(path, backend_args=self.backend_args))
        except ImageReadError as err:
            raise DataError(
                f'{self._name}: cannot read the image header of {path!r} '
                f'({str(err).replace(repr("<bytes>"), "it")}); replace or '
                'remove the file') from None
        return h, w


@DATASETS.register_module()
class VideoClipDataset(_MultiImageDataset):
    """Clips of ``num_frames`` frames (IICNet video embedding).

    Three folder layouts (``layout``):

    - ``'folders'``: ``data_root`` holds one folder per sequence, each
      with its frames as images sorted by name (e.g. the bundled
      ``vimeo_00001_0002/im1.png .. im7.png``); ``ann_file`` optionally
      lists the folder names to use, one per line;
    - ``'vimeo'``: Vimeo-90K septuplets, ``<data_root>/sequences/<a>/<b>/
      im1.png .. im7.png``; ``ann_file`` optionally lists ``<a>/<b>`` per
      line (``sep_trainlist.txt`` / ``sep_testlist.txt``);
    - ``'davis'``: DAVIS 2017, ``<data_root>/JPEGImages/480p/<scene>/
      00000.jpg ...``; ``ann_file`` optionally lists scene names.

    A clip takes ``num_frames`` frames ``frame_step`` apart (the official
    DAVIS training and validation clips use step 5, test clips step 1), so
    it spans ``(num_frames - 1) * frame_step + 1`` frames. Clips start every
    ``clip_step`` frames of a sequence; ``clip_step=None`` means every frame
    for ``'davis'`` (the official annotation) and one centred clip per
    sequence for ``'folders'`` / ``'vimeo'`` (short sequences: for 5 frames
    of a septuplet, ``im2 .. im6``).

    Each data info::

        {'img_paths': [K frame paths in time order], 'key': 'bear/00005',
         'clip_folder': 'bear', 'frame_indices': [5, 10, 15, 20, 25],
         'sample_idx': 0}

    (``key`` is the sequence folder alone when it yields one clip by
    construction, else ``'<folder>/<first frame stem>'``; ``frame_indices``
    are positions in the sorted frame list.)

    Args:
        data_root (str): the dataset root (see the layouts).
        num_frames (int): frames per clip (K of the task).
        pipeline (Sequence[dict | Callable]): the transforms.
        layout (str): ``'folders'``, ``'vimeo'`` or ``'davis'``. Default:
            ``'folders'``.
        ann_file (str): optional list file (relative to ``data_root``).
            Default: ``''`` (every sequence).
        frame_step (int): frame spacing inside a clip. Default: 1.
        clip_step (int, optional): spacing of clip starts. Default: None.
        sequence_slice (tuple, optional): ``(start, stop[, step])`` taken of
            the sorted (or listed) sequences, e.g. ``(0, None, 2)`` for the
            even-indexed DAVIS test-dev scenes that the official training
            set adds. Default: None (all).
        check_sizes (bool): read the image headers once to check that the
            frames of each sequence have one size. Default: True.
        metainfo, backend_args, serialize_data, **kwargs: see
            :class:`ImageFolderDataset`.

    Raises:
        FileNotFoundError: ``data_root`` (or its layout folder, or
            ``ann_file``) does not exist, or a listed sequence is missing.
        ValueError: no sequence found, a sequence has fewer frames than a
            clip spans, or its frames differ in size (naming the folder).
    """

    LAYOUTS = ('folders', 'vimeo', 'davis')

    def __init__(self,
                 data_root: str,
                 num_frames: int,
                 pipeline: PipelineType = (),
                 layout: str = 'folders',
                 ann_file: str = '',
                 frame_step: int = 1,
                 clip_step: Optional[int] = None,
                 sequence_slice: Optional[Sequence[Optional[int]]] = None,
                 check_sizes: bool = True,
                 metainfo: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 serialize_data: bool = False,
                 **kwargs) -> None:
        if layout not in self.LAYOUTS:
            raise DataError(
                f'VideoClipDataset: layout must be one of {self.LAYOUTS}, got '
                f'{layout!r}')
        self.num_frames = self._positive(num_frames, 'num_frames')
        self.frame_step = self._positive(frame_step, 'frame_step')
        self.clip_step = None if clip_step is None else self._positive(
            clip_step, 'clip_step')
        self.layout = layout
        self.sequence_slice = _check_slice(sequence_slice, 'sequence_slice',
                                           'VideoClipDataset')
        self.check_sizes = bool(check_sizes)
        super().__init__(
            data_root=data_root,
            pipeline=pipeline,
            metainfo=metainfo,
            backend_args=backend_args,
            serialize_data=serialize_data,
            ann_file=ann_file,
            **kwargs)

    @staticmethod
    def _positive(value, name: str) -> int:
        if isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 1:
            raise DataError(
                f'VideoClipDataset: {name} must be a positive integer, got '
                f'{value!r}')
        return int(value)

    @property
    def span(self) -> int:
        """Frames of a sequence that one clip covers."""
        return (self.num_frames - 1) * self.frame_step + 1

    def _sequences(self) -> Tuple[str, List[str]]:
        """The folder holding the sequences and their relative names."""
        root = self.data_root
        if self.layout == 'folders':
            base, what = root, 'sequence folders'
            self._require_folder(base, 'data_root', 'video folder')
        elif self.layout == 'vimeo':
            base, what = join_path(root, 'sequences'), 'sequences (a/b)'
            self._require_folder(base, 'data_root',
                                 'Vimeo-90K sequences folder')
        else:
            base, what = join_path(root, 'JPEGImages', '480p'), 'scenes'
            self._require_folder(base, 'data_root',
                                 'DAVIS frame folder (JPEGImages/480p)')
        if self.ann_file:
            names = self._read_list(self.ann_file, what)
        elif self.layout == 'vimeo':
            names = [
                f'{a}/{b}' for a in self._subfolders(base, 'data_root', what)
                for b in self._subfolders(
                    join_path(base, a), 'data_root', what)
            ]
        else:
            names = self._subfolders(base, 'data_root', what)
        if self.sequence_slice is not None and names:
            found = len(names)
            names = names[self.sequence_slice]
            if not names:
                cut = self.sequence_slice
                shown = (cut.start, cut.stop) if cut.step is None else (
                    cut.start, cut.stop, cut.step)
                raise DataError(
                    f'VideoClipDataset: sequence_slice {shown} of the {found} '
                    f'{what} in {base!r}'
                    + (f' (listed in {self.ann_file!r})'
                       if self.ann_file else '') +
                    ' leaves no sequence, so no clip; give a slice that '
                    f'keeps some of the {found} (indices 0 to {found - 1}) '
                    'or add sequences')
        if not names:
            raise DataError(
                f'VideoClipDataset: no {what} found in {base!r} (layout='
                f'{self.layout!r}); put one folder of frames per sequence '
                f'there or fix data_root / layout')
        return base, names

    def _starts(self, num_available: int) -> List[int]:
        if self.clip_step is None:
            if self.layout == 'davis':
                return list(range(num_available - self.span + 1))
            return [(num_available - self.span) // 2]
        return list(range(0, num_available - self.span + 1, self.clip_step))

    def _check_frame_sizes(self, folder: str, paths: Sequence[str]) -> None:
        sizes: Dict[Tuple[int, int], str] = {}
        for path in paths:
            sizes.setdefault(self._image_size(path), path)
            if len(sizes) > 1:
                (size_a, path_a), (size_b, path_b) = list(sizes.items())[:2]
                raise DataError(
                    f'VideoClipDataset: the frames of clip folder {folder!r} '
                    f'differ in size ({path_a!r} is {size_a[0]}x{size_a[1]}, '
                    f'{path_b!r} is {size_b[0]}x{size_b[1]}, HxW); resize or '
                    f'remove that sequence')

    def load_data_list(self) -> List[dict]:
        """List the clips.

        Returns:
            list[dict]: ``{'img_paths', 'key', 'clip_folder',
            'frame_indices'}`` per clip.
        """
        base, names = self._sequences()
        one_clip_each = self.clip_step is None and self.layout != 'davis'
        data_list = []
        for name in names:
            folder = join_path(base, name)
            if not fileio.isdir(folder, backend_args=self.backend_args):
                raise FileNotFoundError(
                    f'VideoClipDataset: clip folder {folder!r} (listed in '
                    f'{self.ann_file or "data_root"!r}) does not exist; fix '
                    f'the list or the data_root')
            frames = self._list_images(folder, 'data_root')
            if len(frames) < self.span:
                raise DataError(
                    f'VideoClipDataset: clip folder {folder!r} has '
                    f'{len(frames)} frames, fewer than the {self.span} a clip '
                    f'of {self.num_frames} frames with frame_step '
                    f'{self.frame_step} spans; remove it or lower num_frames '
                    f'/ frame_step')
            starts = self._starts(len(frames))
            used = sorted({
                s + i * self.frame_step
                for s in starts for i in range(self.num_frames)
            })
            if self.check_sizes:
                self._check_frame_sizes(
                    folder, [join_path(folder, frames[i]) for i in used])
            for start in starts:
                indices = [
                    start + i * self.frame_step
                    for i in range(self.num_frames)
                ]
                key = name if one_clip_each else \
                    f'{name}/{self._key(frames[start])}'
                data_list.append(
                    dict(
                        img_paths=[join_path(folder, frames[i])
                                   for i in indices],
                        key=key,
                        clip_folder=name,
                        frame_indices=indices))
        return data_list


@DATASETS.register_module()
class StereoPairDataset(_MultiImageDataset):
    """Stereo pairs ``[left, right]`` (IICNet binocular mononizing).

    Two layouts, chosen by ``left`` / ``right``:

    - file names (default ``'left.png'`` / ``'right.png'``): ``data_root``
      holds one folder per pair, each with both views (the bundled
      Middlebury pairs); ``key`` = the folder name;
    - templates with ``'{}'``: a flat folder of ``<stem>`` pairs, e.g.
      Flickr1024's ``0001_L.png`` / ``0001_R.png`` with
      ``left='{}_L.png', right='{}_R.png'``; ``key`` = the stem.

    Data info: ``{'img_paths': [left, right], 'key'}``.

    Args:
        data_root (str): the folder of pair folders / of the flat files.
        pipeline (Sequence[dict | Callable]): the transforms.
        left (str): left-view file name or template. Default: ``'left.png'``.
        right (str): right-view file name or template. Default:
            ``'right.png'``.
        metainfo, backend_args, serialize_data, **kwargs: see
            :class:`ImageFolderDataset`.

    Raises:
        FileNotFoundError: ``data_root`` does not exist, or a pair misses a
            view (naming the folder / file).
        ValueError: no pair found, or only one of ``left`` / ``right`` is a
            template.
    """

    def __init__(self,
                 data_root: str,
                 pipeline: PipelineType = (),
                 left: str = 'left.png',
                 right: str = 'right.png',
                 metainfo: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 serialize_data: bool = False,
                 **kwargs) -> None:
        templates = [t.count('{}') for t in (left, right)]
        if templates not in ([0, 0], [1, 1]) or left == right:
            raise DataError(
                f'StereoPairDataset: left and right must be two file names '
                f"(e.g. 'left.png', 'right.png') or two templates with one "
                f"'{{}}' (e.g. '{{}}_L.png', '{{}}_R.png'), got {left!r} and "
                f'{right!r}')
        self.left, self.right = left, right
        self.flat = templates == [1, 1]
        super().__init__(
            data_root=data_root,
            pipeline=pipeline,
            metainfo=metainfo,
            backend_args=backend_args,
            serialize_data=serialize_data,
            **kwargs)

    @staticmethod
    def _pattern(template: str) -> 're.Pattern':
        before, after = template.split('{}')
        return re.compile(f'^{re.escape(before)}(.+){re.escape(after)}$')

    def _load_flat(self) -> List[dict]:
        root = self.data_root
        names = self._scan(root, 'data_root')
        views = {}
        for side, template in (('left', self.left), ('right', self.right)):
            pattern = self._pattern(template)
            views[side] = {
                m.group(1): name
                for name in names for m in [pattern.match(name)] if m
            }
        stems = sorted(set(views['left']) | set(views['right']))
        if not stems:
            raise DataError(
                f'StereoPairDataset: no file in {root!r} matches '
                f'{self.left!r} / {self.right!r}; fix the templates or '
                f'data_root')
        data_list = []
        for stem in stems:
            for side, other in (('left', 'right'), ('right', 'left')):
                if stem not in views[other]:
                    template = getattr(self, other)
                    raise FileNotFoundError(
                        f'StereoPairDataset: '
                        f'{join_path(root, views[side][stem])!r} has no '
                        f'{other} view {join_path(root, template.format(stem))!r};'
                        f' add it or remove the {side} view')
            data_list.append(
                dict(
                    img_paths=[
                        join_path(root, views['left'][stem]),
                        join_path(root, views['right'][stem])
                    ],
                    key=stem))
        return data_list

    def _load_folders(self) -> List[dict]:
        root = self.data_root
        folders = self._subfolders(root, 'data_root', 'stereo folder')
        if not folders:
            raise DataError(
                f'StereoPairDataset: no pair folder in {root!r}; put one '
                f'folder holding {self.left!r} and {self.right!r} per pair '
                f"there, or use templates (left='{{}}_L.png', "
                f"right='{{}}_R.png') for a flat folder")
        data_list = []
        for name in folders:
            folder = join_path(root, name)
            paths = [join_path(folder, self.left),
                     join_path(folder, self.right)]
            for view, path in zip(('left', 'right'), paths):
                if not fileio.exists(path, backend_args=self.backend_args):
                    raise FileNotFoundError(
                        f'StereoPairDataset: pair folder {folder!r} has no '
                        f'{view} view {osp.basename(path)!r}; add it or '
                        f'remove the folder')
            data_list.append(dict(img_paths=paths, key=name))
        return data_list

    def load_data_list(self) -> List[dict]:
        """List the pairs.

        Returns:
            list[dict]: ``{'img_paths': [left, right], 'key'}`` per pair.
        """
        return self._load_flat() if self.flat else self._load_folders()


@DATASETS.register_module()
class MultiFolderDataset(_MultiImageDataset):
    """K parallel folders of images matched by file stem (IICNet
    composition / decomposition).

    ``<data_root>/<folders[k]>/<stem>.<ext>`` is image k of sample
    ``<stem>``; the first folder decides the samples (files of the other
    folders without a partner there are ignored) and the extensions may
    differ between folders (``fg/0001.png`` with ``bg/0001.jpg``). E.g.
    Adobe composition ``folders=('composite', 'background',
    'foreground')``, Real-Matting ``folders=('frame', 'background')``.

    Data info: ``{'img_paths': [one path per folder], 'key': stem}``.

    Args:
        data_root (str): the folder holding the K folders.
        folders (Sequence[str]): the K sub-folders, in the task's order.
            Default: ``('composite', 'background', 'foreground')``.
        pipeline (Sequence[dict | Callable]): the transforms.
        metainfo, backend_args, serialize_data, **kwargs: see
            :class:`ImageFolderDataset`.

    Raises:
        FileNotFoundError: ``data_root`` or a folder does not exist, or an
            image has no partner in another folder (naming both).
        ValueError: the first folder holds no image, or ``folders`` is not
            a list of at least two distinct names.
    """

    def __init__(self,
                 data_root: str,
                 folders: Sequence[str] = ('composite', 'background',
                                           'foreground'),
                 pipeline: PipelineType = (),
                 metainfo: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 serialize_data: bool = False,
                 **kwargs) -> None:
        if isinstance(folders, str) or len(folders) < 2 or len(
                set(folders)) != len(folders):
            raise DataError(
                f'MultiFolderDataset: folders must name at least two distinct '
                f"sub-folders (e.g. ('composite', 'background', "
                f"'foreground')), got {folders!r}")
        self.folders = tuple(str(f) for f in folders)
        super().__init__(
            data_root=data_root,
            pipeline=pipeline,
            metainfo=metainfo,
            backend_args=backend_args,
            serialize_data=serialize_data,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Match the folders' files by stem.

        Returns:
            list[dict]: ``{'img_paths', 'key'}`` per image of the first
            folder.
        """
        self._require_folder(self.data_root, 'data_root', 'data_root')
        dirs = [join_path(self.data_root, f) for f in self.folders]
        by_stem = []
        for k, folder in enumerate(dirs):
            self._require_folder(folder, 'data_root',
                                 f'folder {self.folders[k]!r}')
            names = self._scan(folder, 'data_root') if k == 0 else \
                self._list_images(folder, 'data_root')
            stems: Dict[str, str] = {}
            for name in names:
                stems.setdefault(self._key(name), name)
            by_stem.append(stems)
        data_list = []
        for stem, first in by_stem[0].items():
            paths = [join_path(dirs[0], first)]
            for k in range(1, len(dirs)):
                if stem not in by_stem[k]:
                    raise FileNotFoundError(
                        f'MultiFolderDataset: {paths[0]!r} has no partner '
                        f'{join_path(dirs[k], stem)!r} + an image extension '
                        f'in folder {self.folders[k]!r}; add it or remove '
                        f'{first!r}')
                paths.append(join_path(dirs[k], by_stem[k][stem]))
            data_list.append(dict(img_paths=paths, key=stem))
        return data_list


@DATASETS.register_module()
class ImageGroupDataset(_MultiImageDataset):
    """Groups of ``group_size`` images of one folder (IICNet image hiding:
    ``[cover, secret1, ...]``; with ``group_size=1``, single images for the
    one-image tasks).

    The images (sorted by name, optionally those at least ``min_size``
    pixels on both sides) are grouped consecutively, after a deterministic
    shuffle with ``seed`` unless ``seed=None``; a remainder smaller than a
    group is dropped. ``seed=None`` with ``min_size=576`` and ``split``
    reproduces the official Flickr 2W hiding lists (sorted files, images
    under 576 pixels dropped, groups split 70 / 10 / 20 % into train / val
    / test).

    Data info: ``{'img_paths': [group_size paths], 'key': the first
    image's stem}``.

    Args:
        data_root (str): the image folder.
        group_size (int): images per sample (1 + number of secrets).
        pipeline (Sequence[dict | Callable]): the transforms.
        seed (int, optional): shuffle seed; ``None`` keeps the sorted order.
            Default: 0.
        min_size (int, optional): drop images smaller than this on a side
            (reads the image headers). Default: None.
        split (str, optional): ``'train'``, ``'val'`` or ``'test'``: the
            official 70 / 10 / 20 % split of the groups. Default: None (all).
        group_slice (tuple, optional): ``(start, stop[, step])`` of the
            groups (after ``split``), e.g. ``(0, 13758)`` / ``(13758,
            None)`` for the official VOC2012 grayscale train / test images.
            Default: None (all).
        metainfo, backend_args, serialize_data, **kwargs: see
            :class:`ImageFolderDataset`.

    Raises:
        FileNotFoundError: ``data_root`` does not exist.
        ValueError: the folder holds fewer than ``group_size`` (usable)
            images, or an argument is invalid.
    """

    SPLITS = ('train', 'val', 'test')

    def __init__(self,
                 data_root: str,
                 group_size: int,
                 pipeline: PipelineType = (),
                 seed: Optional[int] = 0,
                 min_size: Optional[int] = None,
                 split: Optional[str] = None,
                 group_slice: Optional[Sequence[Optional[int]]] = None,
                 metainfo: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 serialize_data: bool = False,
                 **kwargs) -> None:
        if isinstance(group_size, bool) or not isinstance(
                group_size, (int, np.integer)) or group_size < 1:
            raise DataError(
                f'ImageGroupDataset: group_size must be a positive integer '
                f'(1 cover + the secrets), got {group_size!r}')
        if split is not None and split not in self.SPLITS:
            raise DataError(
                f'ImageGroupDataset: split must be None or one of '
                f'{self.SPLITS}, got {split!r}')
        if min_size is not None and (isinstance(min_size, bool) or
                                     not isinstance(min_size, int) or
                                     min_size < 1):
            raise DataError(
                f'ImageGroupDataset: min_size must be None or a positive '
                f'integer, got {min_size!r}')
        self.group_size = int(group_size)
        self.seed = seed
        self.min_size = min_size
        self.split = split
        self.group_slice = _check_slice(group_slice, 'group_slice',
                                        'ImageGroupDataset')
        super().__init__(
            data_root=data_root,
            pipeline=pipeline,
            metainfo=metainfo,
            backend_args=backend_args,
            serialize_data=serialize_data,
            **kwargs)

    def _split(self, groups: List[list]) -> List[list]:
        """The official 70 / 10 / 20 % split (``round`` as the official
        annotation script)."""
        if self.split is None:
            return groups
        n = len(groups)
        train, val = round(n * 0.7), round(n * 0.1)
        bounds = dict(train=(0, train), val=(train, train + val),
                      test=(train + val, n))
        start, stop = bounds[self.split]
        return groups[start:stop]

    def load_data_list(self) -> List[dict]:
        """Group the images.

        Returns:
            list[dict]: ``{'img_paths', 'key'}`` per group.
        """
        root = self.data_root
        names = self._scan(root, 'data_root')
        if self.min_size is not None:
            names = [
                n for n in names
                if min(self._image_size(join_path(root, n))) >= self.min_size
            ]
        if len(names) < self.group_size:
            small = (f' at least {self.min_size} pixels on a side'
                     if self.min_size is not None else '')
            raise DataError(
                f'ImageGroupDataset: {root!r} holds {len(names)} images'
                f'{small}, fewer than one group of {self.group_size}; add '
                f'images or lower group_size')
        if self.seed is not None:
            order = np.random.default_rng(self.seed).permutation(len(names))
            names = [names[i] for i in order]
        count = len(names) // self.group_size
        groups = [
            names[i * self.group_size:(i + 1) * self.group_size]
            for i in range(count)
        ]
        groups = self._split(groups)[self.group_slice or slice(None)]
        if not groups:
            raise DataError(
                f'ImageGroupDataset: {root!r} has {count} group(s) of '
                f'{self.group_size}, none left after split={self.split!r} / '
                f'group_slice={self.group_slice}; add images or change '
                'split / group_slice (e.g. group_slice=None)')
        return [
            dict(img_paths=[join_path(root, n) for n in group],
                 key=self._key(group[0])) for group in groups
        ]
