# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from torch import nn

from invtoolbox.utils import register_all_modules


class TwoNets(nn.Module):

    def __init__(self):
        super().__init__()
        self.generator = nn.Conv2d(3, 3, 3)
        self.discriminator = nn.Linear(4, 1)


def config():
    return dict(
        constructor='MultiOptimWrapperConstructor',
        generator=dict(
            type='OptimWrapper',
            optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-5),
            clip_grad=dict(max_norm=10)),
        discriminator=dict(
            type='OptimWrapper',
            optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99))))


def test_one_wrapper_per_submodule():
    register_all_modules()
    model = TwoNets()
    wrappers = build_optim_wrapper(model, config())
    assert isinstance(wrappers, OptimWrapperDict)
    assert set(wrappers.keys()) == {'generator', 'discriminator'}
    g_params = {id(p) for g in wrappers['generator'].optimizer.param_groups
                for p in g['params']}
    assert g_params == {id(p) for p in model.generator.parameters()}
    assert wrappers['discriminator'].optimizer.param_groups[0]['betas'] == (
        0.9, 0.99)
    assert wrappers['generator'].clip_grad_kwargs == dict(max_norm=10)


def test_the_irn_plus_model_trains_with_it(tmp_path):
    """IRN+ under build_optim_wrapper (what the Runner calls)."""
    from mmengine.logging import MessageHub

    from invtoolbox.registry import MODELS
    from invtoolbox.structures import DataSample
    register_all_modules()
    model = MODELS.build(
        dict(type='IRNPlus',
             generator=dict(type='IRNNet', scale=4, block_num=[1, 1],
                            subnet=dict(type='DenseBlock', growth=4)),
             discriminator=dict(type='VGGStyleDiscriminator', mid_channels=2),
             train_cfg=dict(seed=0, disc_init_steps=0)))
    wrappers = build_optim_wrapper(model, config())
    hub = MessageHub.get_instance('test_multi_optim')
    hub.update_info('iter', 3)
    hr = torch.rand(1, 3, 128, 128)
    data = dict(inputs=[hr[0]],
                data_samples=[DataSample(
                    gt_img=hr[0],
                    lr_img=torch.nn.functional.avg_pool2d(hr, 4)[0])])
    before = [p.clone() for p in model.generator.parameters()]
    log = model.train_step(data, wrappers)
    assert any(k.startswith('loss_gan') or 'gan' in k for k in log), log
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.generator.parameters()))


@pytest.mark.parametrize('cfg,match', [
    (dict(constructor='MultiOptimWrapperConstructor', encoder=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))),
     "no sub-module 'encoder'"),
    (dict(constructor='MultiOptimWrapperConstructor', generator=1),
     'are not optimizer wrapper configs'),
])
def test_errors(cfg, match):
    register_all_modules()
    with pytest.raises(ValueError, match=match):
        build_optim_wrapper(TwoNets(), cfg)
