# Copyright (c) invtoolbox contributors. All rights reserved.
"""EntropyBottleneck, GaussianConditional and LowerBound on their own:
construction, quantisation, likelihoods, gradients, coding, errors."""
import pytest
import torch

from invtoolbox.errors import BitstreamError, ShapeError
from invtoolbox.models.entropy_models import (EntropyBottleneck,
                                              GaussianConditional, LowerBound,
                                              get_scale_table)
from invtoolbox.registry import ENTROPY_MODELS


def updated_bottleneck(channels=4, seed=0):
    torch.manual_seed(seed)
    model = EntropyBottleneck(channels)
    model.update()
    return model.eval()


def test_lower_bound_gradient():
    bound = LowerBound(0.1)
    x = torch.tensor([0.05, 0.2, 0.05], requires_grad=True)
    y = bound(x)
    assert torch.equal(y.detach(), torch.tensor([0.1, 0.2, 0.1]))
    # below the bound the gradient passes only when it pushes x up
    (y * torch.tensor([1.0, 1.0, -1.0])).sum().backward()
    assert torch.equal(x.grad, torch.tensor([0.0, 1.0, -1.0]))
    assert list(bound.state_dict()) == ['bound']


def test_registry_builds_both_models():
    bottleneck = ENTROPY_MODELS.build(
        dict(type='EntropyBottleneck', channels=8, filters=(3, 3)))
    assert bottleneck._matrix0.shape == (8, 3, 1)
    assert bottleneck._matrix2.shape == (8, 1, 3)
    assert not hasattr(bottleneck, '_factor2')
    assert bottleneck.quantiles.shape == (8, 1, 3)
    conditional = ENTROPY_MODELS.build(
        dict(type='GaussianConditional', scale_table=[0.2, 1.0, 5.0]))
    assert torch.equal(conditional.scale_table, torch.tensor([0.2, 1.0, 5.0]))


def test_bottleneck_initialisation_is_compressai():
    model = EntropyBottleneck(2, init_scale=10)
    scale = 10**(1 / 5)
    assert torch.allclose(model._matrix1,
                          torch.log(torch.expm1(torch.tensor(1 / scale / 3))))
    assert torch.equal(model.quantiles[0, 0], torch.tensor([-10., 0., 10.]))
    target = torch.log(torch.tensor(2 / 1e-9 - 1))
    torch.testing.assert_close(model.target,
                               torch.stack([-target, 0 * target, target]))
    assert (model._bias0.abs() <= 0.5).all()
    assert not model._factor0.any()


def test_quantize_modes():
    model = EntropyBottleneck(1)
    x = torch.tensor([0.4, 1.6, -2.7])
    means = torch.tensor([0.5])
    assert torch.equal(model.quantize(x, 'dequantize', means),
                       torch.tensor([0.5, 1.5, -2.5]))
    symbols = model.quantize(x, 'symbols', means)
    assert symbols.dtype == torch.int32
    assert torch.equal(symbols, torch.tensor([0, 1, -3], dtype=torch.int32))
    assert torch.equal(model.dequantize(symbols, means),
                       torch.tensor([0.5, 1.5, -2.5]))
    torch.manual_seed(3)
    noisy = model.quantize(x, 'noise', means)
    torch.manual_seed(3)
    noise = torch.empty_like(x).uniform_(-0.5, 0.5)
    assert torch.equal(noisy, x + noise)  # means play no part in noise
    with pytest.raises(ValueError, match="one of .* got 'floor'"):
        model.quantize(x, 'floor')


def test_bottleneck_likelihood_is_a_pmf():
    model = updated_bottleneck(channels=3)
    medians = model._medians().view(1, -1, 1, 1)
    grid = torch.arange(-400, 401, dtype=torch.float32).view(-1, 1, 1, 1)
    _, likelihood = model(grid + medians)
    total = likelihood.sum(dim=0)
    assert ((likelihood >= 1e-9) & (likelihood <= 1)).all()
    assert ((total - 1).abs() < 1e-3).all(), total


def test_bottleneck_gradients():
    torch.manual_seed(0)
    model = EntropyBottleneck(3)
    x = torch.randn(2, 3, 4, 5) * 3
    x_hat, likelihood = model(x, training=True)
    assert x_hat.shape == likelihood.shape == x.shape
    (-likelihood.log2().sum()).backward()
    assert model._matrix0.grad is not None and model._matrix0.grad.any()
    assert model.quantiles.grad is None  # training: noise, no medians
    model.zero_grad()
    model.loss().backward()
    assert model.quantiles.grad.any()
    assert model._matrix0.grad is None or not model._matrix0.grad.any()


def test_bottleneck_round_trip_with_escapes():
    model = updated_bottleneck(channels=4)
    torch.manual_seed(1)
    z = torch.randn(2, 4, 3, 5) * 4
    z[0, 1, 0, 0] = 500.3  # far outside the tables: escapes
    z[1, 2, 1, 1] = -70000.2
    strings = model.compress(z)
    assert len(strings) == 2 and all(isinstance(s, bytes) for s in strings)
    z_hat = model.decompress(strings, z.shape[-2:])
    medians = model._medians().view(1, -1, 1, 1)
    assert torch.equal(z_hat, torch.round(z - medians) + medians)
    eval_hat, _ = model(z)
    assert torch.equal(z_hat, eval_hat)


def test_bottleneck_update_force_and_cache():
    model = updated_bottleneck(channels=2)
    table = model.cdf_table()
    assert model.cdf_table() is table
    with torch.no_grad():
        model.quantiles[:, 0, 2] += 5  # a wider upper range
    assert model.update() is False
    assert model.update(force=True) is True
    assert model.cdf_table() is not table
    assert (model.cdf_length > torch.from_numpy(table.num_symbols + 1)).all()


def test_bottleneck_errors():
    model = EntropyBottleneck(4)
    with pytest.raises(ValueError, match=r'call update\(\)'):
        model.compress(torch.zeros(1, 4, 2, 2))
    with pytest.raises(ShapeError, match=r'takes \(N, 4, H, W\)'):
        model(torch.zeros(1, 3, 2, 2))
    model.update()
    with pytest.raises(ValueError, match='size must be'):
        model.decompress([b''], (2, 2, 2))
    strings = model.compress(torch.zeros(1, 4, 2, 2))
    with pytest.raises(BitstreamError):
        model.decompress([strings[0][:-4]], (2, 2))


def compressai_build_indexes(scales, table, bound):
    """CompressAI 1.1.1's loop."""
    scales = torch.max(scales, torch.tensor(bound))
    indexes = torch.full(scales.shape, len(table) - 1, dtype=torch.int32)
    for s in table[:-1]:
        indexes -= (scales <= s).int()
    return indexes


def test_conditional_build_indexes():
    model = GaussianConditional(scale_table=get_scale_table())
    table = model.scale_table
    scales = torch.cat([
        torch.rand(500) * 300, table, table - 1e-4, table + 1e-4,
        torch.tensor([0.0, -1.0, 0.05, 1e6])
    ])
    expected = compressai_build_indexes(scales, table, 0.11)
    assert torch.equal(model.build_indexes(scales), expected)


def test_conditional_likelihood_is_the_gaussian_mass():
    model = GaussianConditional(scale_table=get_scale_table()).eval()
    torch.manual_seed(0)
    y = torch.randn(2, 3, 4, 4) * 5
    means = torch.randn(2, 3, 4, 4)
    scales = torch.rand(2, 3, 4, 4) * 4 + 0.2
    y_hat, likelihood = model(y, scales, means)
    assert torch.equal(y_hat, torch.round(y - means) + means)
    normal = torch.distributions.Normal(means.double(), scales.double())
    mass = normal.cdf(y_hat.double() + 0.5) - normal.cdf(y_hat.double() - 0.5)
    torch.testing.assert_close(likelihood.double(),
                               mass.clamp(min=1e-9),
                               rtol=1e-4,
                               atol=1e-7)
    # small scales are raised to scale_bound 0.11
    _, tiny = model(torch.zeros(1), torch.tensor([1e-3]))
    _, bounded = model(torch.zeros(1), torch.tensor([0.11]))
    assert torch.equal(tiny, bounded)


def test_conditional_round_trip():
    model = GaussianConditional(scale_table=get_scale_table())
    model.update()
    torch.manual_seed(2)
    scales = torch.rand(2, 5, 3, 3) * 20 + 0.05
    means = torch.randn(2, 5, 3, 3) * 3
    y = means + torch.randn(2, 5, 3, 3) * scales
    y[0, 0, 0, 0] = 1e5  # escape
    indexes = model.build_indexes(scales)
    strings = model.compress(y, indexes, means)
    y_hat = model.decompress(strings, indexes, means)
    assert torch.equal(y_hat, torch.round(y - means) + means)
    with pytest.raises(ShapeError, match='means'):
        model.decompress(strings, indexes, means[:, :2])
    with pytest.raises(ValueError, match='list of bytes'):
        model.decompress(strings[0], indexes)
    with pytest.raises(ValueError, match='one string per batch item'):
        model.decompress(strings[:1], indexes)


def test_conditional_errors():
    with pytest.raises(ValueError, match='ascending'):
        GaussianConditional(scale_table=[1.0, 0.5])
    with pytest.raises(ValueError, match='positive'):
        GaussianConditional(scale_table=[-1.0, 0.5])
    with pytest.raises(ValueError, match='give scale_bound'):
        GaussianConditional(scale_bound=None)
    assert GaussianConditional([0.3, 1.0], scale_bound=None).scale_bound == 0.3
    model = GaussianConditional()
    with pytest.raises(ValueError, match='empty scale_table'):
        model.update()
    with pytest.raises(ValueError, match='empty scale_table'):
        model.build_indexes(torch.ones(3))
    with pytest.raises(ValueError, match=r'call update\(\)'):
        model.compress(torch.zeros(1, 1, 1, 1),
                       torch.zeros(1, 1, 1, 1, dtype=torch.int32))
