# Copyright (c) invtoolbox contributors. All rights reserved.
"""Helpers shared by the tests (``from tests.helpers import shared_path``)."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ROOT = Path(
    os.environ.get('INVTB_SHARED', REPO_ROOT.parent / 'shared')).resolve()


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
