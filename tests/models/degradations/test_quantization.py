# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch

from invtoolbox.models.degradations import Quantization, quantize_8bit
from invtoolbox.registry import DEGRADATIONS
from tests.helpers import shared_path


def test_build_from_config():
    quant = DEGRADATIONS.build(dict(type='Quantization'))
    assert isinstance(quant, Quantization)
    assert isinstance(quant, torch.nn.Module)


def test_forward_is_8bit_rounding_after_clamp():
    x = torch.linspace(-0.5, 1.5, 1001).reshape(1, 1, 7, 143)
    y = Quantization()(x)
    expected = torch.round(x.clamp(0, 1) * 255) / 255
    assert torch.equal(y, expected)
    assert y.min() == 0 and y.max() == 1
    # every value is an exact 8-bit level
    levels = y * 255
    assert torch.allclose(levels, levels.round(), atol=1e-4)


def test_any_channel_count_and_dtype():
    x = torch.rand(2, 12, 5, 7, dtype=torch.float64)
    y = Quantization()(x)
    assert y.shape == x.shape and y.dtype == torch.float64


def test_straight_through_gradient_ignores_clamp():
    x = (torch.rand(2, 3, 8, 8) * 2 - 0.5).requires_grad_()
    weight = torch.randn(2, 3, 8, 8)
    (Quantization()(x) * weight).sum().backward()
    # identity gradient everywhere, also where the forward clamped
    assert torch.equal(x.grad, weight)
    assert ((x < 0) | (x > 1)).any()


def test_input_not_modified():
    x = torch.rand(1, 3, 4, 4) * 2 - 0.5
    before = x.clone()
    quantize_8bit(x)
    assert torch.equal(x, before)


def test_bad_input():
    with pytest.raises(ValueError, match='float'):
        Quantization()(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match='torch.Tensor'):
        Quantization()([0.5])


def test_matches_official_sain_quantisation():
    """SAIN's ``lr_hq_quant = Quant(lr_hq)`` from the official code."""
    vectors = torch.load(shared_path('vectors', 'sain_x2.pt'),
                         weights_only=True)
    case = next(c for c in vectors['cases'] if c['direction'] == 'forward')
    out = Quantization()(case['outputs']['lr_hq'])
    assert torch.equal(out, case['outputs']['lr_hq_quant'])
