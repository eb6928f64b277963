# Copyright (c) invtoolbox contributors. All rights reserved.
"""The IRN x2 quick start is reproducible at a fixed thread count.

README.md and docs/benchmarks.md state that ``make quickstart`` prints the
same numbers every time with the same number of CPU threads, and different
ones with another count (float32 reductions, e.g. a convolution's weight
gradient, are summed in another order; the trajectories then drift apart).
Two short runs of the config with ``OMP_NUM_THREADS=1`` must give the same
weights bit for bit and print the same table.
"""
import os
import re
import subprocess
import sys

import pytest
import torch

from tests.helpers import HANG_TIMEOUT, REPO_ROOT

CONFIG = 'configs/irn/irn_x2_quickstart.py'
ITERS = 10


def train(work_dir, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
         str(work_dir), '--cfg-options', f'train_cfg.max_iters={ITERS}',
         f'train_cfg.val_interval={ITERS}',
         f'default_hooks.checkpoint.interval={ITERS}',
         f'param_scheduler.T_max={ITERS}'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = re.search(r'demo_val \| ([\d.]+) \|\s+([\d.]+) \| ([\d.]+)',
                      proc.stdout + proc.stderr)
    assert table, (proc.stdout + proc.stderr)[-3000:]
    state = torch.load(work_dir / f'iter_{ITERS}.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    return table.groups(), state


@pytest.mark.e2e
@pytest.mark.slow
def test_quickstart_is_reproducible_at_a_fixed_thread_count(tmp_path):
    table_a, state_a = train(tmp_path / 'a', threads=1)
    table_b, state_b = train(tmp_path / 'b', threads=1)
    assert table_a == table_b
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
