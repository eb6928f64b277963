# Copyright (c) invtoolbox contributors. All rights reserved.
"""Inference on large photos: time and peak memory, tiled and untiled.

Every row is one fresh ``tools/infer.py`` process (``downscale`` HR -> LR,
then ``upscale`` LR -> HR) on a photo of the given size, untiled or with
``--max-memory``; its peak resident memory is the kernel's (``wait4``
``ru_maxrss``), its time the wall clock of the process (model loading
included). The photos are Kodak images resized (Lanczos) to the sizes, so
the content is natural. The weights are the full IRN x2 network's initial
weights (time and memory do not depend on their values); the script writes
them as a checkpoint first. Tiled and untiled outputs are compared byte for
byte (the decoded PNGs).

    python -m benchmarks.benchmark_infer_tiling --sizes 1 6 12 24 --max-memory 2G

Prints a table (markdown) for ``docs/benchmarks.md``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: width x height of each size (megapixels -> pixels), 4:3 / 3:2 photos
SIZES = {
    1: (1152, 864),
    6: (3000, 2000),
    12: (4000, 3000),
    24: (6000, 4000),
    48: (8000, 6000),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/irn/irn_x2_div2k.py')
    parser.add_argument('--sizes', type=int, nargs='+', default=[1, 6, 12, 24],
                        choices=sorted(SIZES), help='megapixels')
    parser.add_argument('--max-memory', default='2G')
    parser.add_argument('--modes', nargs='+', default=['untiled', 'tiled'],
                        choices=['untiled', 'tiled'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--kodak', default=os.path.join(
        REPO, '..', 'shared', 'data', 'kodak', 'kodim23.png'))
    parser.add_argument('--work', default=None,
                        help='folder for the photos and outputs (default: '
                        'a temporary folder)')
    return parser.parse_args(argv)


def make_photo(src: str, size, path: str) -> None:
    from PIL import Image
    with Image.open(src) as img:
        img.convert('RGB').resize(size, Image.LANCZOS).save(path)


def make_checkpoint(config: str, path: str) -> None:
    import torch

    from invtoolbox.apis import init_model, save_checkpoint_atomic
    torch.manual_seed(0)
    model = init_model(os.path.join(REPO, config))
    save_checkpoint_atomic({'state_dict': model.state_dict(),
                            'meta': {'note': 'initial weights'}}, path)


def run_infer(args) -> tuple:
    """``(seconds, peak RSS bytes, output)`` of one ``tools/infer.py``
    process (its own peak, from ``wait4``)."""
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, os.path.join(REPO, 'tools', 'infer.py')] + args,
            stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        text = log.read().decode(errors='replace')
    if proc.returncode:
        raise SystemExit(f'infer.py {" ".join(args)} failed:\n{text}')
    return seconds, usage.ru_maxrss * 1024, text


def read_png(path: str) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as img:
        return np.asarray(img)


def main(argv=None) -> int:
    args = parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix='infer_tiling_')
    ckpt = os.path.join(work, 'irn_x2_init.pth')
    if not os.path.exists(ckpt):
        make_checkpoint(args.config, ckpt)
    config = os.path.join(REPO, args.config)
    threads = os.environ.get('OMP_NUM_THREADS', 'default')
    print(f'IRN x2 ({args.config}), device {args.device}, OMP_NUM_THREADS='
          f'{threads}, tiled = --max-memory {args.max_memory}')
    print('| photo | mode | downscale s | downscale peak | upscale s | '
          'upscale peak | tiles (down / up) |')
    print('|---|---|---|---|---|---|---|')
    for mp in args.sizes:
        size = SIZES[mp]
        folder = os.path.join(work, f'{mp}mp')
        hr = os.path.join(folder, 'hr')
        os.makedirs(hr, exist_ok=True)
        photo = os.path.join(hr, 'photo.png')
        if not os.path.exists(photo):
            make_photo(args.kodak, size, photo)
        for mode in args.modes:
            extra = ['--max-memory', args.max_memory] \
                if mode == 'tiled' else []
            lr = os.path.join(folder, f'lr_{mode}')
            sr = os.path.join(folder, f'sr_{mode}')
            common = [config, ckpt]
            flags = ['--overwrite', '--device', args.device] + extra
            t_down, m_down, log_down = run_infer(
                ['downscale'] + common + [hr, lr] + flags)
            # each mode upscales its own LR (they are identical when
            # tiling is exact, which the comparison below checks)
            lr_in = lr
            t_up, m_up, log_up = run_infer(
                ['upscale'] + common + [lr_in, sr] + flags)
            tiles = '/'.join(
                _tiles(log) for log in (log_down, log_up)) \
                if mode == 'tiled' else '1 / 1'
            print(f'| {size[0]}x{size[1]} ({mp} MP) | {mode} | {t_down:.0f} '
                  f'| {m_down / 2**30:.2f} GiB | {t_up:.0f} | '
                  f'{m_up / 2**30:.2f} GiB | {tiles} |', flush=True)
        # compare with the other mode's outputs, from this run or an
        # earlier one in the same --work folder
        pairs = [(os.path.join(folder, f'{kind}_tiled', 'photo.png'),
                  os.path.join(folder, f'{kind}_untiled', 'photo.png'))
                 for kind in ('lr', 'sr')]
        if all(os.path.exists(p) for pair in pairs for p in pair):
            same = all(np.array_equal(read_png(a), read_png(b))
                       for a, b in pairs)
            print(f'|   | tiled == untiled (8-bit PNGs, LR and HR): '
                  f'{"identical" if same else "DIFFERENT"} | | | | | |',
                  flush=True)
    return 0


def _tiles(log: str) -> str:
    import re
    match = re.search(r'\((\d+) tiles of (\d+) px, halo (\d+)\)', log)
    return f'{match.group(1)}x{match.group(2)}px' if match else '1'


if __name__ == '__main__':
    if __package__ in (None, ''):
        raise SystemExit('run it as a module: python -m '
                         'benchmarks.benchmark_infer_tiling ...')
    sys.exit(main())
