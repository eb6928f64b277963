# Copyright (c) invtoolbox contributors. All rights reserved.
"""A short CPU training of IICNet's 3-frame video embedding, with its curve.

Trains the ``IICNet`` model of ``configs/iicnet/video_embed.py`` on
``VideoEmbedding(num_frames=3)`` with a CPU-sized recipe (the options below;
the official st-01 network takes over a minute per step on this CPU), on the
bundled Vimeo-90K septuplets (``../shared/data/video``, 5 sequences of 7
frames, 448x256):

* training: the first ``--train-sequences`` sequences (sorted by name; 4 by
  default), every 3-frame clip of each (``clip_step=1``: 5 clips per
  septuplet), random ``--crop`` crops (one window for the 3 frames);
* held out: the remaining sequence(s), the centred clip (``im3 .. im5``) at
  full resolution.

Every ``--eval-interval`` iterations (and before the first) the held-out
clip is embedded, 8-bit quantised and restored (``IICNet.predict``) and
measured with ``RICMetric`` (IICNet's protocol): the embedding's PSNR
against the reference (the middle frame), the PSNR of all restored frames
and of the non-reference ones. The script prints the table and writes
``curve.json`` and ``curve.png`` (atomically) to ``--out-dir``.

The training time is wall time, synchronised on CUDA (``--device cuda``).

Usage (from the repository root)::

    python -m benchmarks.iicnet_training_curve --iters 600 \\
        --eval-interval 50 --plot docs/figures/iicnet_video3_training_curve.png
"""
import argparse
import io
import json
import os
import os.path as osp
import sys

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.iicnet_training_curve ...`')

from benchmarks.profiling import (REPO_ROOT, SHARED_ROOT,  # noqa: E402
                                  Stopwatch, add_device_argument,
                                  device_label, resolve_device)

DEFAULT_CONFIG = str(REPO_ROOT / 'configs' / 'iicnet' / 'video_embed.py')
DEFAULT_DATA = str(SHARED_ROOT / 'data' / 'video')
NUM_FRAMES = 3
COLUMNS = (('embed_PSNR', 'embed PSNR'), ('restored_PSNR', 'restored PSNR'),
           ('restored_noref_PSNR', 'restored-noref PSNR'))


def _positive(value):
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return number


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='IICNet config whose model and optimiser are '
                        'taken (default: configs/iicnet/video_embed.py)')
    parser.add_argument('--data-root', default=DEFAULT_DATA,
                        help='folder of sequence folders (default: '
                        '../shared/data/video)')
    parser.add_argument('--train-sequences', type=_positive, default=4,
                        help='the first N sequences train, the rest are '
                        'held out (default 4 of 5)')
    parser.add_argument('--iters', type=_positive, default=600,
                        help='training budget in iterations (default 600)')
    parser.add_argument('--eval-interval', type=_positive, default=50)
    parser.add_argument('--batch', type=_positive, default=2)
    parser.add_argument('--crop', type=_positive, default=64)
    parser.add_argument('--blocks', type=int, default=4,
                        help='couplings (official: 10)')
    parser.add_argument('--rel-channels', type=_positive, default=32,
                        help='relation-module width (official: 64)')
    parser.add_argument('--growth', type=_positive, default=16,
                        help='dense-block growth (official: 32)')
    parser.add_argument(
        '--frame-step', type=int, default=1,
        help='frames between the clip\'s frames (official training: 5 on '
        'DAVIS; the 7-frame septuplets allow 1..3)')
    parser.add_argument(
        '--schedule', choices=['cosine', 'constant'], default='cosine',
        help='lr schedule over --iters: cosine decay to lr/100 (default) or '
        'constant')
    parser.add_argument('--lr', type=float, default=1e-3,
                        help='Adam peak learning rate (official: 2e-4, constant)')
    parser.add_argument('--threads', type=_positive, default=1,
                        help='torch CPU threads (default 1)')
    add_device_argument(parser)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default='work_dirs/iicnet_video3_curve')
    parser.add_argument('--plot', help='also write the plot here (e.g. '
                        'docs/figures/iicnet_video3_training_curve.png)')
    args = parser.parse_args(argv)
    if args.blocks < 0:
        parser.error(f'--blocks must be >= 0, got {args.blocks}')
    if not args.lr > 0:
        parser.error(f'--lr must be > 0, got {args.lr}')
    if not osp.isfile(args.config):
        parser.error(f'config {args.config} not found; pass --config '
                     'path/to/an IICNet config')
    if not osp.isdir(args.data_root):
        parser.error(f'--data-root {args.data_root} is not a folder; point '
                     'it at a folder of sequence folders (im1.png ...)')
    sequences = [
        name for name in os.listdir(args.data_root)
        if not name.startswith('.')
        and osp.isdir(osp.join(args.data_root, name))
    ]
    if len(sequences) <= args.train_sequences:
        parser.error(f'no held-out sequence: --data-root {args.data_root} '
                     f'has {len(sequences)} sequence folder(s), not more '
                     f'than --train-sequences={args.train_sequences}; lower '
                     '--train-sequences')
    return args


def build(args, device='cpu'):
    """The model (on ``device``), optimiser wrapper, training loader and
    held-out loader."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    from invtoolbox.registry import MODELS
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(args.config)
    model_cfg = cfg.model.to_dict()
    model_cfg['task'] = dict(type='VideoEmbedding', num_frames=NUM_FRAMES)
    generator = dict(model_cfg.get('generator') or {})
    subnet = dict(generator.get('subnet') or dict(type='DenseBlock'))
    subnet['growth'] = args.growth
    generator.update(block_num=args.blocks, rel_channels=args.rel_channels,
                     subnet=subnet)
    model_cfg.update(generator=generator,
                     train_cfg=dict(model_cfg.get('train_cfg') or {},
                                    seed=args.seed))
    model = MODELS.build(model_cfg).to(device)
    optim_cfg = cfg.optim_wrapper.to_dict()
    optim_cfg['optimizer'] = dict(optim_cfg['optimizer'], lr=args.lr)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)

    def dataset(pipeline, **kwargs):
        return dict(type='VideoClipDataset', data_root=args.data_root,
                    num_frames=NUM_FRAMES, layout='folders',
                    frame_step=args.frame_step,
                    pipeline=pipeline, **kwargs)

    train_loader = Runner.build_dataloader(
        dict(batch_size=args.batch, num_workers=0,
             sampler=dict(type='InfiniteSampler', shuffle=True),
             dataset=dataset([
                 dict(type='LoadImages'),
                 dict(type='RandomCropImages', crop_size=args.crop),
                 dict(type='PackImages')
             ], clip_step=1, sequence_slice=(0, args.train_sequences))),
        seed=args.seed)
    val_loader = Runner.build_dataloader(
        dict(batch_size=1, num_workers=0,
             sampler=dict(type='DefaultSampler', shuffle=False),
             dataset=dataset([dict(type='LoadImages'),
                              dict(type='PackImages')],
                             sequence_slice=(args.train_sequences, None),
                             test_mode=True)),
        seed=args.seed)
    return model, optim_wrapper, train_loader, val_loader, cfg


def evaluate(model, loader, cfg):
    """The config's evaluator (``RICMetric``) on the held-out clips."""
    import torch
    from mmengine.evaluator import Evaluator
    evaluator = Evaluator(cfg.val_evaluator.to_dict())
    model.eval()
    with torch.no_grad():
        for batch in loader:
            evaluator.process(model.val_step(batch), batch)
    model.train()
    return evaluator.evaluate(len(loader.dataset))


def train(args, log=print):
    """Run the training; returns the list of evaluation rows."""
    import torch
    from mmengine.runner import set_random_seed
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    set_random_seed(args.seed)
    model, optim_wrapper, train_loader, val_loader, cfg = build(args, device)
    n_params = sum(p.numel() for p in model.generator.parameters())
    log(f'{n_params:,} parameters; {len(train_loader.dataset)} training '
        f'clips, {len(val_loader.dataset)} held-out clip(s)')
    rows = []
    train_time = 0.

    def record(iteration, loss):
        metrics = evaluate(model, val_loader, cfg)
        row = dict(iteration=iteration, train_time_s=train_time, loss=loss)
        row.update({key: metrics[key] for key, _ in COLUMNS})
        rows.append(row)
        log(f"iter {iteration}: " + ', '.join(
            f'{name} {row[key]:.2f}' for key, name in COLUMNS) +
            f' ({train_time:.0f} s training)')

    record(0, None)
    model.train()
    scheduler = None
    if args.schedule == 'cosine':
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optim_wrapper.optimizer, T_max=args.iters, eta_min=args.lr / 100)
    batches = iter(train_loader)
    losses = []
    for iteration in range(1, args.iters + 1):
        with Stopwatch(device) as watch:
            log_vars = model.train_step(next(batches), optim_wrapper)
            if scheduler is not None:
                scheduler.step()
        train_time += watch.seconds
        loss = log_vars['loss']
        losses.append(float(getattr(loss, 'detach', lambda: loss)()))
        if iteration % args.eval_interval == 0 or iteration == args.iters:
            record(iteration, sum(losses) / len(losses))
            losses = []
    return rows, n_params


def format_table(args, rows, n_params):
    lines = [
        f'IICNet VideoEmbedding(num_frames=3), {n_params:,} parameters '
        f'({args.blocks} couplings, relation width {args.rel_channels}, '
        f'growth {args.growth}), batch {args.batch} x {args.crop}x'
        f'{args.crop}, frame step {args.frame_step}, Adam lr {args.lr:g} '
        f'({args.schedule}), '
        f'{device_label(args.device, args.threads)}; '
        'held-out clip, 8-bit embedding', '',
        '| iteration | train time (s) | ' + ' | '.join(
            name + ' (dB)' for _, name in COLUMNS) + ' |',
        '|---:|---:|' + '---:|' * len(COLUMNS)
    ]
    for row in rows:
        lines.append(f"| {row['iteration']} | {row['train_time_s']:.0f} | " +
                     ' | '.join(f'{row[key]:.2f}' for key, _ in COLUMNS) +
                     ' |')
    return '\n'.join(lines)


def plot_png(args, rows):
    """The curve as PNG bytes."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    iters = [r['iteration'] for r in rows]
    for key, name in COLUMNS:
        ax.plot(iters, [r[key] for r in rows], marker='o', markersize=3,
                label=name)
    ax.set_xlabel('iteration')
    ax.set_ylabel('PSNR on the held-out clip (dB)')
    ax.set_title(f'IICNet 3-frame video embedding, CPU ({args.blocks} '
                 f'couplings, {args.crop}x{args.crop} crops)', fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png')
    plt.close(fig)
    return buffer.getvalue()


def main(argv=None):
    args = parse_args(argv)
    resolve_device(args.device)
    from invtoolbox.apis.checkpoint_io import write_file_atomic

    def log(message):
        print(message, file=sys.stderr, flush=True)

    with Stopwatch(args.device) as watch:
        rows, n_params = train(args, log)
    total = watch.seconds
    print(format_table(args, rows, n_params))
    print(f'\n{args.iters} iterations: {rows[-1]["train_time_s"]:.0f} s of '
          f'training, {total:.0f} s in all (with evaluation)')
    result = dict(
        options={k: v for k, v in vars(args).items()},
        num_params=n_params,
        total_time_s=total,
        rows=rows)
    text = json.dumps(result, indent=2).encode('utf-8')
    png = plot_png(args, rows)
    write_file_atomic(osp.join(args.out_dir, 'curve.json'),
                      lambda f: f.write(text))
    for path in [osp.join(args.out_dir, 'curve.png')] + (
            [args.plot] if args.plot else []):
        write_file_atomic(path, lambda f: f.write(png))
    return rows


if __name__ == '__main__':
    main()
