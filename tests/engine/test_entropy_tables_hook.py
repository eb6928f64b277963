# Copyright (c) invtoolbox contributors. All rights reserved.
"""EntropyTablesHook: a checkpoint of a learned codec carries tables that
fit its weights."""
from types import SimpleNamespace

import torch

from invtoolbox.engine.hooks import EntropyTablesHook
from invtoolbox.models.editors.invcompress import InvCompress

TINY = dict(type='InvCompressNet', N=16, enhance_channels=8,
            kernel_sizes=(3, 3, 3, 3), couplings_per_level=1)


def test_stale_tables_are_rebuilt_into_the_checkpoint():
    torch.manual_seed(0)
    model = InvCompress(generator=dict(TINY), lmbda=0.01)
    model.ensure_tables()
    stale = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():  # what a training step does to the quantiles
        quantiles = model.generator.entropy_bottleneck.quantiles
        quantiles.mul_(torch.tensor([3.0, 1.0, 3.0])).add_(2.5)
    # as mmengine writes it: the current weights, the tables as they were
    current = {k: v.clone() for k, v in model.state_dict().items()}
    for key in current:
        if key.endswith(('_quantized_cdf', '_cdf_length', '_offset')):
            current[key] = stale[key]
    checkpoint = dict(state_dict=current)
    EntropyTablesHook().before_save_checkpoint(
        SimpleNamespace(model=model), checkpoint)
    saved = checkpoint['state_dict']
    changed = [
        name for name in ('_quantized_cdf', '_cdf_length', '_offset')
        if not torch.equal(saved[f'generator.entropy_bottleneck.{name}'],
                           stale[f'generator.entropy_bottleneck.{name}'])]
    assert changed
    fresh = InvCompress(generator=dict(TINY), lmbda=0.01)
    fresh.load_state_dict(saved)
    rebuilt = {k: v.clone() for k, v in fresh.state_dict().items()}
    fresh.generator.update(force=True)
    for name in ('_quantized_cdf', '_cdf_length', '_offset'):
        key = f'generator.entropy_bottleneck.{name}'
        assert torch.equal(rebuilt[key], fresh.state_dict()[key]), key


def test_models_without_tables_are_left_alone():
    checkpoint = dict(state_dict={'a': torch.zeros(1)})
    EntropyTablesHook().before_save_checkpoint(
        SimpleNamespace(model=torch.nn.Linear(1, 1)), checkpoint)
    assert list(checkpoint['state_dict']) == ['a']
