# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/codec.py: encode / decode round trips and one stderr line with exit
code 2 for every bad input.

The codec is the TEST-ONLY pooling codec of ``tests/apis/
codec_test_model.py`` (config written to tmp); switch to / add the real
InvCompress once it lands."""
import importlib.util
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from invtoolbox.apis import init_model
from invtoolbox.apis.codec_file import unpack
from invtoolbox.apis.codec_inference import (decompress_image,
                                             encode_image_file)
from tests.apis.codec_test_model import write_codec_setup
from tests.helpers import HANG_TIMEOUT, REPO_ROOT

TOOL = REPO_ROOT / 'tools' / 'codec.py'


@pytest.fixture(scope='module')
def codec():
    """``tools/codec.py`` as a module (its ``main(argv)`` runs
    in-process)."""
    spec = importlib.util.spec_from_file_location('codec_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Two checkpoints of the test codec, images (good and bad) and .itb
    files (good, truncated, from other weights)."""
    root = tmp_path_factory.mktemp('codec')
    config, ckpt = write_codec_setup(root, gain=1.0, name='codec')
    other_config, other_ckpt = write_codec_setup(root, gain=0.8, name='other')
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (45, 70, 3), np.uint8)
    Image.fromarray(rgb).save(root / 'img.png')
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(root / 'alpha.png')
    cv2.imwrite(str(root / 'deep.png'), rgb.astype(np.uint16) * 257)
    (root / 'notes.png').write_text('not an image\n')
    model = init_model(config, ckpt)
    encode_image_file(model, root / 'img.png', root / 'img.itb')
    data = (root / 'img.itb').read_bytes()
    (root / 'cut.itb').write_bytes(data[:len(data) // 2])
    other = init_model(other_config, other_ckpt)
    encode_image_file(other, root / 'img.png', root / 'other.itb')
    return dict(root=root,
                config=config,
                ckpt=ckpt,
                model=model,
                rgb=rgb,
                size=len(data))


def run_tool(*args, cwd):
    env = dict(os.environ)
    paths = [str(REPO_ROOT)
             ] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else [])
    env.update(PYTHONPATH=os.pathsep.join(paths),
               OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(cwd),
        timeout=HANG_TIMEOUT)


@pytest.mark.e2e
def test_encode_in_a_subprocess(setup, tmp_path):
    s = setup
    out_itb = tmp_path / 'a.itb'
    proc = run_tool('encode',
                    s['config'],
                    s['ckpt'],
                    s['root'] / 'img.png',
                    out_itb,
                    '--threads',
                    '1',
                    '--device',
                    'cpu',
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = out_itb.read_bytes()
    line, = proc.stdout.strip().splitlines()
    bpp = 8 * len(data) / (45 * 70)
    assert f'(70x45) -> {out_itb}: {len(data)} bytes' in line
    assert f'{bpp:.4f} bpp' in line and line.endswith(' s')
    # the same bits as the API writes
    assert data == (s['root'] / 'img.itb').read_bytes()
    assert 'Traceback' not in proc.stderr


@pytest.mark.e2e
def test_decode_in_a_subprocess(setup, tmp_path):
    s = setup
    src, out_png = s['root'] / 'img.itb', tmp_path / 'a.png'
    proc = run_tool('decode',
                    s['config'],
                    s['ckpt'],
                    src,
                    out_png,
                    '--threads',
                    '1',
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line, = proc.stdout.strip().splitlines()
    bpp = 8 * s['size'] / (45 * 70)
    assert f"({s['size']} bytes, {bpp:.4f} bpp) -> {out_png} (70x45)" in line
    with Image.open(out_png) as img:
        assert img.format == 'PNG' and img.size == (70, 45)
        decoded = np.asarray(img)
    # the odd size crops back exactly: the PNG is the decoder's output
    assert np.array_equal(decoded,
                          decompress_image(s['model'], src.read_bytes()))
    assert np.abs(decoded.astype(int) - s['rgb']).mean() < 80
    assert 'Traceback' not in proc.stderr


BAD_INPUTS = {
    'alpha png': ('encode', 'alpha.png', 'has transparency (mode RGBA)'),
    '16-bit png': ('encode', 'deep.png', 'more than 8 bits per sample'),
    'not an image': ('encode', 'notes.png', 'cannot read image'),
    'truncated itb': ('decode', 'cut.itb', 'is truncated: expected '),
    'other weights': ('decode', 'other.itb', 'was made with other weights'),
    'missing checkpoint': ('encode', 'img.png', "checkpoint 'missing.pth' "
                           'not found'),
}


@pytest.mark.e2e
@pytest.mark.parametrize('case', list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_code_2(setup, tmp_path, case):
    command, name, fragment = BAD_INPUTS[case]
    ckpt = 'missing.pth' if case == 'missing checkpoint' else setup['ckpt']
    out = tmp_path / ('out.itb' if command == 'encode' else 'out.png')
    proc = run_tool(command,
                    setup['config'],
                    ckpt,
                    setup['root'] / name,
                    out,
                    cwd=tmp_path)
    assert proc.returncode == 2
    line, = proc.stderr.strip().splitlines()
    assert line.startswith('codec.py: error: ') and fragment in line, line
    assert 'Traceback' not in proc.stdout + proc.stderr
    assert not out.exists()


def test_in_process_round_trip_and_overwrite(codec, setup, tmp_path, capsys):
    s = setup
    out = tmp_path / 'a.itb'
    args = [
        'encode', s['config'], s['ckpt'],
        str(s['root'] / 'img.png'),
        str(out)
    ]
    assert codec.main(args) == 0
    assert f"{s['size']} bytes (header " in capsys.readouterr().out
    assert unpack(out.read_bytes()).padding == (1, 2, 5, 5)
    assert codec.main(args) == 2
    err = capsys.readouterr().err
    assert err == (f'codec.py: error: output {str(out)!r} already exists; '
                   'pass --overwrite or choose another path.\n')
    assert codec.main(args + ['--overwrite']) == 0
    same = str(s['root'] / 'img.itb')
    assert codec.main(
        ['decode', s['config'], s['ckpt'], same, same, '--overwrite']) == 2
    assert 'is the input' in capsys.readouterr().err


@pytest.mark.parametrize('argv,fragment', [
    (['encode', 'c.py'], 'the following arguments are required'),
    (['encode', 'c.py', 'k.pth', 'i.png', 'o.itb', '--threads', '0'
      ], '--threads must be >= 1'),
    (['squash', 'c.py'], 'invalid choice'),
    (['decode', 'c.py', 'k.pth', 'i.itb', 'o.png', '--device', 'cpu'
      ], 'unrecognized arguments'),
])
def test_usage_errors_are_one_line(codec, capsys, argv, fragment):
    with pytest.raises(SystemExit) as exit_:
        codec.main(argv)
    assert exit_.value.code == 2
    line, = capsys.readouterr().err.splitlines()
    assert fragment in line and line.startswith('codec.py')


@pytest.mark.parametrize('case,fragment', [
    ('missing input', "input 'nothing.png' not found"),
    ('missing config', "config 'nothing.py' not found"),
    ('not a codec', 'is not a learned codec'),
    ('unknown type', 'cannot build the model of config'),
    ('not an itb', 'is not an invtoolbox codec file'),
])
def test_more_bad_inputs_in_process(codec, setup, tmp_path, capsys, case,
                                    fragment):
    s = setup
    config, ckpt = s['config'], s['ckpt']
    command, src = 'encode', str(s['root'] / 'img.png')
    if case == 'missing input':
        src = 'nothing.png'
    elif case == 'missing config':
        config = 'nothing.py'
    elif case == 'not a codec':
        config = tmp_path / 'irn.py'
        config.write_text(
            "model = dict(type='IRN', generator=dict(type='IRNNet', scale=2, "
            "block_num=[1], subnet=dict(type='DenseBlock', growth=8)))\n")
        ckpt = tmp_path / 'irn.pth'
        model = init_model(str(config))
        from invtoolbox.apis import save_checkpoint_atomic
        save_checkpoint_atomic(dict(meta={}, state_dict=model.state_dict()),
                               ckpt)
    elif case == 'unknown type':
        config = tmp_path / 'bad.py'
        config.write_text("model = dict(type='NoSuchCodec')\n")
    elif case == 'not an itb':
        command = 'decode'
    out = tmp_path / 'out.bin'
    assert codec.main([command, str(config), str(ckpt), src, str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and fragment in err, err
    assert not out.exists()
