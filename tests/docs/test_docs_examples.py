# Copyright (c) invtoolbox contributors. All rights reserved.
"""The Python examples in docs/ run as written."""
import re

import pytest

from invtoolbox.registry import COUPLINGS
from tests.helpers import REPO_ROOT

PAGES = ['docs/inn.md', 'README.md']


def python_blocks(page):
    text = (REPO_ROOT / page).read_text(encoding='utf-8')
    return re.findall(r'```python\n(.*?)```', text, flags=re.S)


@pytest.mark.parametrize('page', PAGES)
def test_python_examples_run(page):
    blocks = python_blocks(page)
    assert blocks, f'{page} has no python example'
    COUPLINGS.import_from_location()  # the lazy import, before the snapshot
    registered_before = set(COUPLINGS.module_dict)
    try:
        for code in blocks:
            exec(compile(code, page, 'exec'), {'__name__': 'docs'})
    finally:
        for name in set(COUPLINGS.module_dict) - registered_before:
            COUPLINGS._module_dict.pop(name)


def test_inn_example_is_about_twenty_lines():
    first = python_blocks('docs/inn.md')[0]
    lines = [line for line in first.splitlines() if line.strip()]
    assert len(lines) <= 22
