# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/train.py and tools/test.py once the Runner exists: one line for bad
data and bad config values (dataloader workers included), Ctrl-C, datasets
checked before the first iteration, progress lines, a short terminal header
and ``--cfg-options`` values with spaces.

The helpers of ``tools/train.py`` are tested in-process; a few subprocess
runs (IRN x2 quick start, 32x32 patches of tiny random images, 4
iterations) check what a user sees.
"""
import os
import re
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from invtoolbox.errors import DataError
from invtoolbox.utils.image_io import ImageReadError
from tests.helpers import HANG_TIMEOUT, REPO_ROOT

QUICKSTART = str(REPO_ROOT / 'configs' / 'irn' / 'irn_x2_quickstart.py')
TINY = [
    'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
    'train_dataloader.batch_size=2', 'default_hooks.checkpoint.interval=4',
    'train_dataloader.dataset.pipeline.1.gt_patch_size=32'
]


def write_images(folder, sizes, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    for i, size in enumerate(sizes):
        image = (rng.rand(size, size, 3) * 255).astype(np.uint8)
        cv2.imwrite(str(folder / f'im{i}.png'), image)


@pytest.fixture
def data(tmp_path):
    """``train/`` (three 48x48 images) and ``val/`` (two 32x32 ones)."""
    write_images(tmp_path / 'data' / 'train', [48, 48, 48])
    write_images(tmp_path / 'data' / 'val', [32, 32], seed=1)
    return tmp_path / 'data'


def exit_message(call):
    """The message a ``fail()`` inside ``call()`` exits with."""
    with pytest.raises(SystemExit) as info:
        call()
    return str(info.value.code)


def run_tool(tool, args, timeout=HANG_TIMEOUT, **popen):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1')
    env.pop('INVTB_TRACEBACK', None)
    return subprocess.run([sys.executable, str(REPO_ROOT / 'tools' / tool)] +
                          [str(a) for a in args],
                          cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, **popen)


def one_error_line(proc):
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith('error: ')
    return lines[0]


# -- --cfg-options ----------------------------------------------------------
def test_cfg_options_keep_spaces(train_tool):
    args = train_tool.parse_args([
        QUICKSTART, '--cfg-options', 'work_dir=/tmp/my runs',
        "a.b='x  y'", 'c="quoted"', 'lr=1e-4', 'n=3', 'flag=true',
        'none=None', 'pair=[1, 2]', 'tup=(a,b)', 'csv=1,2', "s='7'"
    ])
    assert args.cfg_options == {
        'work_dir': '/tmp/my runs',
        'a.b': 'x  y',
        'c': 'quoted',
        'lr': 1e-4,
        'n': 3,
        'flag': True,
        'none': None,
        'pair': [1, 2],
        'tup': ('a', 'b'),
        'csv': [1, 2],
        's': '7',
    }
    cfg = train_tool.load_config(QUICKSTART, args.cfg_options)
    assert cfg.work_dir == '/tmp/my runs'


def test_cfg_options_given_twice_add_up(train_tool):
    """A second --cfg-options adds to the first (as mmengine's DictAction
    does); a key given twice takes the later value."""
    args = train_tool.parse_args([
        QUICKSTART, '--cfg-options', 'load_strict=False', 'n=1',
        '--cfg-options', 'train_cfg.max_iters=1', 'n=2'
    ])
    assert args.cfg_options == {
        'load_strict': False, 'n': 2, 'train_cfg.max_iters': 1}


def test_cfg_options_malformed_items_are_one_line(train_tool):
    message = exit_message(lambda: train_tool.parse_args(
        [QUICKSTART, '--cfg-options', 'a=[1,2']))
    assert message.startswith("error: --cfg-options cannot parse 'a=[1,2'")
    message = exit_message(lambda: train_tool.parse_args(
        [QUICKSTART, '--cfg-options', 'novalue']))
    assert "expects KEY=VALUE items, got 'novalue'" in message


# -- values checked before the Runner ---------------------------------------
@pytest.mark.parametrize('item, expected', [
    ('train_cfg.max_iters=abc', "train_cfg.max_iters is 'abc' (from "
     '--cfg-options); expected a positive integer'),
    ('train_cfg.max_iters=0', 'expected a positive integer'),
    ('train_cfg.val_interval=-5', 'train_cfg.val_interval is -5'),
    ('train_dataloader.batch_size=0', 'train_dataloader.batch_size is 0'),
    ('val_dataloader.batch_size=1.5', 'val_dataloader.batch_size is 1.5'),
    ('train_dataloader.num_workers=-1', 'expected an integer >= 0'),
    ('optim_wrapper.optimizer.lr=-1', 'optim_wrapper.optimizer.lr is -1 '
     '(from --cfg-options); expected a learning rate >= 0'),
    ('optim_wrapper.optimizer.lr=fast', "lr is 'fast'"),
])
def test_bad_values_fail_before_the_runner(train_tool, item, expected):
    args = train_tool.parse_args([QUICKSTART, '--cfg-options', item])
    cfg = train_tool.load_config(QUICKSTART, args.cfg_options)
    message = exit_message(
        lambda: train_tool.check_config_values(cfg, QUICKSTART))
    assert expected in message
    assert f'e.g. --cfg-options {item.split("=")[0]}=' in message
    assert '\n' not in message


def test_good_values_pass_and_test_mode_ignores_training(train_tool):
    cfg = train_tool.load_config(QUICKSTART)
    train_tool.check_config_values(cfg, QUICKSTART)
    cfg.train_cfg.max_iters = 'abc'  # not used by tools/test.py
    train_tool.check_config_values(cfg, QUICKSTART, mode='test')
    cfg.test_dataloader.batch_size = 0
    assert 'test_dataloader.batch_size is 0 in' in exit_message(
        lambda: train_tool.check_config_values(cfg, QUICKSTART, 'test'))


def test_misspelled_key_names_the_option_and_the_right_key(train_tool):
    cfg = train_tool.load_config(QUICKSTART, {'train_cfg.max_itres': 5})
    err = TypeError("IterBasedTrainLoop.__init__() got an unexpected "
                    "keyword argument 'max_itres'")
    assert train_tool.config_error_message(err, cfg) == (
        "--cfg-options train_cfg.max_itres: IterBasedTrainLoop got an "
        "unexpected keyword argument 'max_itres' (did you mean "
        "'max_iters'?); fix the key.")
    # a key from the config file itself (not an option) is named by path
    cfg = train_tool.load_config(QUICKSTART)
    train_tool.CFG_OPTION_KEYS.clear()
    cfg.train_dataloader.dataset.data_rot = 'x'
    err = TypeError("BaseDataset.__init__() got an unexpected keyword "
                    "argument 'data_rot'")
    message = train_tool.config_error_message(err, cfg)
    assert message.startswith('config entry train_dataloader.dataset.'
                              "data_rot: BaseDataset got an unexpected")
    assert "(did you mean 'data_root'?)" in message
    assert 'use --data-root DIR' in message


# -- dataloader worker errors -----------------------------------------------
class _BrokenDataset(torch.utils.data.Dataset):

    def __init__(self, error):
        self.error = error

    def __len__(self):
        return 2

    def __getitem__(self, index):
        raise self.error


@pytest.mark.parametrize('error', [
    ImageReadError("LoadImageFromFile: cannot decode 'a.png' as an image"),
    DataError('PairedRandomCrop: gt image is 16x16 (HxW), smaller than the '
              '32x32 patch\nsecond line'),
    FileNotFoundError("no such file: 'b.png'"),
])
def test_worker_errors_are_unwrapped(train_tool, error):
    loader = torch.utils.data.DataLoader(
        _BrokenDataset(error), num_workers=1)
    with pytest.raises(type(error)) as info:
        next(iter(loader))
    assert str(info.value).startswith('Caught ')  # torch's wrapping
    assert train_tool.error_text(info.value) == str(error)
    assert train_tool.config_error_message(info.value, Config()) == \
        str(error).splitlines()[0]


def test_plain_errors_are_unchanged(train_tool):
    err = ValueError('a: b')
    assert train_tool.error_text(err) == 'a: b'
    assert train_tool.error_text(KeyError('X is not in the registry')) == \
        'X is not in the registry'


# -- datasets checked before the first iteration ----------------------------
def quickstart_at(train_tool, root):
    return train_tool.load_config(QUICKSTART, data_root=str(root))


def test_datasets_are_checked_before_training(train_tool, data):
    cfg = quickstart_at(train_tool, data)
    cfg.train_dataloader.dataset.pipeline[1].gt_patch_size = 32
    train_tool.check_datasets(cfg)  # a good setup passes
    # an unreadable validation image fails now, not after 1000 iterations
    (data / 'val' / 'im0.png').write_bytes(b'not an image')
    message = exit_message(lambda: train_tool.check_datasets(cfg))
    assert message.startswith('error: val dataset: LoadImageFromFile: '
                              f"cannot decode '{data / 'val' / 'im0.png'}'")
    # tools/test.py checks the test set only
    cfg.test_dataloader.dataset.data_root = str(data / 'train')
    train_tool.check_datasets(cfg, 'test')
    cfg.test_dataloader.dataset.data_root = str(data / 'val')
    message = exit_message(lambda: train_tool.check_datasets(cfg, 'test'))
    assert message.startswith('error: test dataset: LoadImageFromFile')


def test_empty_and_too_small_train_data(train_tool, data, tmp_path):
    empty = tmp_path / 'empty'
    (empty / 'train').mkdir(parents=True)
    cfg = quickstart_at(train_tool, empty)
    message = exit_message(lambda: train_tool.check_datasets(cfg))
    assert message.startswith('error: train dataset: ImageFolderDataset: no '
                              f"image (png, jpg, jpeg, bmp, tif, webp) found "
                              f"in '{empty / 'train'}'")
    cfg = quickstart_at(train_tool, data)  # 48x48 images, 64x64 patches
    message = exit_message(lambda: train_tool.check_datasets(cfg))
    assert message.startswith('error: train dataset: PairedRandomCrop: gt '
                              f"image '{data / 'train' / 'im0.png'}' is "
                              '48x48 (HxW), smaller than the 64x64 patch')
    cfg.train_dataloader.dataset.pipeline[1].gt_patch_size = 0
    message = exit_message(lambda: train_tool.check_datasets(cfg))
    assert message == (f'error: train dataset ({data / "train"}): '
                       'PairedRandomCrop: gt_patch_size must be a positive '
                       'integer, got 0')


def test_missing_listed_file_is_found(train_tool, tmp_path):
    """Every ``*_path`` / ``*_paths`` entry of the data list is checked."""

    class Listed:

        def __init__(self, infos):
            self.infos = infos

        def __len__(self):
            return len(self.infos)

        def get_data_info(self, index):
            return self.infos[index]

    (tmp_path / 'a.png').write_bytes(b'')
    a, b = str(tmp_path / 'a.png'), str(tmp_path / 'b.png')
    assert train_tool._missing_file(Listed([dict(gt_path=a)])) is None
    assert train_tool._missing_file(
        Listed([dict(gt_path=a), dict(gt_path=a, lr_path=b)])) == b
    assert train_tool._missing_file(Listed([dict(img_paths=[a, b])])) == b
    assert train_tool._missing_file(Listed([dict(key=b)])) is None
    # wrappers: a repeated dataset is checked once, concatenated ones each
    from types import SimpleNamespace
    repeated = SimpleNamespace(dataset=Listed([dict(gt_path=b)]), times=1000)
    assert train_tool._missing_file(repeated) == b
    both = SimpleNamespace(datasets=[Listed([dict(gt_path=a)]),
                                     Listed([dict(lr_path=b)])])
    assert train_tool._missing_file(both) == b


def test_a_bug_in_a_dataset_keeps_its_traceback(train_tool, data,
                                                monkeypatch):
    from invtoolbox.datasets import ImageFolderDataset
    cfg = quickstart_at(train_tool, data)

    def broken(self, index):
        raise AttributeError('a genuine bug')

    monkeypatch.setattr(ImageFolderDataset, '__getitem__', broken)
    with pytest.raises(AttributeError, match='a genuine bug'):
        train_tool.check_datasets(cfg)


# -- Ctrl-C, logging --------------------------------------------------------
def test_interrupted_message(train_tool, tmp_path):
    from types import SimpleNamespace

    from mmengine.runner import IterBasedTrainLoop
    loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)
    loop._iter = 7
    runner = SimpleNamespace(_train_loop=loop, work_dir=str(tmp_path))
    assert train_tool.interrupted_message(runner, 'train') == (
        'interrupted at iteration 7; resume with --resume (no checkpoint '
        'was written yet: it starts over)')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_5.pth'))
    assert train_tool.interrupted_message(runner, 'train') == (
        'interrupted at iteration 7; resume with --resume (from iter_5.pth, '
        'the last checkpoint)')
    assert 'no results were written' in train_tool.interrupted_message(
        runner, 'test')


@pytest.mark.parametrize('interval, max_iters, expected', [(100, 1000, 100),
                                                           (100, 4, 1),
                                                           (100, 50, 5),
                                                           (1, 1000, 1)])
def test_log_interval_is_capped_on_short_runs(train_tool, interval,
                                              max_iters, expected):
    cfg = Config(
        dict(
            default_hooks=dict(logger=dict(type='LoggerHook',
                                           interval=interval)),
            train_cfg=dict(max_iters=max_iters)))
    train_tool.cap_log_interval(cfg)
    assert cfg.default_hooks.logger.interval == expected


# -- end to end --------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.parametrize('case', ['corrupt_with_workers', 'small_image'])
def test_bad_image_during_training_is_one_line(tmp_path, data, case):
    """The first image loads (the check before training passes); the
    second is bad and is read in training, by a worker process or not."""
    bad = data / 'train' / 'im1.png'
    options = list(TINY)
    if case == 'corrupt_with_workers':
        bad.write_bytes(b'\x89PNG not really')
        options.append('train_dataloader.num_workers=2')
        expected = f"LoadImageFromFile: cannot decode '{bad}'"
    else:
        write_images(bad.parent, [48, 16])
        expected = (f"PairedRandomCrop: gt image '{bad}' is 16x16 (HxW), "
                    'smaller than the 32x32 patch')
    proc = run_tool('train.py', [
        QUICKSTART, '--work-dir', tmp_path / 'w', '--data-root', data,
        '--cfg-options', 'train_cfg.max_iters=20', *options[1:]
    ])
    assert one_error_line(proc).startswith(f'error: {expected}')


@pytest.mark.e2e
def test_ctrl_c_is_one_line_and_status_130(tmp_path, data):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1')
    env.pop('INVTB_TRACEBACK', None)
    proc = subprocess.Popen([
        sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), QUICKSTART,
        '--work-dir', str(tmp_path / 'w'), '--data-root', str(data),
        '--cfg-options', 'train_cfg.max_iters=100000',
        'default_hooks.logger.interval=1', *TINY[1:],
        'train_dataloader.num_workers=2', 'default_hooks.checkpoint.interval=2'
    ], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            if re.search(r'Iter\(train\) \[ *3/', line):
                break
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=HANG_TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-3000:]
    assert re.fullmatch(
        r'interrupted at iteration \d+; resume with --resume \(from '
        r'iter_\d+\.pth, the last checkpoint\)', lines[0]), lines[0]


@pytest.mark.e2e
def test_short_run_shows_progress_and_a_short_header(tmp_path, data):
    """4 iterations: each is logged, validation and test show progress, the
    environment and config dumps are in the log file, not on the terminal,
    and the results are named after the new data folder."""
    work_dir = tmp_path / 'w'
    proc = run_tool('train.py', [
        QUICKSTART, '--work-dir', work_dir, '--data-root', data,
        '--cfg-options', *TINY
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for i in range(1, 5):
        assert re.search(rf'Iter\(train\) \[ *{i}/4\]', out), out[-3000:]
    assert 'val: 1/2 batches (data_val), 0:00:' in out
    assert 'val: 2/2 batches (data_val)' in out
    assert 'data_val/PSNR_Y' in out and 'demo_val' not in out
    assert f'train: {QUICKSTART}, work dir {work_dir}' in out
    assert 'device cpu, seed 10, 4 iterations, validation every 4' in out
    dumps = ('System environment', 'Config:', 'Hooks will be executed',
             '"FileClient" will be deprecated')
    for dump in dumps:
        assert dump not in out + proc.stderr
    log = re.search(r'environment and full config in (\S+\.log)',
                    out).group(1)
    with open(log) as f:
        text = f.read()
    for dump in dumps:
        assert dump in text
    assert len(out.splitlines()) < 40, out

    proc = run_tool('test.py', [
        QUICKSTART, work_dir / 'iter_4.pth', '--work-dir', tmp_path / 't',
        '--data-root', data
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'test: 2/2 batches (data_val)' in proc.stdout
    assert '"data_val/PSNR_Y"' in proc.stdout
    assert 'System environment' not in proc.stdout
