# Copyright (c) invtoolbox contributors. All rights reserved.
"""The library's blocks reproduce the official IRN / IRN-Color / SAIN networks.

The official networks are chains of exactly these blocks; loading the
official weights (``operations.i`` -> ``blocks.i``) into an
:class:`InvertibleSequential` must reproduce the official outputs of
``../shared/vectors`` (tolerance 1e-5; measured: bit-exact for IRN and SAIN).
"""
import re

import pytest
import torch

from invtoolbox.models.inn import InvertibleSequential
from tests.helpers import shared_path


def load(name):
    return torch.load(shared_path('vectors', f'{name}.pt'), weights_only=True)


def cases(vectors, direction):
    return [c for c in vectors['cases'] if c['direction'] == direction]


def irn_chain(first, split, num_blocks=8):
    return InvertibleSequential(
        [dict(type=first)] +
        [dict(type='AffineCoupling', split=split)] * num_blocks,
        in_shape=(3, 64, 64)).eval()


def irn_state(vectors):
    return {
        k.replace('operations.', 'blocks.', 1): v
        for k, v in vectors['state_dict'].items()
    }


@pytest.mark.parametrize('name,first,split', [
    ('irn_x2', 'HaarDownsampling', 3),
    ('irn_color', 'Conv1x1Grey', 1),
])
def test_irn_chains(name, first, split):
    vectors = load(name)
    inn = irn_chain(first, split)
    inn.load_state_dict(irn_state(vectors), strict=True)
    with torch.no_grad():
        for case in cases(vectors, 'forward'):
            y, logdet = inn(case['inputs']['x'], jac=True)
            assert (y - case['outputs']['out']).abs().max() <= 1e-5
            if 'logdet' in case['outputs']:
                assert torch.allclose(logdet[0], case['outputs']['logdet'],
                                      rtol=1e-6)
        inverse_cases = cases(vectors, 'inverse')
        assert len(inverse_cases) >= 3
        for case in inverse_cases:
            x = inn(case['inputs']['y'], rev=True)
            assert (x - case['outputs']['x_full']).abs().max() <= 1e-5


def test_irn_default_init_is_a_haar_cascade():
    vectors = load('irn_x2')
    inn = irn_chain('HaarDownsampling', 3)
    state = irn_state(vectors)
    for key in state:
        if key.endswith('.bias') or key.endswith('.conv5.weight'):
            state[key] = torch.zeros_like(state[key])
    inn.load_state_dict(state)
    case = cases(vectors, 'forward_default_init')[0]
    with torch.no_grad():
        out = inn(case['inputs']['x'])
    assert (out - case['outputs']['out']).abs().max() <= 1e-6


def sain_state(vectors, num_e):
    state = {}
    for key, value in vectors['state_dict'].items():
        if key.startswith('haar_operations.'):
            key = re.sub(r'^haar_operations\.(\d+)', r'blocks.\1', key)
        elif key.startswith('down_operations.'):
            key = re.sub(r'^down_operations\.(\d+)',
                         lambda m: f'blocks.{1 + int(m.group(1))}', key)
        elif key.startswith('comp_operations.'):
            key = re.sub(r'^comp_operations\.(\d+)',
                         lambda m: f'blocks.{1 + num_e + int(m.group(1))}',
                         key)
        else:
            continue  # the Gaussian mixture is not part of the chain
        state[key] = value
    return state


def test_sain_x2_chain_with_enhanced_couplings():
    vectors = load('sain_x2')
    inn = InvertibleSequential(
        [dict(type='HaarDownsampling')] +
        [dict(type='EnhancedAffineCoupling', split=3)] * 5 +
        [dict(type='AffineCoupling', split=3)] * 3, (3, 64, 64)).eval()
    inn.load_state_dict(sain_state(vectors, 5), strict=True)
    with torch.no_grad():
        case = cases(vectors, 'forward')[0]
        y, logdet = inn(case['inputs']['x'], jac=True)
        assert (y - case['outputs']['out']).abs().max() <= 1e-5
        assert torch.allclose(logdet[0], case['outputs']['logdet'], rtol=1e-6)
        # the LR inside the last enhanced block, taken between ranges
        h, _ = inn.run(case['inputs']['x'], 0, 5)
        lr = inn[5].forward_with_lr(h).lr
        assert (lr - case['outputs']['lr_hq']).abs().max() <= 1e-5
        for case in cases(vectors, 'inverse'):
            x = inn(case['inputs']['y'], rev=True)
            assert (x - case['outputs']['x_full']).abs().max() <= 1e-5
            h, _ = inn.run(case['inputs']['y'], 6, None, rev=True)
            lr_recon = inn[5].forward_with_lr(h, rev=True).lr
            assert (lr_recon -
                    case['outputs']['lr_recon']).abs().max() <= 1e-5
