# Copyright (c) invtoolbox contributors. All rights reserved.
"""Exact resume: global RNG states in checkpoints, restored at the right point.

mmengine 0.10.7 re-seeds the generators on resume instead of restoring them,
and its ``IterBasedTrainLoop`` skips the batches already trained on by
iterating the dataloader again. Random augmentation in the main process
(``num_workers=0``) and random numbers drawn by the model (noise, latent
samples) then differ from the uninterrupted run. :class:`RNGStateHook` makes a
resumed run bit-identical to an uninterrupted one:

1. every checkpoint gets ``checkpoint['rng_states']``: the ``random``,
   ``numpy``, ``torch`` (and CUDA) generator states of every rank, captured
   when the checkpoint is written (ranks are gathered just before the
   ``CheckpointHook`` saves);
2. on resume the states are restored just before the first new batch is
   fetched, i.e. *after* mmengine's dataloader skip (whose augmentation draws
   would otherwise shift the stream); dataloader workers need nothing: the
   skip replays the batches through them, so their generators (seeded by
   mmengine's ``worker_init_fn``) reach the same states;
3. validation runs on a side stream: the states are saved in ``before_val``
   and restored in ``after_val``, so validating (which mmengine does after
   the checkpoint of the same iteration is written, and which may sample
   random latents) never changes the training stream. A run's training
   trajectory therefore does not depend on ``val_interval`` either.

Exactness needs a fixed seed (``tools/train.py`` takes the checkpoint's seed
when the config has none) and an unchanged number of processes and workers.
Limits, with an ``EpochBasedTrainLoop`` only: mmengine restarts an epoch
from its first batch when resuming from a mid-epoch checkpoint, and with
``persistent_workers=True`` and ``num_workers > 0`` the resumed run starts
fresh workers, whose generators differ from the long-lived workers of the
uninterrupted run.

A checkpoint loaded with ``load_from`` (not resumed) leaves the generators
alone. ``tools/train.py`` adds this hook to every run; in a config::

    custom_hooks = [dict(type='RNGStateHook')]
"""
import logging
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log

from ...registry import HOOKS
from ...utils.checkpoint_trust import register_checkpoint_loader

CHECKPOINT_KEY = 'rng_states'


def collect_rng_state() -> dict:
    """The states of the global ``random``, ``numpy`` and ``torch`` generators.

    Only tensors and plain Python values (the numpy key array is stored as
    an int64 tensor), so the state loads with ``weights_only=True``.
    """
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(
            name=name,
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached_gaussian)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Inverse of :func:`collect_rng_state`."""
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    np_state = state['numpy']
    np.random.set_state(
        (np_state['name'], np_state['keys'].numpy().astype(np.uint32),
         np_state['pos'], np_state['has_gauss'],
         np_state['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            print_log(
                f'the checkpoint holds the CUDA generator states of '
                f'{len(cuda)} devices, this process sees '
                f'{torch.cuda.device_count()}; CUDA states not restored.',
                logger='current',
                level=logging.WARNING)


class _RestoreAfterSkip:
    """Wraps the train loop's dataloader iterator during mmengine's skip.

    Passes the first ``skip`` batches through (mmengine's replay of the
    batches already trained on), then restores ``state`` right before the
    next batch is fetched and puts the original iterator back.
    """

    def __init__(self, loop, iterator, skip: int, state: dict) -> None:
        self._loop = loop
        self._iterator = iterator
        self._remaining = skip
        self._state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self._remaining > 0:
            self._remaining -= 1
            return next(self._iterator)
        restore_rng_state(self._state)
        self._loop.dataloader_iterator = self._iterator
        return next(self._iterator)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Store RNG states in checkpoints and restore them exactly on resume.

    See the module documentation for what is stored, when it is restored and
    why validation runs on a side stream.

    Args:
        isolate_val (bool): restore the generators after each validation so
            that validation does not consume training randomness. Required
            for exact resume when validation runs at a checkpoint iteration.
            Default: True.
    """

    # Before the CheckpointHook (VERY_LOW) in ``after_train_iter``: in
    # distributed runs the ranks' states are gathered there.
    priority = 'LOW'

    def __init__(self, isolate_val: bool = True) -> None:
        self.isolate_val = isolate_val
        self._pending: Optional[dict] = None
        self._gathered: Optional[List[dict]] = None
        self._gathered_at: Optional[tuple] = None
        self._val_state: Optional[dict] = None
        self._val_states: Optional[List[dict]] = None

    # -- set-up -------------------------------------------------------------
    def before_run(self, runner) -> None:
        # The checkpoints this hook extends must be resumable on torch >= 2.6
        # (weights-only with the allow-list of the one trust policy).
        register_checkpoint_loader()

    # -- saving -------------------------------------------------------------
    @staticmethod
    def _checkpoint_hooks(runner) -> List[CheckpointHook]:
        return [h for h in runner.hooks if isinstance(h, CheckpointHook)]

    def _checkpoint_due(self, runner, epoch_end: bool) -> bool:
        """Whether a CheckpointHook saves in this after_train_iter/epoch."""
        for hook in self._checkpoint_hooks(runner):
            if epoch_end and hook.by_epoch:
                due = hook.every_n_epochs(runner, hook.interval,
                                          hook.save_begin)
                last = hook.is_last_train_epoch(runner)
            elif not epoch_end and not hook.by_epoch:
                due = hook.every_n_train_iters(runner, hook.interval,
                                               hook.save_begin)
                last = hook.is_last_train_iter(runner)
            else:
                continue
            if due or (hook.save_last and last):
                return True
        return False

    def _gather_if_due(self, runner, epoch_end: bool) -> None:
        _, world_size = get_dist_info()
        if world_size > 1 and self._checkpoint_due(runner, epoch_end):
            # a collective: every rank evaluates the same condition
            self._gathered = all_gather_object(collect_rng_state())
            self._gathered_at = (runner.epoch, runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self._gather_if_due(runner, epoch_end=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_due(runner, epoch_end=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        _, world_size = get_dist_info()
        if self._val_state is not None:  # saving the best checkpoint in val
            states = self._val_states
        elif self._gathered_at == (runner.epoch, runner.iter):
            states = self._gathered
        else:
            states = None
        if states is None:
            states = [collect_rng_state()]
            if world_size > 1:
                print_log(
                    'RNGStateHook: the checkpoint is saved outside the '
                    'CheckpointHook schedule, only rank 0 RNG states are '
                    'stored; resuming from it will not be bit-identical.',
                    logger='current',
                    level=logging.WARNING)
        checkpoint[CHECKPOINT_KEY] = dict(
            world_size=world_size, states=list(states))

    # -- resuming -----------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from: weights only, generators untouched
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None:
            print_log(
                'RNGStateHook: the resumed checkpoint has no RNG states '
                '(written without this hook); training continues from the '
                're-seeded generators and will not be bit-identical to an '
                'uninterrupted run.',
                logger='current',
                level=logging.WARNING)
            return
        rank, world_size = get_dist_info()
        if saved['world_size'] != world_size or len(
                saved['states']) != world_size:
            print_log(
                f'RNGStateHook: the checkpoint holds RNG states of '
                f'{len(saved["states"])} of {saved["world_size"]} processes, '
                f'this run has {world_size}; generators not restored.',
                logger='current',
                level=logging.WARNING)
            return
        self._pending = saved['states'][rank]

    def before_train(self, runner) -> None:
        if self._pending is None:
            return
        from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
        state, self._pending = self._pending, None
        loop = runner.train_loop
        skips = (
            isinstance(loop, IterBasedTrainLoop)
            and type(loop).run is IterBasedTrainLoop.run and loop.iter > 0)
        if skips:
            # mmengine's run() replays ``loop.iter`` batches first
            loop.dataloader_iterator = _RestoreAfterSkip(
                loop, loop.dataloader_iterator, loop.iter, state)
        else:
            if not isinstance(loop, (IterBasedTrainLoop,
                                     EpochBasedTrainLoop)):
                print_log(
                    f'RNGStateHook: {type(loop).__name__} is not an mmengine '
                    'train loop; RNG states restored before training starts.',
                    logger='current',
                    level=logging.WARNING)
            restore_rng_state(state)

    # -- validation on a side stream ---------------------------------------
    def before_val(self, runner) -> None:
        if not self.isolate_val:
            return
        self._val_state = collect_rng_state()
        self._val_states = [self._val_state]
        _, world_size = get_dist_info()
        if world_size > 1:
            wants_best = any(
                h.save_best is not None
                for h in self._checkpoint_hooks(runner))
            self._val_states = all_gather_object(
                self._val_state) if wants_best else None

    def after_val(self, runner) -> None:
        if self._val_state is None:
            return
        restore_rng_state(self._val_state)
        self._val_state = self._val_states = None
