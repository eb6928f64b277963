# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/benchmark_inn.py at a tiny size, as documented (from the
repository root, workers in their own processes)."""
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT


@pytest.mark.e2e
def test_benchmark_prints_a_table(tmp_path):
    rows_file = tmp_path / 'rows.json'
    out = subprocess.run([
        sys.executable, '-m', 'benchmarks.benchmark_inn', '--blocks', '3',
        '--shape', '1', '12', '16', '16', '--growth', '8', '--repeats', '1',
        '--threads', '1', '--json',
        str(rows_file)
    ], capture_output=True, text=True, check=True, cwd=REPO_ROOT).stdout
    assert ('| mode | saved for backward (MB) | peak memory of fwd+bwd (MB) '
            '| time fwd+bwd (s) | device |') in out
    assert 'input 1x12x16x16, CPU, 1 thread, median of 1' in out
    assert 'memory-efficient / plain' in out
    rows = {r['mode']: r for r in json.loads(rows_file.read_text())}
    assert rows['efficient']['saved_mb'] < rows['plain']['saved_mb']
    assert all(r['time_s'] > 0 for r in rows.values())
    assert all(r['device'] == 'CPU, 1 thread' for r in rows.values())
    assert out.count('| CPU, 1 thread |') == 2
