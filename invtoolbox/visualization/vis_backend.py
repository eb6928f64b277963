# Copyright (c) invtoolbox contributors. All rights reserved.
"""A TensorBoard backend that is skipped when TensorBoard is not installed."""
from __future__ import annotations

import logging

from mmengine.logging import print_log
from mmengine.visualization import TensorboardVisBackend

from ..registry import VISBACKENDS

__all__ = ['OptionalTensorboardVisBackend']


@VISBACKENDS.register_module()
class OptionalTensorboardVisBackend(TensorboardVisBackend):
    """mmengine's ``TensorboardVisBackend`` when TensorBoard is installed, else nothing.

    The base runtime config lists it next to ``LocalVisBackend`` so that
    scalars and restoration grids reach TensorBoard as soon as it is
    installed (``pip install "invtoolbox[tb]"``), while a plain install
    keeps working: without TensorBoard every call is a no-op and one
    ``INFO`` line says so.

    Args:
        save_dir (str): where the event files go.
    """

    def __init__(self, save_dir: str) -> None:
        super().__init__(save_dir)
        self.available = True

    def _init_env(self) -> None:
        try:
            super()._init_env()
        except ImportError:
            self.available = False
            print_log(
                'TensorBoard is not installed: TensorBoard logging is off '
                '(pip install "invtoolbox[tb]" to turn it on).',
                logger='current',
                level=logging.INFO)

    def add_config(self, config, **kwargs) -> None:
        self._ensure_env()
        if self.available:
            super().add_config(config, **kwargs)

    def add_image(self, name, image, step=0, **kwargs) -> None:
        self._ensure_env()
        if self.available:
            super().add_image(name, image, step, **kwargs)

    def add_scalar(self, name, value, step=0, **kwargs) -> None:
        self._ensure_env()
        if self.available:
            super().add_scalar(name, value, step, **kwargs)

    def add_scalars(self, scalar_dict, step=0, file_path=None,
                    **kwargs) -> None:
        self._ensure_env()
        if self.available:
            super().add_scalars(scalar_dict, step, file_path, **kwargs)

    def _ensure_env(self) -> None:
        if not getattr(self, '_env_initialized', False):
            self._init_env()
            self._env_initialized = True

    def close(self) -> None:
        if self.available and hasattr(self, '_tensorboard'):
            self._tensorboard.close()
