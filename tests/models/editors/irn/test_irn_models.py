# Copyright (c) invtoolbox contributors. All rights reserved.
"""IRN, IRNPlus, IRNCRM: training steps, latents, predict, errors.

Tiny networks (1-2 couplings, growth 8, 16x16 images) keep this fast; the
official sizes are covered by test_irn_networks.py and test_irn_vectors.py.
"""
import uuid

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict

from invtoolbox import ShapeError
from invtoolbox.registry import MODELS
from invtoolbox.structures import DataSample
from invtoolbox.utils import imresize

TINY = dict(
    type='IRNNet',
    scale=2,
    block_num=[2],
    subnet=dict(type='DenseBlock', growth=8))


@pytest.fixture
def message_hub():
    """A fresh current MessageHub, removed afterwards."""
    name = f'test_irn_{uuid.uuid4().hex}'
    hub = MessageHub.get_instance(name)
    yield hub
    MessageHub._instance_dict.pop(name, None)


def batch(n=2, size=16, scale=2, seed=0, grey=False):
    gen = torch.Generator().manual_seed(seed)
    hr = torch.rand(n, 3, size, size, generator=gen)
    lr = imresize(hr, 1 / scale)
    if grey:
        lr = (hr * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(
            1, keepdim=True)
    samples = [
        DataSample(gt_img=h, lr_img=l, metainfo=dict(key=f'img{i}'))
        for i, (h, l) in enumerate(zip(hr, lr))
    ]
    return dict(inputs=list(hr), data_samples=samples)


def irn(**kwargs):
    cfg = dict(type='IRN', generator=dict(TINY))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def adam(model, lr=1e-3):
    return OptimWrapper(
        torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5),
        clip_grad=dict(max_norm=10))


def test_train_step_decreases_the_loss(message_hub):
    torch.manual_seed(0)
    model = irn(train_cfg=dict(seed=1))
    data = batch()
    prepared = model.data_preprocessor(data, True)
    hr = prepared['inputs']
    lr_ref = DataSample.stack(prepared['data_samples'], 'lr_img')
    z = torch.randn(2, 9, 8, 8, generator=torch.Generator().manual_seed(5))

    def fixed_loss():
        with torch.no_grad():
            return sum(model.compute_losses(hr, lr_ref, z=z).values()).item()

    before = fixed_loss()
    optim = adam(model)
    for it in range(12):
        message_hub.update_info('iter', it)
        log = model.train_step(data, optim)
    assert set(log) == {'loss', 'loss_forw_fit', 'loss_forw_ce',
                        'loss_back_rec'}
    assert fixed_loss() < 0.9 * before


def test_latents_follow_seed_and_iteration(message_hub):
    model = irn(train_cfg=dict(seed=7))
    data = model.data_preprocessor(batch(), True)
    hr = data['inputs']
    lr_ref = DataSample.stack(data['data_samples'], 'lr_img')

    def loss_at(it, seed=7):
        model.train_cfg['seed'] = seed
        message_hub.update_info('iter', it)
        with torch.no_grad():
            return model.loss(hr, data['data_samples'])['loss_back_rec']

    assert torch.equal(loss_at(3), loss_at(3))
    assert not torch.equal(loss_at(3), loss_at(4))
    assert not torch.equal(loss_at(3), loss_at(3, seed=8))
    # the drawn latent is what compute_losses(z=...) takes
    model.train_cfg['seed'] = 7
    gen = model.train_generator(3)
    z = torch.randn(2, 9, 8, 8, generator=model.train_generator(3))
    with torch.no_grad():
        explicit = model.compute_losses(hr, lr_ref, z=z, generator=gen)
    assert torch.equal(explicit['loss_back_rec'], loss_at(3))


def test_seed_none_takes_the_run_seed(message_hub):
    model = irn()
    message_hub.update_info('iter', 0)
    torch.manual_seed(123)  # what mmengine's randomness=dict(seed=123) does
    first = model.train_generator().initial_seed()
    torch.manual_seed(123)
    torch.rand(5)  # later draws from the global RNG do not matter
    assert model.train_generator().initial_seed() == first
    torch.manual_seed(124)
    assert model.train_generator().initial_seed() != first


def test_resumed_run_draws_the_same_latents(message_hub):
    data = batch()

    def make():
        torch.manual_seed(0)
        model = irn(train_cfg=dict(seed=3))
        return model, adam(model)

    def run(model, optim, iters):
        for it in iters:
            message_hub.update_info('iter', it)
            model.train_step(data, optim)

    straight, optim = make()
    run(straight, optim, range(4))

    first, optim = make()
    run(first, optim, range(2))
    saved = dict(
        model={k: v.clone()
               for k, v in first.state_dict().items()},
        optim=optim.state_dict())
    # "resume": a fresh model (different init) and optimiser get the state
    torch.manual_seed(99)
    resumed = irn(train_cfg=dict(seed=3))
    resumed_optim = adam(resumed)
    resumed.load_state_dict(saved['model'])
    resumed_optim.load_state_dict(saved['optim'])
    run(resumed, resumed_optim, range(2, 4))
    for (name, a), b in zip(straight.state_dict().items(),
                            resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_y_noise_of_the_finetune(message_hub):
    model = irn(train_cfg=dict(seed=0, y_noise_prob=0.5, y_noise_scale=0.01))
    lr = torch.full((1, 3, 4, 4), 0.5)
    noisy = [
        not torch.equal(model.add_y_noise(lr, model.train_generator(it)), lr)
        for it in range(40)
    ]
    assert 8 < sum(noisy) < 32  # about half of the batches
    it = noisy.index(True)
    delta = model.add_y_noise(lr, model.train_generator(it)) - lr
    assert 0.003 < delta.std().item() < 0.03
    plain = irn()
    assert plain.add_y_noise(lr, plain.train_generator(0)) is lr


def test_predict_fields_and_latent_choice():
    model = irn().eval()
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(0.01 * torch.randn_like(p))
    data = model.data_preprocessor(batch(n=2), False)
    out = model.predict(data['inputs'], data['data_samples'])
    assert len(out) == 2
    sample = out[0]
    assert sample.pred_img.shape == (3, 16, 16)
    assert 0 <= sample.pred_img.min() and sample.pred_img.max() <= 1
    assert sample.pred_lr.shape == (3, 8, 8)
    assert torch.equal(sample.pred_lr * 255, (sample.pred_lr * 255).round())
    assert torch.equal(sample.gt_img, data['inputs'][0])
    assert torch.equal(sample.lr_img, data['data_samples'][0].lr_img)
    assert sample.metainfo['key'] == 'img0'

    # the Gaussian latent of an image does not depend on its batch (up to
    # float summation order of batched convolutions)
    alone = model.predict(data['inputs'][1:], data['data_samples'][1:])
    assert (alone[0].pred_img - out[1].pred_img).abs().max() < 1e-5
    # seeded: reproducible; another seed or z = 0 differ
    lr = model.downscale(data['inputs'])
    a = model.upscale(lr, latent='gaussian', seed=0)
    assert torch.equal(a, model.upscale(lr, latent='gaussian', seed=0))
    assert not torch.equal(a, model.upscale(lr, latent='gaussian', seed=1))
    zero = model.upscale(lr, latent='zero')
    assert torch.equal(zero, model.upscale(lr, z=torch.zeros(2, 9, 8, 8)))
    assert not torch.equal(a, zero)
    zero_model = irn(test_cfg=dict(latent='zero')).eval()
    zero_model.load_state_dict(model.state_dict())
    assert torch.equal(zero_model.upscale(lr), zero)
    # predict also works without data samples (e.g. tools/infer.py)
    assert model.predict(data['inputs'])[0].gt_img.shape == (3, 16, 16)


def test_modes_and_errors():
    model = irn()
    hr = torch.rand(1, 3, 16, 16)
    assert model(hr, mode='tensor').shape == (1, 12, 8, 8)
    with pytest.raises(ValueError, match="mode must be 'loss'"):
        model(hr, mode='train')
    with pytest.raises(ShapeError, match=r'15x16 \(HxW\) is not divisible '
                       r'by 2; mod-crop it to 14x16'):
        model(torch.rand(1, 3, 15, 16), mode='predict')
    with pytest.raises(ShapeError, match=r'1x1 \(HxW\) is smaller than the '
                       r'scale 2; use images of at least 2x2 pixels'):
        model(torch.rand(1, 3, 1, 1), mode='predict')
    with pytest.raises(ShapeError, match='reference LR'):
        model(hr, [DataSample(lr_img=torch.rand(3, 16, 16))], mode='loss')
    with pytest.raises(ValueError, match='unknown train_cfg'):
        irn(train_cfg=dict(gausian_scale=0))
    with pytest.raises(ValueError, match="'gaussian' or 'zero'"):
        irn(test_cfg=dict(latent='mean'))


def test_irn_color_model(message_hub):
    model = MODELS.build(
        dict(
            type='IRN',
            generator=dict(
                type='IRNNet',
                scale=1,
                out_channels=1,
                down_type='grey',
                block_num=[1],
                subnet=dict(type='DenseBlock', growth=8)),
            pixel_loss_forw=dict(
                type='MSELoss', loss_weight=3.0, reduction='batch_sum'),
            train_cfg=dict(gaussian_scale=0.0),
            test_cfg=dict(latent='zero')))
    data = batch(grey=True, size=8)
    message_hub.update_info('iter', 0)
    log = model.train_step(data, adam(model))
    # Conv1x1Grey starts at the BT.601 grey row: the grey fit is exact at init
    assert log['loss_forw_fit'].item() < 1e-8 and log['loss_back_rec'] > 0
    out = model.val_step(data)
    assert out[0].pred_lr.shape == (1, 8, 8)
    assert out[0].pred_img.shape == (3, 8, 8)


def tiny_plus(**train_cfg):
    return MODELS.build(
        dict(
            type='IRNPlus',
            generator=dict(TINY, scale=4, block_num=[1, 1]),
            discriminator=dict(type='VGGStyleDiscriminator', mid_channels=2),
            train_cfg=dict(seed=0, **train_cfg)))


def plus_optim(model):
    return OptimWrapperDict(
        generator=OptimWrapper(
            torch.optim.Adam(model.generator.parameters(), lr=1e-3),
            clip_grad=dict(max_norm=10)),
        discriminator=OptimWrapper(
            torch.optim.Adam(
                model.discriminator.parameters(), lr=1e-3,
                betas=(0.9, 0.99))))


def test_irn_plus_train_step(message_hub):
    model = tiny_plus(disc_init_steps=1)
    assert model.latent_loss is None
    assert model.pixel_loss_back.loss_weight == 0.01
    optim = plus_optim(model)
    data = batch(size=128, scale=4)
    g_before = [p.clone() for p in model.generator.parameters()]
    d_before = [p.clone() for p in model.discriminator.parameters()]
    message_hub.update_info('iter', 0)  # warm-up: discriminator only
    log = model.train_step(data, optim)
    assert set(log) == {'loss_disc'}
    assert all(
        torch.equal(a, b)
        for a, b in zip(g_before, model.generator.parameters()))
    assert not all(
        torch.equal(a, b)
        for a, b in zip(d_before, model.discriminator.parameters()))
    message_hub.update_info('iter', 1)
    log = model.train_step(data, optim)
    assert {'loss_forw_fit', 'loss_back_rec', 'loss_back_gan',
            'loss_disc'} <= set(log)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(g_before, model.generator.parameters()))
    assert all(p.requires_grad for p in model.discriminator.parameters())
    with pytest.raises(ValueError, match='OptimWrapperDict'):
        model.train_step(data, OptimWrapper(torch.optim.SGD(
            model.parameters(), lr=0.1)))


def test_irn_crm_trains_only_the_restorer(message_hub):
    model = MODELS.build(
        dict(
            type='IRNCRM',
            generator=dict(TINY),
            restorer=dict(
                type='RRDBNet',
                mid_channels=8,
                num_blocks=1,
                growth_channels=4)))
    assert not any(p.requires_grad for p in model.generator.parameters())
    data = batch()
    g_before = [p.clone() for p in model.generator.parameters()]
    r_before = [p.clone() for p in model.restorer.parameters()]
    log = model.train_step(data, adam(model))
    assert set(log) == {'loss', 'loss_jpeg_rec'}
    assert all(
        torch.equal(a, b)
        for a, b in zip(g_before, model.generator.parameters()))
    assert not all(
        torch.equal(a, b)
        for a, b in zip(r_before, model.restorer.parameters()))
    model.train()
    assert not model.generator.training
    out = model.val_step(data)
    assert out[0].num_bytes > 0
    assert out[0].pred_img.shape == (3, 16, 16)
    with pytest.raises(ValueError, match='trains only the restorer'):
        MODELS.build(
            dict(
                type='IRNCRM',
                generator=dict(TINY),
                restorer=dict(type='RRDBNet'),
                latent_loss=dict(type='LatentNLLLoss')))
