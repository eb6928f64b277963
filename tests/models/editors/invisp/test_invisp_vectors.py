# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official Invertible-ISP vectors, through the converter.

``invisp.pt`` (``../shared/vectors``) holds an official ``InvISPNet`` state
dict (seeded weights with filled biases) and the outputs of the official
code on a 64x64 input: forward, inverse (of the rendering and of its clamp),
the DiffJPEG simulator with Fourier and hard rounding, the inverse after
each JPEG, block 0 forward and inverse, and the training losses with the
gradient norm. Converted weights must give the same outputs (<= 1e-5;
the hard-rounding JPEG loosely, see the vectors' notes).
"""
import pytest
import torch

from invtoolbox.apis import OFFICIAL_ARCHS, convert_official_checkpoint
from invtoolbox.models.editors.invisp import (InvISPNet,
                                              convert_invisp_state_dict)
from invtoolbox.registry import DEGRADATIONS, MODELS
from tests.helpers import shared_path

TOL = 1e-5


@pytest.fixture(scope='module')
def vectors():
    return torch.load(shared_path('vectors', 'invisp.pt'), weights_only=True)


@pytest.fixture(scope='module', params=['InvISP_nikon', 'InvISP_canon'])
def model(request, vectors):
    model = MODELS.build(dict(type='InvISP'))
    model.generator.load_state_dict(
        convert_official_checkpoint(request.param, vectors['state_dict']),
        strict=True)
    return model.eval()


def cases(vectors, direction):
    found = [c for c in vectors['cases'] if c['direction'] == direction]
    assert found, direction
    return found


def maxdiff(a, b):
    return (a - b).abs().max().item()


def test_archs_are_listed():
    for arch in ('InvISP_nikon', 'InvISP_canon'):
        assert arch in OFFICIAL_ARCHS
        assert OFFICIAL_ARCHS[arch]['checkpoint'] in ('nikon.pth',
                                                      'canon.pth')


def test_parameter_count_and_layout(vectors):
    state, cfg = convert_invisp_state_dict(vectors['state_dict'])
    assert len(vectors['state_dict']) == 280
    net = MODELS.build(cfg)
    assert sum(p.numel() for p in net.parameters()) == 1_413_760
    assert vectors['arch']['num_params'] == 1_413_760
    net.load_state_dict(state, strict=True)


def test_forward(vectors, model):
    (case, ) = cases(vectors, 'forward')
    with torch.no_grad():
        rgb = model.generator(case['inputs']['raw'])
        assert maxdiff(rgb, case['outputs']['rgb']) <= TOL
        assert maxdiff(model.render(case['inputs']['raw']),
                       case['outputs']['rgb_clamped']) <= TOL


def test_inverse(vectors, model):
    for case in cases(vectors, 'inverse'):
        with torch.no_grad():
            raw = model.generator(case['inputs']['rgb'], rev=True)
        assert maxdiff(raw, case['outputs']['raw']) <= TOL


def test_diffjpeg_fourier_and_round(vectors):
    fourier = DEGRADATIONS.build(
        dict(type='DiffJPEG', quality=90, rounding='fourier',
             transposed_tables=True))
    hard = DEGRADATIONS.build(
        dict(type='DiffJPEG', quality=90, rounding='round',
             transposed_tables=True))
    for case in cases(vectors, 'jpeg_sim'):
        x = case['inputs']['rgb']
        assert maxdiff(fourier(x), case['outputs']['rgb_jpeg_fourier']) <= TOL
        # pre-rounding values lie within 5e-4 of a .5 boundary (notes): an
        # independent DCT may flip single coefficients
        diff = (hard(x) - case['outputs']['rgb_jpeg_round']).abs()
        assert diff.max().item() < 0.05 and diff.mean().item() < 1e-3


def test_inverse_after_jpeg(vectors, model):
    for case in cases(vectors, 'inverse_after_jpeg'):
        with torch.no_grad():
            raw = model.generator(case['inputs']['rgb'], rev=True)
        assert maxdiff(raw, case['outputs']['raw']) <= TOL


def test_block0(vectors, model):
    block = model.generator.block(0)
    (fwd, ) = cases(vectors, 'block0_forward')
    (inv, ) = cases(vectors, 'block0_inverse')
    with torch.no_grad():
        assert maxdiff(block(fwd['inputs']['x']), fwd['outputs']['y']) <= TOL
        assert maxdiff(block(inv['inputs']['y'], rev=True),
                       inv['outputs']['x']) <= TOL


def test_training_losses_and_gradient(vectors):
    (case, ) = cases(vectors, 'train_losses')
    model = MODELS.build(dict(type='InvISP'))
    model.generator.load_state_dict(
        convert_official_checkpoint('InvISP_nikon', vectors['state_dict']))
    model.train()
    raw = case['inputs']['raw']
    losses = model.compute_losses(raw, case['inputs']['target_rgb'])
    out = case['outputs']
    assert abs(losses['loss_rgb'].item() - out['rgb_loss'].item()) <= TOL
    assert abs(losses['loss_raw'].item() - out['raw_loss'].item()) <= TOL
    total = losses['loss_rgb'] + losses['loss_raw']
    total.backward()
    grads = [p.grad for p in model.generator.parameters()
             if p.grad is not None]
    norm = torch.sqrt(sum((g.double()**2).sum() for g in grads))
    # float32 gradients of this objective are sensitive (the official code
    # itself is ~0.5% from float64 on some tensors): 1e-3 relative
    assert abs(norm.item() - out['grad_global_l2norm'].item()) <= 1e-3 * (
        1 + out['grad_global_l2norm'].item())
    grad = model.generator.blocks[1].F.conv1.weight.grad
    expected = out['grad_operations.0.F.conv1.weight']
    assert maxdiff(grad, expected) <= 1e-4 * (1 + expected.abs().max())


def test_round_trip_is_exact_to_float_rounding():
    torch.manual_seed(0)
    net = InvISPNet().eval()
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        assert maxdiff(net(net(x), rev=True), x) < 1e-4


def test_converter_names_bad_checkpoints(vectors):
    state = dict(vectors['state_dict'])
    state.pop('operations.7.H.conv5.bias')
    with pytest.raises(ValueError, match='missing'):
        convert_official_checkpoint('InvISP_nikon', state)
    bad = dict(vectors['state_dict'])
    bad['operations.0.F.conv1.weight'] = torch.zeros(16, 2, 3, 3)
    with pytest.raises(ValueError, match='shape|growth'):
        convert_official_checkpoint('InvISP_canon', bad)
    irn_like = {'operations.0.haar_weights': torch.zeros(12, 1, 2, 2)}
    with pytest.raises(ValueError, match='IRN'):
        convert_official_checkpoint('InvISP_nikon', irn_like)
