# Copyright (c) invtoolbox contributors. All rights reserved.
"""invtoolbox.utils.checkpoint_trust: the one policy every checkpoint reader
follows.

(a) a checkpoint whose pickle would run code is refused by every loader
    (library functions, mmengine's registered loader, tools/train.py
    ``load_from`` and auto-resume, tools/test.py, tools/infer.py,
    init_model, the converters, publish_model.py) with one line naming the
    file and the refused global, and the code does not run;
(b) the run's own checkpoints, written by a real tools/train.py run, are
    resumed weights-only with the allow-list and load directly through the
    same loaders; a file given to ``--resume CKPT`` is trusted;
(c) there is one allow-list and every loader consults it.
"""
import ast
import builtins
import collections
import itertools
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from PIL import Image

import invtoolbox.apis
import invtoolbox.apis.checkpoint_io
from invtoolbox import InvToolboxError
from invtoolbox.utils import checkpoint_trust
from invtoolbox.utils.checkpoint_trust import (CheckpointError,
                                               UntrustedCheckpointError,
                                               history_buffer_getattr,
                                               is_trusted_checkpoint,
                                               load_checkpoint_file,
                                               load_trusted_checkpoint,
                                               load_weights_only,
                                               register_checkpoint_loader,
                                               reset_trusted_checkpoint_paths,
                                               trust_checkpoint_path)
from tests.helpers import REPO_ROOT, load_tool

DATA = REPO_ROOT / 'tests' / 'data'
TOY_CONFIG = str(DATA / 'toy_config.py')
IRN_CONFIG = ("model = dict(type='IRN', generator=dict(type='IRNNet', "
              "scale=2, block_num=[1], subnet=dict(type='DenseBlock', "
              "growth=8)), test_cfg=dict(latent='gaussian', seed=0))\n")


# ---------------------------------------------------------------------------
# Payloads (module level: pickled by reference)
# ---------------------------------------------------------------------------
class ShellPayload:
    """Unpickling this runs ``os.system(command)``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


class EvalPayload:
    """Unpickling this runs ``builtins.eval(source)``."""

    def __init__(self, source):
        self.source = source

    def __reduce__(self):
        return builtins.eval, (self.source, )


class Opaque:
    """A plain Python object: not weights (harmless, but not allowed)."""

    def __init__(self, value=3):
        self.value = value


class GetattrGadget:
    """Unpickles as ``getattr(obj, name)``: a step towards any callable."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


@pytest.fixture(autouse=True)
def _no_trusted_paths():
    reset_trusted_checkpoint_paths()
    yield
    reset_trusted_checkpoint_paths()


def mmengine_like_checkpoint():
    """What mmengine's Runner writes: weights, numpy values, log buffers and
    scheduler state (a ``Counter``)."""
    buffer = HistoryBuffer()
    buffer.update(0.5)
    buffer.update(np.float64(0.25))
    return dict(
        meta=dict(seed=0, iter=3, eta=np.float64(1.5), n=np.int64(2)),
        state_dict={'generator.conv.weight': torch.randn(2, 3)},
        message_hub=dict(log_scalars={'train/loss': buffer}),
        optimizer=dict(state={}, param_groups=[dict(lr=0.1)]),
        param_schedulers=[dict(milestones=collections.Counter({5: 1}))],
        scores=np.arange(4, dtype=np.float32))


@pytest.fixture(scope='module')
def tools():
    return dict(
        train=load_tool('train'),
        test=load_tool('test'),
        infer=load_tool('infer'),
        publish=load_tool('model_converters/publish_model'),
        convert=load_tool('model_converters/convert_official'))


def _message(call):
    """Run a loader; return its one-line error message."""
    with pytest.raises((ValueError, SystemExit)) as err:
        call()
    if isinstance(err.value, SystemExit):
        return str(err.value.code)
    return str(err.value)


def _tool_message(main, argv, capsys):
    assert main(argv) == 1
    return capsys.readouterr().err.strip()


_RUNS = itertools.count()


def _train_argv(tmp_path, name, *options):
    """tools/train.py arguments: the toy config, 2 iterations, a unique
    experiment name (mmengine keeps loggers and visualizers by name)."""
    return [
        TOY_CONFIG, '--work-dir',
        str(tmp_path / name), '--cfg-options', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
        f'experiment_name=trust_{name}_{os.getpid()}_{next(_RUNS)}',
        *options
    ]


# Every reader of a checkpoint: (name, call(path, tmp_path, tools, capsys)
# -> one-line message).
def _via_mmengine(path, tmp_path, tools, capsys):
    from mmengine.runner.checkpoint import _load_checkpoint
    register_checkpoint_loader()
    return _message(lambda: _load_checkpoint(str(path), map_location='cpu'))


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.conv(inputs)


def _via_runner_load_from(path, tmp_path, tools, capsys):
    from mmengine.runner import Runner
    register_checkpoint_loader()
    model = TinyModel()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path / 'runner'),
        default_scope='invtoolbox',
        experiment_name=f'trust_runner_{os.getpid()}_{id(model)}')
    return _message(lambda: runner.load_checkpoint(str(path)))


def _via_init_model(path, tmp_path, tools, capsys):
    from invtoolbox.apis import init_model
    config = tmp_path / 'irn.py'
    config.write_text(IRN_CONFIG)
    return _message(lambda: init_model(str(config), str(path)))


def _via_infer(path, tmp_path, tools, capsys):
    config = tmp_path / 'irn.py'
    config.write_text(IRN_CONFIG)
    images = tmp_path / 'hr'
    images.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(images / 'a.png')
    return _tool_message(tools['infer'].main, [
        'downscale',
        str(config),
        str(path),
        str(images),
        str(tmp_path / 'lr'), '--quiet'
    ], capsys)


def _via_test_tool(path, tmp_path, tools, capsys):
    return _message(lambda: tools['test'].main([
        TOY_CONFIG,
        str(path), '--work-dir',
        str(tmp_path / 'test_wd'), '--cfg-options',
        f'experiment_name=trust_test_{os.getpid()}_{next(_RUNS)}'
    ]))


def _via_train_load_from(path, tmp_path, tools, capsys):
    return _message(lambda: tools['train'].main(
        _train_argv(tmp_path, 'load_from', f'load_from={path}')))


def _via_train_auto_resume(path, tmp_path, tools, capsys):
    """A file planted in the work dir as its latest checkpoint: the run's
    own folder is not trusted, ``--resume`` reads it weights-only."""
    work_dir = tmp_path / 'planted'
    work_dir.mkdir()
    (work_dir / 'last_checkpoint').write_text(str(path))
    return _message(lambda: tools['train'].main(
        _train_argv(tmp_path, 'planted') + ['--resume']))


def _via_publish(path, tmp_path, tools, capsys):
    return _tool_message(tools['publish'].main,
                         [str(path), str(tmp_path / 'out.pth')], capsys)


def _via_convert(path, tmp_path, tools, capsys):
    return _tool_message(tools['convert'].main,
                         ['IRN_x2', str(path),
                          str(tmp_path / 'out.pth')], capsys)


LOADERS = {
    'load_checkpoint_file':
    lambda path, *_: _message(lambda: load_checkpoint_file(path)),
    'load_weights_only':
    lambda path, *_: _message(lambda: load_weights_only(path)),
    'load_trusted_checkpoint':
    lambda path, *_: _message(lambda: load_trusted_checkpoint(path)),
    'mmengine_CheckpointLoader': _via_mmengine,
    'Runner.load_checkpoint': _via_runner_load_from,
    'init_model': _via_init_model,
    'tools/infer.py': _via_infer,
    'tools/test.py': _via_test_tool,
    'tools/train.py load_from': _via_train_load_from,
    'tools/train.py --resume (auto)': _via_train_auto_resume,
    'publish_model.py': _via_publish,
    'convert_official.py': _via_convert,
}
TOOL_LOADERS = ('tools/test.py', 'tools/train.py load_from',
                'tools/train.py --resume (auto)')


@pytest.fixture
def toy_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------
# (a) code in a pickle: refused everywhere, never run
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('payload', ['os.system', 'builtins.eval'])
@pytest.mark.parametrize('loader', list(LOADERS))
def test_code_in_a_pickle_is_refused_by_every_loader(tmp_path, tools, capsys,
                                                     toy_plugin, loader,
                                                     payload):
    marker = tmp_path / 'pwned'
    if payload == 'os.system':
        evil, refused = ShellPayload(f'touch {marker}'), 'posix.system' \
            if os.name == 'posix' else 'nt.system'
    else:
        evil, refused = EvalPayload(
            f"__import__('pathlib').Path({str(marker)!r}).touch()"), \
            'builtins.eval'
    path = tmp_path / 'downloaded.pth'
    torch.save(
        {
            'meta': {},
            'state_dict': {
                'generator.w': torch.zeros(1)
            },
            'payload': evil
        }, path)

    message = LOADERS[loader](path, tmp_path, tools, capsys)
    assert not marker.exists(), 'the pickled code ran'
    assert '\n' not in message.strip(), message
    assert str(path) in message, message
    assert refused in message, message
    assert 'holds objects that are not weights' in message, message
    assert 'Traceback' not in capsys.readouterr().err


def test_refusal_is_an_invtoolbox_error(tmp_path):
    path = tmp_path / 'opaque.pth'
    torch.save({'state_dict': {}, 'extra': Opaque()}, path)
    with pytest.raises(UntrustedCheckpointError) as err:
        load_checkpoint_file(path)
    assert isinstance(err.value, (InvToolboxError, ValueError,
                                  CheckpointError))
    message = str(err.value)
    assert 'test_checkpoint_trust.Opaque' in message
    assert '--resume' in message  # what the user can do


@pytest.mark.parametrize('obj,name', [(HistoryBuffer, '__init__'),
                                      (HistoryBuffer, 'update'),
                                      (np.ndarray, 'tofile'),
                                      (np.dtype, '__class__')])
def test_getattr_gadgets_are_refused(tmp_path, obj, name):
    path = tmp_path / 'gadget.pth'
    torch.save({'x': GetattrGadget(obj, name)}, path)
    for load in (load_checkpoint_file, load_weights_only,
                 load_trusted_checkpoint):
        with pytest.raises(UntrustedCheckpointError) as err:
            load(path)
        message = str(err.value)
        assert f'getattr({obj.__name__}, {name!r})' in message, message
        assert str(path) in message and '\n' not in message


def test_only_history_buffer_statistics_are_looked_up():
    assert history_buffer_getattr(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean
    for obj, name in [(HistoryBuffer, '__init__'), (os, 'system'),
                      (HistoryBuffer, 'update'), (HistoryBuffer, 3)]:
        with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
            history_buffer_getattr(obj, name)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth not found'):
        load_checkpoint_file(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='it is a folder'):
        load_weights_only(tmp_path)
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(b'not a checkpoint at all')
    truncated = tmp_path / 'truncated.pth'
    torch.save({'w': torch.ones(100)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    for path in (broken, truncated):
        for trusted in (False, True):
            with pytest.raises(CheckpointError) as err:
                load_checkpoint_file(path, trusted=trusted)
            assert path.name in str(err.value)
            assert '\n' not in str(err.value)
            assert not isinstance(err.value, UntrustedCheckpointError)


def test_a_damaged_checkpoint_ends_the_tools_with_one_line(
        tmp_path, tools, capsys, toy_plugin):
    truncated = tmp_path / 'iter_8.pth'
    torch.save({'state_dict': {'w': torch.ones(100)}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    message = _via_test_tool(truncated, tmp_path, tools, capsys)
    assert message.startswith('error: checkpoint ') and '\n' not in message
    assert f'{truncated} cannot be read' in message, message
    message = _via_infer(truncated, tmp_path, tools, capsys)
    assert f'{truncated} cannot be read' in message, message
    assert '\n' not in message


# ---------------------------------------------------------------------------
# Trusted paths: only what the user vouches for
# ---------------------------------------------------------------------------
def test_trusted_paths_are_real_folders_and_files(tmp_path):
    run = tmp_path / 'work_dirs' / 'run'
    run.mkdir(parents=True)
    trust_checkpoint_path(run)
    assert is_trusted_checkpoint(run / 'iter_3.pth')
    assert is_trusted_checkpoint(str(run / 'sub' / '..' / 'iter_3.pth'))
    assert not is_trusted_checkpoint(str(run / '..' / 'other.pth'))
    assert not is_trusted_checkpoint(
        str(tmp_path / 'work_dirs' / 'run2' / 'iter_3.pth'))  # prefix only
    link = tmp_path / 'link.pth'
    link.symlink_to(run / 'iter_3.pth')
    assert is_trusted_checkpoint(str(link))  # resolved to the run folder
    single = tmp_path / 'given.pth'
    trust_checkpoint_path(str(single))
    assert is_trusted_checkpoint(str(single))
    assert not is_trusted_checkpoint(str(tmp_path / 'given.pth.bak'))
    reset_trusted_checkpoint_paths()
    assert not is_trusted_checkpoint(str(run / 'iter_3.pth'))


def test_trusted_file_is_fully_unpickled_and_others_are_not(tmp_path):
    path = tmp_path / 'mine.pth'
    torch.save({'state_dict': {}, 'extra': Opaque(7)}, path)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_file(path)
    assert load_checkpoint_file(path, trusted=True)['extra'].value == 7
    assert load_trusted_checkpoint(path, trust=True)['extra'].value == 7
    trust_checkpoint_path(path)  # what --resume CKPT does
    assert load_checkpoint_file(path)['extra'].value == 7
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_file(path, trusted=False)
    with pytest.raises(UntrustedCheckpointError):
        load_weights_only(path)  # never consults the trusted paths


def test_registered_as_mmengine_local_loader(tmp_path):
    from mmengine.runner.checkpoint import (CheckpointLoader,
                                            _load_checkpoint, load_from_http)
    register_checkpoint_loader(trusted_paths=[tmp_path / 'given.pth'])
    register_checkpoint_loader()  # idempotent
    assert CheckpointLoader._get_checkpoint_loader('x.pth') is \
        checkpoint_trust.load_from_local_with_policy
    assert CheckpointLoader._get_checkpoint_loader(
        'https://host/x.pth') is load_from_http
    given, outside = tmp_path / 'given.pth', tmp_path / 'pretrained.pth'
    torch.save(dict(state_dict={}, hook_state=Opaque()), given)
    torch.save(dict(state_dict={}, hook_state=Opaque()), outside)
    assert _load_checkpoint(str(given))['hook_state'].value == 3
    with pytest.raises(UntrustedCheckpointError):
        _load_checkpoint(str(outside))


# ---------------------------------------------------------------------------
# (b) the run's own checkpoints: accepted with the allow-list
# ---------------------------------------------------------------------------
def test_mmengine_checkpoint_loads_with_the_allow_list(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path = tmp_path / 'iter_3.pth'
    torch.save(mmengine_like_checkpoint(), path)
    with pytest.raises(pickle.UnpicklingError):  # plain weights_only refuses
        torch.load(path, weights_only=True)
    register_checkpoint_loader()
    for loaded in (load_checkpoint_file(path), load_weights_only(path),
                   load_trusted_checkpoint(path),
                   _load_checkpoint(str(path), map_location='cpu')):
        buffer = loaded['message_hub']['log_scalars']['train/loss']
        assert isinstance(buffer, HistoryBuffer)
        assert buffer.mean() == pytest.approx(0.375)
        assert loaded['meta']['eta'] == 1.5 and loaded['meta']['n'] == 2
        np.testing.assert_array_equal(loaded['scores'], np.arange(4))
        assert loaded['param_schedulers'][0]['milestones'] == {5: 1}


class _LoadRecorder:
    """Wraps ``torch.load`` and records ``(path, weights_only)``."""

    def __init__(self, load):
        self._load = load
        self.calls = []

    def __call__(self, f, *args, **kwargs):
        self.calls.append((os.fspath(f) if isinstance(f, (str, Path)) else f,
                           kwargs.get('weights_only')))
        return self._load(f, *args, **kwargs)


def test_real_run_resumes_its_own_checkpoints_with_the_allow_list(
        tmp_path, tools, toy_plugin, monkeypatch):
    """tools/train.py: 2 iterations, then --resume to 3 (auto: the latest
    checkpoint of the work dir), then --resume CKPT with a file that holds
    an object outside the allow-list (trusted: the user gave it)."""
    train = tools['train']
    work_dir = tmp_path / 'run'
    assert train.main(_train_argv(tmp_path, 'run')) == 0
    own = work_dir / 'iter_2.pth'
    assert own.is_file()
    with pytest.raises(pickle.UnpicklingError):  # needs the allow-list
        torch.load(own, weights_only=True)

    # the run's own checkpoint, loaded directly through the policy's loaders
    for loaded in (load_checkpoint_file(own), load_weights_only(own),
                   load_trusted_checkpoint(own)):
        assert loaded['meta']['iter'] == 2
        assert any(
            isinstance(v, HistoryBuffer)
            for v in loaded['message_hub']['log_scalars'].values())
        assert 'rng_states' in loaded  # RNGStateHook's, tensors only
        assert loaded['param_schedulers'][0]['milestones'] == {5: 1}
        assert loaded['state_dict'] and all(
            isinstance(v, torch.Tensor)
            for v in loaded['state_dict'].values())

    # --resume (auto): every read of the work dir is weights-only
    recorder = _LoadRecorder(torch.load)
    monkeypatch.setattr(torch, 'load', recorder)
    assert train.main(
        _train_argv(tmp_path, 'run', 'train_cfg.max_iters=3') +
        ['--resume']) == 0
    monkeypatch.setattr(torch, 'load', recorder._load)
    reads = [(f, w) for f, w in recorder.calls
             if isinstance(f, str) and f.startswith(str(work_dir))]
    assert reads and all(w is True for _, w in reads), reads
    assert {Path(f).name for f, _ in reads} == {'iter_2.pth'}
    resumed = load_checkpoint_file(work_dir / 'iter_3.pth')
    assert resumed['meta']['iter'] == 3

    # --resume CKPT: the user vouches for the file, loaded as today
    given = tmp_path / 'given.pth'
    checkpoint = torch.load(work_dir / 'iter_3.pth', weights_only=False)
    checkpoint['extra'] = Opaque(5)
    torch.save(checkpoint, given)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_file(given)
    assert train.main(
        _train_argv(tmp_path, 'run', 'train_cfg.max_iters=4') +
        ['--resume', str(given)]) == 0
    assert load_checkpoint_file(work_dir / 'iter_4.pth')['meta']['iter'] == 4


# ---------------------------------------------------------------------------
# (c) one allow-list, consulted by every loader
# ---------------------------------------------------------------------------
def test_one_allow_list_object():
    assert invtoolbox.apis.checkpoint_io.TRUSTED_GLOBALS is \
        checkpoint_trust.TRUSTED_GLOBALS
    assert invtoolbox.apis.load_weights_only is load_weights_only
    assert invtoolbox.apis.load_trusted_checkpoint is load_trusted_checkpoint
    import invtoolbox.utils as utils
    assert utils.load_checkpoint_file is load_checkpoint_file
    assert utils.UntrustedCheckpointError is UntrustedCheckpointError
    names = checkpoint_trust.TRUSTED_GLOBALS
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in names
    assert 'builtins.getattr' in names
    # every name resolves; getattr only to the guarded stand-in
    pairs = dict((name, obj) for obj, name in checkpoint_trust.safe_globals())
    assert set(pairs) == set(names)
    assert pairs['builtins.getattr'] is history_buffer_getattr
    assert pairs['numpy.ndarray'] is np.ndarray


def test_every_loader_consults_the_one_list(tmp_path, monkeypatch):
    """Removing HistoryBuffer from the list makes every loader refuse an
    mmengine checkpoint, naming it; with the list as shipped all accept."""
    from mmengine.runner.checkpoint import _load_checkpoint
    register_checkpoint_loader()
    path = tmp_path / 'iter_1.pth'
    torch.save(mmengine_like_checkpoint(), path)
    loaders = (load_checkpoint_file, load_weights_only,
               load_trusted_checkpoint,
               invtoolbox.apis.checkpoint_io.load_weights_only,
               lambda p: _load_checkpoint(str(p), map_location='cpu'))
    for load in loaders:
        assert 'message_hub' in load(path)
    history_buffer = 'mmengine.logging.history_buffer.HistoryBuffer'
    monkeypatch.setattr(
        checkpoint_trust, 'TRUSTED_GLOBALS',
        tuple(n for n in checkpoint_trust.TRUSTED_GLOBALS
              if n != history_buffer))
    for load in loaders:
        with pytest.raises(UntrustedCheckpointError, match=history_buffer):
            load(path)


def _python_files(*folders):
    for folder in folders:
        yield from sorted((REPO_ROOT / folder).rglob('*.py'))


def test_no_other_module_decides_what_to_unpickle():
    """Outside checkpoint_trust nothing loads with weights_only=False,
    widens torch's allow-list, or keeps an allow-list of its own."""
    own = REPO_ROOT / 'invtoolbox' / 'utils' / 'checkpoint_trust.py'
    found = []
    for path in _python_files('invtoolbox', 'tools'):
        if path == own:
            continue
        tree = ast.parse(path.read_text(), str(path))
        where = path.relative_to(REPO_ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == 'weights_only' and not (
                            isinstance(kw.value, ast.Constant)
                            and kw.value.value is True):
                        found.append(f'{where}:{node.lineno} weights_only='
                                     f'{ast.unparse(kw.value)}')
            name = (node.attr if isinstance(node, ast.Attribute) else
                    node.id if isinstance(node, ast.Name) else None)
            if name in ('safe_globals', 'add_safe_globals',
                        'history_buffer_getattr', '_history_buffer_getattr'):
                found.append(f'{where}:{node.lineno} {name}')
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) \
                    else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and \
                            'TRUSTED_GLOBAL' in target.id:
                        found.append(f'{where}:{node.lineno} {target.id}')
    assert not found, found
