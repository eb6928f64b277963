# Copyright (c) invtoolbox contributors. All rights reserved.
"""Loops registered in ``invtoolbox.registry.LOOPS``."""
from .codec_sweep import CodecSweepTestLoop, codec_label, format_sweep_table
from .multi_loops import (DataloaderChain, MultiTestLoop, MultiValLoop,
                          format_metric_table)

__all__ = [
    'MultiValLoop', 'MultiTestLoop', 'DataloaderChain', 'format_metric_table',
    'CodecSweepTestLoop', 'codec_label', 'format_sweep_table'
]
