# Copyright (c) invtoolbox contributors. All rights reserved.
"""invtoolbox.utils.compat: checkpoint loading policy and CPU distributed."""
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel, MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from invtoolbox import InvToolboxError
from invtoolbox.models.wrappers import DeviceAwareDistributedDataParallel
from invtoolbox.registry import MODEL_WRAPPERS
from invtoolbox.utils import compat
from invtoolbox.utils.compat import (UntrustedCheckpointError,
                                     init_cpu_distributed,
                                     is_trusted_checkpoint,
                                     load_checkpoint_file,
                                     register_checkpoint_loader,
                                     reset_trusted_checkpoint_paths,
                                     setup_cpu_distributed,
                                     trust_checkpoint_path)


class Opaque:
    """A plain Python object: not weights (pickled by reference)."""

    def __init__(self, value=3):
        self.value = value


class ShellPayload:
    """Unpickling this runs a shell command."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


@pytest.fixture(autouse=True)
def _no_trusted_paths():
    reset_trusted_checkpoint_paths()
    yield
    reset_trusted_checkpoint_paths()


def mmengine_like_checkpoint():
    """What mmengine's Runner writes: weights, numpy and log buffers."""
    buffer = HistoryBuffer()
    buffer.update(0.5)
    buffer.update(np.float64(0.25))
    return dict(
        meta=dict(seed=0, iter=3, eta=np.float64(1.5)),
        state_dict={'conv.weight': torch.randn(2, 3)},
        message_hub=dict(log_scalars={'train/loss': buffer}),
        optimizer=dict(state={}, param_groups=[dict(lr=0.1)]),
        scores=np.arange(4, dtype=np.float32))


# ---------------------------------------------------------------------------
# Trusted paths
# ---------------------------------------------------------------------------
def test_trusted_paths_are_real_folders_and_files(tmp_path):
    run = tmp_path / 'work_dirs' / 'run'
    run.mkdir(parents=True)
    trust_checkpoint_path(str(run))
    assert is_trusted_checkpoint(str(run / 'iter_3.pth'))
    assert is_trusted_checkpoint(str(run / 'sub' / '..' / 'iter_3.pth'))
    assert not is_trusted_checkpoint(str(run / '..' / 'other.pth'))
    assert not is_trusted_checkpoint(str(tmp_path / 'work_dirs' / 'run2' /
                                         'iter_3.pth'))  # prefix only
    link = tmp_path / 'link.pth'
    link.symlink_to(run / 'iter_3.pth')
    assert is_trusted_checkpoint(str(link))  # resolved to the run folder
    single = tmp_path / 'given.pth'
    trust_checkpoint_path(str(single))
    assert is_trusted_checkpoint(str(single))
    assert not is_trusted_checkpoint(str(tmp_path / 'given.pth.bak'))
    reset_trusted_checkpoint_paths()
    assert not is_trusted_checkpoint(str(run / 'iter_3.pth'))


# ---------------------------------------------------------------------------
# Loading policy
# ---------------------------------------------------------------------------
def test_untrusted_mmengine_checkpoint_loads_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(mmengine_like_checkpoint(), path)
    with pytest.raises(Exception):  # what plain torch.load refuses
        torch.load(path, weights_only=True)
    loaded = load_checkpoint_file(str(path))
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(0.375)
    assert loaded['meta']['eta'] == 1.5
    np.testing.assert_array_equal(loaded['scores'], np.arange(4))


def test_untrusted_object_is_refused_in_one_line(tmp_path):
    path = tmp_path / 'pretrained.pth'
    torch.save(dict(state_dict={'w': torch.ones(1)}, extra=Opaque()), path)
    with pytest.raises(UntrustedCheckpointError) as err:
        load_checkpoint_file(str(path))
    message = str(err.value)
    assert '\n' not in message
    assert str(path) in message
    assert 'test_compat.Opaque' in message
    assert '--resume' in message
    assert isinstance(err.value, (InvToolboxError, ValueError))
    # the same file inside a trusted folder is the run's own: full unpickling
    trust_checkpoint_path(str(tmp_path))
    assert load_checkpoint_file(str(path))['extra'].value == 3


def test_untrusted_code_is_never_run(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, x=ShellPayload(f'touch {marker}')), path)
    with pytest.raises(UntrustedCheckpointError, match='system'):
        load_checkpoint_file(str(path))
    assert not marker.exists()


def test_only_history_buffer_statistics_are_looked_up():
    from mmengine.logging import HistoryBuffer
    assert compat._history_buffer_getattr(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean
    for obj, name in [(HistoryBuffer, '__init__'), (os, 'system'),
                      (HistoryBuffer, 'update')]:
        with pytest.raises(Exception, match='refused getattr'):
            compat._history_buffer_getattr(obj, name)


class GetattrGadget:
    """Unpickles as ``getattr(obj, name)``: a step towards any callable."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


@pytest.mark.parametrize('obj,name', [(HistoryBuffer, '__init__'),
                                      (np.ndarray, 'tofile'),
                                      (np.dtype, '__class__')])
def test_getattr_gadgets_are_refused(tmp_path, obj, name):
    path = tmp_path / 'gadget.pth'
    torch.save({'x': GetattrGadget(obj, name)}, path)
    with pytest.raises(UntrustedCheckpointError, match=r'\(getattr\('):
        load_checkpoint_file(str(path))


def test_missing_corrupt_and_forced(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth not found'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(b'not a checkpoint at all')
    with pytest.raises(ValueError) as err:
        load_checkpoint_file(str(broken))
    assert 'broken.pth' in str(err.value) and '\n' not in str(err.value)
    path = tmp_path / 'obj.pth'
    torch.save({'x': Opaque(7)}, path)
    assert load_checkpoint_file(str(path), trusted=True)['x'].value == 7
    trust_checkpoint_path(str(tmp_path))
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_file(str(path), trusted=False)


def test_registered_as_mmengine_local_loader(tmp_path):
    from mmengine.runner.checkpoint import (CheckpointLoader,
                                            _load_checkpoint, load_from_http)
    register_checkpoint_loader(trusted_paths=[str(tmp_path / 'run')])
    register_checkpoint_loader()  # idempotent
    assert CheckpointLoader._get_checkpoint_loader('x.pth') is \
        compat.load_from_local_with_policy
    assert CheckpointLoader._get_checkpoint_loader(
        'https://host/x.pth') is load_from_http
    assert is_trusted_checkpoint(str(tmp_path / 'run' / 'iter_1.pth'))

    (tmp_path / 'run').mkdir()
    own = tmp_path / 'run' / 'iter_1.pth'
    outside = tmp_path / 'pretrained.pth'
    weights = tmp_path / 'weights.pth'
    torch.save(dict(state_dict={}, hook_state=Opaque()), own)
    torch.save(dict(state_dict={}, hook_state=Opaque()), outside)
    torch.save(dict(state_dict={'w': torch.ones(2)}), weights)
    # what Runner.load_checkpoint (load_from and resume) calls
    assert _load_checkpoint(str(own))['hook_state'].value == 3
    assert torch.equal(_load_checkpoint(str(weights))['state_dict']['w'],
                       torch.ones(2))
    with pytest.raises(UntrustedCheckpointError):
        _load_checkpoint(str(outside))


def test_runner_load_from_follows_policy(tmp_path):
    """mmengine's Runner.load_checkpoint (the load_from path) end to end."""
    from mmengine.runner import Runner
    register_checkpoint_loader(trusted_paths=[str(tmp_path / 'work')])
    model = TinyModel()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path / 'work'),
        default_scope='invtoolbox',
        experiment_name=f'compat_{os.getpid()}_{id(model)}')
    weights = tmp_path / 'weights.pth'
    torch.save(dict(state_dict={'conv.weight': torch.full((2, 1, 1, 1), 2.),
                                'conv.bias': torch.zeros(2)}), weights)
    runner.load_checkpoint(str(weights))
    assert torch.equal(model.conv.weight, torch.full((2, 1, 1, 1), 2.))
    outside = tmp_path / 'foreign.pth'
    torch.save(dict(state_dict={}, extra=Opaque()), outside)
    with pytest.raises(UntrustedCheckpointError):
        runner.load_checkpoint(str(outside))


# ---------------------------------------------------------------------------
# CPU distributed
# ---------------------------------------------------------------------------
class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.conv(inputs)
        if mode == 'loss':
            return dict(loss=out.square().mean())
        return out


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


@pytest.fixture
def clean_dist_env(monkeypatch):
    names = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT',
             'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID', 'SLURM_NODELIST')
    saved = dict(os.environ)  # init_cpu_distributed writes RANK etc.
    for name in names:
        monkeypatch.delenv(name, raising=False)
    assert not dist.is_initialized()
    yield monkeypatch
    if dist.is_initialized():
        dist.destroy_process_group()
    os.environ.clear()
    os.environ.update(saved)


def test_init_cpu_distributed_needs_launcher_environment(clean_dist_env):
    assert init_cpu_distributed('none') is False
    if torch.cuda.is_available():
        pytest.skip('on a GPU machine mmengine initialises the group')
    with pytest.raises(ValueError) as err:
        init_cpu_distributed('pytorch')
    assert 'RANK' in str(err.value) and '\n' not in str(err.value)
    with pytest.raises(ValueError, match='SLURM_PROCID'):
        init_cpu_distributed('slurm')
    with pytest.raises(ValueError, match='not supported'):
        init_cpu_distributed('mpi')
    assert not dist.is_initialized()


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only set-up')
def test_slurm_environment_initialises_gloo_and_wrapper(clean_dist_env):
    monkeypatch = clean_dist_env
    monkeypatch.setenv('SLURM_PROCID', '0')
    monkeypatch.setenv('SLURM_NTASKS', '1')
    monkeypatch.setenv('SLURM_LOCALID', '0')
    monkeypatch.setenv('SLURM_NODELIST', 'node[1-2]')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', free_port())
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'slurm') is True
    assert dist.is_initialized()
    assert dist.get_backend() == 'gloo'
    assert dist.get_world_size() == 1
    assert os.environ['RANK'] == '0' and os.environ['LOCAL_RANK'] == '0'
    assert os.environ['WORLD_SIZE'] == '1'
    assert cfg.model_wrapper_cfg == dict(
        type='invtoolbox.DeviceAwareDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=False)
    assert init_cpu_distributed('slurm') is False  # already initialised

    # the wrapper as mmengine's Runner builds it: device_ids from LOCAL_RANK
    model = TinyModel()
    wrapped = MODEL_WRAPPERS.build(
        cfg.model_wrapper_cfg,
        default_args=dict(module=model, device_ids=[0]))
    assert isinstance(wrapped, DeviceAwareDistributedDataParallel)
    assert isinstance(wrapped, MMDistributedDataParallel)
    assert wrapped.device_ids is None
    before = model.conv.weight.detach().clone()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = wrapped.train_step(dict(inputs=torch.ones(2, 1, 3, 3)), optim)
    assert set(log) == {'loss'}
    assert not torch.equal(model.conv.weight, before)
    assert wrapped.val_step(dict(inputs=torch.ones(1, 1, 2, 2))).shape == (
        1, 2, 2, 2)


def test_setup_cpu_distributed_wrapper_choice(monkeypatch):
    monkeypatch.setattr(compat, 'init_cpu_distributed',
                        lambda launcher, timeout=None: True)
    cfg = Config(dict(model_wrapper_cfg=dict(
        type='MMDistributedDataParallel', find_unused_parameters=True)))
    assert setup_cpu_distributed(cfg, 'pytorch')
    assert cfg.model_wrapper_cfg == dict(
        type='invtoolbox.DeviceAwareDistributedDataParallel',
        find_unused_parameters=True)
    cfg = Config(dict(model_wrapper_cfg=dict(type='MyWrapper')))
    setup_cpu_distributed(cfg, 'pytorch')
    assert cfg.model_wrapper_cfg.type == 'MyWrapper'  # left alone
    cfg = Config(dict(find_unused_parameters=True))
    setup_cpu_distributed(cfg, 'pytorch')
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    monkeypatch.setattr(compat, 'init_cpu_distributed',
                        lambda launcher, timeout=None: False)
    cfg = Config(dict())
    assert not setup_cpu_distributed(cfg, 'none')
    assert 'model_wrapper_cfg' not in cfg
