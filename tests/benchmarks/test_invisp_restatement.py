# Copyright (c) invtoolbox contributors. All rights reserved.
"""The benchmark baseline (a plain re-statement of the official
Invertible-ISP) is faithful: every case of ``vectors/invisp.pt``."""
import pytest
import torch

from tests.helpers import shared_path

#: the vectors' notes: "expect max abs diff < 1e-4 on CPU fp32"
TOL = 1e-4
#: the notes: "compare the fourier variant tightly"
TOL_FOURIER = 1e-5


@pytest.fixture(scope='module')
def restatement():
    from benchmarks import invisp_restatement
    return invisp_restatement


@pytest.fixture(scope='module')
def official(restatement):
    vectors = torch.load(shared_path('vectors', 'invisp.pt'),
                         weights_only=True)
    kwargs = vectors['arch']['kwargs']
    net = restatement.InvISPNet(**kwargs)
    net.load_state_dict(vectors['state_dict'], strict=True)
    net.eval()
    return net, vectors


def _cases(vectors, direction):
    cases = [c for c in vectors['cases'] if c['direction'] == direction]
    assert cases, f'no {direction!r} case in invisp.pt'
    return cases


def _max_err(a, b):
    return (a - b).abs().max().item()


def test_state_dict_layout_and_size_are_official(official):
    net, vectors = official
    assert list(net.state_dict()) == list(vectors['state_dict'])
    assert sum(p.numel() for p in net.parameters()) == \
        vectors['arch']['num_params'] == 1_413_760


def test_forward_matches(official):
    net, vectors = official
    (case, ) = _cases(vectors, 'forward')
    with torch.no_grad():
        rgb = net(case['inputs']['raw'])
    assert _max_err(rgb, case['outputs']['rgb']) <= TOL
    assert _max_err(rgb.clamp(0, 1), case['outputs']['rgb_clamped']) <= TOL


@pytest.mark.parametrize('direction', ['inverse', 'inverse_after_jpeg'])
def test_inverse_matches(official, direction):
    net, vectors = official
    for case in _cases(vectors, direction):
        with torch.no_grad():
            raw = net(case['inputs']['rgb'], rev=True)
        assert _max_err(raw, case['outputs']['raw']) <= TOL


def test_jpeg_simulator_matches(restatement, official):
    _, vectors = official
    fourier = restatement.DiffJPEG(differentiable=True, quality=90)
    hard = restatement.DiffJPEG(differentiable=False, quality=90)
    for case in _cases(vectors, 'jpeg_sim'):
        x = case['inputs']['rgb']
        with torch.no_grad():
            out_fourier, out_hard = fourier(x), hard(x)
        assert _max_err(out_fourier,
                        case['outputs']['rgb_jpeg_fourier']) <= TOL_FOURIER
        # the notes: pre-rounding values lie 4.4e-5..5.1e-4 from a .5
        # boundary, so single coefficients may flip
        diff = (out_hard - case['outputs']['rgb_jpeg_round']).abs()
        assert diff.max().item() < 0.05 and diff.mean().item() < 1e-3


def test_block0_matches(official):
    net, vectors = official
    block = net.operations[0]
    (fwd, ) = _cases(vectors, 'block0_forward')
    (inv, ) = _cases(vectors, 'block0_inverse')
    with torch.no_grad():
        assert _max_err(block(fwd['inputs']['x']), fwd['outputs']['y']) <= TOL
        assert _max_err(block(inv['inputs']['y'], rev=True),
                        inv['outputs']['x']) <= TOL


def test_training_losses_and_gradients_match(restatement, official):
    net, vectors = official
    (case, ) = _cases(vectors, 'train_losses')
    inputs, outputs = case['inputs'], case['outputs']
    jpeg = restatement.DiffJPEG(differentiable=True, quality=90)
    net.zero_grad()
    rgb_loss, raw_loss = restatement.official_losses(
        net, jpeg, inputs['raw'], inputs['target_rgb'], inputs['target_raw'])
    (rgb_loss + raw_loss).backward()
    for value, key in ((rgb_loss, 'rgb_loss'), (raw_loss, 'raw_loss'),
                       (rgb_loss + raw_loss, 'loss')):
        assert abs(value.item() - outputs[key].item()) <= TOL, key
    norm = torch.sqrt(sum((p.grad**2).sum() for p in net.parameters()))
    expected = outputs['grad_global_l2norm'].item()
    assert abs(norm.item() - expected) <= 1e-4 * expected
    grad = net.operations[0].F.conv1.weight.grad
    assert _max_err(grad, outputs['grad_operations.0.F.conv1.weight']) <= TOL
    net.zero_grad()


def test_train_step_updates_weights_and_inverts(restatement):
    torch.manual_seed(0)
    net, optimizer, jpeg = restatement.build_official(block_num=2)
    assert optimizer.defaults['lr'] == 1e-4
    # initialize() overwrote every conv with xavier and zero bias
    assert all(not m.bias.any() for m in net.modules()
               if isinstance(m, torch.nn.Conv2d))
    raw, rgb = torch.rand(2, 1, 3, 16, 16)
    before = net.operations[0].F.conv5.weight.detach().clone()
    losses = restatement.official_train_step(net, optimizer, jpeg, raw, rgb)
    assert len(losses) == 3 and all(v > 0 for v in losses)
    assert abs(losses[0] - losses[1] - losses[2]) < 1e-6
    assert not torch.equal(before, net.operations[0].F.conv5.weight)
    with torch.no_grad():
        back = net(net(raw), rev=True)
    assert _max_err(back, raw) < 1e-4


def test_jpeg_rejects_sizes_that_are_not_multiples_of_16(restatement):
    jpeg = restatement.DiffJPEG()
    with pytest.raises(ValueError, match='multiples of 16, got 24x32'):
        jpeg(torch.rand(1, 3, 24, 32))
