# Copyright (c) invtoolbox contributors. All rights reserved.
"""AtomicCheckpointHook: mmengine's CheckpointHook options, atomic files.

Real Runners on the toy setup of ``tests/data`` (a 2-conv restorer on 8x8
images). The tools-level checks (one-line errors, SIGKILL during a save,
resuming) are in ``tests/tools/test_checkpoint_safety.py``.
"""
import errno
import io
import os
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from invtoolbox.engine.hooks import checkpoint_hooks
from invtoolbox.engine.hooks.checkpoint_hooks import (AtomicCheckpointHook,
                                                      AtomicLocalBackend,
                                                      CheckpointWriteError)
from tests.helpers import REPO_ROOT

DATA = REPO_ROOT / 'tests' / 'data'


@pytest.fixture(autouse=True)
def _toy_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train(folder, hook_type, max_iters=6, **options):
    """Train the toy config for ``max_iters`` with a checkpoint every
    iteration, validation every 2; returns the work dir."""
    cfg = Config.fromfile(str(DATA / 'toy_config.py'))
    cfg.work_dir = str(folder / 'run')
    cfg.experiment_name = f'ckpt_{uuid.uuid4().hex}'
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = 2
    cfg.default_hooks.checkpoint = dict(
        type=hook_type, interval=1, by_epoch=False, **options)
    cfg.custom_hooks = []
    Runner.from_cfg(cfg).train()
    return folder / 'run'


def listing(folder):
    return sorted(
        osp.relpath(osp.join(root, name), folder)
        for root, _, names in os.walk(folder) for name in names
        if name.endswith(('.pth', '.tmp')) or name == 'last_checkpoint')


def test_same_files_as_mmengine_checkpoint_hook(tmp_path):
    """interval, max_keep_ckpts, save_best, save_last and out_dir give the
    files mmengine's own hook gives, with the same contents."""
    runs = {}
    for hook in ('CheckpointHook', 'AtomicCheckpointHook'):
        top = tmp_path / hook
        options = dict(
            max_keep_ckpts=2, save_best='toy/psnr', rule='greater',
            save_last=True, out_dir=str(top / 'out'))
        runs[hook] = (top, train(top, hook, **options))
    (plain_top, plain), (atomic_top, atomic) = runs.values()
    assert listing(plain_top) == listing(atomic_top)
    saved = listing(atomic_top / 'out')
    assert [n for n in saved if n.startswith('run/iter_')] == [
        'run/iter_5.pth', 'run/iter_6.pth'
    ]
    assert len([n for n in saved if n.startswith('run/best_')]) == 1
    assert (atomic / 'last_checkpoint').read_text() == str(
        atomic_top / 'out' / 'run' / 'iter_6.pth')
    for name in saved:
        a = torch.load(plain_top / 'out' / name, weights_only=False)
        b = torch.load(atomic_top / 'out' / name, weights_only=False)
        assert a['meta']['iter'] == b['meta']['iter'], name
        for key in a['state_dict']:
            assert torch.equal(a['state_dict'][key], b['state_dict'][key])


def test_full_disk_rotates_nothing_out(tmp_path, monkeypatch):
    """ENOSPC half way through iter_5.pth with max_keep_ckpts=2: mmengine
    would already have deleted iter_3.pth; here iter_3/iter_4 and
    last_checkpoint stay, and no partial or temporary file is left."""
    real = checkpoint_hooks.write_file_atomic

    def full_disk(path, write, check=None):
        if osp.basename(path) != 'iter_5.pth':
            return real(path, write, check)

        def half(f):
            buffer = io.BytesIO()
            write(buffer)
            f.write(buffer.getvalue()[:buffer.tell() // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return real(path, half, check)

    monkeypatch.setattr(checkpoint_hooks, 'write_file_atomic', full_disk)
    with pytest.raises(CheckpointWriteError) as err:
        train(tmp_path, 'AtomicCheckpointHook', max_keep_ckpts=2)
    run = tmp_path / 'run'
    message = str(err.value)
    assert '\n' not in message
    assert message.startswith(
        f'cannot write checkpoint {run / "iter_5.pth"} at iteration 5: '
        'No space left on device (ENOSPC); the previous checkpoints are '
        f'intact (latest: {run / "iter_4.pth"})')
    assert isinstance(err.value, OSError)
    assert listing(tmp_path) == [
        'run/iter_3.pth', 'run/iter_4.pth', 'run/last_checkpoint'
    ]
    assert (run / 'last_checkpoint').read_text() == str(run / 'iter_4.pth')
    for it in (3, 4):
        assert torch.load(run / f'iter_{it}.pth',
                          weights_only=False)['meta']['iter'] == it


def test_backend_writes_atomically(tmp_path, monkeypatch):
    backend = AtomicLocalBackend()
    target = tmp_path / 'sub' / 'file.bin'
    backend.put(b'first', str(target))
    backend.put_text('second', str(target))
    assert target.read_bytes() == b'second'

    def broken(f):
        f.write(b'half')
        raise OSError(errno.EIO, 'I/O error')

    real = checkpoint_hooks.write_file_atomic
    monkeypatch.setattr(checkpoint_hooks, 'write_file_atomic',
                        lambda path, write: real(path, broken))
    with pytest.raises(OSError):
        backend.put(b'third', str(target))
    assert target.read_bytes() == b'second'
    assert sorted(os.listdir(target.parent)) == ['file.bin']


def test_remote_out_dir_keeps_its_backend():
    hook = AtomicCheckpointHook(interval=1, out_dir='s3://bucket/ckpts')
    hook.out_dir = 's3://bucket/ckpts/run'
    assert not hook._is_local()
    hook = AtomicCheckpointHook(
        interval=1, backend_args=dict(backend='petrel'))
    hook.out_dir = '/data/run'
    assert not hook._is_local()
    assert AtomicCheckpointHook(interval=1)._is_local() is True


def test_irn_crm_config_loads_its_generator_only_start():
    """configs/irn/irn-crm_x2_q90_div2k.py starts from a generator-only
    checkpoint (the finetuned IRN x2), declared with load_fresh_parts =
    ['restorer']: the restorer starts fresh, the generator stays strict.
    Without it the same checkpoint is refused; a generator of another shape
    is refused even with it."""
    from types import SimpleNamespace

    from invtoolbox.apis import CheckpointMismatchError, init_model
    from invtoolbox.engine.hooks import CheckpointMatchHook
    config = REPO_ROOT / 'configs' / 'irn' / 'irn-crm_x2_q90_div2k.py'
    cfg = Config.fromfile(str(config))
    assert cfg.get('load_strict', True) is True
    assert cfg.load_fresh_parts == ['restorer']
    crm = init_model(cfg)
    generator = {
        k: v
        for k, v in init_model(
            str(REPO_ROOT / 'configs' / 'irn' /
                'irn_x2-finetune_div2k.py')).state_dict().items()
        if k.startswith('generator.')
    }
    runner = SimpleNamespace(
        model=crm, cfg=cfg, _load_from=cfg.load_from, _resume=False)
    with pytest.raises(CheckpointMismatchError, match='restorer.conv_first'):
        CheckpointMatchHook().after_load_checkpoint(
            runner, dict(state_dict=generator))
    fresh = CheckpointMatchHook(fresh_parts=cfg.load_fresh_parts)
    fresh.after_load_checkpoint(runner, dict(state_dict=generator))
    # the generator is still checked: one coupling missing is refused
    short = {k: v for k, v in generator.items()
             if not k.startswith('generator.blocks.7.')}
    with pytest.raises(CheckpointMismatchError, match='generator.blocks.7'):
        fresh.after_load_checkpoint(runner, dict(state_dict=short))
    # a restorer the checkpoint does have must fit
    own = crm.state_dict()
    bad_restorer = dict(generator, **{
        k: v[:1] for k, v in own.items()
        if k.startswith('restorer.') and v.dim() > 0})
    with pytest.raises(CheckpointMismatchError, match='restorer'):
        fresh.after_load_checkpoint(runner, dict(state_dict=bad_restorer))
    # and resuming is strict whatever the parts
    resume = SimpleNamespace(model=crm, cfg=cfg, _load_from=cfg.load_from,
                             _resume=True, optim_wrapper=None)
    with pytest.raises(CheckpointMismatchError, match='restorer.conv_first'):
        fresh.after_load_checkpoint(resume, dict(state_dict=generator))


def test_published_checkpoints(tmp_path):
    """published_keys: the last and best checkpoints, stripped to those
    keys, written like mmengine names them (<name>-<sha8>.pth)."""
    run = train(tmp_path, 'AtomicCheckpointHook', max_iters=2,
                save_best='toy/psnr', rule='greater',
                published_keys=['meta', 'state_dict'])
    published = sorted(p.name for p in run.glob('*-*.pth'))
    assert len(published) == 2, published
    assert published[0].startswith('best_toy_psnr_iter_2-')
    assert published[1].startswith('iter_2-')
    for name in published:
        loaded = torch.load(run / name, weights_only=False)
        assert sorted(loaded) == ['meta', 'state_dict']
    assert not [n for n in listing(tmp_path) if n.endswith('.tmp')]
