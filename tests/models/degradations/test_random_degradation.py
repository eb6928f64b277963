# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch

from invtoolbox.models.degradations import (DiffJPEG, Identity, Quantization,
                                            RandomDegradation, RealJPEG)
from invtoolbox.registry import DEGRADATIONS


def _build(**kwargs):
    return DEGRADATIONS.build(dict(type='RandomDegradation', **kwargs))


def test_quality_list_is_expanded():
    rand = _build(degradations=[
        dict(type='RealJPEG', quality=[30, 50, 70, 90]),
        dict(type='DiffJPEG', quality=75, rounding='ste'),
        dict(type='Identity'),
    ],
                  probs=[0.5, 0.25, 0.25])
    assert len(rand.degradations) == 6
    assert [m.quality for m in rand.degradations[:4]] == [30, 50, 70, 90]
    assert all(isinstance(m, RealJPEG) for m in rand.degradations[:4])
    assert isinstance(rand.degradations[4], DiffJPEG)
    assert rand.degradations[4].rounding == 'ste'
    assert isinstance(rand.degradations[5], Identity)
    assert rand.names[0] == 'RealJPEG(quality=30)'
    assert rand.names[4] == "DiffJPEG(quality=75, rounding='ste')"
    assert torch.allclose(
        rand.candidate_probs,
        torch.tensor([0.125] * 4 + [0.25, 0.25], dtype=torch.float64))


def test_uniform_by_default_and_frequencies():
    rand = _build(
        degradations=[dict(type='Identity'),
                      dict(type='Quantization')],
        seed=0)
    assert torch.equal(rand.candidate_probs,
                       torch.tensor([0.5, 0.5], dtype=torch.float64))
    rand = _build(degradations=[
        dict(type='Identity'),
        dict(type='DiffJPEG', quality=[20, 80]),
        dict(type='Quantization')
    ],
                  probs=[0.2, 0.8, 0.0],
                  seed=1)
    counts = torch.bincount(torch.tensor([rand.choose() for _ in range(4000)]),
                            minlength=4)
    expected = torch.tensor([0.2, 0.4, 0.4, 0.0]) * 4000
    assert counts[3] == 0  # zero probability: never chosen
    assert ((counts.float() - expected).abs() < 120).all(), counts


def test_seeded_choices_are_reproducible():
    cfg = dict(
        degradations=[dict(type='DiffJPEG', quality=[10, 30, 50, 70, 90])])
    a, b = _build(seed=123, **cfg), _build(seed=123, **cfg)
    seq_a = [a.choose() for _ in range(30)]
    assert seq_a == [b.choose() for _ in range(30)]
    assert len(set(seq_a)) > 1
    # the seeded module does not touch (nor depend on) the global RNG
    torch.manual_seed(0)
    state = torch.get_rng_state()
    c = _build(seed=123, **cfg)
    assert [c.choose() for _ in range(30)] == seq_a
    assert torch.equal(torch.get_rng_state(), state)
    # an explicit generator overrides the seed
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    unseeded = _build(**cfg)
    assert [unseeded.choose(g1)
            for _ in range(20)] == [a.choose(g2) for _ in range(20)]


def test_forward_applies_the_chosen_one_and_records_it():
    rand = _build(degradations=[
        dict(type='RealJPEG', quality=[10, 95]),
        dict(type='Quantization'),
    ],
                  seed=7)
    assert rand.last_index is None and rand.last_name is None
    x = torch.rand(2, 3, 16, 16)
    seen = set()
    for i in range(12):
        out = rand(x, generator=torch.Generator().manual_seed(i))
        index = rand.last_index
        seen.add(index)
        assert rand.last_degradation is rand.degradations[index]
        assert rand.last_name == rand.names[index]
        assert torch.equal(out, rand.degradations[index](x))
        if isinstance(rand.last_degradation, RealJPEG):
            assert len(rand.last_degradation.code(x).num_bytes) == 2
    assert len(seen) >= 2


def test_gradient_flows_through_the_chosen_degradation():
    rand = _build(degradations=[
        dict(type='RealJPEG', quality=[30, 60]),
        dict(type='Quantization')
    ])
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    rand(x).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_modules_accepted_and_nested():
    inner = _build(degradations=[dict(type='Identity')])
    rand = RandomDegradation([Quantization(), inner], probs=[0.0, 1.0])
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(rand(x), x)
    assert rand.last_index == 1
    assert rand.names[0] == 'Quantization()'
    # children are registered: .to() and .modules() reach them
    assert any(isinstance(m, Identity) for m in rand.modules())


@pytest.mark.parametrize('kwargs, match', [
    (dict(degradations=[]), 'non-empty'),
    (dict(degradations=dict(type='Identity')), 'non-empty list'),
    (dict(degradations=[dict(type='Identity')], probs=[0.5, 0.5
                                                       ]), '2 probs for 1'),
    (dict(degradations=[dict(type='Identity'),
                        dict(type='Quantization')],
          probs=[1.5, -0.5]), 'non-negative'),
    (dict(degradations=[dict(type='Identity'),
                        dict(type='Quantization')],
          probs=[0.5, 0.4]), 'sum to 1'),
    (dict(degradations=[dict(quality=75)]), "'type'"),
    (dict(degradations=[dict(type='JPEG2000')]), "'JPEG2000'"),
    (dict(degradations=[dict(type='RealJPEG', quality=[])]), 'empty quality'),
    (dict(degradations=[dict(type='RealJPEG', quality=[50, 500])]), 'quality'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        RandomDegradation(**kwargs)
    assert '\n' not in str(info.value)
