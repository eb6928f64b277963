# Copyright (c) invtoolbox contributors. All rights reserved.
"""The documentation pages and their fenced blocks, for the docs tests.

Every fenced block carries a language tag that says what it is (``TAGS``):

- ``bash``: commands a user types (run or parsed by ``test_docs_commands``);
- ``python``: code, executed by ``test_docs_examples``; with a title
  (````` ```python title="configs/irn/irn_x4_div2k.py" `````) it is an excerpt
  of that file, checked to appear in it;
- ``text``: printed output, pseudo-code, diagrams, usage synopses;
- ``mermaid``, ``toml``: diagrams and packaging fragments.
"""
import re
import shlex
from typing import Dict, List, NamedTuple, Optional

from tests.helpers import REPO_ROOT

TAGS = ('bash', 'python', 'text', 'mermaid', 'toml')
_FENCE = re.compile(r'^(\s*)```(.*)$')
_TITLE = re.compile(r'^title="([^"]+)"$')
_ASSIGNMENT = re.compile(r'^([A-Za-z_]\w*)=(\S*)$')


def pages() -> List[str]:
    """README.md, docs/*.md, configs/*/README.md, benchmarks/README.md."""
    found = ['README.md'] + sorted(
        str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / 'docs').glob('*.md'))
    found += sorted(
        str(p.relative_to(REPO_ROOT))
        for p in (REPO_ROOT / 'configs').glob('*/README.md'))
    return found + ['benchmarks/README.md']


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
    """The executable python blocks of ``page`` (excerpts left out)."""
    return [b.text for b in blocks(page) if b.tag == 'python' and not b.title]


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
    the lines after it."""
    found = []
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
            found.append(Command(page, block.line, line, dict(variables)))
    return found


def code_lines(source: str) -> List[str]:
    """Lines of python code without comments, blank lines and ``...``."""
    lines = (line.split('  #')[0].split('# ')[0].strip()
             for line in source.splitlines())
    return [line for line in lines if line and line != '...']
