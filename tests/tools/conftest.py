# Copyright (c) invtoolbox contributors. All rights reserved.
import importlib.util

import pytest

from tests.helpers import REPO_ROOT


@pytest.fixture(scope='module')
def infer():
    """``tools/infer.py`` as a module (its ``main(argv)`` runs in-process)."""
    spec = importlib.util.spec_from_file_location(
        'infer', REPO_ROOT / 'tools' / 'infer.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
