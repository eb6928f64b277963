# Copyright (c) invtoolbox contributors. All rights reserved.
"""Synthetic MPIs made from photographs: scenes, folders, dataset."""
import concurrent.futures
import json
import os

import cv2
import numpy as np
import pytest
import torch

from invtoolbox.datasets import (MPIFolderDataset, SyntheticMPIDataset,
                                 generate_synthetic_mpis,
                                 make_synthetic_scene, read_mpi_folder)
from invtoolbox.datasets.synthetic_raw_dataset import image_seed
from invtoolbox.registry import DATASETS


def official_over_composite(rgbas):
    """``over_composite`` of the official mpi_render.py, as written:
    a list of [batch, H, W, 4] RGBA images combined back to front."""
    for i in range(len(rgbas)):
        rgb = rgbas[i][:, :, :, 0:3]
        alpha = rgbas[i][:, :, :, 3:]
        if i == 0:
            output = rgb
        else:
            rgb_by_alpha = rgb * alpha
            output = rgb_by_alpha + output * (1.0 - alpha)
    return output


def photos(count=3, size=(40, 48), seed=0):
    """Smooth random colour fields (structured, unlike white noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        small = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
        out.append(cv2.resize(small, size[::-1],
                              interpolation=cv2.INTER_CUBIC))
    return out


def write_photos(folder, count=2, size=(40, 48)):
    os.makedirs(folder, exist_ok=True)
    for i, img in enumerate(photos(count, size)):
        cv2.imwrite(os.path.join(folder, f'p{i}.png'), img[..., ::-1])
    return folder


# --------------------------------------------------------------------------
# one scene
# --------------------------------------------------------------------------
def check_scene(ref, mpi, size, num_planes, num_layers=(2, 4)):
    h, w = size
    assert ref.shape == (h, w, 3) and mpi.shape == (num_planes, h, w, 4)
    assert ref.dtype == mpi.dtype == np.uint8
    # the reference is the official over-composite of the stored planes
    planes = torch.from_numpy(mpi).float() / 255.
    composite = official_over_composite([p[None] for p in planes])[0]
    error = (composite - torch.from_numpy(ref).float() / 255.).abs().max()
    assert error <= 0.5 / 255 + 1e-6
    alpha = mpi[..., 3]
    assert (alpha[0] == 255).all()
    layers = [i for i in range(1, num_planes) if alpha[i].any()]
    first_near = max(1, 6 * num_planes // 32)
    assert num_layers[0] <= len(layers) <= num_layers[1]
    assert all(first_near <= i < num_planes for i in layers)
    for i in layers:
        coverage = alpha[i].mean() / 255.
        assert 0.05 <= coverage <= 0.40
        assert (alpha[i] == 0).any() and (alpha[i] == 255).any()
        soft = ((alpha[i] > 0) & (alpha[i] < 255)).sum()
        assert soft >= 4  # a feathered edge, not a hard cut
    # planes are RGB-defined everywhere: the reference where alpha is 0
    empty = alpha[1:] == 0
    assert np.array_equal(mpi[1:, ..., :3][empty],
                          np.broadcast_to(ref, mpi[1:, ..., :3].shape)[empty])
    return layers


def test_scene_composites_to_its_reference():
    images = photos()
    layer_counts = set()
    for seed in range(12):
        ref, mpi = make_synthetic_scene(images, np.random.default_rng(seed),
                                        size=(32, 48))
        layer_counts.add(len(check_scene(ref, mpi, (32, 48), 32)))
    assert layer_counts == {2, 3, 4}


def test_scene_background_comes_from_the_first_image_and_is_opaque():
    images = [np.full((40, 48, 3), (200, 10, 10), np.uint8),
              np.full((40, 48, 3), (10, 200, 10), np.uint8)]
    ref, mpi = make_synthetic_scene(images, np.random.default_rng(0),
                                    size=16, num_planes=8, num_layers=1)
    check_scene(ref, mpi, (16, 16), 8, (1, 1))
    assert (mpi[0, ..., :3] == (200, 10, 10)).all()


def test_scene_is_deterministic_for_a_seed():
    images = photos()
    one = make_synthetic_scene(images, np.random.default_rng(5), 32)
    two = make_synthetic_scene(images, np.random.default_rng(5), 32)
    other = make_synthetic_scene(images, np.random.default_rng(6), 32)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    assert not np.array_equal(one[1], other[1])


def test_scene_arguments_are_checked():
    images = photos(1)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match='near planes'):
        make_synthetic_scene(images, rng, 16, num_planes=4,
                             num_layers=(2, 4))
    with pytest.raises(ValueError, match=r'images\[0\]'):
        make_synthetic_scene([images[0].astype(np.float32)], rng, 16)
    with pytest.raises(ValueError, match='non-empty'):
        make_synthetic_scene([], rng, 16)
    with pytest.raises(ValueError, match='at least 8'):
        make_synthetic_scene(images, rng, (4, 16))
    with pytest.raises(ValueError, match='num_layers'):
        make_synthetic_scene(images, rng, 16, num_layers=(3, 2))


# --------------------------------------------------------------------------
# folders of scenes
# --------------------------------------------------------------------------
ARGS = dict(scenes_per_image=2, size=(16, 32), seed=3, num_planes=8,
            num_layers=(1, 2))


def test_generate_writes_the_official_layout(tmp_path):
    src = write_photos(str(tmp_path / 'src'), count=2)
    out = str(tmp_path / 'out')
    folders = generate_synthetic_mpis(src, out, **ARGS)
    assert folders == [
        os.path.join(out, scene, '00000')
        for scene in ('p0_s00', 'p0_s01', 'p1_s00', 'p1_s01')
    ]
    # the documented seed: scene k of a photo is make_synthetic_scene with
    # that photo first, the others by name, and image_seed(seed, 'name/k')
    images = [cv2.imread(os.path.join(src, n))[..., ::-1].copy()
              for n in ('p0.png', 'p1.png')]
    ref, mpi = read_mpi_folder(folders[3], num_planes=8)
    want = make_synthetic_scene(
        [images[1], images[0]],
        np.random.default_rng(image_seed(3, 'p1.png/1')), (16, 32), 8,
        (1, 2))
    assert np.array_equal(ref, want[0]) and np.array_equal(mpi, want[1])
    record = json.load(open(os.path.join(out, 'p1_s01',
                                         'synthetic_mpi_scene.json')))
    assert record['source'] == 'p1.png' and record['index'] == 1
    assert record['layer_planes'] == [
        i for i in range(1, 8) if mpi[i, ..., 3].any()]
    # the real-data dataset reads them
    data = MPIFolderDataset(out, num_planes=8)
    assert [data.get_data_info(i)['frame_path'] for i in range(4)] == folders


def test_generate_keeps_resumes_and_refuses_other_settings(tmp_path):
    src = write_photos(str(tmp_path / 'src'), count=2)
    out = str(tmp_path / 'out')
    folders = generate_synthetic_mpis(src, out, **ARGS)
    plane = os.path.join(folders[0], 'mpi_rgb_03.png')
    stamp = os.stat(plane).st_mtime_ns
    content = open(os.path.join(folders[1], 'mpi_alpha_05.png'), 'rb').read()
    os.remove(os.path.join(folders[1], 'mpi_alpha_05.png'))  # interrupted
    more = generate_synthetic_mpis(src, out, **dict(ARGS, scenes_per_image=3))
    assert len(more) == 6 and os.stat(plane).st_mtime_ns == stamp  # kept
    assert open(os.path.join(folders[1], 'mpi_alpha_05.png'),
                'rb').read() == content  # made again, the same bytes
    with pytest.raises(ValueError) as err:
        generate_synthetic_mpis(src, out, **dict(ARGS, seed=4))
    message = str(err.value)
    assert '\n' not in message and 'seed 3 -> 4' in message
    assert 'overwrite=True' in message
    # a changed photo is a change of settings too
    cv2.imwrite(os.path.join(src, 'p1.png'), np.zeros((40, 48, 3),
                                                      np.uint8))
    with pytest.raises(ValueError, match='the source images changed'):
        generate_synthetic_mpis(src, out, **ARGS)
    # overwrite: scenes made again, scenes of the earlier run removed
    generate_synthetic_mpis(src, out, **dict(ARGS, overwrite=True))
    assert sorted(os.listdir(out)) == [
        'p0_s00', 'p0_s01', 'p1_s00', 'p1_s01', 'synthetic_mpi.json']
    assert read_mpi_folder(os.path.join(out, 'p1_s00', '00000'))[1][
        0, ..., :3].max() == 0


def test_generate_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        generate_synthetic_mpis(str(tmp_path / 'none'), str(tmp_path / 'o'))
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(ValueError, match='no image'):
        generate_synthetic_mpis(str(tmp_path / 'empty'), str(tmp_path / 'o'))
    src = write_photos(str(tmp_path / 'src'), count=1)
    cv2.imwrite(os.path.join(src, 'p0.jpg'), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match='same scenes'):
        generate_synthetic_mpis(src, str(tmp_path / 'o'))
    os.remove(os.path.join(src, 'p0.jpg'))
    os.makedirs(tmp_path / 'busy')
    (tmp_path / 'busy' / 'thesis.tex').write_text('x')
    with pytest.raises(ValueError, match='holds other files'):
        generate_synthetic_mpis(src, str(tmp_path / 'busy'))
    with pytest.raises(ValueError, match='scenes_per_image'):
        generate_synthetic_mpis(src, str(tmp_path / 'o'), scenes_per_image=0)


def _generate(src, out):
    return generate_synthetic_mpis(src, out, **ARGS)


def test_several_writers_into_one_folder_at_once(tmp_path):
    src = write_photos(str(tmp_path / 'src'), count=2)
    alone = _generate(src, str(tmp_path / 'alone'))
    shared = str(tmp_path / 'shared')
    # threads: the same file-system races as DDP ranks, without forking a
    # process that holds torch's and OpenCV's thread pools
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(_generate, [src] * 4, [shared] * 4))
    assert all(len(r) == len(alone) for r in results)
    for folder in alone:
        scene = os.path.relpath(folder, str(tmp_path / 'alone'))
        for name in os.listdir(folder):
            assert open(os.path.join(folder, name), 'rb').read() == open(
                os.path.join(shared, scene, name), 'rb').read()
    assert not [n for _, _, files in os.walk(shared) for n in files
                if n.startswith('.')]  # no temporary file left


def test_a_writer_that_starts_at_the_same_moment_is_not_foreign(
        tmp_path, monkeypatch):
    """The interleaving CI once hit: this writer finds no settings file,
    then another writer (same settings) writes its settings before this one
    looks at the folder. The folder is ours to share, not other files."""
    from invtoolbox.datasets import synthetic_mpi
    src = write_photos(str(tmp_path / 'src'), count=2)
    shared = str(tmp_path / 'shared')
    os.makedirs(shared)
    first = _generate(src, str(tmp_path / 'first'))
    settings = open(os.path.join(str(tmp_path / 'first'),
                                 synthetic_mpi.SETTINGS_FILE), 'rb').read()
    read_json = synthetic_mpi._read_json
    calls = []

    def read_then_other_writer_writes(path):
        data = read_json(path)
        if not calls and path.endswith(synthetic_mpi.SETTINGS_FILE):
            with open(path, 'wb') as handle:  # the other writer, just now
                handle.write(settings)
        calls.append(path)
        return data

    monkeypatch.setattr(synthetic_mpi, '_read_json',
                        read_then_other_writer_writes)
    assert len(_generate(src, shared)) == len(first)


# --------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------
def test_dataset_generates_then_reads_like_real_data(tmp_path):
    src = write_photos(str(tmp_path / 'src'), count=2)
    cache = str(tmp_path / 'cache')
    data = DATASETS.build(dict(
        type='SyntheticMPIDataset', src_root=src, cache_root=cache, **ARGS,
        pipeline=[dict(type='LoadMPIFromFolder'),
                  dict(type='PackMPIInputs')]))
    real = MPIFolderDataset(cache, num_planes=8)
    assert len(data) == len(real) == 4
    for i in range(4):
        assert data.get_data_info(i) == real.get_data_info(i)
    item = data[2]
    assert item['inputs'].shape == (3, 16, 32)
    assert item['data_samples'].gt_mpi.shape == (8, 4, 16, 32)
    assert item['data_samples'].key == 'p1_s00/00000'
    assert data.metainfo['dataset_name'] == 'src'
    # a given cache made with other settings is refused
    with pytest.raises(ValueError, match='other settings'):
        SyntheticMPIDataset(src, cache, **dict(ARGS, seed=9))


def test_dataset_default_cache_follows_the_photos(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    src = write_photos(str(tmp_path / 'src'), count=1)
    data = SyntheticMPIDataset(src, **ARGS)
    frame = data.get_data_info(0)['frame_path']
    assert frame.startswith(str(tmp_path / 'home' / '.cache' / 'invtoolbox' /
                                'synthetic_mpi'))
    before = read_mpi_folder(frame)[1]
    cv2.imwrite(os.path.join(src, 'p0.png'), np.zeros((40, 48, 3),
                                                      np.uint8))
    again = SyntheticMPIDataset(src, **ARGS)  # our cache: made again
    assert again.get_data_info(0)['frame_path'] == frame
    after = read_mpi_folder(frame)[1]
    assert after[0, ..., :3].max() == 0 and before[0, ..., :3].max() > 0
    with pytest.raises(FileNotFoundError):
        SyntheticMPIDataset(str(tmp_path / 'none'), **ARGS)
