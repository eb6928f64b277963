# Copyright (c) invtoolbox contributors. All rights reserved.
"""How close is DiffJPEG to a real JPEG codec? Kodak benchmark.

For every quality, DiffJPEG with hard rounding ('round', 4:2:0) and real
Pillow JPEG (libjpeg, 4:2:0) code each of the 24 Kodak images; the script
prints the mean PSNR (RGB, 8-bit, averaged over the images) between the two
decoded images, and for context each one against the original. With
``--variants`` it also measures the options that bring DiffJPEG closer to
libjpeg (clamped / integer tables, fancy chroma upsampling, 8-bit YCbCr).

DiffJPEG runs on ``--device`` (the real codec always codes on the CPU).

Example (from the repository root)::

    python -m benchmarks.benchmark_diffjpeg \
        --data-root ../shared/data/kodak --variants
"""
import argparse
import math
import sys
import time
from pathlib import Path

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.benchmark_diffjpeg ...`')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.profiling import (SHARED_ROOT, add_device_argument,  # noqa: E402
                                  device_label, resolve_device)
from invtoolbox.models.degradations import DiffJPEG, RealJPEG  # noqa: E402

DEFAULT_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 75, 80, 90, 95)

#: name -> DiffJPEG options (on top of rounding='round', subsampling='420')
VARIANTS = {
    'official':
    dict(),
    'clamp_tables':
    dict(clamp_tables=True),
    'libjpeg_tables':
    dict(clamp_tables=True, integer_tables=True),
    'fancy_upsampling':
    dict(chroma_upsampling='fancy'),
    'round_ycbcr':
    dict(round_ycbcr=True),
    'libjpeg_like':
    dict(clamp_tables=True,
         integer_tables=True,
         chroma_upsampling='fancy',
         round_ycbcr=True),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Mean PSNR between DiffJPEG (hard rounding) and real '
        'Pillow JPEG on the Kodak images.')
    parser.add_argument(
        '--data-root',
        default=str(SHARED_ROOT / 'data' / 'kodak'),
        help='folder with the 24 Kodak PNGs (kodim01.png ... kodim24.png)')
    parser.add_argument('--qualities',
                        type=int,
                        nargs='+',
                        default=list(DEFAULT_QUALITIES),
                        help='JPEG qualities to test')
    parser.add_argument(
        '--variants',
        action='store_true',
        help='also measure the libjpeg-closer DiffJPEG options')
    parser.add_argument('--limit',
                        type=int,
                        default=None,
                        help='use only the first N images (quick checks)')
    add_device_argument(parser)
    return parser.parse_args(argv)


def load_images(root: Path, limit=None):
    """Return the sorted ``kodim*.png`` of ``root`` as uint8 HWC arrays."""
    if not root.is_dir():
        raise FileNotFoundError(
            f'Kodak folder {root} not found; pass --data-root DIR pointing to '
            'the folder with kodim01.png ... kodim24.png.')
    paths = sorted(root.glob('kodim*.png'))
    if not paths:
        raise FileNotFoundError(
            f'no kodim*.png images in {root}; pass --data-root DIR pointing '
            'to the Kodak PNGs.')
    paths = paths[:limit] if limit else paths
    return [np.array(Image.open(p).convert('RGB')) for p in paths]


def psnr_8bit(a: np.ndarray, b: np.ndarray) -> float:
    """RGB PSNR of two uint8 images (inf for identical images)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64))**2)
    return math.inf if mse == 0 else 10 * math.log10(255.**2 / mse)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    x = x[0].detach().cpu()
    return x.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()


def run(args, device='cpu') -> dict:
    images = load_images(Path(args.data_root), args.limit)
    variants = VARIANTS if args.variants else {'official': {}}
    results = {}
    with torch.no_grad():
        for quality in args.qualities:
            real = RealJPEG(quality)
            sims = {
                name:
                DiffJPEG(quality, rounding='round', subsampling='420',
                         **opts).to(device)
                for name, opts in variants.items()
                if not (quality == 100 and not opts)
            }
            rows = {name: [] for name in sims}
            real_vs_orig, sim_vs_orig, bpps = [], [], []
            for img in images:
                x = (torch.from_numpy(img).permute(2, 0, 1)[None].float() /
                     255).to(device)
                coded = real.code(x)
                jpeg = to_uint8(coded.images)
                bpps.append(coded.bpp()[0])
                real_vs_orig.append(psnr_8bit(jpeg, img))
                for name, sim in sims.items():
                    out = to_uint8(sim(x))
                    rows[name].append(psnr_8bit(out, jpeg))
                    if name == 'official':
                        sim_vs_orig.append(psnr_8bit(out, img))
            results[quality] = dict(sim_vs_jpeg={
                k: float(np.mean(v))
                for k, v in rows.items()
            },
                                    sim_vs_orig=float(np.mean(sim_vs_orig)),
                                    jpeg_vs_orig=float(np.mean(real_vs_orig)),
                                    jpeg_bpp=float(np.mean(bpps)))
    return dict(num_images=len(images), results=results)


def format_tables(report: dict, variants: bool) -> str:
    n = report['num_images']
    lines = [
        f'Mean RGB PSNR (dB, 8-bit) over {n} Kodak images; DiffJPEG = '
        "DiffJPEG(q, rounding='round', subsampling='420'), JPEG = Pillow "
        '(libjpeg-turbo) 4:2:0.', '',
        '| quality | DiffJPEG vs JPEG | DiffJPEG vs original | '
        'JPEG vs original | JPEG bpp |', '|---:|---:|---:|---:|---:|'
    ]
    for q, r in report['results'].items():
        lines.append(f"| {q} | {r['sim_vs_jpeg']['official']:.2f} | "
                     f"{r['sim_vs_orig']:.2f} | {r['jpeg_vs_orig']:.2f} | "
                     f"{r['jpeg_bpp']:.3f} |")
    if variants:
        names = list(VARIANTS)
        lines += [
            '', 'DiffJPEG vs JPEG (dB) for the DiffJPEG options:', '',
            '| quality | ' + ' | '.join(names) + ' |',
            '|---:|' + '---:|' * len(names)
        ]
        for q, r in report['results'].items():
            cells = [f"{r['sim_vs_jpeg'][k]:.2f}" for k in names]
            lines.append(f'| {q} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    start = time.time()
    try:
        report = run(args, device)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(format_tables(report, args.variants))
    print(f'\n({time.time() - start:.0f} s, torch {torch.__version__}, '
          f'{device_label(device)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
