# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/benchmark_irn.py at a tiny size (workers in this process)."""
import contextlib
import io
import json

import torch


def test_table_rows_and_equal_params(monkeypatch, capsys, tmp_path):
    from benchmarks import benchmark_irn as bench

    def in_process(module, options, measure, threads):
        assert module == 'benchmarks.benchmark_irn'
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            bench.main(['--_measure', measure] + list(options))
        return json.loads(out.getvalue().strip().splitlines()[-1])

    monkeypatch.setattr(bench, 'run_measurement', in_process)
    rows_file = tmp_path / 'rows.json'
    threads = torch.get_num_threads()
    try:
        bench.main(['--scale', '2', '--batch', '1', '--size', '16',
                    '--repeats', '1', '--warmup', '0', '--threads', '1',
                    '--json', str(rows_file)])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert 'batch 1, GT 16x16, CPU, 1 thread, median of 1' in out
    table = [line for line in out.splitlines() if line.startswith('| ')][1:]
    assert [line.split(' | ')[0] for line in table] == [
        '| baseline (official re-statement)', '| invtoolbox, plain',
        '| invtoolbox, `memory_efficient=True`'
    ]
    assert all(line.endswith(' | CPU, 1 thread |') for line in table)
    rows = {r['impl']: r for r in json.loads(rows_file.read_text())}
    assert list(rows) == list(bench.IMPLS)
    # IRN x2: 8 couplings, the same trainable weights in all three
    assert len({r['params'] for r in rows.values()}) == 1
    assert all(r['time_s'] > 0 and r['peak_mb'] >= 0 for r in rows.values())
    assert 'invtoolbox-memeff / baseline: time' in out
