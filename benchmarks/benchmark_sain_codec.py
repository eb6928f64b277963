# Copyright (c) invtoolbox contributors. All rights reserved.
"""How much real-codec coding stalls a SAIN training step.

SAIN's objective needs two real-codec targets per step (the real JPEG/WebP
of the bicubic LR and of the quantised HQ LR). WebP encodes much more slowly
than JPEG; ``train_cfg.codec_threads=k`` encodes the targets in ``k``
threads while the forward and inverse passes run. For each setting this
script runs full training steps (forward, inverse, the five losses,
backward, gradient clipping at 10, Adam) of SAIN x2 at the official network
size and reports

- the step time (median of ``--repeats`` steps after ``--warmup``);
- the codec time **on the critical path**: time the step spends inside
  ``real_codec_target`` (inline coding, or submitting to the pool) plus time
  waiting for the results, i.e. what the codec costs the step;
- the codec time alone (coding both targets of a batch, no network).

On CUDA (``--device cuda``) the step time is synchronised
(``benchmarks.profiling.Stopwatch``); the codec always codes on the CPU, and
its inline time then includes waiting for the GPU to finish the LR it codes.

Usage (from the repository root)::

    python -m benchmarks.benchmark_sain_codec [--batch 4] [--size 128]
        [--threads 1] [--repeats 3] [--device cpu|cuda]
"""
import argparse
import gc
import statistics
import sys
import time

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.benchmark_sain_codec ...`')

import torch  # noqa: E402

from benchmarks.profiling import (Stopwatch, add_device_argument,  # noqa: E402
                                  device_label, resolve_device)

SETTINGS = [
    ('WebP', 0),
    ('WebP', 4),
    ('JPEG', 0),
    ('JPEG', 4),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=128,
                        help='GT patch size (official: 128)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (default: 1)')
    parser.add_argument('--e-blocks', type=int, default=5)
    parser.add_argument('--v-blocks', type=int, default=3)
    parser.add_argument('--quality', type=int, default=75)
    add_device_argument(parser)
    return parser.parse_args(argv)


def build(codec: str, codec_threads: int, args):
    from invtoolbox.registry import MODELS
    real = (dict(type='RealWebP', quality=args.quality, method=4)
            if codec == 'WebP' else dict(type='RealJPEG',
                                          quality=args.quality))
    model = MODELS.build(
        dict(
            type='SAIN',
            generator=dict(
                type='SAINNet',
                scale=2,
                e_blocks=args.e_blocks,
                v_blocks=args.v_blocks,
                subnet=dict(type='DenseBlock', growth=32, init='xavier')),
            train_codec=real,
            train_cfg=dict(seed=0, codec_threads=codec_threads)))
    return model


class CriticalPathTimer:
    """Wraps ``model.real_codec_target`` to time what the step waits for."""

    def __init__(self, model):
        self.total = 0.
        original = model.real_codec_target

        def timed(x):
            start = time.perf_counter()
            result = original(x)
            self.total += time.perf_counter() - start

            def wait():
                start = time.perf_counter()
                value = result()
                self.total += time.perf_counter() - start
                return value

            return wait

        model.real_codec_target = timed


def run_setting(codec, codec_threads, args, device='cpu'):
    from mmengine.optim import OptimWrapper
    torch.manual_seed(0)
    model = build(codec, codec_threads, args).to(device)
    model.train()
    optim = OptimWrapper(
        torch.optim.Adam(model.parameters(), lr=2e-4, weight_decay=1e-5),
        clip_grad=dict(max_norm=10.))
    timer = CriticalPathTimer(model)
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(args.batch, 3, args.size, args.size, generator=gen)
    from invtoolbox.utils import imresize
    lr_ref = imresize(hr, 0.5).clamp(0, 1)
    hr, lr_ref = hr.to(device), lr_ref.to(device)
    steps, waits = [], []
    for i in range(args.warmup + args.repeats):
        timer.total = 0.
        with Stopwatch(device) as watch:
            losses = model.compute_losses(hr, lr_ref)
            loss, _ = model.parse_losses(losses)
            optim.update_params(loss)
        if i >= args.warmup:
            steps.append(watch.seconds)
            waits.append(timer.total)
    # the codec alone: both targets of one batch
    alone = []
    for _ in range(max(3, args.repeats)):
        with Stopwatch(device) as watch:
            model.train_codec(lr_ref)
            model.train_codec(lr_ref)
        alone.append(watch.seconds)
    # the codec threads (if any) end when the model is collected
    del model, optim, timer
    gc.collect()
    return dict(step=statistics.median(steps),
                step_range=(min(steps), max(steps)),
                wait=statistics.median(waits),
                alone=statistics.median(alone))


def main(argv=None):
    args = parse_args(argv)
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    rows = []
    for codec, threads in SETTINGS:
        result = run_setting(codec, threads, args, device)
        rows.append((codec, threads, result))
        print(f'{codec} codec_threads={threads}: step '
              f'{result["step"]:.2f} s, codec on the critical path '
              f'{1e3 * result["wait"]:.1f} ms', file=sys.stderr, flush=True)
    label = device_label(device)
    print(f'\nSAIN x2 ({args.e_blocks}+{args.v_blocks} blocks), batch '
          f'{args.batch} x {args.size}^2, {label}, QF {args.quality}; '
          f'medians of {args.repeats} steps after {args.warmup} warm-up\n')
    print('| codec | codec_threads | step time (s) [min-max] | codec on the '
          'critical path (ms) | coding both targets alone (ms) | device |')
    print('|---|---:|---:|---:|---:|---|')
    for codec, threads, r in rows:
        lo, hi = r['step_range']
        print(f'| {codec} | {threads} | {r["step"]:.2f} [{lo:.2f}-{hi:.2f}] '
              f'| {1e3 * r["wait"]:.1f} | {1e3 * r["alone"]:.1f} | {label} |')
    return rows


if __name__ == '__main__':
    main()
