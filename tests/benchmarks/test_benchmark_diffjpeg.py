# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/benchmark_diffjpeg.py: the Kodak benchmark on one image."""
from tests.helpers import shared_path


def test_benchmark_script_runs_on_one_image(capsys):
    from benchmarks import benchmark_diffjpeg as bench
    root = shared_path('data', 'kodak')
    assert bench.main(
        ['--data-root',
         str(root), '--limit', '1', '--qualities', '75']) == 0
    out = capsys.readouterr().out
    assert 'over 1 Kodak images' in out
    assert ', CPU, ' in out.splitlines()[-1]  # the device of the run
    row = next(line for line in out.splitlines() if line.startswith('| 75 |'))
    sim_vs_jpeg, sim_vs_orig, jpeg_vs_orig = map(float, row.split('|')[2:5])
    assert sim_vs_jpeg > 33 and 25 < sim_vs_orig < jpeg_vs_orig + 1


def test_benchmark_script_missing_data(tmp_path, capsys):
    from benchmarks import benchmark_diffjpeg as bench
    assert bench.main(['--data-root', str(tmp_path / 'nowhere')]) == 1
    err = capsys.readouterr().err
    assert 'not found' in err and '--data-root' in err
