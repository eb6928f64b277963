# Copyright (c) invtoolbox contributors. All rights reserved.
import math

import pytest
import torch

from invtoolbox.models.latents import GaussianMixture, StandardGaussian
from invtoolbox.models.losses import LatentNLLLoss, RateLoss
from invtoolbox.registry import LOSSES

# ---------------------------------------------------------------------------
# LatentNLLLoss
# ---------------------------------------------------------------------------


def test_surrogate_is_official_irn_ce_loss():
    z = torch.randn(2, 9, 6, 6)
    loss = LOSSES.build(dict(type='LatentNLLLoss'))
    assert isinstance(loss.latent, StandardGaussian)
    # IRNModel.loss_forward: lambda_ce_forw * torch.sum(z ** 2) / z.shape[0]
    torch.testing.assert_close(loss(z), torch.sum(z**2) / 2)
    weighted = LOSSES.build(
        dict(type='LatentNLLLoss', mode='surrogate', loss_weight=3.0))
    torch.testing.assert_close(weighted(z), 3.0 * torch.sum(z**2) / 2)
    per_sample = LatentNLLLoss(reduction='none')(z)
    torch.testing.assert_close(per_sample, (z**2).sum(dim=(1, 2, 3)))


def test_nll_mode_standard_gaussian_by_hand():
    z = torch.randn(3, 2, 4, 4)
    loss = LatentNLLLoss(mode='nll')
    per_sample = (0.5 * z**2 + 0.5 * math.log(2 * math.pi)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(loss(z), per_sample.mean())
    bpd = LatentNLLLoss(mode='nll', bits_per_dim=True, reduction='sum')(z)
    torch.testing.assert_close(bpd, (per_sample / (32 * math.log(2))).sum())


def test_nll_mode_with_a_shared_learnable_mixture():
    gmm = GaussianMixture(3)
    with torch.no_grad():  # distinct components (the init is ~1e-4)
        gmm.gmm_para.copy_(
            torch.tensor([[0.1, -0.2, 0.3], [-1.0, 0.0, 1.5], [0.2, -0.5,
                                                               0.4]]))
    loss = LatentNLLLoss(latent=gmm, mode='nll')
    assert loss.latent is gmm
    z = torch.randn(2, 3, 4, 4, requires_grad=True)
    value = loss(z)
    torch.testing.assert_close(value, -gmm.log_prob(z).mean())
    value.backward()
    assert torch.isfinite(gmm.gmm_para.grad).all()
    assert (gmm.gmm_para.grad.abs().sum(dim=1) > 0).all()
    assert torch.isfinite(z.grad).all()
    built = LOSSES.build(
        dict(
            type='LatentNLLLoss',
            latent=dict(type='GaussianMixture', num_components=2),
            mode='nll'))
    assert isinstance(built.latent, GaussianMixture)
    assert built.latent.num_components == 2


def test_latent_loss_gradcheck():
    z = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    for mode in ('surrogate', 'nll'):
        loss = LatentNLLLoss(mode=mode, loss_weight=0.5)
        assert torch.autograd.gradcheck(loss, (z, ))
    z.grad = None
    LatentNLLLoss()(z).backward()
    torch.testing.assert_close(z.grad, 2 * z.detach() / 2)


def test_latent_loss_invalid_arguments():
    with pytest.raises(ValueError, match="'ce'"):
        LatentNLLLoss(mode='ce')
    with pytest.raises(ValueError, match="'batch_sum'"):
        LatentNLLLoss(reduction='batch_sum')
    with pytest.raises(ValueError, match="mode='nll'"):
        LatentNLLLoss(latent=dict(type='GaussianMixture'))
    with pytest.raises(ValueError, match="mode='nll'"):
        LatentNLLLoss(bits_per_dim=True)
    with pytest.raises(ValueError, match='BaseLatent'):
        LatentNLLLoss(latent=torch.nn.Identity())


# ---------------------------------------------------------------------------
# RateLoss
# ---------------------------------------------------------------------------


def _likelihoods():
    g = torch.Generator().manual_seed(0)
    return {
        'y': torch.rand(2, 8, 4, 4, generator=g) * 0.9 + 0.05,
        'z': torch.rand(2, 4, 2, 2, generator=g) * 0.9 + 0.05,
    }


def test_rate_matches_compressai_formula():
    lik = _likelihoods()
    image = torch.rand(2, 3, 16, 16)
    num_pixels = 2 * 16 * 16
    # CompressAI RateDistortionLoss: sum(log(l).sum() / (-log 2 * num_pixels))
    expected = sum(
        torch.log(v).sum() / (-math.log(2) * num_pixels) for v in lik.values())
    loss = LOSSES.build(dict(type='RateLoss'))
    torch.testing.assert_close(loss(lik, image), expected)
    torch.testing.assert_close(loss(list(lik.values()), num_pixels), expected)
    torch.testing.assert_close(loss(tuple(lik.values()), image), expected)
    torch.testing.assert_close(
        RateLoss(loss_weight=0.5)(lik, image), 0.5 * expected)
    single = loss(lik['y'], image)
    torch.testing.assert_close(single,
                               -torch.log2(lik['y']).sum() / num_pixels)


def test_rate_by_hand_and_per_image():
    # likelihood 1/2 everywhere = 1 bit per element
    lik = {'y': torch.full((2, 4, 2, 2), 0.5), 'z': torch.ones(2, 1, 1, 1)}
    image = torch.zeros(2, 3, 8, 8)
    torch.testing.assert_close(RateLoss()(lik, image), torch.tensor(16 / 64))
    lik['y'][1] = 0.25  # image 1 costs 2 bits per element
    per_image = RateLoss(reduction='none')(lik, image)
    torch.testing.assert_close(per_image, torch.tensor([16 / 64, 32 / 64]))
    torch.testing.assert_close(RateLoss()(lik, image), per_image.mean())


def test_rate_gradient():
    lik = torch.rand(2, 3, 2, 2, dtype=torch.float64) * 0.8 + 0.1
    lik.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: RateLoss()(t, 2 * 16), (lik, ))
    RateLoss()(lik, 32).backward()
    torch.testing.assert_close(lik.grad,
                               -1 / (lik.detach() * math.log(2) * 32))


def test_rate_invalid_arguments():
    lik = _likelihoods()
    with pytest.raises(ValueError, match="'batch_sum'"):
        RateLoss(reduction='batch_sum')
    with pytest.raises(ValueError, match='likelihoods'):
        RateLoss()({}, 10)
    with pytest.raises(ValueError, match='likelihoods'):
        RateLoss()(3.0, 10)
    with pytest.raises(ValueError, match='batch size'):
        RateLoss()([torch.rand(2, 3), torch.rand(3, 3)], 10)
    with pytest.raises(ValueError, match=r'N = 2'):
        RateLoss()(lik, torch.rand(3, 3, 8, 8))
    with pytest.raises(ValueError, match='pixel count'):
        RateLoss()(lik, 0)
