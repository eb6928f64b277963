# Copyright (c) invtoolbox contributors. All rights reserved.
"""Print the bicubic down/up baseline (Y-PSNR / Y-SSIM) of a folder of HR images.

Every image is mod-cropped to the scale, downscaled by ``1/s`` and upscaled
by ``s`` with MATLAB-compatible bicubic :func:`invtoolbox.utils.imresize`,
and compared with the HR image on the BT.601 Y channel with
``crop_border = s``. Two protocols:

- ``matlab`` (default): the classic MATLAB benchmark scripts behind the
  published "Bicubic" rows (SRCNN / VDSR / LapSRN, copied by EDSR, IRN, ...):
  ``Y = rgb2ycbcr(uint8 RGB)`` rounded to uint8 (grayscale images are used as
  they are), resized as uint8 (rounded after each resize).
- ``rgb``: the IRN / BasicSR pipeline: the RGB image is resized (rounded to
  uint8 after each resize, i.e. a saved LR PNG), then Y is computed in float
  from the 8-bit RGB result (grayscale images are converted to RGB first).

Examples::

    python tools/analysis_tools/bicubic_baseline.py                 # Set5
    python tools/analysis_tools/bicubic_baseline.py ../shared/data/set14 --scales 2 4
    python tools/analysis_tools/bicubic_baseline.py DIR --protocol rgb --per-image
"""
import argparse
import os
import sys
from pathlib import Path

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

import numpy as np
from PIL import Image

from invtoolbox.evaluation.functional import psnr, ssim
from invtoolbox.utils import imresize, modcrop, read_image, rgb2ycbcr

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FOLDER = Path(
    os.environ.get('INVTB_SHARED', REPO_ROOT.parent / 'shared')) / 'data' / 'set5'
IMAGE_SUFFIXES = ('.png', '.bmp', '.jpg', '.jpeg', '.tif', '.tiff', '.ppm')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Bicubic down/up baseline (Y-PSNR / Y-SSIM, crop = '
        'scale) of a folder of HR images.')
    parser.add_argument(
        'folder',
        nargs='?',
        default=str(DEFAULT_FOLDER),
        help=f'folder of HR images (default: {DEFAULT_FOLDER})')
    parser.add_argument(
        '--scales',
        type=int,
        nargs='+',
        default=[2, 3, 4],
        help='integer scales (default: 2 3 4)')
    parser.add_argument(
        '--protocol',
        choices=['matlab', 'rgb'],
        default='matlab',
        help='matlab: uint8 Y resized (published bicubic rows); rgb: RGB '
        'resized, float Y of the 8-bit result (IRN/BasicSR). Default: matlab')
    parser.add_argument(
        '--per-image', action='store_true', help='also print every image')
    return parser.parse_args(argv)


def load_images(folder: Path):
    """Return ``[(name, uint8 array)]``; RGB ``(H, W, 3)`` or grayscale ``(H, W)``."""
    if not folder.is_dir():
        raise FileNotFoundError(
            f'bicubic_baseline: folder {folder} not found; pass a folder of '
            'HR images, e.g. ../shared/data/set14')
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(
            f'bicubic_baseline: no images ({", ".join(IMAGE_SUFFIXES)}) in '
            f'{folder}; pass a folder of HR images')
    images = []
    for path in files:
        with Image.open(path) as im:  # the header: grey stays grey
            grey = im.mode in ('L', 'I') or im.mode.startswith('I;16')
        # 16-bit rounded, EXIF applied, alpha composited: as in training
        img = read_image(path, channels=1 if grey else 3)
        images.append((path.name, img[:, :, 0] if grey else img))
    return images


def bicubic_baseline(hr: np.ndarray, scale: int, protocol: str = 'matlab'):
    """Y-PSNR and Y-SSIM of the bicubic down/up reconstruction of one image.

    Args:
        hr (np.ndarray): uint8 RGB ``(H, W, 3)`` or grayscale ``(H, W)``.
        scale (int): the scale.
        protocol (str): ``'matlab'`` or ``'rgb'`` (see the module docstring).

    Returns:
        tuple[float, float]: ``(psnr_db, ssim)``.
    """
    hr = modcrop(hr, scale)
    if protocol == 'matlab':
        y = rgb2ycbcr(hr, y_only=True) if hr.ndim == 3 else hr
        up = imresize(imresize(y, 1 / scale), scale)  # uint8 in, uint8 out
        return (psnr(y, up, crop_border=scale),
                ssim(y, up, crop_border=scale))
    if hr.ndim == 2:
        hr = np.repeat(hr[:, :, None], 3, axis=2)
    up = imresize(imresize(hr, 1 / scale), scale)
    return (psnr(hr, up, crop_border=scale, test_y_channel=True),
            ssim(hr, up, crop_border=scale, test_y_channel=True))


def main(argv=None):
    args = parse_args(argv)
    folder = Path(args.folder)
    try:
        images = load_images(folder)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    bad = [s for s in args.scales if s < 2]
    if bad:
        print(f'error: --scales must be integers >= 2, got {bad}',
              file=sys.stderr)
        return 2
    print(f'Bicubic down/up baseline of {len(images)} images in {folder} '
          f'(protocol {args.protocol}; Y channel, crop_border = scale)')
    rows = []
    for scale in args.scales:
        values = [(name, *bicubic_baseline(img, scale, args.protocol))
                  for name, img in images]
        if args.per_image:
            for name, p, s in values:
                print(f'  x{scale} {name:<20s} {p:8.4f} dB  {s:.4f}')
        rows.append((scale, np.mean([v[1] for v in values]),
                     np.mean([v[2] for v in values])))
    print('| scale | Y-PSNR (dB) | Y-SSIM |')
    print('|---|---|---|')
    for scale, p, s in rows:
        print(f'| x{scale} | {p:.4f} | {s:.4f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
