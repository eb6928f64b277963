# Copyright (c) invtoolbox contributors. All rights reserved.
"""IRN networks: layouts, parameter counts, calls, errors.

Parameter counts are those of the reference table (irn_sain.md section 1.4),
which counts the frozen Haar filters: here they are buffers, so the tests
compare ``num_official_params()`` (parameters + Haar buffers) and check
separately that ``parameters()`` is short by exactly the Haar filters.
"""
import pytest
import torch

from invtoolbox import ShapeError
from invtoolbox.models.editors.irn import (IRNNet, RRDBNet,
                                           VGGStyleDiscriminator)
from invtoolbox.models.inn import (AffineCoupling, Conv1x1Grey,
                                   ConvDownsampling, HaarDownsampling,
                                   InvertibleSequential)
from invtoolbox.registry import MODELS
from .official_layout import official_keys

# (kwargs, official name, official params incl. Haar, Haar levels, layout)
LAYOUTS = [
    (dict(scale=2), 'IRN_x2', 1_668_000, 1, [HaarDownsampling] +
     [AffineCoupling] * 8),
    (dict(scale=4), 'IRN_x4', 4_355_376, 2, ([HaarDownsampling] +
                                             [AffineCoupling] * 8) * 2),
    (dict(scale=8), 'IRN_x8', 11_120_256, 3, ([HaarDownsampling] +
                                              [AffineCoupling] * 8) * 3),
    (dict(scale=3, down_type='conv'), 'IRN_x3', 3_139_029, 0,
     [ConvDownsampling] + [AffineCoupling] * 12),
    (dict(scale=1, out_channels=1, down_type='grey'), 'IRN_color', 1_413_601,
     0, [Conv1x1Grey] + [AffineCoupling] * 8),
]


@pytest.mark.parametrize('kwargs,name,count,haar_levels,layout', LAYOUTS,
                         ids=[case[1] for case in LAYOUTS])
def test_layout_and_parameter_count(kwargs, name, count, haar_levels, layout):
    net = MODELS.build(dict(type='IRNNet', **kwargs))
    assert [type(b) for b in net] == layout
    assert net.num_official_params() == count
    haar = sum(b.numel() for n, b in net.named_buffers()
               if n.endswith('haar_weights'))
    assert haar == 48 * sum(4**k for k in range(haar_levels))
    assert sum(p.numel() for p in net.parameters()) == count - haar
    # the state dict has exactly the official shapes at operations.i -> blocks.i
    official = {
        'blocks.' + k[len('operations.'):]: shape
        for k, shape in official_keys(name)
    }
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == official


def test_coupling_splits_and_channels():
    net = IRNNet(scale=4)
    assert [b.channels for b in net if isinstance(b, AffineCoupling)] == \
        [12] * 8 + [48] * 8
    assert {b.split1 for b in net if isinstance(b, AffineCoupling)} == {3}
    assert net.latent_channels == 45 and net.lr_size(64, 32) == (16, 8)
    grey = IRNNet(scale=1, out_channels=1, down_type='grey')
    assert {b.split1 for b in grey if isinstance(b, AffineCoupling)} == {1}
    assert grey.latent_channels == 2


def _perturb(net, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=gen))
    return net.eval()


def test_x4_is_the_official_op_order():
    """IRN x4 = Haar(3), 8 couplings @12, Haar(12), 8 couplings @48."""
    net = _perturb(IRNNet(scale=4, block_num=[2, 2]))
    manual = InvertibleSequential(
        [dict(type='HaarDownsampling')] + [dict(type='AffineCoupling',
                                                split=3)] * 2 +
        [dict(type='HaarDownsampling')] + [dict(type='AffineCoupling',
                                                split=3)] * 2, (3, 16, 16))
    manual.load_state_dict(net.state_dict())
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        y, logdet = net(x, jac=True)
        assert y.shape == (2, 48, 4, 4) and logdet.shape == (2, )
        assert torch.equal(y, manual(x))
        # channels 0..2 of an untrained x4 are the 4x4 box mean
        plain = IRNNet(scale=4, block_num=[1, 1])
        box = torch.nn.functional.avg_pool2d(x, 4)
        assert torch.allclose(plain(x)[:, :3], box, atol=1e-6)
        x_rec, logdet_rev = net(y, rev=True, jac=True)
    assert (x_rec - x).abs().max() < 1e-5
    assert torch.allclose(logdet + logdet_rev, torch.zeros(2), atol=1e-2)


def test_shape_errors():
    with pytest.raises(ValueError, match='power-of-two'):
        IRNNet(scale=3)
    with pytest.raises(ValueError, match='block_num'):
        IRNNet(scale=4, block_num=[8])
    with pytest.raises(ValueError, match='scale=1'):
        IRNNet(scale=2, down_type='grey', out_channels=1)
    with pytest.raises(ValueError, match='down_type'):
        IRNNet(down_type='wavelet')
    with pytest.raises(ShapeError, match='divisible by 2'):
        IRNNet(block_num=[1])(torch.rand(1, 3, 9, 8))


def test_memory_efficient_matches_plain():
    net = _perturb(IRNNet(block_num=[2]))
    lean = IRNNet(block_num=[2], memory_efficient=True)
    lean.load_state_dict(net.state_dict())
    x = torch.rand(1, 3, 8, 8)
    for model in (net, lean):
        model.train()
        model.zero_grad()
        model(x).square().sum().backward()
    for (name, a), b in zip(net.named_parameters(), lean.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5), name


def test_discriminator_layout_and_sizes():
    disc = VGGStyleDiscriminator()
    names = [n for n, _ in disc.named_children() if n != 'lrelu']
    assert names[:3] == ['conv0_0', 'conv0_1', 'bn0_1']
    assert names[-2:] == ['linear1', 'linear2']
    assert disc.conv0_0.bias is not None and disc.conv0_1.bias is None
    assert disc.linear1.in_features == 512 * 4 * 4
    disc.eval()
    with torch.no_grad():
        assert disc(torch.rand(1, 3, 128, 128)).shape == (1, 1)
        assert disc(torch.rand(1, 3, 144, 144)).shape == (1, 1)
        with pytest.raises(ValueError, match='128 to 159'):
            disc(torch.rand(1, 3, 96, 96))


def test_rrdbnet_count_and_identity_init():
    net = RRDBNet()
    assert sum(p.numel() for p in net.parameters()) == 5_795_843
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == \
        dict(official_keys('CRM_R'))
    small = RRDBNet(mid_channels=8, num_blocks=2, growth_channels=4)
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        # conv5 of every dense block starts at zero: each dense block is the
        # identity and each RRDB scales by 1 + 0.2
        feat = small.conv_first(x)
        assert torch.allclose(small.RRDB_trunk(feat), feat * 1.2**2)
        assert small(x).shape == (1, 3, 6, 6)
