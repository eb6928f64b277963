# Copyright (c) invtoolbox contributors. All rights reserved.
"""The rescaling capability: a new model opts in with a few lines; the
channel (test codec) and the test path come with it."""
import pytest
import torch

from invtoolbox.models.base_models import (BaseEditModel, RescaleResult,
                                           RescalingMixin, Transmission)
from invtoolbox.models.degradations import DiffJPEG, RealJPEG
from invtoolbox.registry import MODELS
from invtoolbox.structures import DataSample
from invtoolbox.utils import imresize


class BicubicRescaler(RescalingMixin, BaseEditModel):
    """The classical baseline as a rescaling model: bicubic down, 8-bit
    rounding, bicubic up."""

    def __init__(self, scale=2, test_codec=None):
        super().__init__()
        self._scale = scale
        self.init_rescaling(test_codec)

    @property
    def scale(self):
        return self._scale

    def downscale(self, hr):
        return imresize(hr, 1 / self.scale).clamp(0, 1).mul(255).round() / 255

    def upscale(self, lr, **kwargs):
        return imresize(lr, self.scale)


def smooth_images(n=2, size=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=gen)
    return torch.nn.functional.interpolate(coarse, size=(size, size),
                                           mode='bilinear',
                                           align_corners=False)


def test_a_new_model_gets_the_test_path():
    model = BicubicRescaler()
    hr = smooth_images()
    result = model.rescale(hr)
    assert isinstance(result, RescaleResult)
    assert result.lr.shape == (2, 3, 16, 16)
    assert result.received is result.lr and result.num_bytes is None
    expected = imresize(model.downscale(hr), 2).clamp(0, 1)
    assert torch.equal(result.hr, expected)
    samples = [DataSample(lr_img=result.lr[i], metainfo=dict(key=str(i)))
               for i in range(2)]
    out = model(hr, samples, mode='predict')
    assert [o.metainfo['key'] for o in out] == ['0', '1']
    assert torch.equal(out[0].pred_img, result.hr[0])
    assert torch.equal(out[0].gt_img, hr[0])
    assert out[1].lr_img is samples[1].lr_img
    assert 'num_bytes' not in out[0]


def test_the_channel_reports_real_codec_sizes():
    model = BicubicRescaler(test_codec=dict(type='RealJPEG', quality=40))
    hr = smooth_images()
    lr = model.downscale(hr)
    sent = model.transmit(lr)
    assert isinstance(sent, Transmission)
    coded = RealJPEG(40).code(lr)
    assert torch.equal(sent.images, coded.images)
    assert sent.num_bytes == coded.num_bytes
    out = model(hr, mode='predict')
    assert [o.num_bytes for o in out] == coded.num_bytes
    # a simulator has no byte counts
    model.set_test_codec(dict(type='DiffJPEG', quality=40))
    assert isinstance(model.test_codec, DiffJPEG)
    assert model.transmit(lr).num_bytes is None


def test_using_test_codec_restores_the_previous_one():
    model = BicubicRescaler()
    with model.using_test_codec(dict(type='RealWebP', quality=50)):
        assert type(model.test_codec).__name__ == 'RealWebP'
        with pytest.raises(RuntimeError):
            with model.using_test_codec(dict(type='RealJPEG', quality=5)):
                raise RuntimeError('boom')
        assert type(model.test_codec).__name__ == 'RealWebP'
    assert model.test_codec is None


@pytest.mark.parametrize('codec,match', [
    (dict(type='HEIC', quality=30), "unknown test_codec type 'HEIC'"),
    ('jpeg', 'config dict'),
    (dict(type='RealJPEG', quality=0), '1..100'),
])
def test_bad_test_codecs(codec, match):
    with pytest.raises(ValueError, match=match) as info:
        BicubicRescaler().set_test_codec(codec)
    assert '\n' not in str(info.value)


def test_crm_sends_through_the_test_codec_when_one_is_set():
    """IRN-CRM's channel is its own JPEG q90 unless the test codec (e.g. of
    the QF sweep) replaces it."""
    model = MODELS.build(
        dict(type='IRNCRM',
             generator=dict(type='IRNNet', block_num=[1],
                            subnet=dict(type='DenseBlock', growth=4)),
             restorer=dict(type='RRDBNet', mid_channels=4, num_blocks=1,
                           growth_channels=4)))
    lr = smooth_images(1, 16)
    assert model.transmit(lr).num_bytes == RealJPEG(
        90, backend='opencv').code(lr).num_bytes
    model.set_test_codec(dict(type='RealJPEG', quality=20))
    assert model.transmit(lr).num_bytes == RealJPEG(20).code(lr).num_bytes
    model.set_test_codec(dict(type='DiffJPEG', quality=20))
    with pytest.raises(ValueError, match='must be a real codec'):
        model.transmit(lr)
