# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official IICNet vectors (``iicnet_mono.pt``, mono-01) through the
converter, the network and the model.

The file holds the official state dict (seeded random weights), the
forward intermediates, the inverse from the quantised and from the float
embedding, a coupling round trip and the three unweighted loss terms. The
converted weights must reproduce every output within 1e-5.
"""
import pytest
import torch

from invtoolbox.apis import OFFICIAL_ARCHS, convert_official_checkpoint
from invtoolbox.registry import MODELS
from invtoolbox.tasks import BaseRICTask
from tests.helpers import shared_path

TOL = 1e-5
ARCH = 'IICNet_mono-01'


class StereoPair(BaseRICTask):
    """Two images, the first one is the reference (as ``[left, right]``)."""
    num_images = 2
    image_names = ('left', 'right')


class SwappedPair(BaseRICTask):
    """Two images whose reference is the second one in natural order."""
    num_images = 2
    reference_index = 1
    image_names = ('first', 'second')


@pytest.fixture(scope='module')
def vectors():
    return torch.load(
        shared_path('vectors', 'iicnet_mono.pt'), weights_only=True)


@pytest.fixture(scope='module')
def net(vectors):
    cfg = OFFICIAL_ARCHS[ARCH]['parts']['generator']['network']
    network = MODELS.build(cfg)
    network.load_state_dict(
        convert_official_checkpoint(ARCH, vectors['state_dict']), strict=True)
    return network.eval()


def case(vectors, direction):
    found = [c for c in vectors['cases'] if c['direction'] == direction]
    assert len(found) == 1, direction
    return found[0]


def max_err(a, b):
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a - b).abs().max().item()


def test_forward_intermediates(vectors, net):
    c = case(vectors, 'forward')
    with torch.no_grad():
        out = net.embed_intermediates(c['inputs']['input_frames'])
    pairs = [('rel', 'rel_frames'), ('down', 'down_frames'),
             ('inn', 'output_frames'), ('embedding', 'embedding_frame')]
    for ours, theirs in pairs:
        assert max_err(out[ours], c['outputs'][theirs]) <= TOL, ours
    # the relation module and couplings really act (weights are perturbed)
    assert max_err(out['rel'], c['inputs']['input_frames']) > 1e-3
    # net(x) is the pre-quantisation embedding
    with torch.no_grad():
        assert torch.equal(net(c['inputs']['input_frames']),
                           out['embedding'])


def test_test_quantisation(vectors, net):
    from invtoolbox.models.degradations import NoiseQuantization
    c = case(vectors, 'forward')
    quant = NoiseQuantization().eval()
    q = quant(c['outputs']['embedding_frame'])
    assert torch.equal(q, c['outputs']['embedding_frame_prime'])


def test_inverse_intermediates(vectors, net):
    c = case(vectors, 'inverse')
    with torch.no_grad():
        out = net.restore_intermediates(
            c['inputs']['embedding_frame_prime'])
    pairs = [('inn', 'output_frames_prime'), ('down', 'down_frames_prime'),
             ('rel', 'rel_frames_prime'), ('restored', 'fake_frames')]
    for ours, theirs in pairs:
        assert max_err(out[ours], c['outputs'][theirs]) <= TOL, ours


def test_inverse_unquantized(vectors, net):
    c = case(vectors, 'inverse_unquantized')
    with torch.no_grad():
        out = net(c['inputs']['embedding_frame'], rev=True)
    assert max_err(out, c['outputs']['fake_frames']) <= TOL


def test_inn_roundtrip(vectors, net):
    c = case(vectors, 'inn_roundtrip')
    with torch.no_grad():
        out = net.inn(c['inputs']['down_frames'])
        back = net.inn(out, rev=True)
    assert max_err(out, c['outputs']['output_frames']) <= TOL
    assert max_err(back, c['outputs']['down_frames_reconstructed']) <= TOL
    assert max_err(back, c['inputs']['down_frames']) <= TOL


def test_losses(vectors):
    """The model's weighted terms = official lambdas x official terms."""
    c = case(vectors, 'losses')
    model = MODELS.build(dict(type='IICNet', task=StereoPair(),
                              generator=dict(block_num=1)))
    lambdas = vectors['arch']['loss_lambdas_train_config']
    terms = model.loss_terms(c['inputs']['embedding_frame'],
                             c['inputs']['ref_frame'],
                             c['inputs']['fake_frames'],
                             c['inputs']['input_frames'])
    expected = {
        'loss_embed': lambdas['lambda_embedding_frame_basic'] *
        c['outputs']['l_embedding_frame_basic_l2'],
        'loss_freq': lambdas['lambda_embedding_frame_freq'] *
        c['outputs']['l_embedding_frame_freq'],
        'loss_restore': lambdas['lambda_fake_frames_basic'] *
        c['outputs']['l_fake_frames_basic_l1'],
    }
    assert set(terms) == set(expected)
    for key, value in expected.items():
        assert torch.allclose(terms[key], value, rtol=1e-5), key


@pytest.mark.parametrize('task_cls', [StereoPair, SwappedPair])
def test_model_takes_natural_rgb(vectors, net, task_cls):
    """Natural-order RGB images through the IICNet model give the official
    (BGR, reference-first) outputs after reordering."""
    c = case(vectors, 'forward')
    stacked = c['inputs']['input_frames']  # BGR, reference first
    n, _, h, w = stacked.shape
    task = task_cls()
    bgr = stacked.reshape(n, 2, 3, h, w)
    images = torch.empty_like(bgr)
    for pos, idx in enumerate(task.order):
        images[:, idx] = bgr[:, pos].flip(1)  # natural order, RGB
    model = MODELS.build(dict(type='IICNet', task=task, generator=net))
    model.eval()
    assert torch.equal(model.pack(images), stacked)
    with torch.no_grad():
        embedding = model(images, mode='tensor')
        samples = model(images, mode='predict')
    assert max_err(embedding, c['outputs']['embedding_frame']) <= TOL
    restored = case(vectors, 'inverse')['outputs']['fake_frames']
    restored = restored.reshape(n, 2, 3, h, w).clamp(0, 1)
    for i, sample in enumerate(samples):
        assert torch.equal(sample.pred_embed,
                           c['outputs']['embedding_frame_prime'][i].flip(0))
        for pos, idx in enumerate(task.order):
            assert max_err(sample.pred_img[idx],
                           restored[i, pos].flip(0)) <= TOL
        assert torch.equal(sample.gt_img, images[i])
        assert torch.equal(sample.ref_img, images[i, task.reference_index])
