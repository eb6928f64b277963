# Copyright (c) invtoolbox contributors. All rights reserved.
"""Training-step time and peak memory of IRN, invtoolbox vs a plain baseline.

Compares one full training step (forward, inverse, the three official loss
terms, backward, gradient clipping at 10, Adam) of

* ``baseline``: ``benchmarks/irn_restatement.py``, a straightforward
  single-file re-statement of the official network and
  ``optimize_parameters``;
* ``invtoolbox``: the ``IRN`` model (``configs/irn/irn_x4_div2k.py``
  settings) through mmengine's ``OptimWrapper``;
* ``invtoolbox-memeff``: the same with ``memory_efficient=True``.

Each runs in its own process (``benchmarks.profiling``); time is the median
of ``--repeats`` steps after ``--warmup`` (synchronised on CUDA); peak memory
is the growth of the resident set during one step on the CPU, the peak of
``torch.cuda.max_memory_allocated`` above the step's start on CUDA. All
implementations start from the same perturbed weights and data.

Usage (from the repository root)::

    python -m benchmarks.benchmark_irn [--scale 4] [--batch 2] [--size 144]
        [--repeats 5] [--threads 2] [--device cpu|cuda]
"""
import argparse
import json
import sys

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.benchmark_irn ...`')

from benchmarks.profiling import (MEMORY_NOTE, add_device_argument,  # noqa: E402
                                  measure_step, resolve_device,
                                  run_measurement, write_json)

IMPLS = ('baseline', 'invtoolbox', 'invtoolbox-memeff')
#: the table's name of each implementation (shared with benchmark_iicnet).
LABELS = {
    'baseline': 'baseline (official re-statement)',
    'invtoolbox': 'invtoolbox, plain',
    'invtoolbox-memeff': 'invtoolbox, `memory_efficient=True`',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scale', type=int, default=4, choices=[2, 4, 8])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=144,
                        help='GT patch size (default 144, as IRN)')
    parser.add_argument('--repeats', type=int, default=5)
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


def build_step(impl, scale, gt, ref, device='cpu'):
    """Return (step function, network whose trainable weights are counted).

    The weights are perturbed on the CPU before moving to ``device``, so
    every device starts from the same numbers; ``gt`` and ``ref`` are
    already on ``device``.
    """
    import torch
    if impl == 'baseline':
        from benchmarks import irn_restatement
        net, optimizer = irn_restatement.build_official(scale)
        with torch.no_grad():
            for p in net.parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 0.01)
        net.to(device)  # in place: the optimiser keeps the same parameters
        return (lambda: irn_restatement.official_train_step(
            net, optimizer, gt, ref, scale=scale)), net
    from mmengine.optim import build_optim_wrapper

    from invtoolbox.registry import MODELS
    from invtoolbox.structures import DataSample
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    levels = {2: [8], 4: [8, 8], 8: [8, 8, 8]}[scale]
    model = MODELS.build(
        dict(
            type='IRN',
            generator=dict(
                type='IRNNet', scale=scale, block_num=levels,
                memory_efficient=impl == 'invtoolbox-memeff'),
            pixel_loss_forw=dict(type='MSELoss', loss_weight=scale**2,
                                 reduction='batch_sum'),
            train_cfg=dict(seed=0)))
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(torch.randn_like(p) * 0.01)
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
    return (lambda: model.train_step(data, optim_wrapper)), model.generator


def run_worker(args):
    import torch

    from invtoolbox.utils.imresize import imresize
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    gt = torch.rand(args.batch, 3, args.size, args.size)
    ref = imresize(gt, 1 / args.scale).float()
    step, net = build_step(args._worker, args.scale, gt.to(device),
                           ref.to(device), device)
    n_params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    result = measure_step(step, args.warmup, args.repeats, args._measure,
                          device)
    if args._measure == 'time':
        result.update(impl=args._worker, params=n_params)
    print(json.dumps(result))


def run_measure(args, impl, measure):
    options = ['--_worker', impl]
    for key in ('scale', 'batch', 'size', 'repeats', 'warmup', 'threads',
                'device'):
        options += [f'--{key}', str(getattr(args, key))]
    return run_measurement('benchmarks.benchmark_irn', options, measure,
                           args.threads)


def table_lines(rows):
    """The markdown table of the measured rows (one per implementation)."""
    lines = [
        '| implementation | trainable params | step time (s) | '
        'peak memory of a step (MB) | device |',
        '|---|---:|---:|---:|---|',
    ]
    for row in rows:
        lines.append(f"| {LABELS[row['impl']]} | {row['params']:,} | "
                     f"{row['time_s']:.2f} | {row['peak_mb']:.0f} | "
                     f"{row['device']} |")
    return lines


def ratio_lines(rows):
    """'<impl> / baseline: time 1.02x, peak memory 7.9%' for each invtoolbox
    row (n/a where the baseline measured no time or no memory growth)."""
    by = {r['impl']: r for r in rows}
    if 'baseline' not in by:
        return []
    base = by['baseline']
    lines = []
    for impl in ('invtoolbox', 'invtoolbox-memeff'):
        if impl not in by:
            continue
        time_ratio = (f"{by[impl]['time_s'] / base['time_s']:.2f}x"
                      if base['time_s'] > 0 else 'n/a')
        memory_ratio = (f"{by[impl]['peak_mb'] / base['peak_mb']:.1%}"
                        if base['peak_mb'] > 0 else 'n/a (no growth measured)')
        lines.append(f'\n{impl} / baseline: time {time_ratio}, peak memory '
                     f'{memory_ratio}')
    return lines


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
    print(f'IRN x{args.scale} training step (forward + inverse + losses + '
          f'backward + clip + Adam), batch {args.batch}, GT '
          f'{args.size}x{args.size}, {rows[0]["device"]}, median of '
          f'{args.repeats}; peak memory: {MEMORY_NOTE[device.type]}\n')
    for line in table_lines(rows) + ratio_lines(rows):
        print(line)
    if args.json:
        write_json(args.json, rows)


if __name__ == '__main__':
    main()
