# Copyright (c) invtoolbox contributors. All rights reserved.
"""Reversible-image-conversion tasks (the IICNet plugin point, DESIGN.md 6).

Register a new task with ``@TASKS.register_module()`` on a subclass of
:class:`BaseRICTask`; see ``docs/ric_tasks.md``. Build one from a config
with :func:`build_task`.
"""
from .base_task import BaseRICTask
from .builder import build_task
from .multi_image_tasks import (BinocularMononizing, CompositionDecomposition,
                                DualViewEmbedding, ImageHiding,
                                VideoEmbedding, quantize_8bit)
from .single_image_tasks import GrayscaleEmbedding, ImageRescaling, rgb_to_grey

__all__ = [
    'BaseRICTask', 'build_task', 'VideoEmbedding', 'BinocularMononizing',
    'DualViewEmbedding', 'CompositionDecomposition', 'ImageHiding',
    'GrayscaleEmbedding', 'ImageRescaling', 'rgb_to_grey', 'quantize_8bit'
]
