# Copyright (c) invtoolbox contributors. All rights reserved.
"""Restoration grids (GT | LR | restored | error) and the visualizer that logs them."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmengine.visualization import Visualizer

from ..errors import ShapeError
from ..registry import VISUALIZERS

__all__ = [
    'make_restoration_grid', 'pick_restoration_images', 'RestorationVisualizer'
]


def _to_chw(img: Any, name: str) -> torch.Tensor:
    """An image as a float32 CPU tensor ``(3, H, W)`` (values not clamped).

    Takes a tensor ``(C, H, W)`` / ``(1, C, H, W)`` (float in [0, 1] or
    uint8) or a numpy ``(H, W[, C])`` image (uint8, or float in [0, 1]);
    one channel is repeated to three.
    """
    if isinstance(img, np.ndarray):
        array = img[:, :, None] if img.ndim == 2 else img
        if array.ndim != 3:
            raise ShapeError(f'{name}: expected an (H, W, C) image, got shape '
                             f'{img.shape}')
        img = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    if not isinstance(img, torch.Tensor):
        raise TypeError(f'{name}: expected a tensor or a numpy image, got '
                        f'{type(img).__name__}')
    tensor = img.detach()
    if tensor.dim() == 4 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.dim() == 2:
        tensor = tensor[None]
    if tensor.dim() != 3 or tensor.shape[0] not in (1, 3):
        raise ShapeError(f'{name}: expected a (C, H, W) image with 1 or 3 '
                         f'channels, got shape {tuple(img.shape)}')
    tensor = tensor.to('cpu')
    tensor = tensor.float().div(255.) if tensor.dtype == torch.uint8 else \
        tensor.float()
    return tensor.expand(3, -1, -1) if tensor.shape[0] == 1 else tensor


def make_restoration_grid(gt: Any,
                          restored: Any,
                          lr: Optional[Any] = None,
                          error_scale: float = 10.,
                          padding: int = 2,
                          pad_value: float = 1.) -> np.ndarray:
    """Side-by-side panels ``GT | LR | restored | error`` as one RGB image.

    - GT and restored are shown as they are (clamped to [0, 1]);
    - the LR image is upsampled to the GT size by nearest-neighbour
      interpolation, so its pixels stay visible (left out when ``lr`` is
      None);
    - the error map is ``error_scale * |restored - GT|`` averaged over the
      channels, clamped to [0, 1], in grey (black = exact).

    Args:
        gt: ground truth, tensor ``(C, H, W)`` / ``(1, C, H, W)`` (float in
            [0, 1] or uint8) or numpy ``(H, W[, C])``; 1 or 3 channels.
        restored: the restoration, same size as ``gt``.
        lr: the low-resolution image (any size), or None.
        error_scale (float): gain of the error map. Default: 10.
        padding (int): pixels of ``pad_value`` between panels. Default: 2.
        pad_value (float): separator brightness in [0, 1]. Default: 1
            (white).

    Returns:
        np.ndarray: uint8 RGB ``(H, n * W + (n - 1) * padding, 3)`` with
        ``n = 4`` panels (3 without LR).

    Raises:
        ShapeError: the GT and the restoration differ in size, or an image
            is not ``(C, H, W)`` with 1 or 3 channels.
    """
    gt_t = _to_chw(gt, 'make_restoration_grid: gt')
    restored_t = _to_chw(restored, 'make_restoration_grid: restored')
    if gt_t.shape != restored_t.shape:
        raise ShapeError(
            f'make_restoration_grid: restored image {tuple(restored_t.shape)}'
            f' and GT {tuple(gt_t.shape)} differ in size; both must be '
            '(C, H, W) of the same size')
    height, width = gt_t.shape[-2:]
    panels = [gt_t.clamp(0, 1)]
    if lr is not None:
        lr_t = _to_chw(lr, 'make_restoration_grid: lr')
        panels.append(
            F.interpolate(lr_t[None], size=(height, width),
                          mode='nearest')[0].clamp(0, 1))
    panels.append(restored_t.clamp(0, 1))
    error = (restored_t - gt_t).abs().mean(dim=0, keepdim=True)
    panels.append((error * error_scale).clamp(0, 1).expand(3, -1, -1))
    if padding > 0:
        separator = torch.full((3, height, int(padding)), float(pad_value))
        spaced = []
        for panel in panels:
            spaced += [panel, separator]
        panels = spaced[:-1]
    grid = torch.cat(panels, dim=2)
    return np.ascontiguousarray(
        (grid * 255.).round().clamp(0, 255).byte().permute(1, 2, 0).numpy())


def _field(sample: Any, key: str) -> Any:
    """``sample.key`` for a DataSample, ``sample[key]`` for a dict, or None."""
    if isinstance(sample, dict):
        return sample.get(key)
    if hasattr(sample, 'get'):
        return sample.get(key, None)
    return getattr(sample, key, None)


def pick_restoration_images(
        sample: Any,
        gt_key: str = 'gt_img',
        pred_key: str = 'pred_img',
        lr_keys: Sequence[str] = ('pred_lr', 'lr_img'),
        fallback: Any = None) -> Tuple[Any, Any, Any]:
    """The ``(gt, restored, lr)`` images of a data sample (None when absent).

    ``lr`` is the first of ``lr_keys`` present: the LR image the model made
    (``pred_lr``) before the bicubic reference (``lr_img``). Fields missing
    from ``sample`` are looked up in ``fallback`` (e.g. the input data
    sample of the batch, which holds ``gt_img`` even when the model's
    output does not).
    """
    sources = [s for s in (sample, fallback) if s is not None]

    def first(keys):
        for key in keys:
            for source in sources:
                value = _field(source, key)
                if value is not None:
                    return value
        return None

    return first([gt_key]), first([pred_key]), first(lr_keys)


@VISUALIZERS.register_module()
class RestorationVisualizer(Visualizer):
    """mmengine ``Visualizer`` that logs restoration grids of data samples.

    ``add_datasample`` draws :func:`make_restoration_grid` from a data sample
    (``gt_img``, ``pred_img`` and ``pred_lr`` / ``lr_img``) and sends it to
    every vis backend (``LocalVisBackend`` writes
    ``<save_dir>/vis_data/vis_image/<name>_<step>.png``). Everything else is
    mmengine's ``Visualizer``.

    Args:
        name (str): instance name. Default: ``'visualizer'``.
        vis_backends (list[dict], optional): backend configs.
        save_dir (str, optional): where backends write.
        gt_key, pred_key (str): data-sample fields of the GT and the
            restoration. Default: ``'gt_img'``, ``'pred_img'``.
        lr_keys (Sequence[str]): candidate fields of the LR panel, first
            present wins. Default: ``('pred_lr', 'lr_img')``.
        error_scale (float): gain of the error map. Default: 10.
        **kwargs: other ``Visualizer`` arguments.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 vis_backends: Optional[list] = None,
                 save_dir: Optional[str] = None,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 lr_keys: Sequence[str] = ('pred_lr', 'lr_img'),
                 error_scale: float = 10.,
                 **kwargs) -> None:
        # vis backends are built through mmengine's root registry: give it
        # invtoolbox's scope when none is set (e.g. outside a Runner)
        scope = None if DefaultScope.get_current_instance() else 'invtoolbox'
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(
                name=name,
                vis_backends=vis_backends,
                save_dir=save_dir,
                **kwargs)
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.lr_keys = tuple(lr_keys)
        self.error_scale = float(error_scale)

    def add_datasample(self,
                       name: str,
                       data_sample: Any,
                       step: int = 0,
                       out_file: Optional[str] = None) -> np.ndarray:
        """Draw the grid of one data sample and log it.

        Args:
            name (str): image name (file name stem for local backends).
            data_sample (DataSample | dict): holds the GT and the
                restoration (and optionally an LR image).
            step (int): global step. Default: 0.
            out_file (str, optional): also write the grid there as PNG.

        Returns:
            np.ndarray: the grid, uint8 RGB ``(H, W_total, 3)``.

        Raises:
            ValueError: the sample has no GT or no restoration.
        """
        gt, restored, lr = pick_restoration_images(data_sample, self.gt_key,
                                                   self.pred_key,
                                                   self.lr_keys)
        if gt is None or restored is None:
            missing = self.gt_key if gt is None else self.pred_key
            raise ValueError(
                f'RestorationVisualizer: data sample {name!r} has no '
                f'{missing!r}; set gt_key / pred_key to the fields that hold '
                'the images')
        grid = make_restoration_grid(
            gt, restored, lr, error_scale=self.error_scale)
        self.add_image(name, grid, step=step)
        if out_file is not None:
            mmcv.imwrite(grid[..., ::-1], out_file)
        return grid


def make_novel_view_grid(reference: Any,
                         embedding: Any,
                         gt_views: Optional[Any] = None,
                         pred_views: Optional[Any] = None,
                         num_views: int = 3,
                         error_scale: float = 10.,
                         padding: int = 2,
                         pad_value: float = 1.) -> np.ndarray:
    """The picture of one novel-view sample, three rows of ``num_views``
    panels:

    1. the reference, the embedding (as decoded from its JPEG), and
       ``error_scale * |embedding - reference|`` (grey);
    2. views rendered from the ground-truth MPI;
    3. the same views rendered from the MPI decoded from the JPEG.

    Rows 2 and 3 show ``num_views`` of the ``(V, 3, H, W)`` views, evenly
    spread over them (first and last included); they are left out when the
    views are None.

    Returns:
        np.ndarray: uint8 RGB image.
    """
    ref = _to_chw(reference, 'make_novel_view_grid: reference')
    emb = _to_chw(embedding, 'make_novel_view_grid: embedding')
    if ref.shape != emb.shape:
        raise ShapeError(
            f'make_novel_view_grid: embedding {tuple(emb.shape)} and '
            f'reference {tuple(ref.shape)} differ in size')
    error = ((emb - ref).abs().mean(0, keepdim=True) * error_scale).clamp(
        0, 1).expand(3, -1, -1)
    rows = [[ref.clamp(0, 1), emb.clamp(0, 1), error]]
    if gt_views is not None and pred_views is not None:
        count = min(int(num_views), len(gt_views))
        last = len(gt_views) - 1
        picks = sorted({round(i * last / max(count - 1, 1))
                        for i in range(count)})
        for views in (gt_views, pred_views):
            rows.append([
                _to_chw(views[i], 'make_novel_view_grid: view').clamp(0, 1)
                for i in picks
            ])
    height, width = ref.shape[-2:]
    columns = max(len(r) for r in rows)
    blank = torch.full((3, height, width), float(pad_value))
    lines = []
    for row in rows:
        row = row + [blank] * (columns - len(row))
        parts = []
        for panel in row:
            parts += [panel,
                      torch.full((3, height, padding), float(pad_value))]
        lines.append(torch.cat(parts[:-1] if padding else row, dim=2))
    out = []
    for line in lines:
        out += [line, torch.full((3, padding, line.shape[-1]),
                                 float(pad_value))]
    grid = torch.cat(out[:-1] if padding else lines, dim=1)
    return np.ascontiguousarray(
        (grid * 255.).round().clamp(0, 255).byte().permute(1, 2, 0).numpy())
