# Copyright (c) invtoolbox contributors. All rights reserved.
"""Point every dataset of a config at another data root (``--data-root``).

A config's datasets live under one root: the top-level ``data_root``
variable the dataset base configs declare (e.g. ``'data/DAVIS'``, whose
datasets read ``data/DAVIS/DAVIS-2017-trainval`` and
``data/DAVIS/DAVIS-2017-test-dev``), else (none declared, or none of the
datasets under it) the folder their paths have in common (e.g.
``'data'`` for DIV2K under ``data/DIV2K/...`` and the test sets under
``data/Set5`` ...). :func:`set_data_root` swaps that root for the
user's folder and keeps each dataset's sub-folder, in every dataset of the
train / val / test dataloaders (lists of loaders and the inner datasets of
wrappers such as ``ConcatDataset`` / ``RepeatDataset`` included). The
dataset keys that hold a root are ``data_root`` and ``src_root`` (the
synthetic datasets that render samples from a folder of photographs).
"""
from __future__ import annotations

import os.path as osp
import posixpath
from typing import Any, Iterator, List, MutableMapping, Optional, Tuple

__all__ = [
    'ROOT_KEYS', 'dataset_roots', 'set_data_root', 'folder_dataset_name'
]

#: dataset config keys that hold the folder a dataset reads
ROOT_KEYS = ('data_root', 'src_root')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: folder names that say which split, not which data: a dataset in such a
#: folder is named after its parent too (``my_clips/val`` -> ``my_clips_val``)
SPLIT_FOLDERS = ('train', 'training', 'val', 'valid', 'validation', 'test',
                 'testing', 'eval', 'hr', 'gt', 'images')


def _datasets(node: Any) -> Iterator[MutableMapping]:
    """The leaf dataset configs of a dataset config (wrappers unfolded)."""
    if not isinstance(node, MutableMapping):
        return
    inner = [node['dataset']] if isinstance(
        node.get('dataset'), MutableMapping) else []
    if isinstance(node.get('datasets'), (list, tuple)):
        inner += list(node['datasets'])
    if inner:
        for child in inner:
            yield from _datasets(child)
    else:
        yield node


def _loader_datasets(cfg: MutableMapping) -> Iterator[MutableMapping]:
    seen = set()
    for name in LOADERS:
        loaders = cfg.get(name)
        if isinstance(loaders, MutableMapping):
            loaders = [loaders]
        for loader in loaders or ():
            if not isinstance(loader, MutableMapping):
                continue
            for dataset in _datasets(loader.get('dataset')):
                if id(dataset) not in seen:  # test_dataloader = val_...
                    seen.add(id(dataset))
                    yield dataset


def dataset_roots(cfg: MutableMapping) -> List[Tuple[MutableMapping, str]]:
    """``(dataset config, key)`` of every dataset root of a config's
    dataloaders (``key`` in :data:`ROOT_KEYS`, its value a string)."""
    return [(dataset, key) for dataset in _loader_datasets(cfg)
            for key in ROOT_KEYS if isinstance(dataset.get(key), str)]


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace('\\', '/'))


def _relative(path: str, root: str) -> Optional[str]:
    """``path`` relative to ``root`` ('' for the root itself), or None when
    it is not inside it."""
    path, root = _norm(path), _norm(root)
    if path == root:
        return ''
    if root == '.':
        return None if path.startswith(('/', '../')) or path == '..' \
            else path
    prefix = root.rstrip('/') + '/'
    return path[len(prefix):] if path.startswith(prefix) else None


def folder_dataset_name(path: str) -> str:
    """The dataset name for the data in folder ``path``: its base name, with
    the parent's prepended when the base name only names a split
    (:data:`SPLIT_FOLDERS`), e.g. ``'/data/kodak/val'`` -> ``'kodak_val'``,
    ``'/data/bench/Set5'`` -> ``'Set5'``."""
    parts = [p for p in _norm(osp.abspath(path)).split('/') if p]
    if not parts:
        return 'data'
    name = parts[-1]
    if name.lower() in SPLIT_FOLDERS and len(parts) > 1:
        name = f'{parts[-2]}_{name}'
    return name


def set_data_root(cfg: MutableMapping, new_root: str) -> List[str]:
    """Point every dataset of ``cfg`` at ``new_root``, in place.

    The old root is ``cfg['data_root']`` when the config declares one (a
    string) that holds at least one of its datasets, else the common folder
    of its dataset roots. A dataset at
    ``<old root>/<sub>`` moves to ``<new root>/<sub>``; ``cfg['data_root']``
    becomes ``new_root``. A moved dataset whose config names it
    (``metainfo=dict(dataset_name=...)``, e.g. ``'demo_val'``) is renamed
    after its new folder (:func:`folder_dataset_name`), so that results
    tables and metric prefixes name the data actually used.

    Args:
        cfg (MutableMapping): an mmengine ``Config`` (or a dict).
        new_root (str): the folder that replaces the config's data root.

    Returns:
        list[str]: the dataset roots that are not under the config's
        ``data_root`` and were left unchanged (e.g. a fixed benchmark test
        set beside the training data), for the caller to report.

    Raises:
        ValueError: ``new_root`` is empty, or the config's dataloaders have
            no dataset with a ``data_root`` / ``src_root``.
    """
    if not isinstance(new_root, str) or not new_root.strip():
        raise ValueError(f'--data-root must be a folder, got {new_root!r}')
    roots = dataset_roots(cfg)
    if not roots:
        raise ValueError(
            'the config\'s dataloaders have no dataset with a data_root or '
            'src_root to point at --data-root; set the paths with '
            '--cfg-options instead')
    old_root = cfg.get('data_root')
    if not isinstance(old_root, str) or all(
            _relative(d[k], old_root) is None for d, k in roots):
        # none declared, or a stale one inherited from a base config that
        # none of the datasets uses: the folder they have in common
        paths = [_norm(d[k]) for d, k in roots]
        absolute = {p.startswith('/') for p in paths}
        old_root = osp.commonpath(paths) if len(absolute) == 1 else '.'
        old_root = old_root or '.'
    new_root = new_root.rstrip('/\\') or new_root
    left = []
    for dataset, key in roots:
        rel = _relative(dataset[key], old_root)
        if rel is None:
            left.append(dataset[key])
        else:
            dataset[key] = posixpath.join(new_root, rel) if rel else new_root
            metainfo = dataset.get('metainfo')
            if isinstance(metainfo, MutableMapping) and metainfo.get(
                    'dataset_name') is not None:
                metainfo['dataset_name'] = folder_dataset_name(dataset[key])
    cfg['data_root'] = new_root
    return left
