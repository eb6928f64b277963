# Copyright (c) invtoolbox contributors. All rights reserved.
"""ImageFolderDataset and PairedImageDataset: scanning, pairing, errors."""
import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from invtoolbox.datasets import ImageFolderDataset, PairedImageDataset
from invtoolbox.registry import DATASETS
from tests.helpers import shared_path


def write_image(path, size=(8, 6), seed=0, mode='RGB'):
    """A random image of ``size`` (H, W) written with Pillow."""
    rng = np.random.default_rng(seed)
    channels = {'RGB': 3, 'RGBA': 4, 'L': None}[mode]
    shape = size if channels is None else size + (channels, )
    array = rng.integers(0, 256, shape, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)
    return array


def test_set5_folder():
    root = shared_path('data', 'set5')
    dataset = ImageFolderDataset(data_root=str(root))
    assert len(dataset) == 5  # README.md and manifest.json are not images
    keys = [dataset.get_data_info(i)['key'] for i in range(5)]
    assert keys == ['baby', 'bird', 'butterfly', 'head', 'woman']
    info = dataset.get_data_info(2)
    assert info['gt_path'] == str(root / 'butterfly.png')
    assert info['sample_idx'] == 2
    assert dataset.metainfo['dataset_name'] == 'set5'  # the folder name
    named = ImageFolderDataset(
        data_root=str(root), metainfo=dict(dataset_name='Set5'))
    assert named.metainfo == dict(dataset_name='Set5')


def test_extensions_case_insensitive_sorted_and_hidden_skipped(tmp_path):
    for name in ['b.PNG', 'a.JpG', 'c.bmp', 'd.tif', 'e.webp', 'f.jpeg']:
        write_image(tmp_path / name)
    write_image(tmp_path / '._a.png')  # macOS resource fork
    (tmp_path / 'notes.txt').write_text('not an image')
    (tmp_path / 'g.png.bak').write_bytes(b'')
    dataset = ImageFolderDataset(data_root=str(tmp_path))
    keys = [dataset.get_data_info(i)['key'] for i in range(len(dataset))]
    assert keys == ['a', 'b', 'c', 'd', 'e', 'f']
    assert dataset.get_data_info(0)['gt_path'].endswith('a.JpG')


def test_recursive(tmp_path):
    write_image(tmp_path / 'top.png')
    write_image(tmp_path / 'sub' / 'inner.png')
    flat = ImageFolderDataset(data_root=str(tmp_path))
    assert [flat.get_data_info(i)['key'] for i in range(len(flat))] == ['top']
    deep = ImageFolderDataset(data_root=str(tmp_path), recursive=True)
    keys = [deep.get_data_info(i)['key'] for i in range(len(deep))]
    assert keys == ['sub/inner', 'top']


def test_data_prefix_and_registry(tmp_path):
    write_image(tmp_path / 'HR' / 'x.png')
    dataset = DATASETS.build(
        dict(type='ImageFolderDataset', data_root=str(tmp_path),
             data_prefix=dict(gt='HR')))
    assert len(dataset) == 1
    assert dataset.get_data_info(0)['gt_path'] == str(tmp_path / 'HR' /
                                                      'x.png')
    assert dataset.metainfo['dataset_name'] == 'HR'


def test_missing_root_is_a_one_line_file_not_found(tmp_path):
    missing = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError) as err:
        ImageFolderDataset(data_root=str(missing))
    message = str(err.value)
    assert str(missing) in message and 'does not exist' in message
    assert 'data_root' in message and '\n' not in message


def test_root_that_is_a_file(tmp_path):
    path = tmp_path / 'img.png'
    write_image(path)
    with pytest.raises(FileNotFoundError, match='is not a folder'):
        ImageFolderDataset(data_root=str(path))


def test_empty_folder_is_a_value_error(tmp_path):
    (tmp_path / 'readme.txt').write_text('no images here')
    (tmp_path / 'sub').mkdir()
    write_image(tmp_path / 'sub' / 'deep.png')
    with pytest.raises(ValueError) as err:
        ImageFolderDataset(data_root=str(tmp_path))
    message = str(err.value)
    assert str(tmp_path) in message and 'recursive=True' in message
    assert '\n' not in message


def test_lazy_init_defers_the_scan(tmp_path):
    dataset = ImageFolderDataset(
        data_root=str(tmp_path / 'later'), lazy_init=True)
    write_image(tmp_path / 'later' / 'a.png')
    assert len(dataset) == 1


def test_pipeline_runs_without_a_default_scope(tmp_path):
    """Transform dicts are built with invtoolbox's registry even when the
    current default scope is another one."""
    array = write_image(tmp_path / 'a.png', size=(6, 4))
    with DefaultScope.overwrite_default_scope('mmengine'):
        dataset = ImageFolderDataset(
            data_root=str(tmp_path),
            pipeline=[dict(type='LoadImageFromFile', key='gt')])
    item = dataset[0]
    assert np.array_equal(item['gt'], array)
    assert item['key'] == 'a' and item['gt_ori_shape'] == (6, 4)


def make_pairs(root, names, template='{}x2', lr_ext='.png'):
    hr = {}
    for i, name in enumerate(names):
        hr[name] = write_image(root / 'HR' / f'{name}.png', (8, 8), seed=i)
        lr = Image.fromarray(hr[name][::2, ::2])
        (root / 'LR').mkdir(exist_ok=True)
        lr.save(root / 'LR' / (template.format(name) + lr_ext))
    return hr


def test_paired_dataset_pairs_by_template(tmp_path):
    make_pairs(tmp_path, ['0801', '0802'])
    (tmp_path / 'LR' / 'extra_without_gt.png').write_bytes(b'')  # ignored
    dataset = PairedImageDataset(
        data_root=str(tmp_path), filename_tmpl='{}x2')
    assert len(dataset) == 2
    info = dataset.get_data_info(1)
    assert info['key'] == '0802'
    assert info['gt_path'] == str(tmp_path / 'HR' / '0802.png')
    assert info['lr_path'] == str(tmp_path / 'LR' / '0802x2.png')


def test_paired_dataset_prefers_the_gt_extension(tmp_path):
    make_pairs(tmp_path, ['a'], template='{}', lr_ext='.png')
    Image.new('RGB', (4, 4)).save(tmp_path / 'LR' / 'a.bmp')
    dataset = PairedImageDataset(data_root=str(tmp_path))
    assert dataset.get_data_info(0)['lr_path'].endswith('a.png')


def test_paired_dataset_loads_aligned_images(tmp_path):
    hr = make_pairs(tmp_path, ['a'])
    dataset = PairedImageDataset(
        data_root=str(tmp_path),
        filename_tmpl='{}x2',
        pipeline=[
            dict(type='LoadImageFromFile', key='gt'),
            dict(type='LoadImageFromFile', key='lr'),
            dict(type='PairedRandomCrop', gt_patch_size=4, scale=2),
            dict(type='PackInputs'),
        ])
    for _ in range(5):
        item = dataset[0]
        gt = item['data_samples'].gt_img
        lr = item['data_samples'].lr_img
        assert gt.shape == (3, 4, 4) and lr.shape == (3, 2, 2)
        assert np.array_equal(gt[:, ::2, ::2].numpy(), lr.numpy())
        assert item['data_samples'].lr_path.endswith('ax2.png')
    assert hr['a'].shape == (8, 8, 3)


def test_paired_dataset_missing_partner(tmp_path):
    make_pairs(tmp_path, ['a', 'b', 'c'])
    (tmp_path / 'LR' / 'bx2.png').unlink()
    (tmp_path / 'LR' / 'cx2.png').unlink()
    with pytest.raises(FileNotFoundError) as err:
        PairedImageDataset(data_root=str(tmp_path), filename_tmpl='{}x2')
    message = str(err.value)
    assert '2 of 3' in message
    assert str(tmp_path / 'HR' / 'b.png') in message
    assert str(tmp_path / 'LR' / 'bx2') in message
    assert "filename_tmpl='{}x2'" in message and '\n' not in message


def test_paired_dataset_wrong_template_names_the_expected_file(tmp_path):
    make_pairs(tmp_path, ['a'], template='{}x2')
    with pytest.raises(FileNotFoundError, match=r"LR/a' \+ an image"):
        PairedImageDataset(data_root=str(tmp_path))  # template '{}'


def test_paired_dataset_bad_arguments(tmp_path):
    make_pairs(tmp_path, ['a'])
    with pytest.raises(ValueError, match='filename_tmpl'):
        PairedImageDataset(data_root=str(tmp_path), filename_tmpl='x2')
    with pytest.raises(ValueError, match='data_prefix'):
        PairedImageDataset(data_root=str(tmp_path), data_prefix=dict(gt='HR'))
    with pytest.raises(FileNotFoundError) as err:
        PairedImageDataset(
            data_root=str(tmp_path), data_prefix=dict(gt='HR', lr='LRx9'))
    assert 'LRx9' in str(err.value) and "data_prefix['lr']" in str(err.value)
