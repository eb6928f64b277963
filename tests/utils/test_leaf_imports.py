# Copyright (c) invtoolbox contributors. All rights reserved.
"""``invtoolbox.utils`` is a leaf: it imports nothing above it.

Allowed from invtoolbox: ``invtoolbox.errors``, ``invtoolbox.version`` and
other ``invtoolbox.utils`` modules. The one exception is
``register_all_modules`` (``utils/setup_env.py``), whose purpose is to import
every sub-package: it does so by dotted name with ``importlib.import_module``
inside the function.
"""
import ast
import subprocess
import sys

import pytest

from tests.helpers import HANG_TIMEOUT, REPO_ROOT

UTILS = REPO_ROOT / 'invtoolbox' / 'utils'
ALLOWED = ('invtoolbox.errors', 'invtoolbox.version', 'invtoolbox.utils')
#: (file, function) allowed to import by dotted name at call time
DYNAMIC_IMPORT_ALLOWED = {('setup_env.py', 'register_all_modules')}
DYNAMIC_IMPORTERS = {'import_module', '__import__'}


def _allowed(module):
    return any(
        module == name or module.startswith(name + '.') for name in ALLOWED)


def _absolute(node, package):
    """The absolute module names an Import/ImportFrom node reaches."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ''
    else:
        parts = package.split('.')
        if node.level > 1:
            parts = parts[:-(node.level - 1)]
        base = '.'.join(parts + ([node.module] if node.module else []))
    if node.module is None or base in ('invtoolbox', 'invtoolbox.utils'):
        # ``from . import x`` / ``from .. import x``: x may be a module
        return [f'{base}.{alias.name}' for alias in node.names]
    return [base]


class _Visitor(ast.NodeVisitor):

    def __init__(self, filename, package):
        self.filename = filename
        self.package = package
        self.functions = []
        self.problems = []

    def visit_FunctionDef(self, node):
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _where(self, node):
        scope = '.'.join(self.functions) or '<module>'
        return f'{self.filename}:{node.lineno} ({scope})'

    def _check_import(self, node):
        for module in _absolute(node, self.package):
            if module.split('.')[0] == 'invtoolbox' and not _allowed(module):
                self.problems.append(f'{self._where(node)} imports {module}')

    def visit_Import(self, node):
        self._check_import(node)

    def visit_ImportFrom(self, node):
        self._check_import(node)

    def visit_Call(self, node):
        func = node.func
        name = (func.attr if isinstance(func, ast.Attribute) else
                func.id if isinstance(func, ast.Name) else None)
        if name in DYNAMIC_IMPORTERS:
            inside = self.functions[-1] if self.functions else None
            if (self.filename, inside) not in DYNAMIC_IMPORT_ALLOWED:
                self.problems.append(
                    f'{self._where(node)} calls {name}() (only '
                    'register_all_modules imports by name)')
        self.generic_visit(node)


def _problems(path, package=None):
    """Upward imports of ``path``, a module of ``package`` (by default the
    package of its folder under the repository)."""
    if package is None:
        package = '.'.join(path.parent.relative_to(REPO_ROOT).parts)
    tree = ast.parse(path.read_text(), str(path))
    visitor = _Visitor(path.name, package)
    visitor.visit(tree)
    return visitor.problems


def test_utils_imports_nothing_above_it():
    files = sorted(UTILS.rglob('*.py'))
    assert len(files) >= 5
    problems = [p for path in files for p in _problems(path)]
    assert not problems, problems


@pytest.mark.parametrize('source,expected', [
    ('from ..engine.hooks import rng_state_hook\n', 'invtoolbox.engine'),
    ('def f():\n    from invtoolbox.models import wrappers\n',
     'invtoolbox.models'),
    ('import invtoolbox.apis\n', 'invtoolbox.apis'),
    ('from .. import datasets\n', 'invtoolbox.datasets'),
    ('def f():\n    import importlib\n'
     "    importlib.import_module('invtoolbox.evaluation')\n", 'import_module'),
    ("__import__('invtoolbox.models')\n", '__import__'),
])
def test_the_rule_catches_upward_imports(tmp_path, source, expected):
    path = tmp_path / 'compat.py'
    path.write_text(source)
    problems = _problems(path, 'invtoolbox.utils')
    assert len(problems) == 1 and expected in problems[0], problems


def test_the_rule_allows_leaf_imports(tmp_path):
    path = tmp_path / 'x.py'
    path.write_text('from ..errors import ShapeError\n'
                    'from .image import tensor2img\n'
                    'from . import imresize\n'
                    'import invtoolbox.version\n'
                    'from invtoolbox.utils.checkpoint_trust import X\n')
    assert _problems(path, 'invtoolbox.utils') == []


@pytest.mark.e2e
def test_importing_utils_loads_no_package_above_it():
    code = ('import sys, invtoolbox.utils\n'
            "print(' '.join(sorted(m for m in sys.modules "
            "if m.startswith('invtoolbox'))))\n")
    proc = subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True,
                          cwd=str(REPO_ROOT),
                          timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.split()
    assert 'invtoolbox.utils.checkpoint_trust' in loaded
    above = [
        m for m in loaded if m.split('.')[1:2] and m.split('.')[1] in (
            'engine', 'models', 'apis', 'datasets', 'evaluation', 'registry')
    ]
    assert not above, above
