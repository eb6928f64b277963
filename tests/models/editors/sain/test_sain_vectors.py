# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official SAIN x2 vectors, through the converter and the SAIN model.

``sain_x2.pt`` (``../shared/vectors``) holds the official state dict (seeded,
perturbed weights, not trained ones) and the outputs of the official code:
forward, inverse with several latents, the real-codec test path (PIL JPEG /
WebP), DiffJPEG, the Gaussian mixture, the default-init network and the five
loss terms of one ``optimize_parameters`` call. Converted weights must give
the same outputs (<= 1e-5; measured: bit-exact).
"""
import pytest
import torch

from invtoolbox.apis import convert_official_checkpoint
from invtoolbox.registry import DEGRADATIONS, MODELS
from tests.helpers import shared_path

TOL = 1e-5


@pytest.fixture(scope='module')
def vectors():
    return torch.load(shared_path('vectors', 'sain_x2.pt'), weights_only=True)


@pytest.fixture(scope='module')
def model(vectors):
    model = MODELS.build(
        dict(type='SAIN', generator=dict(type='SAINNet', scale=2)))
    model.generator.load_state_dict(
        convert_official_checkpoint('SAINx2_JPEG', vectors['state_dict']),
        strict=True)
    return model.eval()


def cases(vectors, direction):
    found = [c for c in vectors['cases'] if c['direction'] == direction]
    assert found, direction
    return found


def maxdiff(a, b):
    return (a - b).abs().max().item()


def test_parameter_count_matches_the_official_one(vectors, model):
    assert model.generator.num_official_params() == vectors['n_params']


def test_forward(vectors, model):
    case = cases(vectors, 'forward')[0]
    expected = case['outputs']
    with torch.no_grad():
        out, lr, logdet = model.generator(case['inputs']['x'], jac=True)
    assert maxdiff(out, expected['out']) <= TOL
    assert maxdiff(out[:, :3], expected['out_lr_sim_compressed']) <= TOL
    assert maxdiff(out[:, 3:], expected['out_z']) <= TOL
    assert maxdiff(lr, expected['lr_hq']) <= TOL
    assert torch.equal(
        model.downscale(case['inputs']['x']), expected['lr_hq_quant'])
    assert torch.allclose(logdet[0], expected['logdet'], rtol=1e-6)
    # the model's tensor mode is the official forward
    with torch.no_grad():
        out2, lr2 = model(case['inputs']['x'], mode='tensor')
    assert torch.equal(out2, out) and torch.equal(lr2, lr)


def test_inverse_with_every_latent(vectors, model):
    inverse = cases(vectors, 'inverse')
    tags = {c.get('tag') for c in inverse}
    assert {'lr_hq_quant+z_zeros', 'lr_hq_quant+z_gauss_seed2',
            'lr_hq_quant+z_gmm_sample_seed3', 'exact_forward_output'} <= tags
    for case in inverse:
        y, expected = case['inputs']['y'], case['outputs']
        with torch.no_grad():
            x_full, lr_recon = model.generator(y, rev=True)
        assert maxdiff(x_full, expected['x_full']) <= TOL, case['tag']
        assert maxdiff(lr_recon, expected['lr_recon']) <= TOL, case['tag']
        # upscale() with an explicit latent is the same reverse pass
        x = model.upscale(y[:, :3], z=y[:, 3:])
        assert maxdiff(x, expected['x']) <= TOL, case['tag']
        if case['tag'] == 'exact_forward_output':
            assert maxdiff(x, cases(vectors, 'forward')[0]['inputs']['x']) \
                <= TOL


@pytest.mark.parametrize('tag', ['JPEG_q75', 'JPEG_q90', 'JPEG_q30',
                                 'WebP_q75'])
def test_test_path_with_real_codecs(vectors, model, tag):
    case = [c for c in cases(vectors, 'test_path_realcodec')
            if c['tag'] == tag][0]
    inputs, expected = case['inputs'], case['outputs']
    codec = dict(
        type='RealJPEG' if inputs['format'] == 'JPEG' else 'RealWebP',
        quality=inputs['quality'])
    model.set_test_codec(codec)
    try:
        lr_q = model.downscale(inputs['x'])
        received, num_bytes = model.transmit(lr_q)
        zero = model.upscale(received, latent='zero')
        gmm = model.upscale(received, z=inputs['z_gmm'])
        samples = model.predict(inputs['x'])
    finally:
        model.set_test_codec(None)
    assert torch.equal(lr_q, expected['lr_quant'])
    # codec outputs may differ by a few 1/255 with other libjpeg/libwebp
    # builds (notes of the vector file); bit-exact on the reference set-up
    assert maxdiff(received, expected['lr_codec']) <= 3 / 255 + 1e-6
    if torch.equal(received, expected['lr_codec']):
        assert maxdiff(zero, expected['x_rec_z_zeros']) <= TOL
        assert maxdiff(gmm, expected['x_rec_z_gmm']) <= TOL
    assert num_bytes is not None and num_bytes[0] > 0
    assert samples[0].num_bytes == num_bytes[0]
    assert torch.equal(samples[0].pred_lr, lr_q[0])


def test_predict_with_zero_latent_is_the_official_test_path(vectors, model):
    case = [c for c in cases(vectors, 'test_path_realcodec')
            if c['tag'] == 'JPEG_q75'][0]
    model.set_test_codec(dict(type='RealJPEG', quality=75))
    model.test_cfg['latent'] = 'zero'
    try:
        sample = model.predict(case['inputs']['x'])[0]
    finally:
        model.test_cfg['latent'] = 'gmm'
        model.set_test_codec(None)
    expected = case['outputs']['x_rec_z_zeros'][0].clamp(0, 1)
    assert maxdiff(sample.pred_img, expected) <= TOL


@pytest.mark.parametrize('rounding,key', [('fourier', 'diff_round'),
                                          ('round', 'hard_round')])
def test_diffjpeg(vectors, rounding, key):
    for case in cases(vectors, 'diffjpeg'):
        quality = case['inputs']['quality']
        jpeg = DEGRADATIONS.build(
            dict(type='DiffJPEG', quality=quality, rounding=rounding))
        with torch.no_grad():
            out = jpeg(case['inputs']['lr'])
        assert maxdiff(out, case['outputs'][key]) <= TOL, (quality, rounding)


def test_gmm_parameters_and_density(vectors, model):
    case = cases(vectors, 'gmm')[0]
    gmm, expected = model.latent, case['outputs']
    assert gmm is model.generator.gmm
    assert torch.equal(gmm.gmm_para, expected['gmm_para'])
    assert maxdiff(gmm.weights, expected['weights_softmax']) <= 1e-6
    assert maxdiff(gmm.means, expected['mus']) <= 1e-6
    assert maxdiff(gmm.stds, expected['stds']) <= 1e-6
    t = case['inputs']['t']
    log_prob = gmm.log_prob(t.view(-1, 1), elementwise=True).view(-1)
    assert maxdiff(log_prob, expected['log_prob']) <= TOL


def test_gmm_sample_reproduces_the_official_draw(vectors, model):
    # the official sample after torch.manual_seed(3) = ours from a CPU
    # generator seeded 3
    case = [c for c in cases(vectors, 'inverse')
            if c['tag'] == 'lr_hq_quant+z_gmm_sample_seed3'][0]
    z = case['inputs']['z']
    with torch.no_grad():
        ours = model.sample_latent(z.shape, z,
                                   torch.Generator().manual_seed(3))
    assert torch.equal(ours, z)


def test_forward_default_init(vectors):
    net = MODELS.build(dict(type='SAINNet', scale=2)).eval()
    state = convert_official_checkpoint('SAINx2_JPEG', vectors['state_dict'])
    for key in state:
        if key.endswith('.bias') or key.endswith('.conv5.weight'):
            state[key] = torch.zeros_like(state[key])
    net.load_state_dict(state)
    case = cases(vectors, 'forward_default_init')[0]
    with torch.no_grad():
        out, lr, logdet = net(case['inputs']['x'], jac=True)
    assert maxdiff(out, case['outputs']['out']) <= 1e-6
    assert maxdiff(lr, case['outputs']['lr_hq']) <= 1e-6
    assert torch.allclose(logdet[0], case['outputs']['logdet'], rtol=1e-6)


def test_train_step_losses(vectors, model):
    case = cases(vectors, 'train_step_losses')[0]
    inputs, expected = case['inputs'], case['outputs']
    names = {
        'loss_fit1': 'l_forw_fit1',
        'loss_fit2': 'l_forw_fit2',
        'loss_reg': 'l_reg',
        'loss_rel': 'l_rel',
        'loss_rec': 'l_back_rec2',
    }
    gt, ref = inputs['GT'].clone(), inputs['ref'].clone()
    model.train()
    try:
        with torch.no_grad():  # the values only; gradients: test_sain_model
            losses = model.compute_losses(gt, ref, z=inputs['z_fixed'])
    finally:
        model.eval()
    assert set(losses) == set(names)
    for ours, theirs in names.items():
        value, target = losses[ours].item(), expected[theirs].item()
        assert abs(value - target) <= 1e-5 * abs(target), (ours, value,
                                                          target)
    # the official total, and the inputs are not modified in place
    total, log_vars = model.parse_losses(losses)
    official = expected['l_back_rec2'] + (
        expected['l_forw_fit1'] + expected['l_forw_fit2'] +
        expected['l_reg'] + expected['l_rel']) / 4
    assert abs(total.item() - official.item()) <= 1e-5 * official.item()
    assert log_vars['loss_fit1'].item() == losses['loss_fit1'].item()
    assert torch.equal(gt, inputs['GT']) and torch.equal(ref, inputs['ref'])


def test_threaded_codec_targets_give_the_same_losses(vectors):
    case = cases(vectors, 'train_step_losses')[0]
    inputs = case['inputs']
    model = MODELS.build(
        dict(
            type='SAIN',
            generator=dict(type='SAINNet', scale=2),
            train_cfg=dict(codec_threads=2)))
    model.generator.load_state_dict(
        convert_official_checkpoint('SAINx2_JPEG', vectors['state_dict']))
    with torch.no_grad():
        losses = model.compute_losses(
            inputs['GT'], inputs['ref'], z=inputs['z_fixed'])
    assert abs(losses['loss_rel'].item() -
               case['outputs']['l_rel'].item()) <= 1e-5 * 300
    assert abs(losses['loss_fit2'].item() -
               case['outputs']['l_forw_fit2'].item()) <= 1e-5 * 300
