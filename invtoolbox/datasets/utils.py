# Copyright (c) invtoolbox contributors. All rights reserved.
"""Helpers shared by the image datasets: folder scanning and pipelines."""
from __future__ import annotations

import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmengine import fileio

from ..registry import TRANSFORMS

__all__ = ['IMG_EXTENSIONS', 'is_image_file', 'scan_images', 'build_pipeline']

#: File extensions read as images (compared case-insensitively).
IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def is_image_file(name: str) -> bool:
    """Whether ``name`` has an image extension (case-insensitive).

    Hidden files (``.DS_Store``, macOS ``._name.png`` resource forks) are not
    images.
    """
    base = osp.basename(name)
    return not base.startswith('.') and base.lower().endswith(IMG_EXTENSIONS)


def scan_images(folder: str,
                recursive: bool = False,
                backend_args: Optional[dict] = None,
                owner: str = 'dataset',
                option: str = 'data_root') -> List[str]:
    """List the image files of a folder, sorted.

    Args:
        folder (str): the folder (local path or any mmengine file backend).
        recursive (bool): also list the images of sub-folders.
        backend_args (dict, optional): mmengine file-backend arguments.
        owner (str): name used in error messages (e.g. the dataset class).
        option (str): the config option that set ``folder``, for the fix
            suggested in error messages.

    Returns:
        list[str]: paths relative to ``folder`` (``'/'``-separated), sorted.

    Raises:
        FileNotFoundError: ``folder`` does not exist or is not a folder.
    """
    if not fileio.isdir(folder, backend_args=backend_args):
        what = ('is not a folder' if fileio.exists(
            folder, backend_args=backend_args) else 'does not exist')
        raise FileNotFoundError(
            f'{owner}: image folder {folder!r} {what}; put the images there '
            f'or point {option} at them (e.g. tools/train.py CONFIG '
            f'--data-root DIR for every dataset of a config)')
    names = fileio.list_dir_or_file(
        folder,
        list_dir=False,
        list_file=True,
        recursive=recursive,
        backend_args=backend_args)
    return sorted(
        name.replace('\\', '/') for name in names if is_image_file(name))


def build_pipeline(
        pipeline: Sequence[Union[dict, Callable]]) -> List[Callable]:
    """Build the transforms of a pipeline with invtoolbox's TRANSFORMS.

    mmengine's ``Compose`` builds config dicts through the registry of the
    current default scope; building them here in the ``invtoolbox`` scope
    (unless a dict sets ``_scope_``) makes a dataset find invtoolbox's
    transforms whatever the current scope (none, or ``mmengine`` whose root
    would find mmcv's ``LoadImageFromFile``). Types that invtoolbox does not
    register are still looked up in mmengine's root, ``'mmcv.Type'`` in
    mmcv's registry.
    """
    built = []
    for transform in pipeline:
        if isinstance(transform, dict):
            transform = dict(transform)
            transform.setdefault('_scope_', 'invtoolbox')
            transform = TRANSFORMS.build(transform)
        if not callable(transform):
            raise TypeError(
                f'pipeline entries must be config dicts or callables, got '
                f'{type(transform).__name__}')
        built.append(transform)
    return built
