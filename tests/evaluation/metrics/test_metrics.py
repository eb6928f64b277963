# Copyright (c) invtoolbox contributors. All rights reserved.
"""mmengine metrics: PSNR, SSIM, MSSSIM, MAE, BPP, InvertibilityError."""
import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement
from PIL import Image

from invtoolbox.evaluation import functional
from invtoolbox.evaluation.metrics import (BPP, MAE, MSSSIM, PSNR, SSIM,
                                           InvertibilityError)
from invtoolbox.registry import METRICS
from invtoolbox.utils import img2tensor, modcrop
from tests.helpers import shared_path


@pytest.fixture(scope='module')
def kodak_samples():
    """Two Kodak crops (256 x 320) as float tensors, vs JPEG q20 versions."""
    samples = []
    for name in ('kodim03.png', 'kodim23.png'):
        path = shared_path('data', 'kodak', name)
        hr = np.asarray(Image.open(path).convert('RGB'))[100:356, 200:520]
        buf = io.BytesIO()
        Image.fromarray(hr).save(buf, format='JPEG', quality=20)
        deg = np.asarray(Image.open(buf).convert('RGB'))
        samples.append(dict(gt_img=img2tensor(hr), pred_img=img2tensor(deg)))
    return samples


def _evaluate(metric, samples):
    metric.process(data_batch=None, data_samples=samples)
    return metric.evaluate(len(samples))


def test_all_metrics_are_registered():
    for name, cls in [('PSNR', PSNR), ('SSIM', SSIM), ('MSSSIM', MSSSIM),
                      ('MAE', MAE), ('BPP', BPP),
                      ('InvertibilityError', InvertibilityError)]:
        assert METRICS.get(name) is cls
        assert isinstance(METRICS.build(dict(type=name)), cls)


@pytest.mark.parametrize('cls,fn,key', [(PSNR, functional.psnr, 'PSNR'),
                                        (SSIM, functional.ssim, 'SSIM'),
                                        (MSSSIM, functional.ms_ssim,
                                         'MS-SSIM'),
                                        (MAE, functional.mae, 'MAE')])
def test_metric_equals_functional(kodak_samples, cls, fn, key):
    # RGB, no crop
    expected = np.mean([fn(s['gt_img'], s['pred_img']) for s in kodak_samples])
    assert _evaluate(cls(), kodak_samples) == {key: pytest.approx(expected)}
    # Y channel + crop, reported under its own name with a prefix
    expected_y = np.mean([
        fn(s['gt_img'], s['pred_img'], crop_border=4, test_y_channel=True)
        for s in kodak_samples
    ])
    metric = METRICS.build(
        dict(type=cls.__name__, crop_border=4, test_y_channel=True,
             prefix='Kodak'))
    assert _evaluate(metric, kodak_samples) == {
        f'Kodak/{key}_Y': pytest.approx(expected_y)
    }
    assert expected_y != pytest.approx(expected)


def test_psnr_values_depend_on_crop_and_channel(kodak_samples):
    values = {
        (crop, y): _evaluate(PSNR(crop_border=crop, test_y_channel=y),
                             kodak_samples)
        for crop in (0, 8) for y in (False, True)
    }
    assert len({list(v.values())[0] for v in values.values()}) == 4
    assert 20 < values[(0, False)]['PSNR'] < 40


def test_samples_as_objects_nested_keys_and_numpy(kodak_samples):
    s = kodak_samples[0]
    gt8 = (s['gt_img'].numpy().transpose(1, 2, 0) * 255).round().astype(
        np.uint8)
    expected = functional.psnr(s['gt_img'], s['pred_img'])
    # a DataSample-like object with attributes
    element = BaseDataElement(gt_img=s['gt_img'], pred_img=s['pred_img'])
    assert _evaluate(PSNR(), [element])['PSNR'] == pytest.approx(expected)
    # a nested prediction and a uint8 numpy ground truth
    nested = SimpleNamespace(
        gt=gt8, output=dict(pred_img=s['pred_img'][None]))
    metric = PSNR(gt_key='gt', pred_key='output.pred_img')
    assert _evaluate(metric, [nested])['PSNR'] == pytest.approx(expected)


def test_runs_inside_mmengine_evaluator(kodak_samples):
    # built from config dicts, as a config's val_evaluator is
    evaluator = Evaluator([
        dict(type='invtoolbox.PSNR', crop_border=2, test_y_channel=True),
        dict(type='invtoolbox.SSIM', crop_border=2, test_y_channel=True),
        dict(type='invtoolbox.MAE')
    ])
    # the Evaluator turns data elements into dicts before calling process()
    elements = [BaseDataElement(**s) for s in kodak_samples]
    evaluator.process(data_samples=elements[:1], data_batch=None)
    evaluator.process(data_samples=elements[1:], data_batch=None)
    results = evaluator.evaluate(2)
    assert set(results) == {'PSNR_Y', 'SSIM_Y', 'MAE'}
    assert results['PSNR_Y'] == pytest.approx(
        np.mean([
            functional.psnr(s['gt_img'], s['pred_img'], 2, True)
            for s in kodak_samples
        ]))


def test_bpp_arithmetic():
    samples = [
        dict(num_bytes=1000, ori_shape=(100, 80, 3)),  # 8000 bits / 8000 px
        dict(num_bytes=[300, torch.tensor(200)], ori_shape=(50, 40)),  # 2.0
        dict(num_bytes=np.int64(64), gt_img=torch.zeros(3, 16, 32)),  # 1.0
        dict(num_bytes=b'\x00' * 48, gt_img=np.zeros((24, 16, 3))),  # 1.0
    ]
    result = _evaluate(BPP(prefix='Kodak'), samples)
    assert result == {'Kodak/bpp': pytest.approx((1 + 2 + 1 + 1) / 4)}
    metric = BPP(bytes_key='strings_bytes', shape_key='size')
    assert _evaluate(metric, [dict(strings_bytes=250, size=(40, 50))]) == {
        'bpp': pytest.approx(1.0)
    }


def test_bpp_errors():
    with pytest.raises(ValueError, match="no 'num_bytes'.*set bytes_key"):
        _evaluate(BPP(), [dict(ori_shape=(8, 8))])
    with pytest.raises(ValueError, match="neither 'ori_shape' nor 'gt_img'"):
        _evaluate(BPP(), [dict(num_bytes=10)])
    with pytest.raises(ValueError, match='non-negative byte count'):
        _evaluate(BPP(), [dict(num_bytes=-5, ori_shape=(8, 8))])
    with pytest.raises(ValueError, match=r'must be \(H, W\)'):
        _evaluate(BPP(), [dict(num_bytes=5, ori_shape=(8, ))])


def test_invertibility_error():
    gen = torch.Generator().manual_seed(0)
    x1 = torch.rand(3, 8, 8, generator=gen)
    x2 = torch.rand(3, 8, 8, generator=gen)
    rec1 = x1.clone()
    rec1[0, 0, 0] += 3e-7  # far below an 8-bit step: must not be rounded away
    rec2 = x2 + 1e-3
    samples = [
        dict(input=x1, reconstruction=rec1),
        SimpleNamespace(input=x2, reconstruction=rec2)
    ]
    result = _evaluate(InvertibilityError(), samples)
    diff1 = (rec1.double() - x1.double()).abs()
    diff2 = (rec2.double() - x2.double()).abs()
    assert result['InvertibilityMaxError'] == pytest.approx(
        max(diff1.max().item(), diff2.max().item()))
    assert result['InvertibilityMeanError'] == pytest.approx(
        (diff1.mean().item() + diff2.mean().item()) / 2)
    exact = _evaluate(InvertibilityError(), [dict(input=x1, reconstruction=rec1)])
    assert 2e-7 < exact['InvertibilityMaxError'] < 4e-7
    assert _evaluate(
        InvertibilityError(input_key='x', reconstruction_key='x_rec'),
        [dict(x=x1, x_rec=x1)]) == {
            'InvertibilityMaxError': 0.0,
            'InvertibilityMeanError': 0.0
        }


@pytest.mark.parametrize('metric,samples,match', [
    (PSNR(), [dict(gt_img=torch.rand(3, 8, 8))],
     "PSNR: data sample has no 'pred_img' \\(found keys: gt_img\\); set "
     'pred_key'),
    (SSIM(), [dict(gt_img=torch.rand(3, 16, 16),
                   pred_img=torch.rand(3, 16, 12))], 'shapes differ'),
    (PSNR(test_y_channel=True), [
        dict(gt_img=torch.rand(1, 8, 8), pred_img=torch.rand(1, 8, 8))
    ], 'needs RGB images with 3 channels, got 1'),
    (MAE(), [dict(gt_img=torch.rand(5, 8, 8), pred_img=torch.rand(5, 8, 8))],
     'has 5 channels'),
    (MSSSIM(), [dict(gt_img=torch.rand(3, 64, 64),
                     pred_img=torch.rand(3, 64, 64))], 'at least 161x161'),
    (InvertibilityError(), [
        dict(input=torch.rand(3, 8, 8), reconstruction=torch.rand(3, 8, 4))
    ], 'input has shape'),
    (InvertibilityError(), [dict(input=torch.rand(3, 8, 8),
                                 reconstruction=[0.0])], 'must be a tensor'),
])
def test_bad_input_raises_one_line_value_error(metric, samples, match):
    with pytest.raises(ValueError, match=match) as info:
        metric.process(None, samples)
    assert '\n' not in str(info.value)


def test_bad_options():
    with pytest.raises(ValueError, match='crop_border'):
        PSNR(crop_border=-1)


@pytest.mark.parametrize('cfg,match', [
    (dict(type='PSNR', max_value=1.0),
     'PSNR: quantize=True rounds float tensors to integers in '
     r'\[0, max_value\].*got 1.0; pass quantize=False'),
    (dict(type='SSIM', max_value=100.5), 'must be an integer >= 2'),
    (dict(type='MSSSIM', quantize='no'),
     'MSSSIM: quantize must be True or False'),
    (dict(type='MAE', quantize=False, max_value=-1),
     'MAE: max_value must be a positive number'),
    (dict(type='PSNR', quantize=False, max_value='1'),
     'max_value must be a positive number'),
])
def test_inconsistent_bit_depth_options_are_one_line_errors(cfg, match):
    with pytest.raises(ValueError, match=match) as info:
        METRICS.build(cfg)
    assert '\n' not in str(info.value)


@pytest.fixture(scope='module')
def float_samples():
    """Float data in [0, 1] (e.g. RAW) with errors far below an 8-bit step."""
    gen = torch.Generator().manual_seed(5)
    samples = []
    for _ in range(2):
        gt = torch.rand(4, 176, 168, generator=gen, dtype=torch.float64)
        pred = gt + 1e-3 * torch.randn(gt.shape, generator=gen,
                                       dtype=torch.float64)
        samples.append(dict(gt_img=gt, pred_img=pred))
    return samples


def test_raw_psnr_config_measures_float_data(float_samples):
    """``dict(type='PSNR', quantize=False, max_value=1.0)``: no rounding."""
    metric = METRICS.build(dict(type='PSNR', quantize=False, max_value=1.0))
    value = _evaluate(metric, float_samples)['PSNR']
    expected = np.mean([
        10 * np.log10(1.0 / np.mean((s['gt_img'].numpy() -
                                     s['pred_img'].numpy())**2))
        for s in float_samples
    ])
    assert value == pytest.approx(expected, abs=1e-9)
    assert 59 < value < 61  # sigma 1e-3: 60 dB
    # the default 8-bit protocol measures the rounding instead (55 dB)
    assert _evaluate(PSNR(), float_samples)['PSNR'] < value - 3
    mae_value = _evaluate(MAE(quantize=False, max_value=1.0),
                          float_samples)['MAE']
    assert mae_value == pytest.approx(
        np.mean([np.mean(np.abs(s['gt_img'].numpy() - s['pred_img'].numpy()))
                 for s in float_samples]), abs=1e-15)


@pytest.mark.parametrize('cls,fn', [(PSNR, functional.psnr),
                                    (SSIM, functional.ssim),
                                    (MSSSIM, functional.ms_ssim),
                                    (MAE, functional.mae)])
@pytest.mark.parametrize('options', [dict(quantize=False, max_value=1.0),
                                     dict(max_value=65535)])
def test_metric_options_reach_the_functional(float_samples, cls, fn,
                                             options):
    expected = np.mean([fn(s['gt_img'], s['pred_img'], **options)
                        for s in float_samples])
    metric = cls(**options)
    assert metric.max_value == options['max_value']
    assert list(_evaluate(metric, float_samples).values()) == [
        pytest.approx(expected)
    ]
    assert expected != pytest.approx(
        np.mean([fn(s['gt_img'], s['pred_img']) for s in float_samples]))


def test_modcropped_set5_bicubic_through_the_metric():
    """The metric classes give the Set5 x4 bicubic number from tensors too.

    Published: 28.42 dB (the bicubic rows of Kim et al., VDSR, CVPR 2016,
    and Xiao et al., IRN, ECCV 2020, Table 1).
    """
    from invtoolbox.utils import imresize
    samples = []
    for path in sorted(shared_path('data', 'set5').glob('*.png')):
        hr = img2tensor(modcrop(np.asarray(Image.open(path).convert('RGB')),
                                4))
        samples.append(dict(gt_img=hr, pred_img=imresize(imresize(hr, 0.25),
                                                         4)))
    result = _evaluate(PSNR(crop_border=4, test_y_channel=True), samples)
    # float LR (not saved as uint8) resized in RGB: 28.43 dB, within 0.02 dB
    # of the published 28.42 (which resizes a uint8 Y channel)
    assert abs(result['PSNR_Y'] - 28.42) < 0.02


def _pillow_resize(img01, size):
    """Pillow's antialiased bicubic (a = -0.5), per channel on float32."""
    return np.stack([
        np.asarray(Image.fromarray(img01[..., c].astype(np.float32),
                                   'F').resize(size, Image.BICUBIC),
                   np.float64) for c in range(img01.shape[2])
    ], -1)


def _y_psnr_written_out(hr, up, crop):
    """BT.601 Y (MATLAB rgb2ycbcr) and PSNR, on [0, 255] RGB values."""
    def luma(rgb):
        rgb = rgb.astype(np.float64)
        return 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] +
                     24.966 * rgb[..., 2]) / 255
    a = luma(hr)[crop:-crop, crop:-crop]
    b = luma(up)[crop:-crop, crop:-crop]
    return 10 * np.log10(255**2 / np.mean((a - b)**2))


def test_bicubic_baseline_metric_on_set5_x2():
    """Set5 x2: the published bicubic baseline, and the same protocol
    computed independently with Pillow and numpy."""
    from invtoolbox.evaluation.metrics import BicubicBaselinePSNR
    metric = BicubicBaselinePSNR(scale=2, crop_border=2, test_y_channel=True)
    samples, independent = [], []
    for path in sorted(shared_path('data', 'set5').glob('*.png')):
        hr = modcrop(np.asarray(Image.open(path).convert('RGB')), 2)
        samples.append({'gt_img': torch.from_numpy(hr.copy()).permute(
            2, 0, 1).float() / 255.})
        # the metric's protocol: 8-bit RGB down (a saved LR PNG), up, 8 bits
        h, w = hr.shape[:2]
        low = np.round(
            np.clip(_pillow_resize(hr / 255., (w // 2, h // 2)), 0, 1) * 255)
        up = np.round(np.clip(_pillow_resize(low / 255., (w, h)), 0, 1) * 255)
        independent.append(_y_psnr_written_out(hr, up, 2))
    metric.process({}, samples)
    value = metric.compute_metrics(metric.results)['Bicubic_PSNR_Y']
    # Published Set5 x2 bicubic Y-PSNR, crop 2: 33.66 dB (the "Bicubic" row
    # of the benchmark table of Kim et al., "Accurate Image Super-Resolution
    # Using Very Deep Convolutional Networks", CVPR 2016, and the "Bicubic &
    # Bicubic" row of Xiao et al., "Invertible Image Rescaling", ECCV 2020,
    # Table 1 / the IRN README). Those come from
    # MATLAB resizing the uint8 Y channel; the metric resizes 8-bit RGB and
    # takes Y afterwards, a different rounding: allowed 0.03 dB.
    assert abs(value - 33.66) < 0.03
    # Pillow's BICUBIC is the same antialiased kernel with another border
    # rule: per image within 0.01 dB (measured <= 0.004)
    for ours, theirs in zip(metric.results, independent):
        assert abs(ours['Bicubic_PSNR_Y'] - theirs) < 0.01
    assert abs(value - np.mean(independent)) < 0.005
    with pytest.raises(ValueError, match='not divisible by the scale 2'):
        metric.process({}, [{'gt_img': torch.rand(3, 5, 6)}])
