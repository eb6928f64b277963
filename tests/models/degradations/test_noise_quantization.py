# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch

from invtoolbox.models.degradations import NoiseQuantization
from invtoolbox.registry import DEGRADATIONS


def test_build_and_test_mode_rounds_half_to_even():
    quant = DEGRADATIONS.build(dict(type='NoiseQuantization')).eval()
    assert isinstance(quant, NoiseQuantization)
    # 0.5/255 and 2.5/255 are exact halves: half to even gives 0 and 2
    x = torch.tensor([-0.1, 0.5 / 255, 2.5 / 255, 0.3, 1.2]).view(1, 1, 1, 5)
    y = quant(x)
    expected = torch.clamp((x * 255).round(), 0, 255) / 255
    assert torch.equal(y, expected)
    assert (y * 255).tolist()[0][0][0][:3] == [0.0, 0.0, 2.0]
    assert y.min() == 0 and y.max() == 1


def test_training_noise_formula_and_seed():
    quant = NoiseQuantization().train()
    x = torch.rand(2, 3, 8, 8) * 1.2 - 0.1
    y = quant(x, generator=torch.Generator().manual_seed(3))
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(3))
    assert torch.equal(y, torch.clamp(x * 255 + (noise - 0.5), 0, 255) / 255)
    again = quant(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(y, again)
    assert (y - x.clamp(0, 1)).abs().max() <= 0.5 / 255 + 1e-6
    # not 8-bit values: noise, not rounding
    assert not torch.equal(y * 255, (y * 255).round())
    # explicit switch overrides the mode
    assert torch.equal(quant(x, noise=False),
                       torch.clamp((x * 255).round(), 0, 255) / 255)


def test_gradient_is_that_of_the_clamp():
    x = torch.tensor([-0.5, 0.25, 0.5, 1.5]).view(1, 1, 1, 4)
    x.requires_grad_()
    NoiseQuantization()(x, generator=torch.Generator().manual_seed(0),
                        noise=True).sum().backward()
    assert x.grad.flatten().tolist() == [0.0, 1.0, 1.0, 0.0]


def test_bad_input():
    with pytest.raises(ValueError, match='float'):
        NoiseQuantization()(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))
