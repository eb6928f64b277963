# Copyright (c) invtoolbox contributors. All rights reserved.
"""Every IICNet config loads, builds its model (the official network of its
config id) and optimizer, and has the official training settings."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from invtoolbox.apis import OFFICIAL_ARCHS
from invtoolbox.registry import MODELS
from invtoolbox.utils import register_all_modules
from tests.helpers import REPO_ROOT

# config -> (official config id, restoration weight, training batch)
CONFIGS = {
    'video_embed': ('st-01', 3.0, 2),
    'video_embed_7f': ('st-04', 3.0, 2),
    'video_embed_down2': ('st-06', 0.4, 2),
    'mono_binocular': ('mono-01', 3.0, 2),
    'dual_view_x2': ('dual-01', 3.0, 2),
    'composition': ('adobe-01', 3.0, 1),
    'hide_1': ('hide-01', 3.0, 2),
    'hide_2': ('hide-02', 3.0, 2),
    'hide_3': ('hide-03', 3.0, 2),
    'hide_4': ('hide-04', 3.0, 2),
    'grayscale': ('supp-gray-01', 3.0, 2),
}


def load(name):
    register_all_modules()
    return Config.fromfile(str(REPO_ROOT / 'configs' / 'iicnet' /
                               f'{name}.py'))


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_builds_the_official_network(name):
    cfg = load(name)
    config_id, restore_weight, batch = CONFIGS[name]
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
        official = MODELS.build(OFFICIAL_ARCHS[f'IICNet_{config_id}'][
            'parts']['generator']['network'])
    assert model.generator.extra_repr() == official.extra_repr()
    assert model.generator.num_official_params() == \
        official.num_official_params()
    shapes = {k: v.shape for k, v in model.generator.state_dict().items()}
    assert shapes == {
        k: v.shape
        for k, v in official.state_dict().items()
    }
    # the official objective
    assert model.embed_loss.loss_weight == 1.0
    assert model.freq_loss.loss_weight == 0.001
    assert model.restore_loss.loss_weight == restore_weight
    assert model.channel_order == 'bgr'
    # the official schedule and data settings
    build_optim_wrapper(model, cfg.optim_wrapper)
    opt = cfg.optim_wrapper
    assert opt.optimizer.lr == 2e-4 and opt.optimizer.weight_decay == 1e-5
    assert tuple(opt.optimizer.betas) == (0.9, 0.999)
    assert opt.clip_grad.max_norm == 10
    assert cfg.param_scheduler.milestones == [100000, 200000, 300000, 400000]
    assert cfg.param_scheduler.gamma == 0.5
    assert cfg.train_cfg.max_iters == 500000
    assert cfg.train_dataloader.batch_size == batch
    pipeline = str(cfg.train_dataloader.dataset)
    assert 'Flip' not in pipeline
    assert cfg.test_evaluator.type == 'RICMetric'
    assert cfg.test_cfg.type == 'MultiTestLoop'


def test_arch_tasks_match_their_networks():
    """Every IICNet arch's task builds and fits its network."""
    register_all_modules()
    for name, spec in OFFICIAL_ARCHS.items():
        if spec['model'] != 'IICNet':
            continue
        with torch.device('meta'):
            model = MODELS.build(
                dict(type='IICNet', task=spec['task'],
                     generator=spec['parts']['generator']['network']))
        assert model.task.scale == spec['scale'], name
