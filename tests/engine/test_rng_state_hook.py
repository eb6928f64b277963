# Copyright (c) invtoolbox contributors. All rights reserved.
"""RNGStateHook: RNG states in checkpoints, exact restore, val side stream.

Unit tests with a stand-in runner; the end-to-end check (a SIGKILLed and
resumed ``tools/train.py`` run equals an uninterrupted one) is in
``tests/tools/test_train_test_tools.py``.
"""
import io
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from invtoolbox.engine.hooks import rng_state_hook as module
from invtoolbox.engine.hooks.rng_state_hook import (RNGStateHook,
                                                    collect_rng_state,
                                                    restore_rng_state)


def draws():
    """One number from each global generator (advances them)."""
    return (random.random(), float(np.random.rand()), float(torch.rand(())),
            float(np.random.randn()))


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fake_runner(hooks=(), resume=True, iteration=0, epoch=0, loop=None):
    return SimpleNamespace(
        hooks=list(hooks), _resume=resume, iter=iteration, epoch=epoch,
        train_loop=loop, max_iters=8, max_epochs=1)


def iter_loop(done, batches):
    """An IterBasedTrainLoop that has trained ``done`` iterations."""
    loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)
    loop._iter = done
    loop.dataloader_iterator = iter(batches)
    return loop


def augmenting_batches(count):
    """A dataloader whose batches draw from the global generators."""
    for _ in range(count):
        yield draws()


def test_state_roundtrip_and_weights_only_serialisation():
    seed_all(1)
    np.random.randn()  # a cached Gaussian is part of numpy's state
    state = collect_rng_state()
    expected = [draws() for _ in range(3)]
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    # plain tensors and Python values: no allow-list needed
    loaded = torch.load(buffer, weights_only=True)
    draws()
    restore_rng_state(loaded)
    assert [draws() for _ in range(3)] == expected


def test_checkpoint_gets_states_and_load_from_is_ignored():
    hook = RNGStateHook()
    checkpoint = {}
    torch.manual_seed(5)
    hook.before_save_checkpoint(fake_runner(), checkpoint)
    saved = checkpoint['rng_states']
    assert saved['world_size'] == 1 and len(saved['states']) == 1
    assert torch.equal(saved['states'][0]['torch'], torch.get_rng_state())

    # load_from (not resume): the generators are left alone
    runner = fake_runner(resume=False, iteration=3,
                         loop=iter_loop(3, augmenting_batches(10)))
    hook.after_load_checkpoint(runner, checkpoint)
    torch.manual_seed(9)
    state = torch.get_rng_state()
    hook.before_train(runner)
    assert torch.equal(torch.get_rng_state(), state)


def test_resume_restores_after_mmengine_dataloader_skip():
    """The restore happens between the replayed batches and the next one."""
    hook = RNGStateHook()
    checkpoint = {}
    seed_all(0)
    hook.before_save_checkpoint(fake_runner(), checkpoint)
    # uninterrupted run: the next batch (and the model) draw from here
    expected_batch = draws()
    expected_model = draws()

    # resumed run: re-seeded differently, then mmengine replays 3 batches
    seed_all(123)
    loop = iter_loop(3, augmenting_batches(10))
    runner = fake_runner(iteration=3, loop=loop)
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train(runner)
    wrapper = loop.dataloader_iterator
    for _ in range(3):  # IterBasedTrainLoop.run's skip
        next(loop.dataloader_iterator)
    assert loop.dataloader_iterator is wrapper
    assert next(loop.dataloader_iterator) == expected_batch
    assert draws() == expected_model
    assert loop.dataloader_iterator is not wrapper  # unwrapped again


def test_epoch_loop_restores_before_training():
    hook = RNGStateHook()
    checkpoint = {}
    hook.before_save_checkpoint(fake_runner(), checkpoint)
    expected = draws()
    draws()
    loop = EpochBasedTrainLoop.__new__(EpochBasedTrainLoop)
    runner = fake_runner(iteration=3, loop=loop)
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train(runner)
    assert draws() == expected


@pytest.mark.parametrize('saved,warning', [
    (None, 'has no RNG states'),
    (dict(world_size=2, states=[None, None]), 'this run has 1'),
])
def test_unusable_states_warn_and_leave_generators(saved, warning,
                                                   monkeypatch):
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    hook = RNGStateHook()
    checkpoint = {} if saved is None else {'rng_states': saved}
    runner = fake_runner(iteration=3, loop=iter_loop(3, iter([])))
    hook.after_load_checkpoint(runner, checkpoint)
    assert len(logged) == 1 and warning in logged[0]
    torch.manual_seed(4)
    state = torch.get_rng_state()
    hook.before_train(runner)
    assert torch.equal(torch.get_rng_state(), state)
    assert hook._pending is None


def test_validation_runs_on_a_side_stream():
    seed_all(0)
    expected = [draws() for _ in range(2)]
    hook = RNGStateHook()
    runner = fake_runner()
    seed_all(0)
    hook.before_val(runner)
    draws()  # e.g. sampled latents in predict
    # the best checkpoint written during validation stores the pre-val state
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    hook.after_val(runner)
    assert [draws() for _ in range(2)] == expected
    restore_rng_state(checkpoint['rng_states']['states'][0])
    assert draws() == expected[0]

    hook = RNGStateHook(isolate_val=False)
    seed_all(0)
    hook.before_val(runner)
    draws()
    hook.after_val(runner)
    assert draws() != expected[0]


def test_checkpoint_due_follows_checkpoint_hook():
    hook = RNGStateHook()
    by_iter = CheckpointHook(interval=3, by_epoch=False)
    runner = fake_runner(hooks=[by_iter])
    due = []
    for it in range(8):
        runner.iter = it
        due.append(hook._checkpoint_due(runner, epoch_end=False))
    # after iterations 3, 6 and the last one (save_last)
    assert due == [False, False, True, False, False, True, False, True]
    assert not hook._checkpoint_due(runner, epoch_end=True)
    by_epoch = CheckpointHook(interval=2, by_epoch=True, save_last=False)
    runner = fake_runner(hooks=[by_epoch])
    runner.max_epochs = 10
    flags = []
    for epoch in range(4):
        runner.epoch = epoch
        flags.append(hook._checkpoint_due(runner, epoch_end=True))
    assert flags == [False, True, False, True]
    assert not hook._checkpoint_due(fake_runner(), epoch_end=False)


def test_distributed_states_are_gathered_per_rank(monkeypatch):
    """Every rank's state goes into the checkpoint; each rank gets its own."""
    rank_states = []
    for seed in (10, 11):
        torch.manual_seed(seed)
        rank_states.append(collect_rng_state())
    calls = []

    def all_gather_object(obj):
        calls.append(obj)
        return rank_states

    monkeypatch.setattr(module, 'get_dist_info', lambda: (1, 2))
    monkeypatch.setattr(module, 'all_gather_object', all_gather_object)
    hook = RNGStateHook()
    runner = fake_runner(hooks=[CheckpointHook(interval=3, by_epoch=False)])
    runner.iter = 1
    hook.after_train_iter(runner, 1)
    assert calls == []  # no checkpoint after iteration 2: no collective
    runner.iter = 2
    hook.after_train_iter(runner, 2)
    assert len(calls) == 1
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['rng_states']['world_size'] == 2
    assert [torch.equal(s['torch'], r['torch']) for s, r in zip(
        checkpoint['rng_states']['states'], rank_states)] == [True, True]

    # resuming on rank 1 restores rank 1's state
    loop = EpochBasedTrainLoop.__new__(EpochBasedTrainLoop)
    resumed = fake_runner(iteration=3, loop=loop)
    hook = RNGStateHook()
    hook.after_load_checkpoint(resumed, checkpoint)
    torch.manual_seed(99)
    hook.before_train(resumed)
    assert torch.equal(torch.get_rng_state(), rank_states[1]['torch'])


def test_registered_by_register_all_modules():
    from invtoolbox.registry import HOOKS
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    assert HOOKS.get('RNGStateHook') is RNGStateHook
    assert HOOKS.build(dict(type='RNGStateHook', isolate_val=False)) \
        .isolate_val is False
