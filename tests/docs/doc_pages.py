# Copyright (c) invtoolbox contributors. All rights reserved.
"""The documentation pages and their fenced blocks, for the docs tests.

Every fenced block carries a language tag that says what it is (``TAGS``):

- ``bash``: commands a user types (run or parsed by ``test_docs_commands``);
- ``python``: code, executed by ``test_docs_examples``; with a title
  (````` ```python title="configs/irn/irn_x4_div2k.py" `````) it is an excerpt
  of that repository file, checked to appear in it, or, when no repository
  file has that name, a *user file*: a file the page asks the user to write
  (``my_package/__init__.py``), written into the page's own folder (below)
  before the page's code and commands run there, and never executed as code;
- ``text``: printed output, pseudo-code, diagrams, usage synopses;
- ``mermaid``, ``toml``: diagrams and packaging fragments.

Pages are run as a user would follow them, in order: the commands and code
start in the repository root; a ``cd DIR`` line of a ``bash`` block moves
the rest of the page (later commands and ``python`` blocks) into the folder
``DIR`` of the user's own (a fresh folder outside the checkout, where the
page's user files are written); ``path/to/invtoolbox`` stands for the
checkout.
"""
import re
import shlex
from typing import Dict, List, NamedTuple, Optional

from tests.helpers import REPO_ROOT

TAGS = ('bash', 'python', 'text', 'mermaid', 'toml')
_FENCE = re.compile(r'^(\s*)```(.*)$')
_TITLE = re.compile(r'^title="([^"]+)"$')
_ASSIGNMENT = re.compile(r'^([A-Za-z_]\w*)=(\S*)$')
_CD = re.compile(r'^cd (\S+)$')
#: how a page names the checkout in commands and user files
CHECKOUT = 'path/to/invtoolbox'


def pages() -> List[str]:
    """README.md, docs/*.md, configs/*/README.md, benchmarks/README.md,
    projects/*/README.md."""
    found = ['README.md'] + sorted(
        str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / 'docs').glob('*.md'))
    for pattern in ('configs/*/README.md', 'benchmarks/README.md',
                    'projects/*/README.md'):
        found += sorted(
            str(p.relative_to(REPO_ROOT)) for p in REPO_ROOT.glob(pattern))
    return found


class Block(NamedTuple):
    page: str
    line: int  # of the opening fence, 1-based
    tag: str  # '' when untagged
    title: Optional[str]  # python excerpts: the file they come from
    text: str


def blocks(page: str) -> List[Block]:
    """The fenced blocks of ``page`` in order (indented ones included)."""
    lines = (REPO_ROOT / page).read_text(encoding='utf-8').splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, info = fence.group(1), fence.group(2).strip()
        end = i + 1
        while end < len(lines) and lines[end].strip() != '```':
            end += 1
        assert end < len(lines), f'{page}:{i + 1}: unclosed code block'
        body = [line[len(indent):] if line.startswith(indent) else line
                for line in lines[i + 1:end]]
        tag, _, rest = info.partition(' ')
        title = _TITLE.match(rest.strip())
        found.append(
            Block(page, i + 1, tag, title.group(1) if title else None,
                  '\n'.join(body) + '\n'))
        i = end + 1
    return found


def python_examples(page: str) -> List[str]:
    """The executable python blocks of ``page`` (excerpts and user files
    left out)."""
    return [b.text for b in blocks(page) if b.tag == 'python' and not b.title]


def is_user_file(block: Block) -> bool:
    """A titled ``python`` block that names no repository file: a file the
    page asks the user to write."""
    return bool(block.title) and not (REPO_ROOT / block.title).exists()


def user_files(page: str) -> Dict[str, str]:
    """``{path in the page's folder: text}`` of the page's user files, with
    ``path/to/invtoolbox`` pointing at this checkout."""
    return {b.title: b.text.replace(CHECKOUT, str(REPO_ROOT))
            for b in blocks(page) if b.tag == 'python' and is_user_file(b)}


def _cd(line: str, cwd: Optional[str]) -> Optional[str]:
    """The folder after ``line`` when it is a ``cd``, else None."""
    match = _CD.match(line)
    if not match:
        return None
    target = match.group(1)
    assert not target.startswith(('/', '~', '..')), (
        f'cd {target}: pages run in a folder of the user\'s own; write '
        'cd DIR with a relative DIR')
    return target if cwd is None else f'{cwd}/{target}'


class PythonStep(NamedTuple):
    code: str
    cwd: Optional[str]  # None: the repository root; else the user's folder


def python_steps(page: str) -> List[PythonStep]:
    """The executable python blocks of ``page`` in order, each with the
    folder it runs in (after the page's ``cd`` lines up to it)."""
    steps, cwd = [], None
    for block in blocks(page):
        if block.tag == 'bash':
            for line in block.text.splitlines():
                cwd = _cd(' '.join(_strip_comment(line).split()), cwd) or cwd
        elif block.tag == 'python' and not block.title:
            steps.append(PythonStep(block.text, cwd))
    return steps


def _strip_comment(line: str) -> str:
    """``line`` up to a ``#`` that starts a shell comment (outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in '\'"':
            quote = char
        elif char == '#' and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


class Command(NamedTuple):
    page: str
    line: int  # of the block
    text: str  # continuations joined, comments stripped, spaces collapsed
    variables: Dict[str, str]  # shell variables set by earlier lines
    cwd: Optional[str] = None  # None: the repository root; else (after a
    # ``cd DIR`` of the page) the user's folder DIR

    def argv(self) -> List[str]:
        """The words of the command with the block's ``$VARIABLES`` filled
        in (as the shell would)."""
        return [
            re.sub(r'\$(\w+)', lambda m: self.variables[m.group(1)], word)
            for word in shlex.split(self.text)
        ]


def bash_commands(page: str) -> List[Command]:
    """Every command of the ``bash`` blocks of ``page``. A line that only
    sets a variable (``V=../shared/data/video``) is no command; it applies to
    the lines after it. A ``cd DIR`` line is no command either; it moves the
    rest of the page into the user's folder ``DIR``."""
    found, cwd = [], None
    for block in blocks(page):
        if block.tag != 'bash':
            continue
        variables = {}
        text = re.sub(r'\\\n', ' ', block.text)
        for line in text.splitlines():
            line = ' '.join(_strip_comment(line).split())
            if not line:
                continue
            assignment = _ASSIGNMENT.match(line)
            if assignment:
                variables[assignment.group(1)] = assignment.group(2)
                continue
            moved = _cd(line, cwd)
            if moved:
                cwd = moved
                continue
            found.append(
                Command(page, block.line, line, dict(variables), cwd))
    return found


def code_lines(source: str) -> List[str]:
    """Lines of python code without comments, blank lines and ``...``."""
    lines = (line.split('  #')[0].split('# ')[0].strip()
             for line in source.splitlines())
    return [line for line in lines if line and line != '...']
