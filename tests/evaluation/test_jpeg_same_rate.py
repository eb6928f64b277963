# Copyright (c) invtoolbox contributors. All rights reserved.
"""JPEGSameRateBaseline: the largest JPEG quality that fits the model's
bytes, evaluated like the model."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from invtoolbox.evaluation.metrics import JPEGSameRateBaseline, jpeg_at_rate
from tests.helpers import REPO_ROOT


def crop():
    return np.asarray(Image.open(REPO_ROOT / 'demo' / 'data' / 'val' /
                                 'kodim03_crop.png').convert('RGB'))


def jpeg_size(img, quality):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='JPEG', quality=quality,
                              subsampling=2, optimize=False)
    return len(buf.getvalue())


@pytest.mark.parametrize('budget', [3000, 8000])
def test_the_largest_quality_that_fits(budget):
    img = crop()
    quality, size, decoded = jpeg_at_rate(img, budget)
    assert size == jpeg_size(img, quality) <= budget
    assert jpeg_size(img, quality + 1) > budget
    assert decoded.shape == img.shape and decoded.dtype == np.uint8


def test_metric_reports_jpeg_beside_the_model():
    img = crop()
    metric = JPEGSameRateBaseline(subsampling=2)
    gt = torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255
    metric.process({}, [dict(num_bytes=[5000, 120], gt_img=gt)])
    out = metric.compute_metrics(metric.results)
    assert out['JPEG_bpp'] <= 8 * 5120 / (256 * 256)
    assert 15 < out['JPEG_PSNR'] < 50
    assert 0 < out['JPEG_MS-SSIM'] <= 1


def test_unknown_subsampling_is_one_line():
    metric = JPEGSameRateBaseline(subsampling=1)
    gt = torch.zeros(3, 32, 32)
    with pytest.raises(ValueError, match='subsampling must be 2'):
        metric.process({}, [dict(num_bytes=100, gt_img=gt)])
