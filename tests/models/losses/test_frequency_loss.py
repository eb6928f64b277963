# Copyright (c) invtoolbox contributors. All rights reserved.
import math

import pytest
import torch

from invtoolbox.models.losses import FrequencyLoss
from invtoolbox.registry import LOSSES
from tests.helpers import shared_path


def _one_sided_dft(x: torch.Tensor) -> torch.Tensor:
    """Unnormalised one-sided 2-D DFT written out with DFT matrices (no
    torch.fft), ``X[u, v] = sum_{h,w} x[h, w] exp(-2i pi (uh/H + vw/W))``
    for ``v <= W // 2``."""
    h, w = x.shape[-2:]
    rows = torch.arange(h, dtype=torch.float64)
    cols = torch.arange(w, dtype=torch.float64)
    fh = torch.exp(-2j * math.pi * rows[:, None] * rows[None, :] / h)
    fw = torch.exp(-2j * math.pi * cols[:, None] * cols[None, :w // 2 + 1] / w)
    return fh @ x.to(torch.complex128) @ fw


def test_matches_explicit_dft_and_reductions():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 4, 6, generator=g, dtype=torch.float64)
    y = torch.rand(2, 3, 4, 6, generator=g, dtype=torch.float64)
    diff = _one_sided_dft(x) - _one_sided_dft(y)
    elem = diff.real**2 + diff.imag**2  # complex values, not magnitudes
    assert elem.shape == (2, 3, 4, 4)
    torch.testing.assert_close(FrequencyLoss(reduction='none')(x, y), elem)
    # official: torch.mean(torch.sum(diff ** 2, (1, 2, 3, 4)))
    torch.testing.assert_close(FrequencyLoss()(x, y),
                               elem.sum(dim=(1, 2, 3)).mean())
    torch.testing.assert_close(
        FrequencyLoss(reduction='mean')(x, y), elem.mean())
    torch.testing.assert_close(
        FrequencyLoss(reduction='sum')(x, y), elem.sum())
    torch.testing.assert_close(
        LOSSES.build(dict(type='FrequencyLoss', loss_weight=0.001))(x, y),
        0.001 * elem.sum(dim=(1, 2, 3)).mean())


def test_compares_complex_values_not_magnitudes():
    # a circular shift keeps every magnitude but changes the phases
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 0, 0] = 1.0
    shifted = torch.roll(x, shifts=1, dims=-1)
    spec = torch.fft.rfft2(x).abs()
    torch.testing.assert_close(spec, torch.fft.rfft2(shifted).abs())
    assert FrequencyLoss()(x, shifted) > 1.0


def test_constant_offset_hits_only_the_dc_term():
    """Hand computation: ``x - y = c`` on an H x W plane puts ``c * H * W``
    in the DC coefficient and 0 elsewhere, so each channel costs
    ``(c H W) ** 2``."""
    x = torch.rand(2, 3, 8, 6)
    loss = FrequencyLoss()(x + 0.25, x)
    expected = 3 * (0.25 * 8 * 6)**2
    torch.testing.assert_close(loss, torch.tensor(expected), rtol=1e-5, atol=0)


def test_official_iicnet_value():
    """IICNet mono vector, case 'losses': ``l_embedding_frame_freq`` is the
    unweighted official FrequencyLoss(embedding, ref)."""
    data = torch.load(
        shared_path('vectors', 'iicnet_mono.pt'), weights_only=True)
    case = next(c for c in data['cases'] if c['direction'] == 'losses')
    loss = FrequencyLoss()(case['inputs']['embedding_frame'],
                           case['inputs']['ref_frame'])
    ref = case['outputs']['l_embedding_frame_freq']
    assert abs(loss.item() - ref.item()) <= 1e-6 * ref.item()


def test_gradcheck_and_gradient_by_hand():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(
        1, 2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 2, 3, 4, generator=g, dtype=torch.float64)
    for reduction in ('batch_sum', 'mean'):
        loss = FrequencyLoss(reduction=reduction)
        assert torch.autograd.gradcheck(lambda a: loss(a, y), (x, ))
    # at a constant difference d = 0.5 only the DC term X_00 = sum(d) = 8 is
    # non-zero; every pixel enters X_00 with coefficient 1, so the gradient
    # of |X_00|^2 is 2 * X_00 = 16 everywhere (the AC terms have zero
    # gradient there because they are zero).
    x = torch.zeros(1, 1, 4, 4, requires_grad=True)
    FrequencyLoss()(x + 0.5, torch.zeros(1, 1, 4, 4)).backward()
    torch.testing.assert_close(x.grad, torch.full((1, 1, 4, 4), 16.0))


def test_half_precision_input_is_computed_in_float32():
    x = torch.rand(1, 1, 6, 6)
    y = torch.rand(1, 1, 6, 6)
    ref = FrequencyLoss()(x.bfloat16().float(), y.bfloat16().float())
    out = FrequencyLoss()(x.bfloat16(), y.bfloat16())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="'avg'"):
        FrequencyLoss(reduction='avg')
    with pytest.raises(ValueError, match='does not match'):
        FrequencyLoss()(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 6))
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        FrequencyLoss()(torch.zeros(3, 4, 4), torch.zeros(3, 4, 4))
