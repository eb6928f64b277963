# Copyright (c) invtoolbox contributors. All rights reserved.
"""The analytic baseline of the Invertible-ISP quick start."""
import io
from typing import Any, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from PIL import Image

from invtoolbox.registry import METRICS
from ..functional import psnr, ssim
from .base_sample_wise_metric import get_field


def _chw(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().float().numpy()
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 4:
        value = value[0]
    return value


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).float()


@METRICS.register_module()
class SyntheticISPBaseline(BaseMetric):
    """RAW recovery by inverting a known camera pipeline: what the network
    must beat on synthetic RAW.

    For every evaluated RAW (the network's input ``gt_raw``: white-balanced,
    gamma-compressed, demosaiced), the baseline renders sRGB with the
    synthetic camera's own noise-free pipeline
    (:func:`~invtoolbox.datasets.raw.process_linear`: white balance, colour
    matrix, sRGB gamma, tone curve; known from the file's metadata alone),
    saves it as a real JPEG (Pillow, ``quality``, 4:2:2 as the network's
    test), decodes it and inverts the pipeline analytically
    (:func:`~invtoolbox.datasets.raw.unprocess_linear`). Reported:

    - ``Baseline_RAW_PSNR``: the recovered RAW vs ``gt_raw`` (float, MAX 1,
      as the network's ``RAW/PSNR``);
    - ``Baseline_PSNR`` / ``Baseline_SSIM``: its decoded JPEG vs the sRGB
      target ``gt_img`` (LibRaw's rendering, 8-bit), like the network's;
    - ``Baseline_bpp``: the JPEG's size.

    The samples need the RAW's metadata as ``raw_meta`` (a
    :meth:`RawMetadata.to_dict`, set by ``LoadRAWFromFile`` and kept by
    ``PackInputs(meta_keys=(..., 'raw_meta'))``).

    Args:
        quality (int): JPEG quality. Default: 90.
        subsampling (int): Pillow subsampling (1 = 4:2:2). Default: 1.
        raw_key, gt_key (str): fields of the RAW input and the sRGB target.
        collect_device, prefix: as mmengine's ``BaseMetric``.
    """
    default_prefix: Optional[str] = ''

    def __init__(self,
                 quality: int = 90,
                 subsampling: int = 1,
                 raw_key: str = 'gt_raw',
                 gt_key: str = 'gt_img',
                 meta_key: str = 'raw_meta',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.quality = int(quality)
        self.subsampling = int(subsampling)
        self.raw_key, self.gt_key, self.meta_key = raw_key, gt_key, meta_key

    def baseline(self, raw: np.ndarray, meta) -> tuple:
        """``(decoded sRGB (3, H, W) in [0, 1], recovered RAW, bytes)``."""
        from ...datasets.raw import (process_linear, unprocess_linear,
                                     wb_gains)
        from ...datasets.raw.isp import GAMMA
        gains = wb_gains(meta)
        cam = np.clip(raw, 0, 1)**GAMMA / gains
        srgb = process_linear(cam, meta)
        pixels = np.round(np.clip(srgb, 0, 1) * 255.).astype(np.uint8)
        with io.BytesIO() as buffer:
            Image.fromarray(pixels.transpose(1, 2, 0), mode='RGB').save(
                buffer, format='JPEG', quality=self.quality,
                subsampling=self.subsampling)
            data = buffer.getvalue()
        with Image.open(io.BytesIO(data)) as img:
            decoded = np.asarray(img.convert('RGB'),
                                 dtype=np.float64).transpose(2, 0, 1) / 255.
        cam_back = unprocess_linear(decoded, meta)
        recovered = np.clip(cam_back * gains, 0, 1)**(1 / GAMMA)
        return decoded, recovered, len(data)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        from ...datasets.raw import RawMetadata
        name = type(self).__name__
        for sample in data_samples:
            raw = _chw(get_field(sample, self.raw_key, name, 'raw_key'))
            gt = _chw(get_field(sample, self.gt_key, name, 'gt_key'))
            meta = get_field(sample, self.meta_key, name, 'meta_key')
            meta = RawMetadata.from_dict(meta) if isinstance(meta,
                                                             dict) else meta
            decoded, recovered, size = self.baseline(raw, meta)
            raw_t, rec_t = _tensor(raw), _tensor(recovered)
            gt_t, dec_t = _tensor(gt), _tensor(decoded)
            self.results.append(dict(
                Baseline_RAW_PSNR=psnr(raw_t, rec_t, max_value=1.0,
                                       quantize=False),
                Baseline_PSNR=psnr(gt_t, dec_t),
                Baseline_SSIM=ssim(gt_t, dec_t),
                Baseline_bpp=8.0 * size / (raw.shape[1] * raw.shape[2])))

    def compute_metrics(self, results: list) -> dict:
        keys = results[0].keys() if results else []
        return {k: float(np.mean([r[k] for r in results])) for k in keys}
