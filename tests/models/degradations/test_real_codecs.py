# Copyright (c) invtoolbox contributors. All rights reserved.
import io

import numpy as np
import PIL
import pytest
import torch
from PIL import Image

from invtoolbox.models.degradations import RealJPEG, RealWebP
from invtoolbox.registry import DEGRADATIONS
from tests.helpers import shared_path


def _rand_image(n=1, h=32, w=32, seed=0):
    """Smooth-ish random images (noise alone codes to large files)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, h // 8, w // 8, generator=g)
    smooth = torch.nn.functional.interpolate(coarse,
                                             size=(h, w),
                                             mode='bilinear',
                                             align_corners=False)
    return (smooth + 0.05 * torch.rand(n, 3, h, w, generator=g)).clamp(0, 1)


def _kodak_crop(size=64):
    root = shared_path('data', 'kodak')
    img = np.array(Image.open(root / 'kodim19.png').convert('RGB'))
    return img[200:200 + size, 300:300 + size].copy()


def test_build_from_config():
    jpeg = DEGRADATIONS.build(dict(type='RealJPEG', quality=40))
    webp = DEGRADATIONS.build(dict(type='RealWebP', quality=60, method=2))
    assert isinstance(jpeg, RealJPEG) and jpeg.quality == 40
    assert isinstance(webp, RealWebP) and webp.method == 2
    assert "backend='pillow'" in repr(jpeg)


def test_official_sain_realcodec_vectors():
    """SAIN ``REALCOMP`` (PIL JPEG q75/q90/q30, WebP q75) on the quantised
    LR. The vectors were made with Pillow 13 / libjpeg-turbo / libwebp 1.6;
    other codec builds may differ by a few 1/255 levels."""
    vectors = torch.load(shared_path('vectors', 'sain_x2.pt'),
                         weights_only=True)
    cases = [
        c for c in vectors['cases'] if c['direction'] == 'test_path_realcodec'
    ]
    assert len(cases) == 4
    for case in cases:
        fmt, quality = case['inputs']['format'], case['inputs']['quality']
        lr = case['outputs']['lr_quant']
        codecs = [RealWebP(quality)] if fmt == 'WebP' else [
            RealJPEG(quality),
            RealJPEG(quality, backend='opencv')
        ]
        for codec in codecs:
            err = (codec(lr) - case['outputs']['lr_codec']).abs()
            assert err.max() <= 3 / 255 + 1e-6, (fmt, quality)
            assert err.mean() <= 0.2 / 255, (fmt, quality)
            if PIL.__version__.split('.')[0] == '13':  # the vectors' build
                assert err.max() == 0, (fmt, quality)


@pytest.mark.parametrize('subsampling', ['420', '422', '444'])
@pytest.mark.parametrize('quality', [20, 75, 95])
def test_pillow_and_opencv_are_byte_identical(subsampling, quality):
    """Both backends drive the same libjpeg-turbo with the same settings:
    the files (not only the pixels) are identical on this set-up."""
    img = _kodak_crop(48)
    pil = RealJPEG(quality, backend='pillow', subsampling=subsampling)
    cv = RealJPEG(quality, backend='opencv', subsampling=subsampling)
    data = pil.encode(img)
    assert data == cv.encode(img)
    assert np.array_equal(pil.decode(data), cv.decode(data))


def test_subsampling_is_written_to_the_file():
    img = _kodak_crop(32)
    for subsampling, factors in (('420', (2, 2)), ('422', (2, 1)), ('444',
                                                                    (1, 1))):
        for backend in ('pillow', 'opencv'):
            data = RealJPEG(75, backend, subsampling).encode(img)
            with Image.open(io.BytesIO(data)) as jpeg:
                layers = jpeg.layer  # (id, h_samp, v_samp, table) per comp.
            assert tuple(layers[0][1:3]) == factors
            assert tuple(layers[1][1:3]) == (1, 1)


def test_straight_through_gradient():
    for codec in (RealJPEG(50), RealWebP(50)):
        x = _rand_image(2).requires_grad_()
        weight = torch.randn(2, 3, 32, 32)
        (codec(x) * weight).sum().backward()
        assert torch.equal(x.grad, weight)


def test_input_never_modified():
    """The official wrappers clamp their input in place; ours must not,
    whether or not the input requires grad or is a non-leaf view."""
    base = _rand_image(2) * 1.6 - 0.3  # values outside [0, 1]
    for codec in (RealJPEG(30), RealJPEG(30, backend='opencv'), RealWebP(30)):
        leaf = base.clone().requires_grad_()
        out = codec(leaf)
        assert torch.equal(leaf.detach(), base)
        assert out.data_ptr() != leaf.data_ptr()
        plain = base.clone()
        codec(plain)
        assert torch.equal(plain, base)
        nonleaf = leaf * 1.0
        view = nonleaf[:, :, 2:30]
        codec(view)
        assert torch.equal(nonleaf.detach(), base)


def test_output_is_the_decoded_8bit_image():
    x = _rand_image(3, seed=1)
    codec = RealJPEG(60)
    out = codec(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out * 255, (out * 255).round(), atol=1e-4)
    # each image is coded on its own
    for i in range(3):
        assert torch.equal(codec(x[i:i + 1])[0], out[i])
    # same result as coding the uint8 image by hand with Pillow
    img = (x[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    with io.BytesIO() as buf:
        Image.fromarray(img).save(buf, format='JPEG', quality=60)
        buf.seek(0)
        ref = np.array(Image.open(buf).convert('RGB'))
    assert np.array_equal((out[0] * 255).round().byte().permute(1, 2, 0), ref)


@pytest.mark.parametrize('dtype', [torch.float64, torch.float16])
def test_dtype_preserved(dtype):
    x = _rand_image(1).to(dtype)
    for codec in (RealJPEG(75), RealWebP(75)):
        out = codec(x)
        assert out.dtype == dtype and out.device == x.device


def test_quality_orders_size_and_error():
    x = _rand_image(1, 64, 64, seed=2)
    for cls in (RealJPEG, RealWebP):
        low, high = cls(10), cls(90)
        out_low, out_high = low.code(x), high.code(x)
        err_low = (out_low.images - x).abs().mean()
        err_high = (out_high.images - x).abs().mean()
        assert err_high < err_low
        assert out_high.num_bytes[0] > out_low.num_bytes[0]


def test_byte_counts_and_bpp():
    x = _rand_image(2, 32, 48)
    for codec in (RealJPEG(75), RealWebP(75)):
        out = codec.code(x)
        sizes = out.num_bytes
        assert len(sizes) == 2 and all(
            isinstance(s, int) and s > 0 for s in sizes)
        # the module's own call returns the same images
        assert torch.equal(codec(x), out.images)
        # sizes are those of the real files
        img = (x[1].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
        assert sizes[1] == len(codec.encode(np.ascontiguousarray(img)))
        assert out.bpp() == [8 * s / (32 * 48) for s in sizes]
        # bpp w.r.t. the full-resolution (x2) pixel count
        assert out.bpp(64 * 96) == pytest.approx([b / 4 for b in out.bpp()])
        with pytest.raises(ValueError, match='num_pixels'):
            out.bpp(0)


def test_one_codec_codes_batches_from_several_threads():
    """A codec keeps no per-call state: concurrent calls on one instance
    return each batch's own images and sizes."""
    from concurrent.futures import ThreadPoolExecutor
    codec = RealWebP(60)
    batches = [_rand_image(2, 32, 32, seed=s) for s in range(6)]
    expected = [codec.code(b) for b in batches]
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(codec.code, batches))
    for want, out in zip(expected, got):
        assert torch.equal(want.images, out.images)
        assert want.num_bytes == out.num_bytes


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_cuda_tensor():
    x = _rand_image(2).cuda().requires_grad_()
    codec = RealJPEG(75)
    out = codec(x)
    assert out.is_cuda
    assert torch.equal(out.cpu(), codec(x.detach().cpu()))
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize('build, match', [
    (lambda: RealJPEG(0), 'quality'),
    (lambda: RealJPEG(101), 'quality'),
    (lambda: RealJPEG('high'), 'quality'),
    (lambda: RealJPEG(75, backend='libjpeg'), "'libjpeg'"),
    (lambda: RealJPEG(75, subsampling='411'), "'411'"),
    (lambda: RealWebP(0), 'quality'),
    (lambda: RealWebP(75, method=7), 'method'),
])
def test_bad_arguments(build, match):
    with pytest.raises(ValueError, match=match) as info:
        build()
    assert '\n' not in str(info.value)


@pytest.mark.parametrize('x, match', [
    (torch.rand(3, 16, 16), '4 dims'),
    (torch.rand(1, 4, 16, 16), 'drop the alpha channel'),
    (torch.rand(1, 1, 16, 16), '3 channels'),
    (torch.zeros(1, 3, 16, 16, dtype=torch.uint8), 'float'),
    (torch.full((1, 3, 16, 16), float('nan')), 'NaN'),
    (np.zeros((1, 3, 16, 16), dtype=np.float32), 'torch.Tensor'),
])
def test_bad_inputs(x, match):
    for codec in (RealJPEG(75), RealWebP(75)):
        with pytest.raises(ValueError, match=match) as info:
            codec(x)
        assert '\n' not in str(info.value)
