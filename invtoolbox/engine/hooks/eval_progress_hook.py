# Copyright (c) invtoolbox contributors. All rights reserved.
"""Progress lines during validation and testing.

mmengine's ``LoggerHook`` logs a validation or test batch every
``interval`` batches (100 in most configs): a test set of 24 slow stereo
pairs then prints nothing until the results table, for minutes.
:class:`EvalProgressHook` logs ``val: 6/24 batches (demo_val), 0:00:31
elapsed, about 0:01:33 left`` after the first batch, every tenth of the
batches, at least every ``max_seconds`` and after the last one.
``tools/train.py`` and ``tools/test.py`` add it to every run; in a config::

    custom_hooks = [dict(type='EvalProgressHook')]
"""
import datetime
import math
import time
from typing import Optional

from mmengine.hooks import Hook

from ...registry import HOOKS


def _duration(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(round(seconds))))


@HOOKS.register_module()
class EvalProgressHook(Hook):
    """Log validation / test progress: batches done out of the total,
    elapsed time and the time left.

    The total is ``len(loop.dataloader)``, or the loop's ``num_batches``
    when it has one (``CodecSweepTestLoop`` runs its datasets once per
    codec).

    Args:
        num_lines (int): about how many lines per pass (one every
            ``ceil(total / num_lines)`` batches). Default: 10.
        max_seconds (float): log at least this often (seconds) when
            batches are slow. Default: 60.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, num_lines: int = 10, max_seconds: float = 60.) -> None:
        if isinstance(num_lines, bool) or not isinstance(num_lines, int) \
                or num_lines < 1:
            raise ValueError(
                f'EvalProgressHook: num_lines must be a positive integer, '
                f'got {num_lines!r}')
        if not isinstance(max_seconds, (int, float)) or max_seconds <= 0:
            raise ValueError(
                f'EvalProgressHook: max_seconds must be a positive number, '
                f'got {max_seconds!r}')
        self.num_lines = num_lines
        self.max_seconds = float(max_seconds)
        self._start = self._last = 0.
        self._done = 0
        self._total: Optional[int] = None

    def _begin(self, runner, mode: str) -> None:
        loop = getattr(runner, f'{mode}_loop')
        # a loop that runs its dataloader several times (a codec sweep)
        # says how many batches it runs in all
        total = getattr(loop, 'num_batches', None)
        try:
            self._total = int(total) if total is not None else len(
                loop.dataloader)
        except (TypeError, AttributeError):  # an iterable without a length
            self._total = None
        self._start = self._last = time.perf_counter()
        self._done = 0

    def before_val_epoch(self, runner) -> None:
        self._begin(runner, 'val')

    def before_test_epoch(self, runner) -> None:
        self._begin(runner, 'test')

    def _step(self, runner, mode: str) -> None:
        self._done += 1
        now = time.perf_counter()
        done, total = self._done, self._total
        known = total is not None and 0 < done <= total
        # unknown total: the first batch, then by time only
        every = max(1, math.ceil(total / self.num_lines)) if total else 0
        due = (done == 1 or (every and done % every == 0)
               or (known and done == total)
               or now - self._last >= self.max_seconds)
        if not due:
            return
        self._last = now
        elapsed = now - self._start
        count = f'{done}/{total}' if known else f'{done}'
        loop = getattr(runner, f'{mode}_loop')
        name = getattr(loop, 'current_dataset_name', None)
        line = f'{mode}: {count} batches' + (f' ({name})' if name else '')
        line += f', {_duration(elapsed)} elapsed'
        if known and done < total:
            line += f', about {_duration(elapsed / done * (total - done))} left'
        runner.logger.info(line)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._step(runner, 'val')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._step(runner, 'test')
