# Copyright (c) invtoolbox contributors. All rights reserved.
"""A tiny, self-contained training setup for the tools and engine tests.

Imported by ``tests/data/toy_config.py`` through ``custom_imports`` (with
``tests/data`` on ``PYTHONPATH``), the way a third-party plugin is. It
registers into invtoolbox's registries:

- ``ToyDataset``: fixed random images (one seeded generator per index) with
  random augmentation drawn from the *global* ``random``, ``numpy`` and
  ``torch`` generators (crop offsets, flip, input noise), so that data
  loading in the main process or in workers really consumes RNG state;
- ``ToyRestorer``: two 3x3 convolutions that restore the clean image from the
  noisy one; its loss perturbs the target and its prediction the input with
  ``torch.randn`` from the global generator (``noise_std``), the way IRN
  samples latents;
- ``ToyPSNR``: an mmengine metric (PSNR of the restored images);
- ``ToyCrashHook``: SIGKILLs the process after iteration
  ``$TOY_CRASH_AT_ITER`` (after the checkpoint hook ran), to test resuming a
  really killed run;
- ``ToyFinalWeightsHook``: every rank writes its final weights to
  ``<work_dir>/final_weights_rank<r>.pth`` (to compare ranks in DDP tests);
- ``$TOY_KILL_IN_SAVE=N``: the process SIGKILLs itself in the middle of
  writing the checkpoint of iteration N (half its bytes on disk, whatever
  file the writer opens for it: ``iter_N.pth`` or a temporary file), to test
  that an interrupted save never leaves a partial checkpoint.
"""
import os
import os.path as osp
import random
import signal

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import nn
from torch.utils.data import Dataset

from invtoolbox.registry import DATASETS, HOOKS, METRICS, MODELS


@DATASETS.register_module()
class ToyDataset(Dataset):
    """``num_samples`` random RGB images of ``size`` x ``size``.

    Each item is ``dict(inputs=noisy (3, size, size), data_samples=
    BaseDataElement(gt=clean (3, size, size)))``. With ``augment=True`` the
    crop offset comes from ``random``, the column offset from ``numpy``, the
    horizontal flip and the input noise from ``torch`` (all global RNGs);
    with ``augment=False`` items are deterministic (centre crop, fixed noise).
    """

    metainfo = dict(name='toy')

    def __init__(self, num_samples=16, size=8, augment=True, seed=0):
        self.num_samples = num_samples
        self.size = size
        self.augment = augment
        self.seed = seed

    def __len__(self):
        return self.num_samples

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(self.seed * 10007 + index)
        full = torch.rand(3, self.size + 2, self.size + 2, generator=gen)
        if self.augment:
            top = random.randint(0, 2)
            left = int(np.random.randint(0, 3))
            gt = full[:, top:top + self.size, left:left + self.size]
            if torch.rand(()).item() < 0.5:
                gt = gt.flip(-1)
            noise = 0.1 * torch.randn(gt.shape)
        else:
            gt = full[:, 1:1 + self.size, 1:1 + self.size]
            noise = 0.1 * torch.randn(gt.shape, generator=gen)
        sample = BaseDataElement(gt=gt.clone(), metainfo=dict(index=index))
        return dict(inputs=(gt + noise).contiguous(), data_samples=sample)


@MODELS.register_module()
class ToyRestorer(BaseModel):
    """conv 3->C, ReLU, conv C->3, residual; MSE to a perturbed target."""

    def __init__(self, channels=8, noise_std=0.05, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, 3, 3, padding=1)
        self.noise_std = noise_std

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(list(inputs)) if isinstance(inputs, list) else inputs
        if mode == 'predict':  # a random draw at inference, like a latent
            x = x + self.noise_std * torch.randn_like(x)
        out = x + self.conv2(F.relu(self.conv1(x)))
        if mode == 'tensor':
            return out
        gt = torch.stack([s.gt for s in data_samples]).to(out)
        if mode == 'loss':
            target = gt + self.noise_std * torch.randn_like(gt)
            return dict(loss_pix=F.mse_loss(out, target))
        if mode == 'predict':
            return [
                BaseDataElement(pred=o.detach(), gt=g, metainfo=s.metainfo)
                for o, g, s in zip(out, gt, data_samples)
            ]
        raise ValueError(f'mode must be loss, predict or tensor, got {mode!r}')


@METRICS.register_module()
class ToyPSNR(BaseMetric):
    """Mean PSNR (dB, peak 1) of ``pred`` against ``gt``."""

    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            mse = F.mse_loss(sample['pred'].clamp(0, 1), sample['gt']).item()
            self.results.append(10 * np.log10(1. / max(mse, 1e-10)))

    def compute_metrics(self, results):
        return dict(psnr=float(np.mean(results)))


@HOOKS.register_module()
class ToyCrashHook(Hook):
    """Kill the process (SIGKILL) after iteration ``$TOY_CRASH_AT_ITER``."""

    priority = 'LOWEST'  # after the CheckpointHook of the same iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        crash_at = int(os.environ.get('TOY_CRASH_AT_ITER', '0'))
        if crash_at and runner.iter + 1 == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class ToyFinalWeightsHook(Hook):
    """Each rank saves its final weights to ``final_weights_rank<r>.pth``."""

    def after_run(self, runner):
        model = runner.model
        model = getattr(model, 'module', model)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save(state,
                   osp.join(runner.work_dir,
                            f'final_weights_rank{get_rank()}.pth'))


class _KilledMidWrite:
    """A file whose first ``write`` puts half the bytes on disk and then
    SIGKILLs the process (everything else is the real file's)."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[:len(data) // 2])
        self._file.flush()
        os.fsync(self._file.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return self._file.__exit__(*exc_info)

    def __getattr__(self, name):
        return getattr(self._file, name)


def _kill_while_writing(iteration):
    """Make ``open(..., 'w...')`` of any file whose name contains
    ``iter_<iteration>.pth`` return a :class:`_KilledMidWrite`."""
    import builtins
    real_open = builtins.open
    target = f'iter_{int(iteration)}.pth'

    def open_and_kill(file, mode='r', *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if 'w' in mode and isinstance(file, (str, os.PathLike)) and \
                target in osp.basename(os.fspath(file)):
            return _KilledMidWrite(handle)
        return handle

    builtins.open = open_and_kill


if os.environ.get('TOY_KILL_IN_SAVE'):
    _kill_while_writing(os.environ['TOY_KILL_IN_SAVE'])
