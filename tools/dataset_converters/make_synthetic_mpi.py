# Copyright (c) invtoolbox contributors. All rights reserved.
"""Make synthetic multiplane images (MPIs) from a folder of photographs.

Each photo ``SRC_DIR/<stem>.<ext>`` gives ``--scenes-per-image`` scenes,
``OUT_DIR/<stem>_s<k>/00000/`` in the official layout of "Embedding Novel
Views in a Single JPEG Image" (``src_image_0.png``, ``mpi_rgb_XX.png``,
``mpi_alpha_XX.png``): an opaque background photo on the farthest plane and
2-4 soft-edged photo cut-outs on nearer planes (see
``invtoolbox.datasets.synthetic_mpi``). The same arguments give the same
files; scenes already in OUT_DIR with the same settings are kept.
``MPIFolderDataset(data_root=OUT_DIR)`` reads them.

Example::

    python tools/dataset_converters/make_synthetic_mpi.py demo/data/train \
        data/synthetic_mpi/train --scenes-per-image 4 --size 64 64 --seed 0
"""
import argparse
import json
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

from invtoolbox.datasets.synthetic_mpi import (FRAME, SCENE_FILE,
                                               generate_synthetic_mpis)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Make synthetic multiplane images (MPIs) from photos.')
    parser.add_argument('src_dir', help='folder of photographs')
    parser.add_argument('out_dir', help='folder for the MPI scenes')
    parser.add_argument('--scenes-per-image', type=int, default=4,
                        help='scenes made from each photo (default: 4)')
    parser.add_argument('--size', type=int, nargs=2, default=(64, 64),
                        metavar=('H', 'W'),
                        help='scene height and width (default: 64 64)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-planes', type=int, default=32,
                        help='planes per MPI (default: 32)')
    parser.add_argument('--num-layers', type=int, nargs=2, default=(2, 4),
                        metavar=('MIN', 'MAX'),
                        help='foreground layers per scene (default: 2 4)')
    parser.add_argument('--overwrite', action='store_true',
                        help='accept an OUT_DIR made with other settings '
                        'or holding other files')
    return parser.parse_args(argv)


def _record(folder):
    """The scene's record (a dict), read after generation."""
    with open(osp.join(osp.dirname(folder), SCENE_FILE),
              encoding='utf-8') as handle:
        return json.load(handle)


def _stamp(folder):
    """Identifies the record file: it is replaced when a scene is made."""
    try:
        stat = os.stat(osp.join(osp.dirname(folder), SCENE_FILE))
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def main(argv=None):
    args = parse_args(argv)
    if not osp.isdir(args.src_dir):
        return f'error: SRC_DIR {args.src_dir!r} is not a folder'
    start = time.perf_counter()
    try:
        before = {}  # the scene records already there: made vs kept
        if osp.isdir(args.out_dir):
            for scene in os.listdir(args.out_dir):
                folder = osp.join(args.out_dir, scene, FRAME)
                before[folder] = _stamp(folder)
        folders = generate_synthetic_mpis(
            args.src_dir, args.out_dir,
            scenes_per_image=args.scenes_per_image, size=tuple(args.size),
            seed=args.seed, num_planes=args.num_planes,
            num_layers=tuple(args.num_layers), overwrite=args.overwrite)
    except (ValueError, FileNotFoundError) as error:
        return f'error: {error}'
    seconds = time.perf_counter() - start
    print(f'{"scene":<28} {"source":<24} layer planes (coverage)')
    for folder in folders:
        record = _record(folder)
        layers = ', '.join(
            f'{p} ({c:.0%})'
            for p, c in zip(record['layer_planes'], record['coverage']))
        print(f'{osp.basename(osp.dirname(folder)):<28} '
              f'{record["source"]:<24} {layers}')
    made = sum(before.get(f) != _stamp(f) for f in folders)
    h, w = args.size
    print(f'{len(folders)} scenes of {args.num_planes} planes, {h}x{w}, in '
          f'{args.out_dir} ({made} made, {len(folders) - made} kept; '
          f'{seconds:.2f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
