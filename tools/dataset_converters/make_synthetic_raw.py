# Copyright (c) invtoolbox contributors. All rights reserved.
"""Make synthetic camera RAW (DNG) from a folder of sRGB images.

Each image ``SRC_DIR/<name>.<ext>`` becomes ``OUT_DIR/<name>.dng``: a Bayer
RAW made by inverting a camera pipeline (Brooks et al., CVPR 2019; see
``invtoolbox.datasets.raw.synthetic``), readable by rawpy/LibRaw. The same
arguments give byte-identical files.

Example::

    python tools/dataset_converters/make_synthetic_raw.py demo/data/train \
        data/synthetic_raw/train --cfa RGGB --seed 0 --camera nikon_d700
"""
import argparse
import os
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

from invtoolbox.datasets.raw.synthetic import CAMERA_MATRICES
from invtoolbox.datasets.raw.metadata import CFA_PATTERNS
from invtoolbox.datasets.synthetic_raw_dataset import generate_synthetic_raw
from invtoolbox.datasets.utils import scan_images


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Make synthetic camera RAW (DNG) from sRGB images.')
    parser.add_argument('src_dir', help='folder of sRGB images')
    parser.add_argument('out_dir', help='folder for the DNG files')
    parser.add_argument('--cfa', default='RGGB', choices=CFA_PATTERNS)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--camera', default='nikon_d700',
                        choices=sorted(CAMERA_MATRICES) + ['random'])
    parser.add_argument('--black-level', type=int, default=512)
    parser.add_argument('--white-level', type=int, default=16383)
    parser.add_argument('--no-noise', action='store_true',
                        help='leave out the sensor noise')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into an OUT_DIR that already has files')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isdir(args.src_dir):
        return f'error: SRC_DIR {args.src_dir!r} is not a folder'
    if not scan_images(args.src_dir):
        return (f'error: no image (png, jpg, jpeg, bmp, tif, webp) in '
                f'{args.src_dir!r}')
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        return f'error: OUT_DIR {args.out_dir!r} is a file, not a folder'
    if osp.isdir(args.out_dir) and os.listdir(args.out_dir) and \
            not args.overwrite:
        return (f'error: OUT_DIR {args.out_dir!r} exists and is not empty; '
                'pass --overwrite to replace its files')
    camera = dict(cfa=args.cfa, camera=args.camera,
                  black_level=args.black_level, white_level=args.white_level,
                  noise=not args.no_noise)
    start = time.perf_counter()
    try:
        infos = generate_synthetic_raw(args.src_dir, args.out_dir,
                                       camera=camera, seed=args.seed,
                                       overwrite=args.overwrite)
    except (ValueError, FileNotFoundError) as error:
        return f'error: {error}'
    seconds = time.perf_counter() - start
    print(f'{"file":<28} {"bytes":>10}  {"CFA":<4} {"black/white":<12} '
          'WB (R, G, B)')
    for info in infos:
        meta = info['meta']
        wb = ', '.join(f'{v:.3f}' for v in meta['wb'])
        levels = f'{int(meta["black_level"][0])}/{meta["white_level"]}'
        print(f'{osp.basename(info["raw_path"]):<28} {info["bytes"]:>10}  '
              f'{meta["cfa"]:<4} {levels:<12} {wb}')
    total = sum(info['bytes'] for info in infos)
    print(f'{len(infos)} DNG files, {total} bytes, in {args.out_dir} '
          f'({seconds:.2f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
