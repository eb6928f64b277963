# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/analysis_tools/rd_eval.py: the whole command on two small Kodak
crops (a subprocess), learned codecs through a fake codec_inference module,
and bad input (exit code 2, one stderr line)."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest
from PIL import Image

from tests.helpers import HANG_TIMEOUT, REPO_ROOT, shared_path

TOOL = REPO_ROOT / 'tools' / 'analysis_tools' / 'rd_eval.py'


@pytest.fixture(scope='module')
def rd_eval():
    spec = importlib.util.spec_from_file_location('rd_eval', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data_dir(tmp_path):
    """Two 48 x 32 crops of Kodak images, as PNG files, plus a text file
    the tool must ignore."""
    folder = tmp_path / 'images'
    folder.mkdir()
    kodak = shared_path('data', 'kodak')
    for name, box in (('kodim03.png', (300, 200, 348, 232)),
                      ('kodim19.png', (100, 400, 148, 432))):
        with Image.open(kodak / name) as im:
            im.crop(box).save(folder / name)
    (folder / 'README.txt').write_text('not an image')
    return folder


@pytest.fixture
def reference(tmp_path):
    path = tmp_path / 'official.json'
    path.write_text(json.dumps({
        'name': 'Paper',
        'note': 'PSNR on float output clamped to [0, 1], not 8-bit rounded',
        'points': [{'quality': q, 'bpp': b, 'psnr': p}
                   for q, b, p in ((1, 1.0, 27.0), (2, 2.5, 31.0),
                                   (3, 4.0, 36.0))]
    }))
    return path


@pytest.mark.e2e
def test_rd_eval_end_to_end(data_dir, reference, tmp_path):
    out = tmp_path / 'out'
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1')
    proc = subprocess.run([
        sys.executable, str(TOOL), str(data_dir), '--out-dir', str(out),
        '--baselines', 'jpeg420', 'jpeg444', '--baseline-qualities',
        'jpeg420=10,50,90', 'jpeg444=10,50,90', '--reference-curve',
        'InvCompress (paper)', str(reference)
    ], env=env, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    stdout = proc.stdout
    assert 'rd_eval: 2 images' in stdout and '(48x32)' in stdout
    assert '| codec | quality | bpp | PSNR (dB) |' in stdout
    assert '| jpeg420 | 90 |' in stdout and '| jpeg444 | 10 |' in stdout
    assert '| InvCompress (paper) | 2 | 2.5000 | 31.000 |' in stdout
    assert '| test \\ anchor | jpeg420 | jpeg444 | InvCompress (paper) |' in \
        stdout
    assert 'not 8-bit rounded' in stdout
    assert sorted(p.name for p in out.iterdir()) == [
        'bd_rate.md', 'rd.json', 'rd.png'
    ]
    doc = json.loads((out / 'rd.json').read_text())
    assert doc['images'] == ['kodim03.png', 'kodim19.png']
    jpeg = doc['curves']['jpeg420']
    assert [p['quality'] for p in jpeg] == [10, 50, 90]
    assert jpeg[0]['bpp'] < jpeg[1]['bpp'] < jpeg[2]['bpp']
    assert jpeg[0]['psnr'] < jpeg[1]['psnr'] < jpeg[2]['psnr']
    assert [r['name'] for r in jpeg[0]['per_image']] == doc['images']
    assert 'BD-rate (%) on PSNR' in (out / 'bd_rate.md').read_text()
    with Image.open(out / 'rd.png') as im:
        assert im.format == 'PNG'


def test_rd_eval_learned_codec_curves(rd_eval, data_dir, tmp_path, capsys,
                                      monkeypatch):
    """--model LABEL CONFIG CKPT: same LABEL = one curve, one point per
    checkpoint, through codec_inference.roundtrip_image (faked here)."""
    import invtoolbox.apis

    files = {}
    for q in (1, 2, 3):
        for kind in ('cfg', 'ckpt'):
            files[kind, q] = tmp_path / f'{kind}_q{q}.py'
            files[kind, q].write_text('')

    def roundtrip_image(model, image):
        step = 2**(5 - model)
        return bytes(40 * model), (image // step * step).astype(np.uint8)

    fake = types.ModuleType('invtoolbox.apis.codec_inference')
    fake.roundtrip_image = roundtrip_image
    monkeypatch.setitem(sys.modules, 'invtoolbox.apis.codec_inference', fake)
    monkeypatch.setattr(invtoolbox.apis, 'codec_inference', fake,
                        raising=False)
    monkeypatch.setattr(invtoolbox.apis, 'init_model',
                        lambda cfg, ckpt, device='cpu': int(str(ckpt)[-4]))
    args = [str(data_dir), '--out-dir', str(tmp_path / 'out'), '--baselines']
    for q in (1, 2, 3):
        label = 'Learned' if q < 3 else 'Other'
        args += ['--model', label, str(files['cfg', q]), str(files['ckpt', q])]
    assert rd_eval.main(args) == 0
    out = capsys.readouterr().out
    assert '| Learned | ckpt_q1 | 0.2083 |' in out  # 8 * 40 / (48 * 32)
    assert '| Learned | ckpt_q2 | 0.4167 |' in out
    assert '| Other | ckpt_q3 | 0.6250 |' in out
    doc = json.loads((tmp_path / 'out' / 'rd.json').read_text())
    assert list(doc['curves']) == ['Learned', 'Other']


def _run_bad(rd_eval, capsys, args):
    code = None
    try:
        code = rd_eval.main([str(a) for a in args])
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_rd_eval_bad_input_is_one_line(rd_eval, data_dir, tmp_path, capsys):
    out = ['--out-dir', tmp_path / 'out']
    empty = tmp_path / 'empty'
    empty.mkdir()
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'a.png').write_bytes(b'not a png at all')
    cases = [
        ([tmp_path / 'missing', *out], 'data folder .*missing not found'),
        ([empty, *out], 'no PNG images in .*empty'),
        ([broken, *out], 'cannot read image .*a.png'),
        ([data_dir, *out, '--baselines', 'jpeg2000'],
         "unknown baseline 'jpeg2000'"),
        ([data_dir, *out, '--baselines', 'jpeg420', 'jpeg420'],
         'lists a codec twice'),
        ([data_dir, *out, '--baseline-qualities', 'jpeg420:10'],
         'expected NAME=Q1,Q2'),
        ([data_dir, *out, '--baseline-qualities', 'jpeg420=10,abc'],
         'must be integers'),
        ([data_dir, *out, '--baseline-qualities', 'jpeg420=0'],
         r'quality must be an integer in \[1, 100\]'),
        ([data_dir, *out, '--baselines', 'jpeg420', '--baseline-qualities',
          'webp=10'], 'webp is not among --baselines'),
        ([data_dir, *out, '--reference-json', tmp_path / 'nope.json'],
         'reference curve .*nope.json not found'),
        ([data_dir, *out, '--model', 'L', tmp_path / 'c.py',
          tmp_path / 'k.pth'], '--model config .*c.py not found'),
        ([data_dir, *out, '--max-images', '0'], '--max-images must be >= 1'),
        ([data_dir, *out, '--baselines'], 'nothing to evaluate'),
        ([data_dir], 'required: --out-dir'),
        ([data_dir, *out, '--method', 'akima'], 'invalid choice'),
    ]
    for args, message in cases:
        line = _run_bad(rd_eval, capsys, args)
        assert line.startswith('error: ')
        assert re.search(message, line), (message, line)
    assert not (tmp_path / 'out').exists()  # nothing half-written
