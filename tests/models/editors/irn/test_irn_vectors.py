# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official vectors, through the converter and the IRN model.

``irn_x2.pt`` and ``irn_color.pt`` (``../shared/vectors``) hold the official
state dict, forward / inverse cases and ``train_step_losses``: the three
weighted loss terms that one call of the official ``optimize_parameters``
logged for a fixed batch and latent. The converted weights must reproduce the
outputs (<= 1e-5) and the model's objective the losses (<= 1e-4 relative).
"""
import pytest
import torch

from invtoolbox.apis import convert_official_checkpoint
from invtoolbox.registry import MODELS
from tests.helpers import shared_path

# The official settings of the two vector files (train ymls in 'arch').
MODELS_CFG = {
    'IRN_x2':
    dict(
        type='IRN',
        generator=dict(type='IRNNet', scale=2, block_num=[8]),
        pixel_loss_forw=dict(
            type='MSELoss', loss_weight=4.0, reduction='batch_sum'),
        latent_loss=dict(type='LatentNLLLoss', loss_weight=1.0),
        pixel_loss_back=dict(
            type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum')),
    'IRN_color':
    dict(
        type='IRN',
        generator=dict(
            type='IRNNet',
            scale=1,
            out_channels=1,
            down_type='grey',
            block_num=[8]),
        pixel_loss_forw=dict(
            type='MSELoss', loss_weight=3.0, reduction='batch_sum'),
        latent_loss=dict(type='LatentNLLLoss', loss_weight=1.0),
        pixel_loss_back=dict(
            type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum'),
        train_cfg=dict(gaussian_scale=0.0),
        test_cfg=dict(latent='zero')),
}
FILES = [('irn_x2', 'IRN_x2'), ('irn_color', 'IRN_color')]


@pytest.fixture(scope='module', params=FILES, ids=[f[0] for f in FILES])
def loaded(request):
    name, arch = request.param
    vectors = torch.load(
        shared_path('vectors', f'{name}.pt'), weights_only=True)
    model = MODELS.build(MODELS_CFG[arch])
    model.generator.load_state_dict(
        convert_official_checkpoint(arch, vectors['state_dict']), strict=True)
    return vectors, model.eval()


def case(vectors, direction, tag=None):
    found = [
        c for c in vectors['cases']
        if c['direction'] == direction and (tag is None or c.get('tag') == tag)
    ]
    assert found, (direction, tag)
    return found[0]


def test_forward_and_inverse(loaded):
    vectors, model = loaded
    forward = case(vectors, 'forward')
    inverse = case(vectors, 'inverse', 'lr_quant+z_gauss_seed2')
    with torch.no_grad():
        out, logdet = model.generator(forward['inputs']['x'], jac=True)
        assert (out - forward['outputs']['out']).abs().max() <= 1e-5
        c = model.lr_channels
        lr_q = model.quantization(out[:, :c])
        assert torch.equal(lr_q, forward['outputs']['lr_quant'])
        if 'logdet' in forward['outputs']:
            assert torch.allclose(logdet[0], forward['outputs']['logdet'],
                                  rtol=1e-6)
        # the model's upscale with an explicit latent is the official
        # reverse pass net(y, rev=True)
        y = inverse['inputs']['y']
        x = model.upscale(y[:, :c], z=y[:, c:])
        assert (x - inverse['outputs']['x_full']).abs().max() <= 1e-5


def test_train_step_losses(loaded):
    vectors, model = loaded
    losses_case = case(vectors, 'train_step_losses')
    inputs, expected = losses_case['inputs'], losses_case['outputs']
    model.train()
    with torch.no_grad():  # the values only; gradients are tested elsewhere
        losses = model.compute_losses(
            inputs['GT'], inputs['ref'], z=inputs['z_fixed'])
    names = {
        'loss_forw_fit': 'l_forw_fit',
        'loss_forw_ce': 'l_forw_ce',
        'loss_back_rec': 'l_back_rec'
    }
    assert set(losses) == set(names)
    for ours, theirs in names.items():
        value, target = losses[ours].item(), expected[theirs].item()
        assert abs(value - target) <= 1e-4 * abs(target), (ours, value, target)
