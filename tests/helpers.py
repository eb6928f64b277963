# Copyright (c) invtoolbox contributors. All rights reserved.
"""Helpers shared by the tests (``from tests.helpers import shared_path``)."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ROOT = Path(
    os.environ.get('INVTB_SHARED', REPO_ROOT.parent / 'shared')).resolve()

#: Seconds a test waits for a subprocess (or a DDP peer) before calling it
#: hung. Only a hang detector: the tests assert no speed, and on a busy
#: 2-core CI machine a 2-minute job can take 15 (issue 15 saw a 180 s limit
#: fail a healthy DDP test). Override with INVTB_TEST_HANG_TIMEOUT.
HANG_TIMEOUT = int(os.environ.get('INVTB_TEST_HANG_TIMEOUT', '1800'))


def load_tool(path: str):
    """``tools/<path>.py`` as a module (e.g. ``'train'``,
    ``'model_converters/convert_official'``), so tests call its functions
    and ``main(argv)`` in-process. Each call executes the file afresh."""
    import importlib.util
    name = '_tool_' + path.replace('/', '_')
    spec = importlib.util.spec_from_file_location(
        name, REPO_ROOT / 'tools' / f'{path}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_path(*parts: str) -> Path:
    """Return ``../shared/<parts>``.

    Skips the calling test with a clear reason when the folder is absent (a
    user's clone); fails instead when ``INVTB_REQUIRE_SHARED=1`` (CI).
    """
    path = SHARED_ROOT.joinpath(*parts)
    if not path.exists():
        msg = (f'{path} not found: this test needs the shared test data '
               '(set INVTB_SHARED to its folder)')
        if os.environ.get('INVTB_REQUIRE_SHARED') == '1':
            pytest.fail(msg + '; INVTB_REQUIRE_SHARED=1 forbids skipping')
        pytest.skip(msg)
    return path


def keyed_vectors(name: str):
    """``(vectors, state_dict)`` of a keyed-weight vector file of
    ``../shared/vectors`` (e.g. ``'invcompress.pt'``): the file as
    ``torch.load`` gives it and its official state dict rebuilt by the
    ``keyed_weights.py`` beside it (see the vectors' README)."""
    import importlib.util

    import torch
    path = shared_path('vectors', name)
    vectors = torch.load(path, weights_only=True)
    spec = importlib.util.spec_from_file_location(
        'keyed_weights', path.parent / 'keyed_weights.py')
    keyed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(keyed)
    return vectors, keyed.materialize(vectors['weights_recipe'],
                                      vectors['seed'], vectors['state_dict'])


def tiny_model_files(folder, config_text: str, name: str, noise: float = 0.05):
    """Write ``<name>.py`` (``config_text``) and ``<name>.pth`` (the built
    model with its weights perturbed by ``noise`` so that no layer is an
    identity) into ``folder``; returns ``(config, checkpoint, model)``."""
    import torch

    from invtoolbox.apis import init_model, save_checkpoint_atomic
    config = Path(folder) / f'{name}.py'
    config.write_text(config_text)
    model = init_model(str(config))
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(noise * torch.randn_like(p))
    ckpt = save_checkpoint_atomic(
        dict(meta={}, state_dict=model.state_dict()),
        Path(folder) / f'{name}.pth')
    return str(config), str(ckpt), model
