# Copyright (c) invtoolbox contributors. All rights reserved.
"""Pictures of the novel-view JPEG model during training and testing."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...registry import HOOKS
from ...visualization import make_novel_view_grid
from ...visualization.visualizer import _field
from .visualization_hook import VisualizationHook

__all__ = ['NovelViewVisualizationHook']


@HOOKS.register_module()
class NovelViewVisualizationHook(VisualizationHook):
    """:class:`VisualizationHook` drawing :func:`make_novel_view_grid`:
    reference | embedding (decoded JPEG) | error, then ground-truth views
    and the views of the decoded MPI (``num_views`` of them), from the
    fields ``gt_img``, ``pred_img``, ``gt_views`` and ``pred_views`` of
    :class:`~invtoolbox.models.NovelViewJPEG`'s predictions.

    Args:
        num_views (int): views per row. Default: 3.
        **kwargs: the :class:`VisualizationHook` arguments (``interval``,
            ``visualize_train``, ``visualize_val``, ``visualize_test``,
            ``out_dir``, ``max_samples_per_batch``, ``error_scale``,
            ``gt_key``, ``pred_key``).
    """

    def __init__(self, num_views: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        if int(num_views) < 1:
            raise ValueError('NovelViewVisualizationHook: num_views must be '
                             f'positive, got {num_views!r}')
        self.num_views = int(num_views)

    def make_grid(self, sample: Any, fallback: Any,
                  key: str) -> Optional[np.ndarray]:
        ref = _field(sample, self.gt_key)
        emb = _field(sample, self.pred_key)
        if ref is None or emb is None:
            missing = self.gt_key if ref is None else self.pred_key
            self._warn_once(f'NovelViewVisualizationHook: sample {key!r} has '
                            f'no {missing!r}; skipping it')
            return None
        try:
            return make_novel_view_grid(
                ref, emb, _field(sample, 'gt_views'),
                _field(sample, 'pred_views'), num_views=self.num_views,
                error_scale=self.error_scale)
        except ValueError as err:
            self._warn_once(f'NovelViewVisualizationHook: sample {key!r} '
                            f'skipped: {err}')
            return None
