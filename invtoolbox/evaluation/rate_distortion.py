# Copyright (c) invtoolbox contributors. All rights reserved.
"""Rate-distortion evaluation of image codecs: RD points, Bjontegaard deltas,
real-codec baselines, tables and plots.

A *codec* here is anything that turns one uint8 RGB image ``(H, W, 3)`` into
a real bitstream and back: ``roundtrip(image, quality) -> (data, decoded)``
with ``data`` the bytes of the file and ``decoded`` a uint8 ``(H, W, 3)``
image. The baselines (:data:`BASELINE_CODECS`: Pillow's JPEG 4:2:0 / 4:4:4,
WebP and AVIF) are codecs in this sense; a learned codec is wrapped by
:func:`evaluate_learned_codec`. Measurements follow CompressAI's
``eval_model`` / ``bench``:

- bits per pixel of one image = ``8 * len(data) / (H * W)``; a point's bpp
  is the mean over the images (not total bits over total pixels);
- PSNR of one image = RGB PSNR of the 8-bit decoded image against the
  original, peak 255; a point's PSNR is the mean of the per-image PSNRs;
- MS-SSIM: :func:`invtoolbox.evaluation.functional.ms_ssim` on the same
  8-bit images (5 scales, so only images of at least 161 x 161 pixels; for
  smaller ones it is ``None``); reported also in dB,
  ``-10 log10(1 - MS-SSIM)``, the scale CompressAI plots and on which
  :func:`bd_rate_matrix` measures MS-SSIM BD-rates.

Bjontegaard deltas (:func:`bd_rate`, :func:`bd_psnr`) compare two RD curves
over the range where both are measured, with rates on a log10 scale:
``'pchip'`` (default) interpolates each curve with a piecewise cubic Hermite
(monotone) interpolant and integrates it exactly, the method of the
JCT-VC / JVET common-test-condition spreadsheets (and of CompressAI's
benchmarks); ``'cubic'`` fits one 3rd-order polynomial per curve, the
original VCEG-M33 method.
"""
from __future__ import annotations

import io
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple)

import numpy as np

from .functional import SSIM_WINDOW_SIZE, MS_SSIM_WEIGHTS, ms_ssim, psnr

__all__ = [
    'RDPoint', 'BaselineCodec', 'BASELINE_CODECS', 'BD_METHODS', 'bd_rate',
    'bd_psnr', 'evaluate_codec', 'evaluate_learned_codec', 'get_baseline',
    'format_rd_table', 'bd_rate_matrix', 'format_bd_rate_matrix', 'plot_rd',
    'ms_ssim_db', 'load_reference_curve', 'save_rd_json'
]

#: Bjontegaard interpolation methods and the fewest points each needs.
BD_METHODS = {'pchip': 2, 'cubic': 4}

#: smallest image side MS-SSIM (5 scales, 11 x 11 window) can measure.
MS_SSIM_MIN_SIDE = (SSIM_WINDOW_SIZE - 1) * 2**(len(MS_SSIM_WEIGHTS) - 1) + 1


# --------------------------------------------------------------------------
# Bjontegaard deltas
# --------------------------------------------------------------------------
def _check_method(method: str, fn: str) -> int:
    if method not in BD_METHODS:
        raise ValueError(f'{fn}: method must be one of '
                         f'{sorted(BD_METHODS)}, got {method!r}')
    return BD_METHODS[method]


def _sorted_curve(rate, dist, name: str, fn: str,
                  method: str) -> Tuple[np.ndarray, np.ndarray]:
    """Validate one RD curve; return ``(log10 rate, dist)`` sorted by rate."""
    need = _check_method(method, fn)
    try:
        rate = np.asarray(rate, dtype=np.float64).ravel()
        dist = np.asarray(dist, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f'{fn}: the {name} rates and distortions must be '
                         'sequences of numbers') from None
    if rate.shape != dist.shape:
        raise ValueError(
            f'{fn}: the {name} curve has {rate.size} rates but {dist.size} '
            'distortion values; pass one of each per point')
    if rate.size < need:
        hint = ('measure more points' if method == 'pchip' or rate.size < 2
                else "measure more points or use method='pchip'")
        raise ValueError(
            f'{fn}: the {name} curve has {rate.size} point(s) but '
            f"method={method!r} needs at least {need} ('pchip' needs >= 2, "
            f"'cubic' >= 4); {hint}")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(dist))):
        raise ValueError(f'{fn}: the {name} curve holds a non-finite rate '
                         f'or distortion ({rate.tolist()}, {dist.tolist()})')
    if np.any(rate <= 0):
        raise ValueError(
            f'{fn}: the {name} rates must be positive (they are compared on '
            f'a log scale), got {rate.min():g}')
    order = np.argsort(rate, kind='stable')
    rate, dist = rate[order], dist[order]
    same = np.flatnonzero(np.diff(rate) == 0)
    if same.size:
        raise ValueError(
            f'{fn}: the {name} curve has two points at rate '
            f'{rate[same[0]]:g}; every point needs its own rate (drop the '
            'duplicate)')
    bad = np.flatnonzero(np.diff(dist) <= 0)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f'{fn}: the {name} curve is not monotonic: sorted by rate, its '
            f'quality goes from {dist[i]:g} at rate {rate[i]:g} to '
            f'{dist[i + 1]:g} at rate {rate[i + 1]:g}; the quality must '
            'rise with the rate (drop or re-measure that point)')
    return np.log10(rate), dist


def _overlap(a: np.ndarray, b: np.ndarray, what: str,
             fn: str) -> Tuple[float, float]:
    low, high = max(a.min(), b.min()), min(a.max(), b.max())
    if not low < high:
        raise ValueError(
            f'{fn}: the {what} ranges do not overlap (anchor '
            f'{a.min():g}..{a.max():g}, test {b.min():g}..{b.max():g}); '
            'Bjontegaard deltas need curves that share a range')
    return float(low), float(high)


def _mean_over(x: np.ndarray, y: np.ndarray, low: float, high: float,
               method: str) -> float:
    """Mean of the interpolated ``y(x)`` over ``[low, high]``."""
    if method == 'pchip':
        from scipy.interpolate import PchipInterpolator
        area = PchipInterpolator(x, y).integrate(low, high)
    else:
        primitive = np.polyint(np.polyfit(x, y, 3))
        area = np.polyval(primitive, high) - np.polyval(primitive, low)
    return float(area) / (high - low)


def bd_rate(rate_anchor: Sequence[float],
            dist_anchor: Sequence[float],
            rate_test: Sequence[float],
            dist_test: Sequence[float],
            method: str = 'pchip') -> float:
    """Bjontegaard delta rate: the mean rate change of ``test`` against
    ``anchor`` at equal quality, in percent.

    ``log10(rate)`` is interpolated as a function of the quality on each
    curve and averaged over the quality range both curves cover;
    ``BD-rate = (10 ** (mean_test - mean_anchor) - 1) * 100``.
    Negative: the test codec needs fewer bits (-10 = 10 % fewer).

    Args:
        rate_anchor, rate_test: rates of the points (bpp, kbps, bytes: any
            positive unit, the same for both).
        dist_anchor, dist_test: qualities of the points, higher is better
            (PSNR in dB, MS-SSIM in dB, ...); any order, sorted by rate.
        method (str): ``'pchip'`` (>= 2 points per curve, JVET/VCEG
            spreadsheet method) or ``'cubic'`` (>= 4, VCEG-M33).

    Returns:
        float: BD-rate in percent.

    Raises:
        ValueError: too few points, a non-positive or repeated rate, a
            quality that does not rise with the rate, or no overlap of the
            quality ranges.
    """
    fn = 'bd_rate'
    log_a, dist_a = _sorted_curve(rate_anchor, dist_anchor, 'anchor', fn,
                                  method)
    log_t, dist_t = _sorted_curve(rate_test, dist_test, 'test', fn, method)
    low, high = _overlap(dist_a, dist_t, 'quality', fn)
    mean_a = _mean_over(dist_a, log_a, low, high, method)
    mean_t = _mean_over(dist_t, log_t, low, high, method)
    return float((10.0**(mean_t - mean_a) - 1.0) * 100.0)


def bd_psnr(rate_anchor: Sequence[float],
            dist_anchor: Sequence[float],
            rate_test: Sequence[float],
            dist_test: Sequence[float],
            method: str = 'pchip') -> float:
    """Bjontegaard delta quality (BD-PSNR when the quality is PSNR): the
    mean quality gain of ``test`` over ``anchor`` at equal rate.

    The quality is interpolated as a function of ``log10(rate)`` on each
    curve and averaged over the log-rate range both curves cover. Positive:
    the test codec is better. Same arguments, checks and methods as
    :func:`bd_rate`.

    Returns:
        float: the delta in the quality's unit (dB for PSNR).
    """
    fn = 'bd_psnr'
    log_a, dist_a = _sorted_curve(rate_anchor, dist_anchor, 'anchor', fn,
                                  method)
    log_t, dist_t = _sorted_curve(rate_test, dist_test, 'test', fn, method)
    low, high = _overlap(log_a, log_t, 'log10-rate', fn)
    return (_mean_over(log_t, dist_t, low, high, method) -
            _mean_over(log_a, dist_a, low, high, method))


# --------------------------------------------------------------------------
# RD points
# --------------------------------------------------------------------------
def ms_ssim_db(value: Optional[float]) -> Optional[float]:
    """MS-SSIM in dB, ``-10 log10(1 - value)`` (``inf`` at 1, None kept)."""
    if value is None:
        return None
    return math.inf if value >= 1 else -10.0 * math.log10(1.0 - value)


@dataclass
class RDPoint:
    """One point of a rate-distortion curve (means over the images).

    Attributes:
        label (str): the curve (codec) name.
        quality: the setting that produced it (a quality number, a
            checkpoint name, ...).
        bpp (float): mean bits per pixel.
        psnr (float): mean per-image RGB PSNR (dB) of the 8-bit output.
        ms_ssim (float, optional): mean per-image MS-SSIM in [0, 1]; None
            when not measured (images smaller than 161 pixels, or a
            reference curve without it).
        encode_seconds, decode_seconds (float, optional): mean wall time per
            image of each half, when the codec exposes them separately.
        seconds (float, optional): mean wall time per image of the whole
            round trip.
        num_images (int): images measured (0 for a published curve).
        per_image (list[dict]): ``{'name', 'bpp', 'psnr', 'ms_ssim'}`` per
            image.
    """
    label: str
    quality: Any
    bpp: float
    psnr: float
    ms_ssim: Optional[float] = None
    encode_seconds: Optional[float] = None
    decode_seconds: Optional[float] = None
    seconds: Optional[float] = None
    num_images: int = 0
    per_image: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def ms_ssim_db(self) -> Optional[float]:
        return ms_ssim_db(self.ms_ssim)

    def to_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out['ms_ssim_db'] = self.ms_ssim_db
        return out


Curves = Mapping[str, Sequence[Any]]


def _as_point(point: Any, label: str) -> RDPoint:
    if isinstance(point, RDPoint):
        return point
    if not isinstance(point, Mapping):
        raise ValueError(f'curve {label!r}: a point must be an RDPoint or a '
                         f'dict with bpp and psnr, got {type(point).__name__}')
    missing = [k for k in ('bpp', 'psnr') if point.get(k) is None]
    if missing:
        raise ValueError(f'curve {label!r}: point {dict(point)} has no '
                         f'{" or ".join(missing)}; every point needs bpp and '
                         'psnr')
    ms = point.get('ms_ssim', point.get('ms-ssim'))
    return RDPoint(
        label=str(point.get('label', label)),
        quality=point.get('quality'),
        bpp=float(point['bpp']),
        psnr=float(point['psnr']),
        ms_ssim=None if ms is None else float(ms),
        encode_seconds=point.get('encode_seconds'),
        decode_seconds=point.get('decode_seconds'),
        seconds=point.get('seconds'),
        num_images=int(point.get('num_images', 0)))


def _as_curves(curves: Curves) -> Dict[str, List[RDPoint]]:
    if not isinstance(curves, Mapping):
        raise ValueError('curves must be a mapping {label: [points]}, got '
                         f'{type(curves).__name__}')
    return {
        str(label): [_as_point(p, str(label)) for p in points]
        for label, points in curves.items()
    }


def _check_image(image: Any, what: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or \
            image.ndim != 3 or image.shape[2] != 3:
        desc = (f'{image.dtype} array of shape {image.shape}' if isinstance(
            image, np.ndarray) else type(image).__name__)
        raise ValueError(f'{what} must be a uint8 RGB array (H, W, 3), got '
                         f'{desc}')
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f'{what} is empty ({image.shape})')
    return image


def _measure(original: np.ndarray, data: Any, decoded: Any, name: str,
             label: str, quality: Any) -> Dict[str, Any]:
    where = f'{label} at quality {quality!r} on image {name}'
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f'{where}: the codec returned '
                         f'{type(data).__name__} instead of the bitstream '
                         'bytes')
    decoded = _check_image(decoded, f'{where}: the decoded image')
    if decoded.shape != original.shape:
        raise ValueError(f'{where}: the decoded image is {decoded.shape}, '
                         f'the original {original.shape}')
    h, w = original.shape[:2]
    small = min(h, w) < MS_SSIM_MIN_SIDE
    return {
        'name': name,
        'bpp': 8.0 * len(data) / (h * w),
        'psnr': psnr(original, decoded),
        'ms_ssim': None if small else ms_ssim(original, decoded),
    }


def _mean_or_none(values: Sequence[Optional[float]]) -> Optional[float]:
    if not values or any(v is None for v in values):
        return None
    return float(np.mean(values))


def evaluate_codec(images: Sequence[np.ndarray],
                   roundtrip: Callable,
                   qualities: Sequence[Any],
                   label: Optional[str] = None,
                   names: Optional[Sequence[str]] = None) -> List[RDPoint]:
    """Run a codec over images at several qualities; one RD point each.

    Args:
        images (Sequence[np.ndarray]): uint8 RGB ``(H, W, 3)`` images.
        roundtrip (callable): ``roundtrip(image, quality) -> (data,
            decoded)`` (bytes of the real file, uint8 ``(H, W, 3)``). If it
            also has ``encode(image, quality) -> data`` and
            ``decode(data) -> decoded`` (e.g. a :class:`BaselineCodec`),
            those are called and timed separately.
        qualities (Sequence): the settings, one point each, in this order.
        label (str, optional): curve name stored in the points (default:
            ``roundtrip``'s ``name`` attribute or its ``__name__``).
        names (Sequence[str], optional): image names for ``per_image``.

    Returns:
        list[RDPoint]: one point per quality (means over the images).

    Raises:
        ValueError: no images or qualities, an image that is not uint8 RGB,
            or a codec output of the wrong type or size.
    """
    if len(images) == 0:
        raise ValueError('evaluate_codec: no images; pass at least one '
                         'uint8 (H, W, 3) image')
    if len(qualities) == 0:
        raise ValueError('evaluate_codec: no qualities; pass at least one')
    names = list(names) if names is not None else [
        f'image{i}' for i in range(len(images))
    ]
    if len(names) != len(images):
        raise ValueError(f'evaluate_codec: {len(names)} names for '
                         f'{len(images)} images')
    for img, name in zip(images, names):
        _check_image(img, f'evaluate_codec: image {name}')
    if label is None:
        label = getattr(roundtrip, 'name', None) or getattr(
            roundtrip, '__name__', 'codec')
    split = callable(getattr(roundtrip, 'encode', None)) and callable(
        getattr(roundtrip, 'decode', None))
    points = []
    for quality in qualities:
        rows, enc, dec, total = [], [], [], []
        for img, name in zip(images, names):
            if split:
                t0 = time.perf_counter()
                data = roundtrip.encode(img, quality)
                t1 = time.perf_counter()
                decoded = roundtrip.decode(data)
                t2 = time.perf_counter()
                enc.append(t1 - t0)
                dec.append(t2 - t1)
                total.append(t2 - t0)
            else:
                t0 = time.perf_counter()
                out = roundtrip(img, quality)
                total.append(time.perf_counter() - t0)
                if not isinstance(out, (tuple, list)) or len(out) != 2:
                    raise ValueError(
                        f'{label} at quality {quality!r}: roundtrip must '
                        'return (data, decoded), got '
                        f'{type(out).__name__}')
                data, decoded = out
            rows.append(_measure(img, data, decoded, name, label, quality))
        points.append(
            RDPoint(
                label=label,
                quality=quality,
                bpp=float(np.mean([r['bpp'] for r in rows])),
                psnr=float(np.mean([r['psnr'] for r in rows])),
                ms_ssim=_mean_or_none([r['ms_ssim'] for r in rows]),
                encode_seconds=_mean_or_none(enc) if split else None,
                decode_seconds=_mean_or_none(dec) if split else None,
                seconds=float(np.mean(total)),
                num_images=len(images),
                per_image=rows))
    return points


def evaluate_learned_codec(images: Sequence[np.ndarray],
                           checkpoints: Sequence[Tuple[str, str]],
                           label: str,
                           device: str = 'cpu',
                           names: Optional[Sequence[str]] = None,
                           load_model: Optional[Callable] = None,
                           roundtrip: Optional[Callable] = None
                           ) -> List[RDPoint]:
    """One RD point per ``(config, checkpoint)`` of a learned codec.

    Each model is loaded with ``load_model(config, checkpoint)`` (default
    :func:`invtoolbox.apis.init_model` on ``device``) and every image goes
    through ``roundtrip(model, image) -> (data, decoded)`` (default
    :func:`invtoolbox.apis.codec_inference.roundtrip_image`: a real ``.itb``
    bitstream). The point's ``quality`` is the checkpoint's file name
    without its suffix.

    Args:
        images, names: as in :func:`evaluate_codec`.
        checkpoints (Sequence[tuple[str, str]]): ``(config, checkpoint)``
            pairs, one point each.
        label (str): the curve name.
        device (str): for the default loader.
        load_model, roundtrip (callable, optional): replacements of the
            defaults (tests inject fakes here).

    Returns:
        list[RDPoint]: one point per checkpoint, in the given order.
    """
    if roundtrip is None:
        from ..apis.codec_inference import roundtrip_image as roundtrip
    if load_model is None:
        from ..apis import init_model

        def load_model(config, checkpoint):
            return init_model(config, checkpoint, device=device)

    points = []
    for config, checkpoint in checkpoints:
        model = load_model(config, checkpoint)
        quality = os.path.splitext(os.path.basename(str(checkpoint)))[0]

        def run(image, _quality, _model=model):
            return roundtrip(_model, image)

        points.extend(
            evaluate_codec(images, run, [quality], label=label, names=names))
    return points


# --------------------------------------------------------------------------
# Baseline codecs (real files through Pillow)
# --------------------------------------------------------------------------
def _pil_decode(data: bytes) -> np.ndarray:
    from PIL import Image
    with Image.open(io.BytesIO(bytes(data))) as im:
        im.load()
        return np.array(im.convert('RGB'))


@dataclass(frozen=True)
class BaselineCodec:
    """A traditional codec run through Pillow, as real files in memory.

    ``codec(image, quality) -> (data, decoded)``; ``encode`` / ``decode``
    are the two halves (timed separately by :func:`evaluate_codec`).

    Attributes:
        name (str): registry name.
        pil_format (str): Pillow's format name.
        save_params (dict): fixed ``Image.save`` options (besides quality).
        qualities (tuple[int]): default sweep (about 0.05-1.5 bpp on Kodak
            where the codec reaches it).
        quality_range (tuple[int, int]): accepted qualities.
        feature (str, optional): ``PIL.features`` name that must be
            available.
        description (str): one line for tables and the docs.
    """
    name: str
    pil_format: str
    save_params: Tuple[Tuple[str, Any], ...]
    qualities: Tuple[int, ...]
    quality_range: Tuple[int, int]
    feature: Optional[str] = None
    description: str = ''

    @property
    def available(self) -> bool:
        if self.feature is None:
            return True
        from PIL import features
        return bool(features.check(self.feature))

    def check_quality(self, quality: Any) -> int:
        low, high = self.quality_range
        if isinstance(quality, bool) or not isinstance(
                quality, (int, np.integer)) or not low <= quality <= high:
            raise ValueError(f'{self.name}: quality must be an integer in '
                             f'[{low}, {high}], got {quality!r}')
        return int(quality)

    def encode(self, image: np.ndarray, quality: int) -> bytes:
        """uint8 RGB ``(H, W, 3)`` -> the bytes of a real file."""
        from PIL import Image
        if not self.available:
            raise ValueError(f'{self.name}: this Pillow build has no '
                             f'{self.feature} support; pick another '
                             'baseline or install a Pillow with it')
        quality = self.check_quality(quality)
        image = _check_image(image, f'{self.name}: image')
        buf = io.BytesIO()
        Image.fromarray(image, 'RGB').save(
            buf, format=self.pil_format, quality=quality,
            **dict(self.save_params))
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        """Bytes of a file -> uint8 RGB ``(H, W, 3)``."""
        return _pil_decode(data)

    def __call__(self, image: np.ndarray,
                 quality: int) -> Tuple[bytes, np.ndarray]:
        data = self.encode(image, quality)
        return data, self.decode(data)


#: name -> baseline codec. JPEG is libjpeg through Pillow with its default
#: (IJG) tables scaled by quality, baseline Huffman tables
#: (``optimize=False``); WebP is lossy libwebp at ``method=4`` (cwebp's
#: default; about 15x slower to encode than JPEG on Kodak); AVIF is
#: Pillow's libavif plugin (4:2:0, speed 6; about 100x slower than JPEG)
#: and only where ``PIL.features.check('avif')``. Default sweeps, measured
#: on the 24 Kodak images (mean bpp): jpeg420 0.18-1.57, jpeg444 0.28-1.45
#: (JPEG does not go below ~0.18 bpp; Pillow's qualities 1 and 2 give the
#: same file), webp 0.11-1.52, avif 0.07-1.43.
BASELINE_CODECS: Dict[str, BaselineCodec] = {
    'jpeg420':
    BaselineCodec(
        'jpeg420', 'JPEG',
        (('subsampling', 2), ('optimize', False), ('progressive', False)),
        (3, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80), (1, 100),
        description='JPEG (Pillow/libjpeg), 4:2:0, default tables'),
    'jpeg444':
    BaselineCodec(
        'jpeg444', 'JPEG',
        (('subsampling', 0), ('optimize', False), ('progressive', False)),
        (3, 5, 10, 15, 20, 30, 40, 50, 60, 70), (1, 100),
        description='JPEG (Pillow/libjpeg), 4:4:4, default tables'),
    'webp':
    BaselineCodec(
        'webp', 'WEBP', (('method', 4), ('lossless', False)),
        (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 85), (0, 100),
        feature='webp',
        description='WebP lossy (Pillow/libwebp), method 4'),
    'avif':
    BaselineCodec(
        'avif', 'AVIF', (('subsampling', '4:2:0'), ('speed', 6)),
        (0, 10, 20, 30, 40, 50, 60, 70, 75), (0, 100),
        feature='avif',
        description='AVIF (Pillow/libavif), 4:2:0, speed 6'),
}


def get_baseline(name: str) -> BaselineCodec:
    """The baseline codec called ``name`` (see :data:`BASELINE_CODECS`)."""
    if name not in BASELINE_CODECS:
        raise ValueError(f'unknown baseline {name!r}; choose from '
                         f'{", ".join(BASELINE_CODECS)}')
    return BASELINE_CODECS[name]


# --------------------------------------------------------------------------
# Tables, BD-rate matrix, plot, files
# --------------------------------------------------------------------------
def _fmt(value: Optional[float], spec: str) -> str:
    return '-' if value is None else format(value, spec)


def format_rd_table(curves: Curves) -> str:
    """A markdown table of every point: codec, quality, bpp, PSNR, MS-SSIM
    (plain and dB) and the mean encode / decode / round-trip time per image
    (``-`` where not measured).

    Args:
        curves (Mapping[str, Sequence]): ``{label: [RDPoint or dict with
            bpp, psnr and optionally ms_ssim, quality, ...]}``.
    """
    curves = _as_curves(curves)
    lines = [
        '| codec | quality | bpp | PSNR (dB) | MS-SSIM | MS-SSIM (dB) | '
        'enc s/img | dec s/img | total s/img |',
        '|---|---|---|---|---|---|---|---|---|'
    ]
    for label, points in curves.items():
        for p in points:
            lines.append(
                f'| {label} | {"-" if p.quality is None else p.quality} | '
                f'{p.bpp:.4f} | {p.psnr:.3f} | {_fmt(p.ms_ssim, ".4f")} | '
                f'{_fmt(p.ms_ssim_db, ".3f")} | '
                f'{_fmt(p.encode_seconds, ".4f")} | '
                f'{_fmt(p.decode_seconds, ".4f")} | '
                f'{_fmt(p.seconds, ".4f")} |')
    return '\n'.join(lines)


_METRICS = ('psnr', 'ms_ssim')


def _curve_values(points: Sequence[RDPoint],
                  metric: str) -> Tuple[List[float], List[float]]:
    if metric == 'psnr':
        return [p.bpp for p in points], [p.psnr for p in points]
    if any(p.ms_ssim is None for p in points):
        raise ValueError('no MS-SSIM measured (images below '
                         f'{MS_SSIM_MIN_SIDE} pixels, or not published)')
    return [p.bpp for p in points], [p.ms_ssim_db for p in points]


def _bd_table(curves: Curves, metric: str, method: str):
    if metric not in _METRICS:
        raise ValueError(f'bd_rate_matrix: metric must be one of {_METRICS},'
                         f' got {metric!r}')
    _check_method(method, 'bd_rate_matrix')
    curves = _as_curves(curves)
    values: Dict[str, Dict[str, Optional[float]]] = {}
    reasons: Dict[Tuple[str, str], str] = {}
    for test, test_points in curves.items():
        values[test] = {}
        for anchor, anchor_points in curves.items():
            try:
                rate_a, dist_a = _curve_values(anchor_points, metric)
                rate_t, dist_t = _curve_values(test_points, metric)
                values[test][anchor] = bd_rate(rate_a, dist_a, rate_t,
                                               dist_t, method)
            except ValueError as err:
                values[test][anchor] = None
                reasons[(test, anchor)] = str(err)
    return values, reasons


def bd_rate_matrix(curves: Curves,
                   metric: str = 'psnr',
                   method: str = 'pchip'
                   ) -> Dict[str, Dict[str, Optional[float]]]:
    """BD-rate (percent) of every curve against every other.

    Args:
        curves (Mapping[str, Sequence]): as in :func:`format_rd_table`.
        metric (str): ``'psnr'`` or ``'ms_ssim'`` (measured in dB,
            ``-10 log10(1 - MS-SSIM)``).
        method (str): ``'pchip'`` or ``'cubic'``.

    Returns:
        dict: ``matrix[test][anchor]`` = BD-rate of ``test`` against
        ``anchor`` (rows: test, columns: anchor), or None where it cannot be
        computed (too few points, no overlap, non-monotonic, metric
        missing; :func:`format_bd_rate_matrix` says why).
    """
    return _bd_table(curves, metric, method)[0]


def format_bd_rate_matrix(curves: Curves, method: str = 'pchip') -> str:
    """Markdown BD-rate matrices (PSNR, then MS-SSIM in dB for the curves
    that have it) with a footnote for every cell that could not be
    computed."""
    curves = _as_curves(curves)
    out = []
    for metric in _METRICS:
        title = 'PSNR' if metric == 'psnr' else 'MS-SSIM (dB)'
        subset = curves
        if metric == 'ms_ssim':
            subset = {
                label: points
                for label, points in curves.items()
                if all(p.ms_ssim is not None for p in points)
            }
            if not subset:
                out += [
                    f'BD-rate on {title}: not computed (no curve has '
                    'MS-SSIM; it needs images of at least '
                    f'{MS_SSIM_MIN_SIDE} x {MS_SSIM_MIN_SIDE} pixels)', ''
                ]
                continue
        values, reasons = _bd_table(subset, metric, method)
        labels = list(values)
        out.append(f'BD-rate (%) on {title}, method {method}; rows: test, '
                   'columns: anchor; negative = the row saves bits')
        out.append('')
        out.append('| test \\ anchor | ' + ' | '.join(labels) + ' |')
        out.append('|---' * (len(labels) + 1) + '|')
        for test in labels:
            cells = [
                _fmt(values[test][anchor], '+.2f') if anchor != test else '0'
                for anchor in labels
            ]
            out.append(f'| {test} | ' + ' | '.join(cells) + ' |')
        notes = sorted({
            f'- {test} vs {anchor}: {reason}'
            for (test, anchor), reason in reasons.items() if test != anchor
        })
        left_out = [label for label in curves if label not in subset]
        if left_out:
            notes.append(f'- left out (no MS-SSIM): {", ".join(left_out)}')
        if notes:
            out.append('')
            out.append('Not computable (-):')
            out.extend(notes)
        out.append('')
    return '\n'.join(out).rstrip() + '\n'


def _write_atomic(path, data: bytes) -> None:
    from ..apis.checkpoint_io import write_file_atomic
    write_file_atomic(path, lambda f: f.write(data))


def plot_rd(curves: Curves, path, title: Optional[str] = None) -> str:
    """Plot PSNR vs bpp and MS-SSIM (dB) vs bpp side by side; write a PNG.

    matplotlib (an optional dependency) runs on its Agg backend; the file is
    written atomically (a failure leaves an existing ``path`` untouched).
    Curves without MS-SSIM are left out of the second plot.

    Returns:
        str: ``path``.

    Raises:
        ImportError: matplotlib is not installed (one line saying so).
    """
    curves = _as_curves(curves)
    try:
        import matplotlib
        matplotlib.use('Agg', force=False)
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plot_rd needs matplotlib: pip install matplotlib'
                          ) from None
    fig = Figure(figsize=(11, 4.5))
    ax_psnr, ax_ms = fig.subplots(1, 2)
    colors = matplotlib.rcParams['axes.prop_cycle'].by_key().get(
        'color', ['C0'])
    for i, (label, points) in enumerate(curves.items()):
        style = dict(color=colors[i % len(colors)], marker='o', ms=3,
                     label=label)
        points = sorted(points, key=lambda p: p.bpp)
        bpp = [p.bpp for p in points]
        ax_psnr.plot(bpp, [p.psnr for p in points], **style)
        if points and all(p.ms_ssim is not None for p in points):
            ax_ms.plot(bpp, [p.ms_ssim_db for p in points], **style)
    for ax, ylabel in ((ax_psnr, 'PSNR (dB)'), (ax_ms, 'MS-SSIM (dB)')):
        ax.set_xlabel('bits per pixel')
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, 'not measured', ha='center', va='center',
                    transform=ax.transAxes)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=120)
    _write_atomic(path, buf.getvalue())
    return os.fspath(path)


def save_rd_json(curves: Curves, path,
                 extra: Optional[Mapping[str, Any]] = None) -> str:
    """Write ``{'curves': {label: [point dicts]}, **extra}`` atomically as
    JSON (non-finite numbers become null)."""
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, np.generic):
            return clean(value.item())
        return value

    doc = {
        'curves': {
            label: [p.to_dict() for p in points]
            for label, points in _as_curves(curves).items()
        }
    }
    doc.update(extra or {})
    text = json.dumps(clean(doc), indent=1, allow_nan=False)
    _write_atomic(path, (text + '\n').encode())
    return os.fspath(path)


def load_reference_curve(path, label: Optional[str] = None
                         ) -> Tuple[str, List[RDPoint], Optional[str]]:
    """Read a published RD curve from a JSON file (it is not run here).

    Accepted layouts:

    - ``{"name": ..., "note": ..., "points": [{"quality", "bpp", "psnr",
      "ms_ssim"}, ...]}`` (``ms_ssim`` optional);
    - CompressAI's results JSON, ``{"name": ..., "results": {"bpp": [...],
      "psnr": [...], "ms-ssim": [...]}}`` (``quality`` list optional);
    - a bare list of point dicts.

    Args:
        path: the JSON file.
        label (str, optional): the curve name (default: the file's
            ``name`` / ``label`` key, else its file name).

    Returns:
        tuple: ``(label, points, note)``; ``note`` is the file's ``note``
        (e.g. how its PSNR was measured) or None.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not one of the layouts (one line).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'reference curve {path} not found; pass a '
                                'JSON file of published RD points')
    try:
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f'reference curve {path} is not readable JSON '
                         f'({str(err).splitlines()[0]})') from None
    note = None
    name = None
    if isinstance(doc, Mapping):
        name = doc.get('label', doc.get('name'))
        note = doc.get('note')
        if isinstance(doc.get('points'), list):
            raw = doc['points']
        elif isinstance(doc.get('results'), Mapping):
            res = doc['results']
            if not isinstance(res.get('bpp'), list) or not isinstance(
                    res.get('psnr'), list) or len(res['bpp']) != len(
                        res['psnr']):
                raise ValueError(
                    f'reference curve {path}: "results" needs lists "bpp" '
                    'and "psnr" of the same length')
            ms = res.get('ms-ssim', res.get('ms_ssim'))
            qualities = res.get('quality', res.get('qualities'))
            raw = [{
                'bpp': b,
                'psnr': p,
                'ms_ssim': None if ms is None else ms[i],
                'quality': (i + 1) if qualities is None else qualities[i]
            } for i, (b, p) in enumerate(zip(res['bpp'], res['psnr']))]
        else:
            raise ValueError(
                f'reference curve {path}: expected a "points" list or a '
                'CompressAI "results" dict (see load_reference_curve)')
    elif isinstance(doc, list):
        raw = doc
    else:
        raise ValueError(f'reference curve {path}: expected a JSON object '
                         f'or list, got {type(doc).__name__}')
    if not raw:
        raise ValueError(f'reference curve {path} has no points')
    label = label or (str(name) if name else
                      os.path.splitext(os.path.basename(path))[0])
    try:
        points = [_as_point(p, label) for p in raw]
    except (TypeError, ValueError) as err:
        raise ValueError(f'reference curve {path}: {err}') from None
    for p in points:
        p.label = label
    return label, points, None if note is None else str(note)
