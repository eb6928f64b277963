# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/infer.py for every capability: roundtrip, embed / restore
(folders in natural order, videos, GIFs), work dirs, tiles, errors."""
import json

import numpy as np
import torch
from PIL import Image

from tests.helpers import tiny_model_files

IRN = ("model = dict(type='IRN', generator=dict(type='IRNNet', scale=2, "
       "block_num=[1], subnet=dict(type='DenseBlock', growth=8)), "
       "test_cfg=dict(latent='gaussian', seed=0))\n")
VIDEO = ("model = dict(type='IICNet', task=dict(type='VideoEmbedding', "
         "num_frames=3), generator=dict(use_rel=False, block_num=1, "
         "subnet=dict(type='DenseBlock', growth=8)))\n")
HIDE = ("model = dict(type='IICNet', task=dict(type='ImageHiding', "
        "num_secrets=1), generator=dict(use_rel=False, block_num=1, "
        "subnet=dict(type='DenseBlock', growth=8)))\n")


def make(tmp_path, text, name):
    return tiny_model_files(tmp_path, text, name)


def frames(n, h=24, w=32):
    y, x = np.mgrid[0:h, 0:w]
    return [np.clip(np.stack([128 + 100 * np.sin((x + 2 * i) / 5.0 + c) *
                              np.cos(y / 4.0) for c in range(3)], -1), 0,
                    255).astype(np.uint8) for i in range(n)]


def read(path):
    with Image.open(path) as img:
        return np.asarray(img)


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith('infer.py: error: ') and '\n' not in err, err
    return err


def test_embed_a_folder_in_natural_order_and_restore_it(
        infer, tmp_path, capsys):
    config, ckpt, model = make(tmp_path, VIDEO, 'video')
    src = tmp_path / 'clip'
    src.mkdir()
    images = frames(4)
    # natural order: f2 before f10 (a plain sort would put f10 first)
    for name, img in zip(['f1', 'f2', 'f10', 'f11'], images):
        Image.fromarray(img).save(src / f'{name}.png')
    out = tmp_path / 'clip.png'
    assert infer.main(['embed', config, ckpt, str(src), str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'embedding images 0..2 of 4 in natural order' in printed
    expected = model.embed(torch.from_numpy(np.stack(images[:3])).permute(
        0, 3, 1, 2)[None].float() / 255)
    embedding = read(out)
    assert np.array_equal(
        embedding, (expected[0].permute(1, 2, 0) * 255).round().byte().numpy())
    with Image.open(out) as img:
        meta = json.loads(img.info['invtoolbox-ric'])
    assert meta['names'] == ['f1', 'f2', 'f10'] and meta['num_images'] == 3

    back = tmp_path / 'back'
    assert infer.main(['restore', config, ckpt, str(out), str(back)]) == 0
    assert sorted(p.name for p in back.iterdir()) == ['f1.png', 'f10.png',
                                                      'f2.png']
    restored = model.restore(torch.from_numpy(embedding).permute(
        2, 0, 1)[None].float() / 255).clamp(0, 1)
    assert np.array_equal(
        read(back / 'f10.png'),
        (restored[0, 2].permute(1, 2, 0) * 255).round().byte().numpy())
    # --start picks other frames; a GIF / MP4 restores an animation
    assert infer.main(['embed', config, ckpt, str(src), str(out), '--start',
                       '1', '--overwrite']) == 0
    gif = tmp_path / 'clip.gif'
    assert infer.main(['restore', config, ckpt, str(out), str(gif),
                       '--fps', '5']) == 0
    with Image.open(gif) as anim:
        assert anim.n_frames == 3 and anim.size == (32, 24)
    # tiles give the same embedding
    tiled = tmp_path / 'tiled.png'
    assert infer.main(['embed', config, ckpt, str(src), str(tiled),
                       '--start', '1', '--tile', '8', '--quiet']) == 0
    assert np.array_equal(read(tiled), read(out))


def test_embed_a_video_file_or_gif(infer, tmp_path, capsys):
    config, ckpt, _ = make(tmp_path, VIDEO, 'video')
    images = frames(5)
    gif = tmp_path / 'in.gif'
    pil = [Image.fromarray(f) for f in images]
    pil[0].save(gif, save_all=True, append_images=pil[1:], duration=100,
                loop=0)
    out = tmp_path / 'emb.png'
    assert infer.main(['embed', config, ckpt, str(gif), str(out),
                       '--start', '2']) == 0
    assert 'frames 2..4 of in.gif' in capsys.readouterr().out
    with Image.open(out) as img:
        meta = json.loads(img.info['invtoolbox-ric'])
    assert meta['fps'] == 10.0 and meta['names'][0] == 'frame_00002'
    mp4 = tmp_path / 'back.mp4'
    code = infer.main(['restore', config, ckpt, str(out), str(mp4)])
    if code == 0:  # OpenCV may lack an MP4 encoder: then a one-line error
        import cv2
        cap = cv2.VideoCapture(str(mp4))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
        cap.release()
    else:
        assert 'mp4' in one_line_error(capsys).lower()
    assert infer.main(['embed', config, ckpt, str(gif), str(out),
                       '--start', '3', '--overwrite']) == 1
    assert 'has 5 frames; 3 are needed from frame 3' in one_line_error(capsys)


def test_conversion_errors(infer, tmp_path, capsys):
    config, ckpt, _ = make(tmp_path, HIDE, 'hide')
    src = tmp_path / 'pair'
    src.mkdir()
    Image.fromarray(frames(1)[0]).save(src / 'cover.png')
    out = tmp_path / 'stego.png'
    assert infer.main(['embed', config, ckpt, str(src), str(out)]) == 1
    assert 'has 1 images; ImageHiding embeds 2' in one_line_error(capsys)
    Image.fromarray(frames(1, 24, 30)[0]).save(src / 'secret.png')
    assert infer.main(['embed', config, ckpt, str(src), str(out)]) == 1
    assert 'differ in size' in one_line_error(capsys)
    Image.fromarray(frames(1)[0]).save(src / 'secret.png')
    assert infer.main(['embed', config, ckpt, str(src),
                       str(tmp_path / 'x.jpg')]) == 1
    assert 'embed writes a PNG' in one_line_error(capsys)
    gif = tmp_path / 'v.gif'
    Image.fromarray(frames(1)[0]).save(gif)
    assert infer.main(['embed', config, ckpt, str(gif), str(out)]) == 1
    assert 'not video frames' in one_line_error(capsys)
    assert not out.exists()
    assert infer.main(['embed', config, ckpt, str(src), str(out)]) == 0
    capsys.readouterr()
    assert infer.main(['restore', config, ckpt, str(out),
                       str(tmp_path / 'a.gif')]) == 1
    assert 'name a folder' in one_line_error(capsys)
    back = tmp_path / 'back'
    assert infer.main(['restore', config, ckpt, str(out), str(back)]) == 0
    assert sorted(p.name for p in back.iterdir()) == ['cover.png',
                                                      'secret.png']
    # an embedding from other weights restores after one warning
    (tmp_path / 'o').mkdir()
    other_config, other_ckpt, _ = make(tmp_path / 'o', HIDE, 'hide2')
    assert infer.main(['restore', other_config, other_ckpt, str(out),
                       str(tmp_path / 'b2')]) == 0
    assert 'other weights' in capsys.readouterr().err
    # a command the model does not offer
    assert infer.main(['downscale', config, ckpt, str(src),
                       str(tmp_path / 'lr')]) == 1
    err = one_line_error(capsys)
    assert 'downscale serves a rescaling model' in err
    assert 'which offers: embed, restore' in err


def test_roundtrip_and_work_dirs(infer, tmp_path, capsys):
    config, ckpt, model = make(tmp_path, IRN, 'irn')
    run = tmp_path / 'work_dirs' / 'irn'
    run.mkdir(parents=True)
    (run / 'irn.py').write_text(IRN)
    (run / 'iter_4.pth').write_bytes(open(ckpt, 'rb').read())
    (run / 'last_checkpoint').write_text(str(run / 'iter_4.pth'))
    hr = tmp_path / 'hr'
    hr.mkdir()
    for i, img in enumerate(frames(2, 24, 32)):
        Image.fromarray(img).save(hr / f'img{i}.png')
    out = tmp_path / 'out'
    assert infer.main(['roundtrip', str(run), str(run), str(hr), str(out),
                       '--quality', '50', '--keep-lr', '--quiet']) == 0
    printed = capsys.readouterr().out
    assert 'jpeg quality 50 on the x2 LR' in printed
    assert 'img0.png' in printed and 'mean' in printed
    assert sorted(p.name for p in out.iterdir()) == [
        'img0.png', 'img0_lr.jpg', 'img1.png', 'img1_lr.jpg']
    with Image.open(out / 'img0_lr.jpg') as jpeg:
        assert jpeg.format == 'JPEG' and jpeg.size == (16, 12)
    # one file in, one file out; tiles give the same picture
    single = tmp_path / 'single.png'
    assert infer.main(['downscale', str(run), str(run / 'iter_4.pth'),
                       str(hr / 'img0.png'), str(single)]) == 0
    tiled = tmp_path / 'tiled.png'
    assert infer.main(['downscale', config, ckpt, str(hr / 'img0.png'),
                       str(tiled), '--tile', '8']) == 0
    assert np.array_equal(read(single), read(tiled))
    err = capsys.readouterr().err  # progress over the tiles
    assert '12 tiles of 8 px' in err and '12/12' in err
    assert infer.main(['roundtrip', config, ckpt, str(hr), str(out),
                       '--quality', '0', '--overwrite']) == 1
    assert 'quality must be in 1..100' in one_line_error(capsys)
    assert infer.main(['downscale', config, ckpt, str(hr), str(out),
                       '--max-memory', 'lots', '--overwrite']) == 1
    assert 'cannot read the memory size' in one_line_error(capsys)


def test_an_image_above_the_pixel_limit_is_one_line(infer, tmp_path, capsys,
                                                    monkeypatch):
    config, ckpt, _ = make(tmp_path, IRN, 'irn')
    hr = tmp_path / 'hr'
    hr.mkdir()
    Image.fromarray(frames(1, 24, 32)[0]).save(hr / 'big.png')
    monkeypatch.setenv('INVTB_MAX_IMAGE_PIXELS', '500')
    assert infer.main(['downscale', config, ckpt, str(hr),
                       str(tmp_path / 'lr')]) == 1
    assert 'above the limit' in one_line_error(capsys)
