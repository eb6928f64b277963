# Copyright (c) invtoolbox contributors. All rights reserved.
"""Peak memory and time of forward+backward through an invertible stack,
plain autograd vs memory-efficient mode.

Default: 16 IRN affine couplings (DenseBlock subnets, split 3) on a
1x12x256x256 input (the shape after one Haar level of a 512x512 RGB image).

Each mode runs in a fresh subprocess so that its memory is measured alone
(``benchmarks.profiling``):

* ``saved MB``: bytes autograd keeps for backward (exact, from
  ``torch.autograd.graph.saved_tensors_hooks``);
* ``peak MB``: on CPU, the peak resident-set growth during one
  forward+backward (sampled every 0.5 ms, with glibc told to return large
  blocks to the OS at once so the RSS follows the allocator); on CUDA,
  ``torch.cuda.max_memory_allocated`` growth;
* ``time s``: median wall time of forward+backward over ``--repeats`` runs
  after one warm-up (synchronised on CUDA).

Usage (from the repository root)::

    python -m benchmarks.benchmark_inn [--blocks 16] [--shape 1 12 256 256]
        [--repeats 3] [--threads 2] [--device cpu|cuda]
"""
import argparse
import json
import sys

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.benchmark_inn ...`')

from benchmarks.profiling import (MEMORY_NOTE, add_device_argument,  # noqa: E402
                                  measure_step, resolve_device,
                                  run_measurement, write_json)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--blocks', type=int, default=16,
                        help='number of affine couplings (default 16)')
    parser.add_argument('--shape', type=int, nargs=4, default=[1, 12, 256, 256],
                        metavar=('N', 'C', 'H', 'W'),
                        help='input shape (default 1 12 256 256)')
    parser.add_argument('--split', type=int, default=3,
                        help='channels of the first coupling part (default 3)')
    parser.add_argument('--growth', type=int, default=32,
                        help='DenseBlock growth (default 32, IRN)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2,
                        help='torch CPU threads (default 2)')
    add_device_argument(parser)
    parser.add_argument('--modes', nargs='+', default=['plain', 'efficient'],
                        choices=['plain', 'efficient'])
    parser.add_argument('--json', help='also write the rows to this file')
    parser.add_argument('--_measure', choices=['memory', 'time'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--_worker', choices=['plain', 'efficient'],
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- worker side
def run_worker(args):
    import torch

    from invtoolbox.models.inn import InvertibleSequential

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    n, c, h, w = args.shape
    blocks = [
        dict(type='AffineCoupling', split=args.split,
             subnet=dict(type='DenseBlock', growth=args.growth))
    ] * args.blocks
    model = InvertibleSequential(blocks, (c, h, w),
                                 memory_efficient=args._worker == 'efficient')
    with torch.no_grad():  # leave the identity init so the work is realistic
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    model.to(device)
    x = torch.rand(n, c, h, w).to(device)

    def step():
        inp = x.clone().requires_grad_(True)
        y, logdet = model(inp, jac=True)
        loss = y[:, :args.split].square().sum() + y[:, args.split:].abs().sum()
        (loss - logdet.sum()).backward()
        model.zero_grad(set_to_none=True)

    result = measure_step(step, 1, args.repeats, args._measure, device)
    if args._measure == 'memory':
        # exact bytes saved for backward
        saved = [0]

        def pack(t):
            saved[0] += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = model(x.clone().requires_grad_(True))
        del y
        result['saved_mb'] = saved[0] / 2**20
    else:
        result['mode'] = args._worker
    print(json.dumps(result))


# ---------------------------------------------------------------- driver side
def run_mode(args, mode, measure):
    options = ['--_worker', mode]
    for key in ('blocks', 'split', 'growth', 'repeats', 'threads', 'device'):
        options += [f'--{key}', str(getattr(args, key))]
    options += ['--shape'] + [str(v) for v in args.shape]
    return run_measurement('benchmarks.benchmark_inn', options, measure,
                           args.threads)


def main(argv=None):
    args = parse_args(argv)
    if args._worker:
        run_worker(args)
        return
    device = resolve_device(args.device)
    rows = []
    for mode in args.modes:
        row = run_mode(args, mode, 'time')
        row.update(run_mode(args, mode, 'memory'))
        rows.append(row)
    n, c, h, w = args.shape
    print(f'{args.blocks} affine couplings (DenseBlock growth {args.growth}, '
          f'split {args.split}), input {n}x{c}x{h}x{w}, {rows[0]["device"]}, '
          f'median of {args.repeats}; peak memory: '
          f'{MEMORY_NOTE[device.type]}')
    print()
    print('| mode | saved for backward (MB) | peak memory of fwd+bwd (MB) '
          '| time fwd+bwd (s) | device |')
    print('|---|---:|---:|---:|---|')
    for row in rows:
        print(f"| {row['mode']} | {row['saved_mb']:.1f} | "
              f"{row['peak_mb']:.1f} | {row['time_s']:.2f} | "
              f"{row['device']} |")
    by_mode = {row['mode']: row for row in rows}
    if {'plain', 'efficient'} <= set(by_mode):
        plain, eff = by_mode['plain'], by_mode['efficient']

        def ratio(key, fmt):
            return (format(eff[key] / plain[key], fmt)
                    if plain[key] > 0 else 'n/a')

        print()
        print(f"memory-efficient / plain: peak memory "
              f"{ratio('peak_mb', '.1%')}, saved activations "
              f"{ratio('saved_mb', '.1%')}, time {ratio('time_s', '.2f')}x")
    if args.json:
        write_json(args.json, rows)


if __name__ == '__main__':
    main()
