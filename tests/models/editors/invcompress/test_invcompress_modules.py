# Copyright (c) invtoolbox contributors. All rights reserved.
"""InvCompress's transform, hyperprior, context model and key mapping
against the official vectors.

``invcompress.pt`` (``../shared/vectors``) holds the official quality-1
model (N=128) as keyed-random weights (``keyed_weights.materialize``
rebuilds the 476-key official state dict) and the official outputs on a
1x3x64x64 input. The official state dict is mapped key by key, loaded
strictly into our modules, and every stage is compared with
``max(1e-5, 4 x f64_drift)`` (the vectors' notes): the drift is how much a
float64 run of the official code moves each output.
"""

import pytest
import torch

from invtoolbox.errors import ShapeError
from invtoolbox.models.editors.invcompress import (InvCompressTransform,
                                                   build_invcompress_inn,
                                                   official_config,
                                                   official_to_ours,
                                                   ours_to_official)
from invtoolbox.models.entropy_models.context import MaskedConv2d
from invtoolbox.models.entropy_models.hyperprior import (EntropyParameters,
                                                         HyperAnalysis,
                                                         HyperSynthesis)
from invtoolbox.models.inn import Invertible1x1Conv, RealNVPCoupling

#: official quality-1 parameter count (reference study B1 and the vectors)
Q1_PARAMS = 43_264_827
OFFICIAL_KEYS = 476


@pytest.fixture(scope='module')
def ours_sd(official_sd):
    return {official_to_ours(k): v for k, v in official_sd.items()}


def _part(state_dict, prefix):
    return {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }


@pytest.fixture(scope='module')
def transform(ours_sd):
    torch.manual_seed(0)
    net = InvCompressTransform(128)
    net.load_state_dict(_part(ours_sd, 'transform.'), strict=True)
    return net.eval()


@pytest.fixture(scope='module')
def hyper(ours_sd):
    parts = dict(h_a=HyperAnalysis(128),
                 h_s=HyperSynthesis(128),
                 context_prediction=MaskedConv2d(128, 256, 5, 'A'),
                 entropy_parameters=EntropyParameters(128))
    for name, module in parts.items():
        module.load_state_dict(_part(ours_sd, name + '.'), strict=True)
        module.eval()
    return parts


def _case(vectors, direction):
    (case, ) = [c for c in vectors['cases'] if c['direction'] == direction]
    return case


def _check(vectors, direction, name, got, errors):
    """Compare ``got`` with the official output; record the error."""
    want = _case(vectors, direction)['outputs'][name]
    tol = max(1e-5, 4 * vectors['f64_drift'][f'{direction}.{name}'])
    err = (got - want).abs().max().item()
    errors[f'{direction}.{name}'] = err
    assert got.shape == want.shape, name
    assert err <= tol, f'{direction}.{name}: {err:.3g} > {tol:.3g}'


# -- key mapping --------------------------------------------------------------
def test_every_official_key_maps_and_round_trips(official_sd, ours_sd):
    assert len(official_sd) == OFFICIAL_KEYS
    assert len(ours_sd) == OFFICIAL_KEYS  # no two keys collide
    for key in official_sd:
        assert ours_to_official(official_to_ours(key)) == key
    assert official_to_ours('inv.operations.17.G2.conv3.bias') == \
        'transform.inn.blocks.17.s2.conv3.bias'
    assert official_to_ours('inv.operations.16.weight') == \
        'transform.inn.blocks.16.weight'
    assert official_to_ours('enh.back_enh.layers.4.conv5.weight') == \
        'transform.enhancement.backward_block.layers.4.conv5.weight'
    assert official_to_ours('attention.forw_att.conv_b.3.bias') == \
        'transform.attention.forward_block.conv_b.3.bias'
    assert official_to_ours('entropy_bottleneck._matrix0') == \
        'entropy_bottleneck._matrix0'


def test_mapped_keys_are_our_modules_keys(ours_sd, transform, hyper):
    ours = {'transform.' + k for k in transform.state_dict()}
    for name, module in hyper.items():
        ours |= {f'{name}.{k}' for k in module.state_dict()}
    entropy_coders = {
        k
        for k in ours_sd
        if k.startswith(('entropy_bottleneck.', 'gaussian_conditional.'))
    }
    assert set(ours_sd) - entropy_coders == ours
    assert len(entropy_coders) == 27  # the entropy-model helper's part


@pytest.mark.parametrize('key', [
    'g_a.0.weight', 'module.h_a.0.weight', 'inv.operations.3.weight.x',
    'inv.operations.2.F.conv1.weight', 'enh.mid_enh.layers.0.conv1.weight',
    'attention.forw_att.conv_c.0.weight', 'h_a', ''
])
def test_unknown_official_key_is_a_one_line_error(key):
    with pytest.raises(ValueError, match='not a key') as info:
        official_to_ours(key)
    assert '\n' not in str(info.value)
    if key.startswith('module.'):
        assert "'module.'" in str(info.value)


@pytest.mark.parametrize('key', [
    'inv.operations.1.weight', 'transform.inn.blocks.2.G1.conv1.weight',
    'transform.enhancement.forw_enh.layers.0.conv1.weight', 'generator.x'
])
def test_unknown_our_key_is_a_one_line_error(key):
    with pytest.raises(ValueError, match='not a key'):
        ours_to_official(key)


def test_official_config(official_sd):
    cfg = official_config(official_sd)
    assert cfg == dict(N=128,
                       enhance_channels=64,
                       levels=4,
                       kernel_sizes=(5, 5, 3, 3),
                       couplings_per_level=3,
                       in_channels=3)


def test_official_config_rejects_other_layouts(official_sd):
    missing = dict(official_sd)
    del missing['h_a.0.weight']
    with pytest.raises(ValueError, match="no 'h_a.0.weight'"):
        official_config(missing)
    wrong = dict(official_sd)
    wrong['inv.operations.11.weight'] = torch.zeros(191, 191)
    with pytest.raises(ValueError, match=r'inv.operations.11.weight.*\(192'):
        official_config(wrong)
    narrow = dict(official_sd)
    narrow['inv.operations.13.H2.conv1.weight'] = torch.zeros(48, 144, 5, 5)
    with pytest.raises(ValueError, match='H2.conv1'):
        official_config(narrow)
    no_level = {
        k: v
        for k, v in official_sd.items()
        if not k.startswith('inv.operations.16.')
    }
    with pytest.raises(ValueError, match='1x1 convs at'):
        official_config(no_level)


# -- the official vectors -----------------------------------------------------
def test_analysis_stages(vectors, transform):
    x = _case(vectors, 'analysis')['inputs']['x']
    errors = {}
    with torch.no_grad():
        stages = transform.analysis_stages(x)
        y = transform.analysis(x)
    assert set(stages) == set(_case(vectors, 'analysis')['outputs'])
    for name, got in stages.items():
        _check(vectors, 'analysis', name, got, errors)
    assert torch.equal(y, stages['y'])
    assert transform(x).shape == (1, 128, 4, 4)


def test_inn_inverse(vectors, transform):
    case = _case(vectors, 'inn_inverse')
    with torch.no_grad():
        x_enh = transform.inn(case['inputs']['inn_out'], rev=True)
    _check(vectors, 'inn_inverse', 'x_enh', x_enh, {})


def test_synthesis_stages(vectors, transform):
    y_hat = _case(vectors, 'synthesis')['inputs']['y_hat']
    errors = {}
    with torch.no_grad():
        stages = transform.synthesis_stages(y_hat)
        x_hat = transform(y_hat, rev=True)
    assert set(stages) == set(_case(vectors, 'synthesis')['outputs'])
    for name, got in stages.items():
        _check(vectors, 'synthesis', name, got, errors)
    assert torch.equal(x_hat, stages['x_hat'])
    # the eval forward decodes the same y_hat = round(y)
    _check(vectors, 'forward_eval', 'x_hat', x_hat, errors)


def test_forward_eval_hyperprior_and_context(vectors, hyper):
    out = _case(vectors, 'forward_eval')['outputs']
    errors = {}
    with torch.no_grad():
        z = hyper['h_a'](out['y'])
        params = hyper['h_s'](out['z_hat'])
        ctx = hyper['context_prediction'](out['y_hat'])
        scales, means = hyper['entropy_parameters'](torch.cat(
            (out['params'], out['ctx_params']), dim=1)).chunk(2, 1)
    _check(vectors, 'forward_eval', 'z', z, errors)
    _check(vectors, 'forward_eval', 'params', params, errors)
    _check(vectors, 'forward_eval', 'ctx_params', ctx, errors)
    _check(vectors, 'forward_eval', 'scales_hat', scales, errors)
    _check(vectors, 'forward_eval', 'means_hat', means, errors)


def test_our_y_stays_inside_the_rounding_margins(vectors, transform):
    """Our y rounds exactly as the official one (margin 8e-4 in the notes)."""
    case = _case(vectors, 'forward_eval')
    with torch.no_grad():
        y = transform.analysis(case['inputs']['x'])
    assert torch.equal(torch.round(y), case['outputs']['y_hat'])


def test_inn_round_trip_with_official_weights(transform):
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        rec = transform.inn(transform.inn(x), rev=True)
    assert (rec - x).abs().max().item() < 1e-5


def test_parameter_count_equals_the_official_minus_entropy_bottleneck(
        vectors, transform, hyper):
    recipe = vectors['weights_recipe']
    quantiles = vectors['state_dict']['entropy_bottleneck.quantiles']
    # the recipe holds every learnable tensor except the quantiles
    total = sum(torch.Size(s['shape']).numel()
                for s in recipe.values()) + quantiles.numel()
    assert total == Q1_PARAMS
    bottleneck = sum(
        torch.Size(s['shape']).numel() for k, s in recipe.items()
        if k.startswith('entropy_bottleneck.')) + quantiles.numel()
    ours = sum(p.numel() for p in transform.parameters())
    ours += sum(p.numel() for m in hyper.values() for p in m.parameters())
    assert ours == Q1_PARAMS - bottleneck
    inn = sum(p.numel() for p in transform.inn.parameters())
    assert inn == 37_215_108  # reference study B1


# -- a fresh transform --------------------------------------------------------
def test_fresh_couplings_and_enhancement_are_identities():
    torch.manual_seed(1)
    net = InvCompressTransform(128).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for block in (net.enhancement.forward_block,
                      net.enhancement.backward_block):
            assert torch.equal(block(x), x)
        h = x
        couplings = 0
        for block in net.inn:
            if isinstance(block, RealNVPCoupling):
                assert torch.equal(block(h), h)
                couplings += 1
            h = block(h)
    assert couplings == 12
    assert h.shape == (1, 768, 4, 4)
    # the free 1x1 convs start orthogonal (the official numpy QR init)
    for block in net.inn:
        if isinstance(block, Invertible1x1Conv):
            eye = torch.eye(block.weight.shape[0])
            assert torch.allclose(block.weight @ block.weight.t(),
                                  eye,
                                  atol=1e-5)


def _perturbed_small_transform():
    torch.manual_seed(2)
    net = InvCompressTransform(16,
                               enhance_channels=8,
                               levels=2,
                               kernel_sizes=(3, 3)).eval()
    for p in net.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    return net


def test_small_transform_round_trip_and_shapes():
    net = _perturbed_small_transform()
    assert net.inn_channels == 48 and net.groups == 3
    assert net.size_multiple == 16
    x = torch.rand(2, 3, 32, 16)
    with torch.no_grad():
        out = net.inn(x)
        assert out.shape == (2, 48, 8, 4)
        assert (net.inn(out, rev=True) - x).abs().max().item() < 1e-5
        y = net.analysis(x)
        assert y.shape == (2, 16, 8, 4)
        assert net.synthesis(y).shape == x.shape
        # mean over groups, then repeat: synthesis of the INN output mean
        assert torch.allclose(
            net.channel_repeat(net.channel_mean(out)),
            out.view(2, 3, 16, 8, 4).mean(1).repeat(1, 3, 1, 1))


def test_inn_layout_matches_official_operations():
    inn = build_invcompress_inn(levels=2,
                                kernel_sizes=(5, 3),
                                couplings_per_level=2)
    names = [type(b).__name__ for b in inn]
    assert names == ['PixelUnshuffle', 'Invertible1x1Conv'] + \
        ['RealNVPCoupling'] * 2 + ['PixelUnshuffle', 'Invertible1x1Conv'] + \
        ['RealNVPCoupling'] * 2
    assert inn[2].split1 == 3 and inn[2].split2 == 9
    assert inn[2].s2.conv1.weight.shape == (3, 9, 5, 5)
    assert inn[6].t1.conv3.weight.shape == (36, 36, 3, 3)
    assert inn[2].clamp_activation == 'sigmoid' and inn[2].clamp == 1.0
    # sub-pixel-major squeeze: out channel (dy*2+dx)*C + c
    x = torch.arange(3 * 4.).view(1, 3, 2, 2)
    assert inn[0](x).flatten().tolist() == [
        0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11
    ]


@pytest.mark.parametrize('shape', [(1, 3, 24, 32), (1, 3, 32, 8),
                                   (1, 1, 32, 32), (3, 32, 32)])
def test_bad_image_size_is_a_one_line_error(shape):
    # 2 levels: H, W must be multiples of 2**2 * 4 = 16
    net = InvCompressTransform(16,
                               enhance_channels=8,
                               levels=2,
                               kernel_sizes=(3, 3))
    with pytest.raises(ShapeError) as info:
        net.analysis(torch.rand(*shape))
    assert '\n' not in str(info.value)


def test_bad_latent_and_settings_are_one_line_errors():
    net = InvCompressTransform(16,
                               enhance_channels=8,
                               levels=2,
                               kernel_sizes=(3, 3))
    with pytest.raises(ShapeError, match=r'\(B, 16, h, w\)'):
        net.synthesis(torch.rand(1, 12, 4, 4))
    with pytest.raises(ValueError, match='N=100 must divide .* 768'):
        InvCompressTransform(100)
    with pytest.raises(ValueError, match='one kernel size per level'):
        InvCompressTransform(128, kernel_sizes=(5, 3))
    with pytest.raises(ValueError, match='levels must be a positive'):
        InvCompressTransform(128, levels=0)
    with pytest.raises(ValueError, match='positive channel count'):
        HyperAnalysis(0)


# -- context model and hyperprior pieces --------------------------------------
def test_masked_conv_masks_and_keys():
    conv_a = MaskedConv2d(2, 4, 5, 'A')
    conv_b = MaskedConv2d(2, 4, 5, 'B')
    plane_a = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0],
                            [0, 0, 0, 0, 0], [0, 0, 0, 0, 0.]])
    plane_b = plane_a.clone()
    plane_b[2, 2] = 1
    assert torch.equal(conv_a.mask, plane_a.expand(4, 2, 5, 5))
    assert torch.equal(conv_b.mask, plane_b.expand(4, 2, 5, 5))
    assert set(conv_a.state_dict()) == {'weight', 'bias', 'mask'}
    assert conv_a.padding == (2, 2)
    with pytest.raises(ValueError, match="mask_type='C'"):
        MaskedConv2d(2, 4, 5, 'C')
    with pytest.raises(ValueError, match='odd'):
        MaskedConv2d(2, 4, 4)


@pytest.mark.parametrize('mask_type', ['A', 'B'])
def test_masked_conv_is_causal_in_raster_order(mask_type):
    torch.manual_seed(4)
    conv = MaskedConv2d(3, 5, 5, mask_type)
    raw = conv.weight.detach().clone()
    h, w = 6, 7
    x = torch.randn(1, 3, h, w)
    base = conv(x)
    assert torch.equal(conv.weight, raw)  # the parameter is not modified
    for pos in (0, 9, 20, h * w - 1):
        bumped = x.clone()
        bumped[0, :, pos // w, pos % w] += 10
        changed = (conv(bumped) - base).abs().amax(1).flatten() > 0
        order = torch.arange(h * w)
        # outputs before the bumped position never see it; the position
        # itself sees it only with mask 'B'
        assert not changed[order < pos].any()
        assert bool(changed[pos]) == (mask_type == 'B')
        assert changed[order > pos].any() or pos == h * w - 1


def test_hyper_networks_shapes_and_slopes():
    N = 12
    z = HyperAnalysis(N)(torch.rand(1, N, 8, 8))
    assert z.shape == (1, N, 2, 2)
    params = HyperSynthesis(N)(z)
    assert params.shape == (1, 2 * N, 8, 8)
    ep = EntropyParameters(N)
    assert [ep[i].weight.shape[:2] for i in (0, 2, 4)] == [(40, 48), (32, 40),
                                                           (24, 32)]
    assert EntropyParameters(128)[0].weight.shape[:2] == (426, 512)
    for net in (HyperAnalysis(N), HyperSynthesis(N), ep):
        slopes = {
            m.negative_slope
            for m in net.modules() if isinstance(m, torch.nn.LeakyReLU)
        }
        assert slopes == {0.01}
    assert len(HyperAnalysis(N).state_dict()) == 10
    assert sorted(HyperSynthesis(N).state_dict())[:2] == ['0.bias', '0.weight']
    assert '6.0.weight' in HyperSynthesis(N).state_dict()
