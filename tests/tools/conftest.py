# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch

from tests.helpers import load_tool


@pytest.fixture(scope='module')
def infer():
    """``tools/infer.py`` as a module (its ``main(argv)`` runs in-process)."""
    return load_tool('infer')


@pytest.fixture(scope='module')
def train_tool():
    """``tools/train.py`` as a module, the registries filled."""
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    return load_tool('train')


@pytest.fixture(scope='module')
def test_tool():
    """``tools/test.py`` as a module."""
    return load_tool('test')


@pytest.fixture(autouse=True)
def _one_thread():
    """Single-threaded in-process runs: on a shared 2-core machine OpenMP
    threads that wait for each other make small convolutions much slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
