# Copyright (c) invtoolbox contributors. All rights reserved.
"""The benchmark baseline (a plain re-statement of official IICNet) is
faithful."""
import pytest
import torch

from tests.helpers import shared_path

TOL = 1e-5


@pytest.fixture(scope='module')
def restatement():
    from benchmarks import iicnet_restatement
    return iicnet_restatement


@pytest.fixture(scope='module')
def mono(restatement):
    vectors = torch.load(shared_path('vectors', 'iicnet_mono.pt'),
                         weights_only=True)
    block = vectors['arch']['network']['block']
    net = restatement.InvNet(num_frames=2, block_num=block['block_num'])
    net.load_state_dict(vectors['state_dict'], strict=True)
    net.eval()
    return net, {c['direction']: c for c in vectors['cases']}, vectors


def _max_err(a, b):
    return (a - b).abs().max().item()


def test_state_dict_layout_is_official(mono):
    net, _, vectors = mono
    assert list(net.state_dict()) == list(vectors['state_dict'])


def test_forward_matches_official_vectors(mono):
    net, cases, _ = mono
    case = cases['forward']
    with torch.no_grad():
        out = net.embed(case['inputs']['input_frames'])
        quantized = net.quantization(out['embedding_frame'], train=False)
    for key in ('rel_frames', 'down_frames', 'output_frames',
                'embedding_frame'):
        assert _max_err(out[key], case['outputs'][key]) <= TOL, key
    assert torch.equal(quantized, case['outputs']['embedding_frame_prime'])


@pytest.mark.parametrize('direction,key', [
    ('inverse', 'embedding_frame_prime'),
    ('inverse_unquantized', 'embedding_frame'),
])
def test_inverse_matches_official_vectors(mono, direction, key):
    net, cases, _ = mono
    case = cases[direction]
    with torch.no_grad():
        out = net.restore(case['inputs'][key])
    for name, expected in case['outputs'].items():
        assert _max_err(out[name], expected) <= TOL, name


def test_inn_roundtrip_matches_official_vectors(mono):
    net, cases, _ = mono
    case = cases['inn_roundtrip']
    with torch.no_grad():
        out = net.block(case['inputs']['down_frames'])
        back = net.block(out, rev=True)
    assert _max_err(out, case['outputs']['output_frames']) <= TOL
    assert _max_err(back, case['inputs']['down_frames']) <= TOL


def test_losses_match_official_vectors(restatement, mono):
    _, cases, vectors = mono
    case = cases['losses']
    inputs = case['inputs']
    terms = restatement.official_loss_terms(inputs['embedding_frame'],
                                            inputs['ref_frame'],
                                            inputs['fake_frames'],
                                            inputs['input_frames'])
    keys = ('l_embedding_frame_basic_l2', 'l_embedding_frame_freq',
            'l_fake_frames_basic_l1')
    for value, key in zip(terms, keys):
        expected = float(case['outputs'][key])
        assert abs(float(value) - expected) <= 1e-5 * max(1., abs(expected))
    lambdas = vectors['arch']['loss_lambdas_train_config']
    assert restatement.LAMBDAS == (lambdas['lambda_embedding_frame_basic'],
                                   lambdas['lambda_embedding_frame_freq'],
                                   lambdas['lambda_fake_frames_basic'])


def test_official_losses_with_fixed_noise(restatement, mono):
    """``official_losses`` chains embed, noisy quantisation and restore."""
    net, cases, _ = mono
    x = cases['losses']['inputs']['input_frames']
    with torch.no_grad():
        zero_noise = restatement.official_losses(
            net, x, noise=torch.zeros(2, 3, 64, 64))
        e = net.embed(x)['embedding_frame']
        fake = net.restore(e.clamp(0, 1))['fake_frames']
        expected = restatement.official_loss_terms(e, x[:, :3], fake, x)
    for value, want, weight in zip(zero_noise, expected, restatement.LAMBDAS):
        assert abs(float(value) - weight * float(want)) <= 1e-4 * float(
            value)


def test_st01_has_the_official_size_and_trains(restatement):
    torch.manual_seed(0)
    net, optimizer = restatement.build_official()  # st-01
    assert sum(p.numel() for p in net.parameters()) == 6_805_540
    assert sum(p.numel() for p in net[0].parameters()) == 2 * 2_307_215
    small, optimizer = restatement.build_official(num_frames=3, block_num=2)
    before = {k: v.clone() for k, v in small.state_dict().items()}
    x = torch.rand(1, 9, 16, 16)
    losses = restatement.official_train_step(small, optimizer, x)
    assert len(losses) == 3 and all(v > 0 for v in losses)
    changed = [k for k, v in small.state_dict().items()
               if not torch.equal(v, before[k])]
    assert any(k.startswith('0.') for k in changed)
    assert any(k.startswith('2.') for k in changed)


@pytest.mark.parametrize('down,order,params', [
    ('haar', 'hl', 5_300_850),  # st-06 (3 frames)
    ('squeeze', 'ref', None),
    ('haar', 'ref', None),
    ('squeeze', 'hl', None),
])
def test_downscaling_round_trip(restatement, down, order, params):
    torch.manual_seed(0)
    frames = 3 if params else 2
    net = restatement.InvNet(frames, down=down, order=order,
                             block_num=10 if params else 1)
    if params:
        assert sum(p.numel() for p in net.parameters()) == params
    x = torch.rand(2, 3 * frames, 8, 8)
    with torch.no_grad():
        y = net.down(x)
        assert y.shape == (2, 12 * frames, 4, 4)
        assert _max_err(net.down(y, rev=True), x) <= 1e-5
        if down == 'haar':  # the first channels are LL = 2x2 means
            ll = y[:, :3] if order == 'ref' else y[:, :3 * frames]
            want = torch.nn.functional.avg_pool2d(
                x[:, :3] if order == 'ref' else x, 2)
            conv = net.down.operations[1].weight
            lifted = torch.einsum('oc,nchw->nohw', torch.inverse(conv), y)
            assert _max_err(lifted[:, :ll.shape[1]], want) <= 1e-5


def test_ref_order_puts_the_reference_frame_first(restatement):
    squeeze = restatement.SqueezeLayer(6, 'ref')
    x = torch.arange(2 * 6 * 4 * 4, dtype=torch.float32).view(2, 6, 4, 4)
    y = squeeze(x)
    # frame 0's four sub-pixel planes (3 channels each) come first
    first = y[:, :12]
    assert set(first.flatten().tolist()) == set(x[:, :3].flatten().tolist())
    assert torch.equal(squeeze(y, rev=True), x)


def test_bad_downscaling_type_is_one_line(restatement):
    with pytest.raises(ValueError, match="down_type must be None, 'haar'"):
        restatement.InvNet(2, down='bicubic')


@pytest.mark.parametrize('down,order', [('haar', 'hl'), ('squeeze', 'ref'),
                                        ('haar', 'ref'), (None, 'hl')])
def test_agrees_with_invtoolbox_through_the_converter(restatement, down,
                                                      order):
    """The downscaling paths have no official vectors here: cross-check
    the re-statement against ``IICNetNet`` loaded through the official
    converter (two implementations of the same spec)."""
    from invtoolbox.apis import convert_iicnet_state_dict
    from invtoolbox.registry import MODELS
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    net = restatement.InvNet(2, down=down, order=order, block_num=2)
    with torch.no_grad():
        for p in net.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.02)
    cfg = dict(type='IICNetNet', num_images=2, block_num=2,
               down=None if down is None else dict(
                   type=down, order=order, use_conv1x1=True))
    state, _ = convert_iicnet_state_dict(net.state_dict(), network=cfg)
    ours = MODELS.build(cfg)
    ours.load_state_dict(state, strict=True)
    x = torch.rand(2, 6, 16, 16)
    with torch.no_grad():
        e = net.embed(x)['embedding_frame']
        assert _max_err(ours(x), e) <= TOL
        assert _max_err(ours(e, rev=True),
                        net.restore(e)['fake_frames']) <= TOL
