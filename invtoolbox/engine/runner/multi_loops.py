# Copyright (c) invtoolbox contributors. All rights reserved.
"""Validation and test loops over several datasets at once.

The rescaling papers report every number on five benchmarks (Set5, Set14,
BSD100, Urban100, DIV2K-val). :class:`MultiValLoop` / :class:`MultiTestLoop`
take a list of dataloaders and evaluators, report each dataset's metrics
under its name (``'Set5/PSNR_Y'``) and print one table at the end::

    val_dataloader = [set5_loader, set14_loader]       # or a single loader
    val_evaluator = [dict(type='PSNR', crop_border=2, test_y_channel=True),
                     dict(type='SSIM', crop_border=2, test_y_channel=True)]
    val_cfg = dict(type='MultiValLoop')
"""
from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.amp import autocast
from mmengine.runner.base_loop import BaseLoop
from mmengine.structures import BaseDataElement
from torch.utils.data import DataLoader

from ...registry import LOOPS

__all__ = [
    'MultiValLoop', 'MultiTestLoop', 'DataloaderChain', 'format_metric_table'
]

DataloaderType = Union[DataLoader, dict]
EvaluatorType = Union[Evaluator, dict, list]


class DataloaderChain:
    """Several dataloaders seen as one, for the hooks that read ``loop.dataloader``.

    ``len()`` is the total number of batches (mmengine's logger and timer
    hooks show ``[batch / len]`` and an ETA from it, with the batch index
    counted across all datasets); attributes (``dataset``, ``sampler``,
    ``batch_size``...) are those of the dataloader being run. Iterating
    yields the batches of every dataloader in turn.
    """

    def __init__(self, dataloaders: Sequence[DataLoader]) -> None:
        self.dataloaders = list(dataloaders)
        self.current = 0

    def __len__(self) -> int:
        return sum(len(loader) for loader in self.dataloaders)

    def __iter__(self) -> Iterator:
        for loader in self.dataloaders:
            yield from loader

    def __getattr__(self, name: str):
        # only called for attributes not found on the chain itself
        if name in ('dataloaders', 'current'):
            raise AttributeError(name)
        return getattr(self.dataloaders[self.current], name)


def format_metric_table(per_dataset: Dict[str, Dict[str, float]],
                        digits: int = 4) -> str:
    """A plain-text table: one row per dataset, one column per metric.

    Args:
        per_dataset (dict[str, dict[str, float]]): dataset name -> metrics.
        digits (int): decimals of float values.

    Returns:
        str: the table (metrics a dataset lacks are shown as ``-``).
    """
    columns: List[str] = []
    for metrics in per_dataset.values():
        columns += [name for name in metrics if name not in columns]

    def cell(value) -> str:
        if isinstance(value, float):
            return f'{value:.{digits}f}'
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            return f'{value.item():.{digits}f}'
        return str(value)

    rows = [['dataset'] + columns]
    for name, metrics in per_dataset.items():
        rows.append([name] + [
            cell(metrics[column]) if column in metrics else '-'
            for column in columns
        ])
    return render_table(rows)


def render_table(rows: List[List[str]]) -> str:
    """Plain-text table of string cells: the first row is the header, the
    first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        ' | '.join(
            text.ljust(width) if i == 0 else text.rjust(width)
            for i, (text, width) in enumerate(zip(row, widths)))
        for row in rows
    ]
    lines.insert(1, '-+-'.join('-' * width for width in widths))
    return '\n'.join(lines)


def _is_evaluator_spec(item) -> bool:
    """Whether ``item`` describes a whole evaluator (not a single metric)."""
    return isinstance(item, (list, tuple, Evaluator)) or (isinstance(
        item, dict) and 'metrics' in item)


class _MultiEvalLoop(BaseLoop):
    """Shared machinery of :class:`MultiValLoop` and :class:`MultiTestLoop`."""

    #: 'val' or 'test': hook names and the model's step method
    mode: str = 'val'

    def __init__(self,
                 runner,
                 dataloader: Union[DataloaderType, Sequence[DataloaderType]],
                 evaluator: Union[EvaluatorType, Sequence[EvaluatorType]],
                 fp16: bool = False) -> None:
        # BaseLoop.__init__ would build a single dataloader; build them all.
        self._runner = runner
        loaders = list(dataloader) if isinstance(dataloader,
                                                 (list, tuple)) else [
                                                     dataloader
                                                 ]
        if not loaders:
            raise ValueError(
                f'{type(self).__name__}: got an empty list of dataloaders; '
                f'give at least one {self.mode}_dataloader')
        self.dataloaders: List[DataLoader] = [
            self._build_dataloader(loader) for loader in loaders
        ]
        self.evaluators: List[Evaluator] = [
            runner.build_evaluator(spec)
            for spec in self._split_evaluators(evaluator, len(loaders))
        ]
        self.dataset_names: List[Optional[str]] = self._dataset_names()
        for loader, evaluator_ in zip(self.dataloaders, self.evaluators):
            metainfo = getattr(loader.dataset, 'metainfo', None)
            if metainfo is not None:
                evaluator_.dataset_meta = metainfo
        self.fp16 = fp16
        self._chain = DataloaderChain(self.dataloaders)
        self._current = 0

    # -- construction ------------------------------------------------------
    def _build_dataloader(self, loader: DataloaderType) -> DataLoader:
        if isinstance(loader, dict):
            diff_rank_seed = self.runner._randomness_cfg.get(
                'diff_rank_seed', False)
            return self.runner.build_dataloader(
                loader, seed=self.runner.seed, diff_rank_seed=diff_rank_seed)
        return loader

    def _split_evaluators(self, evaluator, num_loaders: int) -> list:
        """One evaluator spec per dataloader.

        ``evaluator`` is either one evaluator shared by every dataset (an
        ``Evaluator``, a metric dict, a list of metric dicts, or a dict with
        ``metrics``) or a list with one evaluator per dataloader, each a list
        of metric dicts, a dict with ``metrics`` or an ``Evaluator``.
        """
        name = type(self).__name__
        if isinstance(evaluator, (list, tuple)) and evaluator and any(
                _is_evaluator_spec(item) for item in evaluator):
            if not all(_is_evaluator_spec(item) for item in evaluator):
                raise ValueError(
                    f'{name}: {self.mode}_evaluator mixes metric dicts and '
                    'per-dataset evaluators; give either one list of metrics '
                    'shared by all datasets, or one list of metrics per '
                    'dataloader')
            if len(evaluator) != num_loaders:
                raise ValueError(
                    f'{name}: got {len(evaluator)} evaluators for '
                    f'{num_loaders} dataloaders; give one per dataloader, or '
                    'a single list of metrics shared by all')
            return [
                item if isinstance(item, Evaluator) else copy.deepcopy(item)
                for item in evaluator
            ]
        if isinstance(evaluator, Evaluator):
            return [evaluator] * num_loaders
        return [copy.deepcopy(evaluator) for _ in range(num_loaders)]

    def _dataset_names(self) -> List[Optional[str]]:
        """Each dataset's ``metainfo['dataset_name']``.

        A lone dataset without a name reports unprefixed metrics; several
        unnamed ones are called ``<DatasetClass>_<index>``.
        """
        names = []
        for index, loader in enumerate(self.dataloaders):
            metainfo = getattr(loader.dataset, 'metainfo', None) or {}
            name = metainfo.get('dataset_name')
            if name is None and len(self.dataloaders) > 1:
                name = f'{type(loader.dataset).__name__}_{index}'
            names.append(None if name is None else str(name))
        duplicates = sorted(
            {n
             for n in names if n is not None and names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f'{type(self).__name__}: several {self.mode} datasets are '
                f'named {duplicates}; give each a distinct '
                "metainfo=dict(dataset_name='...')")
        return names

    # -- what hooks see ----------------------------------------------------
    @property
    def dataloader(self) -> Union[DataLoader, DataloaderChain]:
        """The dataloader, or a :class:`DataloaderChain` over all of them."""
        return self.dataloaders[0] if len(
            self.dataloaders) == 1 else self._chain

    @property
    def evaluator(self) -> Evaluator:
        """The evaluator of the dataset being run (the first one before)."""
        return self.evaluators[self._current]

    @property
    def current_dataset_name(self) -> Optional[str]:
        """Name of the dataset being run (None for a lone unnamed one)."""
        return self.dataset_names[self._current]

    # -- running -----------------------------------------------------------
    def _prefixed(self, name: Optional[str], metrics: dict) -> dict:
        if name is None:
            return dict(metrics)
        return {f'{name}/{key}': value for key, value in metrics.items()}

    def run(self) -> dict:
        """Evaluate every dataset in turn.

        Returns:
            dict: all metrics, ``'<dataset_name>/<metric>'`` (unprefixed for
            a lone unnamed dataset).
        """
        runner = self.runner
        runner.call_hook(f'before_{self.mode}')
        runner.call_hook(f'before_{self.mode}_epoch')
        runner.model.eval()
        all_metrics, per_dataset = self.evaluate_datasets()
        if per_dataset:
            print_log(
                f'{self.mode} results:\n' + format_metric_table(per_dataset),
                logger='current',
                level=logging.INFO)
        runner.call_hook(f'after_{self.mode}_epoch', metrics=all_metrics)
        runner.call_hook(f'after_{self.mode}')
        return all_metrics

    def evaluate_datasets(self, batch_idx: int = 0):
        """Run every dataset through the model and its evaluator (no
        epoch hooks, no table).

        Args:
            batch_idx (int): index of the first batch, as hooks see it.

        Returns:
            tuple[dict, OrderedDict]: all metrics (``'<dataset>/<metric>'``)
            and the metrics of each dataset by name.
        """
        runner = self.runner
        all_metrics: dict = {}
        per_dataset: Dict[str, dict] = OrderedDict()
        for index, (loader, evaluator) in enumerate(
                zip(self.dataloaders, self.evaluators)):
            self._current = self._chain.current = index
            metainfo = getattr(loader.dataset, 'metainfo', None)
            if metainfo is not None:
                runner.visualizer.dataset_meta = metainfo
            losses: Dict[str, HistoryBuffer] = {}
            for data_batch in loader:
                self.run_iter(batch_idx, data_batch, evaluator, losses)
                batch_idx += 1
            metrics = evaluator.evaluate(len(loader.dataset))
            metrics.update(
                {key: buffer.mean()
                 for key, buffer in losses.items()})
            name = self.dataset_names[index]
            per_dataset[name or type(loader.dataset).__name__] = metrics
            all_metrics.update(self._prefixed(name, metrics))
        self._current = self._chain.current = 0
        self.next_batch_idx = batch_idx
        return all_metrics, per_dataset

    @staticmethod
    def _pop_losses(outputs, losses: Dict[str, HistoryBuffer]):
        """Strip a trailing ``BaseDataElement(loss=...)`` and record its losses.

        Models may append one to their ``val_step`` / ``test_step`` outputs
        (mmengine's convention); their means are reported with the
        dataset's metrics.
        """
        if outputs and isinstance(outputs[-1], BaseDataElement) and \
                outputs[-1].keys() == ['loss']:
            for key, value in outputs[-1].loss.items():
                values = value if isinstance(value, (list, tuple)) else [value]
                buffer = losses.setdefault(key, HistoryBuffer())
                for item in values:
                    buffer.update(float(item))
            outputs = outputs[:-1]
        return outputs

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: dict, evaluator: Evaluator,
                 losses: Dict[str, HistoryBuffer]) -> None:
        """Run one batch through the model and the evaluator.

        Args:
            idx (int): batch index counted across all datasets.
            data_batch (dict): the batch from the dataloader.
            evaluator (Evaluator): the current dataset's evaluator.
            losses (dict): the current dataset's loss buffers.
        """
        runner = self.runner
        runner.call_hook(
            f'before_{self.mode}_iter', batch_idx=idx, data_batch=data_batch)
        step = getattr(runner.model, f'{self.mode}_step')
        with autocast(enabled=self.fp16):
            outputs = step(data_batch)
        outputs = self._pop_losses(outputs, losses)
        evaluator.process(data_samples=outputs, data_batch=data_batch)
        runner.call_hook(
            f'after_{self.mode}_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)


@LOOPS.register_module()
class MultiValLoop(_MultiEvalLoop):
    """Validation on several datasets, each with its own metrics.

    Args:
        runner (Runner): the runner.
        dataloader (DataLoader | dict | list): one dataloader (or config), or
            a list of them (``val_dataloader`` of the config).
        evaluator (Evaluator | dict | list): one evaluator shared by all
            datasets (e.g. a list of metric dicts; built once per dataset),
            or a list with one evaluator per dataloader (each a list of
            metric dicts, a ``dict(metrics=...)`` or an ``Evaluator``).
        fp16 (bool): run the model under autocast. Default: False.

    Each dataset's metrics are reported as ``'<dataset_name>/<metric>'``,
    the name coming from ``dataset.metainfo['dataset_name']`` (invtoolbox's
    datasets default it to the folder name); a lone dataset without a name
    reports unprefixed metrics. Batch indices passed to hooks count across
    all datasets, and ``loop.dataloader`` has the total length. One table of
    all results is logged at the end, before ``after_val_epoch``.
    """
    mode = 'val'


@LOOPS.register_module()
class MultiTestLoop(_MultiEvalLoop):
    """Test on several datasets; see :class:`MultiValLoop` (``test_*`` hooks
    and ``model.test_step``)."""
    mode = 'test'
