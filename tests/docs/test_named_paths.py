# Copyright (c) invtoolbox contributors. All rights reserved.
"""Every repository file that a tool's docstring or a documentation page
names exists: a renamed config leaves no stale example behind.

Scanned: ``tools/*.py``, ``tools/*/*.py``, ``tools/*.sh`` and the pages of
``doc_pages.pages()`` plus ``demo/README.md`` and the projects' READMEs.
A path counts when it starts with one of the repository's top folders
(``configs/``, ``tools/``, ``demo/``, ``benchmarks/``, ``projects/``) and
ends with a file suffix; it exists relative to the repository or to the
page's own folder (a project README's ``configs/...``). Placeholders
(``configs/irn/...py``, ``clic_XX_0.png``, ``<name>``) are not paths.
"""
import re

import pytest

from tests.docs.doc_pages import pages
from tests.helpers import REPO_ROOT

_PATH = re.compile(
    r'(?<![\w/.\-])((?:configs|tools|demo|benchmarks|projects)/'
    r'[A-Za-z0-9_./\-]+\.(?:py|sh|png|md|json|yml))')
_PLACEHOLDER = re.compile(r'\.\.\.|XX')


def scanned_files():
    tools = sorted(REPO_ROOT.glob('tools/*.py')) + sorted(
        REPO_ROOT.glob('tools/*/*.py')) + sorted(REPO_ROOT.glob('tools/*.sh'))
    docs = [REPO_ROOT / page for page in pages()]
    docs += [REPO_ROOT / 'demo' / 'README.md']
    docs += sorted(REPO_ROOT.glob('projects/*/README.md'))
    return [p.relative_to(REPO_ROOT).as_posix() for p in tools + docs]


def named_paths(text):
    return sorted({m for m in _PATH.findall(text)
                   if not _PLACEHOLDER.search(m)})


def test_path_pattern():
    text = ('python tools/codec.py encode configs/invcompress/q1.py and '
            'tests/configs/test_x.py, configs/irn/...py, clic_XX_0.png, '
            'demo/data/train/clic_XX_0.png, `demo/kodim23_crop.png`.')
    assert named_paths(text) == [
        'configs/invcompress/q1.py', 'demo/kodim23_crop.png',
        'tools/codec.py'
    ]


@pytest.mark.parametrize('name', scanned_files())
def test_named_files_exist(name):
    source = REPO_ROOT / name
    missing = [
        path for path in named_paths(source.read_text(encoding='utf-8'))
        if not (REPO_ROOT / path).exists()
        and not (source.parent / path).exists()
    ]
    assert not missing, f'{name} names files that do not exist: {missing}'


# --------------------------------------------------------------------------
# demo/: its README lists what it holds, the README's layout names it all
_DEMO_ROW = re.compile(
    r'^\s+(\S+?)/?\s+(\d+) (?:images?|clips of (\d+) frames),')


def demo_entries():
    """The files of ``demo/`` and the leaf folders of ``demo/data``."""
    demo = REPO_ROOT / 'demo'
    entries = [p.name for p in demo.iterdir()
               if p.is_file() and p.suffix != '.md']
    for folder in sorted((demo / 'data').rglob('*')):
        if folder.is_dir() and (any(p.is_file() for p in folder.iterdir())
                                or folder.parent.name == 'videos'):
            rel = folder.relative_to(demo).as_posix()
            if not any(rel.startswith(e + '/') for e in entries):
                entries.append(rel)
    return sorted(entries)


def demo_rows():
    """``{path: (count, frames)}`` of the listing in demo/README.md."""
    text = (REPO_ROOT / 'demo' / 'README.md').read_text()
    block = re.search(r'```text\ndemo/\n(.*?)```', text, re.S)
    assert block, 'demo/README.md has no ```text listing of demo/'
    rows = {}
    for line in block.group(1).splitlines():
        match = _DEMO_ROW.match(line)
        assert match, f'demo/README.md: unreadable listing row {line!r}'
        frames = int(match.group(3)) if match.group(3) else None
        rows[match.group(1)] = (int(match.group(2)), frames)
    return rows


def test_demo_readme_lists_what_demo_holds():
    rows = demo_rows()
    assert sorted(rows) == demo_entries()
    for path, (count, frames) in rows.items():
        target = REPO_ROOT / 'demo' / path
        if frames is None:
            files = [target] if target.is_file() else sorted(
                p for p in target.iterdir() if p.suffix == '.png')
            assert len(files) == count, (path, len(files))
        else:
            clips = sorted(p for p in target.iterdir() if p.is_dir())
            assert len(clips) == count, (path, len(clips))
            for clip in clips:
                assert len(list(clip.glob('*.png'))) == frames, clip


def test_readme_layout_names_every_demo_entry():
    text = (REPO_ROOT / 'README.md').read_text()
    layout = text[text.index('## Layout'):]
    for entry in demo_entries():
        assert entry in layout, (
            f"README.md's layout does not name demo/{entry}")
