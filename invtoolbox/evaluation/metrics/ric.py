# Copyright (c) invtoolbox contributors. All rights reserved.
"""The evaluation of reversible image conversion (IICNet's ``test.py``)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from invtoolbox.errors import ShapeError
from invtoolbox.registry import METRICS
from ..functional import psnr, ssim
from .base_sample_wise_metric import get_field

__all__ = ['RICMetric', 'RepeatReferenceBaseline']


@METRICS.register_module()
class RICMetric(BaseMetric):
    """PSNR / SSIM of a reversible-image-conversion model, IICNet's protocol.

    Per sample (the output of :class:`~invtoolbox.models.IICNet` ``predict``):

    - the embedding ``embed_key`` (``(c, h, w)``) against the reference
      ``ref_key``;
    - each of the K restored images ``pred_key`` (``(K, 3, H, W)``) against
      ``gt_key``.

    As the official ``codes/test.py``: images are converted to 8 bits
    (``x * 255``, clamp, round), PSNR over all channels (no border crop, not
    on Y), SSIM with MATLAB's 11 x 11 Gaussian window (sigma 1.5) averaged
    over channels (:func:`invtoolbox.evaluation.functional.psnr` /
    ``ssim``). Reported (means over all samples):

    - ``embed_PSNR``, ``embed_SSIM``;
    - ``{name}_PSNR``, ``{name}_SSIM`` per image, ``name`` from the task's
      ``image_names`` (e.g. ``left_PSNR``, ``right_SSIM``);
    - ``restored_PSNR`` / ``restored_SSIM``: mean over all K images (the
      official "fake frames");
    - ``restored_noref_PSNR`` / ``restored_noref_SSIM``: mean over the images
      other than the reference (the official "no ref"; only for K > 1).

    Args:
        image_names (Sequence[str], optional): a name per image (natural
            order). Default: the sample's ``image_names`` metainfo (set by
            ``IICNet.predict``), else ``img0``, ``img1``, ...
        reference_index (int, optional): which image is the reference.
            Default: the sample's ``reference_index`` metainfo, else 0.
        embed_key, ref_key, pred_key, gt_key (str): data-sample keys.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): prefix of the reported names.
    """
    default_prefix: Optional[str] = ''

    def __init__(self,
                 image_names: Optional[Sequence[str]] = None,
                 reference_index: Optional[int] = None,
                 embed_key: str = 'pred_embed',
                 ref_key: str = 'ref_img',
                 pred_key: str = 'pred_img',
                 gt_key: str = 'gt_img',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.image_names = None if image_names is None else tuple(image_names)
        self.reference_index = reference_index
        self.embed_key = embed_key
        self.ref_key = ref_key
        self.pred_key = pred_key
        self.gt_key = gt_key

    def _meta(self, sample: Any, key: str) -> Any:
        if isinstance(sample, dict):
            return sample.get(key, sample.get('metainfo', {}).get(key))
        return getattr(sample, key, None)

    @staticmethod
    def _images(value: Any, what: str) -> torch.Tensor:
        if not isinstance(value, torch.Tensor) or value.dim() != 4:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) \
                else type(value).__name__
            raise ShapeError(f'RICMetric: {what} must be a (K, 3, H, W) '
                             f'tensor of the K images, got {shape}.')
        return value

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Measure every sample of a batch.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples (Sequence[dict | DataSample]): ``IICNet.predict``
                outputs.
        """
        for sample in data_samples:
            embed = get_field(sample, self.embed_key, 'RICMetric',
                              'embed_key')
            ref = get_field(sample, self.ref_key, 'RICMetric', 'ref_key')
            pred = self._images(
                get_field(sample, self.pred_key, 'RICMetric', 'pred_key'),
                self.pred_key)
            gt = self._images(
                get_field(sample, self.gt_key, 'RICMetric', 'gt_key'),
                self.gt_key)
            if pred.shape != gt.shape:
                raise ShapeError(
                    f'RICMetric: {self.pred_key} {tuple(pred.shape)} and '
                    f'{self.gt_key} {tuple(gt.shape)} differ in shape.')
            k = pred.shape[0]
            names = self.image_names or self._meta(sample, 'image_names') \
                or tuple(f'img{i}' for i in range(k))
            if len(names) != k:
                raise ValueError(
                    f'RICMetric: {len(names)} image_names {tuple(names)} for '
                    f'{k} images; set image_names to one name per image.')
            ref_index = self.reference_index
            if ref_index is None:
                ref_index = self._meta(sample, 'reference_index') or 0
            result: Dict[str, float] = dict(
                embed_PSNR=psnr(embed, ref), embed_SSIM=ssim(embed, ref))
            for metric, fn in (('PSNR', psnr), ('SSIM', ssim)):
                values = [fn(pred[i], gt[i]) for i in range(k)]
                for name, value in zip(names, values):
                    result[f'{name}_{metric}'] = value
                result[f'restored_{metric}'] = float(np.mean(values))
                if k > 1:
                    result[f'restored_noref_{metric}'] = float(
                        np.mean([v for i, v in enumerate(values)
                                 if i != ref_index]))
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Average every value over the samples."""
        keys: List[str] = []
        for r in results:
            keys += [key for key in r if key not in keys]
        return {
            key: float(np.mean([r[key] for r in results if key in r]))
            for key in keys
        }


@METRICS.register_module()
class RepeatReferenceBaseline(RICMetric):
    """The classical baseline of an embedding task whose reference is one of
    the K images (video embedding: the middle frame): ship the reference
    as-is and "restore" every image as a copy of it.

    Its embedding is the reference itself (lossless, so no embedding PSNR
    is reported); its restoration of the other images is the reference,
    which a model must beat to have stored anything about them. Measured
    with :class:`RICMetric`'s protocol (8-bit PSNR / SSIM, all channels, no
    crop) on the same samples (``gt_key``, ``(K, 3, H, W)``). Reported:
    ``Baseline_restored_noref_PSNR`` / ``Baseline_restored_noref_SSIM``
    (means over the non-reference images and the samples, to set beside
    ``restored_noref_PSNR`` / ``_SSIM``).

    Args:
        reference_index (int, optional): which image is the reference.
            Default: the sample's ``reference_index`` metainfo (set by
            ``IICNet.predict`` from the task).
        gt_key (str): data-sample key of the K images.
        collect_device, prefix: see :class:`RICMetric`.

    Raises:
        ValueError: the sample has fewer than 2 images, or no reference
            index (set ``reference_index``).
    """

    def __init__(self,
                 reference_index: Optional[int] = None,
                 gt_key: str = 'gt_img',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(reference_index=reference_index, gt_key=gt_key,
                         collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Measure the baseline on every sample of a batch."""
        for sample in data_samples:
            gt = self._images(
                get_field(sample, self.gt_key, 'RepeatReferenceBaseline',
                          'gt_key'), self.gt_key)
            ref_index = self.reference_index
            if ref_index is None:
                ref_index = self._meta(sample, 'reference_index')
            k = gt.shape[0]
            if k < 2 or ref_index is None or not 0 <= ref_index < k:
                raise ValueError(
                    f'RepeatReferenceBaseline: needs K >= 2 images and a '
                    f'reference index in [0, K), got K={k} and '
                    f'reference_index={ref_index!r}; set reference_index.')
            others = [i for i in range(k) if i != ref_index]
            self.results.append(
                dict(
                    Baseline_restored_noref_PSNR=float(
                        np.mean([psnr(gt[ref_index], gt[i])
                                 for i in others])),
                    Baseline_restored_noref_SSIM=float(
                        np.mean([ssim(gt[ref_index], gt[i])
                                 for i in others]))))
