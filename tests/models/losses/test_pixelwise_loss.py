# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch

from invtoolbox.models.losses import CharbonnierLoss, L1Loss, MSELoss
from invtoolbox.registry import LOSSES
from tests.helpers import shared_path

ELEMENTWISE = {
    'L1Loss': lambda d: d.abs(),
    'MSELoss': lambda d: d**2,
    'CharbonnierLoss': lambda d: torch.sqrt(d**2 + 1e-6),
}


def _pair(dtype=torch.float32, shape=(2, 3, 4, 5)):
    g = torch.Generator().manual_seed(0)
    return (torch.rand(shape, generator=g, dtype=dtype),
            torch.rand(shape, generator=g, dtype=dtype))


@pytest.mark.parametrize('name', sorted(ELEMENTWISE))
def test_reductions_against_hand_formulas(name):
    pred, target = _pair()
    elem = ELEMENTWISE[name](pred - target)
    expected = {
        'none': elem,
        'mean': elem.mean(),
        'sum': elem.sum(),
        # the official ReconstructionLoss: torch.mean(torch.sum(., (1,2,3)))
        'batch_sum': torch.mean(torch.sum(elem, (1, 2, 3))),
    }
    for reduction, value in expected.items():
        loss = LOSSES.build(dict(type=name, reduction=reduction))
        torch.testing.assert_close(loss(pred, target), value)
    weighted = LOSSES.build(dict(type=name, loss_weight=4.0))
    torch.testing.assert_close(weighted(pred, target), 4 * elem.mean())


def test_official_l2_and_charbonnier_formulas():
    """``MSELoss/CharbonnierLoss(reduction='batch_sum')`` are the official
    IRN/SAIN ``ReconstructionLoss('l2')`` / ``('l1')``."""
    x, t = _pair(shape=(3, 3, 6, 6))
    l2 = torch.mean(torch.sum((x - t)**2, (1, 2, 3)))
    diff = x - t
    l1 = torch.mean(torch.sum(torch.sqrt(diff * diff + 1e-6), (1, 2, 3)))
    torch.testing.assert_close(MSELoss(reduction='batch_sum')(x, t), l2)
    torch.testing.assert_close(
        CharbonnierLoss(reduction='batch_sum')(x, t), l1)
    # the default eps is the official 1e-6, under the square root
    assert CharbonnierLoss().eps == 1e-6
    same = torch.zeros(1, 1, 2, 2)
    torch.testing.assert_close(
        CharbonnierLoss(reduction='sum')(same, same), torch.tensor(4 * 1e-3))


def test_official_iicnet_loss_values():
    """IICNet mono vector, case 'losses': embedding l2 and restoration
    Charbonnier (per-frame batch sums averaged over the 2 frames)."""
    data = torch.load(
        shared_path('vectors', 'iicnet_mono.pt'), weights_only=True)
    case = next(c for c in data['cases'] if c['direction'] == 'losses')
    inp, out = case['inputs'], case['outputs']
    l2 = MSELoss(reduction='batch_sum')(inp['embedding_frame'],
                                        inp['ref_frame'])
    torch.testing.assert_close(
        l2, out['l_embedding_frame_basic_l2'], rtol=1e-6, atol=0)
    charb = CharbonnierLoss(reduction='batch_sum')
    frames = [
        charb(inp['fake_frames'][:, 3 * k:3 * k + 3],
              inp['input_frames'][:, 3 * k:3 * k + 3]) for k in range(2)
    ]
    torch.testing.assert_close(
        sum(frames) / 2, out['l_fake_frames_basic_l1'], rtol=1e-6, atol=0)


def test_official_invisp_rgb_loss():
    """Invertible-ISP vector: ``rgb_loss = F.l1_loss(clamp(net(raw)),
    target_rgb)`` = ``L1Loss()`` (mean)."""
    data = torch.load(shared_path('vectors', 'invisp.pt'), weights_only=True)
    fwd = next(c for c in data['cases'] if c['direction'] == 'forward')
    train = next(c for c in data['cases'] if c['direction'] == 'train_losses')
    assert torch.equal(fwd['inputs']['raw'], train['inputs']['raw'])
    loss = L1Loss()(fwd['outputs']['rgb_clamped'],
                    train['inputs']['target_rgb'])
    torch.testing.assert_close(
        loss, train['outputs']['rgb_loss'], rtol=1e-6, atol=0)


@pytest.mark.parametrize('name', sorted(ELEMENTWISE))
def test_weight_map(name):
    pred, target = _pair()
    elem = ELEMENTWISE[name](pred - target)
    weight = torch.rand(2, 1, 4, 5, generator=torch.Generator().manual_seed(3))
    full = weight.expand_as(elem)
    cases = {
        'mean': (elem * full).sum() / full.sum(),
        'sum': (elem * full).sum(),
        'batch_sum': (elem * full).sum(dim=(1, 2, 3)).mean(),
        'none': elem * full,
    }
    for reduction, value in cases.items():
        loss = LOSSES.build(dict(type=name, reduction=reduction))
        torch.testing.assert_close(loss(pred, target, weight=weight), value)
    # a full-size weight map of ones changes nothing
    loss = LOSSES.build(dict(type=name))
    torch.testing.assert_close(
        loss(pred, target, weight=torch.ones_like(pred)), elem.mean())


@pytest.mark.parametrize('name', sorted(ELEMENTWISE))
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'batch_sum', 'none'])
def test_gradcheck(name, reduction):
    pred, target = _pair(torch.float64, (2, 2, 3, 3))
    pred.requires_grad_(True)
    target.requires_grad_(True)
    weight = torch.rand(2, 1, 3, 3, dtype=torch.float64) + 0.5
    loss = LOSSES.build(dict(type=name, reduction=reduction, loss_weight=2.))
    assert torch.autograd.gradcheck(lambda p, t: loss(p, t), (pred, target))
    assert torch.autograd.gradcheck(lambda p: loss(p, target, weight),
                                    (pred, ))


def test_gradients_by_hand():
    pred = torch.tensor([[[[1.0, -2.0], [0.5, 0.0]]]], requires_grad=True)
    target = torch.zeros(1, 1, 2, 2)
    L1Loss(reduction='sum')(pred, target).backward()
    torch.testing.assert_close(pred.grad, torch.sign(pred.detach()))
    pred.grad = None
    MSELoss(reduction='batch_sum')(pred, target).backward()
    torch.testing.assert_close(pred.grad, 2 * pred.detach())
    pred.grad = None
    CharbonnierLoss(reduction='sum')(pred, target).backward()
    p = pred.detach()
    torch.testing.assert_close(pred.grad, p / torch.sqrt(p**2 + 1e-6))
    # finite (zero) gradient where pred == target
    assert pred.grad[0, 0, 1, 1] == 0


@pytest.mark.parametrize('loss_cls', [L1Loss, MSELoss, CharbonnierLoss])
def test_invalid_arguments(loss_cls):
    with pytest.raises(ValueError, match="'avg'"):
        loss_cls(reduction='avg')
    loss = loss_cls()
    with pytest.raises(ValueError, match=r'\(2, 3, 4, 4\).*\(2, 3, 4, 5\)'):
        loss(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match='weight shape'):
        loss(
            torch.zeros(2, 3, 4, 4),
            torch.zeros(2, 3, 4, 4),
            weight=torch.ones(4, 4))
    with pytest.raises(ValueError, match='weight shape'):
        loss(
            torch.zeros(2, 3, 4, 4),
            torch.zeros(2, 3, 4, 4),
            weight=torch.ones(2, 2, 4, 4))
    with pytest.raises(ValueError, match='must be a tensor'):
        loss([1.0], torch.zeros(1))


def test_charbonnier_rejects_non_positive_eps():
    with pytest.raises(ValueError, match='eps'):
        CharbonnierLoss(eps=0)
