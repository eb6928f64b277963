# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/profiling.py: device-aware timing and peak memory, and the
``--device`` option every benchmark script takes."""
import importlib
import subprocess
import sys
import time

import pytest
import torch

from benchmarks import profiling
from tests.helpers import HANG_TIMEOUT, REPO_ROOT

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason='needs a CUDA GPU (torch.cuda.is_available() is False); the CUDA '
    'path is checked on a GPU machine')
needs_no_cuda = pytest.mark.skipif(
    torch.cuda.is_available(),
    reason='checks the error on a machine without a CUDA GPU')


# --------------------------------------------------------------------- CPU
def test_stopwatch_measures_wall_or_cpu_time():
    with profiling.Stopwatch('cpu') as wall:
        time.sleep(0.05)
    assert 0.05 <= wall.seconds < 1
    with profiling.Stopwatch('cpu', clock=time.process_time) as cpu:
        time.sleep(0.05)  # sleeping costs no CPU time
    assert 0 <= cpu.seconds < 0.04


def test_measure_step_time_on_cpu():
    calls = []

    def step():
        calls.append(None)
        time.sleep(0.01)

    result = profiling.measure_step(step, warmup=2, repeats=3,
                                    measure='time', device='cpu')
    assert len(calls) == 5  # warm-up calls are not timed
    assert len(result['times_s']) == 3
    assert all(0.01 <= t < 1 for t in result['times_s'])
    assert result['time_s'] == sorted(result['times_s'])[1]  # the median
    assert result['device'] == profiling.device_label(
        'cpu', torch.get_num_threads())


def test_measure_step_memory_on_cpu_is_resident_set_growth():
    """A step that touches 128 MiB grows the resident set by about that
    much (glibc serves a block that large with mmap, returned on free)."""
    held = []

    def step():
        held.append(torch.ones(32 * 2**20))  # 128 MiB of float32, written

    result = profiling.measure_step(step, warmup=0, repeats=1,
                                    measure='memory', device='cpu')
    assert 120 < result['peak_mb'] < 400, result
    assert set(result) == {'peak_mb', 'device'}


def test_measure_step_rejects_an_unknown_measure():
    with pytest.raises(ValueError, match="'time' or 'memory'"):
        profiling.measure_step(lambda: None, 0, 1, 'flops')


def test_device_labels_and_resolution():
    assert profiling.device_label('cpu', 1) == 'CPU, 1 thread'
    assert profiling.device_label('cpu', 2) == 'CPU, 2 threads'
    assert profiling.resolve_device('cpu') == torch.device('cpu')
    for name in ('nonsense', 'meta'):
        with pytest.raises(SystemExit) as err:
            profiling.resolve_device(name)
        message = str(err.value)
        assert message.startswith('error: --device') and '\n' not in message


# -------------------------------------------------------------------- CUDA
@needs_cuda
def test_cuda_stopwatch_waits_for_the_kernels():
    x = torch.randn(4096, 4096, device='cuda')
    torch.cuda.synchronize()
    with profiling.Stopwatch('cuda') as watch:
        for _ in range(20):
            x = x @ x
            x = x / x.norm()
    launched_only = time.perf_counter()
    for _ in range(20):
        x = x @ x
        x = x / x.norm()
    launched_only = time.perf_counter() - launched_only
    torch.cuda.synchronize()
    # synchronised: the kernels' time is in, so it exceeds the bare launches
    assert watch.seconds > launched_only


@needs_cuda
def test_cuda_peak_memory_is_reset_before_the_step():
    device = torch.device('cuda')
    big = torch.empty(512 * 2**20, dtype=torch.uint8, device=device)
    del big  # an earlier 512 MiB peak must not count

    def step():
        a = torch.ones(64 * 2**20 // 4, device=device)  # 64 MiB
        b = a * 2  # 64 MiB more while a is alive
        return float(b[0])

    result = profiling.measure_step(step, warmup=1, repeats=2,
                                    measure='memory', device=device)
    assert 127 <= result['peak_mb'] < 160, result
    assert '(cuda:' in result['device'] and 'CPU thread' in result['device']
    timed = profiling.measure_step(step, warmup=1, repeats=2,
                                   measure='time', device=device)
    assert len(timed['times_s']) == 2 and timed['time_s'] > 0


@needs_cuda
def test_cuda_is_resolved_on_a_gpu_machine():
    device = profiling.resolve_device('cuda')
    assert device.type == 'cuda' and device.index is not None
    with pytest.raises(SystemExit, match='CUDA device'):
        profiling.resolve_device(f'cuda:{torch.cuda.device_count()}')


# ------------------------------------------- --device cuda without a GPU
SCRIPTS = ['benchmark_inn', 'benchmark_irn', 'benchmark_iicnet',
           'benchmark_sain_codec', 'benchmark_diffjpeg',
           'compare_codec_robustness', 'iicnet_training_curve']


@needs_no_cuda
@pytest.mark.parametrize('script', SCRIPTS)
def test_every_script_refuses_cuda_without_a_gpu(script, tmp_path):
    module = importlib.import_module(f'benchmarks.{script}')
    argv = ['--device', 'cuda']
    if script == 'iicnet_training_curve':  # its options need a data folder
        for name in ('a', 'b'):
            (tmp_path / name).mkdir()
        argv += ['--data-root', str(tmp_path), '--train-sequences', '1']
    with pytest.raises(SystemExit) as err:
        module.main(argv)
    message = str(err.value)
    assert message.startswith('error: --device cuda asked for, but no CUDA '
                              'GPU is available')
    assert message.endswith('use --device cpu') and '\n' not in message


@pytest.mark.e2e
@needs_no_cuda
def test_command_line_cuda_without_a_gpu_is_one_line():
    proc = subprocess.run(
        [sys.executable, '-m', 'benchmarks.benchmark_irn', '--device',
         'cuda'], capture_output=True, text=True, cwd=REPO_ROOT, timeout=HANG_TIMEOUT)
    assert proc.returncode == 1
    assert proc.stdout == ''
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and 'no CUDA GPU is available' in lines[0]


@pytest.mark.e2e
def test_running_a_script_as_a_file_says_how_to_run_it():
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'benchmarks' / 'benchmark_irn.py')],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=HANG_TIMEOUT)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'error: run this from the repository root as '
        '`python -m benchmarks.benchmark_irn ...`')
