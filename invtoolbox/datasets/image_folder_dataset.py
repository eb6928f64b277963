# Copyright (c) invtoolbox contributors. All rights reserved.
"""A dataset of the high-resolution images of one folder."""
from __future__ import annotations

import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.fileio import join_path

from ..registry import DATASETS
from .utils import build_pipeline, scan_images


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """The images of a folder, used as ground truth (GT / HR).

    Every ``png``, ``jpg``, ``jpeg``, ``bmp``, ``tif``/``tiff`` and ``webp``
    file (extensions compared case-insensitively, hidden files skipped) is
    one sample, in sorted order. Each data info is::

        {'gt_path': '<folder>/baby.png', 'key': 'baby', 'sample_idx': 0}

    (``key`` is the path relative to the folder without its extension, i.e.
    the file stem when ``recursive=False``). The images are read by the
    pipeline (``LoadImageFromFile``); the low-resolution references are made
    on the fly by a transform (``GenerateBicubicLR``), as IRN's training
    data.

    Example::

        dataset = dict(
            type='ImageFolderDataset',
            data_root='data/Set5',
            metainfo=dict(dataset_name='Set5'),
            pipeline=[
                dict(type='LoadImageFromFile', key='gt'),
                dict(type='ModCrop', key='gt', scale=2),
                dict(type='GenerateBicubicLR', scale=2),
                dict(type='PackInputs'),
            ])

    Args:
        data_root (str): the folder of the images (or the root that
            ``data_prefix['gt']`` is relative to).
        pipeline (Sequence[dict | Callable]): the transforms.
        data_prefix (dict, optional): ``dict(gt=sub_folder)``, joined to
            ``data_root``. Default: ``dict(gt='')`` (images in ``data_root``).
        recursive (bool): also take the images of sub-folders. Default: False.
        metainfo (dict, optional): dataset meta information.
            ``dataset_name`` (the name the multi-dataset loops report metrics
            under, e.g. ``'Set5'``) defaults to the folder's name.
        backend_args (dict, optional): mmengine file-backend arguments for
            listing the folder.
        serialize_data (bool): pack the data list into one numpy buffer
            (mmengine's default, to share memory between dataloader
            workers). Off by default: the list holds two short strings per
            image, and packing costs a full garbage collection per dataset.
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments
            (``test_mode``, ``indices``, ``lazy_init``, ``max_refetch``).

    Raises:
        FileNotFoundError: the folder does not exist (when the data list is
            loaded, i.e. at construction unless ``lazy_init=True``).
        ValueError: the folder holds no image.
    """

    def __init__(self,
                 data_root: str,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 data_prefix: Optional[dict] = None,
                 recursive: bool = False,
                 metainfo: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 serialize_data: bool = False,
                 **kwargs) -> None:
        if not isinstance(data_root, str) or not data_root:
            raise ValueError(
                f'{type(self).__name__}: data_root must be a folder path, got '
                f'{data_root!r}')
        self.recursive = bool(recursive)
        self.backend_args = backend_args
        data_prefix = dict(self._default_prefix() if data_prefix is None else
                           data_prefix)
        self._given_prefix = dict(data_prefix)
        metainfo = dict(metainfo or {})
        if metainfo.get('dataset_name') is None:
            metainfo['dataset_name'] = self._folder_name(
                data_root, data_prefix.get('gt', ''))
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            pipeline=build_pipeline(pipeline),
            serialize_data=serialize_data,
            **kwargs)

    @staticmethod
    def _default_prefix() -> dict:
        return dict(gt='')

    @classmethod
    def _load_metainfo(cls, metainfo=None) -> dict:
        """Like mmengine's, but ``dataset_name`` is always a plain string.

        mmengine tries to read every string of ``metainfo`` as a file of
        names (and warns when it is not one); a dataset name is never a file.
        """
        metainfo = dict(metainfo or {})
        name = metainfo.pop('dataset_name', None)
        parsed = super()._load_metainfo(metainfo)
        if name is not None:
            parsed['dataset_name'] = str(name)
        return parsed

    @staticmethod
    def _folder_name(data_root: str, prefix: str) -> str:
        """The name of the image folder (``prefix`` if set, else the root)."""
        for path in (prefix, data_root):
            name = osp.basename(osp.normpath(path)) if path else ''
            if name and name not in ('.', '..'):
                return name
        return 'images'

    def _list_images(self, folder: str, option: str) -> List[str]:
        """Sorted image paths relative to ``folder`` (possibly none).

        Raises:
            FileNotFoundError: naming ``folder`` and the ``option`` to fix.
        """
        return scan_images(
            folder,
            recursive=self.recursive,
            backend_args=self.backend_args,
            owner=type(self).__name__,
            option=option)

    def _scan(self, folder: str, option: str) -> List[str]:
        """Like :meth:`_list_images`, but an empty folder is a ValueError."""
        names = self._list_images(folder, option)
        if not names:
            hint = ('' if self.recursive else
                    ', or set recursive=True if they are in sub-folders')
            raise ValueError(
                f'{type(self).__name__}: no image (png, jpg, jpeg, bmp, tif, '
                f'webp) found in {folder!r}; put the images there or point '
                f'{option} at the folder that holds them{hint}')
        return names

    @staticmethod
    def _key(relative_path: str) -> str:
        """``'sub/baby.png'`` -> ``'sub/baby'``."""
        return osp.splitext(relative_path)[0]

    def _folder(self, name: str) -> str:
        """The folder of ``name`` images (``data_root`` when no prefix)."""
        return self.data_prefix[name] if self._given_prefix.get(name) \
            else self.data_root

    def _option(self, name: str) -> str:
        """The config option that sets the folder of ``name`` images."""
        return f"data_prefix['{name}']" if self._given_prefix.get(name) \
            else 'data_root'

    def load_data_list(self) -> List[dict]:
        """Scan the folder.

        Returns:
            list[dict]: ``{'gt_path', 'key'}`` per image, sorted by path.
        """
        folder = self._folder('gt')
        return [
            dict(gt_path=join_path(folder, name), key=self._key(name))
            for name in self._scan(folder, self._option('gt'))
        ]
