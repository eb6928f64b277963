# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/benchmark_sain.py at a tiny size (workers in this process)."""
import contextlib
import io
import json

import torch


def test_plain_and_memory_efficient_rows(monkeypatch, capsys, tmp_path):
    from benchmarks import benchmark_sain as bench

    def in_process(module, options, measure, threads):
        assert module == 'benchmarks.benchmark_sain'
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            bench.main(['--_measure', measure] + list(options))
        return json.loads(out.getvalue().strip().splitlines()[-1])

    monkeypatch.setattr(bench, 'run_measurement', in_process)
    rows_file = tmp_path / 'rows.json'
    threads = torch.get_num_threads()
    try:
        bench.main(['--batch', '1', '--size', '16', '--e-blocks', '2',
                    '--v-blocks', '1', '--repeats', '1', '--warmup', '0',
                    '--threads', '1', '--json', str(rows_file)])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert 'batch 1, GT 16x16, CPU, 1 thread, median of 1' in out
    table = [line for line in out.splitlines() if line.startswith('| ')][1:]
    assert [line.split(' | ')[0] for line in table] == [
        '| SAIN, plain', '| SAIN, `memory_efficient=True`'
    ]
    rows = {r['impl']: r for r in json.loads(rows_file.read_text())}
    assert rows['plain']['params'] == rows['memeff']['params']
    # the two modes compute the same losses (the step is the same function)
    for key, value in rows['plain']['losses'].items():
        assert abs(rows['memeff']['losses'][key] - value) <= 1e-5 * abs(value)
    assert 'memeff / plain: time' in out and 'losses agree to' in out
