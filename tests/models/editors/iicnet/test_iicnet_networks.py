# Copyright (c) invtoolbox contributors. All rights reserved.
"""IICNetNet, ChannelSqueeze and the relation module: layouts, parameter
counts, round trips, the official channel orders and bad input."""
import pytest
import torch

from invtoolbox.errors import ShapeError
from invtoolbox.models.editors.iicnet import (ChannelSqueeze, IICNetNet,
                                              RelationModule, iicnet_layout)
from invtoolbox.models.inn import (HaarDownsampling, Invertible1x1Conv,
                                   PixelUnshuffle)
from invtoolbox.registry import MODELS
from tests.models.editors.iicnet.official_layout import (LAYOUTS,
                                                         PARAM_COUNTS,
                                                         official_shapes)

SMALL = dict(subnet=dict(type='DenseBlock', growth=8), rel_channels=8,
             block_num=2)


def _cfg(config_id):
    n, use_rel, down, order, blocks, out_nc = LAYOUTS[config_id]
    return dict(
        type='IICNetNet', num_images=n, out_channels=out_nc, use_rel=use_rel,
        down=None if down is None else dict(type=down, order=order),
        block_num=blocks)


def perturb(module, std=0.02, seed=1):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * std)
    return module


@pytest.mark.parametrize('config_id', sorted(LAYOUTS))
def test_official_layouts_shapes_and_counts(config_id):
    with torch.device('meta'):
        net = MODELS.build(_cfg(config_id))
    assert len(net.state_dict()) == len(official_shapes(config_id))
    expected = PARAM_COUNTS.get(config_id)
    if expected is not None:
        assert net.num_official_params() == expected
    n, _, down, order, _, out_nc = LAYOUTS[config_id]
    s = 1 if down is None else 2
    assert (net.num_images, net.scale, net.out_channels) == (n, s, out_nc)
    assert net.inn_channels == 3 * n * s * s


def test_layout_rule():
    assert iicnet_layout(5)['split1'] == 3
    assert iicnet_layout(1, 1)['split1'] == 1
    assert iicnet_layout(3, down=dict(type='haar', order='hl'))['split1'] == 9
    assert iicnet_layout(5, down=dict(type='squeeze',
                                      order='ref'))['split1'] == 12


@pytest.mark.parametrize('down', [
    None,
    dict(type='haar', order='hl'),
    dict(type='haar', order='ref'),
    dict(type='squeeze', order='ref'),
    dict(type='squeeze', order='hl', use_conv1x1=False),
])
def test_shapes_and_invertible_core(down):
    torch.manual_seed(0)
    net = perturb(IICNetNet(3, down=down, **SMALL)).eval()
    x = torch.rand(2, 9, 16, 16)
    with torch.no_grad():
        inter = net.embed_intermediates(x)
        s = net.scale
        assert inter['embedding'].shape == (2, 3, 16 // s, 16 // s)
        assert inter['inn'].shape == (2, 9 * s * s, 16 // s, 16 // s)
        # down + couplings are exactly invertible
        back = net.inn(inter['inn'], rev=True)
        assert torch.allclose(back, inter['down'], atol=1e-5)
        if net.down is not None:
            rel = net.down(back, rev=True)
            assert torch.allclose(rel, inter['rel'], atol=1e-5)
        restored = net(inter['embedding'], rev=True)
    assert restored.shape == x.shape


def test_fresh_network_is_group_mean():
    """Zero-initialised last convs: a fresh IICNet embeds the channel-group
    mean and restores copies of it (reference section 1)."""
    net = IICNetNet(2, **SMALL)
    x = torch.rand(1, 6, 8, 8)
    with torch.no_grad():
        e = net(x)
        assert torch.allclose(e, (x[:, :3] + x[:, 3:]) / 2, atol=1e-6)
        assert torch.allclose(net(e, rev=True), e.repeat(1, 2, 1, 1),
                              atol=1e-6)


def test_training_gradients_are_finite():
    torch.manual_seed(0)
    net = perturb(IICNetNet(2, down=dict(type='haar', order='ref'), **SMALL))
    x = torch.rand(2, 6, 8, 8)
    e = net(x)
    loss = e.square().sum() + net(e, rev=True).square().sum()
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_channel_squeeze():
    cs = ChannelSqueeze(12, 3)
    x = torch.rand(2, 12, 4, 4)
    e = cs(x)
    assert torch.allclose(e, x.reshape(2, 4, 3, 4, 4).mean(1))
    assert torch.equal(cs(cs(e, rev=True)), e)  # right inverse, exactly
    assert not torch.allclose(cs(e, rev=True), x)  # information is lost
    with pytest.raises(ValueError, match='divide'):
        ChannelSqueeze(10, 3)
    with pytest.raises(ShapeError, match=r'\(N, 3, H, W\)'):
        cs(x, rev=True)


def test_relation_module_is_two_networks():
    rel = perturb(RelationModule(3, mid_channels=8,
                                 subnet=dict(type='DenseBlock', growth=8)))
    x = torch.rand(1, 9, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(rel(x), rel(x, rev=True))
        # per-image residual: x + 0.2 * tails
        fresh = RelationModule(3, 8, subnet=dict(type='DenseBlock', growth=8))
        assert torch.equal(fresh(x), x)
    assert set(dict(rel.named_children())) == {'forw_rel', 'back_rel'}
    assert len(rel.forw_rel.merge_convs) == 3
    assert rel.forw_rel.merge_convs[0].weight.shape == (8, 24, 3, 3)


def _official_haar(x, order):
    """codes/models/modules/InvDownscaling.py HaarDownsampling, forward."""
    b, c, h, w = x.shape
    weights = torch.ones(4, 1, 2, 2)
    weights[1, 0, 0, 1] = weights[1, 0, 1, 1] = -1
    weights[2, 0, 1, 0] = weights[2, 0, 1, 1] = -1
    weights[3, 0, 1, 0] = weights[3, 0, 0, 1] = -1
    weights = torch.cat([weights] * c, 0)
    out = torch.nn.functional.conv2d(x, weights, stride=2, groups=c) / 4.0
    out = out.reshape(b, c, 4, h // 2, w // 2).transpose(1, 2)
    out = out.reshape(b, c * 4, h // 2, w // 2)
    if order == 'ref':
        forw = [i * c // 3 + j for j in range(c // 3) for i in range(4)]
        out = out.reshape(b, c * 4 // 3, 3, h // 2, w // 2)[:, forw]
        out = out.reshape(b, c * 4, h // 2, w // 2)
    return out


def _official_squeeze(x, order):
    """codes/models/modules/InvDownscaling.py SqueezeLayer.squeeze2d."""
    b, c, h, w = x.shape
    out = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4)
    out = out.reshape(b, 4 * c, h // 2, w // 2)
    if order == 'ref':
        forw = [i * c // 3 + j for j in range(c // 3) for i in range(4)]
        out = out.reshape(b, c * 4 // 3, 3, h // 2, w // 2)[:, forw]
        out = out.reshape(b, c * 4, h // 2, w // 2)
    return out


@pytest.mark.parametrize('order', ['hl', 'ref'])
@pytest.mark.parametrize('kind', ['haar', 'squeeze'])
def test_downscaling_matches_official_channel_order(kind, order):
    net = IICNetNet(3, down=dict(type=kind, order=order, use_conv1x1=False),
                    **SMALL)
    x = torch.rand(2, 9, 8, 8)
    official = _official_haar if kind == 'haar' else _official_squeeze
    assert torch.allclose(net.down(x), official(x, order), atol=1e-7)
    block = net.down[0]
    assert isinstance(block, HaarDownsampling if kind == 'haar' else
                      PixelUnshuffle)


def test_conv1x1_is_the_official_glow_conv():
    """IICNet's InvertibleConv1x1 = Invertible1x1Conv(lu=False): weight (C,
    C), inverse by torch.inverse in float64."""
    net = IICNetNet(1, down=dict(type='squeeze', order='hl'), **SMALL)
    conv = net.down[1]
    assert isinstance(conv, Invertible1x1Conv) and not conv.lu
    w = conv.weight
    assert w.shape == (12, 12)
    assert torch.allclose(w @ w.t(), torch.eye(12), atol=1e-5)  # QR init
    y = torch.rand(1, 12, 4, 4)
    official = torch.nn.functional.conv2d(
        y, torch.inverse(w.double()).float().view(12, 12, 1, 1))
    assert torch.equal(conv(y, rev=True), official)


def test_bad_input():
    net = IICNetNet(2, down=dict(type='haar'), **SMALL)
    with pytest.raises(ShapeError, match=r'\(N, 6, H, W\)'):
        net(torch.rand(1, 9, 8, 8))
    with pytest.raises(ShapeError, match='not divisible by 2'):
        net(torch.rand(1, 6, 7, 8))
    with pytest.raises(ShapeError, match='embedding'):
        net(torch.rand(1, 6, 4, 4), rev=True)
    with pytest.raises(ValueError, match="down type 'wavelet'"):
        IICNetNet(2, down=dict(type='wavelet'))
    with pytest.raises(ValueError, match="down order"):
        IICNetNet(2, down=dict(type='haar', order='abc'))
    with pytest.raises(ValueError, match='unknown down key'):
        IICNetNet(2, down=dict(type='haar', levels=2))
    with pytest.raises(ValueError, match='x2 only'):
        IICNetNet(2, down=dict(type='haar', scale=4))
    with pytest.raises(ValueError, match='no channels'):
        IICNetNet(1, out_channels=3)
    with pytest.raises(ValueError, match='must divide'):
        IICNetNet(1, out_channels=2)
