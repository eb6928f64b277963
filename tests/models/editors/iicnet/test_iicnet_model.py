# Copyright (c) invtoolbox contributors. All rights reserved.
"""The IICNet BaseModel: objective, reproducible noise, predict, errors."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

from invtoolbox.errors import ShapeError
from invtoolbox.models.editors.iicnet import IICNet
from invtoolbox.registry import MODELS, TASKS
from invtoolbox.structures import DataSample
from invtoolbox.tasks import BaseRICTask

SMALL = dict(subnet=dict(type='DenseBlock', growth=8), rel_channels=8,
             block_num=2)


class ThreeImages(BaseRICTask):
    """Three images, the middle one is the reference."""
    num_images = 3
    reference_index = 1
    image_names = ('a', 'b', 'c')


class HalfSize(BaseRICTask):
    num_images = 2
    scale = 2


class Gray(BaseRICTask):
    num_images = 1
    out_channels = 1

    def reference(self, images):
        return images[:, 0].mean(dim=1, keepdim=True)


def build(task=None, **kwargs):
    torch.manual_seed(0)
    model = IICNet(task=task or ThreeImages(), generator=dict(SMALL),
                   **kwargs)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)
    return model


def test_objective_is_the_official_one():
    model = build()
    images = torch.rand(2, 3, 3, 16, 16)
    gen_seed = 7
    losses = model.compute_losses(images, torch.Generator().manual_seed(
        gen_seed))
    assert set(losses) == {'loss_embed', 'loss_freq', 'loss_restore'}
    # recompute by hand with the official formulas
    x = images[:, [1, 0, 2]].flip(2).reshape(2, 9, 16, 16)
    ref = images[:, 1].flip(1)
    e = model.generator(x)
    noise = torch.rand(e.shape, generator=torch.Generator().manual_seed(
        gen_seed)) - 0.5
    e_q = torch.clamp(e * 255 + noise, 0, 255) / 255
    x_hat = model.generator(e_q, rev=True)
    l2 = ((e - ref)**2).sum(dim=(1, 2, 3)).mean()
    fx = torch.view_as_real(torch.fft.rfft2(e))
    fy = torch.view_as_real(torch.fft.rfft2(ref))
    freq = ((fx - fy)**2).sum(dim=(1, 2, 3, 4)).mean()
    rec = torch.sqrt((x_hat - x)**2 + 1e-6).sum(dim=(1, 2, 3)).mean() / 3
    assert torch.allclose(losses['loss_embed'], l2, rtol=1e-5)
    assert torch.allclose(losses['loss_freq'], 0.001 * freq, rtol=1e-4)
    assert torch.allclose(losses['loss_restore'], 3 * rec, rtol=1e-5)


def test_training_step_gives_finite_gradients():
    model = build(task=HalfSize())
    assert model.restore_loss.loss_weight == 0.4  # x2 downscaling
    optim = build_optim_wrapper(
        model, dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4),
                    clip_grad=dict(max_norm=10.)))
    data = dict(inputs=[torch.rand(2, 3, 16, 16) for _ in range(2)],
                data_samples=[DataSample() for _ in range(2)])
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    model.zero_grad()
    before = [p.detach().clone() for p in model.parameters()]
    log = model.train_step(data, optim)
    assert {'loss', 'loss_embed', 'loss_freq', 'loss_restore'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    assert all(not torch.equal(a, p) for a, p in zip(before,
                                                      model.parameters()))


def test_noise_is_seeded_per_iteration():
    model = build(train_cfg=dict(seed=3))
    images = torch.rand(1, 3, 3, 8, 8)
    a = model.compute_losses(images, model.train_generator(5))
    b = model.compute_losses(images, model.train_generator(5))
    c = model.compute_losses(images, model.train_generator(6))
    assert torch.equal(a['loss_restore'], b['loss_restore'])
    assert not torch.equal(a['loss_restore'], c['loss_restore'])


def test_losses_override_and_disable():
    model = build(losses=dict(freq_loss=None, restore_loss=dict(
        type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum')))
    assert model.freq_loss is None and model.restore_loss.loss_weight == 1.0
    out = model(torch.rand(1, 3, 3, 8, 8), mode='loss')
    assert set(out) == {'loss_embed', 'loss_restore'}
    with pytest.raises(ValueError, match="unknown loss name"):
        build(losses=dict(rate_loss=None))


def test_predict_and_embed_restore():
    model = build().eval()
    images = torch.rand(2, 3, 3, 8, 8)
    samples = model(images, [DataSample(metainfo=dict(key='x'))] * 2,
                    mode='predict')
    e = model.embed(images)
    assert torch.equal(e * 255, (e * 255).round())  # 8-bit values
    restored = model.restore(e).clamp(0, 1)
    for i, s in enumerate(samples):
        assert s.pred_img.shape == (3, 3, 8, 8)
        assert torch.equal(s.pred_embed, e[i])
        assert torch.equal(s.pred_img, restored[i])
        assert torch.equal(s.ref_img, images[i, 1])
        assert s.metainfo['image_names'] == ('a', 'b', 'c')
        assert s.metainfo['reference_index'] == 1 and s.key == 'x'
    assert 0 <= restored.min() and restored.max() <= 1


def test_rgb_channel_order_and_grayscale():
    model = build(task=Gray(), channel_order='rgb').eval()
    images = torch.rand(1, 1, 3, 8, 8)
    assert torch.equal(model.pack(images), images[:, 0])
    losses = model(images, mode='loss')
    assert set(losses) == {'loss_embed', 'loss_freq', 'loss_restore'}
    assert model(images, mode='tensor').shape == (1, 1, 8, 8)


def test_generator_is_completed_from_the_task():
    model = IICNet(task=HalfSize(), generator=dict(block_num=1))
    assert model.generator.down_cfg == dict(type='haar', order='hl',
                                            use_conv1x1=True)
    assert model.generator.num_images == 2


def test_errors():
    with pytest.raises(ValueError, match=r"unknown task type 'NoSuchTask'; "
                       r'registered tasks: .*VideoEmbedding.*custom_imports'):
        IICNet(task=dict(type='NoSuchTask'))
    with pytest.raises(ValueError, match='config dict'):
        IICNet(task='VideoEmbedding')
    with pytest.raises(ValueError, match='needs'):
        IICNet(task=ThreeImages(), generator=dict(num_images=2))
    with pytest.raises(ValueError, match='channel_order'):
        IICNet(task=ThreeImages(), channel_order='yuv')
    with pytest.raises(ValueError, match='unknown train_cfg'):
        IICNet(task=ThreeImages(), train_cfg=dict(sed=1))
    model = build()
    with pytest.raises(ShapeError, match=r'\(N, K, 3, H, W\)'):
        model(torch.rand(1, 9, 8, 8), mode='loss')
    with pytest.raises(ShapeError, match='embeds 3 images'):
        model(torch.rand(1, 2, 3, 8, 8), mode='predict')
    with pytest.raises(ValueError, match="mode must be"):
        model(torch.rand(1, 3, 3, 8, 8), mode='nope')


def test_registered_task_by_name():
    @TASKS.register_module(name='_TestTinyTask', force=True)
    class _TestTinyTask(BaseRICTask):
        num_images = 2

    model = MODELS.build(dict(type='IICNet', task=dict(type='_TestTinyTask'),
                              generator=dict(SMALL)))
    assert model.generator.num_images == 2
