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


def test_stack_keeps_dtypes_and_layouts():
    codes = [torch.randint(0, 65536, (4, 5, 6), dtype=torch.int32)
             for _ in range(2)]
    batch = DataSample.stack([DataSample(gt_img=c) for c in codes], 'gt_img')
    assert batch.dtype == torch.int32 and batch.shape == (2, 4, 5, 6)
    # MPIs: 32 planes of RGBA per sample -> (N, 32, 4, H, W)
    mpis = [DataSample(mpi=torch.rand(32, 4, 3, 3)) for _ in range(3)]
    assert DataSample.stack(mpis, 'mpi').shape == (3, 32, 4, 3, 3)


def test_stack_different_dtypes_is_an_error():
    samples = [DataSample(gt_img=torch.zeros(3, 4, 4, dtype=torch.uint8)),
               DataSample(gt_img=torch.zeros(3, 4, 4))]
    with pytest.raises(ValueError) as err:
        DataSample.stack(samples, 'gt_img')
    message = str(err.value)
    assert "different dtypes ['torch.float32', 'torch.uint8']" in message
    assert '\n' not in message
    with pytest.raises(ValueError, match='sample 0 holds a int, not a tensor'):
        DataSample.stack([DataSample(gt_img=3)], 'gt_img')


def test_bit_depth_and_value_range_metainfo():
    sample = DataSample(
        gt_img=torch.zeros(3, 2, 2, dtype=torch.int32),
        lr_img=torch.zeros(3, 1, 1),
        metainfo=dict(bit_depths=dict(inputs=16, gt_img=16),
                      value_ranges=dict(lr_img=(-1.0, 1.0))))
    assert sample.get_bit_depth('gt_img') == 16
    assert sample.get_bit_depth('pred_img') is None
    assert sample.get_value_range('gt_img') == (0, 65535)  # integer codes
    assert sample.get_value_range('lr_img') == (-1.0, 1.0)  # recorded
    assert sample.get_value_range('pred_img') == (0.0, 1.0)  # the default
    sample.gt_img = sample.gt_img.float() / 65535  # after the preprocessor
    assert sample.get_value_range('gt_img') == (0.0, 1.0)
    assert sample.get_bit_depth('gt_img') == 16  # still known, for saving
