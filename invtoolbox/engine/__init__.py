# Copyright (c) invtoolbox contributors. All rights reserved.
from . import hooks  # noqa: F401  (registers the hooks)
from . import optimizers  # noqa: F401  (registers the constructors)
from . import runner  # noqa: F401  (registers the loops)
from .hooks import VisualizationHook
from .optimizers import MultiOptimWrapperConstructor
from .runner import (CodecSweepTestLoop, DataloaderChain, MultiTestLoop,
                     MultiValLoop, format_metric_table)

__all__ = [
    'VisualizationHook', 'MultiValLoop', 'MultiTestLoop', 'DataloaderChain',
    'format_metric_table', 'MultiOptimWrapperConstructor',
    'CodecSweepTestLoop'
]
