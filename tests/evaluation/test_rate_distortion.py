# Copyright (c) invtoolbox contributors. All rights reserved.
"""Rate-distortion evaluation: Bjontegaard deltas against published examples
and analytic cases, the Pillow baselines as real files, evaluate_codec with
injected codecs, the table / matrix / plot / JSON helpers."""
import io
import json
import math

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from invtoolbox.evaluation.functional import ms_ssim
from invtoolbox.evaluation.rate_distortion import (
    BASELINE_CODECS, RDPoint, bd_psnr, bd_rate, bd_rate_matrix,
    evaluate_codec, evaluate_learned_codec, format_bd_rate_matrix,
    format_rd_table, get_baseline, load_reference_curve, ms_ssim_db, plot_rd,
    save_rd_json)
from tests.helpers import shared_path

# --------------------------------------------------------------------------
# Bjontegaard deltas
# --------------------------------------------------------------------------
# JCTVC-E137 (HM common-test-condition spreadsheet data), as pinned by
# Netflix VMAF's python/test/bd_rate_calculator_test.py
# (BDrateCalculatorJCTVCTest, expected values as fractions): the spreadsheet's
# piecewise cubic method, i.e. our 'pchip'.
JCTVC_E137 = [
    ([(108048.8736, 43.6471), (61279.976, 40.3953), (33905.6656, 37.247),
      (18883.6928, 34.2911)],
     [(108061.2784, 43.6768), (61299.9936, 40.4232), (33928.7472, 37.2761),
      (18910.912, 34.3147)], -0.465215420752807),
    ([(40433.8848, 37.5761), (7622.7456, 35.3756), (2394.488, 33.8977),
      (1017.6184, 32.0603)],
     [(40370.12, 37.5982), (7587.0024, 35.4025), (2390.0944, 33.9194),
      (1017.0984, 32.0822)], -1.8779823450567612),
]


@pytest.mark.parametrize('anchor,test,expected', JCTVC_E137)
def test_bd_rate_pchip_matches_the_jctvc_spreadsheet(anchor, test, expected):
    (ra, da), (rt, dt) = zip(*anchor), zip(*test)
    assert bd_rate(ra, da, rt, dt, method='pchip') == pytest.approx(
        expected, abs=1e-9)


def test_bd_rate_cubic_matches_a_published_vcegm33_example():
    # https://videonerd.website/how-compute-bd-rate : x264 vs x265 on the
    # same sequence, BD_RATE(x265 as anchor, x264 as test) of the
    # Anserw/Bjontegaard_metric script (VCEG-M33 cubic fit) = -12.098 %.
    rate_x264 = [9.525, 14.27, 19.113, 24.393]
    psnr_x264 = [37.73, 39.07, 40.07, 40.95]
    rate_x265 = [8.914, 13.330, 17.880, 22.990]
    psnr_x265 = [37.02, 38.37, 39.42, 40.35]
    value = bd_rate(rate_x265, psnr_x265, rate_x264, psnr_x264, 'cubic')
    assert value == pytest.approx(-12.098, abs=5e-4)


RATES = [0.12, 0.25, 0.5, 0.9, 1.4]
PSNRS = [27.1, 29.8, 32.6, 35.0, 37.2]


@pytest.mark.parametrize('method', ['pchip', 'cubic'])
def test_bd_rate_of_a_rate_scaled_curve_is_exact(method):
    scaled = [0.9 * r for r in RATES]
    assert bd_rate(RATES, PSNRS, scaled, PSNRS, method) == pytest.approx(
        -10.0, abs=1e-9)
    assert bd_rate(scaled, PSNRS, RATES, PSNRS, method) == pytest.approx(
        100 / 9, abs=1e-9)
    assert bd_rate(RATES, PSNRS, RATES, PSNRS, method) == 0
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS, method) == 0
    shifted = [p + 0.5 for p in PSNRS]
    assert bd_psnr(RATES, PSNRS, RATES, shifted, method) == pytest.approx(
        0.5, abs=1e-9)


@pytest.mark.parametrize('method', ['pchip', 'cubic'])
def test_bd_on_a_log_linear_curve(method):
    # PSNR = 30 + 10 log10(rate): a test curve 1 dB higher is 1 dB better at
    # equal rate and needs 10^(-1/10) of the rate at equal PSNR.
    rates = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    anchor = 30 + 10 * np.log10(rates)
    test = anchor + 1.0
    assert bd_psnr(rates, anchor, rates, test, method) == pytest.approx(
        1.0, abs=1e-9)
    assert bd_rate(rates, anchor, rates, test, method) == pytest.approx(
        (10**-0.1 - 1) * 100, abs=1e-9)


@pytest.mark.parametrize('method', ['pchip', 'cubic'])
def test_bd_swap_inverts_and_order_does_not_matter(method):
    rt = [0.1, 0.22, 0.47, 0.8, 1.5]
    dt = [27.9, 30.4, 33.1, 35.2, 37.9]
    forward = bd_rate(RATES, PSNRS, rt, dt, method)
    backward = bd_rate(rt, dt, RATES, PSNRS, method)
    assert (1 + forward / 100) * (1 + backward / 100) == pytest.approx(
        1.0, abs=1e-12)
    assert bd_psnr(RATES, PSNRS, rt, dt, method) == pytest.approx(
        -bd_psnr(rt, dt, RATES, PSNRS, method), abs=1e-12)
    order = [3, 0, 4, 2, 1]
    shuffled = ([rt[i] for i in order], [dt[i] for i in order])
    assert bd_rate(RATES, PSNRS, *shuffled, method) == pytest.approx(
        forward, abs=1e-12)
    assert forward < 0  # the test curve lies above the anchor


def test_pchip_needs_two_points_cubic_four():
    assert bd_rate([1, 2], [30, 33], [1, 2], [31, 34]) < 0
    with pytest.raises(ValueError, match=r"method='cubic' needs at least 4 "
                       r"\('pchip' needs >= 2, 'cubic' >= 4\)"):
        bd_rate([1, 2, 3], [30, 33, 35], [1, 2, 3], [31, 34, 36], 'cubic')
    with pytest.raises(ValueError, match='anchor curve has 1 point'):
        bd_psnr([1], [30], [1, 2], [31, 34])


@pytest.mark.parametrize('args,message', [
    (([1, 2], [30, 31], [5, 6], [40, 41]), 'quality ranges do not overlap'),
    (([0, 2], [30, 31], [1, 2], [30, 31]), 'rates must be positive'),
    (([1, -2], [30, 31], [1, 2], [30, 31]), 'rates must be positive'),
    (([1, 2, 3], [30, 32, 31], [1, 2], [30, 31]),
     'anchor curve is not monotonic: sorted by rate, its quality goes from '
     '32 at rate 2 to 31 at rate 3'),
    (([1, 2], [30, 31], [2, 1, 3], [31, 31, 32]), 'test curve is not '
     'monotonic'),
    (([1, 1, 2], [30, 31, 32], [1, 2], [30, 31]), 'two points at rate 1'),
    (([1, 2], [30], [1, 2], [30, 31]), '2 rates but 1 distortion'),
    (([1, 2], [30, float('nan')], [1, 2], [30, 31]), 'non-finite'),
    (([1, 2], [30, 31], ['a', 2], [30, 31]), 'sequences of numbers'),
])
def test_bd_errors_are_one_line(args, message):
    for fn in (bd_rate, bd_psnr):
        if 'quality ranges' in message and fn is bd_psnr:
            continue
        with pytest.raises(ValueError, match=message) as err:
            fn(*args)
        assert '\n' not in str(err.value)
    with pytest.raises(ValueError, match="method must be one of"):
        bd_rate([1, 2], [30, 31], [1, 2], [30, 31], method='akima')


def test_bd_psnr_needs_overlapping_rates():
    with pytest.raises(ValueError, match='log10-rate ranges do not overlap'):
        bd_psnr([1, 2], [30, 31], [5, 6], [30, 31])


# --------------------------------------------------------------------------
# Baselines and evaluate_codec on Kodak crops
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def kodak_crops():
    """Two 32 x 48 crops of Kodak images (uint8 RGB)."""
    folder = shared_path('data', 'kodak')
    crops = []
    for name, box in (('kodim01.png', (200, 100, 248, 132)),
                      ('kodim23.png', (300, 200, 348, 232))):
        with Image.open(folder / name) as im:
            crops.append(np.array(im.convert('RGB').crop(box)))
    assert crops[0].shape == (32, 48, 3)
    return crops


MAGIC = {
    'jpeg420': (0, b'\xff\xd8\xff'),
    'jpeg444': (0, b'\xff\xd8\xff'),
    'webp': (8, b'WEBP'),
    'avif': (4, b'ftyp'),
}


@pytest.mark.parametrize('name', list(BASELINE_CODECS))
def test_baselines_write_real_files_that_grow_with_quality(name, kodak_crops):
    codec = get_baseline(name)
    if not codec.available:
        pytest.skip(f'this Pillow has no {codec.feature} support')
    image = kodak_crops[0]
    sizes, errors = [], []
    for quality in (10, 50, 90):
        data, decoded = codec(image, quality)
        offset, magic = MAGIC[name]
        assert data[offset:offset + len(magic)] == magic
        with Image.open(io.BytesIO(data)) as im:  # decodable on its own
            assert im.format == codec.pil_format
            again = np.asarray(im.convert('RGB'))
        np.testing.assert_array_equal(again, decoded)
        assert decoded.dtype == np.uint8 and decoded.shape == image.shape
        sizes.append(len(data))
        errors.append(np.mean((decoded.astype(float) - image)**2))
    assert sizes[0] < sizes[1] < sizes[2]
    assert errors[0] > errors[1] > errors[2]


def test_jpeg_baselines_subsampling(kodak_crops):
    for name, sampling in (('jpeg420', 2), ('jpeg444', 0)):
        data, _ = get_baseline(name)(kodak_crops[0], 50)
        with Image.open(io.BytesIO(data)) as im:
            assert JpegImagePlugin.get_sampling(im) == sampling


def test_baseline_input_errors(kodak_crops):
    jpeg = get_baseline('jpeg420')
    for quality in (0, 101, True, 'high', 50.0):
        with pytest.raises(ValueError, match=r'quality must be an integer in '
                           r'\[1, 100\]'):
            jpeg(kodak_crops[0], quality)
    with pytest.raises(ValueError, match=r'uint8 RGB array \(H, W, 3\), got '
                       r'float32'):
        jpeg.encode(kodak_crops[0].astype(np.float32), 50)
    with pytest.raises(ValueError, match="unknown baseline 'png'; choose "
                       'from jpeg420, jpeg444, webp, avif'):
        get_baseline('png')
    for codec in BASELINE_CODECS.values():
        qualities = codec.qualities
        assert list(qualities) == sorted(set(qualities))
        for q in qualities:
            codec.check_quality(q)


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64))**2)
    return 10 * math.log10(255.0**2 / mse)


def fake_roundtrip(image, quality):
    """A stand-in codec: ``100 * quality`` bytes, pixels quantised by
    ``quality``."""
    return bytes(100 * quality), (image // quality * quality).astype(
        np.uint8)


def test_evaluate_codec_means_as_compressai(kodak_crops):
    points = evaluate_codec(kodak_crops, fake_roundtrip, [16, 4],
                            label='fake', names=['a.png', 'b.png'])
    assert [p.quality for p in points] == [16, 4]
    for point, q in zip(points, (16, 4)):
        assert point.label == 'fake' and point.num_images == 2
        assert point.bpp == pytest.approx(8 * 100 * q / (32 * 48))
        expected = np.mean([_psnr(img, img // q * q) for img in kodak_crops])
        assert point.psnr == pytest.approx(expected, abs=1e-9)
        assert point.ms_ssim is None  # 32 x 48 is below MS-SSIM's 161
        assert point.encode_seconds is None and point.seconds >= 0
        assert [r['name'] for r in point.per_image] == ['a.png', 'b.png']
    assert points[0].psnr < points[1].psnr


def test_evaluate_codec_bpp_is_the_mean_of_per_image_bpp(kodak_crops):
    big = np.concatenate([kodak_crops[1]] * 2, axis=0)  # 64 x 48

    def fixed_bytes(image, quality):
        return bytes(96), image.copy()

    point, = evaluate_codec([kodak_crops[0], big], fixed_bytes, [1])
    # 8*96/(32*48) = 0.5 and 8*96/(64*48) = 0.25: mean 0.375 (total bits over
    # total pixels would give 1/3)
    assert point.bpp == pytest.approx(0.375)
    assert point.psnr == math.inf


def test_evaluate_codec_ms_ssim_and_split_timing():
    with Image.open(shared_path('data', 'kodak', 'kodim05.png')) as im:
        image = np.array(im.convert('RGB').crop((0, 0, 176, 168)))
    codec = get_baseline('jpeg444')
    point, = evaluate_codec([image, image[::-1].copy()], codec, [30])
    decoded = [codec(img, 30)[1] for img in (image, image[::-1].copy())]
    expected = np.mean([
        ms_ssim(img, dec) for img, dec in zip((image, image[::-1]), decoded)
    ])
    assert point.ms_ssim == pytest.approx(expected, abs=1e-12)
    assert 0.5 < point.ms_ssim < 1
    assert point.ms_ssim_db == pytest.approx(
        -10 * math.log10(1 - point.ms_ssim))
    assert point.encode_seconds > 0 and point.decode_seconds > 0
    assert point.label == 'jpeg444'


def test_evaluate_codec_errors(kodak_crops):
    img = kodak_crops[0]
    with pytest.raises(ValueError, match='no images'):
        evaluate_codec([], fake_roundtrip, [4])
    with pytest.raises(ValueError, match='no qualities'):
        evaluate_codec([img], fake_roundtrip, [])
    with pytest.raises(ValueError, match=r'image image0 must be a uint8 RGB '
                       r'array \(H, W, 3\), got float64'):
        evaluate_codec([img / 255.0], fake_roundtrip, [4])
    with pytest.raises(ValueError, match=r'decoded image is \(16, 48, 3\), '
                       r'the original \(32, 48, 3\)'):
        evaluate_codec([img], lambda im, q: (b'x', im[:16]), [4])
    with pytest.raises(ValueError, match='returned str instead of the '
                       'bitstream bytes'):
        evaluate_codec([img], lambda im, q: ('x', im), [4])
    with pytest.raises(ValueError, match=r'must return \(data, decoded\)'):
        evaluate_codec([img], lambda im, q: (b'x', im, {}), [4])
    with pytest.raises(ValueError, match='2 names for 1 images'):
        evaluate_codec([img], fake_roundtrip, [4], names=['a', 'b'])


def test_evaluate_learned_codec_with_injected_model_and_roundtrip(
        kodak_crops):
    loaded = []

    def load_model(config, checkpoint):
        loaded.append((config, checkpoint))
        return {'q': int(checkpoint[-5])}

    def roundtrip(model, image):
        return fake_roundtrip(image, 2**(6 - model['q']))

    points = evaluate_learned_codec(
        kodak_crops, [('cfg1.py', 'work/q1.pth'), ('cfg3.py', 'work/q3.pth')],
        'Learned', load_model=load_model, roundtrip=roundtrip)
    assert loaded == [('cfg1.py', 'work/q1.pth'), ('cfg3.py', 'work/q3.pth')]
    assert [p.quality for p in points] == ['q1', 'q3']
    assert {p.label for p in points} == {'Learned'}
    assert points[0].bpp == pytest.approx(8 * 100 * 32 / (32 * 48))
    assert points[0].psnr < points[1].psnr


# --------------------------------------------------------------------------
# Table, matrix, plot, JSON, reference curves
# --------------------------------------------------------------------------
def _curve(label, rates, psnrs, ms=None):
    return [
        RDPoint(label, i + 1, r, p, None if ms is None else ms[i])
        for i, (r, p) in enumerate(zip(rates, psnrs))
    ]


@pytest.fixture
def curves():
    ms = [0.90, 0.94, 0.97, 0.98, 0.99]
    return {
        'anchor': _curve('anchor', RATES, PSNRS, ms),
        'better': _curve('better', [0.9 * r for r in RATES], PSNRS, ms),
        'far': [dict(bpp=b, psnr=p) for b, p in ((5, 50), (6, 51), (7, 52))],
    }


def test_bd_rate_matrix_rows_test_columns_anchor(curves):
    psnr_matrix = bd_rate_matrix(curves)
    assert psnr_matrix['better']['anchor'] == pytest.approx(-10, abs=1e-9)
    assert psnr_matrix['anchor']['better'] == pytest.approx(100 / 9,
                                                            abs=1e-9)
    assert psnr_matrix['anchor']['anchor'] == 0
    assert psnr_matrix['far']['anchor'] is None  # no overlap
    ms_matrix = bd_rate_matrix(curves, metric='ms_ssim', method='cubic')
    assert ms_matrix['better']['anchor'] == pytest.approx(-10, abs=1e-9)
    assert ms_matrix['far']['anchor'] is None  # no MS-SSIM
    with pytest.raises(ValueError, match='metric must be one of'):
        bd_rate_matrix(curves, metric='ssim')


def test_format_rd_table_and_matrix(curves):
    table = format_rd_table(curves)
    assert table.splitlines()[0].startswith('| codec | quality | bpp |')
    assert '| anchor | 1 | 0.1200 | 27.100 | 0.9000 | 10.000 | - | - | - |' in \
        table
    assert '| far | - | 5.0000 | 50.000 | - | - | - | - | - |' in table
    text = format_bd_rate_matrix(curves)
    assert '| better | -10.00 | 0 | - |' in text
    assert '| anchor | 0 | +11.11 | - |' in text
    assert '- far vs anchor: bd_rate: the quality ranges do not overlap' in \
        text
    assert 'left out (no MS-SSIM): far' in text


def test_plot_rd_writes_a_png_atomically(curves, tmp_path):
    path = tmp_path / 'rd.png'
    assert plot_rd(curves, path, title='t') == str(path)
    with Image.open(path) as im:
        assert im.format == 'PNG' and im.size[0] > im.size[1] > 100
    before = path.read_bytes()
    with pytest.raises(ValueError, match='needs bpp and psnr'):
        plot_rd({'bad': [dict(bpp=1.0)]}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['rd.png']


def test_save_rd_json_and_reference_curves(curves, tmp_path):
    curves['anchor'][0].psnr = math.inf
    path = save_rd_json(curves, tmp_path / 'rd.json', extra={'k': 1})
    doc = json.loads(open(path).read())
    assert doc['k'] == 1 and list(doc['curves']) == ['anchor', 'better', 'far']
    assert doc['curves']['anchor'][0]['psnr'] is None
    assert doc['curves']['better'][2]['ms_ssim_db'] == pytest.approx(
        ms_ssim_db(0.97))

    ref = tmp_path / 'official.json'
    ref.write_text(json.dumps({
        'name': 'Paper', 'note': 'float PSNR',
        'points': [{'quality': 1, 'bpp': 0.1, 'psnr': 28.0, 'ms_ssim': 0.9},
                   {'quality': 2, 'bpp': 0.2, 'psnr': 29.0, 'ms_ssim': 0.92}]
    }))
    label, points, note = load_reference_curve(ref)
    assert (label, note) == ('Paper', 'float PSNR')
    assert [(p.quality, p.bpp, p.ms_ssim) for p in points] == [(1, 0.1, 0.9),
                                                               (2, 0.2, 0.92)]
    compressai = tmp_path / 'ca.json'
    compressai.write_text(json.dumps({
        'name': 'x', 'results': {'bpp': [0.1, 0.3], 'psnr': [27.0, 30.0],
                                 'ms-ssim': [0.9, 0.95]}}))
    label, points, note = load_reference_curve(compressai, 'mine')
    assert label == 'mine' and note is None
    assert [(p.quality, p.psnr, p.ms_ssim) for p in points] == [
        (1, 27.0, 0.9), (2, 30.0, 0.95)]
    bare = tmp_path / 'bare.json'
    bare.write_text(json.dumps([{'bpp': 1, 'psnr': 30}]))
    assert load_reference_curve(bare)[0] == 'bare'


@pytest.mark.parametrize('content,message', [
    ('{not json', 'is not readable JSON'),
    ('{"points": []}', 'has no points'),
    ('{"points": [{"bpp": 1}]}', 'has no psnr'),
    ('{"results": {"bpp": [1, 2], "psnr": [30]}}', 'lists "bpp" and "psnr" '
     'of the same length'),
    ('{"curve": 1}', 'expected a "points" list'),
    ('3', 'expected a JSON object or list'),
])
def test_reference_curve_errors(tmp_path, content, message):
    path = tmp_path / 'ref.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        load_reference_curve(path)
    assert '\n' not in str(err.value)
    with pytest.raises(FileNotFoundError, match='reference curve .* not '
                       'found'):
        load_reference_curve(tmp_path / 'missing.json')
