# Copyright (c) invtoolbox contributors. All rights reserved.
"""Invertibility report of an invertible network defined in a config.

Builds the ``inn`` entry of a config (an ``InvertibleSequential`` or any
``INV_BLOCKS`` / ``COUPLINGS`` config), runs an image (or random data)
through it and prints, block by block, the output shape, the parameter
count, the mean log-determinant and the round-trip error, then the round trip
of the whole network in float32 and float64 and the forward/inverse time.

Without ``--checkpoint`` the weights are the config's initialisation moved by
Gaussian noise of std ``--perturb`` (untrained IRN-style couplings are exact
identity maps, which would test nothing).

Usage::

    python tools/analysis_tools/invertibility_report.py configs/inn/irn_x2_inn.py \
        --image demo/kodim23_crop.png
"""
import argparse
import math
import os.path as osp
import sys
import time

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, osp.join(osp.dirname(__file__), '..'))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Invertibility report of the "inn" of a config.')
    parser.add_argument('config', help='config file with an "inn" entry')
    parser.add_argument('--image', help='RGB image to run (else random data)')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help='size of the random input (default: in_shape)')
    parser.add_argument('--checkpoint',
                        help='state dict (or {"state_dict": ...}) to load')
    parser.add_argument('--perturb', type=float, default=0.01,
                        help='std of the noise added to random weights')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
        help='override config entries, e.g. inn.memory_efficient=True')
    return parser.parse_args(argv)


def fail(message):
    sys.exit(f'error: {message}')


def load_image(path, factor):
    import numpy as np

    from invtoolbox.utils import read_image
    if not osp.isfile(path):
        fail(f'image {path} not found; pass an existing file to --image.')
    try:  # as training reads it: EXIF, 16-bit rounded, alpha on white
        img = read_image(path)
    except (OSError, ValueError) as err:
        fail(f'cannot read image {path} ({err}); pass a PNG or JPEG file.')
    h, w = img.shape[:2]
    h, w = h - h % factor, w - w % factor
    if h == 0 or w == 0:
        fail(f'image {path} is smaller than the network factor {factor}.')
    array = img[:h, :w].astype(np.float32) / 255.
    import torch
    return torch.from_numpy(array).permute(2, 0, 1)[None].contiguous()


def load_checkpoint(model, path):
    """Load ``path`` into the network; every key and shape must match
    (the matcher of ``init_model``)."""
    from invtoolbox.apis.inference import (CheckpointMismatchError,
                                           check_checkpoint_fits)
    from invtoolbox.models.base_models.official_converter import \
        strip_state_dict
    from invtoolbox.utils.checkpoint_trust import (CheckpointError,
                                                   load_weights_only)
    if not osp.isfile(path):
        fail(f'checkpoint {path} not found.')
    try:
        state = strip_state_dict(load_weights_only(path), f'checkpoint {path}')
        check_checkpoint_fits(
            model.state_dict(),
            state,
            path,
            'this config',
            hint='check that the config matches the checkpoint '
            'architecture.')
    except (CheckpointError, CheckpointMismatchError, ValueError) as err:
        fail(str(err))
    model.load_state_dict(state)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from invtoolbox.models.inn import InvertibleSequential, build_invertible
    from invtoolbox.utils import register_all_modules

    torch.set_num_threads(args.threads)
    register_all_modules()
    if not osp.isfile(args.config):
        fail(f'config {args.config} not found.')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'inn' not in cfg:
        fail(f'config {args.config} has no "inn" entry to report on.')

    torch.manual_seed(args.seed)
    model = build_invertible(cfg.inn.to_dict())
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
        weights = f'checkpoint {args.checkpoint}'
    else:
        gen = torch.Generator().manual_seed(args.seed)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * args.perturb)
        weights = f'initial weights + N(0, {args.perturb}^2) noise'
    model.eval()

    blocks = list(model) if isinstance(model, InvertibleSequential) else [model]
    shapes = getattr(model, 'shapes', None)
    in_shape = shapes[0] if shapes else (model.channels, 64, 64)
    out_shape = model.output_shape(in_shape)
    factor = max(1, in_shape[1] // out_shape[1])
    if args.image:
        x = load_image(args.image, factor)
        source = f'{args.image} cropped to {x.shape[2]}x{x.shape[3]}'
    else:
        h, w = args.size or in_shape[1:]
        x = torch.rand(1, in_shape[0], h, w,
                       generator=torch.Generator().manual_seed(args.seed))
        source = f'uniform random {h}x{w}'
    if x.shape[1] != model.channels:
        fail(f'the network takes {model.channels} channels, the input has '
             f'{x.shape[1]}.')

    n_params = sum(p.numel() for p in model.parameters())
    print(f'network: {args.config} ({len(blocks)} blocks, '
          f'{n_params:,} parameters)')
    print(f'weights: {weights}')
    print(f'input:   {source}\n')
    print('| # | block | output shape | params | mean log-det | '
          'block round-trip max err |')
    print('|---:|---|---|---:|---:|---:|')
    h = x
    with torch.no_grad():
        for i, block in enumerate(blocks):
            y, logdet = block(h, jac=True)
            err = (block(y, rev=True) - h).abs().max().item()
            params = sum(p.numel() for p in block.parameters())
            print(f'| {i} | {type(block).__name__} | {tuple(y.shape[1:])} | '
                  f'{params:,} | {logdet.mean().item():.2f} | {err:.2e} |')
            h = y

        start = time.perf_counter()
        y, logdet = model(x, jac=True)
        t_fwd = time.perf_counter() - start
        start = time.perf_counter()
        x_rec = model(y, rev=True)
        t_inv = time.perf_counter() - start
        err32 = (x_rec - x).abs().max().item()
        model64 = model.double()
        x64 = x.double()
        err64 = (model64(model64(x64), rev=True) - x64).abs().max().item()
        model.float()

    print()
    print(f'whole network: output {tuple(y.shape)}, log-det '
          f'{logdet.mean().item():.2f}')
    print(f'round trip max |x - inverse(forward(x))|: float32 {err32:.2e}, '
          f'float64 {err64:.2e}')
    print(f'time: forward {t_fwd * 1e3:.1f} ms, inverse {t_inv * 1e3:.1f} ms')
    if y.shape[1] >= 3 and factor > 1 and x.shape[1] == 3:
        ref = torch.nn.functional.avg_pool2d(x, factor)
        mse = (y[:, :3].clamp(0, 1) - ref).square().mean().item()
        psnr = 10 * math.log10(1 / max(mse, 1e-12))
        print(f'channels 0-2 (the LR branch) vs the {factor}x{factor} box '
              f'mean of the input: PSNR {psnr:.2f} dB')
    ok = err32 <= 1e-4 and err64 <= 1e-9
    print('invertible: ' + ('yes' if ok else 'NO (round-trip error too large)'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
