# Copyright (c) invtoolbox contributors. All rights reserved.
import importlib.util

import pytest
import torch

from tests.helpers import REPO_ROOT


@pytest.fixture(scope='module')
def infer():
    """``tools/infer.py`` as a module (its ``main(argv)`` runs in-process)."""
    spec = importlib.util.spec_from_file_location(
        'infer', REPO_ROOT / 'tools' / 'infer.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _one_thread():
    """Single-threaded in-process runs: on a shared 2-core machine OpenMP
    threads that wait for each other make small convolutions much slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
