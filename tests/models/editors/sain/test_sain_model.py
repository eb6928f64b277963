# Copyright (c) invtoolbox contributors. All rights reserved.
"""SAINNet and SAIN: invertibility, sizes, training steps, predict, errors.

Tiny networks (1-2 blocks, growth 8, 32x32 images) keep this fast; the
official weights and numbers are covered by test_sain_vectors.py.
"""
import copy
import uuid

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from invtoolbox import ShapeError
from invtoolbox.registry import MODELS, TRANSFORMS
from invtoolbox.structures import DataSample
from invtoolbox.utils import imresize


def tiny_net(scale=2, **kwargs):
    cfg = dict(
        type='SAINNet',
        scale=scale,
        e_blocks=2,
        v_blocks=1,
        subnet=dict(type='DenseBlock', growth=8))
    cfg.update(kwargs)
    return cfg


def sain(scale=2, net=None, **kwargs):
    cfg = dict(type='SAIN', generator=net or tiny_net(scale))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def perturb(module, std=0.05, seed=0):
    """Move every weight away from the identity-coupling init."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * std)
    return module


@pytest.fixture
def message_hub():
    name = f'test_sain_{uuid.uuid4().hex}'
    hub = MessageHub.get_instance(name)
    yield hub
    MessageHub._instance_dict.pop(name, None)


def batch(n=2, size=32, scale=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    hr = torch.rand(n, 3, size, size, generator=gen)
    lr = imresize(hr, 1 / scale)
    samples = [
        DataSample(gt_img=h, lr_img=l, metainfo=dict(key=f'img{i}'))
        for i, (h, l) in enumerate(zip(hr, lr))
    ]
    return dict(inputs=list(hr), data_samples=samples)


# ---------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('scale', [2, 4])
def test_round_trip(scale):
    torch.manual_seed(0)
    net = perturb(MODELS.build(tiny_net(scale))).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        out, lr, logdet = net(x, jac=True)
        x_rec, lr_recon, logdet_rev = net(out, rev=True, jac=True)
    assert out.shape == (2, 3 * scale**2, 32 // scale, 32 // scale)
    assert lr.shape == (2, 3, 32 // scale, 32 // scale)
    assert (x_rec - x).abs().max() <= 1e-5
    # the LR re-derived on the way back is the shipped one
    assert (lr_recon - lr).abs().max() <= 1e-5
    assert torch.allclose(logdet, -logdet_rev, atol=1e-3)
    # the shipped LR is not the simulator output
    assert (lr - out[:, :3]).abs().max() > 1e-3
    # the LR is returned, not kept on the block: no block holds a tensor
    for block in net.inn:
        assert not any(isinstance(v, torch.Tensor)
                       for v in vars(block).values())


def test_official_parameter_counts_and_layout():
    x2 = MODELS.build(dict(type='SAINNet', scale=2))
    x4 = MODELS.build(
        dict(type='SAINNet', scale=4, e_blocks=10, v_blocks=6))
    assert x2.num_official_params() == 2015485
    assert x4.num_official_params() == 6494003
    assert len(x2.state_dict()) == 292 and len(x4.state_dict()) == 583
    names = [type(b).__name__ for b in x4.inn]
    assert names == ['HaarDownsampling'] * 2 + \
        ['EnhancedAffineCoupling'] * 10 + ['AffineCoupling'] * 6
    assert x4.inn.shapes[-1][0] == 48 and x4.latent_channels == 45
    assert x2.gmm.gmm_para.shape == (3, 5)


def test_memory_efficient_mode_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = perturb(MODELS.build(tiny_net()))
    saving = MODELS.build(tiny_net(memory_efficient=True))
    saving.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 32, 32)
    grads = []
    for net in (plain, saving):
        net.zero_grad()
        out, lr = net(x)
        back, lr_recon = net(out * 0.9, rev=True)
        (out.square().sum() + lr.sum() + back.sum() +
         lr_recon.square().sum()).backward()
        grads.append([p.grad.clone() for p in net.inn.parameters()])
    for a, b in zip(*grads):
        assert (a - b).abs().max() <= 1e-5 * a.abs().max() + 1e-7


def test_memory_efficient_training_step_keeps_a_fraction_of_the_activations():
    """The whole SAIN objective with memory_efficient=True: the same losses
    and gradients, and most block activations are no longer kept for
    backward (only the last enhanced block's, whose LR is shipped)."""
    hr = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    lr_ref = imresize(hr, 0.5).clamp(0, 1)
    results = []
    for saving in (False, True):
        torch.manual_seed(0)
        model = sain(net=tiny_net(e_blocks=4, v_blocks=3,
                                  memory_efficient=saving),
                     train_cfg=dict(seed=1))
        perturb(model.generator)
        saved = [0]

        def pack(t):
            saved[0] += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            losses = model.compute_losses(hr, lr_ref)
        total, _ = model.parse_losses(losses)
        total.backward()
        results.append((saved[0], {k: v.item() for k, v in losses.items()},
                        [p.grad for p in model.generator.parameters()]))
    (plain_bytes, plain_losses, plain_grads), (lean_bytes, lean_losses,
                                               lean_grads) = results
    for key, value in plain_losses.items():
        assert lean_losses[key] == pytest.approx(value, rel=1e-6)
    for a, b in zip(plain_grads, lean_grads):
        assert (a - b).abs().max() <= 1e-5 * a.abs().max() + 1e-7
    assert lean_bytes < 0.4 * plain_bytes


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------
def test_train_step_logs_the_terms_and_trains(message_hub):
    torch.manual_seed(0)
    model = sain(train_cfg=dict(seed=3))
    optim = OptimWrapper(
        torch.optim.Adam(model.parameters(), lr=1e-3),
        clip_grad=dict(max_norm=10))
    data = batch()
    prepared = model.data_preprocessor(data, True)
    # the same iteration every step: the same GMM latent, a fixed objective
    message_hub.update_info('iter', 0)

    def fixed_loss():
        with torch.no_grad():
            losses = model.loss(prepared['inputs'], prepared['data_samples'])
            return model.parse_losses(losses)[0].item()

    before = fixed_loss()
    for _ in range(8):
        log = model.train_step(data, optim)
    assert list(log) == ['loss', 'loss_fit1', 'loss_fit2', 'loss_reg',
                         'loss_rel', 'loss_rec']
    expected = log['loss_rec'] + (log['loss_fit1'] + log['loss_fit2'] +
                                  log['loss_reg'] + log['loss_rel']) / 4
    assert abs(log['loss'] - expected) <= 1e-4 * expected
    assert fixed_loss() < 0.7 * before


def test_gradients_are_finite_and_reach_the_mixture(message_hub):
    torch.manual_seed(0)
    model = sain()
    perturb(model.generator, std=0.01)
    data = model.data_preprocessor(batch(), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total, _ = model.parse_losses(losses)
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    # the mixture learns through the reparameterised backward latent
    assert model.latent.gmm_para.grad.abs().sum() > 0


def test_lr_not_a_multiple_of_16_trains(message_hub):
    # HR 72x72 -> LR 36x36: the official DiffJPEG fails here, ours pads
    model = sain()
    data = model.data_preprocessor(batch(n=1, size=72), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total, _ = model.parse_losses(losses)
    total.backward()
    assert torch.isfinite(total)
    assert all(
        torch.isfinite(p.grad).all() for p in model.parameters()
        if p.grad is not None)


def test_latents_follow_seed_and_iteration(message_hub):
    model = sain(train_cfg=dict(seed=7))
    data = model.data_preprocessor(batch(), True)

    def rec_at(it):
        message_hub.update_info('iter', it)
        with torch.no_grad():
            return model.loss(data['inputs'],
                              data['data_samples'])['loss_rec']

    assert torch.equal(rec_at(3), rec_at(3))
    assert not torch.equal(rec_at(3), rec_at(4))


def test_webp_targets_in_threads_match_inline_and_copy(message_hub):
    message_hub.update_info('iter', 0)
    webp = dict(type='RealWebP', quality=75)
    inline = sain(train_codec=webp)
    threaded = sain(train_codec=webp, train_cfg=dict(codec_threads=2))
    threaded.load_state_dict(inline.state_dict())
    data = inline.data_preprocessor(batch(n=3), True)
    hr = data['inputs']
    lr_ref = DataSample.stack(data['data_samples'], 'lr_img')
    with torch.no_grad():
        a = inline.compute_losses(hr, lr_ref)
        b = threaded.compute_losses(hr, lr_ref)
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=1e-6), key
    # the thread pool does not stop the model from being copied
    clone = copy.deepcopy(threaded)
    assert clone._codec_pool is None
    with torch.no_grad():
        c = clone.compute_losses(hr, lr_ref)
    assert torch.allclose(c['loss_rel'], b['loss_rel'], rtol=1e-6)


# ---------------------------------------------------------------------------
# test path
# ---------------------------------------------------------------------------
def test_predict_fields_codec_and_latents():
    torch.manual_seed(0)
    model = sain(test_codec=dict(type='RealJPEG', quality=50)).eval()
    perturb(model.generator, std=0.01)
    data = model.data_preprocessor(batch(n=2, size=32), False)
    out = model(data['inputs'], data['data_samples'], mode='predict')
    assert len(out) == 2
    sample = out[0]
    assert sample.pred_img.shape == (3, 32, 32)
    assert sample.pred_lr.shape == (3, 16, 16)
    assert 0 <= sample.pred_img.min() and sample.pred_img.max() <= 1
    assert sample.num_bytes > 0 and sample.metainfo['key'] == 'img0'
    # the GMM test latent is seeded per image: same result alone or batched
    alone = model.predict(data['inputs'][1:])[0]
    assert torch.allclose(alone.pred_img, out[1].pred_img, atol=1e-6)
    # 'zero' latent differs from the GMM one; no codec -> no num_bytes
    model.set_test_codec(None)
    gmm = model.predict(data['inputs'][:1])[0]
    model.test_cfg['latent'] = 'zero'
    zero = model.predict(data['inputs'][:1])[0]
    assert 'num_bytes' not in zero
    assert not torch.equal(gmm.pred_img, zero.pred_img)


def test_loader_drops_alpha_before_the_model(tmp_path):
    from PIL import Image
    rgba = np.random.default_rng(0).integers(0, 255, (32, 32, 4), np.uint8)
    path = tmp_path / 'rgba.png'
    Image.fromarray(rgba, 'RGBA').save(path)
    load = TRANSFORMS.build(dict(type='LoadImageFromFile', key='gt'))
    img = load(dict(gt_path=str(path)))['gt']
    assert img.shape == (32, 32, 3)
    model = sain().eval()
    hr = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    assert model.predict(hr)[0].pred_img.shape == (3, 32, 32)
    # a 4-channel tensor given directly gets a one-line error
    with pytest.raises(ShapeError, match=r'\(N, 3, H, W\)'):
        model.predict(torch.rand(1, 4, 32, 32))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
def test_bad_sizes():
    model = sain(scale=4, net=tiny_net(4))
    with pytest.raises(ShapeError, match='not divisible by 4.*mod-crop'):
        model.downscale(torch.rand(1, 3, 30, 32))
    data = model.data_preprocessor(batch(n=1, size=32, scale=4), True)
    with pytest.raises(ShapeError, match='reference LR'):
        model.compute_losses(data['inputs'], torch.rand(1, 3, 16, 16))
    with pytest.raises(ShapeError, match='z must have shape'):
        model.compute_losses(data['inputs'], torch.rand(1, 3, 8, 8),
                             z=torch.rand(1, 9, 8, 8))


@pytest.mark.parametrize('kwargs,match', [
    (dict(train_codec=dict(type='RealAVIF', quality=75)),
     "unknown train_codec type 'RealAVIF'"),
    (dict(train_codec=dict(type='RealJPEG', quality=0)), '1..100'),
    (dict(train_codec=dict(type='RealWebP', quality=101)), '1..100'),
    (dict(train_codec=dict(type='DiffJPEG', quality=75)),
     'must be a real codec'),
    (dict(diff_codec=dict(type='DiffJPEG', quality=150)), '1..100'),
    (dict(test_codec=dict(type='JPEG2000', quality=30)),
     "unknown test_codec type 'JPEG2000'"),
    (dict(test_cfg=dict(latent='gaussian')), "'gmm' or 'zero'"),
    (dict(train_cfg=dict(codec_threads=-1)), 'codec_threads'),
    (dict(train_cfg=dict(y_noise_prob=0.5)), 'unknown train_cfg key'),
])
def test_bad_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sain(**kwargs)


def test_bad_test_codec_and_networks():
    model = sain()
    with pytest.raises(ValueError, match="unknown test_codec type 'HEIC'"):
        model.set_test_codec(dict(type='HEIC', quality=30))
    with pytest.raises(ValueError, match='1..100'):
        model.set_test_codec(dict(type='RealJPEG', quality=-5))
    # the latent is the generator's mixture (read-only)
    assert model.latent is model.generator.gmm
    with pytest.raises(ValueError, match='must be a SAIN network'):
        MODELS.build(
            dict(type='SAIN', generator=dict(type='IRNNet', block_num=[1])))
    with pytest.raises(ValueError, match='power of two'):
        MODELS.build(tiny_net(scale=3))
    with pytest.raises(ValueError, match='e_blocks must be >= 1'):
        MODELS.build(tiny_net(e_blocks=0))


def test_bicubic_baseline_through_the_codec():
    """The quick start's baseline: bicubic -> JPEG 75 -> bicubic."""
    from invtoolbox.evaluation.functional import psnr
    from invtoolbox.registry import DEGRADATIONS, METRICS
    gen = torch.Generator().manual_seed(0)
    gt = imresize(torch.rand(1, 3, 16, 16, generator=gen), 4).clamp(0, 1)
    gt = (gt * 255).round() / 255
    sample = DataSample(gt_img=gt[0])
    values = {}
    for codec in (None, dict(type='RealJPEG', quality=75)):
        metric = METRICS.build(
            dict(type='BicubicBaselinePSNR', scale=2, crop_border=2,
                 codec=codec))
        metric.process(None, [sample])
        values[codec is None] = metric.compute_metrics(metric.results)
    low = imresize(gt, 0.5).clamp(0, 1).mul(255).round().div(255)
    low = DEGRADATIONS.build(dict(type='RealJPEG', quality=75))(low)
    up = imresize(low.double(), 2).clamp(0, 1)
    to_u8 = (lambda t: t[0].permute(1, 2, 0).mul(255).round().byte().numpy())
    manual = psnr(to_u8(gt), to_u8(up), crop_border=2)
    with_codec = list(values[False].values())[0]
    assert with_codec == pytest.approx(manual, abs=0.05)
    assert with_codec < list(values[True].values())[0]
