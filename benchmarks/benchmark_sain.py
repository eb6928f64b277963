# Copyright (c) invtoolbox contributors. All rights reserved.
"""Training-step time and peak memory of SAIN, plain vs memory-efficient.

One full SAIN x2 training step (forward with the HQ LR taken from inside
the last enhanced block, DiffJPEG, inverse, the five official loss terms
with real-JPEG targets, backward, gradient clipping at 10, Adam) of the
``SAIN`` model at the official network size (Haar, 5 enhanced + 3 vanilla
couplings, DenseBlock growth 32) with

* ``plain``: ``generator.memory_efficient=False``;
* ``memeff``: ``generator.memory_efficient=True``: every block but the last
  enhanced one recomputes its input in backward (the network runs its chain
  in three ranges, so the shipped LR needs no state on a block).

Each runs in its own process (``benchmarks.profiling``); time is the median
of ``--repeats`` steps after ``--warmup`` (synchronised on CUDA); peak memory
is the growth of the resident set during one step on the CPU, the peak of
``torch.cuda.max_memory_allocated`` above the step's start on CUDA. Both
start from the same perturbed weights and data; the script checks that
their losses agree.

Usage (from the repository root)::

    python -m benchmarks.benchmark_sain [--batch 4] [--size 128]
        [--repeats 3] [--threads 2] [--device cpu|cuda]
"""
import argparse
import json
import sys

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.benchmark_sain ...`')

from benchmarks.profiling import (MEMORY_NOTE, add_device_argument,  # noqa: E402
                                  measure_step, resolve_device,
                                  run_measurement, write_json)

IMPLS = ('plain', 'memeff')
LABELS = {
    'plain': 'SAIN, plain',
    'memeff': 'SAIN, `memory_efficient=True`',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=128,
                        help='GT patch size (default 128, as SAIN)')
    parser.add_argument('--e-blocks', type=int, default=5)
    parser.add_argument('--v-blocks', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2,
                        help='torch CPU threads (default 2)')
    add_device_argument(parser)
    parser.add_argument('--impls', nargs='+', default=list(IMPLS),
                        choices=IMPLS)
    parser.add_argument('--json', help='also write the rows to this file')
    parser.add_argument('--_measure', choices=['memory', 'time'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--_worker', choices=IMPLS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_step(impl, args, gt, ref, device='cpu'):
    """Return (step function, model, data) for one implementation; the
    weights are perturbed on the CPU (same numbers on every device)."""
    import torch
    from mmengine.optim import build_optim_wrapper

    from invtoolbox.registry import MODELS
    from invtoolbox.structures import DataSample
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='SAIN',
             generator=dict(type='SAINNet', scale=2, e_blocks=args.e_blocks,
                            v_blocks=args.v_blocks,
                            memory_efficient=impl == 'memeff'),
             train_cfg=dict(seed=0)))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.01)
    model.to(device)
    optim_wrapper = build_optim_wrapper(
        model,
        dict(type='OptimWrapper',
             optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999),
                            weight_decay=1e-5),
             clip_grad=dict(max_norm=10.)))
    data = dict(
        inputs=list(gt),
        data_samples=[DataSample(gt_img=g, lr_img=r) for g, r in zip(gt, ref)])
    return (lambda: model.train_step(data, optim_wrapper)), model, data


def run_worker(args):
    import torch

    from invtoolbox.utils.imresize import imresize
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    gt = torch.rand(args.batch, 3, args.size, args.size)
    ref = imresize(gt, 0.5).float().clamp(0, 1)
    step, model, data = build_step(args._worker, args, gt.to(device),
                                   ref.to(device), device)
    n_params = sum(p.numel() for p in model.generator.parameters()
                   if p.requires_grad)
    # the losses of the first step, before any update (the modes must agree)
    with torch.no_grad():
        batch = model.data_preprocessor(data, True)
        losses = model.compute_losses(
            batch['inputs'], torch.stack([s.lr_img for s in
                                          batch['data_samples']]),
            generator=model.train_generator(0))
    result = measure_step(step, args.warmup, args.repeats, args._measure,
                          device)
    if args._measure == 'time':
        result.update(impl=args._worker, params=n_params,
                      losses={k: float(v) for k, v in losses.items()})
    print(json.dumps(result))


def run_measure(args, impl, measure):
    options = ['--_worker', impl]
    for key in ('batch', 'size', 'e_blocks', 'v_blocks', 'repeats', 'warmup',
                'threads', 'device'):
        options += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    return run_measurement('benchmarks.benchmark_sain', options, measure,
                           args.threads)


def table_lines(rows):
    """The markdown table of the measured rows."""
    lines = [
        '| mode | trainable params | step time (s) | '
        'peak memory of a step (MB) | device |',
        '|---|---:|---:|---:|---|',
    ]
    for row in rows:
        lines.append(f"| {LABELS[row['impl']]} | {row['params']:,} | "
                     f"{row['time_s']:.2f} | {row['peak_mb']:.0f} | "
                     f"{row['device']} |")
    return lines


def ratio_lines(rows):
    """``memeff / plain: time 1.31x, peak memory 35.2%`` and how far the
    losses of the two modes are apart."""
    by = {r['impl']: r for r in rows}
    if not {'plain', 'memeff'} <= set(by):
        return []
    plain, lean = by['plain'], by['memeff']
    time_ratio = (f"{lean['time_s'] / plain['time_s']:.2f}x"
                  if plain['time_s'] > 0 else 'n/a')
    memory_ratio = (f"{lean['peak_mb'] / plain['peak_mb']:.1%}"
                    if plain['peak_mb'] > 0 else 'n/a (no growth measured)')
    diff = max(abs(lean['losses'][k] - v) / max(abs(v), 1e-12)
               for k, v in plain['losses'].items())
    return [f'\nmemeff / plain: time {time_ratio}, peak memory '
            f'{memory_ratio}; losses agree to {diff:.1e} (relative)']


def main(argv=None):
    args = parse_args(argv)
    if args._worker:
        run_worker(args)
        return
    device = resolve_device(args.device)
    rows = []
    for impl in args.impls:
        row = run_measure(args, impl, 'time')
        row.update(run_measure(args, impl, 'memory'))
        rows.append(row)
    print(f'SAIN x2 training step ({args.e_blocks} enhanced + '
          f'{args.v_blocks} vanilla couplings; forward + DiffJPEG + inverse '
          f'+ losses with real-JPEG targets + backward + clip + Adam), batch '
          f'{args.batch}, GT {args.size}x{args.size}, {rows[0]["device"]}, '
          f'median of {args.repeats}; peak memory: '
          f'{MEMORY_NOTE[device.type]}\n')
    for line in table_lines(rows) + ratio_lines(rows):
        print(line)
    if args.json:
        write_json(args.json, rows)


if __name__ == '__main__':
    main()
