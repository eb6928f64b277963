# Copyright (c) invtoolbox contributors. All rights reserved.
import math

import pytest
import torch
import torch.distributions as D

from invtoolbox.models.latents import GaussianMixture
from invtoolbox.registry import LATENTS
from tests.helpers import shared_path


def _sain_vectors():
    return torch.load(shared_path('vectors', 'sain_x2.pt'), weights_only=True)


def _gmm_with(para: torch.Tensor) -> GaussianMixture:
    gmm = GaussianMixture(num_components=para.shape[1])
    gmm.load_state_dict({'gmm_para': para})
    return gmm


def _official_para() -> torch.Tensor:
    return _sain_vectors()['state_dict']['gmm.gmm_para']


def test_build_and_official_init():
    gmm = LATENTS.build(dict(type='GaussianMixture', num_components=4))
    assert gmm.gmm_para.shape == (3, 4)
    assert gmm.gmm_para.requires_grad
    # official init: 1e-4 * randn(3, K)
    torch.manual_seed(123)
    expected = 1e-4 * torch.randn(3, 4)
    torch.manual_seed(123)
    assert torch.equal(GaussianMixture(4).gmm_para.data, expected)
    assert GaussianMixture().num_components == 5
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match='num_components'):
            GaussianMixture(bad)


def test_official_state_dict_key_loads():
    """The official checkpoint stores the mixture as ``gmm.gmm_para``."""
    para = _official_para()
    holder = torch.nn.Module()
    holder.gmm = GaussianMixture(5)
    holder.load_state_dict({'gmm.gmm_para': para})
    assert torch.equal(holder.gmm.gmm_para.data, para)


def test_official_parameters_and_log_prob():
    data = _sain_vectors()
    case = next(c for c in data['cases'] if c['direction'] == 'gmm')
    out = case['outputs']
    gmm = _gmm_with(data['state_dict']['gmm.gmm_para'])
    assert torch.equal(gmm.gmm_para.data, out['gmm_para'])
    with torch.no_grad():
        torch.testing.assert_close(
            gmm.weights, out['weights_softmax'], rtol=0, atol=1e-6)
        torch.testing.assert_close(gmm.means, out['mus'], rtol=0, atol=0)
        torch.testing.assert_close(gmm.stds, out['stds'], rtol=0, atol=1e-6)
        log_p = gmm.log_prob(case['inputs']['t'], elementwise=True)
    assert log_p.shape == (17, )
    err = (log_p - out['log_prob']).abs().max().item()
    assert err <= 1e-5, err


def test_sample_reproduces_official_sample():
    """What is and is not reproducible.

    The official ``GaussianMixture.sample`` draws from the *global* RNG:
    ``F.gumbel_softmax`` takes Gumbel noise as ``-log(Exp(1))`` through
    ``Tensor.exponential_`` on a ``zshape + (K,)`` tensor, then
    ``Normal.rsample`` calls ``Tensor.normal_`` on another ``zshape + (K,)``
    tensor. Our ``sample`` draws the same two streams, in the same order,
    from the passed generator (or the global RNG), so on the CPU a
    ``torch.Generator`` seeded 3 reproduces the vector's sample (drawn after
    ``torch.manual_seed(3)``) bit for bit, and so does the global-RNG path.

    Not reproducible in general: samples on another device (CUDA has its
    own generator and kernels), or from torch versions whose
    ``exponential_`` / ``normal_`` kernels produce other streams; the
    distributional tests below cover those cases.
    """
    data = _sain_vectors()
    case = next(c for c in data['cases']
                if c.get('tag') == 'lr_hq_quant+z_gmm_sample_seed3')
    z_ref = case['inputs']['z']
    gmm = _gmm_with(data['state_dict']['gmm.gmm_para'])
    z = gmm.sample(z_ref.shape, generator=torch.Generator().manual_seed(3))
    assert z.shape == z_ref.shape
    assert torch.equal(z.detach(), z_ref)
    torch.manual_seed(3)
    assert torch.equal(gmm.sample(tuple(z_ref.shape)).detach(), z_ref)
    # the real-codec test path uses the same official sample
    codec = next(c for c in data['cases']
                 if c['direction'] == 'test_path_realcodec')
    assert torch.equal(codec['inputs']['z_gmm'], z_ref)


def test_sample_seeding_scale_and_dtype():
    gmm = _gmm_with(_official_para())
    a = gmm.sample((2, 3, 4), generator=torch.Generator().manual_seed(0))
    b = gmm.sample((2, 3, 4), generator=torch.Generator().manual_seed(0))
    c = gmm.sample((2, 3, 4), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    half = gmm.sample((2, 3, 4),
                      generator=torch.Generator().manual_seed(0),
                      scale=0.5)
    torch.testing.assert_close(half, 0.5 * a, rtol=0, atol=0)
    z64 = gmm.double().sample((3, ))
    assert z64.dtype == torch.float64
    with pytest.raises(ValueError, match='tau'):
        gmm.sample((2, ), tau=0)


def test_sample_is_a_hard_choice_of_one_component():
    # tiny variances: every sample sits on one of the means
    para = torch.tensor([[0.0, 0.5, -0.5], [-3.0, 0.0, 4.0],
                         [-20.0, -20.0, -20.0]])
    gmm = _gmm_with(para)
    z = gmm.sample((1000, ), generator=torch.Generator().manual_seed(0))
    dist = (z.detach()[:, None] - para[1]).abs().min(dim=1).values
    assert dist.max() < 1e-3


def test_sample_statistics_match_the_mixture():
    """Component frequencies, mean and variance of many samples agree with
    the mixture within 5 standard errors."""
    para = torch.tensor([[0.3, -0.4, 1.0], [-6.0, 0.5, 6.0],
                         [-4.0, -3.0, -5.0]])
    gmm = _gmm_with(para)
    n = 200_000
    with torch.no_grad():
        z = gmm.sample((n, ), generator=torch.Generator().manual_seed(42))
        weights = gmm.weights
        # well-separated components: assign each sample to its nearest mean
        nearest = (z[:, None] - para[1]).abs().argmin(dim=1)
        freq = torch.bincount(nearest, minlength=3).double() / n
        se_freq = torch.sqrt(weights * (1 - weights) / n)
        assert ((freq - weights).abs() < 5 * se_freq).all(), (freq, weights)
        mean, var = gmm.mean, gmm.variance
        assert abs(z.mean() - mean) < 5 * math.sqrt(var / n)
        # var of the sample variance <= (m4 - var^2) / n; bound m4 loosely
        m4 = ((z - mean)**4).mean()
        assert abs(z.var() - var) < 5 * math.sqrt((m4 - var**2) / n)
    # the official random-looking parameters (overlapping components)
    gmm = _gmm_with(_official_para())
    with torch.no_grad():
        z = gmm.sample((n, ), generator=torch.Generator().manual_seed(7))
        mean, var = gmm.mean, gmm.variance
        assert abs(z.mean() - mean) < 5 * math.sqrt(var / n)
        assert abs(z.var() - var) < 0.02 * var


def test_mixture_moments_by_hand():
    para = torch.tensor([[0.0, math.log(3.0)], [1.0, -1.0],
                         [math.log(4.0), 0.0]])
    gmm = _gmm_with(para)
    # weights 1/4, 3/4; means 1, -1; variances 4, 1
    with torch.no_grad():
        torch.testing.assert_close(gmm.weights, torch.tensor([0.25, 0.75]))
        torch.testing.assert_close(gmm.mean, torch.tensor(-0.5))
        second = 0.25 * (4 + 1) + 0.75 * (1 + 1)
        torch.testing.assert_close(gmm.variance, torch.tensor(second - 0.25))


def test_straight_through_gradient_by_hand():
    """One element: draw the same exponentials/normals as ``sample`` and
    differentiate ``z = sum_k onehot_k (mu_k + eps_k sigma_k)`` by hand."""
    para = torch.tensor([[0.2, -0.1, 0.4], [0.5, -1.0, 2.0], [0.1, -0.3, 0.2]],
                        dtype=torch.float64)
    gmm = _gmm_with(para).double()
    z = gmm.sample((1, ), generator=torch.Generator().manual_seed(11))
    z.sum().backward()
    grad = gmm.gmm_para.grad

    g = torch.Generator().manual_seed(11)
    exps = torch.empty(1, 3, dtype=torch.float64).exponential_(generator=g)
    eps = torch.empty(1, 3, dtype=torch.float64).normal_(generator=g)[0]
    soft = torch.softmax(para[0].log_softmax(0) - exps[0].log(), dim=0)
    k = int(soft.argmax())
    std = torch.exp(0.5 * para[2])
    samples = para[1] + eps * std
    torch.testing.assert_close(z.detach()[0], samples[k])
    onehot = torch.zeros(3, dtype=torch.float64)
    onehot[k] = 1
    # d z / d soft_j = samples_j; softmax Jacobian; log_softmax shift cancels
    grad_pi = soft * (samples - (soft * samples).sum())
    torch.testing.assert_close(grad[0], grad_pi)
    torch.testing.assert_close(grad[1], onehot)
    torch.testing.assert_close(grad[2], onehot * eps * 0.5 * std)


def test_gradient_reaches_all_parameter_rows():
    gmm = _gmm_with(_official_para())
    z = gmm.sample((2, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    (z**2).mean().backward()
    grad = gmm.gmm_para.grad
    assert torch.isfinite(grad).all()
    for row in range(3):
        assert grad[row].abs().sum() > 0, f'row {row} received no gradient'


def test_log_prob_matches_torch_mixture_same_family():
    para = torch.randn(3, 4, dtype=torch.float64)
    gmm = _gmm_with(para).double()
    mix = D.MixtureSameFamily(
        D.Categorical(logits=para[0]),
        D.Normal(para[1], torch.exp(0.5 * para[2])))
    z = 3 * torch.randn(2, 3, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        elem = gmm.log_prob(z, elementwise=True)
        torch.testing.assert_close(elem, mix.log_prob(z))
        torch.testing.assert_close(
            gmm.log_prob(z),
            mix.log_prob(z).sum(dim=(1, 2, 3)))
        torch.testing.assert_close(gmm.nll(z), -gmm.log_prob(z).mean())
        torch.testing.assert_close(
            gmm.nll(z, reduction='none', bits_per_dim=True),
            -gmm.log_prob(z) / (75 * math.log(2)))


def test_log_prob_is_stable_far_in_the_tails_and_clamps_logvar():
    para = torch.tensor([[0.0, 0.0], [0.0, 1.0], [-50.0, 50.0]])
    gmm = _gmm_with(para)
    z = torch.tensor([[1e4, -1e4, 0.0, 1.0]])
    with torch.no_grad():
        log_p = gmm.log_prob(z, elementwise=True)
        assert torch.isfinite(log_p).all()
        # logvar clamped to [-20, 20]
        torch.testing.assert_close(gmm.stds,
                                   torch.tensor([math.exp(-10),
                                                 math.exp(10)]))
        # far tail dominated by the wide component (sigma = e^10)
        wide = (
            math.log(0.5) - 0.5 * (1e4 - 1.0)**2 / math.exp(20) - 10 -
            0.5 * math.log(2 * math.pi))
        torch.testing.assert_close(log_p[0, 0], torch.tensor(wide))


def test_log_prob_gradcheck():
    para = torch.randn(3, 3, dtype=torch.float64)
    z = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    para.requires_grad_(True)

    def fn(t, p):
        gmm = GaussianMixture(3).double()
        del gmm.gmm_para
        gmm.gmm_para = p  # plain tensor, keeps the graph to ``p``
        return gmm.log_prob(t)

    assert torch.autograd.gradcheck(fn, (z, para))


def test_invalid_inputs():
    gmm = GaussianMixture()
    with pytest.raises(ValueError, match='batch dimension'):
        gmm.log_prob(torch.tensor(0.5))
    with pytest.raises(ValueError, match='negative'):
        gmm.sample((-1, 2))
