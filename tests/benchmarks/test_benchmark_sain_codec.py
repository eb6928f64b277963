# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmark_sain_codec.py runs and prints one row per setting."""
import importlib.util

from tests.helpers import REPO_ROOT


def load_tool():
    path = REPO_ROOT / 'tools' / 'analysis_tools' / 'benchmark_sain_codec.py'
    spec = importlib.util.spec_from_file_location('benchmark_sain_codec', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_sain_codec_smoke(capsys):
    tool = load_tool()
    rows = tool.main(['--batch', '2', '--size', '32', '--repeats', '1',
                      '--warmup', '0', '--e-blocks', '1', '--v-blocks', '1'])
    assert [(codec, threads) for codec, threads, _ in rows] == tool.SETTINGS
    for _, _, result in rows:
        assert result['step'] > 0 and 0 < result['wait'] < result['step']
        assert result['alone'] > 0
    out = capsys.readouterr().out
    assert out.count('| WebP |') == 2 and out.count('| JPEG |') == 2
