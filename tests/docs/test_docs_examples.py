# Copyright (c) invtoolbox contributors. All rights reserved.
"""The Python examples in docs/ run as written."""
import re

import pytest

from invtoolbox.registry import CONVERTERS, COUPLINGS, MODELS, TASKS
from tests.helpers import REPO_ROOT

PAGES = [
    'docs/inn.md', 'README.md', 'docs/write_a_ric_task.md',
    'docs/metrics.md', 'docs/datasets_and_runtime.md',
    'docs/official_checkpoints.md'
]


def python_blocks(page):
    text = (REPO_ROOT / page).read_text(encoding='utf-8')
    return re.findall(r'```python\n(.*?)```', text, flags=re.S)


@pytest.mark.parametrize('page', PAGES)
def test_python_examples_run(page, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # examples use repository paths (demo/...)
    blocks = python_blocks(page)
    assert blocks, f'{page} has no python example'
    registries = (COUPLINGS, TASKS, CONVERTERS, MODELS)
    before = {}
    for registry in registries:
        registry.import_from_location()  # the lazy import, before the snapshot
        before[registry] = set(registry.module_dict)
    try:
        namespace = {'__name__': 'docs'}  # blocks of a page build on each other
        for code in blocks:
            exec(compile(code, page, 'exec'), namespace)
    finally:
        for registry in registries:
            for name in set(registry.module_dict) - before[registry]:
                registry._module_dict.pop(name)


def test_inn_example_is_about_twenty_lines():
    first = python_blocks('docs/inn.md')[0]
    lines = [line for line in first.splitlines() if line.strip()]
    assert len(lines) <= 22
