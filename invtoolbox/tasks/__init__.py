# Copyright (c) invtoolbox contributors. All rights reserved.
"""Reversible-image-conversion tasks (the IICNet plugin point, DESIGN.md 6).

Register a new task with ``@TASKS.register_module()`` on a subclass of
:class:`BaseRICTask`; see ``docs/ric_tasks.md``.
"""
from .base_task import BaseRICTask

__all__ = ['BaseRICTask']
