# Copyright (c) invtoolbox contributors. All rights reserved.
"""Run a trained model on folders of files: rescaling (IRN family) and
Invertible-ISP (RAW -> sRGB JPEG -> RAW).

``downscale``: HR images -> the LR PNGs the model ships (8-bit, the size
divided by the scale; grey PNGs for IRN-Color).
``upscale``: those LR PNGs -> restored HR PNGs. The latent is a seeded
Gaussian (``--seed``; the config's ``test_cfg`` by default) or zero
(``--zero-latent``). For IRN-CRM models, ``upscale`` also takes the JPEG
files of the LR and restores them with the CRM first.

``render`` (Invertible-ISP): camera RAW files (DNG, NEF, CR2, ARW, ...;
Bayer sensors) -> sRGB JPEGs (quality 90, 4:2:2, as the official test), each
carrying the RAW's metadata (CFA pattern, levels, white balance, orientation)
in a comment segment.
``recover`` (Invertible-ISP): those JPEGs -> the recovered RAW as a DNG that
LibRaw (rawpy, darktable, RawTherapee) opens with the camera's CFA pattern,
black/white levels and white balance, plus ``.npy`` (the network's float RAW,
``(3, H, W)`` in [0, 1]). Recovery works from the model's own rendering only,
not from an arbitrary camera JPEG.

Examples::

    python tools/infer.py downscale configs/irn/irn_x2.py irn_x2.pth hr/ lr/
    python tools/infer.py upscale configs/irn/irn_x2.py irn_x2.pth lr/ sr/ --seed 0
    python tools/infer.py render configs/invisp/invisp_nikon_fivek.py nikon.pth raw/ jpg/
    python tools/infer.py recover configs/invisp/invisp_nikon_fivek.py nikon.pth jpg/ dng/

Every output is ``OUT_DIR/<input name>.png`` (``.jpg`` for ``render``,
``.dng`` + ``.npy`` for ``recover``), written to a temporary file and
renamed into place. The output folder must differ from the input folder, and
existing outputs are only replaced with ``--overwrite``. Errors (missing
folder, unreadable image, size not divisible by the scale, a file that is not
a Bayer RAW, a JPEG without RAW metadata or of another size than its RAW)
stop the run with a one-line message; the inputs are checked before anything
is written, and a file that fails later leaves no partial output.
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
        description='Run a trained model on a folder of files: downscale / '
        'upscale (IRN family), render / recover (Invertible-ISP).')
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
    render = sub.add_parser(
        'render', help='camera RAW files -> sRGB JPEGs (Invertible-ISP)')
    common(render)
    render.add_argument('--quality', type=int, default=90,
                        help='JPEG quality (default: 90, as the official '
                        'test)')
    recover = sub.add_parser(
        'recover',
        help='JPEGs written by render -> RAW as DNG + .npy (Invertible-ISP)')
    common(recover)
    recover.add_argument('--no-npy', action='store_true',
                         help='write only the DNG files')
    return parser.parse_args(argv)


def list_images(folder: Path):
    """Sorted image files of ``folder``; one-line errors when unusable."""
    return list_files(folder, lambda p: p.suffix.lower() in IMAGE_SUFFIXES,
                      f'images ({", ".join(IMAGE_SUFFIXES)})')


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
    targets = [output_dir / (p.stem + '.png') for p in files]
    refuse_existing(input_dir, output_dir, targets, overwrite)
    return targets


def check_isp_model(model):
    for name in ('render', 'recover'):
        if not hasattr(model, name):
            raise InferError(
                f'the model {type(model).__name__} is not an Invertible-ISP '
                f'model (no {name!r}); use a configs/invisp/ config.')


def list_files(folder: Path, accept, what: str):
    """Sorted files of ``folder`` that ``accept``; one-line errors."""
    if not folder.exists():
        raise FileNotFoundError(f'input folder {folder} not found.')
    if not folder.is_dir():
        raise InferError(f'{folder} is not a folder; pass a folder of '
                         f'{what}.')
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith('.') and
                   accept(p))
    if not files:
        raise InferError(f'no {what} in {folder}.')
    stems = {}
    for path in files:
        if path.stem in stems:
            raise InferError(
                f'{stems[path.stem].name} and {path.name} would both be '
                f'written as {path.stem}.*; rename one of them.')
        stems[path.stem] = path
    return files


def refuse_existing(input_dir: Path, output_dir: Path, targets, overwrite):
    """Refuse the input folder and (without --overwrite) existing outputs;
    create ``output_dir``."""
    if output_dir.exists() and output_dir.resolve() == input_dir.resolve():
        raise InferError(f'output folder {output_dir} is the input folder; '
                         'choose another one (inputs are never overwritten).')
    if not overwrite:
        existing = [t for t in targets if t.exists()]
        if existing:
            raise InferError(
                f'{existing[0]} already exists ({len(existing)} outputs '
                'exist); pass --overwrite or choose an empty folder.')
    output_dir.mkdir(parents=True, exist_ok=True)


def run_isp(args) -> int:
    """``render`` / ``recover`` with an Invertible-ISP model."""
    from invtoolbox.apis.invisp_inference import (check_rendered_jpeg,
                                                  recover_raw_from_jpeg,
                                                  render_raw_file,
                                                  write_rendered_jpeg,
                                                  write_recovered_raw)
    from invtoolbox.datasets.raw import is_raw_file, read_raw
    input_dir, output_dir = Path(args.input_dir), Path(args.output_dir)
    if args.command == 'render':
        files = list_files(input_dir, lambda p: is_raw_file(p.name),
                           'camera RAW files (.dng, .nef, .cr2, .arw, ...)')
        for path in files:  # every input is checked before any output
            read_raw(path)
        targets = [[output_dir / (p.stem + '.jpg')] for p in files]
    else:
        files = list_files(input_dir,
                           lambda p: p.suffix.lower() in ('.jpg', '.jpeg'),
                           'JPEG files (.jpg, .jpeg)')
        for path in files:  # decoded in full: a truncated file shows here
            check_rendered_jpeg(path)
        targets = [[output_dir / (p.stem + '.dng')] +
                   ([] if args.no_npy else [output_dir / (p.stem + '.npy')])
                   for p in files]
    refuse_existing(input_dir, output_dir, [t for ts in targets for t in ts],
                    args.overwrite)
    model = init_model(args.config, args.checkpoint, device=args.device)
    check_isp_model(model)
    model.eval()
    bar = None if args.quiet else ProgressBar(len(files), file=sys.stderr)
    for path, outs in zip(files, targets):
        if args.command == 'render':
            write_rendered_jpeg(
                render_raw_file(model, path, quality=args.quality), outs[0])
        else:
            recovered = recover_raw_from_jpeg(model, path)
            write_recovered_raw(recovered, outs[0],
                                outs[1] if len(outs) > 1 else None,
                                overwrite=args.overwrite)
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    kind = 'JPEG' if args.command == 'render' else 'DNG'
    print(f'wrote {len(files)} {kind} file(s) to {output_dir}')
    return 0


def check_model(model):
    for name in ('downscale', 'upscale', 'scale', 'lr_channels'):
        if not hasattr(model, name):
            raise InferError(
                f'the model {type(model).__name__} is not an IRN-family '
                f'model (no {name!r}); use an IRN / IRN-Color / IRN-CRM '
                'config.')


def run(args) -> int:
    if args.command in ('render', 'recover'):
        return run_isp(args)
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
