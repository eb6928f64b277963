# Copyright (c) invtoolbox contributors. All rights reserved.
"""The converted official weights reproduce the official outputs
(../shared/vectors/novelview_jpeg.pt, keyed weights)."""
import pytest
import torch

from invtoolbox.apis import convert_official_checkpoint
from invtoolbox.models.degradations import DiffJPEG
from invtoolbox.models.editors.novelview import NovelViewJPEGNet
from tests.helpers import keyed_vectors


@pytest.fixture(scope='module')
def vectors():
    data, state = keyed_vectors('novelview_jpeg.pt')
    official = {
        part: {
            k[len(part) + 1:]: v
            for k, v in state.items() if k.startswith(part + '.')
        }
        for part in ('encoder', 'decoder')
    }
    cases = {c['direction']: c for c in data['cases']}
    return data, official, cases


@pytest.fixture(scope='module')
def net(vectors):
    _, official, _ = vectors
    converted = convert_official_checkpoint('NovelViewJPEG', official,
                                            source='vectors')
    net = NovelViewJPEGNet().eval()
    net.load_state_dict(converted, strict=True)
    return net


def official_jpeg():
    # the official test path: quality_range 0 -> exactly q90
    return DiffJPEG(quality=90, rounding='ste', transposed_tables=True)


def test_layout_and_parameter_counts(vectors, net):
    _, official, _ = vectors
    assert sum(v.numel() for v in official['encoder'].values()) == 7050435
    assert sum(v.numel() for v in official['decoder'].values()) == 1625728
    assert sum(p.numel() for p in net.encoder.parameters()) == 7050435
    assert sum(p.numel() for p in net.decoder.parameters()) == 1625728


def test_embedding(vectors, net):
    _, _, cases = vectors
    case = cases['forward']
    with torch.no_grad():
        out = net.encode(case['inputs']['ref'], case['inputs']['mpis'])
    torch.testing.assert_close(out, case['outputs']['embedding'], rtol=0,
                               atol=1e-5)


def test_diffjpeg_q90_and_8bit(vectors):
    _, _, cases = vectors
    case = cases['degrade_jpeg_q90_then_8bit']
    x01 = (case['inputs']['embedding'] + 1) / 2
    jpeg = official_jpeg()
    out = case['outputs']
    # the scaled tables (transposed standard tables x 0.2, in float32)
    const = jpeg._constants(torch.device('cpu'), torch.float32)
    assert torch.equal(const['luma_table'].reshape(8, 8),
                       out['y_table_x_factor'])
    assert torch.equal(const['chroma_table'].reshape(8, 8),
                       out['c_table_x_factor'])
    coeffs = jpeg.coefficients(x01)
    for name in ('y', 'cb', 'cr'):
        torch.testing.assert_close(coeffs[name], out[f'before_round_{name}'],
                                   rtol=1e-6, atol=1e-4)
        # the rounding margins are >= 1e-3: the integers match exactly
        assert torch.equal(torch.round(coeffs[name]), out[f'coef_{name}'])
    decoded = jpeg(x01)
    torch.testing.assert_close(decoded, out['jpeg_out01'], rtol=0, atol=1e-5)
    assert torch.equal(torch.round(decoded * 255), out['jpeg_round255'])
    torch.testing.assert_close(
        torch.round(decoded * 255) / 255 * 2 - 1, out['embedding_read'],
        rtol=0, atol=1e-6)


def test_diffjpeg_straight_through_gradient(vectors):
    _, _, cases = vectors
    case = cases['diffjpeg_grad']
    x = case['inputs']['x01'].clone().requires_grad_(True)
    (official_jpeg()(x) * case['inputs']['cotangent']).sum().backward()
    torch.testing.assert_close(x.grad, case['outputs']['grad_x01'], rtol=0,
                               atol=1e-5)


@pytest.mark.parametrize('direction,key', [('inverse', 'embedding_read'),
                                           ('inverse_no_jpeg', 'embedding')])
def test_decoder(vectors, net, direction, key):
    _, _, cases = vectors
    case = cases[direction]
    with torch.no_grad():
        mpis = net.decode(case['inputs'][key])
    expected = case['outputs']['decoded']
    assert mpis.shape == (1, 32, 4, 32, 48)
    # plane i = channels 4i .. 4i+3
    torch.testing.assert_close(mpis.reshape(expected.shape), expected,
                               rtol=0, atol=1e-5)
    torch.testing.assert_close(mpis[:, 5, 3], expected[:, 23], rtol=0,
                               atol=1e-5)


def test_end_to_end_official_test_path(vectors, net):
    """encode -> DiffJPEG q90 -> 8-bit -> decode from the stored inputs
    gives the stored decoder output."""
    _, _, cases = vectors
    ref = cases['forward']['inputs']['ref']
    mpis = cases['forward']['inputs']['mpis']
    with torch.no_grad():
        emb = net.encode(ref, mpis)
        read = torch.round(official_jpeg()((emb + 1) / 2) * 255) / 255 * 2 - 1
        decoded = net.decode(read)
    expected = cases['inverse']['outputs']['decoded'].reshape(decoded.shape)
    torch.testing.assert_close(decoded, expected, rtol=0, atol=1e-4)
