# Copyright (c) invtoolbox contributors. All rights reserved.
"""Downscale and upscale folders of images with a trained IRN-family model.

``downscale``: HR images -> the LR PNGs the model ships (8-bit, the size
divided by the scale; grey PNGs for IRN-Color).
``upscale``: those LR PNGs -> restored HR PNGs. The latent is a seeded
Gaussian (``--seed``; the config's ``test_cfg`` by default) or zero
(``--zero-latent``). For IRN-CRM models, ``upscale`` also takes the JPEG
files of the LR and restores them with the CRM first.

Examples::

    python tools/infer.py downscale configs/irn/irn_x2.py irn_x2.pth hr/ lr/
    python tools/infer.py upscale configs/irn/irn_x2.py irn_x2.pth lr/ sr/ --seed 0

Every output is ``OUT_DIR/<input name>.png``, written to a temporary file and
renamed into place. The output folder must differ from the input folder, and
existing outputs are only replaced with ``--overwrite``. Errors (missing
folder, unreadable image, size not divisible by the scale) stop the run with
a one-line message before anything is written.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from mmengine.utils import ProgressBar
from PIL import Image

from invtoolbox.apis import init_model
from invtoolbox.apis.checkpoint_io import write_file_atomic
from invtoolbox.errors import InvToolboxError
from invtoolbox.utils import img2tensor, tensor2img

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp',
                  '.ppm')


class InferError(InvToolboxError, ValueError):
    """Bad input to infer.py (printed as a one-line message)."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Downscale / upscale a folder of images with a trained '
        'IRN-family model.')
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p):
        p.add_argument('config', help='model config file')
        p.add_argument('checkpoint', help='invtoolbox checkpoint (.pth)')
        p.add_argument('input_dir', help='folder of input images')
        p.add_argument('output_dir', help='folder for the output PNGs')
        p.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
        p.add_argument(
            '--overwrite',
            action='store_true',
            help='replace existing files in output_dir')
        p.add_argument(
            '--quiet', action='store_true', help='no progress bar')

    down = sub.add_parser('downscale', help='HR images -> LR PNGs')
    common(down)
    down.add_argument(
        '--modcrop',
        action='store_true',
        help='crop HR images to a multiple of the scale (bottom/right) '
        'instead of stopping with an error')
    up = sub.add_parser('upscale', help='LR images -> HR PNGs')
    common(up)
    latent = up.add_mutually_exclusive_group()
    latent.add_argument(
        '--seed',
        type=int,
        help='seed of the Gaussian latent (default: the config test_cfg)')
    latent.add_argument(
        '--zero-latent',
        action='store_true',
        help='use z = 0 instead of a Gaussian latent')
    up.add_argument(
        '--gaussian-scale',
        type=float,
        help='std of the Gaussian latent (default: the config test_cfg)')
    return parser.parse_args(argv)


def list_images(folder: Path):
    """Sorted image files of ``folder``; one-line errors when unusable."""
    if not folder.exists():
        raise FileNotFoundError(f'input folder {folder} not found.')
    if not folder.is_dir():
        raise InferError(f'{folder} is not a folder; pass a folder of '
                         'images.')
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InferError(f'no images ({", ".join(IMAGE_SUFFIXES)}) in '
                         f'{folder}.')
    stems = {}
    for path in files:
        if path.stem in stems:
            raise InferError(
                f'{stems[path.stem].name} and {path.name} would both be '
                f'written as {path.stem}.png; rename one of them.')
        stems[path.stem] = path
    return files


def image_size(path: Path):
    """(width, height) from the file header; one-line error if unreadable."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, ValueError) as err:
        raise InferError(f'cannot read image {path} ({err}); remove or fix '
                         'it.') from None


def read_image(path: Path, channels: int) -> np.ndarray:
    """uint8 ``(H, W, 3)`` RGB or ``(H, W)`` grey."""
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert('L' if channels == 1 else 'RGB'))
    except (OSError, ValueError) as err:
        raise InferError(f'cannot read image {path} ({err}); remove or fix '
                         'it.') from None


def write_png_atomic(array: np.ndarray, path: Path) -> None:
    """Write ``array`` as a PNG via a temporary file + ``os.replace``."""
    write_file_atomic(
        path, lambda f: Image.fromarray(array).save(f, format='PNG'))


def prepare_output(input_dir: Path, output_dir: Path, files, overwrite):
    """Create ``output_dir``; refuse the input folder and existing outputs."""
    if output_dir.exists() and output_dir.resolve() == input_dir.resolve():
        raise InferError(f'output folder {output_dir} is the input folder; '
                         'choose another one (inputs are never overwritten).')
    targets = [output_dir / (p.stem + '.png') for p in files]
    if not overwrite:
        existing = [t for t in targets if t.exists()]
        if existing:
            raise InferError(
                f'{existing[0]} already exists ({len(existing)} outputs '
                'exist); pass --overwrite or choose an empty folder.')
    output_dir.mkdir(parents=True, exist_ok=True)
    return targets


def check_model(model):
    for name in ('downscale', 'upscale', 'scale', 'lr_channels'):
        if not hasattr(model, name):
            raise InferError(
                f'the model {type(model).__name__} is not an IRN-family '
                f'model (no {name!r}); use an IRN / IRN-Color / IRN-CRM '
                'config.')


def run(args) -> int:
    input_dir, output_dir = Path(args.input_dir), Path(args.output_dir)
    files = list_images(input_dir)
    sizes = [image_size(p) for p in files]
    model = init_model(args.config, args.checkpoint, device=args.device)
    check_model(model)
    scale = int(model.scale)
    crops = [None] * len(files)
    if args.command == 'downscale':
        for i, (path, (w, h)) in enumerate(zip(files, sizes)):
            if h % scale or w % scale:
                if not args.modcrop:
                    raise InferError(
                        f'{path} is {w}x{h} (width x height), not '
                        f'divisible by the scale '
                        f'{scale}; crop it to {w - w % scale}x'
                        f'{h - h % scale} or pass --modcrop.')
                crops[i] = (h - h % scale, w - w % scale)
                if min(crops[i]) == 0:
                    raise InferError(f'{path} is {w}x{h}, smaller than the '
                                     f'scale {scale}.')
    targets = prepare_output(input_dir, output_dir, files, args.overwrite)
    device = torch.device(args.device)
    up_kwargs = {}
    if args.command == 'upscale':
        if args.zero_latent:
            up_kwargs['latent'] = 'zero'
        elif args.seed is not None:
            up_kwargs.update(latent='gaussian', seed=args.seed)
        if args.gaussian_scale is not None:
            up_kwargs['gaussian_scale'] = args.gaussian_scale
    in_channels = (
        model.generator.in_channels
        if args.command == 'downscale' else model.lr_channels)
    bar = None if args.quiet else ProgressBar(len(files), file=sys.stderr)
    for path, target, crop in zip(files, targets, crops):
        image = read_image(path, 1 if in_channels == 1 else 3)
        if crop is not None:
            image = image[:crop[0], :crop[1]]
        x = img2tensor(image)[None].to(device)
        with torch.no_grad():
            if args.command == 'downscale':
                out = model.downscale(x)
            else:
                out = model.upscale(x, **up_kwargs)
        write_png_atomic(tensor2img(out), target)
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    print(f'wrote {len(files)} image(s) to {output_dir}')
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (InvToolboxError, ValueError, FileNotFoundError, OSError) as err:
        print(f'infer.py: error: {err}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
