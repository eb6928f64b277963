# Copyright (c) invtoolbox contributors. All rights reserved.
"""The InvCompress model on a tiny network: the objective, the two
optimizers, prediction with real bitstreams at any size, the tables,
the configs and the converter's errors."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine import Config
from mmengine.optim import build_optim_wrapper

from invtoolbox.apis import convert_official_checkpoint
from invtoolbox.models.editors.invcompress.invcompress import (
    CHANNELS_PER_QUALITY, LAMBDAS_MS_SSIM, LAMBDAS_MSE, InvCompress,
    pad_to_multiple)
from invtoolbox.registry import MODELS
from invtoolbox.utils import register_all_modules
from invtoolbox.structures import DataSample

REPO = Path(__file__).resolve().parents[4]
register_all_modules()
TINY = dict(type='InvCompressNet', N=16, enhance_channels=8,
            kernel_sizes=(3, 3, 3, 3), couplings_per_level=1)


def tiny_model(**kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('lmbda', 0.01)
    return InvCompress(generator=dict(TINY), **kwargs)


def codec_optim():
    return dict(
        constructor='MultiOptimWrapperConstructor',
        main=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
                  clip_grad=dict(max_norm=1.0), exclude=['*.quantiles']),
        aux=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
                 params=['*.quantiles']))


def batch(n=2, size=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.rand(n, 3, size, size, generator=g)
    return dict(inputs=list(imgs),
                data_samples=[DataSample(gt_img=i) for i in imgs])


def test_loss_is_the_official_rate_distortion():
    model = tiny_model()
    x = torch.rand(2, 3, 64, 64)
    out = model.generator(x)
    terms = model.rate_distortion(x, out)
    bits = sum(-torch.log2(v).sum() for v in out['likelihoods'].values())
    assert torch.allclose(terms['bpp_loss'], bits / (2 * 64 * 64))
    mse = ((out['x_hat'] - x)**2).mean()
    assert torch.allclose(terms['loss'],
                          0.01 * 255**2 * mse + terms['bpp_loss'])
    losses = model.loss(x)
    assert set(losses) == {'loss', 'bpp', 'mse'}


def test_ms_ssim_objective():
    model = tiny_model(lmbda=None, quality=3, metric='ms-ssim')
    assert model.lmbda == LAMBDAS_MS_SSIM[3]
    x = torch.rand(1, 3, 192, 192)
    out = model.generator(x)
    terms = model.rate_distortion(x, out)
    assert 0 <= float(terms['ms_ssim_loss']) <= 1
    assert torch.allclose(
        terms['loss'],
        LAMBDAS_MS_SSIM[3] * terms['ms_ssim_loss'] + terms['bpp_loss'])


def test_training_noise_is_reproducible():
    model = tiny_model(train_cfg=dict(seed=3))
    x = torch.rand(1, 3, 64, 64)
    model.train()
    a = model.loss(x)['loss']
    model._local_step = 0
    b = model.loss(x)['loss']
    assert torch.equal(a, b)


def test_one_step_trains_both_optimizers_and_refreshes_the_tables():
    model = tiny_model()
    wrappers = build_optim_wrapper(model, codec_optim())
    model.eval()
    model.ensure_tables()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    log = model.train_step(batch(), wrappers)
    assert {'loss', 'loss_aux', 'bpp', 'mse'} <= set(log)
    changed = {n for n, p in model.named_parameters()
               if not torch.equal(p, before[n])}
    assert 'generator.entropy_bottleneck.quantiles' in changed
    assert 'generator.h_a.0.weight' in changed
    model.eval()
    assert model.ensure_tables()          # the quantiles moved: rebuilt
    assert not model.ensure_tables()      # nothing changed since


@pytest.mark.parametrize('size', [(64, 64), (45, 70), (100, 33)])
def test_predict_codes_real_bitstreams_at_any_size(size):
    model = tiny_model().eval()
    x = torch.rand(1, 3, *size)
    out = model.predict(x, [DataSample(gt_img=x[0])])[0]
    assert out.pred_img.shape == (3, *size)
    assert 0 <= float(out.pred_img.min()) <= float(out.pred_img.max()) <= 1
    assert out.num_bytes > 0
    assert out.bpp == pytest.approx(8.0 * out.num_bytes / (size[0] * size[1]))
    # the decoded image is the synthesis of the decoded latent
    padded, pads = pad_to_multiple(x, 64)
    net = model.generator
    enc = net.compress(padded)
    dec = net.decompress(enc['strings'], enc['shape'])['x_hat']
    top, _, left, _ = pads
    assert torch.equal(dec[..., top:top + size[0], left:left + size[1]],
                       out.pred_img[None])


def test_compress_decompress_batch_and_errors():
    model = tiny_model().eval()
    net = model.generator
    model.ensure_tables()
    x = torch.rand(2, 3, 64, 128)
    enc = net.compress(x)
    assert len(enc['strings'][0]) == 2 and len(enc['strings'][1]) == 2
    dec = net.decompress(enc['strings'], enc['shape'])
    for i in range(2):
        one = net.decompress([[enc['strings'][0][i]], [enc['strings'][1][i]]],
                             enc['shape'])['x_hat']
        assert torch.allclose(one[0], dec['x_hat'][i], atol=1e-5)
    with pytest.raises(ValueError, match='multiples of 64'):
        net(torch.rand(1, 3, 60, 64))
    with pytest.raises(ValueError, match=r'\[y_strings, z_strings\]'):
        net.decompress([enc['strings'][0]], enc['shape'])


@pytest.mark.parametrize('kwargs, match', [
    (dict(quality=9), 'quality must be an integer from 1 to 8'),
    (dict(quality=0), 'quality must be an integer from 1 to 8'),
    (dict(quality=2.0), 'quality must be an integer from 1 to 8'),
    (dict(lmbda=None), 'give lmbda or quality'),
    (dict(lmbda=-1.0), 'lmbda must be a positive number'),
    (dict(metric='psnr'), "metric must be 'mse' or 'ms-ssim'"),
])
def test_bad_settings(kwargs, match):
    kwargs.setdefault('lmbda', None if 'quality' in kwargs else 0.01)
    with pytest.raises(ValueError, match=match):
        InvCompress(generator=dict(TINY), **kwargs)


@pytest.mark.parametrize('quality', range(1, 9))
@pytest.mark.parametrize('metric', ['mse', 'msssim'])
def test_configs(quality, metric):
    cfg = Config.fromfile(REPO / 'configs' / 'invcompress' /
                          f'invcompress_q{quality}_{metric}_flicker.py')
    assert cfg.model.quality == quality
    assert cfg.model.generator.N == CHANNELS_PER_QUALITY[quality]
    with torch.device('meta'):
        model = MODELS.build(copy.deepcopy(cfg.model))
    table = LAMBDAS_MSE if metric == 'mse' else LAMBDAS_MS_SSIM
    assert model.lmbda == table[quality]
    assert cfg.optim_wrapper.main.clip_grad.max_norm == 1.0
    assert cfg.optim_wrapper.aux.optimizer.lr == 1e-3


def test_converter_refuses_other_checkpoints():
    with pytest.raises(ValueError, match='not InvCompress|looks like'):
        convert_official_checkpoint('InvCompress_q1',
                                    {'operations.0.invconv.lower':
                                     torch.zeros(3, 3)})
    with pytest.raises(ValueError, match='unknown|InvCompress_q9|arch'):
        convert_official_checkpoint('InvCompress_q9', {})
