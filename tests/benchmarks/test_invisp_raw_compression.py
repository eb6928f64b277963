# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/invisp_raw_compression.py on a tiny model and three RAWs."""
import dataclasses

import numpy as np
import pytest
import torch

from benchmarks import invisp_raw_compression as bench
from invtoolbox.apis import init_model, save_checkpoint_atomic
from invtoolbox.datasets.raw import SyntheticCamera, write_dng
from tests.tools.test_infer_isp import CONFIG


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_table_has_every_file_and_the_baseline_for_synthetic_ones(
        tmp_path, capsys):
    config = tmp_path / 'invisp.py'
    config.write_text(CONFIG)
    model = init_model(str(config))
    ckpt = save_checkpoint_atomic(
        dict(meta={}, state_dict=model.state_dict()), tmp_path / 'm.pth')
    raws = tmp_path / 'raws'
    raws.mkdir()
    rng = np.random.default_rng(0)
    for i, cfa in enumerate(('RGGB', 'BGGR')):
        bayer, meta = SyntheticCamera(cfa=cfa).unprocess(
            rng.random((32, 32, 3)), seed=i)
        write_dng(raws / f'syn{i}.dng', bayer, meta)
    other = dataclasses.replace(  # a real camera: no known pipeline
        SyntheticCamera().metadata(SyntheticCamera().draw(0)),
        camera='Some Camera')
    write_dng(tmp_path / 'cam.dng',
              rng.integers(600, 9000, (32, 32), dtype=np.uint16), other)
    assert bench.main([str(config), ckpt, str(raws),
                       str(tmp_path / 'cam.dng'), '--threads', '1']) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith('| syn') or
            line.startswith('| cam')]
    assert len(rows) == 3
    for row in rows:
        cells = [c.strip() for c in row.strip('|').split('|')]
        jpeg = int(cells[3].replace(',', ''))
        assert 0 < jpeg < int(cells[2].replace(',', ''))  # below the DNG
        assert float(cells[7]) > 0  # a RAW PSNR
        if row.startswith('| syn'):
            assert float(cells[9]) > 20  # the analytic baseline
        else:
            assert cells[8] == '-' and cells[9] == '-'
