# Copyright (c) invtoolbox contributors. All rights reserved.
"""DataPreprocessor: stacking, uint8 -> float, data-sample fields, errors."""
import pytest
import torch

from invtoolbox.models.data_preprocessors import DataPreprocessor
from invtoolbox.registry import MODELS
from invtoolbox.structures import DataSample


def test_stacks_a_list_and_scales_uint8():
    images = [torch.randint(0, 256, (3, 6, 5), dtype=torch.uint8)
              for _ in range(2)]
    out = DataPreprocessor()(dict(inputs=images, data_samples=None))
    assert out['inputs'].shape == (2, 3, 6, 5)
    assert out['inputs'].dtype == torch.float32
    assert torch.equal(out['inputs'][1], images[1].float() / 255.)
    assert out['data_samples'] is None


def test_float_inputs_are_kept():
    images = [torch.rand(3, 4, 4) * 1.5 - 0.2 for _ in range(3)]  # unclipped
    out = DataPreprocessor()(dict(inputs=images))
    assert torch.equal(out['inputs'], torch.stack(images))


def test_tensor_inputs_and_single_image():
    batch = torch.rand(2, 3, 4, 4)
    assert torch.equal(DataPreprocessor()(dict(inputs=batch))['inputs'],
                       batch)
    one = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    out = DataPreprocessor()(dict(inputs=one))['inputs']
    assert out.shape == (1, 3, 4, 4)
    assert torch.equal(out[0], one.float() / 255.)


def test_sample_fields_are_converted_others_untouched():
    gt = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    lr = torch.rand(3, 2, 2)
    extra = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    sample = DataSample(gt_img=gt, lr_img=lr, pred_img=extra,
                        metainfo=dict(key='k'))
    out = DataPreprocessor()(dict(inputs=[gt], data_samples=[sample]))
    result = out['data_samples'][0]
    assert result.gt_img.dtype == torch.float32
    assert torch.equal(result.gt_img, gt.float() / 255.)
    assert torch.equal(result.lr_img, lr)
    assert result.pred_img.dtype == torch.uint8  # not in sample_fields
    assert result.key == 'k'
    only_lr = DataPreprocessor(sample_fields=('lr_img', ))
    out = only_lr(dict(inputs=[gt], data_samples=[DataSample(gt_img=gt)]))
    assert out['data_samples'][0].gt_img.dtype == torch.uint8


def test_different_sizes_raise_with_shapes():
    images = [torch.rand(3, 4, 4), torch.rand(3, 4, 5)]
    with pytest.raises(ValueError) as err:
        DataPreprocessor()(dict(inputs=images))
    assert '(3, 4, 4)' in str(err.value) and '(3, 4, 5)' in str(err.value)
    assert 'batch_size=1' in str(err.value)


def test_built_from_the_registry_inside_a_model():
    from mmengine.model import BaseModel

    class Tiny(BaseModel):

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return inputs

    # built through mmengine's root registry: the scope prefix finds ours
    model = Tiny(data_preprocessor=dict(type='invtoolbox.DataPreprocessor'))
    assert isinstance(model.data_preprocessor, DataPreprocessor)
    assert isinstance(MODELS.build(dict(type='DataPreprocessor')),
                      DataPreprocessor)
    image = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    out = model.val_step(dict(inputs=[image], data_samples=[DataSample()]))
    assert torch.equal(out[0], image.float() / 255.)
