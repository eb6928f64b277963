# Copyright (c) invtoolbox contributors. All rights reserved.
"""The inferencer: capabilities, work dirs, tiling, the user's own images
(EXIF, 16-bit, alpha), roundtrip PSNR."""
import io

import numpy as np
import pytest
from PIL import Image

from invtoolbox.apis.inferencer import (InferenceError, Inferencer,
                                        _psnr_8bit, capability_of,
                                        resolve_run_files)
from invtoolbox.evaluation.functional import psnr
from invtoolbox.utils.image_io import ImageReadError
from tests.helpers import tiny_model_files

IRN = ("model = dict(type='IRN', generator=dict(type='IRNNet', scale=2, "
       "block_num=[2], subnet=dict(type='DenseBlock', growth=8)), "
       "test_cfg=dict(latent='gaussian', seed=0))\n")
IRN_X4 = IRN.replace('scale=2', 'scale=4').replace('[2]', '[1, 1]')
IICNET = ("model = dict(type='IICNet', task=dict(type='VideoEmbedding', "
          "num_frames=3), generator=dict(use_rel=True, rel_channels=8, "
          "block_num=2, subnet=dict(type='DenseBlock', growth=8)))\n")
IICNET_X2 = ("model = dict(type='IICNet', task=dict(type='ImageRescaling', "
             "scale=2), generator=dict(use_rel=False, block_num=2, "
             "subnet=dict(type='DenseBlock', growth=8)))\n")


def make(tmp_path, text, name):
    return tiny_model_files(tmp_path, text, name)[:2]


def photo(h, w, seed=0):
    """A smooth image with texture (natural-ish statistics)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(x / 7.0 + c) * np.cos(y / 5.0 - c)
                     for c in range(3)], -1)
    img = 128 + 90 * base + rng.normal(0, 8, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def test_capabilities_of_every_editor():
    from invtoolbox.models.editors.iicnet import IICNet
    from invtoolbox.models.editors.invcompress import InvCompress
    from invtoolbox.models.editors.invisp import InvISP
    from invtoolbox.models.editors.irn import IRN, IRNCRM, IRNPlus
    from invtoolbox.models.editors.novelview import NovelViewJPEG
    from invtoolbox.models.editors.sain import SAIN
    assert {capability_of(c) for c in (IRN, IRNCRM, IRNPlus, SAIN)} == \
        {'rescaling'}
    assert capability_of(IICNet) == 'conversion'
    assert capability_of(InvISP) == 'isp'
    assert capability_of(NovelViewJPEG) == 'novel_view'
    assert capability_of(InvCompress) == 'codec'


def test_a_training_work_dir_gives_config_and_latest_checkpoint(tmp_path):
    config, ckpt = make(tmp_path, IRN, 'irn')
    run = tmp_path / 'work_dirs' / 'irn'
    run.mkdir(parents=True)
    (run / 'irn.py').write_text(IRN)
    for n in (2, 10):
        (run / f'iter_{n}.pth').write_bytes(open(ckpt, 'rb').read())
    (run / 'last_checkpoint').write_text(str(run / 'iter_2.pth'))
    assert resolve_run_files(run, run) == (str(run / 'irn.py'),
                                           str(run / 'iter_2.pth'))
    (run / 'last_checkpoint').unlink()  # the newest iteration then
    assert resolve_run_files(run, run)[1] == str(run / 'iter_10.pth')
    inferencer = Inferencer(run, run)
    assert inferencer.commands == ('downscale', 'upscale', 'roundtrip')
    (run / 'other.py').write_text(IRN)
    with pytest.raises(InferenceError, match='several configs'):
        resolve_run_files(run, None)
    with pytest.raises(FileNotFoundError, match='not found'):
        resolve_run_files(tmp_path / 'nothing.py', None)


def test_commands_follow_the_capability(tmp_path):
    config, ckpt = make(tmp_path, IRN, 'irn')
    inferencer = Inferencer(config, ckpt)
    with pytest.raises(InferenceError) as err:
        inferencer.embed([photo(8, 8)])
    message = str(err.value)
    assert 'embed serves' in message and 'IRN' in message
    assert 'downscale, upscale, roundtrip' in message and '\n' not in message


@pytest.mark.parametrize('text,size,tile', [(IRN, (52, 76), 16),
                                            (IRN_X4, (64, 88), 24)])
def test_rescaling_tiled_equals_untiled(tmp_path, text, size, tile):
    config, ckpt = make(tmp_path, text, 'irn')
    image = photo(*size)
    whole = Inferencer(config, ckpt)
    tiled = Inferencer(config, ckpt, tile=tile, progress=False)
    lr = whole.downscale(image)
    assert np.array_equal(tiled.downscale(image), lr)
    assert tiled.last_tiling is not None and tiled.last_tiling[2] > 1
    # the seeded Gaussian latent is drawn once for the whole image
    assert np.array_equal(tiled.upscale(lr), whole.upscale(lr))
    assert np.array_equal(tiled.upscale(lr, latent='zero'),
                          whole.upscale(lr, latent='zero'))
    # an image that fits the memory budget runs untiled
    budget = Inferencer(config, ckpt, max_memory='64G', progress=False)
    assert np.array_equal(budget.downscale(image), lr)
    assert budget.last_tiling is None


def test_conversion_tiled_equals_untiled(tmp_path):
    for text, name in ((IICNET, 'video'), (IICNET_X2, 'rescale')):
        config, ckpt = make(tmp_path, text, name)
        whole = Inferencer(config, ckpt)
        tiled = Inferencer(config, ckpt, tile=12, progress=False)
        k = whole.model.num_images
        frames = [photo(36, 44, seed) for seed in range(k)]
        embedding = whole.embed(frames)
        s = whole.model.conversion_scale
        assert embedding.shape == (36 // s, 44 // s, 3)
        assert np.array_equal(tiled.embed(frames), embedding)
        restored = whole.restore(embedding)
        assert len(restored) == k and restored[0].shape == (36, 44, 3)
        for a, b in zip(tiled.restore(embedding), restored):
            assert np.array_equal(a, b)
    with pytest.raises(InferenceError, match='embeds 1 images, got 2'):
        whole.embed(frames + frames)


def test_the_users_own_images(tmp_path):
    config, ckpt = make(tmp_path, IRN, 'irn')
    inferencer = Inferencer(config, ckpt)
    image = photo(24, 40)
    # a phone JPEG stored sideways with an EXIF rotation comes out upright
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    stored = np.ascontiguousarray(np.rot90(image, 1))  # (40, 24)
    jpeg = tmp_path / 'phone.jpg'
    Image.fromarray(stored).save(jpeg, quality=100, exif=exif)
    assert inferencer.downscale(jpeg).shape == (12, 20, 3)
    # a 16-bit grey PNG is scaled, not clipped to white
    grey16 = tmp_path / 'grey16.png'
    codes = (np.linspace(0, 65535, 24 * 40).reshape(24, 40)).astype(np.uint16)
    Image.fromarray(codes).save(grey16)
    lr = inferencer.downscale(grey16)
    assert lr.mean() < 200
    # alpha: composited on the background, or refused in one line
    rgba = tmp_path / 'alpha.png'
    Image.fromarray(np.dstack([image, np.full((24, 40), 0, np.uint8)]),
                    'RGBA').save(rgba)
    white = Inferencer(config, ckpt).read(rgba)
    assert (white == 255).all()
    black = Inferencer(config, ckpt, background=(0, 0, 0)).read(rgba)
    assert (black == 0).all()
    with pytest.raises(ImageReadError, match='alpha'):
        Inferencer(config, ckpt, alpha='refuse').read(rgba)


def test_roundtrip_through_a_real_jpeg(tmp_path):
    config, ckpt = make(tmp_path, IRN, 'irn')
    inferencer = Inferencer(config, ckpt)
    image = photo(48, 64)
    result = inferencer.roundtrip(image, codec='jpeg', quality=40)
    with Image.open(io.BytesIO(result.bitstream)) as jpeg:
        assert jpeg.format == 'JPEG' and jpeg.size == (32, 24)
        assert np.array_equal(np.asarray(jpeg.convert('RGB')),
                              result.received)
    assert np.array_equal(result.lr, inferencer.downscale(image))
    assert np.array_equal(result.restored,
                          inferencer.upscale(result.received))
    assert result.bpp == pytest.approx(8 * len(result.bitstream) / (48 * 64))
    assert result.psnr == pytest.approx(psnr(result.restored, image))
    assert result.psnr_y == pytest.approx(
        psnr(result.restored, image, crop_border=2, test_y_channel=True))
    webp = inferencer.roundtrip(image, codec='webp', quality=40)
    assert webp.bitstream[8:12] == b'WEBP'
    with pytest.raises(InferenceError, match='unknown codec'):
        inferencer.roundtrip(image, codec='gif')


def test_blockwise_psnr_matches_the_metric():
    a, b = photo(70, 50, 1), photo(70, 50, 2)
    assert _psnr_8bit(a, b, rows=16) == pytest.approx(psnr(a, b), abs=1e-9)
    assert _psnr_8bit(a, b, y_only=True, crop=4, rows=7) == pytest.approx(
        psnr(a, b, crop_border=4, test_y_channel=True), abs=1e-9)
    assert _psnr_8bit(a, a) == float('inf')
