# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/infer.py embed / render with a novel-view model: an MPI folder ->
a marked JPEG -> a PNG view, a GIF and an MP4; every bad input is one
stderr line, exit status 1, and writes nothing."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from invtoolbox.apis import init_model, save_checkpoint_atomic
from invtoolbox.apis import novelview_inference as nv
from invtoolbox.datasets.mpi_dataset import write_mpi_folder
from invtoolbox.models.editors.novelview import over_composite
from tests.helpers import HANG_TIMEOUT, REPO_ROOT

pytestmark = pytest.mark.e2e

TOOL = REPO_ROOT / 'tools' / 'infer.py'
CONFIG = ("model = dict(type='NovelViewJPEG', generator=dict("
          "type='NovelViewJPEGNet', num_planes=4, encoder=dict("
          "base_channels=8), decoder=dict(base_channels=8)), "
          "discriminator=None)\n")
H, W = 32, 48


def write_frame(folder, planes=4, size=(H, W), seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, size + (3, ), dtype=np.uint8)
    mpi = rng.integers(0, 256, (planes, ) + size + (4, ), dtype=np.uint8)
    write_mpi_folder(str(folder), ref, mpi)
    return folder


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('nvtool')
    config = root / 'novelview_tiny.py'
    config.write_text(CONFIG)
    torch.manual_seed(0)
    model = init_model(str(config))
    ckpt = save_checkpoint_atomic(
        dict(meta={}, state_dict=model.state_dict()), root / 'nv.pth')
    write_frame(root / 'frame')
    return dict(root=root, config=str(config), ckpt=ckpt,
                model=init_model(str(config), ckpt))


def run_tool(*args):
    env = dict(os.environ)
    paths = [str(REPO_ROOT)
             ] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else [])
    env.update(PYTHONPATH=os.pathsep.join(paths), OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)],
                          capture_output=True, text=True, env=env,
                          timeout=HANG_TIMEOUT)


def test_embed_then_render_png_gif_mp4(setup, tmp_path):
    config, ckpt, model = setup['config'], setup['ckpt'], setup['model']
    jpg = tmp_path / 'out' / 'frame.jpg'
    done = run_tool('embed', config, ckpt, setup['root'] / 'frame', jpg)
    assert done.returncode == 0, done.stderr
    assert f'-> {jpg}' in done.stdout and 'dB' in done.stdout
    with Image.open(jpg) as img:
        marker = nv.parse_marker(img.info['comment'])
    assert marker == (1, 4, H, W, nv.model_fingerprint(model))
    assert str(jpg.stat().st_size) in done.stdout

    # one view at a pose: what the API renders
    png = tmp_path / 'view.png'
    done = run_tool('render', config, ckpt, jpg, png, '--pose', '0.05',
                    '-0.02', '0', '0', '1.5', '0')
    assert done.returncode == 0, done.stderr
    assert done.stderr == ''  # our own JPEG: no warning
    expected = nv.render_from_jpeg(model, jpg, [(0.05, -0.02, 0, 0, 1.5, 0)])
    assert np.array_equal(np.asarray(Image.open(png)), expected[0])

    # a GIF of N frames along a path, looping forever
    gif = tmp_path / 'orbit.gif'
    done = run_tool('render', config, ckpt, jpg, gif, '--path', 'circle',
                    '--frames', 6, '--fps', 10)
    assert done.returncode == 0, done.stderr
    views = nv.render_from_jpeg(model, jpg, nv.camera_path('circle', 6))
    assert all(not np.array_equal(a, b) for a, b in zip(views, views[1:]))
    with Image.open(gif) as img:
        assert img.n_frames == 6 and img.info['loop'] == 0
        for i in range(6):
            img.seek(i)
            got = np.asarray(img.convert('RGB')).astype(int)
            errors = [np.abs(got - v).mean() for v in views]
            assert int(np.argmin(errors)) == i

    # an MP4 that OpenCV opens, with N frames
    mp4 = tmp_path / 'swing.mp4'
    done = run_tool('render', config, ckpt, jpg, mp4, '--path', 'swing',
                    '--frames', 5, '--amplitude', 0.1)
    assert done.returncode == 0, done.stderr
    capture = cv2.VideoCapture(str(mp4))
    assert capture.isOpened()
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'orbit.gif', 'out', 'swing.mp4', 'view.png']


def test_the_identity_view_is_the_composite_of_the_decoded_mpi(
        setup, tmp_path, infer, capsys):
    config, ckpt, model = setup['config'], setup['ckpt'], setup['model']
    jpg = tmp_path / 'frame.jpg'
    assert infer.main(['embed', config, ckpt, str(setup['root'] / 'frame'),
                       str(jpg)]) == 0
    png = tmp_path / 'ref.png'
    assert infer.main(['render', config, ckpt, str(jpg), str(png)]) == 0
    x = nv.read_embedding(jpg, model)
    with torch.no_grad():
        composite = over_composite(model.decode(x))
    assert np.array_equal(np.asarray(Image.open(png)),
                          nv.views_to_uint8(composite)[0])


def test_a_jpeg_from_elsewhere_warns_once(setup, tmp_path):
    camera = tmp_path / 'camera.jpg'
    Image.fromarray(np.random.default_rng(1).integers(
        0, 256, (H, W, 3), np.uint8)).save(camera, quality=90)
    done = run_tool('render', setup['config'], setup['ckpt'], camera,
                    tmp_path / 'a.gif', '--frames', 4)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'warning' in lines[0]
    assert 'was not made by' in lines[0] and str(camera) in lines[0]
    with Image.open(tmp_path / 'a.gif') as img:
        assert img.n_frames == 4


def error_of(infer, argv, capsys):
    assert infer.main(list(map(str, argv))) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(
        'infer.py: error:'), err
    return err


def test_bad_inputs_are_one_line_and_write_nothing(setup, tmp_path, infer,
                                                   capsys):
    config, ckpt, root = setup['config'], setup['ckpt'], setup['root']
    embed = ['embed', config, ckpt]
    out = tmp_path / 'out'
    jpg = out / 'e.jpg'
    # missing folder, a file instead of a folder
    assert 'not found' in error_of(infer, embed + [tmp_path / 'nope', jpg],
                                   capsys)
    (tmp_path / 'file').write_text('x')
    error_of(infer, embed + [tmp_path / 'file', jpg], capsys)
    # a missing plane
    gap = write_frame(tmp_path / 'gap')
    os.remove(gap / 'mpi_rgb_01.png')
    assert 'mpi_rgb_01' in error_of(infer, embed + [gap, jpg], capsys)
    # planes of different sizes
    sizes = write_frame(tmp_path / 'sizes')
    Image.new('L', (W, 16)).save(sizes / 'mpi_alpha_03.png')
    assert 'mpi_alpha_03.png' in error_of(infer, embed + [sizes, jpg],
                                          capsys)
    # another plane count, a size not divisible by 16
    assert '5 planes' in error_of(
        infer, embed + [write_frame(tmp_path / 'five', planes=5), jpg],
        capsys)
    assert '16' in error_of(
        infer, embed + [write_frame(tmp_path / 'odd', size=(40, 48)), jpg],
        capsys)
    # the output must be a JPEG
    assert '.jpg' in error_of(infer, embed + [root / 'frame', out / 'e.png'],
                              capsys)
    assert not out.exists()

    # render: a good embedding to start from
    good = tmp_path / 'good.jpg'
    assert infer.main(embed + [str(root / 'frame'), str(good)]) == 0
    capsys.readouterr()
    render = ['render', config, ckpt]
    # unknown output extension, missing input, a folder as input
    assert '.avi' in error_of(infer, render + [good, out / 'v.avi'], capsys)
    assert 'not found' in error_of(
        infer, render + [tmp_path / 'nope.jpg', out / 'v.png'], capsys)
    error_of(infer, render + [tmp_path, out / 'v.png'], capsys)
    # not a JPEG, a corrupt JPEG, a size not divisible by 16
    Image.new('RGB', (W, H)).save(tmp_path / 'img.bmp')
    assert 'JPEG' in error_of(infer, render + [tmp_path / 'img.bmp',
                                               out / 'v.png'], capsys)
    data = good.read_bytes()
    (tmp_path / 'cut.jpg').write_bytes(data[:len(data) // 2])
    assert 'cut.jpg' in error_of(
        infer, render + [tmp_path / 'cut.jpg', out / 'v.png'], capsys)
    (tmp_path / 'notes.jpg').write_text('not an image')
    error_of(infer, render + [tmp_path / 'notes.jpg', out / 'v.png'], capsys)
    Image.new('RGB', (40, 40)).save(tmp_path / 'odd.jpg')
    assert '40x40' in error_of(
        infer, render + [tmp_path / 'odd.jpg', out / 'v.png'], capsys)
    # poses out of the trained range name the limit and the option
    err = error_of(infer, render + [good, out / 'v.png', '--pose', '0.7',
                                    '0', '0'], capsys)
    assert '--pose 0.7 0 0' in err and '0.5' in err
    err = error_of(infer, render + [good, out / 'v.png', '--pose', '0', '0',
                                    '0', '0', '12', '0'], capsys)
    assert '8' in err
    err = error_of(infer, render + [good, out / 'v.gif', '--path', 'swing',
                                    '--amplitude', '0.4'], capsys)
    assert '--amplitude 0.4' in err and '8' in err
    # options that do not fit the output
    error_of(infer, render + [good, out / 'v.png', '--pose', '0', '0'],
             capsys)
    error_of(infer, render + [good, out / 'v.png', '--frames', '4'], capsys)
    error_of(infer, render + [good, out / 'v.gif', '--pose', '0', '0', '0'],
             capsys)
    error_of(infer, render + [good, out / 'v.gif', '--frames', '0'], capsys)
    error_of(infer, render + [good, out / 'v.gif', '--fps', '0'], capsys)
    error_of(infer, render + [good, out / 'v.png', '--quality', '80'],
             capsys)
    assert not out.exists()
    # existing outputs are kept without --overwrite; the input never
    png = tmp_path / 'v.png'
    assert infer.main(render + [str(good), str(png)]) == 0
    before = png.read_bytes()
    assert '--overwrite' in error_of(infer, render + [good, png], capsys)
    assert png.read_bytes() == before
    error_of(infer, render + [good, good, '--overwrite'], capsys)
    assert good.read_bytes() == data
    assert infer.main(render + [str(good), str(png), '--overwrite',
                                '--pose', '0', '0.03', '0']) == 0
    assert png.read_bytes() != before
    # a model of another kind
    irn = tmp_path / 'irn.py'
    irn.write_text("model = dict(type='IRN', generator=dict(type='IRNNet', "
                   "scale=2, block_num=[1], subnet=dict(type='DenseBlock', "
                   "growth=8)))\n")
    assert 'novel-view' in error_of(
        infer, ['embed', irn, ckpt, root / 'frame', out / 'e.jpg'], capsys)
    err = error_of(infer, ['render', irn, ckpt, good, out / 'v.png'], capsys)
    assert 'Invertible-ISP' in err and 'novel-view' in err and 'IRN' in err
    assert not out.exists()
    assert not [p for p in tmp_path.rglob('.*')]  # no temporary files


def test_a_real_process_fails_with_one_line(setup, tmp_path):
    odd = write_frame(tmp_path / 'odd', size=(40, 48))
    done = run_tool('embed', setup['config'], setup['ckpt'], odd,
                    tmp_path / 'e.jpg')
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert 'Traceback' not in done.stderr and '40x48' in done.stderr
    assert not (tmp_path / 'e.jpg').exists()
