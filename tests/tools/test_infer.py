# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/infer.py: downscale / upscale folders, and its one-line errors."""
import stat

import numpy as np
import pytest
import torch
from PIL import Image

from invtoolbox.apis import init_model, save_checkpoint_atomic
from invtoolbox.apis.checkpoint_io import default_file_mode

CONFIG = ("model = dict(type='IRN', generator=dict(type='IRNNet', scale=2, "
          "block_num=[1], subnet=dict(type='DenseBlock', growth=8)), "
          "test_cfg=dict(latent='gaussian', seed=0))\n")
COLOR_CONFIG = (
    "model = dict(type='IRN', generator=dict(type='IRNNet', scale=1, "
    "out_channels=1, down_type='grey', block_num=[1], "
    "subnet=dict(type='DenseBlock', growth=8)), "
    "test_cfg=dict(latent='zero'))\n")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_model(tmp_path, text=CONFIG, name='irn'):
    """A config file and a checkpoint of a (perturbed) tiny model."""
    config = tmp_path / f'{name}.py'
    config.write_text(text)
    model = init_model(str(config))
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    ckpt = save_checkpoint_atomic(
        dict(meta={}, state_dict=model.state_dict()), tmp_path / f'{name}.pth')
    return str(config), ckpt, model


def write_images(folder, sizes, mode='RGB'):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        shape = (h, w, 3) if mode == 'RGB' else (h, w)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(
            folder / f'img{i}.png')
    return folder


def read(path):
    with Image.open(path) as img:
        return np.asarray(img)


def test_downscale_then_upscale(infer, tmp_path, capsys):
    config, ckpt, model = make_model(tmp_path)
    hr = write_images(tmp_path / 'hr', [(16, 16), (12, 20)])
    lr, sr = tmp_path / 'lr', tmp_path / 'sr'
    assert infer.main(['downscale', config, ckpt, str(hr), str(lr),
                       '--quiet']) == 0
    assert 'wrote 2 image(s)' in capsys.readouterr().out
    assert read(lr / 'img0.png').shape == (8, 8, 3)
    assert read(lr / 'img1.png').shape == (6, 10, 3)
    # the PNG holds exactly the model's quantised LR
    x = torch.from_numpy(read(hr / 'img1.png')).permute(2, 0, 1)[None] / 255.
    expected = (model.downscale(x)[0].permute(1, 2, 0) * 255).round()
    assert np.array_equal(read(lr / 'img1.png'), expected.byte().numpy())

    assert infer.main(['upscale', config, ckpt, str(lr), str(sr),
                       '--seed', '3']) == 0
    assert read(sr / 'img0.png').shape == (16, 16, 3)
    assert read(sr / 'img1.png').shape == (12, 20, 3)
    first = read(sr / 'img1.png')
    # same seed: same result; another seed or z = 0: different
    assert infer.main(['upscale', config, ckpt, str(lr), str(sr),
                       '--seed', '3', '--overwrite', '--quiet']) == 0
    assert np.array_equal(read(sr / 'img1.png'), first)
    assert infer.main(['upscale', config, ckpt, str(lr), str(sr),
                       '--zero-latent', '--overwrite', '--quiet']) == 0
    assert not np.array_equal(read(sr / 'img1.png'), first)
    assert not list(sr.glob('.*'))  # no temporary files left
    # written like open() would (not mkstemp's owner-only mode)
    assert stat.S_IMODE((sr / 'img0.png').stat().st_mode) == \
        default_file_mode()


def test_irn_color_writes_grey_lr(infer, tmp_path):
    config, ckpt, _ = make_model(tmp_path, COLOR_CONFIG, 'color')
    rgb = write_images(tmp_path / 'rgb', [(8, 10)])
    grey, back = tmp_path / 'grey', tmp_path / 'back'
    assert infer.main(['downscale', config, ckpt, str(rgb), str(grey),
                       '--quiet']) == 0
    assert read(grey / 'img0.png').shape == (8, 10)
    assert infer.main(['upscale', config, ckpt, str(grey), str(back),
                       '--quiet']) == 0
    assert read(back / 'img0.png').shape == (8, 10, 3)


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith('infer.py: error: ') and '\n' not in err
    return err


def test_errors(infer, tmp_path, capsys):
    config, ckpt, _ = make_model(tmp_path)
    out = tmp_path / 'out'
    args = ['downscale', config, ckpt]

    assert infer.main(args + [str(tmp_path / 'missing'), str(out)]) == 1
    assert 'input folder' in one_line_error(capsys)

    odd = write_images(tmp_path / 'odd', [(16, 16), (15, 16)])
    assert infer.main(args + [str(odd), str(out), '--quiet']) == 1
    err = one_line_error(capsys)
    assert 'img1.png is 16x15 (width x height), not divisible by the scale 2' in err
    assert 'crop it to 16x14 or pass --modcrop' in err
    assert not out.exists()  # nothing written before the error
    assert infer.main(args + [str(odd), str(out), '--modcrop',
                              '--quiet']) == 0
    assert read(out / 'img1.png').shape == (7, 8, 3)

    # an image smaller than the scale is told so (not "crop it to 0x0")
    tiny = write_images(tmp_path / 'tiny', [(1, 1)])
    assert infer.main(args + [str(tiny), str(tmp_path / 'o_tiny')]) == 1
    err = one_line_error(capsys)
    assert 'is 1x1 (width x height), smaller than the scale 2; use an ' \
        'image of at least 2x2 pixels' in err and '0x0' not in err

    # existing outputs are kept unless --overwrite
    before = (out / 'img0.png').read_bytes()
    assert infer.main(args + [str(odd), str(out), '--modcrop']) == 1
    assert 'already exists' in one_line_error(capsys)
    assert (out / 'img0.png').read_bytes() == before

    # inputs are never overwritten
    assert infer.main(args + [str(odd), str(odd), '--modcrop']) == 1
    assert 'is the input folder' in one_line_error(capsys)

    broken = write_images(tmp_path / 'broken', [(8, 8)])
    (broken / 'bad.png').write_bytes(b'not a png')
    assert infer.main(args + [str(broken), str(tmp_path / 'o2')]) == 1
    assert 'cannot read image' in one_line_error(capsys)
    assert not (tmp_path / 'o2').exists()

    empty = tmp_path / 'empty'
    empty.mkdir()
    assert infer.main(args + [str(empty), str(tmp_path / 'o3')]) == 1
    assert 'no images' in one_line_error(capsys)

    assert infer.main(['upscale', config, str(tmp_path / 'none.pth'),
                       str(odd), str(tmp_path / 'o4')]) == 1
    assert 'not found' in one_line_error(capsys)
