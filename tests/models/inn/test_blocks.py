# Copyright (c) invtoolbox contributors. All rights reserved.
"""Conventions of the individual blocks (channel orders, inits, errors)."""
import math

import pytest
import torch
import torch.nn.functional as F

from invtoolbox import ShapeError
from invtoolbox.models.inn import (SOFT_CLAMPS, ActNorm, AffineCoupling,
                                   ChannelSplit, Conv1x1Grey,
                                   ConvDownsampling, CouplingBase,
                                   HaarDownsampling, Inverse,
                                   Invertible1x1Conv, InvertibleSequential,
                                   PixelUnshuffle, RandomPermutation,
                                   build_invertible)
from invtoolbox.registry import COUPLINGS


# --------------------------------------------------------------------- Haar
def test_haar_irn_convention():
    x = torch.rand(2, 3, 8, 6)
    y, logdet = HaarDownsampling(3)(x, jac=True)
    assert y.shape == (2, 12, 4, 3)
    # LL band = 2x2 box mean, sub-band-major order
    assert torch.allclose(y[:, :3], F.avg_pool2d(x, 2), atol=1e-6)
    a, b = x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]
    c, d = x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]
    assert torch.allclose(y[:, 3:6], (a - b + c - d) / 4, atol=1e-6)
    assert torch.allclose(y[:, 6:9], (a + b - c - d) / 4, atol=1e-6)
    assert torch.allclose(y[:, 9:12], (a - b - c + d) / 4, atol=1e-6)
    assert torch.allclose(logdet, torch.full((2, ), 3 * 8 * 6 / 4 *
                                             math.log(1 / 16)))
    # the fixed filters are in the state dict under the official key
    assert HaarDownsampling(3).state_dict()['haar_weights'].shape == (12, 1,
                                                                      2, 2)


def test_haar_orthonormal_preserves_energy():
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    y, logdet = HaarDownsampling(2, orthonormal=True)(x, jac=True)
    assert torch.allclose(y.square().sum(), x.square().sum())
    assert logdet.item() == 0


def test_haar_group_order_is_frame_major():
    x = torch.rand(1, 6, 4, 4)  # two stacked RGB frames
    grouped = HaarDownsampling(6, group_channels=3)(x)
    frame0 = HaarDownsampling(3)(x[:, :3])
    frame1 = HaarDownsampling(3)(x[:, 3:])
    assert torch.allclose(grouped, torch.cat([frame0, frame1], 1))


def test_haar_rejects_odd_sizes_and_wrong_channels():
    with pytest.raises(ShapeError, match='divisible by 2, got input 5x4'):
        HaarDownsampling(3)(torch.rand(1, 3, 5, 4))
    with pytest.raises(ShapeError, match='expects 3 channels'):
        HaarDownsampling(3)(torch.rand(1, 4, 4, 4))
    with pytest.raises(ShapeError, match='expects 12 channels'):
        HaarDownsampling(3)(torch.rand(1, 3, 4, 4), rev=True)
    with pytest.raises(ShapeError, match='NCHW'):
        HaarDownsampling(3)(torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match='group_channels=2 must divide'):
        HaarDownsampling(3, group_channels=2)


# ------------------------------------------------------------ pixel unshuffle
def test_pixel_unshuffle_orders():
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    per_channel = PixelUnshuffle(2, order='channel')(x)
    assert torch.equal(per_channel, F.pixel_unshuffle(x, 2))
    sub = PixelUnshuffle(2, order='subpixel')(x)
    for dy in range(2):
        for dx in range(2):
            for c in range(2):
                assert torch.equal(sub[:, (dy * 2 + dx) * 2 + c],
                                   x[:, c, dy::2, dx::2])


# ---------------------------------------------------------- ConvDownsampling
def test_conv_downsampling_init():
    x = torch.rand(2, 3, 6, 9)
    y = ConvDownsampling(3, factor=3)(x)
    assert y.shape == (2, 27, 2, 3)
    assert torch.allclose(y[:, :3], F.avg_pool2d(x, 3), atol=1e-6)
    # identity rows: channel block k (k>=1) is the k-th sub-pixel per channel
    assert torch.allclose(y[:, 3:6], x[:, :, 0::3, 1::3])
    # factor 2 is Haar-initialised
    x2 = torch.rand(1, 3, 4, 4)
    assert torch.allclose(ConvDownsampling(3, factor=2)(x2),
                          HaarDownsampling(3)(x2), atol=1e-6)
    with pytest.raises(ShapeError, match='divisible by 3'):
        ConvDownsampling(3)(torch.rand(1, 3, 8, 9))


# ------------------------------------------------------------------- mixing
def test_invertible_1x1_conv_starts_orthogonal_and_seeds():
    for lu in (False, True):
        conv = Invertible1x1Conv(6, lu=lu, seed=4)
        _, logdet = conv(torch.rand(1, 6, 3, 3), jac=True)
        assert abs(logdet.item()) < 1e-4
        again = Invertible1x1Conv(6, lu=lu, seed=4)
        assert torch.equal(conv._matrix(), again._matrix())
    lu_conv = Invertible1x1Conv(6, lu=True, seed=4)
    assert torch.allclose(lu_conv._matrix(),
                          Invertible1x1Conv(6, seed=4)._matrix(), atol=1e-5)


def test_conv1x1_grey_outputs_luma():
    x = torch.rand(1, 3, 4, 4)
    y = Conv1x1Grey()(x)
    luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(y[:, 0], luma, atol=1e-6)
    assert torch.allclose(Conv1x1Grey(rgb_type='BGR')(x.flip(1))[:, 0], luma,
                          atol=1e-6)
    with pytest.raises(ValueError, match='3-channel'):
        Conv1x1Grey(4)


def test_actnorm_data_dependent_init_and_reload():
    norm = ActNorm(3)
    x = torch.randn(8, 3, 5, 5) * 3 + 2
    y = norm(x)
    assert torch.allclose(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(
        y.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)
    reloaded = ActNorm(3)
    reloaded.load_state_dict(norm.state_dict())
    assert bool(reloaded.initialized)
    assert torch.equal(reloaded(x * 5), norm(x * 5))  # no re-initialisation


def test_random_permutation_is_seeded():
    a, b = RandomPermutation(8, seed=1), RandomPermutation(8, seed=1)
    assert torch.equal(a.perm, b.perm)
    assert not torch.equal(a.perm, RandomPermutation(8, seed=2).perm)
    x = torch.rand(1, 8, 2, 2)
    assert torch.equal(a(x, rev=True)[:, a.perm], x)


# ----------------------------------------------------------------- splitting
def test_channel_split_and_concat():
    x = torch.rand(2, 7, 3, 3)
    split = ChannelSplit(7, split=[2, 4, 1])
    parts, logdet = split(x, jac=True)
    assert [p.shape[1] for p in parts] == [2, 4, 1]
    assert torch.equal(split(parts, rev=True), x)
    assert torch.equal(Inverse(split)(parts), x)
    assert logdet.shape == (2, )
    with pytest.raises(ValueError, match='does not divide'):
        ChannelSplit(4, split=[1, 1])
    with pytest.raises(TypeError, match='cannot be chained'):
        InvertibleSequential([dict(type='ChannelSplit')], (4, 2, 2))


# ---------------------------------------------------------------- containers
def test_sequential_records_shapes_and_slices():
    seq = InvertibleSequential(
        [dict(type='HaarDownsampling')] +
        [dict(type='AffineCoupling', split=3)] * 2 +
        [dict(type='HaarDownsampling')] +
        [dict(type='AffineCoupling', split=3)], (3, 16, 8))
    assert seq.shapes == [(3, 16, 8), (12, 8, 4), (12, 8, 4), (12, 8, 4),
                          (48, 4, 2), (48, 4, 2)]
    assert seq.out_channels == 48
    assert seq.output_shape((3, 32, 32)) == (48, 8, 8)
    assert seq.input_shape((48, 8, 8)) == (3, 32, 32)
    tail = seq[3:]
    assert isinstance(tail, InvertibleSequential) and len(tail) == 2
    assert tail.shapes[0] == (12, 8, 4)
    assert tail[0] is seq[3]
    x = torch.rand(1, 3, 16, 8)
    with torch.no_grad():
        assert torch.allclose(tail(seq[:3](x)), seq(x))


def test_sequential_errors_are_one_line():
    with pytest.raises(KeyError, match="'NoSuchBlock' is not a registered"):
        InvertibleSequential([dict(type='NoSuchBlock')], (3, 4, 4))
    with pytest.raises(ShapeError, match=r'block 1 \(HaarDownsampling\).*'
                       r'divisible by 2, got input 3x3'):
        InvertibleSequential([dict(type='HaarDownsampling')] * 2, (3, 6, 6))
    with pytest.raises(ShapeError, match=r'in_shape must be \(C, H, W\)'):
        InvertibleSequential([], (1, 3, 4, 4))


def test_inverse_swaps_directions():
    haar = HaarDownsampling(3)
    inv = Inverse(haar)
    y = torch.rand(1, 12, 2, 2)
    assert torch.equal(inv(y), haar(y, rev=True))
    assert inv.channels == 12 and inv.out_channels == 3
    assert inv.output_shape((12, 2, 2)) == (3, 4, 4)


# ----------------------------------------------------------------- couplings
@pytest.mark.parametrize('name', sorted(COUPLINGS.module_dict))
def test_fresh_couplings_are_identity_maps(name):
    """DenseBlock's zero last conv makes every fresh coupling the identity
    (except Glow's, whose scale is sigmoid(0 + 2))."""
    coupling = COUPLINGS.build(dict(type=name, channels=6, split=2))
    x = torch.rand(1, 6, 4, 4)
    y = coupling(x)
    if name == 'GlowCoupling':
        assert torch.allclose(y[:, 2:], x[:, 2:] * torch.sigmoid(
            torch.tensor(2.)))
    else:
        assert torch.equal(y, x)


@pytest.mark.parametrize('name', ['sigmoid', 'atan', 'tanh'])
def test_soft_clamps_are_bounded(name):
    s = torch.linspace(-100, 100, 101)
    out = SOFT_CLAMPS[name](s, 0.7)
    assert out.abs().max() <= 0.7 + 1e-6
    assert torch.all(out[1:] >= out[:-1])  # monotone


def test_irn_coupling_formula():
    torch.manual_seed(0)
    block = AffineCoupling(5, split=2, subnet=dict(type='DenseBlock',
                                                   growth=4), clamp=0.8)
    for p in block.parameters():
        p.data.normal_(0, 0.1)
    x = torch.rand(2, 5, 3, 3)
    x1, x2 = x[:, :2], x[:, 2:]
    y1 = x1 + block.F(x2)
    s = 0.8 * (torch.sigmoid(block.H(y1)) * 2 - 1)
    y2 = x2 * torch.exp(s) + block.G(y1)
    y, logdet = block(x, jac=True)
    assert torch.allclose(y, torch.cat([y1, y2], 1))
    assert torch.allclose(logdet, s.sum(dim=(1, 2, 3)))


def test_coupling_argument_errors():
    with pytest.raises(ValueError, match='split=6 must be between 1'):
        AffineCoupling(6, split=6)
    with pytest.raises(ValueError, match="unknown clamp_activation 'soft'"):
        AffineCoupling(6, clamp_activation='soft')
    with pytest.raises(TypeError, match='subnet must be a config dict'):
        AffineCoupling(6, subnet=torch.nn.Identity())
    cond = AffineCoupling(4, cond_channels=2)
    with pytest.raises(ShapeError, match='needs a condition c'):
        cond(torch.rand(1, 4, 2, 2))


def test_a_new_coupling_is_a_short_subclass():
    """The docstring example of CouplingBase, registered from a test."""

    @COUPLINGS.register_module(force=True)
    class ShiftOnlyCoupling(CouplingBase):

        def __init__(self, channels, split=None, subnet=None, **kwargs):
            super().__init__(channels, split, subnet, **kwargs)
            self.t = self.build_subnet(self.split2, self.split1)

        def couple(self, x1, x2, c):
            return x1 + self.t(self.cond(x2, c)), x2, None

        def uncouple(self, y1, y2, c):
            return y1 - self.t(self.cond(y2, c)), y2, None

    try:
        block = build_invertible(
            dict(type='ShiftOnlyCoupling', channels=4,
                 subnet=dict(type='ConvBlock', hidden_channels=8)))
        for p in block.parameters():
            p.data.normal_(0, 0.1)
        x = torch.rand(2, 4, 5, 5)
        y, logdet = block(x, jac=True)
        assert not torch.allclose(y, x)
        assert torch.allclose(block(y, rev=True), x, atol=1e-6)
        assert torch.equal(logdet, torch.zeros(2))
    finally:
        COUPLINGS._module_dict.pop('ShiftOnlyCoupling')
