# Copyright (c) invtoolbox contributors. All rights reserved.
"""Suite-wide pytest settings (every test folder, the plugin project's too).

The fast lane (``make test-fast``) runs ``pytest -m "not e2e"`` with
``INVTB_FAST_LANE=1``: tests that run a tool, a script, ``torchrun`` or a
second Python in a subprocess are end-to-end runs and must be marked
``@pytest.mark.e2e``. In the fast lane an unmarked test that starts one
fails with a line saying so, so the lane cannot silently grow slow again.
(Short helper commands such as mmengine's ``gcc --version`` are not
end-to-end runs and are left alone.)
"""
import os
import subprocess
import sys

import pytest

FAST_LANE = os.environ.get('INVTB_FAST_LANE') == '1'
#: what an end-to-end command line mentions.
_END_TO_END = ('python', 'torchrun', '.sh', 'tools/', 'benchmarks')


def _command_text(args, kwargs) -> str:
    command = args[0] if args else kwargs.get('args', '')
    if isinstance(command, (list, tuple)):
        command = ' '.join(map(str, command))
    return str(command)


def _is_end_to_end(command: str) -> bool:
    return sys.executable in command or any(word in command
                                            for word in _END_TO_END)


@pytest.fixture(autouse=True)
def _end_to_end_runs_only_in_e2e_tests(request, monkeypatch):
    if not FAST_LANE or request.node.get_closest_marker('e2e') is not None:
        yield
        return
    nodeid = request.node.nodeid
    real_init = subprocess.Popen.__init__

    def checked_init(self, *args, **kwargs):
        command = _command_text(args, kwargs)
        if _is_end_to_end(command):
            raise RuntimeError(
                f'{nodeid} runs {command[:120]!r} in a subprocess; mark the '
                'test @pytest.mark.e2e (make test-fast leaves those out).')
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, '__init__', checked_init)
    yield
