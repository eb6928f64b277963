# Copyright (c) invtoolbox contributors. All rights reserved.
"""Hooks registered in ``invtoolbox.registry.HOOKS``."""
from .checkpoint_hooks import (AtomicCheckpointHook, AtomicLocalBackend,
                               CheckpointMatchHook, CheckpointWriteError)
from .entropy_tables_hook import EntropyTablesHook
from .eval_progress_hook import EvalProgressHook
from .novel_view_visualization_hook import NovelViewVisualizationHook
from .rng_state_hook import RNGStateHook
from .visualization_hook import VisualizationHook

__all__ = ['VisualizationHook', 'RNGStateHook', 'EntropyTablesHook',
           'NovelViewVisualizationHook', 'AtomicCheckpointHook',
           'CheckpointMatchHook', 'AtomicLocalBackend', 'CheckpointWriteError',
           'EvalProgressHook']
