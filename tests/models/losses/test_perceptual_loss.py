# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch
from torch import nn

from invtoolbox.models.losses import (CharbonnierLoss, PerceptualLoss,
                                      VGGFeatureExtractor)
from invtoolbox.models.losses.perceptual_loss import vgg_layer_names
from invtoolbox.registry import LOSSES

# torchvision's vgg19 / vgg16 ``features`` indices that hold a Conv2d
VGG19_CONVS = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
VGG16_CONVS = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]


class _TinyFeatureExtractor(nn.Module):
    """A pluggable extractor: two layers, returns {'a': f1, 'b': f2}.

    Used through ``dict(type=_TinyFeatureExtractor)`` (mmengine builds a
    class given as ``type``), so the test does not add an entry to the
    shared ``LOSSES`` registry.
    """

    def __init__(self, layer_ids=('a', 'b')):
        super().__init__()
        self.layer_ids = list(layer_ids)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x):
        a = torch.tanh(self.conv(x))
        return {'a': a, 'b': self.pool(a)}


def test_layer_indexing_is_torchvision_s():
    names = vgg_layer_names('vgg19')
    assert len(names) == 37
    assert [i for i, n in enumerate(names) if n.startswith('conv')] == \
        VGG19_CONVS
    assert names[34] == 'conv5_4' and names[35] == 'relu5_4'
    assert names[36] == 'pool5'
    names16 = vgg_layer_names('vgg16')
    assert len(names16) == 31
    assert [i for i, n in enumerate(names16) if n.startswith('conv')] == \
        VGG16_CONVS
    bn = vgg_layer_names('vgg19_bn')
    assert len(bn) == 53 and bn[49] == 'conv5_4' and bn[50] == 'bn5_4'


@pytest.fixture(scope='module')
def vgg19_to_conv5_4():
    """One randomly initialised VGG19 up to ``conv5_4`` (building it is the
    slow part of these tests)."""
    return VGGFeatureExtractor(layer_ids=['34'], pretrained=False)


def test_vgg19_state_dict_keys_and_shapes(vgg19_to_conv5_4):
    ext = vgg19_to_conv5_4
    keys = {k for k in ext.features.state_dict()}
    expected = {f'{i}.{p}' for i in VGG19_CONVS for p in ('weight', 'bias')}
    assert keys == expected
    sd = ext.features.state_dict()
    assert sd['0.weight'].shape == (64, 3, 3, 3)
    assert sd['34.weight'].shape == (512, 512, 3, 3)
    # only the layers up to the last requested one are built
    short = VGGFeatureExtractor(layer_ids=['relu1_2'], pretrained=False)
    assert len(short.features) == 4


def _torchvision_like_file(tmp_path, layout):
    """A VGG19 state dict saved in one of the layouts people have.

    The source stack goes up to ``pool3`` (index 18) while the extractors
    below stop at index 10, so the file always holds feature tensors the
    extractor does not build (as a full torchvision file does).
    """
    src = VGGFeatureExtractor(
        layer_ids=['pool3'], pretrained=False, use_input_norm=False)
    features = src.features.state_dict()
    if layout == 'full':
        state = {f'features.{k}': v for k, v in features.items()}
        state['classifier.0.weight'] = torch.zeros(2, 3)
        state['classifier.0.bias'] = torch.zeros(2)
    elif layout == 'features_prefix_only':
        state = {f'features.{k}': v for k, v in features.items()}
    elif layout == 'features_module':
        state = dict(features)
    else:  # DataParallel-wrapped checkpoint dict
        state = {
            'state_dict': {
                f'module.features.{k}': v
                for k, v in features.items()
            }
        }
    path = tmp_path / f'vgg19_{layout}.pth'
    torch.save(state, path)
    return src, path


@pytest.mark.parametrize(
    'layout', ['full', 'features_prefix_only', 'features_module', 'wrapped'])
def test_loads_torchvision_state_dicts(tmp_path, layout):
    src, path = _torchvision_like_file(tmp_path, layout)
    ext = VGGFeatureExtractor(
        layer_ids=['conv2_1', '10'],
        weights_path=str(path),
        use_input_norm=False)
    assert len(ext.features) == 11
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        feats = ext(x)
        expected = x
        for i in range(11):
            expected = src.features[i](expected)
            if i == 5:
                conv2_1 = expected
    assert set(feats) == {'conv2_1', '10'}
    torch.testing.assert_close(feats['conv2_1'], conv2_1)
    torch.testing.assert_close(feats['10'], expected)


def test_missing_or_wrong_weights_fail_clearly(tmp_path):
    missing = tmp_path / 'nowhere' / 'vgg19.pth'
    with pytest.raises(FileNotFoundError) as err:
        VGGFeatureExtractor(weights_path=str(missing))
    msg = str(err.value)
    assert str(missing) in msg and '\n' not in msg
    assert "vgg19(weights='IMAGENET1K_V1')" in msg
    with pytest.raises(ValueError, match='pretrained=False'):
        VGGFeatureExtractor()
    with pytest.raises(ValueError, match='contradicts'):
        VGGFeatureExtractor(weights_path='x.pth', pretrained=False)
    # vgg16 weights do not fit vgg19: features.16 is a ReLU in vgg16 and
    # conv3_4 in vgg19; features.19 is conv4_2 (512 -> 512) in vgg16 and
    # conv4_1 (256 -> 512) in vgg19
    vgg16 = VGGFeatureExtractor(
        arch='vgg16', layer_ids=['conv4_2'], pretrained=False)
    path = tmp_path / 'vgg16.pth'
    torch.save(
        {
            f'features.{k}': v
            for k, v in vgg16.features.state_dict().items()
        }, path)
    with pytest.raises(ValueError, match=r'lacks .*features\.16'):
        VGGFeatureExtractor(layer_ids=['conv3_4'], weights_path=str(path))
    del_16 = {
        f'features.{k}': v
        for k, v in vgg16.features.state_dict().items()
    }
    del_16['features.16.weight'] = torch.zeros(256, 256, 3, 3)
    del_16['features.16.bias'] = torch.zeros(256)
    torch.save(del_16, path)
    with pytest.raises(ValueError, match=r'features\.19.*wrong arch'):
        VGGFeatureExtractor(layer_ids=['conv4_1'], weights_path=str(path))
    not_a_state_dict = tmp_path / 'list.pth'
    torch.save([1, 2], not_a_state_dict)
    with pytest.raises(ValueError, match='not a state dict'):
        VGGFeatureExtractor(weights_path=str(not_a_state_dict))
    # a damaged file and a file whose pickle would run code: one line each,
    # through the one checkpoint-trust policy
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match='truncated.pth') as info:
        VGGFeatureExtractor(weights_path=str(truncated))
    assert '\n' not in str(info.value)
    marker = tmp_path / 'ran'

    class RunsCode:

        def __reduce__(self):
            import os
            return (os.system, (f'touch {marker}', ))

    evil = tmp_path / 'evil.pth'
    torch.save({'features.0.weight': RunsCode()}, evil)
    with pytest.raises(ValueError, match='system') as info:
        VGGFeatureExtractor(weights_path=str(evil))
    assert '\n' not in str(info.value) and not marker.exists()


def test_unknown_arch_or_layer():
    with pytest.raises(ValueError, match="'vgg18'"):
        VGGFeatureExtractor(arch='vgg18', pretrained=False)
    with pytest.raises(ValueError, match="'conv6_1'"):
        VGGFeatureExtractor(layer_ids=['conv6_1'], pretrained=False)
    with pytest.raises(ValueError, match="'37'"):
        VGGFeatureExtractor(layer_ids=['37'], pretrained=False)
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        VGGFeatureExtractor(
            layer_ids=['0'], pretrained=False)(
                torch.rand(1, 1, 8, 8))


def test_frozen_normalised_and_differentiable_in_the_input():
    ext = VGGFeatureExtractor(
        arch='vgg11', layer_ids=['relu2_1'], pretrained=False)
    assert all(not p.requires_grad for p in ext.parameters())
    ext.train()
    assert not ext.training  # frozen extractors stay in eval mode
    plain = VGGFeatureExtractor(
        arch='vgg11',
        layer_ids=['relu2_1'],
        pretrained=False,
        use_input_norm=False)
    plain.features.load_state_dict(ext.features.state_dict())
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = ext(x)['relu2_1']
    torch.testing.assert_close(out, plain((x - mean) / std)['relu2_1'])
    out.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in ext.parameters())
    # normalisation constants are not saved in checkpoints
    assert 'mean' not in ext.state_dict()
    trainable = VGGFeatureExtractor(
        arch='vgg11', layer_ids=['0'], pretrained=False, requires_grad=True)
    assert all(p.requires_grad for p in trainable.parameters())
    assert trainable.train().training


def test_perceptual_loss_with_vgg_by_hand():
    loss = LOSSES.build(
        dict(
            type='PerceptualLoss',
            layer_weights={
                'relu1_2': 0.5,
                '7': 2.0
            },
            feature_extractor=dict(
                type='VGGFeatureExtractor', arch='vgg19', pretrained=False),
            criterion='mse',
            loss_weight=3.0))
    ext = loss.feature_extractor
    assert ext.layer_ids == ['relu1_2', '7'] and ext.use_input_norm
    pred = torch.rand(2, 3, 12, 12, requires_grad=True)
    target = torch.rand(2, 3, 12, 12)
    with torch.no_grad():
        fp, ft = ext(pred), ext(target)
    expected = 3.0 * (0.5 * ((fp['relu1_2'] - ft['relu1_2'])**2).mean() + 2.0 *
                      ((fp['7'] - ft['7'])**2).mean())
    value = loss(pred, target)
    torch.testing.assert_close(value, expected)
    value.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert loss(target, target).item() == 0


def test_irn_plus_feature_loss_configuration(vgg19_to_conv5_4):
    """IRN+: official ``ReconstructionLoss('l1')`` (Charbonnier, batch sum)
    on VGG19 ``conv5_4`` features (layer 34, before ReLU)."""
    loss = PerceptualLoss(
        layer_weights={'34': 1.0},
        feature_extractor=vgg19_to_conv5_4,
        criterion=dict(type='CharbonnierLoss', reduction='batch_sum'),
        loss_weight=0.01)
    pred, target = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        real = loss.feature_extractor(target)['34']
        fake = loss.feature_extractor(pred)['34']
        assert real.shape == (1, 512, 2, 2)
        assert (real < 0).any()  # pre-activation features
        diff = real - fake
        official = 0.01 * torch.mean(
            torch.sum(torch.sqrt(diff * diff + 1e-6), (1, 2, 3)))
        torch.testing.assert_close(loss(pred, target), official)


def test_pluggable_extractor_and_gradcheck():
    loss = LOSSES.build(
        dict(
            type='PerceptualLoss',
            layer_weights={
                'a': 1.0,
                'b': 0.5
            },
            feature_extractor=dict(type=_TinyFeatureExtractor),
            criterion='charbonnier',
            reduction='sum'))
    loss = loss.double()
    pred = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    target = torch.rand(1, 3, 4, 4, dtype=torch.float64)
    ext = loss.feature_extractor
    fp, ft = ext(pred), ext(target)
    charb = CharbonnierLoss(reduction='sum')
    expected = charb(fp['a'], ft['a']) + 0.5 * charb(fp['b'], ft['b'])
    torch.testing.assert_close(loss(pred, target), expected)
    assert torch.autograd.gradcheck(lambda p: loss(p, target), (pred, ))
    # an already built module works too
    built = PerceptualLoss(
        layer_weights={'b': 1.0}, feature_extractor=_TinyFeatureExtractor())
    assert built(target.float(), target.float()).item() == 0


def test_perceptual_loss_invalid_arguments():
    tiny = dict(type=_TinyFeatureExtractor)
    with pytest.raises(ValueError, match="'l3'"):
        PerceptualLoss(feature_extractor=tiny, criterion='l3')
    with pytest.raises(ValueError, match="'avg'"):
        PerceptualLoss(feature_extractor=tiny, reduction='avg')
    with pytest.raises(ValueError, match='layer_weights'):
        PerceptualLoss(layer_weights={}, feature_extractor=tiny)
    with pytest.raises(ValueError, match='use_input_norm'):
        PerceptualLoss(
            layer_weights={'0': 1.0},
            feature_extractor=dict(
                type='VGGFeatureExtractor',
                pretrained=False,
                use_input_norm=False))
    loss = PerceptualLoss(layer_weights={'c': 1.0}, feature_extractor=tiny)
    with pytest.raises(ValueError, match="no layer 'c'"):
        loss(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match='does not match'):
        loss(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 6))
