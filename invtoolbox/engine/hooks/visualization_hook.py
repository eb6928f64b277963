# Copyright (c) invtoolbox contributors. All rights reserved.
"""Restoration grids written during training and testing."""
from __future__ import annotations

import logging
import os.path as osp
import re
from typing import Any, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner.base_loop import BaseLoop

from ...registry import HOOKS
from ...visualization import make_restoration_grid, pick_restoration_images


def _safe_name(name: str) -> str:
    """A file-name-safe version of a sample key (``'a/b c'`` -> ``'a_b_c'``)."""
    return re.sub(r'[^\w.+-]+', '_', str(name)).strip('_') or 'sample'


@HOOKS.register_module()
class VisualizationHook(Hook):
    """Write ``GT | LR | restored | 10x error`` grids of samples as PNG.

    - **Training**: every ``interval`` iterations the model runs in predict
      mode on the current training batch (``model.val_step``: data
      preprocessor + ``mode='predict'``), in eval mode and under
      ``torch.no_grad()``, then goes back to train mode. The global torch
      RNG state (CPU and current CUDA device) is restored afterwards, so a
      model that samples latents in predict mode does not change the
      training run. Only the main process draws.
    - **Test** (and validation with ``visualize_val=True``): after every
      iteration, from the model's outputs.

    One grid per sample (:func:`~invtoolbox.visualization.make_restoration_grid`:
    GT, the LR image upsampled nearest to the GT size, the restoration, and
    ``error_scale * |restored - GT|``) is written to
    ``{out_dir}/{key}_{iter}.png`` (``out_dir`` defaults to
    ``{work_dir}/vis``; at test / validation time a sub-folder per dataset
    when the loop names its datasets, e.g. ``vis/Set5/baby_0.png``) and sent
    through the runner's visualizer (``add_image``) to its vis backends
    (``LocalVisBackend``: ``<log_dir>/vis_data/vis_image/``; TensorBoard).
    ``key`` is the sample's ``metainfo['key']`` (file stem); ``iter`` the
    number of finished training iterations (0 in a test-only run).

    The images are read from each output data sample: ``gt_key``,
    ``pred_key``, and the first of ``lr_keys`` present (the LR the model
    made, else the bicubic reference); a field missing from an output is
    taken from the batch's input data sample. A sample without a
    restoration is skipped with a warning (once).

    Args:
        interval (int): training iterations between two visualisations.
            Default: 5000.
        visualize_train (bool): draw during training. Default: True.
        visualize_val (bool): draw after each validation iteration.
            Default: False.
        visualize_test (bool): draw after each test iteration. Default: True.
        out_dir (str, optional): folder of the PNG files. Default:
            ``{work_dir}/vis``.
        max_samples_per_batch (int, optional): draw at most this many samples
            of each batch. Default: None (all).
        error_scale (float): gain of the error map. Default: 10.
        gt_key, pred_key (str): data-sample fields of the GT and the
            restoration. Default: ``'gt_img'``, ``'pred_img'``.
        lr_keys (Sequence[str]): candidate fields of the LR panel. Default:
            ``('pred_lr', 'lr_img')``.
    """
    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 5000,
                 visualize_train: bool = True,
                 visualize_val: bool = False,
                 visualize_test: bool = True,
                 out_dir: Optional[str] = None,
                 max_samples_per_batch: Optional[int] = None,
                 error_scale: float = 10.,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 lr_keys: Sequence[str] = ('pred_lr', 'lr_img')) -> None:
        if isinstance(interval, bool) or not isinstance(
                interval, int) or interval < 1:
            raise ValueError('VisualizationHook: interval must be a positive '
                             f'integer, got {interval!r}')
        if max_samples_per_batch is not None and max_samples_per_batch < 1:
            raise ValueError('VisualizationHook: max_samples_per_batch must '
                             f'be positive or None, got '
                             f'{max_samples_per_batch!r}')
        self.interval = interval
        self.visualize_train = visualize_train
        self.visualize_val = visualize_val
        self.visualize_test = visualize_test
        self.out_dir = out_dir
        self.max_samples_per_batch = max_samples_per_batch
        self.error_scale = float(error_scale)
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.lr_keys = tuple(lr_keys)
        self._warned = False

    # -- hook points -------------------------------------------------------
    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Any = None) -> None:
        if (not self.visualize_train or data_batch is None
                or not self.every_n_train_iters(runner, self.interval)
                or not is_main_process()):
            return
        samples = self._predict(runner.model, data_batch)
        self._draw(runner, samples, data_batch, step=runner.iter + 1)

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: Any = None,
                       outputs: Any = None) -> None:
        if self.visualize_val and outputs:
            self._draw(
                runner,
                outputs,
                data_batch,
                step=self._trained_iters(runner),
                subdir=self._dataset_name(runner, 'val'))

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Any = None,
                        outputs: Any = None) -> None:
        if self.visualize_test and outputs:
            self._draw(
                runner,
                outputs,
                data_batch,
                step=self._trained_iters(runner),
                subdir=self._dataset_name(runner, 'test'))

    # -- helpers -----------------------------------------------------------
    @staticmethod
    def _predict(model: torch.nn.Module, data_batch: Any) -> list:
        """Predict on a training batch without touching training state."""
        devices = [torch.cuda.current_device()
                   ] if torch.cuda.is_available() else []
        was_training = model.training
        with torch.random.fork_rng(devices=devices):
            model.eval()
            try:
                with torch.no_grad():
                    return list(model.val_step(data_batch))
            finally:
                model.train(was_training)

    @staticmethod
    def _trained_iters(runner) -> int:
        """Finished training iterations, without building a train loop."""
        if isinstance(runner._train_loop, BaseLoop):
            return runner.iter
        return 0

    @staticmethod
    def _dataset_name(runner, mode: str) -> Optional[str]:
        loop = getattr(runner, f'_{mode}_loop', None)
        name = getattr(loop, 'current_dataset_name', None)
        return None if name is None else _safe_name(name)

    def _warn_once(self, message: str) -> None:
        if not self._warned:
            print_log(message, logger='current', level=logging.WARNING)
            self._warned = True

    def _draw(self,
              runner,
              samples: Sequence[Any],
              data_batch: Any,
              step: int,
              subdir: Optional[str] = None) -> None:
        inputs = data_batch.get('data_samples') if isinstance(
            data_batch, dict) else None
        out_dir = self.out_dir or osp.join(runner.work_dir, 'vis')
        if subdir:
            out_dir = osp.join(out_dir, subdir)
        limit = self.max_samples_per_batch or len(samples)
        used = set()
        for index, sample in enumerate(list(samples)[:limit]):
            fallback = inputs[index] if inputs is not None and index < len(
                inputs) else None
            key = self._key(sample, fallback, index)
            grid = self.make_grid(sample, fallback, key)
            if grid is None:
                continue
            name = _safe_name(key)
            if name in used:  # the same image twice in a training batch
                name = f'{name}-{index}'
            used.add(name)
            mmcv.imwrite(grid[..., ::-1],
                         osp.join(out_dir, f'{name}_{step}.png'))
            tag = f'{subdir}_{name}' if subdir else name
            runner.visualizer.add_image(tag, grid, step=step)

    def make_grid(self, sample: Any, fallback: Any,
                  key: str) -> Optional[np.ndarray]:
        """The uint8 RGB picture of one output sample (``fallback``: the
        batch's input sample), or None (after a one-time warning) when the
        sample lacks what the picture needs. Subclasses draw other
        pictures by overriding this."""
        gt, restored, lr = pick_restoration_images(
            sample, self.gt_key, self.pred_key, self.lr_keys, fallback)
        name = type(self).__name__
        if gt is None or restored is None:
            missing = self.gt_key if gt is None else self.pred_key
            self._warn_once(
                f'{name}: sample {key!r} has no {missing!r}; skipping it '
                "(set gt_key / pred_key to the fields of the model's "
                'outputs)')
            return None
        try:
            return make_restoration_grid(
                gt, restored, lr, error_scale=self.error_scale)
        except ValueError as err:  # e.g. restoration of another size
            self._warn_once(f'{name}: sample {key!r} skipped: {err}')
            return None

    @staticmethod
    def _key(sample: Any, fallback: Any, index: int) -> str:
        for source in (sample, fallback):
            metainfo = getattr(source, 'metainfo', None)
            if metainfo is None and isinstance(source, dict):
                metainfo = source
            if metainfo:
                if metainfo.get('key') is not None:
                    return str(metainfo['key'])
                if metainfo.get('img_path'):
                    return osp.splitext(osp.basename(
                        metainfo['img_path']))[0]
        return f'sample{index}'
