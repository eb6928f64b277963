# Copyright (c) invtoolbox contributors. All rights reserved.
"""Camera RAW datasets for Invertible-ISP: the official MIT-Adobe FiveK
splits, and any folder of RAW files."""
from __future__ import annotations

import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from ..errors import DataError
from ..registry import DATASETS
from .raw.io import RAW_EXTENSIONS, is_raw_file
from .utils import build_pipeline

SPLITS_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'raw', 'splits')
#: camera -> the official split-list prefix (yzxing87/Invertible-ISP data/).
FIVEK_CAMERAS = {'nikon': 'NIKON_D700', 'canon': 'Canon_EOS_5D'}


def read_split(camera: str, split: str) -> List[str]:
    """The official file names (no extension) of a FiveK camera split.

    Args:
        camera (str): ``'nikon'`` (Nikon D700: 414 train / 73 test) or
            ``'canon'`` (Canon EOS 5D: 650 / 127).
        split (str): ``'train'`` or ``'test'``.
    """
    if camera not in FIVEK_CAMERAS:
        raise ValueError(f"FiveKRAWDataset: camera must be one of "
                         f"{sorted(FIVEK_CAMERAS)}, got {camera!r}")
    if split not in ('train', 'test'):
        raise ValueError("FiveKRAWDataset: split must be 'train' or 'test', "
                         f'got {split!r}')
    path = osp.join(SPLITS_DIR, f'{FIVEK_CAMERAS[camera]}_{split}.txt')
    with open(path, encoding='utf-8') as handle:
        return [line.strip() for line in handle if line.strip()]


class _RAWDataset(BaseDataset):

    def __init__(self, data_root: str, pipeline=(), metainfo=None,
                 serialize_data: bool = False, **kwargs) -> None:
        if not isinstance(data_root, str) or not data_root:
            raise ValueError(f'{type(self).__name__}: data_root must be a '
                             f'folder path, got {data_root!r}')
        super().__init__(
            data_root=data_root,
            metainfo=metainfo,
            pipeline=build_pipeline(pipeline),
            serialize_data=serialize_data,
            **kwargs)

    def _check_root(self) -> str:
        root = self.data_root
        if not osp.isdir(root):
            what = 'is not a folder' if osp.exists(root) else 'does not exist'
            raise FileNotFoundError(
                f'{type(self).__name__}: RAW folder {root!r} {what}; put the '
                'RAW files there or point data_root at them')
        return root

    @staticmethod
    def _info(root: str, name: str) -> dict:
        return dict(raw_path=osp.join(root, name),
                    key=osp.splitext(name)[0])


@DATASETS.register_module()
class FiveKRAWDataset(_RAWDataset):
    """The MIT-Adobe FiveK DNGs of one camera, split as Invertible-ISP.

    The official lists (``invtoolbox/datasets/raw/splits/``, from
    yzxing87/Invertible-ISP ``data/*_{train,test}.txt``) name each file
    without extension; ``data_root`` holds ``<name>.dng`` (or ``.DNG``), as
    the official ``<camera>/DNG/`` folder. Each data info is
    ``{'raw_path': '<data_root>/a2754-_DSC7455.dng', 'key': 'a2754-_DSC7455'}``.

    Args:
        data_root (str): the folder of the camera's DNGs.
        camera (str): ``'nikon'`` or ``'canon'``.
        split (str): ``'train'`` or ``'test'``.
        pipeline (Sequence[dict | Callable]): the transforms.
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments.

    Raises:
        FileNotFoundError: ``data_root`` is missing.
        DataError: files of the split are missing (how many, the first
            ones).
    """

    def __init__(self,
                 data_root: str,
                 camera: str = 'nikon',
                 split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 **kwargs) -> None:
        self.names = read_split(camera, split)
        self.camera, self.split = camera, split
        super().__init__(data_root, pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self._check_root()
        present = {name.lower(): name for name in os.listdir(root)}
        data_list, missing = [], []
        for stem in self.names:
            name = present.get(f'{stem}.dng'.lower())
            if name is None:
                missing.append(f'{stem}.dng')
            else:
                data_list.append(self._info(root, name))
        if missing:
            raise DataError(
                f'FiveKRAWDataset: {len(missing)} of the {len(self.names)} '
                f'{self.camera} {self.split} DNGs are missing from {root!r} '
                f'(first: {", ".join(missing[:3])}); download them (official '
                'data/data_preprocess.sh) or fix data_root')
        return data_list


@DATASETS.register_module()
class RAWFolderDataset(_RAWDataset):
    """Every camera RAW file of a folder (sorted; hidden files skipped).

    Extensions: :data:`~invtoolbox.datasets.raw.io.RAW_EXTENSIONS` in any
    case. With ``ann_file`` (relative to ``data_root``, one file name per
    line; blank lines ignored) only the listed files are used.

    Args:
        data_root (str): the folder of the RAW files.
        ann_file (str, optional): a list of file names.
        pipeline (Sequence[dict | Callable]): the transforms.
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments.

    Raises:
        FileNotFoundError: ``data_root`` or ``ann_file`` is missing.
        DataError: no RAW file; listed files missing.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: Optional[str] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 **kwargs) -> None:
        self._list_file = ann_file
        super().__init__(data_root, pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self._check_root()
        if self._list_file:
            path = self._list_file if osp.isabs(self._list_file) else \
                osp.join(root, self._list_file)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'RAWFolderDataset: file list {path!r} does not exist; '
                    'fix ann_file or leave it out to take every RAW file')
            with open(path, encoding='utf-8') as handle:
                names = [line.strip() for line in handle if line.strip()]
            missing = [n for n in names if not osp.isfile(osp.join(root, n))]
            if missing:
                raise DataError(
                    f'RAWFolderDataset: {len(missing)} of the {len(names)} '
                    f'files of {path!r} are missing from {root!r} (first: '
                    f'{", ".join(missing[:3])}); fix the list or the folder')
        else:
            names = sorted(
                n for n in os.listdir(root) if is_raw_file(n)
                and not n.startswith('.') and osp.isfile(osp.join(root, n)))
        if not names:
            raise DataError(
                f'RAWFolderDataset: {root!r} holds no camera RAW file '
                f'({", ".join(RAW_EXTENSIONS)}, any case); put RAW files '
                'there or fix data_root')
        return [self._info(root, name) for name in names]
