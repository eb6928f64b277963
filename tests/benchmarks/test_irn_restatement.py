# Copyright (c) invtoolbox contributors. All rights reserved.
"""The benchmark baseline (a plain re-statement of official IRN) is faithful."""
import pytest
import torch

from tests.helpers import shared_path


@pytest.fixture(scope='module')
def restatement():
    from benchmarks import irn_restatement
    return irn_restatement


def test_matches_official_vectors(restatement):
    vectors = torch.load(shared_path('vectors', 'irn_x2.pt'),
                         weights_only=True)
    net = restatement.InvRescaleNet(block_num=[8])
    net.load_state_dict(vectors['state_dict'], strict=True)
    net.eval()
    cases = {c['direction']: c for c in vectors['cases']}
    with torch.no_grad():
        out = net(cases['forward']['inputs']['x'])
        assert (out - cases['forward']['outputs']['out']).abs().max() <= 1e-5
        step = cases['train_step_losses']
        losses = restatement.official_losses(
            net, step['inputs']['GT'], step['inputs']['ref'],
            z=step['inputs']['z_fixed'], scale=2)
    for value, key in zip(losses, ('l_forw_fit', 'l_forw_ce', 'l_back_rec')):
        expected = float(step['outputs'][key])
        assert abs(float(value) - expected) <= 1e-4 * abs(expected), key


def test_train_step_runs_and_x4_has_the_official_size(restatement):
    torch.manual_seed(0)
    net, optimizer = restatement.build_official(scale=4)
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == 4_355_376  # README: 4.35M (incl. fixed Haar filters)
    gt = torch.rand(1, 3, 16, 16)
    ref = torch.nn.functional.avg_pool2d(gt, 4)
    losses = restatement.official_train_step(net, optimizer, gt, ref)
    assert len(losses) == 3 and all(v > 0 for v in losses)
