# Copyright (c) invtoolbox contributors. All rights reserved.
"""Rebuild the bundled demo set (``demo/data``) from license-clean photographs.

* ``train/``: two 256x256 crops from each CLIC 2025 photograph (Unsplash
  License) after a 1/2 MATLAB-bicubic downscale (the 2048-px originals are
  soft at full size; halving gives DIV2K-like detail per pixel);
* ``val/``: four 256x256 crops of Kodak images (free to redistribute), at
  their native resolution, held out from training.

Usage::

    python tools/dataset_converters/make_demo_set.py \
        --clic ../shared/data/train_hr --kodak ../shared/data/kodak --out demo/data
"""
import argparse
import os
import os.path as osp
import sys

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, osp.join(osp.dirname(__file__), '..'))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

import numpy as np
from PIL import Image

KODAK_VAL = {  # file -> (left, top) of the 256x256 crop
    'kodim03.png': (256, 128),
    'kodim05.png': (384, 192),
    'kodim14.png': (200, 160),
    'kodim19.png': (128, 320),
}
CROP = 256


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--clic', default='../shared/data/train_hr')
    parser.add_argument('--kodak', default='../shared/data/kodak')
    parser.add_argument('--out', default='demo/data')
    args = parser.parse_args(argv)
    from invtoolbox.utils import imresize
    for folder in (args.clic, args.kodak):
        if not osp.isdir(folder):
            sys.exit(f'error: {folder} not found; pass the folder with --clic/'
                     '--kodak.')
    os.makedirs(osp.join(args.out, 'train'), exist_ok=True)
    os.makedirs(osp.join(args.out, 'val'), exist_ok=True)
    clic = sorted(f for f in os.listdir(args.clic) if f.endswith('.png'))
    for index, name in enumerate(clic):
        img = np.asarray(Image.open(osp.join(args.clic, name)).convert('RGB'))
        half = imresize(img.astype(np.float32) / 255., 0.5)
        half = np.clip(np.round(half * 255), 0, 255).astype(np.uint8)
        h, w = half.shape[:2]
        # two fixed crops: centre and a third of the way along the long side
        for k, (cy, cx) in enumerate(((h // 2, w // 2), (h // 3, w // 3))):
            top = min(max(cy - CROP // 2, 0), h - CROP)
            left = min(max(cx - CROP // 2, 0), w - CROP)
            crop = half[top:top + CROP, left:left + CROP]
            Image.fromarray(crop).save(
                osp.join(args.out, 'train', f'clic_{index:02d}_{k}.png'),
                optimize=True)
    for name, (left, top) in KODAK_VAL.items():
        img = Image.open(osp.join(args.kodak, name)).convert('RGB')
        img.crop((left, top, left + CROP, top + CROP)).save(
            osp.join(args.out, 'val', name.replace('.png', '_crop.png')),
            optimize=True)
    print(f'wrote {2 * len(clic)} training and {len(KODAK_VAL)} validation '
          f'crops to {args.out}')


if __name__ == '__main__':
    main()
