# Copyright (c) invtoolbox contributors. All rights reserved.
"""BaseEditModel: parts from configs, seeded RNG, dispatch, packing, steps;
and the layering rules of the editors built on it."""
import ast
import uuid
from pathlib import Path

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from invtoolbox.models.base_models import (BaseEditModel,
                                           InvertibleRescalingModel,
                                           LearnedCodecMixin, RescalingMixin,
                                           build_module, merge_cfg,
                                           seeded_generator)
from invtoolbox.models.editors import IICNet, IRN, IRNCRM, IRNPlus, SAIN
from invtoolbox.registry import LOSSES, MODELS
from invtoolbox.structures import DataSample

EDITORS = Path(__file__).resolve().parents[3] / 'invtoolbox' / 'models' / \
    'editors'


class ScaleByParameter(BaseEditModel):
    """A minimal editor: ``y = w * x`` trained towards ``2 * x``."""

    TRAIN_CFG_DEFAULTS = dict(seed=None, noise=0.0)
    TEST_CFG_DEFAULTS = dict(clamp=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.weight = nn.Parameter(torch.ones(()))
        self.pixel_loss = self.build(LOSSES, dict(type='L1Loss'),
                                     'pixel_loss')
        self.draws = []

    def loss(self, inputs, data_samples=None):
        rng = self.next_train_generator()
        noise = torch.rand((), generator=rng)
        self.draws.append(float(noise))
        return dict(loss_pix=self.pixel_loss(self.weight * inputs,
                                             2 * inputs))

    def predict(self, inputs, data_samples=None):
        out = self.weight * inputs
        if self.test_cfg['clamp']:
            out = out.clamp(0, 1)
        return self.pack_predictions(
            data_samples, inputs.shape[0], fields=dict(pred_img=out),
            defaults=dict(gt_img=inputs))

    def forward_tensor(self, inputs, data_samples=None):
        return self.weight * inputs


@pytest.fixture
def hub():
    name = f'test_base_{uuid.uuid4().hex}'
    hub = MessageHub.get_instance(name)
    yield hub
    MessageHub._instance_dict.pop(name, None)


def test_cfgs_are_merged_with_the_class_defaults():
    model = ScaleByParameter(train_cfg=dict(noise=0.5))
    assert model.train_cfg == dict(seed=None, noise=0.5)
    assert model.test_cfg == dict(clamp=True)
    with pytest.raises(ValueError, match=r"unknown train_cfg key\(s\) "
                       r"\['nosie'\]; valid keys: \['noise', 'seed'\]"):
        ScaleByParameter(train_cfg=dict(nosie=0.5))
    with pytest.raises(ValueError, match='unknown test_cfg'):
        ScaleByParameter(test_cfg=dict(clip=True))
    assert merge_cfg(None, dict(a=1), 'x', 'Owner') == dict(a=1)


def test_build_module_errors_are_one_line():
    assert build_module(LOSSES, None) is None
    module = nn.Identity()
    assert build_module(LOSSES, module) is module
    with pytest.raises(ValueError, match="unknown pixel_loss type 'L3Loss'"
                       ) as info:
        build_module(LOSSES, dict(type='L3Loss'), 'IRN', 'pixel_loss')
    assert 'L1Loss' in str(info.value) and '\n' not in str(info.value)
    with pytest.raises(ValueError, match="'type' key"):
        build_module(LOSSES, dict(loss_weight=1), 'IRN', 'pixel_loss')
    with pytest.raises(ValueError, match='unknown generator type'):
        MODELS.build(dict(type='IRN', generator=dict(type='IRNNett')))


def test_seeded_generator_streams():
    a = torch.rand(4, generator=seeded_generator(1, 2, 0))
    b = torch.rand(4, generator=seeded_generator(1, 2, 0))
    c = torch.rand(4, generator=seeded_generator(1, 3, 0))
    d = torch.rand(4, generator=seeded_generator(1, 2, 1))
    assert torch.equal(a, b)
    assert not torch.equal(a, c) and not torch.equal(a, d)


def test_training_rng_follows_the_iteration(hub):
    model = ScaleByParameter(train_cfg=dict(seed=7))
    x = torch.rand(1, 1, 2, 2)
    # outside a Runner the model counts its own batches
    model.loss(x)
    model.loss(x)
    assert model.current_iteration() == 2
    expected = [
        float(torch.rand((), generator=seeded_generator(7, it, 0)))
        for it in (0, 1)
    ]
    assert model.draws == expected
    # inside a Runner the message hub's iteration wins (a resumed run
    # draws what an uninterrupted one draws)
    hub.update_info('iter', 41)
    model.loss(x)
    assert model.draws[-1] == float(
        torch.rand((), generator=seeded_generator(7, 41, 0)))
    # seed None: the run's seed (torch.initial_seed)
    torch.manual_seed(123)
    unseeded = ScaleByParameter()
    assert torch.equal(
        torch.rand(3, generator=unseeded.train_generator(5)),
        torch.rand(3, generator=seeded_generator(123, 5, 0)))


def test_mode_dispatch_and_packing():
    model = ScaleByParameter()
    x = torch.rand(2, 1, 2, 2)
    assert set(model(x, mode='loss')) == {'loss_pix'}
    assert torch.equal(model(x, mode='tensor'), x)
    gt = torch.zeros(1, 2, 2)
    samples = [
        DataSample(gt_img=gt, metainfo=dict(key='a')),
        DataSample(metainfo=dict(key='b'))
    ]
    out = model(x, samples, mode='predict')
    assert [o.metainfo['key'] for o in out] == ['a', 'b']
    assert out[0].gt_img is gt  # the pipeline's ground truth wins
    assert torch.equal(out[1].gt_img, x[1])  # else the input
    assert torch.equal(out[1].pred_img, x[1])
    assert len(model(x, mode='predict')) == 2
    with pytest.raises(ValueError, match="mode must be 'loss', 'predict' or "
                       "'tensor', got 'train'"):
        model(x, mode='train')


def test_pack_predictions_keep_and_metainfo():
    samples = [DataSample(lr_img=torch.ones(1), metainfo=dict(key='a'))]
    out = BaseEditModel.pack_predictions(
        samples, 1, fields=dict(pred=torch.zeros(1, 3), none=None),
        keep=('lr_img', 'missing'), metainfo=dict(extra=1))[0]
    assert out.metainfo == dict(key='a', extra=1)
    assert set(out.keys()) == {'pred', 'lr_img'}
    assert samples[0].metainfo == dict(key='a')  # inputs untouched


def test_single_optimizer_train_step_trains(hub):
    model = ScaleByParameter()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    data = dict(inputs=[torch.rand(1, 4, 4) for _ in range(2)])
    log = model.train_step(data, optim)
    assert set(log) == {'loss', 'loss_pix'}
    assert model.weight.item() > 1


def test_several_optimizers_need_a_model_that_uses_them():
    model = ScaleByParameter()
    wrappers = OptimWrapperDict(a=OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1)))
    data = dict(inputs=[torch.rand(1, 4, 4)])
    with pytest.raises(ValueError, match='trains with one optimizer'):
        model.train_step(data, wrappers)
    with pytest.raises(ValueError, match=r"needs an OptimWrapperDict with the "
                       r"optimizers \['a', 'b'\] \(missing \['b'\]\)"):
        model.check_optim_wrappers(wrappers, ['a', 'b'])


def test_the_editors_are_siblings_on_the_base():
    for cls in (IRN, SAIN, IICNet):
        assert issubclass(cls, BaseEditModel)
    assert issubclass(IRN, InvertibleRescalingModel)
    assert issubclass(SAIN, InvertibleRescalingModel)
    assert not issubclass(SAIN, IRN)
    assert not issubclass(IICNet, (IRN, SAIN, RescalingMixin))
    assert issubclass(IRNPlus, IRN) and issubclass(IRNCRM, IRN)  # variants
    for cls in (IRN, SAIN, IICNet):
        assert not issubclass(cls, LearnedCodecMixin)
        # no attribute interception
        assert cls.__setattr__ is nn.Module.__setattr__


def _imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield '.' * node.level + (node.module or '')
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name


def test_no_editor_imports_another_editor():
    algos = sorted(p.name for p in EDITORS.iterdir()
                   if p.is_dir() and not p.name.startswith('_'))
    assert {'irn', 'sain', 'iicnet'} <= set(algos)
    for algo in algos:
        for path in (EDITORS / algo).rglob('*.py'):
            for name in _imported_modules(path):
                for other in algos:
                    if other == algo:
                        continue
                    assert not (
                        name.startswith(f'..{other}')
                        or f'editors.{other}' in name
                    ), f'{path.relative_to(EDITORS)} imports {name}'
