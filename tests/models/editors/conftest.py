# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Run these tests single-threaded: on a shared 2-core machine OpenMP
    threads that wait for each other make small convolutions 10-50x slower
    when other processes are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
