# Copyright (c) invtoolbox contributors. All rights reserved.
"""ViewPSNR / ViewSSIM average one value per rendered view."""
import pytest
import torch

from invtoolbox.evaluation.functional import psnr, ssim
from invtoolbox.evaluation.metrics import ViewPSNR, ViewSSIM


def views(seed, noise):
    gen = torch.Generator().manual_seed(seed)
    gt = torch.rand(4, 3, 16, 16, generator=gen)
    # a different error per view: the mean of PSNRs is not the PSNR of
    # the mean squared error
    scale = torch.tensor(noise)[:, None, None, None]
    pred = (gt + scale * torch.randn(gt.shape, generator=gen)).clamp(0, 1)
    return gt, pred


def test_view_psnr_is_the_mean_of_the_per_view_values():
    samples = []
    expected = []
    for seed in range(2):
        gt, pred = views(seed, [0.01, 0.05, 0.1, 0.2])
        samples.append(dict(gt_views=gt, pred_views=pred))
        expected.append(sum(psnr(g, p) for g, p in zip(gt, pred)) / 4)
    metric = ViewPSNR(prefix='views')
    metric.process(None, samples)
    result = metric.compute_metrics(metric.results)
    assert result['view_PSNR'] == pytest.approx(sum(expected) / 2)
    # not the PSNR of the pooled squared error of the views
    pooled = []
    for s in samples:
        mse = torch.mean((torch.round(s['gt_views'] * 255) -
                          torch.round(s['pred_views'] * 255))**2)
        pooled.append(10 * torch.log10(255**2 / mse).item())
    assert abs(result['view_PSNR'] - sum(pooled) / 2) > 0.5


def test_view_ssim_and_other_keys():
    gt, pred = views(3, [0.02, 0.02, 0.3, 0.3])
    metric = ViewSSIM(pred_key='baseline_views')
    metric.process(None, [dict(gt_views=gt, baseline_views=pred)])
    value = metric.compute_metrics(metric.results)['view_SSIM']
    assert value == pytest.approx(
        sum(ssim(g, p) for g, p in zip(gt, pred)) / 4)


def test_a_single_image_is_refused_in_one_line():
    gt = torch.rand(3, 16, 16)
    metric = ViewPSNR()
    with pytest.raises(ValueError, match=r'ViewPSNR: expected the views as '
                       r'a \(V, C, H, W\) tensor, got \(3, 16, 16\)'):
        metric.process(None, [dict(gt_views=gt, pred_views=gt)])
