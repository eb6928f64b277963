# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/benchmark_invcompress_coding.py on a 128x128 crop: the table,
the same decoded symbols for the serial loop and the wavefront coder."""
import pytest
import torch

from benchmarks import benchmark_invcompress_coding as bench
from tests.helpers import REPO_ROOT, shared_path


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_benchmark_prints_the_table_and_checks_the_symbols(capsys, tmp_path):
    vectors = shared_path('vectors', 'invcompress.pt')
    code = bench.main(['--crop', '128', '--repeats', '1', '--threads', '1',
                       '--image', str(REPO_ROOT / 'demo' / 'kodim23_crop.png'),
                       '--vectors', str(vectors),
                       '--json', str(tmp_path / 'out.json')])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line for line in out.splitlines() if line.startswith('| ')]
    assert rows[1].startswith('| serial (official loop)')
    assert rows[2].startswith('| wavefront (invtoolbox)')
    assert rows[2].rstrip().endswith('| True |')
    assert 'speed-up' in rows[3]
    assert (tmp_path / 'out.json').is_file()


def test_a_missing_image_is_one_line(capsys):
    assert bench.main(['--image', 'no/such.png']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'does not exist' in err[0]
