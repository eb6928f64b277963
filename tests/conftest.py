# Copyright (c) invtoolbox contributors. All rights reserved.
"""Shared test fixtures.

Tests that read the public test images or reference vectors in ``../shared``
use :func:`tests.helpers.shared_path`. In a user's clone (no ``../shared``) they skip with a
clear reason; with ``INVTB_REQUIRE_SHARED=1`` (set by ``.ci/run``) they fail
instead, so CI can never pass by skipping them.
"""
import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Every test starts from the same global RNG state and 2 threads."""
    torch.manual_seed(0)
    yield
