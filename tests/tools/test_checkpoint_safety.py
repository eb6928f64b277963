# Copyright (c) invtoolbox contributors. All rights reserved.
"""Checkpoints through tools/train.py and tools/test.py: strict matching,
atomic writes, resuming past a damaged checkpoint, one-line errors.

- every path that loads weights into the Runner (``test.py CKPT``,
  ``load_from``, ``--resume``) refuses weights that do not fit the config
  (another architecture, size or scale) in one line, unless the config asks
  for a partial load (``load_strict=False``);
- a save interrupted by SIGKILL or a full disk leaves no partial checkpoint
  and an intact ``last_checkpoint``;
- ``--resume`` skips a damaged latest checkpoint and says so.
"""
import errno
import io
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch

from tests.helpers import HANG_TIMEOUT, REPO_ROOT, tiny_model_files
from tests.tools.test_train_test_tools import (CONFIG, DATA, TOOLS,
                                               expect_one_line_exit,
                                               tool_env)

QUICKSTART = str(REPO_ROOT / 'configs' / 'irn' / 'irn_x2_quickstart.py')
FULL_IRN_X2 = str(REPO_ROOT / 'configs' / 'irn' / 'irn_x2_div2k.py')
IICNET_X2 = ("model = dict(type='IICNet', task=dict(type='ImageRescaling', "
             "scale=2), generator=dict(use_rel=False, block_num=2, "
             "subnet=dict(type='DenseBlock', growth=8)))\n")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    """The quick-start config reads demo/data relative to the repo root;
    the toy config needs tests/data on the path."""
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.syspath_prepend(str(DATA))
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    yield
    from invtoolbox.utils import reset_trusted_checkpoint_paths
    reset_trusted_checkpoint_paths()


def model_checkpoint(config, path):
    """The model of ``config`` as built (a checkpoint that fits it)."""
    from invtoolbox.apis import init_model, save_checkpoint_atomic
    model = init_model(str(config))
    return save_checkpoint_atomic(
        dict(meta={}, state_dict=model.state_dict()), path)


def derived_config(folder, name, text):
    """A config in ``folder`` that inherits the quick start."""
    path = folder / f'{name}.py'
    path.write_text(f'_base_ = [{QUICKSTART!r}]\n{text}')
    return str(path)


# ---------------------------------------------------------------------------
# 1. Strict matching
# ---------------------------------------------------------------------------
def test_test_tool_refuses_weights_of_another_architecture(
        test_tool, tmp_path):
    _, iicnet, _ = tiny_model_files(tmp_path, IICNET_X2, 'iicnet')
    message = expect_one_line_exit(
        test_tool, [QUICKSTART, iicnet, '--work-dir',
                    str(tmp_path / 'wd')], f"checkpoint '{iicnet}'",
        f"does not fit config '{QUICKSTART}'",
        'generator.blocks.0.haar_weights is missing',
        'generator.down.blocks.0.haar_weights is not in the model')
    assert 'IRN 1 Haar level, 2 couplings' in message  # what the config is


def test_test_tool_refuses_full_size_irn_and_another_scale(
        test_tool, tmp_path):
    full = model_checkpoint(FULL_IRN_X2, tmp_path / 'irn_x2_full.pth')
    expect_one_line_exit(
        test_tool, [QUICKSTART, full, '--work-dir',
                    str(tmp_path / 'wd')], 'does not fit config',
        'holds IRN 1 Haar level, 8 couplings',
        'generator.blocks.1.F.conv1.weight has shape (32, 9, 3, 3), the '
        'model needs (16, 9, 3, 3)')
    x2 = model_checkpoint(QUICKSTART, tmp_path / 'quickstart_x2.pth')
    x4 = derived_config(
        tmp_path, 'quickstart_x4',
        "model = dict(generator=dict(scale=4, block_num=[2, 2]))\n")
    expect_one_line_exit(
        test_tool, [x4, x2, '--work-dir', str(tmp_path / 'wd')],
        f"does not fit config '{x4}'", 'holds IRN 1 Haar level',
        'builds IRN 2 Haar levels', 'generator.blocks.3.haar_weights is missing')


def test_train_tool_refuses_load_from_another_architecture(
        train_tool, tmp_path):
    _, iicnet, _ = tiny_model_files(tmp_path, IICNET_X2, 'iicnet')
    expect_one_line_exit(
        train_tool,
        [QUICKSTART, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
         f'load_from={iicnet}'], f"checkpoint '{iicnet}' does not fit",
        'load_strict=False')
    assert not list((tmp_path / 'wd').glob('iter_*.pth'))  # nothing trained


def test_partial_load_is_explicit_and_reports_what_was_not_loaded(
        test_tool, tmp_path, capsys):
    """A checkpoint of one coupling in a two-coupling config: refused by
    default; with load_strict=False the first coupling is loaded and the
    second is named as not loaded."""
    one = derived_config(tmp_path, 'one_coupling',
                         "model = dict(generator=dict(block_num=[1]))\n")
    ckpt = model_checkpoint(one, tmp_path / 'one.pth')
    wd = ['--work-dir', str(tmp_path / 'wd')]
    expect_one_line_exit(test_tool, [QUICKSTART, ckpt, *wd],
                         'generator.blocks.2.F.conv1.weight is missing')
    capsys.readouterr()
    assert test_tool.main(
        [QUICKSTART, ckpt, *wd, '--cfg-options', 'load_strict=False']) == 0
    out = capsys.readouterr()
    log = out.out + out.err
    assert 'partial load (load_strict=False)' in log
    assert 'model weights not loaded' in log
    assert 'generator.blocks.2.F.conv1.weight' in log
    assert '"demo_val/PSNR_Y"' in log  # and it evaluated
    # a config's load_strict is about its load_from: test.py stays strict
    lenient = derived_config(tmp_path, 'lenient', 'load_strict = False\n')
    expect_one_line_exit(test_tool, [lenient, ckpt, *wd],
                         'generator.blocks.2.F.conv1.weight is missing')
    # nothing of the checkpoint fits: refused even as a partial load
    _, iicnet, _ = tiny_model_files(tmp_path, IICNET_X2, 'iicnet')
    expect_one_line_exit(
        test_tool,
        [QUICKSTART, iicnet, *wd, '--cfg-options', 'load_strict=False'],
        'even a partial load would load nothing')
    expect_one_line_exit(
        test_tool, [QUICKSTART, ckpt, *wd, '--cfg-options', 'load_strict=1'],
        'load_strict must be True or False, got 1')


def test_quickstart_checkpoint_still_loads(test_tool, tmp_path, capsys):
    ckpt = model_checkpoint(QUICKSTART, tmp_path / 'quickstart.pth')
    assert test_tool.main(
        [QUICKSTART, ckpt, '--work-dir',
         str(tmp_path / 'wd')]) == 0
    out = capsys.readouterr()
    assert 'not loaded' not in out.out + out.err
    assert '"demo_val/PSNR_Y"' in out.out


# ---------------------------------------------------------------------------
# 4. Damaged or foreign checkpoints: one line
# ---------------------------------------------------------------------------
def toy_checkpoint(path, iteration, channels=8, optimizer=True):
    """A training checkpoint of the toy config as the Runner writes it."""
    sys.path.insert(0, str(DATA))
    try:
        from toy_plugin import ToyRestorer
    finally:
        sys.path.remove(str(DATA))
    model = ToyRestorer(channels=channels)
    checkpoint = dict(
        meta=dict(iter=iteration, epoch=0, seed=0),
        state_dict=model.state_dict(),
        message_hub=dict(log_scalars={}, runtime_info={}, resumed_keys={}))
    if optimizer:
        optim = torch.optim.Adam(model.parameters(), lr=1e-2)
        model(torch.rand(1, 3, 8, 8)).mean().backward()
        optim.step()
        checkpoint['optimizer'] = optim.state_dict()
    torch.save(checkpoint, path)
    return str(path)


def truncated(source, path, size):
    with open(source, 'rb') as f:
        data = f.read(size)
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)


def test_truncated_checkpoint_is_one_line_everywhere(train_tool, test_tool,
                                                     tmp_path):
    good = toy_checkpoint(tmp_path / 'good.pth', 3)
    stub = truncated(good, tmp_path / 'stub.pth', 5000)
    wd = ['--work-dir', str(tmp_path / 'wd')]
    for tool, argv in [
        (test_tool, [CONFIG, stub, *wd]),
        (train_tool, [CONFIG, *wd, '--resume', stub]),
        (train_tool, [CONFIG, *wd, '--cfg-options', f'load_from={stub}']),
    ]:
        expect_one_line_exit(tool, argv, f'checkpoint {stub} cannot be read',
                             'not truncated')


def test_resume_from_another_architecture_or_optimizer_is_one_line(
        train_tool, tmp_path):
    wd = ['--work-dir', str(tmp_path / 'wd')]
    wider = toy_checkpoint(tmp_path / 'wider.pth', 3, channels=16)
    expect_one_line_exit(
        train_tool, [CONFIG, *wd, '--resume', wider],
        f"checkpoint '{wider}' does not fit config '{CONFIG}'",
        'conv1.weight has shape (16, 3, 3, 3), the model needs (8, 3, 3, 3)',
        'resume a run only from its own checkpoints')
    _, iicnet, _ = tiny_model_files(tmp_path, IICNET_X2, 'iicnet')
    expect_one_line_exit(train_tool, [CONFIG, *wd, '--resume', iicnet],
                         'does not fit', 'conv1.weight is missing')
    # the weights fit, the optimizer state does not (SGD state of 2 tensors)
    sgd = toy_checkpoint(tmp_path / 'sgd.pth', 3)
    checkpoint = torch.load(sgd, weights_only=False)
    groups = checkpoint['optimizer']['param_groups']
    groups[0]['params'] = groups[0]['params'][:2]
    torch.save(checkpoint, sgd)
    expect_one_line_exit(
        train_tool, [CONFIG, *wd, '--resume', sgd],
        f"checkpoint '{sgd}': its optimizer state does not fit",
        'group 0 has 2 parameters')


# ---------------------------------------------------------------------------
# 3. Auto-resume skips a damaged latest checkpoint
# ---------------------------------------------------------------------------
@pytest.fixture
def work_dir(tmp_path):
    """A work dir with checkpoints at iterations 3, 6 and 8."""
    folder = tmp_path / 'run'
    folder.mkdir()
    for it in (3, 6, 8):
        toy_checkpoint(folder / f'iter_{it}.pth', it)
    (folder / 'last_checkpoint').write_text(str(folder / 'iter_8.pth'))
    return folder


@pytest.mark.parametrize('damage,reason', [
    (lambda p: truncated(p, p, 5000), '5000 bytes, truncated'),
    (lambda p: open(p, 'wb').close(), 'empty, 0 bytes'),
    (lambda p: open(p, 'wb').write(os.urandom(40000)),
     '40000 bytes, unreadable'),
    (lambda p: torch.save({'weights': torch.zeros(2)}, p),
     'not a training checkpoint'),
])
def test_auto_resume_skips_a_damaged_latest_checkpoint(
        train_tool, work_dir, capsys, damage, reason):
    latest = str(work_dir / 'iter_8.pth')
    damage(latest)
    assert train_tool.find_resume_checkpoint(str(work_dir)) == \
        str(work_dir / 'iter_6.pth')
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f'resume: skipped {latest} (')
    assert reason in lines[0]
    assert lines[0].endswith(f'resuming from {work_dir / "iter_6.pth"}.')


def test_auto_resume_with_empty_or_stale_last_checkpoint(
        train_tool, work_dir, capsys):
    record = work_dir / 'last_checkpoint'
    record.write_text('')
    assert train_tool.find_resume_checkpoint(str(work_dir)) == \
        str(work_dir / 'iter_8.pth')
    assert capsys.readouterr().out == (
        f'resume: {record} is empty; resuming from '
        f'{work_dir / "iter_8.pth"}.\n')
    record.write_text(str(work_dir / 'iter_9.pth'))
    os.remove(work_dir / 'iter_8.pth')
    assert train_tool.find_resume_checkpoint(str(work_dir)) == \
        str(work_dir / 'iter_6.pth')
    assert capsys.readouterr().out == (
        f'resume: {record} names {work_dir / "iter_9.pth"}, which does not '
        f'exist; resuming from {work_dir / "iter_6.pth"}.\n')
    # checkpoints but no last_checkpoint (a run killed before writing it)
    os.remove(record)
    assert train_tool.find_resume_checkpoint(str(work_dir)) == \
        str(work_dir / 'iter_6.pth')
    # temporary files of an interrupted save are no checkpoints
    (work_dir / '.iter_9.pth.abcd1234.tmp').write_bytes(b'half')
    assert train_tool.find_resume_checkpoint(str(work_dir)) == \
        str(work_dir / 'iter_6.pth')


def test_auto_resume_without_a_good_checkpoint_is_one_line(
        train_tool, work_dir, tmp_path):
    for it in (3, 6, 8):
        open(work_dir / f'iter_{it}.pth', 'wb').close()
    with pytest.raises(SystemExit) as err:
        train_tool.find_resume_checkpoint(str(work_dir))
    message = str(err.value.code)
    assert message.startswith(f'error: no readable checkpoint in {work_dir}')
    assert '\n' not in message
    for it in (8, 6, 3):
        assert f'{work_dir / f"iter_{it}.pth"} (empty, 0 bytes)' in message
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert train_tool.find_resume_checkpoint(str(empty)) is None


# ---------------------------------------------------------------------------
# 2. Atomic checkpoints
# ---------------------------------------------------------------------------
def test_full_disk_keeps_previous_checkpoints(train_tool, tmp_path,
                                              monkeypatch):
    """The writer fails with ENOSPC half way through iter_6.pth: one line,
    iter_3.pth and last_checkpoint intact, no partial or temporary file."""
    from invtoolbox.apis import checkpoint_io
    from invtoolbox.engine.hooks import checkpoint_hooks
    real = checkpoint_io.write_file_atomic

    def full_disk(path, write, check=None):
        if not osp.basename(path) == 'iter_6.pth':
            return real(path, write, check)

        def half(f):
            buffer = io.BytesIO()
            write(buffer)
            f.write(buffer.getvalue()[:buffer.tell() // 2])
            f.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return real(path, half, check)

    monkeypatch.setattr(checkpoint_hooks, 'write_file_atomic', full_disk)
    wd = tmp_path / 'wd'
    message = expect_one_line_exit(
        train_tool, [CONFIG, '--work-dir', str(wd)],
        f'cannot write checkpoint {wd / "iter_6.pth"} at iteration 6',
        'No space left on device (ENOSPC)',
        f'the previous checkpoints are intact (latest: {wd / "iter_3.pth"})',
        '--resume')
    assert 'free some space' in message
    assert sorted(p.name for p in wd.iterdir() if p.is_file()) == [
        'iter_3.pth', 'last_checkpoint', 'toy_config.py'
    ]
    assert (wd / 'last_checkpoint').read_text() == str(wd / 'iter_3.pth')
    loaded = torch.load(wd / 'iter_3.pth', weights_only=False)
    assert loaded['meta']['iter'] == 3


@pytest.mark.e2e
def test_sigkill_during_a_save_leaves_no_partial_checkpoint(tmp_path):
    """A real training run SIGKILLs itself half way through writing the
    iteration-6 checkpoint (``TOY_KILL_IN_SAVE``); then ``--resume``."""
    wd = tmp_path / 'wd'
    command = [sys.executable, str(TOOLS / 'train.py'), CONFIG, '--work-dir',
               str(wd)]
    killed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=tool_env(TOY_KILL_IN_SAVE='6'),
        cwd=str(tmp_path),
        timeout=HANG_TIMEOUT)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    assert 'Saving checkpoint at 6 iterations' in killed.stdout
    assert not (wd / 'iter_6.pth').exists()  # not even half of it
    # half of iter_6.pth was written, to a temporary file
    partial = [p.name for p in wd.iterdir() if p.name.endswith('.tmp')]
    assert len(partial) == 1 and partial[0].startswith('.iter_6.pth.')
    assert (wd / 'last_checkpoint').read_text() == str(wd / 'iter_3.pth')
    assert torch.load(wd / 'iter_3.pth',
                      weights_only=False)['meta']['iter'] == 3

    resumed = subprocess.run(
        command + ['--resume'],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=str(tmp_path),
        timeout=HANG_TIMEOUT)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr
    assert 'resumed epoch: 0, iter: 3' in resumed.stdout
    assert f'Removed {wd / partial[0]}' in resumed.stdout
    assert not [p for p in wd.iterdir() if p.name.endswith('.tmp')]
    for it in (3, 6, 8):
        assert torch.load(wd / f'iter_{it}.pth',
                          weights_only=False)['meta']['iter'] == it
    assert (wd / 'last_checkpoint').read_text() == str(wd / 'iter_8.pth')


@pytest.mark.e2e
def test_resume_past_a_truncated_latest_checkpoint(tmp_path):
    """A finished run whose iter_8.pth was truncated resumes from
    iter_6.pth with one line saying so, and trains on to iteration 10."""
    wd = tmp_path / 'wd'
    command = [sys.executable, str(TOOLS / 'train.py'), CONFIG, '--work-dir',
               str(wd)]
    first = subprocess.run(
        command, capture_output=True, text=True, env=tool_env(),
        cwd=str(tmp_path), timeout=HANG_TIMEOUT)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    truncated(wd / 'iter_8.pth', wd / 'iter_8.pth', 5000)
    second = subprocess.run(
        command + ['--resume', '--cfg-options', 'train_cfg.max_iters=10'],
        capture_output=True, text=True, env=tool_env(), cwd=str(tmp_path),
        timeout=HANG_TIMEOUT)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr
    lines = [ln for ln in second.stdout.splitlines()
             if ln.startswith('resume:')]
    assert len(lines) == 1, second.stdout[-3000:]
    assert lines[0].startswith(
        f'resume: skipped {wd / "iter_8.pth"} (5000 bytes, truncated: ')
    assert lines[0].endswith(f'; resuming from {wd / "iter_6.pth"}.')
    assert 'resumed epoch: 0, iter: 6' in second.stdout
    assert torch.load(wd / 'iter_10.pth',
                      weights_only=False)['meta']['iter'] == 10


def test_auto_resume_of_a_first_run_keeps_the_configs_load_from(
        train_tool, tmp_path, capsys):
    """``--resume`` on a fresh work dir of a fine-tuning config starts from
    the config's load_from (it was dropped), and resumes once there are
    checkpoints."""
    from mmengine.config import Config
    cfg = Config(dict(work_dir=str(tmp_path), load_from='pretrained.pth',
                      resume=False, randomness=dict(seed=1)))
    train_tool.setup_resume(cfg, 'auto')
    assert (cfg.resume, cfg.load_from) == (False, 'pretrained.pth')
    assert 'training starts from load_from pretrained.pth' in \
        capsys.readouterr().out
    good = toy_checkpoint(tmp_path / 'iter_3.pth', 3)
    train_tool.setup_resume(cfg, 'auto')
    assert (cfg.resume, cfg.load_from) == (True, good)
