# Copyright (c) invtoolbox contributors. All rights reserved.
"""The documented benchmark commands name existing scripts with options they
accept, benchmarks/README.md covers every script and links to sections
that exist, and no page still points at the scripts' old place."""
import importlib
import re
import shlex

import pytest

from tests.helpers import REPO_ROOT, shared_path

README = REPO_ROOT / 'benchmarks' / 'README.md'
#: pages that show benchmark commands
PAGES = ['benchmarks/README.md', 'docs/benchmarks.md', 'docs/degradations.md',
         'docs/inn.md', 'docs/sain.md', 'README.md', 'configs/sain/README.md',
         'Makefile']
HELPERS = {'__init__', 'profiling', 'irn_restatement', 'iicnet_restatement',
           'invisp_restatement'}
SCRIPTS = sorted(p.stem for p in (REPO_ROOT / 'benchmarks').glob('*.py')
                 if p.stem not in HELPERS)
MOVED = SCRIPTS + ['irn_restatement', 'iicnet_restatement',
                   'invisp_restatement']


def commands(page):
    """``python -m benchmarks.X ...`` commands of a page (code blocks, table
    cells and inline code; backslash continuations joined)."""
    text = (REPO_ROOT / page).read_text(encoding='utf-8')
    text = re.sub(r'\\\n\s*', ' ', text)
    found = re.findall(r'-m (benchmarks\.\w+)((?: [^`|\n#]*)?)', text)
    return [(module, shlex.split(rest)) for module, rest in found]


def anchors(page):
    text = (REPO_ROOT / page).read_text(encoding='utf-8')
    return {
        re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
        for heading in re.findall(r'^#+ (.+)$', text, flags=re.M)
    }


@pytest.mark.parametrize('page', PAGES)
def test_documented_commands_parse(page):
    found = commands(page)
    assert found, f'{page} shows no benchmark command'
    for module_name, argv in found:
        module = importlib.import_module(module_name)
        if module_name.endswith('iicnet_training_curve'):
            shared_path('data', 'video')  # its default --data-root
        try:
            module.parse_args(argv)
        except SystemExit as err:  # argparse's exit on a bad option
            pytest.fail(f'{page}: python -m {module_name} '
                        f'{" ".join(argv)} is refused ({err})')


def test_readme_covers_every_script_and_links_exist():
    text = README.read_text(encoding='utf-8')
    sections = anchors('docs/benchmarks.md')
    for script in SCRIPTS:
        row = next((line for line in text.splitlines()
                    if line.startswith(f'| `{script}.py` |')), None)
        assert row is not None, f'{script}.py has no row in {README}'
        assert f'python -m benchmarks.{script}' in row
        links = re.findall(r'docs/benchmarks\.md#([\w-]+)', row)
        assert links, f'{script}.py: no link to its results'
        for anchor in links:
            assert anchor in sections, f'{script}.py: no section #{anchor}'
    for name in ('irn_restatement', 'iicnet_restatement',
                 'invisp_restatement'):
        assert f'| `{name}.py` |' in text


def test_no_page_points_at_the_old_place():
    pages = [REPO_ROOT / p for p in PAGES] + list(
        (REPO_ROOT / 'docs').glob('*.md')) + list(
            (REPO_ROOT / 'configs').glob('*/README.md'))
    for page in pages:
        text = page.read_text(encoding='utf-8')
        for name in MOVED + ['profiling']:
            assert f'analysis_tools/{name}' not in text, (page, name)
        assert 'invtoolbox.utils.profiling' not in text, page
