# Copyright (c) invtoolbox contributors. All rights reserved.
"""The novel-view picture and its hook."""
import pytest
import torch

from invtoolbox.engine.hooks import NovelViewVisualizationHook
from invtoolbox.registry import HOOKS
from invtoolbox.structures import DataSample
from invtoolbox.visualization import make_novel_view_grid

H, W = 6, 8


def test_grid_rows_and_picked_views():
    ref = torch.zeros(3, H, W)
    emb = torch.full((3, H, W), 0.05)
    gt = torch.stack([torch.full((3, H, W), i / 12) for i in range(13)])
    pred = 1 - gt
    grid = torch.from_numpy(make_novel_view_grid(
        ref, emb, gt, pred, num_views=3, padding=1)).float() / 255
    assert grid.shape == (3 * H + 2, 3 * W + 2, 3)
    # row 1: reference | embedding | 10 x error (0.5, grey)
    assert grid[:H, :W].max() == 0
    assert grid[0, W + 1, 0] == pytest.approx(round(0.05 * 255) / 255)
    assert grid[0, 2 * W + 2, 0] == pytest.approx(round(0.5 * 255) / 255)
    # rows 2 and 3: views 0, 6 and 12 (first, middle, last)
    for col, view in enumerate((0, 6, 12)):
        x = col * (W + 1)
        assert grid[H + 1, x, 0] == pytest.approx(
            round(view / 12 * 255) / 255)
        assert grid[2 * H + 2, x, 0] == pytest.approx(
            round((1 - view / 12) * 255) / 255)
    # without views: one row
    assert make_novel_view_grid(ref, emb, padding=1).shape == (H, 3 * W + 2,
                                                               3)


def test_hook_draws_the_sample_or_warns_once():
    hook = HOOKS.build(dict(type='NovelViewVisualizationHook', num_views=2))
    assert isinstance(hook, NovelViewVisualizationHook)
    sample = DataSample(gt_img=torch.rand(3, H, W),
                        pred_img=torch.rand(3, H, W),
                        gt_views=torch.rand(5, 3, H, W),
                        pred_views=torch.rand(5, 3, H, W))
    grid = hook.make_grid(sample, None, 'scene')
    assert grid.shape == (3 * H + 4, 2 * W + 2 + W + 2, 3)
    assert hook.make_grid(DataSample(gt_img=torch.rand(3, H, W)), None,
                          'scene') is None
    with pytest.raises(ValueError, match='num_views'):
        NovelViewVisualizationHook(num_views=0)
