# Copyright (c) invtoolbox contributors. All rights reserved.
"""The learned-codec capability: CompressAI's calls, parameters selected by
name for the auxiliary optimizer, one training step of both optimizers
(also through mmengine's optimizer builder and Runner)."""
import uuid

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from torch import nn

from invtoolbox.models.base_models import BaseEditModel, LearnedCodecMixin
from invtoolbox.registry import MODELS
from invtoolbox.utils import register_all_modules


class Bottleneck(nn.Module):
    """Stands in for a factorized entropy model: ``quantiles`` are trained
    only by the auxiliary loss (pulled towards ``(-3, 0, 3)``)."""

    def __init__(self, channels):
        super().__init__()
        self.quantiles = nn.Parameter(torch.zeros(channels, 1, 3))
        self.register_buffer('target', torch.tensor([-3., 0., 3.]))
        self.register_buffer('ready', torch.zeros((), dtype=torch.bool))

    def loss(self):
        return (self.quantiles - self.target).abs().sum()


class TinyCodecNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.analysis = nn.Conv2d(3, 4, 2, stride=2)
        self.synthesis = nn.ConvTranspose2d(4, 3, 2, stride=2)
        self.entropy_bottleneck = Bottleneck(4)

    def forward(self, x):
        y = self.analysis(x)
        y_hat = y + (torch.rand_like(y) - 0.5) if self.training else y.round()
        return dict(x_hat=self.synthesis(y_hat),
                    likelihoods=dict(y=torch.sigmoid(-y_hat.abs())))

    def update(self, force=False):
        if bool(self.entropy_bottleneck.ready) and not force:
            return False
        self.entropy_bottleneck.ready.fill_(True)
        return True

    def compress(self, x):
        y = self.analysis(x).round().clamp(-128, 127).to(torch.int8)
        return dict(strings=[[y[i].numpy().tobytes() for i in range(len(y))]],
                    shape=tuple(y.shape[2:]))

    def decompress(self, strings, shape):
        y = torch.stack([
            torch.from_numpy(np.frombuffer(s, dtype=np.int8).copy()).view(
                4, *shape) for s in strings[0]
        ]).float()
        return dict(x_hat=self.synthesis(y))


@MODELS.register_module(force=True)
class TinyLearnedCodecForTests(LearnedCodecMixin, BaseEditModel):

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.generator = TinyCodecNet()

    def loss(self, inputs, data_samples=None):
        self.next_train_generator()
        out = self.generator(inputs)
        rate = -torch.log2(out['likelihoods']['y']).mean()
        return dict(loss_mse=F.mse_loss(out['x_hat'], inputs),
                    loss_rate=0.01 * rate)

    def predict(self, inputs, data_samples=None):
        x_hat = self.decompress(**self.compress(inputs))['x_hat']
        return self.pack_predictions(data_samples, inputs.shape[0],
                                     fields=dict(pred_img=x_hat))

    def aux_loss(self):
        return self.generator.entropy_bottleneck.loss()


def codec_optim(main=None, aux=None):
    return dict(
        constructor='MultiOptimWrapperConstructor',
        main=main or dict(type='OptimWrapper',
                          optimizer=dict(type='Adam', lr=1e-2),
                          exclude=['*.quantiles']),
        aux=aux or dict(type='OptimWrapper',
                        optimizer=dict(type='Adam', lr=1e-1),
                        params=['*.quantiles']))


def params_of(wrapper):
    return {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}


def test_the_constructor_selects_parameters_by_name():
    register_all_modules()
    model = TinyLearnedCodecForTests()
    wrappers = build_optim_wrapper(model, codec_optim())
    assert isinstance(wrappers, OptimWrapperDict)
    assert params_of(wrappers['aux']) == {
        id(model.generator.entropy_bottleneck.quantiles)}
    assert params_of(wrappers['main']) == {
        id(p) for n, p in model.named_parameters() if 'quantiles' not in n}
    assert [n for n, _ in model.named_aux_parameters()] == [
        'generator.entropy_bottleneck.quantiles']


def test_one_step_trains_both_optimizers_on_their_own_parameters():
    register_all_modules()
    torch.manual_seed(0)
    model = TinyLearnedCodecForTests()
    wrappers = build_optim_wrapper(model, codec_optim())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    data = dict(inputs=[torch.rand(3, 8, 8) for _ in range(2)])
    log = model.train_step(data, wrappers)
    assert {'loss', 'loss_mse', 'loss_rate', 'loss_aux'} <= set(log)
    assert log['loss_aux'].item() == pytest.approx(4 * 6.0)
    for name, param in model.named_parameters():
        assert not torch.equal(param, before[name]), name
    # the auxiliary loss alone moved the quantiles towards their target
    q = model.generator.entropy_bottleneck.quantiles
    assert model.aux_loss().item() < 4 * 6.0
    assert torch.all((q[..., 0] < 0) & (q[..., 2] > 0))


def test_compress_decompress_update():
    model = TinyLearnedCodecForTests().eval()
    x = torch.rand(2, 3, 8, 8)
    assert model.update() is True and model.update() is False
    assert model.update(force=True) is True
    enc = model.compress(x)
    assert all(isinstance(s, bytes) for s in enc['strings'][0])
    x_hat = model.decompress(enc['strings'], enc['shape'])['x_hat']
    assert torch.allclose(x_hat, model.generator(x)['x_hat'])
    out = model(x, mode='predict')
    assert torch.equal(out[1].pred_img, x_hat[1])


@pytest.mark.parametrize('cfg,match', [
    (codec_optim(main=dict(type='OptimWrapper',
                           optimizer=dict(type='Adam', lr=1e-2),
                           params=['*'])),
     "selected by both 'main' and 'aux'"),
    (codec_optim(aux=dict(type='OptimWrapper',
                          optimizer=dict(type='Adam', lr=1e-2),
                          params=['*.medians'])),
     "entry 'aux' selects no trainable parameter"),
    (codec_optim(aux=dict(type='OptimWrapper', params=['*.quantiles'])),
     "entry 'aux' has no optimizer"),
    (codec_optim(aux=dict(type='OptimWrapper',
                          optimizer=dict(type='Adam', lr=1e-2),
                          params=['*.quantiles'],
                          paramwise_cfg=dict(norm_decay_mult=0))),
     'paramwise_cfg cannot be combined'),
])
def test_constructor_errors(cfg, match):
    register_all_modules()
    with pytest.raises(ValueError, match=match) as info:
        build_optim_wrapper(TinyLearnedCodecForTests(), cfg)
    assert '\n' not in str(info.value)


def test_step_refuses_optimizers_that_do_not_split_the_parameters():
    register_all_modules()
    model = TinyLearnedCodecForTests()
    data = dict(inputs=[torch.rand(3, 8, 8)])
    # the main optimizer leaves the synthesis transform out: never trained
    wrappers = build_optim_wrapper(model, codec_optim(main=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2),
        exclude=['*.quantiles', 'generator.synthesis.*'])))
    with pytest.raises(ValueError, match=r"'main' optimizer must hold "
                       r"exactly the non-auxiliary parameters \(it lacks "
                       r"\['generator.synthesis.weight'"):
        model.train_step(data, wrappers)
    only_main = OptimWrapperDict(main=wrappers['main'])
    with pytest.raises(ValueError, match=r"missing \['aux'\]"):
        model.train_step(data, only_main)


def test_trains_under_the_runner(tmp_path):
    """The Runner builds both optimizers from the config and steps them."""
    from mmengine.runner import Runner
    from torch.utils.data import Dataset

    class Images(Dataset):

        def __len__(self):
            return 4

        def __getitem__(self, i):
            gen = torch.Generator().manual_seed(i)
            return dict(inputs=torch.rand(3, 8, 8, generator=gen))

    register_all_modules()
    runner = Runner(
        model=dict(type='TinyLearnedCodecForTests'),
        work_dir=str(tmp_path),
        experiment_name=f'codec_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=Images(), sampler=dict(type='DefaultSampler',
                                           shuffle=False),
            batch_size=2, num_workers=0),
        train_cfg=dict(by_epoch=False, max_iters=3),
        optim_wrapper=codec_optim(),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=100)),
        default_scope='invtoolbox')
    quantiles = runner.model.generator.entropy_bottleneck.quantiles
    start = quantiles.detach().clone()
    runner.train()
    assert runner.iter == 3
    assert not torch.equal(quantiles, start)
