# Copyright (c) invtoolbox contributors. All rights reserved.
"""DeviceAwareDistributedDataParallel trains models with several optimizers
(GANs, learned codecs) over a gloo process group: every rank applies the
gradient averaged over the ranks."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.optim import OptimWrapper, OptimWrapperDict

from invtoolbox.models.wrappers import DeviceAwareDistributedDataParallel
from invtoolbox.registry import MODELS
from invtoolbox.structures import DataSample
from tests.utils.test_compat import free_port


def tiny_gan():
    import invtoolbox.models  # noqa: F401  (registers the model)
    return MODELS.build(
        dict(type='NovelViewJPEG',
             generator=dict(type='NovelViewJPEGNet', num_planes=4,
                            encoder=dict(base_channels=8),
                            decoder=dict(base_channels=8)),
             discriminator=dict(type='MultiscaleDiscriminator',
                                base_channels=8, num_scales=2),
             train_cfg=dict(seed=5)))


def batch(seed):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs=list(torch.rand(2, 3, 32, 32, generator=gen)),
        data_samples=[
            DataSample(gt_mpi=torch.rand(4, 4, 32, 32, generator=gen))
            for _ in range(2)
        ])


def wrappers(model):
    return OptimWrapperDict(
        generator=OptimWrapper(
            torch.optim.Adam(model.generator.parameters(), 1e-3),
            clip_grad=dict(max_norm=1.0)),
        discriminator=OptimWrapper(
            torch.optim.Adam(model.discriminator.parameters(), 1e-3)))


def train_rank(rank, world, port, folder):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=port)
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        torch.manual_seed(rank)  # different weights: the wrapper syncs them
        model = tiny_gan()
        wrapped = DeviceAwareDistributedDataParallel(model)
        optim = wrappers(model)
        for step in range(2):
            log = wrapped.train_step(batch(10 * step + rank), optim)
        assert 'loss_disc' in log and 'loss_gan' in log
        torch.save(
            {k: v for k, v in model.named_parameters()},
            os.path.join(folder, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


@pytest.mark.e2e
def test_several_optimizers_train_in_step_across_ranks(tmp_path):
    mp.spawn(train_rank, args=(2, free_port(), str(tmp_path)), nprocs=2,
             join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pth', weights_only=True)
             for r in range(2)]
    assert ranks[0].keys() == ranks[1].keys()
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), key
    # the update is not what rank 0's data alone gives
    torch.manual_seed(0)
    model = tiny_gan()
    optim = wrappers(model)
    for step in range(2):
        model.train_step(batch(10 * step), optim)
    alone = dict(model.named_parameters())
    assert not torch.equal(alone['generator.encoder.output_conv.0.weight'],
                           ranks[0]['generator.encoder.output_conv.0.weight'])
    assert not torch.equal(alone['discriminator.layer0.0.weight'],
                           ranks[0]['discriminator.layer0.0.weight'])
