# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official InvCompress vectors (keyed weights), shared by the tests of
this folder."""
import pytest

from tests.helpers import keyed_vectors


@pytest.fixture(scope='module')
def keyed():
    return keyed_vectors('invcompress.pt')


@pytest.fixture(scope='module')
def vectors(keyed):
    return keyed[0]


@pytest.fixture(scope='module')
def official_sd(keyed):
    return keyed[1]
