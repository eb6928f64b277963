# Copyright (c) invtoolbox contributors. All rights reserved.
import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from invtoolbox.models.degradations import (DiffJPEG, RealJPEG,
                                            quality_to_factor, round_cubic,
                                            round_dsq, round_fourier,
                                            scaled_quant_tables)
from invtoolbox.registry import DEGRADATIONS
from tests.helpers import shared_path


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    a = (a.clamp(0, 1) * 255).round()
    b = (b.clamp(0, 1) * 255).round()
    mse = torch.mean((a - b).double()**2).item()
    return 10 * math.log10(255.**2 / mse)


def _assert_matches_hard_rounding(out, ref):
    """Hard-rounded outputs: a DCT coefficient lying within float32
    round-off of a .5 boundary may round the other way with another BLAS
    summation order (the vector notes say so). Here the match is exact;
    elsewhere allow a few flipped coefficients, nothing more."""
    err = (out - ref).abs()
    if err.max() <= 1e-5:
        return
    assert err.mean() < 1e-4, err.mean()
    assert (err > 1e-5).float().mean() < 0.01


# ---------------------------------------------------------------------------
# Official reference values
# ---------------------------------------------------------------------------
def test_official_sain_vectors():
    """SAIN ``models/jpeg.py`` DiffJPEG, q75 and q90, Fourier and hard
    rounding, on the SAIN x2 LR (32x32)."""
    vectors = torch.load(shared_path('vectors', 'sain_x2.pt'),
                         weights_only=True)
    cases = [c for c in vectors['cases'] if 'diffjpeg' in c['direction']]
    assert sorted(c['inputs']['quality'] for c in cases) == [75, 90]
    for case in cases:
        lr, quality = case['inputs']['lr'], case['inputs']['quality']
        fourier = DiffJPEG(quality)(lr)  # the defaults are SAIN's
        assert (fourier - case['outputs']['diff_round']).abs().max() <= 1e-5
        hard = DiffJPEG(quality, rounding='round')(lr)
        _assert_matches_hard_rounding(hard, case['outputs']['hard_round'])


def test_official_invisp_vectors():
    """Invertible-ISP ``utils/JPEG.py`` (mlomnitz port, transposed tables),
    q90, Fourier and hard rounding, on 64x64 RGB images."""
    vectors = torch.load(shared_path('vectors', 'invisp.pt'),
                         weights_only=True)
    cases = [
        c for c in vectors['cases']
        if 'jpeg' in c['direction'] and 'rgb_jpeg_fourier' in c['outputs']
    ]
    assert len(cases) == 2
    fourier = DiffJPEG(90, transposed_tables=True)
    hard = DiffJPEG(90, rounding='round', transposed_tables=True)
    for case in cases:
        rgb = case['inputs']['rgb']
        err = (fourier(rgb) - case['outputs']['rgb_jpeg_fourier']).abs()
        assert err.max() <= 1e-5
        _assert_matches_hard_rounding(hard(rgb),
                                      case['outputs']['rgb_jpeg_round'])
        # the table orientation matters: SAIN's natural tables differ
        natural = DiffJPEG(90)(rgb)
        assert (natural -
                case['outputs']['rgb_jpeg_fourier']).abs().max() > 1e-2


def test_quality_to_factor_official_formula():
    assert quality_to_factor(90) == pytest.approx(0.2)
    assert quality_to_factor(75) == 0.5
    assert quality_to_factor(50) == 1.0
    assert quality_to_factor(10) == 5.0
    assert quality_to_factor(30) == pytest.approx(5000 / 30 / 100)


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------
def _pillow_tables(quality: int):
    img = Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8))
    with io.BytesIO() as buf:
        img.save(buf, format='JPEG', quality=quality)
        buf.seek(0)
        with Image.open(buf) as jpeg:
            tables = jpeg.quantization
    return [
        torch.tensor(tables[i], dtype=torch.float32).reshape(8, 8)
        for i in (0, 1)
    ]


@pytest.mark.parametrize('quality', [3, 10, 23, 30, 50, 75, 90, 97, 100])
def test_libjpeg_tables_equal_the_ones_pillow_writes(quality):
    """clamp_tables + integer_tables = libjpeg's jpeg_set_quality, read back
    from the DQT segment of a file written by Pillow (natural order)."""
    luma, chroma = scaled_quant_tables(quality,
                                       clamp_tables=True,
                                       integer_tables=True)
    real_luma, real_chroma = _pillow_tables(quality)
    assert torch.equal(luma, real_luma)
    assert torch.equal(chroma, real_chroma)


def test_official_tables_are_unclamped_floats():
    luma, chroma = scaled_quant_tables(10)
    assert luma.max() == 121 * 5 and chroma.max() == 99 * 5
    luma, _ = scaled_quant_tables(75)
    assert luma[0, 1] == 5.5  # 11 * 0.5, libjpeg would store 6
    assert scaled_quant_tables(75, integer_tables=True)[0][0, 1] == 6
    luma, _ = scaled_quant_tables(99)
    assert luma.min() < 1
    clamped, _ = scaled_quant_tables(10, clamp_tables=True)
    assert clamped.max() == 255 and clamped.min() >= 1
    clamped, _ = scaled_quant_tables(99, clamp_tables=True)
    assert clamped.min() == 1
    transposed, _ = scaled_quant_tables(75, transposed_tables=True)
    assert torch.equal(transposed, scaled_quant_tables(75)[0].t())


def test_quality_100_needs_clamped_tables():
    with pytest.raises(ValueError, match='clamp_tables=True'):
        DiffJPEG(100)
    out = DiffJPEG(100, clamp_tables=True,
                   rounding='round')(torch.rand(1, 3, 16, 16))
    assert torch.isfinite(out).all()


# ---------------------------------------------------------------------------
# Shapes, padding, dtypes, devices
# ---------------------------------------------------------------------------
def test_build_and_repr():
    jpeg = DEGRADATIONS.build(
        dict(type='DiffJPEG', quality=50, rounding='dsq', subsampling='444'))
    assert isinstance(jpeg, DiffJPEG) and isinstance(jpeg, torch.nn.Module)
    assert "rounding='dsq'" in repr(jpeg)
    # no learnable or saved state: the constants stay out of state dicts
    assert jpeg.state_dict() == {}
    assert len(list(jpeg.parameters())) == 0
    # and are made for the input's device / dtype on the fly
    out64 = jpeg(torch.rand(1, 3, 8, 8, dtype=torch.float64))
    assert out64.dtype == torch.float64
    assert jpeg.half().state_dict() == {}


@pytest.mark.parametrize('subsampling, size, padded', [
    ('420', (20, 28), (32, 32)),
    ('422', (10, 20), (16, 32)),
    ('444', (12, 5), (16, 8)),
])
def test_pad_and_crop(subsampling, size, padded):
    """Sizes that are not multiples of the MCU (which break the official
    code) are replicate-padded and cropped back."""
    x = torch.rand(2, 3, *size)
    jpeg = DiffJPEG(75, rounding='round', subsampling=subsampling)
    out = jpeg(x)
    assert out.shape == x.shape
    manual = F.pad(x, (0, padded[1] - size[1], 0, padded[0] - size[0]),
                   mode='replicate')
    expected = jpeg(manual)[:, :, :size[0], :size[1]]
    assert torch.equal(out, expected)


def test_subsampling_aliases_and_chroma_resolution():
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(
        DiffJPEG(subsampling='4:2:0')(x),
        DiffJPEG(subsampling='420')(x))
    # 4:4:4 keeps more chroma detail than 4:2:0 at the same quality
    x = torch.rand(1, 3, 32, 32)
    err444 = (DiffJPEG(95, 'round', '444')(x) - x).abs().mean()
    err420 = (DiffJPEG(95, 'round', '420')(x) - x).abs().mean()
    assert err444 < err420


def test_flat_image_is_kept():
    x = torch.full((1, 3, 16, 24), 0.4)
    x[:, 1] = 0.7
    out = DiffJPEG(90, rounding='round')(x)
    assert (out - x).abs().max() < 1 / 255


@pytest.mark.parametrize('dtype', [torch.float64, torch.float16])
def test_dtypes(dtype):
    x = torch.rand(1, 3, 16, 16)
    out = DiffJPEG(75, rounding='round')(x.to(dtype))
    assert out.dtype == dtype
    ref = DiffJPEG(75, rounding='round')(x)
    assert (out.float() - ref).abs().mean() < 2e-3


def test_output_range_and_input_untouched():
    x = torch.rand(1, 3, 16, 16) * 1.4 - 0.2
    before = x.clone()
    out = DiffJPEG(20)(x)
    assert torch.equal(x, before)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_cuda_matches_cpu():
    x = torch.rand(2, 3, 24, 40)
    jpeg = DiffJPEG(75)
    out = jpeg.cuda()(x.cuda())
    assert out.is_cuda
    assert (out.cpu() - jpeg.cpu()(x)).abs().max() < 1e-4


# ---------------------------------------------------------------------------
# Rounding approximations and gradients
# ---------------------------------------------------------------------------
def test_rounding_functions():
    t = torch.linspace(-3, 3, 6001, dtype=torch.float64)
    frac = (t - t.round()).abs()
    away = frac < 0.4  # away from the half-integers
    # Fourier: the saw-tooth series, close to round() away from x.5
    four = round_fourier(t)
    assert (four - t.round())[away].abs().max() < 0.06
    assert (four - t.round()).abs().max() <= 0.5 + 1e-9
    assert not torch.allclose(round_fourier(t, terms=1), four)
    # cubic
    cub = round_cubic(t)
    assert torch.allclose(cub, t.round() + (t - t.round())**3)
    assert (cub - t.round()).abs().max() <= 0.125 + 1e-12
    # DSQ: continuous, monotonic, exact at integers, sharper with small alpha
    dsq = round_dsq(t, alpha=0.2)
    assert (dsq[1:] - dsq[:-1]).min() >= 0
    assert (dsq[1:] - dsq[:-1]).max() < 0.01
    ints = torch.arange(-3, 4, dtype=torch.float64)
    assert torch.allclose(round_dsq(ints), ints)
    sharp = round_dsq(t, alpha=1e-4)
    assert (sharp - t.round())[frac < 0.3].abs().max() < 0.02
    assert (dsq - t.round())[frac < 0.3].abs().max() > 0.2


def test_rounding_gradients_analytic():
    t = torch.tensor([0.1, 0.25, 0.5, 0.9, 1.3],
                     dtype=torch.float64,
                     requires_grad=True)
    (g, ) = torch.autograd.grad(round_fourier(t).sum(), t)
    n = torch.arange(1, 10, dtype=torch.float64)[:, None]
    expected = 1 - 2 * ((-1)**(n + 1) * torch.cos(2 * math.pi * n * t)).sum(0)
    assert torch.allclose(g, expected.detach())
    (g, ) = torch.autograd.grad(round_cubic(t).sum(), t)
    assert torch.allclose(g, 3 * (t - t.round()).detach()**2)
    (g, ) = torch.autograd.grad(round_dsq(t, alpha=0.2).sum(), t)
    k, s = math.log(2 / 0.2 - 1), 1 / 0.8
    th = torch.tanh(k * (t - t.floor() - 0.5)).detach()
    assert torch.allclose(g, 0.5 * s * k * (1 - th**2))


@pytest.mark.parametrize('rounding', ['fourier', 'cubic', 'dsq', 'ste'])
def test_gradients_are_finite_and_non_trivial(rounding):
    x = (torch.rand(1, 3, 16, 16) * 0.8 + 0.1).requires_grad_()
    out = DiffJPEG(50, rounding=rounding)(x)
    weight = torch.randn_like(out)
    (out * weight).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().mean() > 0.1 * weight.abs().mean()
    assert not torch.allclose(x.grad, weight)  # not a plain identity


def test_hard_round_has_zero_gradient_and_ste_matches_forward():
    x = (torch.rand(1, 3, 16, 16) * 0.8 + 0.1).requires_grad_()
    out = DiffJPEG(50, rounding='round')(x)
    out.sum().backward()
    assert torch.count_nonzero(x.grad) == 0
    ste = DiffJPEG(50, rounding='ste')(x)
    assert torch.equal(ste, out)


def test_gradcheck_fourier_float64():
    x = (torch.rand(1, 3, 16, 16, dtype=torch.float64) * 0.6 + 0.2)
    x.requires_grad_()
    jpeg = DiffJPEG(75, subsampling='444')
    assert torch.autograd.gradcheck(jpeg, (x, ), fast_mode=True)


def test_soft_roundings_are_close_to_hard():
    x = torch.rand(1, 3, 32, 32)
    hard = DiffJPEG(75, rounding='round')(x)
    for rounding in ('fourier', 'cubic'):
        assert _psnr(DiffJPEG(75, rounding=rounding)(x), hard) > 30
    # DSQ's forward value is soft; it approaches hard rounding as alpha -> 0
    soft = [
        _psnr(DiffJPEG(75, rounding='dsq', dsq_alpha=alpha)(x), hard)
        for alpha in (0.2, 0.05, 1e-3)
    ]
    assert 20 < soft[0] < soft[1] < soft[2]


# ---------------------------------------------------------------------------
# Closeness to the real codec
# ---------------------------------------------------------------------------
def test_close_to_real_jpeg_on_kodak_crop():
    root = shared_path('data', 'kodak')
    img = np.array(Image.open(root / 'kodim23.png').convert('RGB'))
    x = torch.from_numpy(img[128:256, 256:384].copy()).permute(2, 0, 1)
    x = x[None].float() / 255
    for quality in (50, 90):
        real = RealJPEG(quality)(x)
        official = _psnr(DiffJPEG(quality, rounding='round')(x), real)
        libjpeg_like = _psnr(
            DiffJPEG(quality,
                     rounding='round',
                     clamp_tables=True,
                     integer_tables=True,
                     chroma_upsampling='fancy',
                     round_ycbcr=True)(x), real)
        assert official > 33
        assert libjpeg_like > official + 1


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs, match', [
    (dict(quality=0), 'quality'),
    (dict(quality=101), 'quality'),
    (dict(quality=75.5), 'quality'),
    (dict(quality='75'), 'quality'),
    (dict(quality=[30, 50]), 'RandomDegradation'),
    (dict(rounding='floor'), "'floor'"),
    (dict(subsampling='411'), "'411'"),
    (dict(fourier_terms=0), 'fourier_terms'),
    (dict(dsq_alpha=1.0), 'dsq_alpha'),
    (dict(chroma_upsampling='bilinear'), 'bilinear'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        DiffJPEG(**kwargs)
    assert '\n' not in str(info.value)


@pytest.mark.parametrize('x, match', [
    (torch.rand(3, 16, 16), '4 dims'),
    (torch.rand(1, 4, 16, 16), 'alpha'),
    (torch.rand(1, 1, 16, 16), '3 channels'),
    (torch.zeros(1, 3, 16, 16, dtype=torch.uint8), 'float'),
])
def test_bad_inputs(x, match):
    with pytest.raises(ValueError, match=match):
        DiffJPEG()(x)
