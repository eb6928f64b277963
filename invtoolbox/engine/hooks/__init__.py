# Copyright (c) invtoolbox contributors. All rights reserved.
"""Hooks registered in ``invtoolbox.registry.HOOKS``."""
from .visualization_hook import VisualizationHook

__all__ = ['VisualizationHook']
