# Copyright (c) invtoolbox contributors. All rights reserved.
"""DataSample: image fields, meta information, batching."""
import pytest
import torch

from invtoolbox.evaluation.metrics import PSNR
from invtoolbox.structures import DataSample


def test_fields_and_metainfo():
    gt = torch.rand(3, 8, 6)
    sample = DataSample(
        gt_img=gt,
        metainfo=dict(key='baby', img_path='x/baby.png', ori_shape=(8, 6),
                      scale=2))
    sample.pred_img = gt * 0.5
    assert sample.gt_img is gt
    assert torch.equal(sample.pred_img, gt * 0.5)
    assert 'pred_img' in sample and 'lr_img' not in sample
    assert sample.metainfo == dict(
        key='baby', img_path='x/baby.png', ori_shape=(8, 6), scale=2)
    assert sample.key == 'baby' and sample.scale == 2
    # meta information is not a data field
    assert set(sample.keys()) == {'gt_img', 'pred_img'}


def test_to_dict_is_what_the_metrics_read():
    gt = torch.rand(3, 8, 8)
    sample = DataSample(gt_img=gt, pred_img=gt.clone(),
                        metainfo=dict(key='a'))
    as_dict = sample.to_dict()
    assert torch.equal(as_dict['gt_img'], gt) and as_dict['key'] == 'a'
    metric = PSNR()
    metric.process({}, [as_dict])
    assert metric.results == [{'PSNR': float('inf')}]


def test_to_and_new_keep_meta():
    sample = DataSample(gt_img=torch.rand(3, 4, 4), metainfo=dict(key='k'))
    moved = sample.to('cpu', torch.float64)
    assert moved.key == 'k' and moved.gt_img.dtype == torch.float64
    assert sample.gt_img.dtype == torch.float32  # `to` returns a new sample
    other = sample.new(pred_img=torch.zeros(3, 4, 4))
    assert other.key == 'k' and set(other.keys()) == {'pred_img'}


def test_stack_builds_an_nchw_batch():
    images = [torch.rand(3, 5, 7) for _ in range(3)]
    samples = [DataSample(lr_img=img) for img in images]
    batch = DataSample.stack(samples, 'lr_img')
    assert batch.shape == (3, 3, 5, 7)
    for i, img in enumerate(images):
        assert torch.equal(batch[i], img)


def test_stack_missing_field_names_the_samples():
    samples = [DataSample(gt_img=torch.rand(3, 4, 4)), DataSample()]
    with pytest.raises(ValueError) as err:
        DataSample.stack(samples, 'gt_img')
    message = str(err.value)
    assert "'gt_img'" in message and '[1]' in message
    assert 'PackInputs' in message and '\n' not in message


def test_stack_different_sizes_names_the_shapes():
    samples = [DataSample(gt_img=torch.rand(3, 4, 4)),
               DataSample(gt_img=torch.rand(3, 4, 6))]
    with pytest.raises(ValueError) as err:
        DataSample.stack(samples, 'gt_img')
    message = str(err.value)
    assert '(3, 4, 4)' in message and '(3, 4, 6)' in message
    assert 'batch_size=1' in message
