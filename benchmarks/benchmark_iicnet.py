# Copyright (c) invtoolbox contributors. All rights reserved.
"""Training-step time and peak memory of IICNet: invtoolbox vs a baseline.

Compares one full training step (forward, noise quantisation, inverse, the
embedding L2, frequency and Charbonnier restoration losses with the official
weights, backward, gradient clipping at 10, Adam) of the default video model
(st-01: 5 frames, relation module, 10 couplings) for

* ``baseline``: ``benchmarks/iicnet_restatement.py``, a straightforward
  single-file re-statement of the official ``InvNet`` and its training step;
* ``invtoolbox``: the ``IICNet`` model of ``configs/iicnet/video_embed.py``
  through mmengine's ``OptimWrapper`` (the config's optimiser and
  ``clip_grad``);
* ``invtoolbox-memeff``: the same with ``memory_efficient=True`` in the
  generator (activations of the couplings recomputed in backward; the
  relation networks are not invertible and keep theirs).

Each runs in its own process (``benchmarks.profiling``); time is the median
of ``--repeats`` steps after ``--warmup`` (synchronised on CUDA); peak memory
is the growth of the resident set during one step on the CPU, the peak of
``torch.cuda.max_memory_allocated`` above the step's start on CUDA. Both
networks get the same random perturbation of their weights (the fresh
official network is an identity).

Usage (from the repository root)::

    python -m benchmarks.benchmark_iicnet [--batch 2] [--size 144]
        [--frames 5] [--repeats 5] [--warmup 1] [--threads 1]
        [--device cpu|cuda]
"""
import argparse
import json
import os.path as osp
import sys

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.benchmark_iicnet ...`')

from benchmarks.benchmark_irn import (IMPLS, ratio_lines,  # noqa: E402
                                      table_lines)
from benchmarks.profiling import (MEMORY_NOTE, REPO_ROOT,  # noqa: E402
                                  add_device_argument, measure_step,
                                  resolve_device, run_measurement,
                                  write_json)

DEFAULT_CONFIG = str(REPO_ROOT / 'configs' / 'iicnet' / 'video_embed.py')


def _positive(value):
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return number


def _non_negative(value):
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {value}')
    return number


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='the invtoolbox IICNet config (default: '
                        'configs/iicnet/video_embed.py)')
    parser.add_argument('--batch', type=_positive, default=2)
    parser.add_argument('--size', type=_positive, default=144,
                        help='patch size (default 144, as IICNet)')
    parser.add_argument('--frames', type=_positive, default=5,
                        help='frames per clip (default 5, st-01)')
    parser.add_argument('--blocks', type=_non_negative, default=10,
                        help='couplings (default 10, st-01; fewer for a '
                        'quick check)')
    parser.add_argument('--repeats', type=_positive, default=5)
    parser.add_argument('--warmup', type=_non_negative, default=1)
    parser.add_argument('--threads', type=_positive, default=1,
                        help='torch CPU threads (default 1)')
    add_device_argument(parser)
    parser.add_argument('--impls', nargs='+', default=list(IMPLS),
                        choices=IMPLS)
    parser.add_argument('--json', help='also write the rows to this file')
    parser.add_argument('--_measure', choices=['memory', 'time'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--_worker', choices=IMPLS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.frames < 2:
        parser.error(f'--frames must be >= 2 (a clip), got {args.frames}')
    if not osp.isfile(args.config):
        parser.error(f'config {args.config} not found; pass --config '
                     'path/to/an IICNet config')
    return args


def _perturb(module, seed=1234, std=0.02):
    """Add ``std * randn`` to every trainable weight, drawn in the official
    key order (the fresh networks are identities in their residuals)."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=generator) * std)


def model_config(config, frames, blocks, memory_efficient):
    """``cfg.model`` of ``config`` with ``frames`` frames, ``blocks``
    couplings and ``memory_efficient`` set in the generator."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    model = cfg.model.to_dict()
    model['task'] = dict(model['task'], num_frames=frames)
    model['generator'] = dict(
        model.get('generator') or {}, block_num=blocks,
        memory_efficient=memory_efficient)
    return model, cfg.optim_wrapper.to_dict()


def build_step(args, images, device='cpu'):
    """Return (step function, network whose trainable weights are counted).

    ``images`` is ``(N, K, 3, H, W)`` in ``[0, 1]``, natural order, on
    ``device``; the weights are perturbed on the CPU before moving there.
    """
    impl = args._worker
    if impl == 'baseline':
        from benchmarks import iicnet_restatement as official
        net, optimizer = official.build_official(
            num_frames=args.frames, block_num=args.blocks)
        _perturb(net)
        net.to(device)  # in place: the optimiser keeps the same parameters
        # the official stacking: reference (middle) frame first, BGR
        k = args.frames
        order = [k // 2] + [i for i in range(k) if i != k // 2]
        stacked = images[:, order].flip(2).flatten(1, 2).contiguous()
        return (lambda: official.official_train_step(net, optimizer,
                                                     stacked)), net
    from mmengine.optim import build_optim_wrapper

    from invtoolbox.registry import MODELS
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    model_cfg, optim_cfg = model_config(args.config, args.frames, args.blocks,
                                        impl == 'invtoolbox-memeff')
    model_cfg['train_cfg'] = dict(model_cfg.get('train_cfg') or {}, seed=0)
    model = MODELS.build(model_cfg)
    _perturb(model.generator)
    model.to(device)
    model.train()
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    data = dict(inputs=list(images))
    return (lambda: model.train_step(data, optim_wrapper)), model.generator


def run_worker(args):
    import torch

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    images = torch.rand(args.batch, args.frames, 3, args.size, args.size)
    step, net = build_step(args, images.to(device), device)
    n_params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    result = measure_step(step, args.warmup, args.repeats, args._measure,
                          device)
    if args._measure == 'time':
        result.update(impl=args._worker, params=n_params)
    print(json.dumps(result))


def run_measure(args, impl, measure):
    options = ['--_worker', impl, '--config', args.config]
    for key in ('batch', 'size', 'frames', 'blocks', 'repeats', 'warmup',
                'threads', 'device'):
        options += [f'--{key}', str(getattr(args, key))]
    return run_measurement('benchmarks.benchmark_iicnet', options, measure,
                           args.threads)


def format_table(args, rows):
    """The markdown report of the measured rows."""
    import torch
    device_type = torch.device(args.device).type
    lines = [
        f'IICNet video embedding training step ({args.frames} frames, '
        f'relation module, {args.blocks} couplings; forward + noise '
        f'quantisation + inverse + losses + backward + clip + Adam), batch '
        f'{args.batch}, {args.size}x{args.size}, {rows[0]["device"]}, '
        f'median of {args.repeats} after {args.warmup} warm-up; peak '
        f'memory: {MEMORY_NOTE[device_type]}',
        '',
    ]
    return '\n'.join(lines + table_lines(rows) + ratio_lines(rows))


def main(argv=None):
    args = parse_args(argv)
    if args._worker:
        run_worker(args)
        return
    resolve_device(args.device)
    rows = []
    for impl in args.impls:
        row = run_measure(args, impl, 'time')
        row.update(run_measure(args, impl, 'memory'))
        rows.append(row)
        print(f"{impl}: {row['time_s']:.2f} s/step, "
              f"{row['peak_mb']:.0f} MB", file=sys.stderr, flush=True)
    print(format_table(args, rows))
    if args.json:
        write_json(args.json, rows)


if __name__ == '__main__':
    main()
