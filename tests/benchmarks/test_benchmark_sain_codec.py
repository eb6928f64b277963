# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmark_sain_codec.py runs and prints one row per setting."""
import threading
import time

import torch


def test_benchmark_sain_codec_smoke(capsys):
    from benchmarks import benchmark_sain_codec as tool
    threads = torch.get_num_threads()
    try:
        rows = tool.main(['--batch', '2', '--size', '32', '--repeats', '1',
                          '--warmup', '0', '--e-blocks', '1', '--v-blocks',
                          '1'])
    finally:
        torch.set_num_threads(threads)  # main() sets its --threads
    assert [(codec, threads) for codec, threads, _ in rows] == tool.SETTINGS
    for _, _, result in rows:
        assert result['step'] > 0 and 0 < result['wait'] < result['step']
        assert result['alone'] > 0
    out = capsys.readouterr().out
    assert out.count('| WebP |') == 2 and out.count('| JPEG |') == 2
    assert out.count('| CPU, 1 thread |') == 4  # --threads 1, the default
    # the codec threads of the 4-thread settings ended with their models
    deadline = time.monotonic() + 300  # only a hang detector
    while any(t.name.startswith('sain-codec') for t in threading.enumerate()):
        assert time.monotonic() < deadline, 'SAIN codec threads still alive'
        time.sleep(0.05)
