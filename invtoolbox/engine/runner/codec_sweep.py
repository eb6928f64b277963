# Copyright (c) invtoolbox contributors. All rights reserved.
"""Test a rescaling model under several lossy codecs in one run.

SAIN's evaluation (and the IRN-vs-SAIN comparison users care about) sends
the model's LR through a real codec at several quality factors before
upscaling, and reports one number per (dataset, quality factor)::

    test_cfg = dict(
        type='CodecSweepTestLoop',
        codecs=[dict(type='RealJPEG', quality=q) for q in (30, 50, 70, 80, 90)])

prints, for each tabulated metric, one table with a row per dataset and a
column per codec::

    PSNR_Y    | JPEG-30 | JPEG-50 | ...
    Set5      | 32.1234 | 33.9876 | ...

The model must have the rescaling capability
(:class:`~invtoolbox.models.base_models.RescalingMixin`: IRN, IRN-CRM and
SAIN have it): the loop sets each codec in turn through it and restores the
model's own codec at the end.
"""
from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...models.base_models import RescalingMixin
from ...registry import DEGRADATIONS, LOOPS
from .multi_loops import MultiTestLoop, render_table

__all__ = ['CodecSweepTestLoop', 'codec_label', 'format_sweep_table']

_CODEC_NAMES = {'RealJPEG': 'JPEG', 'RealWebP': 'WebP', 'DiffJPEG': 'DiffJPEG'}


def codec_label(codec: Optional[dict]) -> str:
    """A short column label for a codec config: ``'JPEG-30'``, ``'WebP-75'``,
    ``'none'`` for no codec."""
    if codec is None:
        return 'none'
    kind = codec.get('type', '?')
    kind = _CODEC_NAMES.get(kind, kind)
    quality = codec.get('quality')
    return kind if quality is None else f'{kind}-{quality}'


def format_sweep_table(metric: str,
                       results: Dict[str, Dict[str, float]],
                       digits: int = 4) -> str:
    """One metric as a table: a row per dataset, a column per codec.

    Args:
        metric (str): the metric name, written in the corner cell.
        results (dict[str, dict[str, float]]): dataset -> codec label ->
            value.
        digits (int): decimals.
    """
    columns: List[str] = []
    for row in results.values():
        columns += [c for c in row if c not in columns]
    rows = [[metric] + columns]
    for dataset, row in results.items():
        rows.append([dataset] + [
            f'{float(row[c]):.{digits}f}' if c in row else '-'
            for c in columns
        ])
    return render_table(rows)


@LOOPS.register_module()
class CodecSweepTestLoop(MultiTestLoop):
    """:class:`MultiTestLoop` repeated for each codec of a sweep.

    Args:
        runner (Runner): the runner.
        dataloader, evaluator: as for :class:`MultiTestLoop` (one or
            several datasets).
        codecs (list[dict | None]): ``DEGRADATIONS`` configs of the codecs
            the LR goes through, e.g. ``RealJPEG`` at QF 30..90; ``None``
            means no codec.
        labels (list[str], optional): a column label per codec. Default:
            :func:`codec_label` (``'JPEG-30'``...).
        table_metrics (list[str], optional): the metrics printed as tables
            (one table each). Default: every metric of the first result.
        fp16 (bool): run the model under autocast.

    Metrics are returned as ``'<label>/<dataset>/<metric>'`` (``'<label>/
    <metric>'`` for a lone unnamed dataset); the
    ``after_test_epoch`` hooks see all of them.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 evaluator,
                 codecs: Sequence[Optional[dict]],
                 labels: Optional[Sequence[str]] = None,
                 table_metrics: Optional[Sequence[str]] = None,
                 fp16: bool = False) -> None:
        name = type(self).__name__
        if not codecs:
            raise ValueError(f'{name}: codecs is empty; give e.g. '
                             "[dict(type='RealJPEG', quality=q) for q in "
                             '(30, 50, 70, 80, 90)].')
        self.codec_cfgs = [copy.deepcopy(c) for c in codecs]
        # build (and so validate: codec names, quality range) up front
        self.codecs = [
            None if c is None else DEGRADATIONS.build(c)
            for c in self.codec_cfgs
        ]
        self.labels = list(labels) if labels is not None else [
            codec_label(c) for c in self.codec_cfgs
        ]
        if len(self.labels) != len(self.codecs):
            raise ValueError(f'{name}: got {len(self.labels)} labels for '
                             f'{len(self.codecs)} codecs.')
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f'{name}: codec labels must be distinct, got '
                             f'{self.labels}; pass labels=[...].')
        self.table_metrics = None if table_metrics is None else list(
            table_metrics)
        super().__init__(runner, dataloader, evaluator, fp16=fp16)

    @property
    def num_batches(self) -> int:
        """Batches of the whole sweep: every dataset once per codec (the
        total that ``EvalProgressHook`` shows)."""
        return len(self.dataloader) * len(self.codecs)

    def _model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def run(self) -> dict:
        """Evaluate every dataset under every codec; print one table per
        metric; return all metrics."""
        runner = self.runner
        model = self._model()
        if not isinstance(model, RescalingMixin):
            raise TypeError(
                f'{type(self).__name__}: {type(model).__name__} has no '
                'rescaling capability (downscale, transmit through a codec, '
                'upscale); the codec sweep needs a rescaling model such as '
                'IRN or SAIN.')
        previous = model.test_codec
        runner.call_hook('before_test')
        runner.call_hook('before_test_epoch')
        runner.model.eval()
        all_metrics: dict = {}
        # metric -> dataset -> label -> value
        tables: Dict[str, Dict[str, Dict[str, float]]] = OrderedDict()
        batch_idx = 0
        try:
            for label, codec in zip(self.labels, self.codecs):
                model.set_test_codec(codec)
                print_log(f'codec sweep: {label}', logger='current')
                metrics, per_dataset = self.evaluate_datasets(batch_idx)
                batch_idx = self.next_batch_idx
                all_metrics.update(
                    {f'{label}/{key}': value
                     for key, value in metrics.items()})
                for dataset, values in per_dataset.items():
                    for metric, value in values.items():
                        if self.table_metrics is not None and \
                                metric not in self.table_metrics:
                            continue
                        tables.setdefault(metric, OrderedDict()).setdefault(
                            dataset, OrderedDict())[label] = value
        finally:
            model.test_codec = previous
        text = '\n\n'.join(
            format_sweep_table(metric, rows)
            for metric, rows in tables.items())
        if text:
            print_log(
                'test results by codec:\n' + text,
                logger='current',
                level=logging.INFO)
        runner.call_hook('after_test_epoch', metrics=all_metrics)
        runner.call_hook('after_test')
        return all_metrics
