# Copyright (c) invtoolbox contributors. All rights reserved.
"""Training-step time and peak memory of Invertible-ISP: the official
re-statement vs same-function speed-ups.

One step is the official ``train.py`` step: forward RAW->RGB, clamp, L1 to
the target RGB, ``DiffJPEG`` q90 with Fourier rounding, inverse RGB->RAW, L1
to the RAW, backward, Adam 1e-4. Rows:

* ``restatement``: ``benchmarks/invisp_restatement.py`` as it is;
* ``channels_last``: the same network and weights with every convolution
  weight and the input in ``torch.channels_last`` (NHWC) memory format, so
  oneDNN runs all convolutions (and the dense concatenations) in NHWC;
* ``channels_last_input``: only the input (and the invertible 1x1 conv's
  output) in NHWC, the weights left NCHW (the recipe that needs no change to
  the parameters or the optimiser);
* ``pad16``: each DenseBlock's last convolution (1 or 2 output channels)
  run with its weight zero-padded to 16 output channels, the output sliced;
* ``channels_last+pad16``: both;
* ``invtoolbox``: ``invtoolbox.models.editors.invisp.InvISPNet`` (official
  weights loaded into it) when it exists, else the row says it is absent.

All rows start from the same weights and data; the table gives each row's
first-step loss difference to the re-statement's (the same function gives
round-off, ~1e-7). Each measurement runs in its own process
(``benchmarks.profiling``); time is the median of ``--repeats`` steps after
``--warmup``; peak memory is the growth of the resident set during one step
on the CPU, ``torch.cuda.max_memory_allocated`` above the step's start on
CUDA. The machine may be shared: compare the ratios of one run.

Usage (from the repository root)::

    python -m benchmarks.benchmark_invisp [--size 256] [--repeats 3]
        [--warmup 1] [--threads 2] [--impls ...] [--device cpu|cuda]
"""
import argparse
import json
import statistics
import sys

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.benchmark_invisp ...`')

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from benchmarks.profiling import (MEMORY_NOTE, add_device_argument,  # noqa: E402
                                  measure_step, resolve_device,
                                  run_measurement, write_json)

IMPLS = ('restatement', 'channels_last', 'channels_last_input', 'pad16',
         'channels_last+pad16', 'invtoolbox', 'invtoolbox_nchw',
         'invtoolbox_memory_efficient')
LABELS = {
    'restatement': 'official re-statement',
    'channels_last': 'channels_last (weights + input)',
    'channels_last_input': 'channels_last (input only)',
    'pad16': 'conv5 padded to 16 outputs',
    'channels_last+pad16': 'channels_last + conv5 padded to 16',
    'invtoolbox': 'invtoolbox `InvISPNet`',
    'invtoolbox_nchw': 'invtoolbox `InvISPNet`, channels_last=False',
    'invtoolbox_memory_efficient': 'invtoolbox `InvISPNet`, '
    'memory_efficient=True',
}
INVTOOLBOX_NET = 'invtoolbox.models.editors.invisp.InvISPNet'


class PaddedOutConv2d(nn.Conv2d):
    """A ``Conv2d`` computing the same function with its weight and bias
    zero-padded to ``pad_to`` output channels and the output sliced back.

    The parameters (and so the state dict) are the unpadded ones; the padded
    rows are constants, so their gradient is dropped by the pad's backward.
    oneDNN runs 1- and 2-output-channel 3x3 convolutions far below the
    speed of wider ones; padding trades wasted FLOPs for a faster kernel.
    """

    pad_to = 16

    def forward(self, x):
        extra = self.pad_to - self.out_channels
        if extra <= 0:
            return super().forward(x)
        weight = F.pad(self.weight, (0, 0, 0, 0, 0, 0, 0, extra))
        bias = F.pad(self.bias, (0, extra))
        out = self._conv_forward(x, weight, bias)
        return out[:, :self.out_channels]


def pad_conv5(net, pad_to=16):
    """Swap every DenseBlock's ``conv5`` for a :class:`PaddedOutConv2d`
    sharing its parameters (state-dict keys and values unchanged)."""
    from benchmarks.invisp_restatement import DenseBlock
    for module in net.modules():
        if isinstance(module, DenseBlock):
            old = module.conv5
            new = PaddedOutConv2d(old.in_channels, old.out_channels, 3, 1, 1)
            new.pad_to = pad_to
            new.weight, new.bias = old.weight, old.bias
            module.conv5 = new
    return net


class _ChannelsLastInput(nn.Module):
    """Wraps a network: the input (forward and reverse) goes in as NHWC."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, rev=False):
        return self.net(x.contiguous(memory_format=torch.channels_last), rev)


def build_net(impl, device='cpu'):
    """Return (network, note) for ``impl``, from ``torch.manual_seed(0)``
    official weights (biases filled with N(0, 0.01^2) so no bias is zero);
    ``note`` is '' or why the row is not the official weights."""
    from benchmarks import invisp_restatement
    torch.manual_seed(0)
    net = invisp_restatement.InvISPNet(3, 3, block_num=8)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith('.bias'):
                p.normal_(0, 0.01)
    note = ''
    if impl.startswith('invtoolbox'):
        import importlib
        module_name, cls_name = INVTOOLBOX_NET.rsplit('.', 1)
        module = importlib.import_module(module_name)
        official = net.state_dict()
        net = getattr(module, cls_name)(
            3, 3, block_num=8,
            channels_last=impl != 'invtoolbox_nchw',
            memory_efficient=impl == 'invtoolbox_memory_efficient')
        try:  # the official weights, through the converter
            state, _ = module.convert_invisp_state_dict(official)
            net.load_state_dict(state, strict=True)
        except (RuntimeError, ValueError, AttributeError) as err:
            note = ('own initial weights (official state dict did not load: '
                    f'{str(err).splitlines()[0]})')
    if 'pad16' in impl:
        pad_conv5(net, 16)
    net.to(device)
    if impl in ('channels_last', 'channels_last+pad16'):
        net.to(memory_format=torch.channels_last)
    if impl in ('channels_last', 'channels_last+pad16',
                'channels_last_input'):
        net = _ChannelsLastInput(net)
    return net, note


def invtoolbox_available():
    """'' if the invtoolbox network imports, else the reason it does not."""
    import importlib
    module_name, cls_name = INVTOOLBOX_NET.rsplit('.', 1)
    try:
        return '' if hasattr(importlib.import_module(module_name),
                             cls_name) else f'{INVTOOLBOX_NET} not found'
    except ImportError as err:
        return f'absent ({err})'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', type=int, default=256,
                        help='square crop size, a multiple of 16 (default '
                        '256, as train.py)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=1,
                        help='measure all rows this many times, one row '
                        'after the other (interleaved), and pool their '
                        'steps: on a shared machine a busy spell then hits '
                        'every row, not one (default 1)')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch CPU threads (default 2)')
    add_device_argument(parser)
    parser.add_argument('--impls', nargs='+', default=list(IMPLS),
                        choices=IMPLS)
    parser.add_argument('--json', help='also write the rows to this file')
    parser.add_argument('--_measure', choices=['memory', 'time'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--_worker', choices=IMPLS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.size <= 0 or args.size % 16:
        parser.error(f'--size {args.size}: must be a positive multiple of 16 '
                     '(the JPEG simulator works on 16x16 macroblocks)')
    if args.repeats < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error('--repeats and --rounds must be >= 1 and --warmup >= 0')
    return args


def run_worker(args):
    from benchmarks import invisp_restatement
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    net, note = build_net(args._worker, device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    jpeg = invisp_restatement.DiffJPEG(differentiable=True,
                                       quality=90).to(device)
    gen = torch.Generator().manual_seed(1)
    raw = torch.rand(1, 3, args.size, args.size, generator=gen).to(device)
    rgb = torch.rand(1, 3, args.size, args.size, generator=gen).to(device)
    losses = []

    def step():
        losses.append(invisp_restatement.official_train_step(
            net, optimizer, jpeg, raw, rgb))

    result = measure_step(step, args.warmup, args.repeats, args._measure,
                          device)
    if args._measure == 'time':
        result.update(impl=args._worker, first_loss=losses[0][0], note=note,
                      params=sum(p.numel() for p in net.parameters()))
    print(json.dumps(result))


def run_measure(args, impl, measure):
    options = ['--_worker', impl]
    for key in ('size', 'repeats', 'warmup', 'threads', 'device'):
        options += [f'--{key}', str(getattr(args, key))]
    return run_measurement('benchmarks.benchmark_invisp', options, measure,
                           args.threads)


def table_lines(rows):
    """The markdown table: one line per row, ratios to the re-statement."""
    base = next((r for r in rows if r['impl'] == 'restatement'), None)
    lines = [
        '| implementation | params | step time (s) | time / re-statement | '
        'fastest step (s) | fastest / re-statement | '
        'peak memory of a step (MB) | memory / re-statement | '
        '\\|first loss - re-statement\\| | device |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ]
    for row in rows:
        if 'absent' in row:
            lines.append(f"| {LABELS[row['impl']]} | - | - | - | - | - | - "
                         f"| - | - | {row['absent']} |")
            continue
        t_ratio = f_ratio = m_ratio = d_loss = 'n/a'
        if base is not None:
            if base['time_s'] > 0:
                t_ratio = f"{row['time_s'] / base['time_s']:.2f}x"
            if base['min_s'] > 0:
                f_ratio = f"{row['min_s'] / base['min_s']:.2f}x"
            if base['peak_mb'] > 0:
                m_ratio = f"{row['peak_mb'] / base['peak_mb']:.2f}x"
            d_loss = f"{abs(row['first_loss'] - base['first_loss']):.1e}"
        label = LABELS[row['impl']] + (f" ({row['note']})"
                                       if row.get('note') else '')
        lines.append(f"| {label} | {row['params']:,} | {row['time_s']:.2f} "
                     f"| {t_ratio} | {row['min_s']:.2f} | {f_ratio} "
                     f"| {row['peak_mb']:.0f} | {m_ratio} | "
                     f"{d_loss} | {row['device']} |")
    return lines


def main(argv=None):
    args = parse_args(argv)
    if args._worker:
        run_worker(args)
        return
    resolve_device(args.device)
    device = torch.device(args.device)
    rows = {}
    absent = invtoolbox_available() if any(
        i.startswith('invtoolbox') for i in args.impls) else ''
    for impl in args.impls:
        rows[impl] = dict(impl=impl, absent=absent) if (
            impl.startswith('invtoolbox') and absent) else None
    for _ in range(args.rounds):
        for impl in args.impls:
            if rows[impl] is not None and 'absent' in rows[impl]:
                continue
            row = run_measure(args, impl, 'time')
            if rows[impl] is not None:
                row['times_s'] = rows[impl]['times_s'] + row['times_s']
            rows[impl] = row
    for row in rows.values():
        if 'absent' not in row:
            row.update(time_s=statistics.median(row['times_s']),
                       min_s=min(row['times_s']))
            row.update(run_measure(args, row['impl'], 'memory'))
    rows = list(rows.values())
    measured = [r for r in rows if 'device' in r]
    where = measured[0]['device'] if measured else args.device
    print(f'Invertible-ISP training step (forward + clamp + L1 + DiffJPEG q90 '
          f'Fourier + inverse + L1 + backward + Adam), batch 1, '
          f'{args.size}x{args.size}, {where}, median and fastest of '
          f'{args.rounds} x {args.repeats} steps after {args.warmup} warm-up; '
          f'peak memory: {MEMORY_NOTE[device.type]}\n')
    for line in table_lines(rows):
        print(line)
    if args.json:
        write_json(args.json, rows)


if __name__ == '__main__':
    main()
