# Copyright (c) invtoolbox contributors. All rights reserved.
"""A dataset of ground-truth images paired by name with stored LR images."""
from __future__ import annotations

import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Union

from mmengine.fileio import join_path

from ..registry import DATASETS
from .image_folder_dataset import ImageFolderDataset


@DATASETS.register_module()
class PairedImageDataset(ImageFolderDataset):
    """Ground-truth images paired with low-resolution files of the same name.

    For each GT image ``<data_root>/<gt prefix>/<name>.<ext>`` the LR partner
    is ``<data_root>/<lr prefix>/<filename_tmpl.format(name)>.<any image ext>``
    (an LR file with the GT's extension is preferred). E.g. DIV2K's official
    bicubic files ``0801.png`` / ``0801x2.png``::

        dataset = dict(
            type='PairedImageDataset',
            data_root='data/DIV2K',
            data_prefix=dict(gt='DIV2K_valid_HR', lr='DIV2K_valid_LR_bicubic/X2'),
            filename_tmpl='{}x2',
            pipeline=[
                dict(type='LoadImageFromFile', key='gt'),
                dict(type='LoadImageFromFile', key='lr'),
                dict(type='PackInputs'),
            ])

    Each data info is ``{'gt_path', 'lr_path', 'key'}`` (``key``: the GT path
    relative to its folder, without extension). LR files without a GT
    partner are ignored.

    Args:
        data_root (str): root folder of the two prefixes.
        data_prefix (dict): ``dict(gt=..., lr=...)`` folders relative to
            ``data_root`` (or absolute). Default: ``dict(gt='HR', lr='LR')``.
        filename_tmpl (str): maps a GT stem to its LR stem; must contain one
            ``'{}'``. Default: ``'{}'`` (same names).
        pipeline, recursive, metainfo, backend_args, serialize_data,
            **kwargs: see :class:`ImageFolderDataset`.

    Raises:
        FileNotFoundError: a folder is missing, or a GT image has no LR
            partner (the message names the first such GT file and the LR file
            it expected).
        ValueError: the GT folder holds no image, or ``filename_tmpl`` has no
            ``'{}'``.
    """

    def __init__(self,
                 data_root: str,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 data_prefix: Optional[dict] = None,
                 filename_tmpl: str = '{}',
                 recursive: bool = False,
                 metainfo: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 serialize_data: bool = False,
                 **kwargs) -> None:
        if not isinstance(filename_tmpl, str) or filename_tmpl.count(
                '{}') != 1:
            raise ValueError(
                f'PairedImageDataset: filename_tmpl must contain one "{{}}" '
                f'for the GT file stem (e.g. "{{}}x2"), got {filename_tmpl!r}')
        data_prefix = self._default_prefix() if data_prefix is None else \
            dict(data_prefix)
        missing = {'gt', 'lr'} - set(data_prefix)
        if missing:
            raise ValueError(
                f'PairedImageDataset: data_prefix needs the keys gt and lr '
                f'(sub-folders of data_root), got {data_prefix!r}')
        self.filename_tmpl = filename_tmpl
        super().__init__(
            data_root=data_root,
            pipeline=pipeline,
            data_prefix=data_prefix,
            recursive=recursive,
            metainfo=metainfo,
            backend_args=backend_args,
            serialize_data=serialize_data,
            **kwargs)

    @staticmethod
    def _default_prefix() -> dict:
        return dict(gt='HR', lr='LR')

    def _lr_stem(self, gt_key: str) -> str:
        """The LR path (relative, without extension) of a GT key."""
        folder, stem = osp.split(gt_key)
        lr_stem = self.filename_tmpl.format(stem)
        return f'{folder}/{lr_stem}' if folder else lr_stem

    def load_data_list(self) -> List[dict]:
        """Scan both folders and pair the files.

        Returns:
            list[dict]: ``{'gt_path', 'lr_path', 'key'}`` per GT image.
        """
        gt_folder, lr_folder = self._folder('gt'), self._folder('lr')
        gt_names = self._scan(gt_folder, self._option('gt'))
        lr_by_stem: Dict[str, List[str]] = {}
        for name in self._list_images(lr_folder, self._option('lr')):
            lr_by_stem.setdefault(self._key(name), []).append(name)

        data_list, unpaired = [], []
        for gt_name in gt_names:
            key = self._key(gt_name)
            lr_stem = self._lr_stem(key)
            candidates = lr_by_stem.get(lr_stem)
            if not candidates:
                unpaired.append((gt_name, lr_stem))
                continue
            gt_ext = osp.splitext(gt_name)[1].lower()
            same_ext = [
                c for c in candidates if osp.splitext(c)[1].lower() == gt_ext
            ]
            lr_name = (same_ext or candidates)[0]
            data_list.append(
                dict(
                    gt_path=join_path(gt_folder, gt_name),
                    lr_path=join_path(lr_folder, lr_name),
                    key=key))
        if unpaired:
            gt_name, lr_stem = unpaired[0]
            raise FileNotFoundError(
                f'PairedImageDataset: {len(unpaired)} of {len(gt_names)} GT '
                f'images have no LR partner, first '
                f'{join_path(gt_folder, gt_name)!r} expects '
                f'{join_path(lr_folder, lr_stem)!r} + an image extension '
                f'(filename_tmpl={self.filename_tmpl!r}); add the LR files or '
                f"fix filename_tmpl / data_prefix['lr']")
        return data_list
