# Copyright (c) invtoolbox contributors. All rights reserved.
"""Round trip, log-det and Jacobian checks for every registered coupling and block.

Each registered class must appear in ``SPECS`` (a test fails otherwise), so a
new block cannot be registered without these checks.
"""
import pytest
import torch
from torch.autograd.functional import jacobian

from invtoolbox.models.inn import InvertibleModule, build_invertible
from invtoolbox.registry import COUPLINGS, INV_BLOCKS

SMALL_DENSE = dict(type='DenseBlock', growth=8)


def coupling(type_, channels=4, split=None, **kwargs):
    return dict(
        type=type_, channels=channels, split=split, subnet=SMALL_DENSE,
        **kwargs)


# name -> list of (config, list of (C, H, W) input shapes, tiny (C, H, W) for the Jacobian)
SPECS = {
    'AdditiveCoupling': [(coupling('AdditiveCoupling'), [(4, 8, 8), (4, 5, 7)],
                          (4, 2, 2))],
    'AffineCoupling': [
        (coupling('AffineCoupling', 12, 3), [(12, 8, 8), (12, 6, 10)],
         (12, 1, 2)),
        (coupling('AffineCoupling', 5, 2, clamp=2.0, clamp_activation='atan'),
         [(5, 8, 8)], (5, 2, 2)),
        (coupling('AffineCoupling', 4, 1, clamp=0.8,
                  clamp_activation='tanh'), [(4, 7, 9)], (4, 2, 2)),
        (coupling('AffineCoupling', 4, 2, clamp_activation='none'),
         [(4, 8, 8)], (4, 2, 2)),
        (dict(type='AffineCoupling', channels=6, split=3,
              subnet=dict(type='ResBlock', hidden_channels=8, num_blocks=1)),
         [(6, 8, 8)], (6, 2, 2)),
        (dict(type='AffineCoupling', channels=6, split=3,
              subnet=dict(type='ConvBlock', hidden_channels=8)),
         [(6, 8, 8)], (6, 2, 2)),
    ],
    'RealNVPCoupling': [
        (coupling('RealNVPCoupling', 4), [(4, 8, 8), (4, 3, 5)], (4, 2, 2)),
        (coupling('RealNVPCoupling', 12, 3, clamp_activation='sigmoid'),
         [(12, 8, 8)], (12, 1, 2)),
    ],
    'GlowCoupling': [(coupling('GlowCoupling', 4), [(4, 8, 8), (4, 6, 6)],
                      (4, 2, 2))],
    'EnhancedAffineCoupling': [(coupling('EnhancedAffineCoupling', 12, 3),
                                [(12, 8, 8), (12, 4, 6)], (12, 1, 2))],
    'HaarDownsampling': [
        (dict(type='HaarDownsampling', channels=3), [(3, 8, 8), (3, 4, 6)],
         (3, 2, 2)),
        (dict(type='HaarDownsampling', channels=2, orthonormal=True),
         [(2, 8, 8)], (2, 2, 4)),
        (dict(type='HaarDownsampling', channels=6, group_channels=3),
         [(6, 8, 8)], (6, 2, 2)),
        (dict(type='HaarDownsampling', channels=2, group_channels=1),
         [(2, 8, 8)], (2, 2, 2)),
    ],
    'PixelUnshuffle': [
        (dict(type='PixelUnshuffle', channels=3), [(3, 8, 8)], (3, 2, 2)),
        (dict(type='PixelUnshuffle', channels=2, factor=3, order='subpixel'),
         [(2, 9, 6)], (2, 3, 3)),
        (dict(type='PixelUnshuffle', channels=6, order='subpixel',
              group_channels=3), [(6, 8, 8)], (6, 2, 2)),
    ],
    'ConvDownsampling': [
        (dict(type='ConvDownsampling', channels=3, factor=3), [(3, 9, 9),
                                                               (3, 6, 12)],
         (3, 3, 3)),
        (dict(type='ConvDownsampling', channels=2, factor=2), [(2, 8, 8)],
         (2, 2, 2)),
    ],
    'Invertible1x1Conv': [
        (dict(type='Invertible1x1Conv', channels=5), [(5, 8, 8)], (5, 2, 2)),
        (dict(type='Invertible1x1Conv', channels=4, lu=True), [(4, 8, 8)],
         (4, 2, 2)),
    ],
    'Conv1x1Grey': [
        (dict(type='Conv1x1Grey'), [(3, 8, 8), (3, 5, 3)], (3, 2, 2)),
        (dict(type='Conv1x1Grey', rgb_type='BGR'), [(3, 4, 4)], (3, 2, 2)),
    ],
    'ActNorm': [(dict(type='ActNorm', channels=4), [(4, 8, 8)], (4, 2, 2))],
    'RandomPermutation': [(dict(type='RandomPermutation', channels=6,
                                seed=3), [(6, 4, 4)], (6, 2, 2))],
    'Inverse': [
        (dict(type='Inverse', module=dict(type='HaarDownsampling', channels=2)),
         [(8, 4, 4)], (8, 1, 1)),
        (dict(type='Inverse', module=coupling('AffineCoupling', 4, 1)),
         [(4, 6, 6)], (4, 2, 2)),
    ],
    'InvertibleSequential': [
        (dict(type='InvertibleSequential',
              in_shape=(3, 8, 8),
              blocks=[
                  dict(type='HaarDownsampling'),
                  dict(type='AffineCoupling', split=3, subnet=SMALL_DENSE),
                  dict(type='Invertible1x1Conv', lu=True),
                  dict(type='ActNorm'),
                  dict(type='RealNVPCoupling', subnet=SMALL_DENSE),
                  dict(type='HaarDownsampling'),
                  dict(type='EnhancedAffineCoupling', split=3,
                       subnet=SMALL_DENSE),
              ]), [(3, 8, 8), (3, 12, 4)], (3, 4, 4)),
        (dict(type='InvertibleSequential', in_shape=(3, 6, 6),
              memory_efficient=True,
              blocks=[
                  dict(type='ConvDownsampling', factor=3),
                  dict(type='AffineCoupling', split=3, subnet=SMALL_DENSE),
                  dict(type='Inverse', module=dict(type='PixelUnshuffle',
                                                   channels=3, factor=3)),
              ]), [(3, 6, 6)], (3, 6, 6)),
    ],
}
# Multi-output block, tested in test_blocks.py.
NOT_CHAINABLE = {'ChannelSplit'}


def perturb(module: torch.nn.Module, std: float = 0.02, seed: int = 1):
    """Move every parameter off its (often identity-making) init."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std)
    return module


def build(cfg, dtype=torch.float32):
    torch.manual_seed(0)
    module = build_invertible(dict(cfg)).to(dtype)
    perturb(module)
    # data-dependent init of ActNorm layers on a first batch
    channels = module.channels
    with torch.no_grad():
        module(torch.rand(4, channels, *_spatial_for(cfg), dtype=dtype))
    return module


def _spatial_for(cfg):
    for entry in SPECS[cfg['type']]:
        if entry[0] is cfg:
            return entry[1][0][1:]
    raise AssertionError('unknown spec')


def _all_cases():
    for name, entries in SPECS.items():
        for i, (cfg, shapes, tiny) in enumerate(entries):
            yield pytest.param(cfg, shapes, tiny, id=f'{name}-{i}')


ALL_CASES = list(_all_cases())


def test_every_registered_block_has_a_spec():
    registered = set(COUPLINGS.module_dict) | set(INV_BLOCKS.module_dict)
    missing = registered - set(SPECS) - NOT_CHAINABLE
    assert not missing, f'add round-trip specs for {sorted(missing)}'


@pytest.mark.parametrize('cfg,shapes,tiny', ALL_CASES)
@pytest.mark.parametrize('dtype,tol', [(torch.float32, 1e-5),
                                       (torch.float64, 1e-10)])
def test_round_trip(cfg, shapes, tiny, dtype, tol):
    module = build(cfg, dtype)
    assert isinstance(module, InvertibleModule)
    gen = torch.Generator().manual_seed(5)
    for batch, shape in zip((2, 1, 3), shapes):
        x = torch.rand(batch, *shape, generator=gen, dtype=dtype)
        with torch.no_grad():
            y = module(x)
            assert y.shape[1:] == module.output_shape(shape)
            x_rec = module(y, rev=True)
        assert x_rec.shape == x.shape
        err = (x_rec - x).abs().max().item()
        assert err <= tol, f'round-trip error {err:.3g} > {tol}'
        # the map is not the identity (weights were perturbed)
        if y.shape == x.shape:
            assert not torch.allclose(y, x)


@pytest.mark.parametrize('cfg,shapes,tiny', ALL_CASES)
def test_logdet_matches_autograd_jacobian(cfg, shapes, tiny):
    module = build(cfg, torch.float64)
    x = torch.rand(1, *tiny, dtype=torch.float64,
                   generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        y, logdet = module(x, jac=True)
    assert logdet.shape == (1, )
    assert y.numel() == x.numel(), 'invertible maps keep the element count'

    def f(flat):
        return module(flat.view_as(x)).reshape(-1)

    jac_matrix = jacobian(f, x.reshape(-1))
    sign, expected = torch.linalg.slogdet(jac_matrix)
    assert sign != 0
    assert torch.allclose(logdet, expected.reshape(1), atol=1e-8, rtol=1e-8), (
        f'logdet {logdet.item()} vs autograd {expected.item()}')


@pytest.mark.parametrize('cfg,shapes,tiny', ALL_CASES)
def test_forward_and_inverse_logdets_cancel(cfg, shapes, tiny):
    module = build(cfg, torch.float64)
    x = torch.rand(3, *shapes[0], dtype=torch.float64)
    with torch.no_grad():
        y, ld_fwd = module(x, jac=True)
        x_rec, ld_inv = module(y, rev=True, jac=True)
    assert ld_fwd.shape == ld_inv.shape == (3, )
    assert torch.allclose(ld_fwd + ld_inv, torch.zeros(3, dtype=x.dtype),
                          atol=1e-8 * max(1.0, ld_fwd.abs().max().item()))
    assert torch.allclose(x_rec, x, atol=1e-10)


@pytest.mark.parametrize('cfg,shapes,tiny', ALL_CASES)
def test_gradients_are_finite(cfg, shapes, tiny):
    module = build(cfg)
    x = torch.rand(2, *shapes[0], requires_grad=True)
    y, logdet = module(x, jac=True)
    (y.square().sum() + logdet.sum()).backward()
    assert torch.isfinite(x.grad).all()
    for name, p in module.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
