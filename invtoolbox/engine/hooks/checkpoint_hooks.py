# Copyright (c) invtoolbox contributors. All rights reserved.
"""Checkpoints that are never half written, and loads that never half fit.

:class:`AtomicCheckpointHook` is mmengine's ``CheckpointHook`` (same options:
``interval``, ``by_epoch``, ``max_keep_ckpts``, ``save_last``, ``save_best``,
``out_dir``, ``published_keys``, ...) writing every file atomically: each
checkpoint (``iter_N.pth``, ``epoch_N.pth``, ``best_*.pth``, the published
ones) and ``last_checkpoint`` go to a temporary file in the same folder
(``.iter_N.pth.XXXX.tmp``), are flushed to disk and only then renamed over
the destination. A full disk, a
Ctrl-C or a SIGKILL during a save therefore never leaves a truncated
checkpoint, and the older checkpoints a save would rotate out
(``max_keep_ckpts``, the previous best) are removed only after the new one is
complete. A failed write ends the run with one line
(:class:`CheckpointWriteError`). The configs of ``configs/`` use it, and
``tools/train.py`` swaps mmengine's ``CheckpointHook`` for it in any other
config.

:class:`CheckpointMatchHook` checks a checkpoint against the model before the
Runner loads it (``load_from``, ``resume``, ``tools/test.py``), with the
matcher of :func:`invtoolbox.apis.init_model`
(:func:`~invtoolbox.apis.inference.check_checkpoint_fits`): mmengine loads
with ``strict=False`` and only warns, so weights of another architecture or
scale would otherwise leave the network at its random initialisation. On
resume it also checks that the optimizer state fits. ``tools/train.py`` and
``tools/test.py`` add it to every run; ``strict=False`` (config variable
``load_strict = False``) allows a deliberate partial load and logs what was
not loaded.
"""
import contextlib
import errno
import glob
import hashlib
import logging
import os
import os.path as osp
import pickle
import re
from typing import Any, List, Optional, Sequence

from mmengine.dist import is_main_process, master_only
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...apis.checkpoint_io import write_file_atomic
from ...errors import InvToolboxError
from ...registry import HOOKS

__all__ = [
    'AtomicCheckpointHook', 'CheckpointMatchHook', 'AtomicLocalBackend',
    'CheckpointWriteError', 'ATOMIC_BACKEND', 'TEMPORARY_CHECKPOINT'
]

#: mmengine file-backend name of :class:`AtomicLocalBackend`.
ATOMIC_BACKEND = 'invtoolbox_atomic_local'

#: Temporary files of an interrupted atomic save (``write_path_atomic``
#: names them ``.<file name>.<random>.tmp`` next to the destination).
TEMPORARY_CHECKPOINT = re.compile(
    r'^\.((iter|epoch)_\d+\.pth|best_.*\.pth|last_checkpoint)\.\w+\.tmp$')


class CheckpointWriteError(InvToolboxError, OSError):
    """A checkpoint could not be written (full disk, no permission, ...);
    the files written before are intact."""


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put`` / ``put_text`` write
    atomically (:func:`invtoolbox.apis.checkpoint_io.write_file_atomic`:
    temporary file, fsync, rename). Reading, listing and removing are
    ``LocalBackend``'s."""

    def put(self, obj: bytes, filepath) -> None:
        write_file_atomic(filepath, lambda f: f.write(obj))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


class _DeferredRemoval:
    """A file backend whose ``remove`` / ``rmtree`` only note the path: the
    caller removes the files once the new checkpoint is complete."""

    def __init__(self, backend, removals: List[str]) -> None:
        self._backend = backend
        self._removals = removals

    def remove(self, path) -> None:
        self._removals.append(path)

    def rmtree(self, path) -> None:
        self._removals.append(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with atomic writes (module doc).

    Takes every argument of ``mmengine.hooks.CheckpointHook``. Checkpoints
    to a local ``out_dir`` (the default: the work dir) are written through
    :class:`AtomicLocalBackend`; with ``backend_args`` for another storage
    backend (e.g. ``petrel``) the files are written as that backend does.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.file_client_args is None and self._is_local():
            self.backend_args = dict(backend=ATOMIC_BACKEND)
            self.file_backend = AtomicLocalBackend()
            if is_main_process():
                self._remove_temporary_files(runner)

    def _is_local(self) -> bool:
        backend = (self.backend_args or {}).get('backend')
        if backend not in (None, 'local', ATOMIC_BACKEND):
            return False
        return '://' not in str(self.out_dir)

    def _remove_temporary_files(self, runner) -> None:
        """Temporary files left by a run killed while saving."""
        folders = {str(self.out_dir), runner.work_dir}
        for folder in folders:
            for path in glob.glob(osp.join(glob.escape(folder), '.*.tmp')):
                if TEMPORARY_CHECKPOINT.match(osp.basename(path)):
                    os.remove(path)
                    runner.logger.info(
                        f'Removed {path}, a checkpoint left half written by '
                        'an interrupted run.')

    def _write_failed(self, runner, path: str, err: OSError):
        """:class:`CheckpointWriteError` for a failed save of ``path``."""
        reason = err.strerror or str(err) or type(err).__name__
        code = errno.errorcode.get(err.errno, '') if err.errno else ''
        latest = None
        with contextlib.suppress(OSError):
            with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
                latest = f.read().strip() or None
        kept = (f'the previous checkpoints are intact (latest: {latest})'
                if latest else 'no earlier checkpoint of this run was lost')
        free = ('free some space (or point the checkpoint hook\'s out_dir at '
                'another disk)' if err.errno == errno.ENOSPC else
                'fix the folder')
        return CheckpointWriteError(
            f'cannot write checkpoint {path} at {self._position(runner)}: '
            f'{reason}{f" ({code})" if code else ""}; {kept}; {free} and '
            'resume with tools/train.py CONFIG --resume.')

    def _position(self, runner) -> str:
        return (f'epoch {runner.epoch + 1}'
                if self.by_epoch else f'iteration {runner.iter + 1}')

    def _save_checkpoint_with_step(self, runner, step, meta):
        # mmengine 0.10.7's method, reordered: the checkpoint rotated out by
        # max_keep_ckpts is removed after the new one is complete, and
        # last_checkpoint is written atomically (mmengine opens it with 'w').
        rotated = None
        if self.max_keep_ckpts > 0:
            # _save_checkpoint and _save_best_checkpoint may call this
            # method twice for one step
            if not (len(self.keep_ckpt_ids) > 0
                    and self.keep_ckpt_ids[-1] == step):
                if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                    rotated = self.keep_ckpt_ids.popleft()
                self.keep_ckpt_ids.append(step)
                runner.message_hub.update_info('keep_ckpt_ids',
                                               list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
        except OSError as err:
            raise self._write_failed(runner, self.last_ckpt, err) from err

        # Model parallel-like training should involve pulling sharded states
        # from all ranks, but skip the following procedure.
        if not is_main_process():
            return
        save_file = osp.join(runner.work_dir, 'last_checkpoint')
        try:
            write_file_atomic(save_file,
                              lambda f: f.write(str(self.last_ckpt).encode()))
        except OSError as err:
            raise self._write_failed(runner, save_file, err) from err
        if rotated is not None:
            self._remove(
                self.file_backend.join_path(self.out_dir,
                                            self.filename_tmpl.format(rotated)))

    @master_only
    def _publish_model(self, runner, ckpt_path: str) -> None:
        # mmengine 0.10.7's method (``published_keys``), reading the run's
        # checkpoint under the trust policy (mmengine's torch.load default
        # refuses its own checkpoints on torch >= 2.6) and writing through
        # this hook's backend: atomically for a local out_dir.
        from mmengine.runner import save_checkpoint

        from ...utils.checkpoint_trust import load_checkpoint_file
        checkpoint = load_checkpoint_file(ckpt_path, 'cpu')
        removed_keys = [k for k in checkpoint if k not in self.published_keys]
        for key in removed_keys:
            checkpoint.pop(key)
        if removed_keys:
            print_log(
                f'Key {removed_keys} will be removed because they are not '
                'found in published_keys. If you want to keep them, '
                f'please set `{removed_keys}` in published_keys',
                logger='current')
        sha = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
        final_path = osp.splitext(ckpt_path)[0] + f'-{sha[:8]}.pth'
        try:
            save_checkpoint(
                checkpoint, final_path, backend_args=self.backend_args)
        except OSError as err:
            raise self._write_failed(runner, final_path, err) from err
        print_log(
            f'The checkpoint ({ckpt_path}) is published to {final_path}.',
            logger='current')

    def _remove(self, path) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            # checkpoints saved by deepspeed are directories
            self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        # mmengine removes the previous best checkpoint before writing the
        # new one: defer that until the new one is written.
        backend, removals = self.file_backend, []
        self.file_backend = _DeferredRemoval(backend, removals)
        try:
            super()._save_best_checkpoint(runner, metrics)
        except OSError as err:
            if isinstance(err, CheckpointWriteError):
                raise
            raise self._write_failed(runner, self.best_ckpt_path
                                     or 'best checkpoint', err) from err
        finally:
            self.file_backend = backend
        for path in removals:
            self._remove(path)


def _hint(resume: bool) -> str:
    if resume:
        return ('resume a run only from its own checkpoints (same config); '
                'to start from these weights with a new optimizer, use '
                '--cfg-options load_from=FILE without --resume.')
    return ('use the config of the arch/scale the weights were trained for, '
            'or load only the weights that fit with --cfg-options '
            'load_strict=False.')


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Refuse a checkpoint that does not fit the model before the Runner
    loads it (module doc).

    Args:
        strict (bool): ``True`` (default): a checkpoint whose generator /
            restorer weights (every weight, for a model without those parts)
            differ from the model's in keys or shapes ends the run with one
            line naming the checkpoint, the config and the first mismatched
            keys. ``False``: load what fits and log what was not loaded.
        fresh_parts (Sequence[str]): model parts that start from their
            initialisation when the checkpoint has none of their weights
            (config variable ``load_fresh_parts``, e.g. IRN-CRM's
            ``['restorer']`` on a generator-only checkpoint); everything
            else stays strict. Not applied on resume. Default: none.
    """

    priority = 'VERY_HIGH'  # before other hooks read the checkpoint

    def __init__(self, strict: bool = True,
                 fresh_parts: Sequence[str] = ()) -> None:
        if not isinstance(strict, bool):
            raise TypeError('CheckpointMatchHook: strict must be True or '
                            f'False, got {strict!r}.')
        if isinstance(fresh_parts, str) or not all(
                isinstance(p, str) and p for p in fresh_parts):
            raise TypeError('CheckpointMatchHook: fresh_parts must be a list '
                            f'of part names, got {fresh_parts!r}.')
        self.strict = strict
        self.fresh_parts = tuple(fresh_parts)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        from ...apis.inference import (CheckpointMismatchError,
                                       check_checkpoint_fits)
        from ...models.base_models.official_converter import strip_state_dict
        path = str(
            getattr(runner, '_load_from', None) or runner.cfg.get('load_from')
            or 'the checkpoint')
        config = getattr(runner.cfg, 'filename', None)
        config_name = f'config {config!r}' if config else 'the config'
        resume = bool(getattr(runner, '_resume', False))
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        try:
            state = strip_state_dict(checkpoint, f'checkpoint {path!r}')
        except ValueError as err:
            raise CheckpointMismatchError(str(err)) from None
        fit = check_checkpoint_fits(
            model.state_dict(),
            state,
            path,
            config_name,
            strict=self.strict or resume,
            hint=_hint(resume),
            fresh_parts=() if resume else self.fresh_parts)
        if fit.problems or fit.missing or fit.ignored or fit.mismatched:
            self._log_partial(path, fit)
        if resume:
            self._check_optimizer(runner, checkpoint, path, config_name)

    def _log_partial(self, path: str, fit) -> None:
        def some(keys):
            return ', '.join(keys[:5]) + (' ...' if len(keys) > 5 else '')

        parts = []
        if fit.missing or fit.mismatched:
            kept = fit.missing + fit.mismatched
            parts.append(f'{len(kept)} model weights not loaded (they keep '
                         f'their initial values): {some(kept)}')
        if fit.ignored:
            parts.append(f'{len(fit.ignored)} checkpoint entries ignored '
                         f'(not in the model): {some(fit.ignored)}')
        fresh = [p for p in self.fresh_parts
                 if any(k.startswith(f'{p}.') for k in fit.missing)]
        how = 'partial load (load_strict=False)' if fit.problems else \
            (f'{", ".join(fresh)} not in the checkpoint, started fresh '
             '(load_fresh_parts)' if fresh else
             'outside the generator/restorer')
        print_log(
            f'checkpoint {path}: {how}: ' + '; '.join(parts) + '.',
            logger='current',
            level=logging.WARNING if fit.problems else logging.INFO)

    @staticmethod
    def _check_optimizer(runner, checkpoint: dict, path: str,
                         config_name: str) -> None:
        """The saved optimizer state must fit the run's optimizer(s): same
        parameter groups, same state shapes (torch checks neither the shapes
        nor, for a wrapper dict, the names, and fails later or not at all).
        """
        from ...apis.inference import CheckpointMismatchError
        saved = checkpoint.get('optimizer')
        wrapper = runner.optim_wrapper
        if saved is None or not hasattr(wrapper, 'state_dict'):
            return
        wrappers = getattr(wrapper, 'optim_wrappers', None)
        if wrappers is not None:  # OptimWrapperDict: name -> state
            if not isinstance(saved, dict) or set(saved) != set(wrappers):
                names = sorted(saved) if isinstance(saved, dict) else saved
                raise CheckpointMismatchError(
                    f'checkpoint {path!r}: its optimizer state is for '
                    f'{names}, {config_name} trains {sorted(wrappers)}; '
                    + _hint(True))
            pairs = [(name, wrappers[name], saved[name]) for name in wrappers]
        else:
            pairs = [('optimizer', wrapper, saved)]
        for name, optim_wrapper, state in pairs:
            problem = _optimizer_problem(optim_wrapper.optimizer, state)
            if problem:
                raise CheckpointMismatchError(
                    f'checkpoint {path!r}: its {name} state does not fit '
                    f'the optimizer of {config_name} ({problem}); '
                    + _hint(True))


def _optimizer_problem(optimizer, state: Any) -> Optional[str]:
    """Why ``state`` (an optimizer state dict) does not fit ``optimizer``,
    or None."""
    if not isinstance(state, dict) or 'param_groups' not in state:
        return 'no param_groups in it'
    groups = optimizer.param_groups
    saved_groups = state['param_groups']
    if len(saved_groups) != len(groups):
        return (f'{len(saved_groups)} parameter groups, the optimizer has '
                f'{len(groups)}')
    per_param = state.get('state', {})
    for index, (group, saved_group) in enumerate(zip(groups, saved_groups)):
        if len(saved_group['params']) != len(group['params']):
            return (f'group {index} has {len(saved_group["params"])} '
                    f'parameters, the optimizer\'s {len(group["params"])}')
        for param, key in zip(group['params'], saved_group['params']):
            for name, value in (per_param.get(key) or {}).items():
                shape = getattr(value, 'shape', None)
                if shape is not None and len(shape) > 0 and \
                        tuple(shape) != tuple(param.shape):
                    return (f'{name} of parameter {key} has shape '
                            f'{tuple(shape)}, the parameter '
                            f'{tuple(param.shape)}')
    return None
