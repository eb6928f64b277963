# Copyright (c) invtoolbox contributors. All rights reserved.
"""EvalProgressHook: progress lines in validation and test loops."""
from types import SimpleNamespace

import pytest

from invtoolbox.engine.hooks import EvalProgressHook
from invtoolbox.engine.hooks import eval_progress_hook as module


class Clock:

    def __init__(self):
        self.now = 100.

    def __call__(self):
        return self.now


def fake_runner(total, mode='val', name=None):
    lines = []
    loop = SimpleNamespace(dataloader=list(range(total)),
                           current_dataset_name=name)
    runner = SimpleNamespace(logger=SimpleNamespace(info=lines.append))
    setattr(runner, f'{mode}_loop', loop)
    return runner, lines


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(module.time, 'perf_counter', clock)
    return clock


def run(hook, runner, mode, total, clock, seconds_per_batch=2.):
    getattr(hook, f'before_{mode}_epoch')(runner)
    for index in range(total):
        clock.now += seconds_per_batch
        getattr(hook, f'after_{mode}_iter')(runner, index)


def test_lines_every_tenth_with_count_elapsed_and_time_left(clock):
    hook = EvalProgressHook()
    runner, lines = fake_runner(24, name='Set5')
    run(hook, runner, 'val', 24, clock)
    # the first batch, every ceil(24 / 10) = 3 batches, the last one
    counts = [int(line.split()[1].split('/')[0]) for line in lines]
    assert counts == [1, 3, 6, 9, 12, 15, 18, 21, 24]
    assert lines[0] == ('val: 1/24 batches (Set5), 0:00:02 elapsed, about '
                        '0:00:46 left')
    assert lines[-1] == 'val: 24/24 batches (Set5), 0:00:48 elapsed'


def test_slow_batches_log_at_least_every_max_seconds(clock):
    hook = EvalProgressHook(num_lines=2, max_seconds=60)
    runner, lines = fake_runner(10, mode='test')
    run(hook, runner, 'test', 10, clock, seconds_per_batch=40.)
    counts = [int(line.split()[1].split('/')[0]) for line in lines]
    # 1 (first), 5 and 10 (halves); 3, 7 and 9: 60 s since the last line
    assert counts == [1, 3, 5, 7, 9, 10]
    assert lines[-1].startswith('test: 10/10 batches, 0:06:40 elapsed')


def test_each_pass_starts_again_and_unknown_totals(clock):
    hook = EvalProgressHook()
    runner, lines = fake_runner(2)
    run(hook, runner, 'val', 2, clock)
    run(hook, runner, 'val', 2, clock)
    assert [line.split(',')[0] for line in lines] == [
        'val: 1/2 batches', 'val: 2/2 batches'] * 2
    # a loop without a length (an iterable): the count alone
    runner.val_loop.dataloader = iter(range(3))
    lines.clear()
    run(hook, runner, 'val', 3, clock)
    assert lines[0].startswith('val: 1 batches, ')


@pytest.mark.parametrize('kwargs', [dict(num_lines=0), dict(num_lines=1.5),
                                    dict(max_seconds=0)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match='EvalProgressHook'):
        EvalProgressHook(**kwargs)


def test_in_a_runner_with_a_multi_test_loop(tmp_path):
    """The hook in a real Runner: MultiTestLoop over two named datasets
    (3 batches in all); the lines are in the run's log file."""
    import glob

    from tests.engine.test_multi_loops import loader, make_folder, make_runner
    make_folder(tmp_path / 'a', [(12, 12)], seed=0)
    make_folder(tmp_path / 'b', [(12, 12), (12, 12)], seed=1)
    runner = make_runner(
        tmp_path,
        test_dataloader=[loader(tmp_path / 'a', 'SetA'),
                         loader(tmp_path / 'b', 'SetB')],
        test_cfg=dict(type='MultiTestLoop'),
        test_evaluator=[dict(type='PSNR')],
        custom_hooks=[dict(type='EvalProgressHook')])
    runner.test()
    log = open(glob.glob(str(tmp_path / 'work' / '*' / '*.log'))[0]).read()
    lines = [line.split(' - INFO - ')[1] for line in log.splitlines()
             if ' - INFO - test: ' in line]
    assert [line.split(',')[0] for line in lines] == [
        'test: 1/3 batches (SetA)', 'test: 2/3 batches (SetB)',
        'test: 3/3 batches (SetB)']


def test_a_loop_with_num_batches_sets_the_total(clock):
    """A codec sweep runs its dataloader once per codec."""
    hook = EvalProgressHook()
    runner, lines = fake_runner(2, mode='test')
    runner.test_loop.num_batches = 6
    run(hook, runner, 'test', 6, clock)
    assert [line.split(',')[0] for line in lines] == [
        f'test: {i}/6 batches' for i in range(1, 7)]
