# Copyright (c) invtoolbox contributors. All rights reserved.
"""invtoolbox.utils.compat: distributed training on CPU.

The checkpoint loading policy is tested in test_checkpoint_trust.py.
"""
import os
import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import BaseModel, MMDistributedDataParallel
from mmengine.optim import OptimWrapper

from invtoolbox.models.wrappers import DeviceAwareDistributedDataParallel
from invtoolbox.registry import MODEL_WRAPPERS
from invtoolbox.utils import compat
from invtoolbox.utils.compat import init_cpu_distributed, setup_cpu_distributed


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
