# Copyright (c) invtoolbox contributors. All rights reserved.
"""Make the bundled demo video clips (``demo/data/videos``) from the demo photographs.

Each clip is a virtual camera moving smoothly over one still photograph:
a slow pan (a few output pixels over the clip, sub-pixel steps), a slow
zoom and a slight rotation, all eased with a smoothstep so the motion
starts and ends gently. Every frame is rendered from the 256x256 source
with ``cv2.warpAffine`` (bicubic) at twice the output size and reduced with
``cv2.resize`` (``INTER_AREA``), so frames are antialiased and consecutive
frames are strongly correlated, as in real footage (a static scene seen by
a moving camera: no independent object motion, no occlusions).

* ``train/clic_XX_0/00000.png ...``: one clip per CLIC crop
  ``demo/data/train/clic_XX_0.png`` (Unsplash License);
* ``val/kodimNN/00000.png ...``: one clip per Kodak crop of
  ``demo/data/val`` (free to redistribute), held out: no train clip comes
  from these photographs.

The layout is ``VideoClipDataset(layout='folders')`` (one folder of frames
per clip, frames sorted by name). The output is deterministic (seeded);
files are written atomically.

Usage::

    python tools/dataset_converters/make_demo_videos.py \
        [--src demo/data] [--out demo/data/videos] [--size 96] \
        [--train-clips 10] [--frames 12] [--val-frames 9]
"""
import argparse
import io
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

import cv2
import numpy as np
from PIL import Image


def smoothstep(t):
    """``3t^2 - 2t^3``: 0 -> 0, 1 -> 1, zero slope at both ends."""
    return t * t * (3. - 2. * t)


def camera_path(rng, num_frames, src_size, out_size):
    """A smooth camera path over a ``src_size`` square photograph.

    Returns:
        list[np.ndarray]: one 2x3 affine matrix per frame, mapping source
        pixels to the pixels of a ``2 * out_size`` square render.
    """
    render = 2 * out_size
    # the window covers 55-65 % of the photograph and zooms in or out by up
    # to 12 % over the clip; it pans up to 18 source pixels and turns by up
    # to 3 degrees, in random directions
    view0 = src_size * rng.uniform(0.55, 0.65)
    view1 = view0 * rng.uniform(0.88, 1.12)
    angle0 = rng.uniform(-1.5, 1.5)
    angle1 = angle0 + rng.uniform(-3., 3.)
    direction = rng.uniform(0, 2 * np.pi)
    pan = rng.uniform(8., 18.) * np.array([np.cos(direction),
                                           np.sin(direction)])
    margin = max(view0, view1) * 0.56  # room for the rotated window
    centre0 = rng.uniform(margin, src_size - margin, size=2) - pan / 2
    centre0 = np.clip(centre0, margin, src_size - margin)
    centre1 = np.clip(centre0 + pan, margin, src_size - margin)
    matrices = []
    for i in range(num_frames):
        t = smoothstep(i / (num_frames - 1))
        view = view0 + (view1 - view0) * t
        angle = angle0 + (angle1 - angle0) * t
        cx, cy = centre0 + (centre1 - centre0) * t
        # source centre -> render centre, rotated, scaled view -> render
        m = cv2.getRotationMatrix2D((cx, cy), angle, render / view)
        m[:, 2] += (render / 2. - cx, render / 2. - cy)
        matrices.append(m)
    return matrices


def render_clip(img, matrices, out_size):
    """``(H, W, 3)`` uint8 photograph -> list of ``(out_size, out_size, 3)``
    uint8 frames."""
    render = 2 * out_size
    frames = []
    for m in matrices:
        big = cv2.warpAffine(img, m, (render, render),
                             flags=cv2.INTER_CUBIC,
                             borderMode=cv2.BORDER_REFLECT_101)
        frames.append(cv2.resize(big, (out_size, out_size),
                                 interpolation=cv2.INTER_AREA))
    return frames


def write_png(path, frame):
    from invtoolbox.apis.checkpoint_io import write_file_atomic
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format='PNG', optimize=True)
    write_file_atomic(path, lambda f: f.write(buffer.getvalue()))


def make_clips(sources, out_dir, num_frames, out_size, seed):
    """Render one clip per source image into ``out_dir/<stem>/``."""
    rng = np.random.default_rng(seed)
    for path in sources:
        img = np.asarray(Image.open(path).convert('RGB'))
        if img.shape[0] != img.shape[1]:
            sys.exit(f'error: {path} is {img.shape[0]}x{img.shape[1]}; the '
                     'demo photographs are square crops.')
        matrices = camera_path(rng, num_frames, img.shape[0], out_size)
        stem = osp.splitext(osp.basename(path))[0].replace('_crop', '')
        for i, frame in enumerate(render_clip(img, matrices, out_size)):
            write_png(osp.join(out_dir, stem, f'{i:05d}.png'), frame)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--src', default='demo/data',
                        help='the demo photographs (train/ and val/)')
    parser.add_argument('--out', default='demo/data/videos')
    parser.add_argument('--size', type=int, default=96,
                        help='frame side in pixels')
    parser.add_argument('--train-clips', type=int, default=10)
    parser.add_argument('--frames', type=int, default=12,
                        help='frames per train clip')
    parser.add_argument('--val-frames', type=int, default=9)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    for split in ('train', 'val'):
        if not osp.isdir(osp.join(args.src, split)):
            sys.exit(f'error: {osp.join(args.src, split)} not found; pass the '
                     'demo set folder (with train/ and val/) with --src.')
    if args.size < 16 or args.frames < 2 or args.val_frames < 2:
        sys.exit('error: --size must be >= 16 and --frames / --val-frames '
                 '>= 2.')
    train = sorted(
        osp.join(args.src, 'train', f)
        for f in os.listdir(osp.join(args.src, 'train'))
        if f.endswith('_0.png'))[:args.train_clips]
    val = sorted(
        osp.join(args.src, 'val', f)
        for f in os.listdir(osp.join(args.src, 'val')) if f.endswith('.png'))
    make_clips(train, osp.join(args.out, 'train'), args.frames, args.size,
               args.seed)
    make_clips(val, osp.join(args.out, 'val'), args.val_frames, args.size,
               args.seed + 1)
    print(f'{len(train)} train and {len(val)} val clips written to '
          f'{args.out}')


if __name__ == '__main__':
    main()
