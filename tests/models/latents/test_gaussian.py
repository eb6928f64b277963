# Copyright (c) invtoolbox contributors. All rights reserved.
import math

import pytest
import torch

from invtoolbox.models.latents import BaseLatent, StandardGaussian
from invtoolbox.registry import LATENTS
from tests.helpers import shared_path


def test_build_from_config():
    latent = LATENTS.build(dict(type='StandardGaussian'))
    assert isinstance(latent, StandardGaussian)
    assert isinstance(latent, BaseLatent)
    assert len(list(latent.parameters())) == 0


def test_sample_uses_generator_like_randn():
    latent = StandardGaussian()
    z = latent.sample((2, 9, 4, 5), generator=torch.Generator().manual_seed(7))
    ref = torch.randn((2, 9, 4, 5), generator=torch.Generator().manual_seed(7))
    assert z.shape == (2, 9, 4, 5) and z.dtype == torch.float32
    assert torch.equal(z, ref)
    # another seed gives another draw
    other = latent.sample((2, 9, 4, 5),
                          generator=torch.Generator().manual_seed(8))
    assert not torch.equal(z, other)
    # no generator: the global RNG, as IRN's gaussian_batch
    torch.manual_seed(5)
    z_global = latent.sample([3, 2])
    torch.manual_seed(5)
    assert torch.equal(z_global, torch.randn(3, 2))


def test_sample_scale_dtype_and_zero_scale():
    latent = StandardGaussian()
    base = latent.sample((4, 3), generator=torch.Generator().manual_seed(1))
    scaled = latent.sample((4, 3),
                           generator=torch.Generator().manual_seed(1),
                           scale=0.5)
    torch.testing.assert_close(scaled, 0.5 * base, rtol=0, atol=0)
    zero = latent.sample((4, 3), scale=0.0)
    assert torch.count_nonzero(zero) == 0  # IRN-Color: gaussian_scale = 0
    z64 = latent.sample((2, 2), dtype=torch.float64)
    assert z64.dtype == torch.float64


def test_sample_matches_official_irn_latent():
    """IRN vector: the 'z_gauss_seed2' latent is
    ``torch.randn(z.shape, generator=torch.Generator().manual_seed(2))``."""
    data = torch.load(shared_path('vectors', 'irn_x2.pt'), weights_only=True)
    case = next(c for c in data['cases']
                if c.get('tag') == 'lr_quant+z_gauss_seed2')
    z_ref = case['inputs']['z']
    z = StandardGaussian().sample(
        z_ref.shape, generator=torch.Generator().manual_seed(2))
    assert torch.equal(z, z_ref)


def test_log_prob_matches_torch_distributions():
    latent = StandardGaussian()
    z = torch.randn(3, 2, 4, 4, dtype=torch.float64) * 2
    ref = torch.distributions.Normal(0., 1.).log_prob(z)
    torch.testing.assert_close(latent.log_prob(z, elementwise=True), ref)
    log_p = latent.log_prob(z)
    assert log_p.shape == (3, )
    torch.testing.assert_close(log_p, ref.sum(dim=(1, 2, 3)))
    # forward is log_prob
    torch.testing.assert_close(latent(z), log_p)


def test_nll_reductions_and_bits_per_dim():
    latent = StandardGaussian()
    z = torch.zeros(2, 3, 2, 2)
    dims = 12
    # at z = 0 each element costs 0.5 * log(2 pi) nats
    per_sample = torch.full((2, ), dims * 0.5 * math.log(2 * math.pi))
    torch.testing.assert_close(latent.nll(z, reduction='none'), per_sample)
    torch.testing.assert_close(latent.nll(z), per_sample.mean())
    torch.testing.assert_close(
        latent.nll(z, reduction='sum'), per_sample.sum())
    bpd = latent.nll(z, bits_per_dim=True)
    torch.testing.assert_close(bpd, torch.tensor(0.5 * math.log2(2 * math.pi)))
    with pytest.raises(ValueError, match='reduction'):
        latent.nll(z, reduction='batch')


def test_surrogate_loss_is_official_irn_ce_term():
    latent = StandardGaussian()
    z = torch.randn(2, 9, 8, 8)
    # official IRNModel.loss_forward: torch.sum(z ** 2) / z.shape[0]
    official = torch.sum(z.reshape(2, -1)**2) / 2
    torch.testing.assert_close(latent.surrogate_loss(z), official)
    torch.testing.assert_close(
        latent.surrogate_loss(z, reduction='none'), (z**2).sum(dim=(1, 2, 3)))
    torch.testing.assert_close(
        latent.surrogate_loss(z, reduction='sum'), (z**2).sum())
    # surrogate = 2 * (nll - constant)
    const = z[0].numel() * 0.5 * math.log(2 * math.pi)
    torch.testing.assert_close(
        latent.surrogate_loss(z), 2 * (latent.nll(z) - const))
    with pytest.raises(ValueError, match='reduction'):
        latent.surrogate_loss(z, reduction='avg')


def test_gradients():
    latent = StandardGaussian()
    z = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: latent.log_prob(t), (z, ))
    assert torch.autograd.gradcheck(lambda t: latent.nll(t), (z, ))
    # d/dz sum(z^2)/N = 2 z / N
    latent.surrogate_loss(z).backward()
    torch.testing.assert_close(z.grad, 2 * z.detach() / 2)


def test_invalid_inputs():
    latent = StandardGaussian()
    with pytest.raises(ValueError, match='batch dimension'):
        latent.log_prob(torch.tensor(1.0))
    with pytest.raises(ValueError, match='floating-point'):
        latent.log_prob(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match='negative'):
        latent.sample((2, -1))
    with pytest.raises(ValueError, match='sequence of ints'):
        latent.sample('abc')
