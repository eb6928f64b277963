# Copyright (c) invtoolbox contributors. All rights reserved.
"""Memory measurement helpers for the benchmark scripts (CPU, Linux)."""
import os
import threading
import time


def rss_bytes() -> int:
    """Current resident set size of this process in bytes (Linux /proc)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class PeakRSSSampler:
    """Samples the resident set size in a thread; ``peak`` after the block.

    Torch kernels release the GIL, so the sampler sees the peaks of long
    operations. Run with ``MALLOC_MMAP_THRESHOLD_=131072`` in the
    environment so glibc returns large blocks at once and the resident set
    follows what the allocator holds::

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


#: environment for a benchmark worker process (see :class:`PeakRSSSampler`).
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '131072'}


def run_measurement(script: str, options: list, measure: str,
                    threads: int) -> dict:
    """Run ``python script --_measure {memory|time} options...`` and parse its JSON.

    Memory runs get :data:`MALLOC_ENV` (an accurate resident set but slower
    allocations); time runs keep the allocator defaults. Exits with the
    worker's error output if it fails.
    """
    import json
    import subprocess
    import sys
    env = dict(os.environ, **(MALLOC_ENV if measure == 'memory' else {}))
    env.setdefault('OMP_NUM_THREADS', str(threads))
    cmd = [sys.executable, script, '--_measure', measure] + list(options)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f'benchmark worker ({" ".join(options[:2])}, {measure}) '
                 f'failed:\n{out.stderr.strip()}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_step(step, warmup: int, repeats: int, measure: str) -> dict:
    """Run ``step()`` ``warmup`` times, then measure it (in a worker
    process started by :func:`run_measurement`).

    Args:
        step (callable): one training step.
        warmup (int): unmeasured calls first.
        repeats (int): timed calls (``measure='time'``).
        measure (str): ``'time'`` -> ``{'time_s': median, 'times_s': [...]}``
            (wall seconds); ``'memory'`` -> ``{'peak_mb': ...}``, the
            resident-set growth during one call.
    """
    import statistics
    import time
    for _ in range(warmup):
        step()
    if measure == 'memory':
        with PeakRSSSampler() as sampler:
            before = rss_bytes()
            step()
        return dict(peak_mb=(sampler.peak - before) / 2**20)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return dict(time_s=statistics.median(times), times_s=times)
