# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/infer.py render / recover (Invertible-ISP): RAW -> JPEG -> DNG."""
import io
import json
import shutil

import numpy as np
import pytest
import rawpy
import torch
from PIL import Image

from invtoolbox.apis import init_model, save_checkpoint_atomic
from invtoolbox.apis.invisp_inference import RAW_TAG, load_raw_input
from invtoolbox.datasets.raw import SyntheticCamera, read_raw, write_dng
from tests.helpers import shared_path

CONFIG = (
    "model = dict(type='InvISP', generator=dict(type='InvISPNet', "
    "block_num=2, subnet=dict(type='DenseBlock', growth=8, init='xavier', "
    "init_scale=1.0, zero_init_last=False)))\n")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def model_files(tmp_path):
    """A config and a checkpoint whose network is close to the identity,
    so that the recovery of its rendering is accurate."""
    config = tmp_path / 'invisp.py'
    config.write_text(CONFIG)
    model = init_model(str(config))
    with torch.no_grad():
        for name, p in model.generator.named_parameters():
            if 'conv' in name:
                p.mul_(0.01)
            elif name.endswith(('lower', 'upper', 'log_s')):
                p.zero_()  # W = P (random permutation)
        for name, b in model.generator.named_buffers():
            if name.endswith('permutation'):
                b.copy_(torch.eye(3))
            elif name.endswith('sign_s'):
                b.fill_(1.0)
    ckpt = save_checkpoint_atomic(
        dict(meta={}, state_dict=model.state_dict()), tmp_path / 'inv.pth')
    return str(config), ckpt


def synthetic_dngs(folder, specs):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (cfa, h, w) in enumerate(specs):
        srgb = rng.random((h, w, 3))
        bayer, meta = SyntheticCamera(cfa=cfa).unprocess(srgb, seed=i)
        write_dng(folder / f'shot{i}.dng', bayer, meta)
    return folder


def test_render_then_recover_gives_a_dng_libraw_opens(infer, model_files,
                                                      tmp_path, capsys):
    config, ckpt = model_files
    raws = synthetic_dngs(tmp_path / 'raw',
                          [('RGGB', 32, 48), ('GRBG', 48, 32)])
    jpg, dng = tmp_path / 'jpg', tmp_path / 'dng'
    assert infer.main(['render', config, ckpt, str(raws), str(jpg),
                       '--quiet']) == 0
    assert sorted(p.name for p in jpg.iterdir()) == ['shot0.jpg', 'shot1.jpg']
    with Image.open(jpg / 'shot0.jpg') as img:
        assert img.format == 'JPEG' and img.size == (48, 32)
        assert img.info['comment'].startswith(RAW_TAG)
    assert infer.main(['recover', config, ckpt, str(jpg), str(dng),
                       '--quiet']) == 0
    assert 'wrote 2 DNG file(s)' in capsys.readouterr().out
    for i in range(2):
        original, meta = read_raw(raws / f'shot{i}.dng')
        with rawpy.imread(str(dng / f'shot{i}.dng')) as raw:
            assert raw.raw_image_visible.shape == original.shape
            assert raw.white_level == meta.white_level
        bayer, got = read_raw(dng / f'shot{i}.dng')
        assert (got.cfa, got.black_level, got.white_level) == (
            meta.cfa, meta.black_level, meta.white_level)
        assert np.allclose(np.array(got.wb) / got.wb[1],
                           np.array(meta.wb) / meta.wb[1], rtol=1e-4)
        # the .npy is the network's RAW (3, H, W) in [0, 1]
        npy = np.load(dng / f'shot{i}.npy')
        expected, _ = load_raw_input(raws / f'shot{i}.dng')
        assert npy.shape == expected.shape and npy.dtype == np.float32
        # a near-identity network through JPEG q90: close, not exact
        assert np.abs(npy - expected).mean() < 0.05
        assert np.abs(bayer.astype(float) - original).mean() < \
            0.05 * meta.white_level


def test_render_and_recover_the_real_raw(infer, model_files, tmp_path):
    """The real Kodak RAW (GRBG, 512x768) through both commands."""
    config, ckpt = model_files
    raws = tmp_path / 'raw'
    raws.mkdir()
    shutil.copy(shared_path('data', 'raw', 'RAW_KODAK_DC50.KDC'), raws)
    jpg, dng = tmp_path / 'jpg', tmp_path / 'dng'
    assert infer.main(['render', config, ckpt, str(raws), str(jpg),
                       '--quiet']) == 0
    assert infer.main(['recover', config, ckpt, str(jpg), str(dng),
                       '--quiet', '--no-npy']) == 0
    assert sorted(p.name for p in dng.iterdir()) == ['RAW_KODAK_DC50.dng']
    bayer, meta = read_raw(dng / 'RAW_KODAK_DC50.dng')
    assert meta.cfa == 'GRBG' and bayer.shape == (512, 768)


def error_of(infer, argv, capsys):
    assert infer.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_bad_inputs_are_one_line_and_write_nothing(infer, model_files,
                                                   tmp_path, capsys):
    config, ckpt = model_files
    raws = synthetic_dngs(tmp_path / 'raw', [('RGGB', 32, 32)])
    out = tmp_path / 'out'
    # a file that is not a RAW, named like one
    bad = tmp_path / 'bad'
    bad.mkdir()
    shutil.copy(raws / 'shot0.dng', bad / 'good.dng')
    Image.new('RGB', (32, 32)).save(bad / 'fake.dng', format='PNG')
    err = error_of(infer, ['render', config, ckpt, str(bad), str(out)],
                   capsys)
    assert 'fake.dng' in err and not out.exists()
    # a truncated RAW
    data = (raws / 'shot0.dng').read_bytes()
    (bad / 'fake.dng').write_bytes(data[:len(data) // 2])
    err = error_of(infer, ['render', config, ckpt, str(bad), str(out)],
                   capsys)
    assert 'fake.dng' in err and not out.exists()
    # a folder without RAW files, a missing folder
    assert 'no camera RAW' in error_of(
        infer, ['render', config, ckpt, str(tmp_path / 'out2'), str(out)]
        if (tmp_path / 'out2').mkdir() is None else [], capsys)
    assert 'not found' in error_of(
        infer, ['render', config, ckpt, str(tmp_path / 'nope'), str(out)],
        capsys)
    # an existing output is kept without --overwrite
    jpg = tmp_path / 'jpg'
    assert infer.main(['render', config, ckpt, str(raws), str(jpg),
                       '--quiet']) == 0
    before = (jpg / 'shot0.jpg').read_bytes()
    err = error_of(infer, ['render', config, ckpt, str(raws), str(jpg)],
                   capsys)
    assert '--overwrite' in err
    assert (jpg / 'shot0.jpg').read_bytes() == before
    # a camera JPEG without the RAW metadata
    plain = tmp_path / 'plain'
    plain.mkdir()
    Image.new('RGB', (32, 32)).save(plain / 'camera.jpg', quality=90)
    err = error_of(infer, ['recover', config, ckpt, str(plain), str(out)],
                   capsys)
    assert 'render' in err and not out.exists()
    # a JPEG of another size than the RAW it claims to come from
    with Image.open(jpg / 'shot0.jpg') as img:
        comment = img.info['comment']
        smaller = img.resize((16, 16))
    resized = tmp_path / 'resized'
    resized.mkdir()
    smaller.save(resized / 'shot0.jpg', quality=90, comment=comment)
    err = error_of(infer, ['recover', config, ckpt, str(resized), str(out)],
                   capsys)
    assert '16x16' in err and '32x32' in err and not out.exists()
    # a damaged metadata comment
    info = json.loads(comment[len(RAW_TAG):])
    info['meta']['cfa'] = 'XXXX'
    damaged = tmp_path / 'damaged'
    damaged.mkdir()
    with io.BytesIO() as buffer:
        smaller.resize((32, 32)).save(
            buffer, format='JPEG',
            comment=RAW_TAG + json.dumps(info).encode())
        (damaged / 'shot0.jpg').write_bytes(buffer.getvalue())
    err = error_of(infer, ['recover', config, ckpt, str(damaged), str(out)],
                   capsys)
    assert 'damaged' in err and not out.exists()
    # an IRN model is not an Invertible-ISP model
    irn = tmp_path / 'irn.py'
    irn.write_text("model = dict(type='IRN', generator=dict(type='IRNNet', "
                   "scale=2, block_num=[1], subnet=dict(type='DenseBlock', "
                   "growth=8)))\n")
    err = error_of(infer, ['render', str(irn), ckpt, str(raws), str(out)],
                   capsys)
    assert 'Invertible-ISP' in err or 'checkpoint' in err
