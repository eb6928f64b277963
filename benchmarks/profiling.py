# Copyright (c) invtoolbox contributors. All rights reserved.
"""Device-aware timing and peak memory for the benchmark scripts.

One measurement, two devices:

* **CPU**: wall time (``time.perf_counter``); memory is the growth of the
  process's resident set during one step, sampled in a thread (Linux
  ``/proc``). Run memory measurements with :data:`MALLOC_ENV` so glibc
  returns large blocks at once and the resident set follows what the
  allocator holds (:func:`run_measurement` does).
* **CUDA**: ``torch.cuda.synchronize`` before every clock read, so a time
  covers the kernels a step launched and not only their launch; memory is
  ``torch.cuda.max_memory_allocated`` during one step (peak statistics reset
  just before it) above the memory allocated when it started.

Every result carries :func:`device_label` (device and CPU thread count), so
a table says which device produced each row. Scripts take ``--device``
(:func:`add_device_argument`) and check it with :func:`resolve_device`: asking
for CUDA without a GPU ends with one line on stderr and exit status 1.
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
#: the shared test data (``../shared`` beside the clone, or ``$INVTB_SHARED``).
SHARED_ROOT = Path(os.environ.get('INVTB_SHARED', REPO_ROOT.parent / 'shared'))

#: what ``peak_mb`` means on each device type (for table captions).
MEMORY_NOTE = {
    'cpu': 'resident-set growth during one step',
    'cuda': 'torch.cuda.max_memory_allocated during one step above the '
            'memory allocated before it',
}

DeviceLike = Union[str, torch.device]


# ----------------------------------------------------------------- devices
def add_device_argument(parser, default: str = 'cpu') -> None:
    """Add ``--device`` (``cpu``, ``cuda`` or ``cuda:N``) to ``parser``."""
    parser.add_argument(
        '--device', default=default,
        help=f'cpu, cuda or cuda:N (default: {default}); cuda times with '
        'torch.cuda.synchronize and reports peak CUDA memory')


def resolve_device(name: DeviceLike) -> torch.device:
    """``'cpu'``, ``'cuda'`` or ``'cuda:N'`` -> :class:`torch.device`.

    Anything else, or CUDA on a machine without a usable GPU, raises
    ``SystemExit`` with one line (``error: ...``; exit status 1).
    """
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise SystemExit(f'error: --device {name!r} is not a device; use '
                         'cpu, cuda or cuda:N') from None
    if device.type == 'cpu':
        return torch.device('cpu')
    if device.type != 'cuda':
        raise SystemExit(f'error: --device {name} is not supported by the '
                         'benchmarks; use cpu, cuda or cuda:N')
    if not torch.cuda.is_available():
        raise SystemExit(
            f'error: --device {name} asked for, but no CUDA GPU is available '
            f'(torch {torch.__version__}, torch.cuda.is_available() is '
            'False); use --device cpu')
    index = torch.cuda.current_device() if device.index is None \
        else device.index
    count = torch.cuda.device_count()
    if index >= count:
        raise SystemExit(f'error: --device {name}: this machine has {count} '
                         f'CUDA device(s) (cuda:0 .. cuda:{count - 1})')
    return torch.device('cuda', index)


def synchronize(device: DeviceLike) -> None:
    """Wait for the work queued on ``device`` (no-op on the CPU)."""
    device = torch.device(device)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def device_label(device: DeviceLike, threads: Optional[int] = None) -> str:
    """``'CPU, 2 threads'`` or ``'NVIDIA H100 80GB HBM3 (cuda:0), 2 CPU
    threads'``; ``threads`` defaults to ``torch.get_num_threads()``."""
    device = torch.device(device)
    threads = torch.get_num_threads() if threads is None else threads
    plural = 's' if threads != 1 else ''
    if device.type == 'cuda':
        index = torch.cuda.current_device() if device.index is None \
            else device.index
        return (f'{torch.cuda.get_device_name(index)} (cuda:{index}), '
                f'{threads} CPU thread{plural}')
    return f'CPU, {threads} thread{plural}'


# --------------------------------------------------------------- CPU memory
def rss_bytes() -> int:
    """Current resident set size of this process in bytes (Linux /proc)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class PeakRSSSampler:
    """Samples the resident set size in a thread; ``peak`` after the block.

    Torch kernels release the GIL, so the sampler sees the peaks of long
    operations. Run with ``MALLOC_MMAP_THRESHOLD_=131072`` in the
    environment (:data:`MALLOC_ENV`) so glibc returns large blocks at once
    and the resident set follows what the allocator holds::

        with PeakRSSSampler() as sampler:
            before = rss_bytes()
            step()
        growth = sampler.peak - before
    """

    def __init__(self, interval: float = 0.0005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> 'PeakRSSSampler':
        self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


#: environment for a memory-measuring worker process (see
#: :class:`PeakRSSSampler`).
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '131072'}


# ------------------------------------------------------------- measurements
class Stopwatch:
    """Times a block on ``device``: synchronises before starting and before
    stopping on CUDA. ``clock`` (default ``time.perf_counter``) may be
    ``time.process_time`` for CPU-time budgets; on CUDA the wall clock is
    always used (the kernels' time is not CPU time of this process)::

        with Stopwatch('cuda') as watch:
            step()
        watch.seconds
    """

    def __init__(self, device: DeviceLike = 'cpu',
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.device = torch.device(device)
        self.clock = (time.perf_counter
                      if self.device.type == 'cuda' else clock)
        self.seconds = 0.

    def __enter__(self) -> 'Stopwatch':
        synchronize(self.device)
        self._start = self.clock()
        return self

    def __exit__(self, *exc) -> None:
        synchronize(self.device)
        self.seconds = self.clock() - self._start


def peak_memory_bytes(step: Callable[[], object],
                      device: DeviceLike = 'cpu') -> int:
    """Peak memory growth during one call of ``step`` on ``device``.

    CPU: the sampled resident set's peak minus its size before the call.
    CUDA: ``max_memory_allocated`` (reset just before the call) minus
    ``memory_allocated`` at its start.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    with PeakRSSSampler() as sampler:
        before = rss_bytes()
        step()
    return sampler.peak - before


def time_steps(step: Callable[[], object], repeats: int,
               device: DeviceLike = 'cpu') -> List[float]:
    """Wall seconds of ``repeats`` calls of ``step`` (synchronised on CUDA)."""
    times = []
    for _ in range(repeats):
        with Stopwatch(device) as watch:
            step()
        times.append(watch.seconds)
    return times


def measure_step(step: Callable[[], object], warmup: int, repeats: int,
                 measure: str, device: DeviceLike = 'cpu') -> Dict:
    """Run ``step()`` ``warmup`` times, then measure it (in a worker process
    started by :func:`run_measurement`).

    Args:
        step (callable): one training step (or forward+backward).
        warmup (int): unmeasured calls first.
        repeats (int): timed calls (``measure='time'``).
        measure (str): ``'time'`` -> ``{'time_s': median, 'times_s': [...]}``
            (wall seconds); ``'memory'`` -> ``{'peak_mb': ...}``, see
            :func:`peak_memory_bytes`.
        device: where ``step`` runs.

    Returns:
        dict: the numbers above plus ``device`` (:func:`device_label`).
    """
    if measure not in ('time', 'memory'):
        raise ValueError(f"measure must be 'time' or 'memory', got "
                         f'{measure!r}')
    device = torch.device(device)
    for _ in range(warmup):
        step()
    synchronize(device)
    if measure == 'memory':
        result = dict(peak_mb=peak_memory_bytes(step, device) / 2**20)
    else:
        times = time_steps(step, repeats, device)
        result = dict(time_s=statistics.median(times), times_s=times)
    result['device'] = device_label(device)
    return result


def run_measurement(module: str, options: Sequence[str], measure: str,
                    threads: int) -> Dict:
    """Run ``python -m module --_measure {memory|time} options...`` in a
    fresh process and parse the JSON of its last output line.

    Memory runs get :data:`MALLOC_ENV` (an accurate resident set but slower
    allocations); time runs keep the allocator defaults. The repository root
    is put on ``PYTHONPATH`` so the worker finds ``benchmarks`` wherever it
    is started from. Exits with the worker's error output if it fails.
    """
    env = dict(os.environ, **(MALLOC_ENV if measure == 'memory' else {}))
    env.setdefault('OMP_NUM_THREADS', str(threads))
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO_ROOT)] + ([env['PYTHONPATH']] if env.get('PYTHONPATH')
                            else []))
    cmd = [sys.executable, '-m', module, '--_measure', measure] + list(options)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f'benchmark worker ({" ".join(options[:2])}, {measure}) '
                 f'failed:\n{out.stderr.strip()}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_json(path: str, obj, indent: int = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a reader never sees a
    half-written file)."""
    from invtoolbox.apis.checkpoint_io import write_file_atomic
    text = json.dumps(obj, indent=indent).encode('utf-8')
    write_file_atomic(path, lambda f: f.write(text))
