# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/benchmark_iicnet.py at a tiny size."""
import contextlib
import io
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

TINY = ['--size', '16', '--frames', '3', '--blocks', '1', '--batch', '1',
        '--repeats', '1', '--warmup', '0', '--threads', '1']


@pytest.fixture(scope='module')
def bench():
    from benchmarks import benchmark_iicnet
    return benchmark_iicnet


def test_table_rows_and_equal_params(bench, monkeypatch, capsys, tmp_path):
    """All three implementations, the workers run in this process."""

    def in_process(module, options, measure, threads):
        assert module == 'benchmarks.benchmark_iicnet'
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            bench.main(['--_measure', measure] + list(options))
        return json.loads(out.getvalue().strip().splitlines()[-1])

    monkeypatch.setattr(bench, 'run_measurement', in_process)
    rows_file = tmp_path / 'rows.json'
    bench.main(TINY + ['--json', str(rows_file)])
    out = capsys.readouterr().out
    assert ('| implementation | trainable params | step time (s) | '
            'peak memory of a step (MB) |') in out
    assert '3 frames, relation module, 1 couplings' in out
    assert 'batch 1, 16x16, CPU, 1 thread, median of 1' in out
    assert 'peak memory: resident-set growth during one step' in out
    table = [line for line in out.splitlines() if line.startswith('| ')][1:]
    assert [line.split(' | ')[0] for line in table] == [
        '| baseline (official re-statement)', '| invtoolbox, plain',
        '| invtoolbox, `memory_efficient=True`'
    ]
    assert all(line.endswith(' | CPU, 1 thread |') for line in table)
    assert 'invtoolbox-memeff / baseline: time' in out
    rows = {r['impl']: r for r in json.loads(rows_file.read_text())}
    assert all(r['device'] == 'CPU, 1 thread' for r in rows.values())
    assert list(rows) == list(bench.IMPLS)
    # the same network: 3 frames, relation module (nf 64), 1 coupling
    assert rows['baseline']['params'] == rows['invtoolbox']['params'] == \
        rows['invtoolbox-memeff']['params']
    assert all(r['time_s'] > 0 and r['peak_mb'] >= 0 for r in rows.values())


def test_st01_model_config(bench):
    """The invtoolbox row is the config's model and optimiser."""
    model, optim = bench.model_config(bench.DEFAULT_CONFIG, 5, 10, True)
    assert model['type'] == 'IICNet'
    assert model['task'] == dict(type='VideoEmbedding', num_frames=5)
    assert model['generator']['memory_efficient'] is True
    assert model['generator']['block_num'] == 10
    assert optim['clip_grad'] == dict(max_norm=10.)
    assert optim['optimizer']['lr'] == 2e-4
    assert optim['optimizer']['weight_decay'] == 1e-5


@pytest.mark.e2e
def test_command_line_runs_workers_in_processes(tmp_path):
    """The documented command, from the repository root."""
    rows_file = tmp_path / 'rows.json'
    out = subprocess.run(
        [sys.executable, '-m', 'benchmarks.benchmark_iicnet', '--impls',
         'baseline', '--json', str(rows_file)] + TINY,
        capture_output=True, text=True, check=True, cwd=REPO_ROOT).stdout
    assert '| baseline (official re-statement) |' in out
    assert [r['impl'] for r in json.loads(rows_file.read_text())] == [
        'baseline'
    ]


@pytest.mark.parametrize('args,message', [
    (['--config', 'missing.py'], 'config missing.py not found'),
    (['--frames', '1'], '--frames must be >= 2'),
    (['--size', '0'], 'must be >= 1, got 0'),
])
def test_bad_options_are_one_line(bench, capsys, args, message):
    with pytest.raises(SystemExit) as err:
        bench.main(args)
    assert err.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error
