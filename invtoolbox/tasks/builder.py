# Copyright (c) invtoolbox contributors. All rights reserved.
"""Building a task from its config, with a helpful error for unknown names."""
from __future__ import annotations

from typing import Union

from ..registry import TASKS
from .base_task import BaseRICTask

__all__ = ['build_task']


def build_task(cfg: Union[dict, BaseRICTask]) -> BaseRICTask:
    """Build a reversible-image-conversion task from ``TASKS``.

    Args:
        cfg (dict | BaseRICTask): ``dict(type='VideoEmbedding',
            num_frames=5)``; a task object is returned as it is.
            ``type`` may be a registered name (``'mypkg.MyTask'`` for
            another scope) or a :class:`BaseRICTask` subclass.

    Returns:
        BaseRICTask: the task.

    Raises:
        ValueError: ``cfg`` has no ``type``, or ``type`` is not registered
            (the message lists the registered tasks and how plugins
            register theirs), or the built object is not a task.
    """
    if isinstance(cfg, BaseRICTask):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(
            f"build_task: expected a task config dict with a 'type' (e.g. "
            f"dict(type='VideoEmbedding', num_frames=5)), got {cfg!r}.")
    cfg = dict(cfg)
    task_type = cfg['type']
    if isinstance(task_type, str) and TASKS.get(task_type) is None:
        TASKS.import_from_location()
        names = ', '.join(sorted(TASKS.module_dict))
        raise ValueError(
            f'build_task: unknown task type {task_type!r}; registered tasks: '
            f'{names}. A task of another package must be imported first: '
            f"add custom_imports=dict(imports=['your_package']) to the config "
            f"or declare the package in the 'invtoolbox.plugins' entry-point "
            f'group.')
    if isinstance(task_type, type) and not issubclass(task_type, BaseRICTask):
        raise ValueError(
            f'build_task: type {task_type.__name__} is not a BaseRICTask '
            f'subclass.')
    task = TASKS.build(cfg)
    if not isinstance(task, BaseRICTask):
        raise ValueError(
            f'build_task: {task_type!r} built a {type(task).__name__}, not a '
            f'BaseRICTask; register tasks as subclasses of '
            f'invtoolbox.tasks.BaseRICTask.')
    return task
