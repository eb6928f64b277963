# Copyright (c) invtoolbox contributors. All rights reserved.
"""Visualisation: restoration grids, the visualizer and vis backends."""
from .vis_backend import OptionalTensorboardVisBackend
from .visualizer import (RestorationVisualizer, make_novel_view_grid,
                         make_restoration_grid, pick_restoration_images)

__all__ = [
    'RestorationVisualizer', 'make_restoration_grid',
    'pick_restoration_images', 'OptionalTensorboardVisBackend',
    'make_novel_view_grid'
]
