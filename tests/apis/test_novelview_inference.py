# Copyright (c) invtoolbox contributors. All rights reserved.
"""Novel views on files (invtoolbox.apis.novelview_inference): embedding an
MPI folder into a marked JPEG, reading it back, rendering views, camera
paths and the PNG / GIF / MP4 writers, with a tiny NovelViewJPEG."""
import io
import math
import os
import warnings

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from PIL import Image, JpegImagePlugin

from invtoolbox.apis import novelview_inference as nv
from invtoolbox.datasets.mpi_dataset import MPIFolderError, write_mpi_folder
from invtoolbox.models.editors.novelview import (over_composite,
                                                 rotation_matrix)
from invtoolbox.registry import MODELS
from invtoolbox.utils import register_all_modules

H, W = 32, 48


def tiny_model(seed=0, planes=4):
    register_all_modules(init_default_scope=False)
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('invtoolbox'):
        model = MODELS.build(
            dict(type='NovelViewJPEG',
                 generator=dict(type='NovelViewJPEGNet',
                                num_planes=planes,
                                encoder=dict(base_channels=8),
                                decoder=dict(base_channels=8)),
                 discriminator=None))
    return model.eval()


def random_frame(folder, planes=4, size=(H, W), seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, size + (3, ), dtype=np.uint8)
    mpi = rng.integers(0, 256, (planes, ) + size + (4, ), dtype=np.uint8)
    write_mpi_folder(str(folder), ref, mpi)
    return ref, mpi


def one_line(excinfo):
    message = str(excinfo.value)
    assert message and '\n' not in message
    return message


@pytest.fixture(scope='module')
def model():
    return tiny_model()


@pytest.fixture(scope='module')
def embedded(model, tmp_path_factory):
    root = tmp_path_factory.mktemp('nv')
    ref, mpi = random_frame(root / 'frame')
    result = nv.embed_mpi(model, root / 'frame', root / 'frame.jpg')
    return dict(root=root, ref=ref, mpi=mpi, result=result,
                jpg=root / 'frame.jpg')


class Recorder:
    """A ``warn`` callable that keeps the messages."""

    def __init__(self):
        self.messages = []

    def __call__(self, message):
        self.messages.append(message)


# --------------------------------------------------------------------------
# embedding
# --------------------------------------------------------------------------
def test_embed_writes_the_test_codec_jpeg_with_the_marker(model, embedded):
    result, path = embedded['result'], embedded['jpg']
    data = path.read_bytes()
    assert result.path == str(path) and result.num_bytes == len(data)
    assert result.size == (H, W) and result.num_planes == 4
    assert result.bpp == pytest.approx(8 * len(data) / (H * W))
    with Image.open(path) as img:
        assert img.format == 'JPEG' and img.size == (W, H)
        assert JpegImagePlugin.get_sampling(img) == 2  # 4:2:0
        comment = img.info['comment']
        decoded = np.asarray(img.convert('RGB'))
    # the marker round-trips and names this model's weights
    assert comment.decode() == result.marker
    marker = nv.parse_marker(comment)
    assert marker == nv.NovelViewMarker(1, 4, H, W,
                                        nv.model_fingerprint(model))
    # the pixels are what the model's test codec (RealJPEG q90 4:2:0) makes
    # of the 8-bit embedding: the comment changes the file, not the image
    ref_t = torch.from_numpy(embedded['ref']).permute(2, 0, 1)[None]
    mpi_t = torch.from_numpy(embedded['mpi']).permute(0, 3, 1, 2)[None]
    mpi_t = mpi_t.float() / 255
    mpi_t = torch.cat([mpi_t[:, :, :3] * 2 - 1, mpi_t[:, :, 3:]], dim=2)
    with torch.no_grad():
        embedding = model.encode(ref_t.float() / 127.5 - 1, mpi_t)
        coded, num_bytes = model.code(embedding)
    expected = ((coded[0] + 1) / 2 * 255).round().byte().permute(1, 2, 0)
    assert np.array_equal(decoded, expected.numpy())
    assert len(data) - num_bytes[0] == len(result.marker) + 4  # COM segment
    # PSNR of the decoded JPEG against the reference, from the definition
    mse = np.mean((decoded.astype(float) - embedded['ref'])**2)
    assert result.psnr == pytest.approx(10 * math.log10(255**2 / mse))


def test_embed_quality_changes_the_file(model, embedded, tmp_path):
    low = nv.embed_mpi(model, embedded['root'] / 'frame', tmp_path / 'q.jpg',
                       quality=30)
    assert low.num_bytes < embedded['result'].num_bytes
    with pytest.raises(ValueError):
        nv.embed_mpi(model, embedded['root'] / 'frame', tmp_path / 'x.jpg',
                     quality=0)
    assert not (tmp_path / 'x.jpg').exists()


def test_embed_bad_folders_are_one_line_and_write_nothing(model, tmp_path):
    out = tmp_path / 'out.jpg'
    # another plane count than the model's
    random_frame(tmp_path / 'three', planes=3)
    message = one_line(pytest.raises(ValueError, nv.embed_mpi, model,
                                     tmp_path / 'three', out))
    assert '3 planes' in message and '4' in message
    # a size that is not a multiple of 16
    random_frame(tmp_path / 'odd', size=(40, 48))
    message = one_line(pytest.raises(ValueError, nv.embed_mpi, model,
                                     tmp_path / 'odd', out))
    assert '40x48' in message and '16' in message
    # a missing plane file
    random_frame(tmp_path / 'gap')
    os.remove(tmp_path / 'gap' / 'mpi_alpha_02.png')
    message = one_line(pytest.raises(MPIFolderError, nv.embed_mpi, model,
                                     tmp_path / 'gap', out))
    assert 'mpi_alpha' in message
    # planes of different sizes
    random_frame(tmp_path / 'sizes')
    Image.new('RGB', (W, 16)).save(tmp_path / 'sizes' / 'mpi_rgb_01.png')
    message = one_line(pytest.raises(MPIFolderError, nv.embed_mpi, model,
                                     tmp_path / 'sizes', out))
    assert 'mpi_rgb_01.png' in message
    # a corrupt plane, a missing folder
    random_frame(tmp_path / 'corrupt')
    (tmp_path / 'corrupt' / 'mpi_rgb_00.png').write_bytes(b'not a png')
    one_line(pytest.raises(MPIFolderError, nv.embed_mpi, model,
                           tmp_path / 'corrupt', out))
    one_line(pytest.raises(FileNotFoundError, nv.embed_mpi, model,
                           tmp_path / 'nope', out))
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]


# --------------------------------------------------------------------------
# the marker and reading
# --------------------------------------------------------------------------
def test_marker_format_and_parse():
    text = nv.format_marker(32, (288, 512), '0123456789abcdef')
    assert text == ('invtoolbox-novelview v1 planes=32 size=288x512 '
                    'fingerprint=0123456789abcdef')
    assert nv.parse_marker(text.encode()) == (1, 32, 288, 512,
                                              '0123456789abcdef')
    for foreign in (None, b'', b'made by a camera', 'invtoolbox-invisp-raw/1',
                    b'\xff\xfe'):
        assert nv.parse_marker(foreign) is None
    with pytest.raises(ValueError):
        nv.parse_marker('invtoolbox-novelview v1 planes=x')


def test_fingerprint_follows_the_generator_weights():
    a, b = tiny_model(seed=0), tiny_model(seed=0)
    assert nv.model_fingerprint(a) == nv.model_fingerprint(b)
    assert len(nv.model_fingerprint(a)) == 16
    with torch.no_grad():
        b.generator.decoder.input_conv.bias[0] += 1e-3
    assert nv.model_fingerprint(a) != nv.model_fingerprint(b)


def test_read_embedding_of_our_jpeg_does_not_warn(model, embedded):
    warn = Recorder()
    x = nv.read_embedding(embedded['jpg'], model, warn=warn)
    assert warn.messages == []
    assert x.shape == (1, 3, H, W) and x.min() >= -1 and x.max() <= 1
    with Image.open(embedded['jpg']) as img:
        pixels = np.asarray(img.convert('RGB'))
    assert torch.equal(((x[0] + 1) * 127.5).round().byte().permute(1, 2, 0),
                       torch.from_numpy(pixels.copy()))


def test_a_jpeg_from_elsewhere_warns_exactly_once(model, embedded, tmp_path):
    plain = tmp_path / 'camera.jpg'
    Image.fromarray(embedded['ref']).save(plain, quality=90)
    warn = Recorder()
    views = nv.render_from_jpeg(model, plain, nv.camera_path('x', 5),
                                warn=warn)
    assert len(views) == 5 and len(warn.messages) == 1
    assert str(plain) in warn.messages[0]
    assert 'rendering anyway' in warn.messages[0]
    assert '\n' not in warn.messages[0]
    # the default: a ForeignEmbeddingWarning, once per file in a run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('default')
        for _ in range(3):
            nv.render_from_jpeg(model, plain, [(0, 0, 0), (0.01, 0, 0)])
    assert [w.category for w in caught] == [nv.ForeignEmbeddingWarning]
    # a PNG of an embedding is read (without a marker: the same warning)
    png = tmp_path / 'frame.png'
    with Image.open(embedded['jpg']) as img:
        img.save(png)
    warn = Recorder()
    x = nv.read_embedding(png, model, warn=warn)
    assert torch.equal(x, nv.read_embedding(embedded['jpg'], model))
    assert len(warn.messages) == 1 and 'not made by' in warn.messages[0]


def test_other_weights_warn_once_with_both_fingerprints(embedded):
    other = tiny_model(seed=1)
    warn = Recorder()
    nv.render_from_jpeg(other, embedded['jpg'], [(0, 0, 0), (0, 0.02, 0)],
                        warn=warn)
    assert len(warn.messages) == 1
    assert embedded['result'].marker.split('=')[-1] in warn.messages[0]
    assert nv.model_fingerprint(other) in warn.messages[0]


def jpeg_with_comment(path, size, comment):
    Image.new('RGB', (size[1], size[0]), (90, 120, 30)).save(
        path, quality=90, comment=comment)
    return path


def test_unreadable_embeddings_are_one_line_errors(model, embedded,
                                                   tmp_path):
    fingerprint = nv.model_fingerprint(model)

    def error(path, kind=nv.EmbeddingFileError):
        return one_line(pytest.raises(kind, nv.read_embedding, path, model,
                                      warn=Recorder()))

    # a size that is not a multiple of 16
    assert '40x48' in error(jpeg_with_comment(
        tmp_path / 'odd.jpg', (40, 48),
        nv.format_marker(4, (40, 48), fingerprint)))
    # another plane count
    assert '32-plane' in error(jpeg_with_comment(
        tmp_path / 'planes.jpg', (H, W),
        nv.format_marker(32, (H, W), fingerprint)))
    # resized after embedding
    message = error(jpeg_with_comment(
        tmp_path / 'resized.jpg', (H, W),
        nv.format_marker(4, (64, 96), fingerprint)))
    assert '64x96' in message and f'{H}x{W}' in message
    # a newer marker version
    assert 'v2' in error(jpeg_with_comment(
        tmp_path / 'v2.jpg', (H, W),
        nv.format_marker(4, (H, W), fingerprint).replace(' v1 ', ' v2 ')))
    # not a JPEG/PNG, truncated, not an image, a folder, missing
    Image.new('RGB', (W, H)).save(tmp_path / 'img.bmp')
    assert 'BMP' in error(tmp_path / 'img.bmp')
    data = embedded['jpg'].read_bytes()
    (tmp_path / 'cut.jpg').write_bytes(data[:len(data) // 2])
    assert 'cut.jpg' in error(tmp_path / 'cut.jpg')
    (tmp_path / 'text.jpg').write_text('hello\n')
    assert 'text.jpg' in error(tmp_path / 'text.jpg')
    error(tmp_path, nv.EmbeddingFileError)
    error(tmp_path / 'nope.jpg', FileNotFoundError)


def test_a_damaged_marker_warns(model, tmp_path):
    path = jpeg_with_comment(tmp_path / 'damaged.jpg', (H, W),
                             'invtoolbox-novelview v1 planes=?')
    warn = Recorder()
    nv.read_embedding(path, model, warn=warn)
    assert len(warn.messages) == 1 and 'damaged' in warn.messages[0]


# --------------------------------------------------------------------------
# poses and rendering
# --------------------------------------------------------------------------
def test_identity_pose_renders_the_composite_of_the_decoded_mpi(
        model, embedded):
    x = nv.read_embedding(embedded['jpg'], model)
    views = nv.render_embedding(model, x, [(0, 0, 0), (0, 0, 0, 0, 0, 0)])
    with torch.no_grad():
        composite = over_composite(model.decode(x))
    assert views.shape == (2, 3, H, W)
    torch.testing.assert_close(views, composite.expand(2, -1, -1, -1),
                               atol=1e-5, rtol=0)
    png = nv.render_from_jpeg(model, embedded['jpg'], [(0, 0, 0)])
    assert len(png) == 1 and png[0].dtype == np.uint8
    assert np.array_equal(png[0], nv.views_to_uint8(views[:1])[0])
    # a sideways move changes the view
    moved = nv.render_embedding(model, x, [(0.05, 0, 0)])
    assert (moved - views[:1]).abs().max() > 1e-2


def test_poses_outside_the_trained_range_name_the_limit(model):
    cases = [((0.6, 0, 0), '0.5'), ((0, 0, -0.51), '0.5'),
             ((0, 0, 0, 0, 9, 0), '8'), ((0, 0, 0, -8.5, 0, 0), '8')]
    for pose, limit in cases:
        message = one_line(pytest.raises(ValueError, nv.check_poses, model,
                                         [pose]))
        assert limit in message
    model.train_cfg['max_translation'] = 2.0
    try:  # past the nearest plane (depth 1)
        message = one_line(pytest.raises(ValueError, nv.check_poses, model,
                                         [(0, 0, -1.5)]))
        assert 'nearest' in message
    finally:
        model.train_cfg['max_translation'] = 0.5
    for bad in ([], [(0, 0)], [(0, 0, 0, 0)], [('a', 0, 0)], 'circle'):
        one_line(pytest.raises(ValueError, nv.check_poses, model, bad))
    assert 'pose 1' in one_line(pytest.raises(
        ValueError, nv.check_poses, model, [(0, 0, 0), (0.7, 0, 0)]))
    assert nv.check_poses(model, [(0.5, -0.5, 0.5, 8, -8, 0)]) == [
        ((0.5, -0.5, 0.5), (8.0, -8.0, 0.0))]


def test_render_checks_poses_before_reading(model, tmp_path):
    # an out-of-range pose is reported even for a file that does not exist
    with pytest.raises(ValueError, match='0.5'):
        nv.render_from_jpeg(model, tmp_path / 'nope.jpg', [(0.9, 0, 0)])


# --------------------------------------------------------------------------
# camera paths
# --------------------------------------------------------------------------
def test_camera_paths():
    amp = nv.DEFAULT_AMPLITUDE
    assert amp == pytest.approx(4 * 0.017)
    circle = np.array(nv.camera_path('circle', 12))
    assert circle.shape == (12, 6)
    np.testing.assert_allclose(np.hypot(circle[:, 0], circle[:, 1]), amp)
    assert not circle[:, 2:].any()
    for axis, kind in enumerate('xyz'):
        path = np.array(nv.camera_path(kind, 8, 0.1))
        np.testing.assert_allclose(path[:, axis],
                                   0.1 * np.sin(2 * np.pi * np.arange(8) / 8),
                                   atol=1e-12)
        assert not np.delete(path, axis, axis=1).any()
        assert path[0].tolist() == [0.0] * 6  # starts at the reference view
    # swing: the point straight ahead at the focus depth stays centred
    for tx, ty, tz, rx, ry, rz in nv.camera_path('swing', 10, 0.3,
                                                 focus_depth=2.0):
        rot = rotation_matrix((rx, ry, rz), torch.float64).numpy()
        target = rot @ np.array([0, 0, 2.0]) + np.array([tx, ty, tz])
        assert abs(target[0]) < 1e-12 and abs(target[1]) < 1e-12
    assert len(nv.camera_path('circle', 1)) == 1
    for args in (('spiral', 10), ('x', 0), ('x', 2.5), ('x', 4, -1.0),
                 ('x', 4, float('nan'))):
        one_line(pytest.raises(ValueError, nv.camera_path, *args))


def test_default_paths_fit_the_trained_range(model):
    for kind in nv.CAMERA_PATHS:
        nv.check_poses(model, nv.camera_path(kind, 24))


# --------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------
def distinct_frames(n, size=(H, W)):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 200, size + (3, ), dtype=np.uint8)
    return [np.roll(base, 2 * i, axis=1) for i in range(n)]


def test_png_and_gif_writers(tmp_path):
    frames = distinct_frames(6)
    nv.write_views(frames[:1], tmp_path / 'one.png')
    assert np.array_equal(np.asarray(Image.open(tmp_path / 'one.png')),
                          frames[0])
    nv.write_views(frames, tmp_path / 'anim.gif', fps=10)
    with Image.open(tmp_path / 'anim.gif') as gif:
        assert gif.format == 'GIF' and gif.n_frames == 6
        assert gif.info['loop'] == 0 and gif.info['duration'] == 100
        for i in range(6):
            gif.seek(i)
            got = np.asarray(gif.convert('RGB')).astype(int)
            # 256 colours per frame: close to its own frame, not exact
            errors = [np.abs(got - f).mean() for f in frames]
            assert int(np.argmin(errors)) == i and errors[i] < 16
    # the extension decides; a PNG holds one view
    for name, frames_ in (('v.avi', frames), ('v', frames),
                          ('two.png', frames[:2])):
        one_line(pytest.raises(ValueError, nv.write_views, frames_,
                               tmp_path / name))
    one_line(pytest.raises(ValueError, nv.write_gif, [], tmp_path / 'e.gif'))
    one_line(pytest.raises(ValueError, nv.write_gif, frames,
                           tmp_path / 'e.gif', fps=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['anim.gif',
                                                          'one.png']


def test_mp4_writer(tmp_path):
    frames = distinct_frames(7)
    nv.write_views(frames, tmp_path / 'anim.mp4', fps=12)
    capture = cv2.VideoCapture(str(tmp_path / 'anim.mp4'))
    assert capture.isOpened()
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(12)
    read = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        read.append(frame[:, :, ::-1])
    capture.release()
    assert len(read) == 7 and read[0].shape == (H, W, 3)
    # lossy, but each frame is closest to its own source frame
    for i, frame in enumerate(read):
        errors = [np.abs(frame.astype(int) - f).mean() for f in frames]
        assert int(np.argmin(errors)) == i
    assert os.listdir(tmp_path) == ['anim.mp4']


def test_mp4_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):

    class NoEncoder:

        def __init__(self, path, *args):
            open(path, 'wb').close()

        def isOpened(self):
            return False

    monkeypatch.setattr(cv2, 'VideoWriter', NoEncoder)
    message = one_line(pytest.raises(nv.VideoWriteError, nv.write_mp4,
                                     distinct_frames(3), tmp_path / 'a.mp4'))
    assert 'mp4v' in message and '.gif' in message
    assert os.listdir(tmp_path) == []


def test_gif_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'anim.gif'
    path.write_bytes(b'old')

    def broken(self, fp, *args, **kwargs):
        fp.write(b'partial')
        raise OSError('disk full')

    monkeypatch.setattr(Image.Image, 'save', broken)
    with pytest.raises(OSError):
        nv.write_gif(distinct_frames(2), path)
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['anim.gif']


def test_embedding_survives_a_bytes_round_trip(embedded):
    """The file is a plain baseline JPEG any reader decodes the same."""
    data = embedded['jpg'].read_bytes()
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    with Image.open(io.BytesIO(data)) as img:
        assert np.array_equal(bgr[:, :, ::-1], np.asarray(img))
