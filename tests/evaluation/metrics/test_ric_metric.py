# Copyright (c) invtoolbox contributors. All rights reserved.
"""RICMetric: IICNet's evaluation protocol (codes/test.py)."""
import math

import numpy as np
import pytest
import torch

from invtoolbox.errors import ShapeError
from invtoolbox.evaluation.metrics import RICMetric
from invtoolbox.registry import METRICS
from invtoolbox.structures import DataSample


def official_psnr(a, b):
    """codes/utils/util.py calculate_psnr on uint8 images."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    mse = np.mean((a - b)**2)
    return 20 * math.log10(255.0 / math.sqrt(mse))


def to_uint8(t):
    """The official tensor2img: x255, clamp, round (HWC)."""
    return (t.clamp(0, 1) * 255).round().permute(1, 2, 0).numpy().astype(
        np.uint8)


def sample(k=3, seed=0, names=None, ref=1):
    gen = torch.Generator().manual_seed(seed)
    gt = torch.rand(k, 3, 16, 16, generator=gen)
    pred = (gt + 0.05 * torch.randn(gt.shape, generator=gen)).clamp(0, 1)
    out = DataSample(metainfo=dict(image_names=names or ('a', 'b', 'c')[:k],
                                   reference_index=ref))
    out.set_data(dict(gt_img=gt, pred_img=pred, ref_img=gt[ref],
                      pred_embed=(gt[ref] + 0.02).clamp(0, 1)))
    return out


def test_values_follow_the_official_protocol():
    metric = METRICS.build(dict(type='RICMetric'))
    samples = [sample(seed=0), sample(seed=1)]
    metric.process(None, [s.to_dict() for s in samples])
    result = metric.compute_metrics(metric.results)
    per_image = {n: [] for n in 'abc'}
    embed = []
    for s in samples:
        for i, n in enumerate('abc'):
            per_image[n].append(
                official_psnr(to_uint8(s.pred_img[i]), to_uint8(s.gt_img[i])))
        embed.append(official_psnr(to_uint8(s.pred_embed),
                                   to_uint8(s.ref_img)))
    for n in 'abc':
        assert result[f'{n}_PSNR'] == pytest.approx(np.mean(per_image[n]))
    assert result['embed_PSNR'] == pytest.approx(np.mean(embed))
    assert result['restored_PSNR'] == pytest.approx(
        np.mean([v for n in 'abc' for v in per_image[n]]))
    # reference_index=1 ('b') is left out of the "no ref" mean
    assert result['restored_noref_PSNR'] == pytest.approx(
        np.mean(per_image['a'] + per_image['c']))
    for key in ('embed_SSIM', 'a_SSIM', 'restored_SSIM',
                'restored_noref_SSIM'):
        assert 0 < result[key] < 1
    assert result['restored_SSIM'] == pytest.approx(
        np.mean([result['a_SSIM'], result['b_SSIM'], result['c_SSIM']]))


def test_names_and_single_image():
    metric = RICMetric(image_names=('rgb', ), reference_index=0)
    metric.process(None, [sample(k=1, ref=0)])
    result = metric.compute_metrics(metric.results)
    assert 'rgb_PSNR' in result and 'restored_PSNR' in result
    assert 'restored_noref_PSNR' not in result


def test_grayscale_embedding():
    s = sample()
    s.pred_embed = s.pred_embed[:1]
    s.ref_img = s.ref_img[:1]
    metric = RICMetric()
    metric.process(None, [s])
    assert metric.results[0]['embed_PSNR'] > 20


def test_bad_samples():
    metric = RICMetric()
    s = sample()
    del s.pred_embed
    with pytest.raises(ValueError, match="no 'pred_embed'.*embed_key"):
        metric.process(None, [s])
    s = sample()
    s.pred_img = s.pred_img[0]
    with pytest.raises(ShapeError, match=r'\(K, 3, H, W\)'):
        metric.process(None, [s])
    with pytest.raises(ValueError, match='one name per image'):
        RICMetric(image_names=('x', )).process(None, [sample()])


def test_repeat_reference_baseline_restores_every_frame_as_the_reference():
    """The baseline's "restored" frames are copies of the reference: its
    PSNR is that of each other frame against the reference (official
    8-bit PSNR), averaged over those frames, then over the samples."""
    metric = METRICS.build(dict(type='RepeatReferenceBaseline'))
    samples = [sample(seed=0, ref=1), sample(seed=1, ref=2)]
    metric.process(None, [s.to_dict() for s in samples])
    result = metric.compute_metrics(metric.results)
    expected = []
    for s in samples:
        ref = s.metainfo['reference_index']
        expected.append(np.mean([
            official_psnr(to_uint8(s.gt_img[ref]), to_uint8(s.gt_img[i]))
            for i in range(3) if i != ref
        ]))
    assert set(result) == {'Baseline_restored_noref_PSNR',
                           'Baseline_restored_noref_SSIM'}
    assert result['Baseline_restored_noref_PSNR'] == pytest.approx(
        np.mean(expected))
    assert 0 < result['Baseline_restored_noref_SSIM'] < 1
    # a clip of identical frames: the baseline restores it exactly
    still = sample(seed=2)
    still.gt_img = still.gt_img[:1].repeat(3, 1, 1, 1)
    metric.results.clear()
    metric.process(None, [still.to_dict()])
    assert metric.compute_metrics(metric.results)[
        'Baseline_restored_noref_PSNR'] == math.inf


def test_repeat_reference_baseline_needs_a_reference():
    metric = METRICS.build(
        dict(type='RepeatReferenceBaseline', reference_index=3))
    with pytest.raises(ValueError, match='reference index in'):
        metric.process(None, [sample().to_dict()])
