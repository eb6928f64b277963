# Copyright (c) invtoolbox contributors. All rights reserved.
"""IRN vs SAIN under real JPEG: equal CPU training budgets, one command.

For each config (default: the IRN x2 and SAIN x2 quick starts on the bundled
demo set) the script

1. **calibrates**: trains a few iterations and measures the CPU time per
   iteration (``time.process_time``, all threads of the process);
2. **trains** for ``budget / time-per-iteration`` iterations, i.e. the same
   CPU budget for every model, with the config's own schedule stretched to
   that length (``max_iters``, ``T_max`` of a cosine schedule, milestones
   scaled);
3. **evaluates** on a folder of HR images (default: Kodak, 24 images): the
   model's quantised LR goes through real JPEG (Pillow, 4:2:0) at each
   quality factor, is upscaled, and compared with the HR image (Y-PSNR,
   crop = scale). bpp = JPEG bytes * 8 / HR pixels.

Baselines on the same images: bicubic down -> JPEG -> bicubic up, and plain
JPEG of the full-resolution image at the same bpp (interpolated on each
image's own rate-distortion curve, Pillow quality 1..100).

It prints a markdown table and writes a rate-distortion plot (PNG) and a
JSON file with every number (from the repository root)::

    python -m benchmarks.compare_codec_robustness --budget-min 10 \\
        --plot docs/figures/irn_vs_sain_kodak_jpeg.png

Use one thread per process (``--threads 1``, default) for numbers that do
not depend on the machine's load; on the CPU the budget is CPU time, not
wall time. With ``--device cuda`` the models train and run on the GPU and
the budget is wall time with ``torch.cuda.synchronize`` around each
iteration (``benchmarks.profiling.Stopwatch``).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.compare_codec_robustness ...`')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.profiling import REPO_ROOT  # noqa: E402
from benchmarks.profiling import SHARED_ROOT as SHARED  # noqa: E402
from benchmarks.profiling import (Stopwatch, add_device_argument,  # noqa: E402
                                  device_label, resolve_device)
DEFAULT_CONFIGS = [
    'IRN=configs/irn/irn_x2_quickstart.py',
    'SAIN=configs/sain/sain_x2_jpeg_quickstart.py',
]
IMAGE_SUFFIXES = ('.png', '.bmp', '.jpg', '.jpeg', '.tif', '.tiff')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train rescaling models for equal CPU budgets, then '
        'compare their reconstruction when the LR goes through real JPEG.')
    parser.add_argument(
        '--configs', nargs='+', default=DEFAULT_CONFIGS,
        help='NAME=CONFIG pairs (default: IRN and SAIN x2 quick starts)')
    parser.add_argument(
        '--budget-min', type=float, default=10.,
        help='minutes of training per model (default: 10): CPU time on the '
        'CPU, synchronised wall time on CUDA')
    parser.add_argument(
        '--calib-iters', type=int, default=8,
        help='iterations of the calibration run; the median CPU time of '
        'all but the first two sets the iteration count')
    parser.add_argument(
        '--eval-dir', default=str(SHARED / 'data' / 'kodak'),
        help='folder of HR test images (default: ../shared/data/kodak)')
    parser.add_argument('--max-images', type=int, default=None,
                        help='evaluate on the first N images only')
    parser.add_argument(
        '--qualities', type=int, nargs='+',
        default=[30, 40, 50, 60, 70, 80, 90],
        help='JPEG quality factors of the LR (default: 30..90 step 10)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (default: 1)')
    parser.add_argument('--work-dir', default=None,
                        help='where the runs are written (default: a '
                        'temporary folder)')
    parser.add_argument('--plot', default=None,
                        help='write the rate-distortion plot to this PNG')
    parser.add_argument('--json', default=None,
                        help='write all numbers to this JSON file')
    parser.add_argument('--seed', type=int, default=0)
    add_device_argument(parser)
    return parser.parse_args(argv)


def fail(message: str) -> None:
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------
def stretch_schedule(cfg, max_iters: int) -> None:
    """Set ``max_iters`` and fit the config's LR schedule to it."""
    old = int(cfg.train_cfg.max_iters)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters + 1  # no validation
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for sched in schedulers:
        if 'T_max' in sched:
            sched['T_max'] = max_iters
        if 'milestones' in sched:
            sched['milestones'] = [
                max(1, round(m * max_iters / old)) for m in sched['milestones']
            ]
        if 'end' in sched and sched.get('end', 0) >= old:
            sched['end'] = max_iters
    hooks = cfg.get('default_hooks', {})
    if 'checkpoint' in hooks:
        hooks['checkpoint'] = dict(
            type='CheckpointHook', interval=max_iters, by_epoch=False,
            max_keep_ckpts=1, save_last=False)
    if 'logger' in hooks:
        hooks['logger']['interval'] = max(1, max_iters // 10)
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h.get('type') != 'VisualizationHook'
    ]


def budget_clock(device) -> str:
    """What the budget counts on ``device``."""
    return ('CPU' if torch.device(device).type == 'cpu' else
            'wall (CUDA-synchronised)')


def train(config: str, name: str, max_iters: int, work_dir: str,
          seed: int, device='cpu'):
    """Train ``config`` for ``max_iters`` on ``device``; return (model,
    seconds of the whole run, seconds of each iteration): CPU time of the
    process on the CPU, synchronised wall time on CUDA."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(REPO_ROOT / config))
    stretch_schedule(cfg, max_iters)
    cfg.work_dir = str(Path(work_dir) / f'{name}_{max_iters}')
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    cfg.experiment_name = f'{name}_{max_iters}_{time.time_ns()}'
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)  # configs name demo/data relative to the repo
    try:
        runner = Runner.from_cfg(cfg)
        # mmengine puts the model on the GPU whenever there is one: --device
        # decides (in place, before the optimiser is built in train())
        runner.model.to(device)
        loop = runner.train_loop
        steps: List[float] = []
        run_iter = loop.run_iter

        def timed_run_iter(data_batch):
            with Stopwatch(device, clock=time.process_time) as iteration:
                run_iter(data_batch)
            steps.append(iteration.seconds)

        loop.run_iter = timed_run_iter
        with Stopwatch(device, clock=time.process_time) as watch:
            runner.train()
    finally:
        os.chdir(cwd)
    model = runner.model
    model.eval()
    return model, watch.seconds, steps


# ---------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------
def load_images(folder: str, max_images=None) -> List[np.ndarray]:
    root = Path(folder)
    if not root.is_dir():
        fail(f'evaluation folder {root} not found; pass --eval-dir DIR '
             '(a folder of HR images, e.g. ../shared/data/kodak)')
    files = sorted(p for p in root.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        fail(f'no images in {root}')
    files = files[:max_images] if max_images else files
    return [np.array(Image.open(p).convert('RGB')) for p in files]


def jpeg_roundtrip(img: np.ndarray, quality: int):
    """uint8 HWC RGB -> (decoded uint8, bytes), Pillow defaults (4:2:0)."""
    buffer = io.BytesIO()
    Image.fromarray(img).save(buffer, format='JPEG', quality=int(quality))
    size = buffer.tell()
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert('RGB')), size


def y_psnr(a: np.ndarray, b: np.ndarray, crop: int) -> float:
    from invtoolbox.evaluation.functional import psnr
    return float(psnr(a, b, crop_border=crop, test_y_channel=True))


def to_uint8(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    return (t.clamp(0, 1) * 255.).round().byte().permute(1, 2, 0).numpy()


def evaluate_model(model, images, qualities, scale,
                   device='cpu') -> Dict[int, dict]:
    from invtoolbox.models.degradations import RealJPEG
    from invtoolbox.utils import modcrop
    out = {}
    for q in qualities:
        codec = RealJPEG(quality=q)
        psnrs, bpps = [], []
        for img in images:
            hr = modcrop(img, scale)
            x = torch.from_numpy(np.ascontiguousarray(hr)).permute(
                2, 0, 1)[None].float().div(255.).to(device)
            with torch.no_grad():
                lr = model.downscale(x)
                coded = codec.code(lr)
                rec = model.upscale(coded.images).clamp(0, 1)[0]
            psnrs.append(y_psnr(to_uint8(rec), hr, scale))
            bpps.append(coded.bpp(hr.shape[0] * hr.shape[1])[0])
        out[q] = dict(psnr=float(np.mean(psnrs)), bpp=float(np.mean(bpps)),
                      psnr_per_image=psnrs, bpp_per_image=bpps)
    return out


def evaluate_bicubic(images, qualities, scale) -> Dict[int, dict]:
    from invtoolbox.utils import imresize, modcrop
    out = {}
    for q in qualities:
        psnrs, bpps = [], []
        for img in images:
            hr = modcrop(img, scale)
            lr = np.clip(np.round(imresize(hr.astype(np.float64),
                                           1. / scale)), 0, 255).astype(
                                               np.uint8)
            dec, size = jpeg_roundtrip(lr, q)
            up = np.clip(np.round(imresize(dec.astype(np.float64), scale)),
                         0, 255).astype(np.uint8)
            psnrs.append(y_psnr(up, hr, scale))
            bpps.append(8. * size / (hr.shape[0] * hr.shape[1]))
        out[q] = dict(psnr=float(np.mean(psnrs)), bpp=float(np.mean(bpps)))
    return out


def jpeg_curves(images, scale) -> List[tuple]:
    """Per image: (bpp array, Y-PSNR array) of full-resolution JPEG at
    quality 1..100 (crop = scale, as for the models)."""
    from invtoolbox.utils import modcrop
    curves = []
    for img in images:
        hr = modcrop(img, scale)
        bpp, ps = [], []
        for q in range(1, 101):
            dec, size = jpeg_roundtrip(hr, q)
            bpp.append(8. * size / (hr.shape[0] * hr.shape[1]))
            ps.append(y_psnr(dec, hr, scale))
        order = np.argsort(bpp)
        curves.append((np.asarray(bpp)[order], np.asarray(ps)[order]))
    return curves


def jpeg_at(curves, bpp_per_image: Sequence[float]) -> float:
    """Mean Y-PSNR of full-resolution JPEG at each image's given bpp."""
    return float(np.mean([
        np.interp(b, c[0], c[1]) for c, b in zip(curves, bpp_per_image)
    ]))


def plot(results, bicubic, curves, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    mean_bpp, mean_psnr = [], []
    for q in range(1, 101):  # the mean JPEG curve over the images, by quality
        mean_bpp.append(np.mean([c[0][q - 1] for c in curves]))
        mean_psnr.append(np.mean([c[1][q - 1] for c in curves]))
    xmax = 1.5 * max(r['bpp'] for res in results.values()
                     for r in res.values())
    keep = [i for i, b in enumerate(mean_bpp) if b <= xmax]
    ax.plot([mean_bpp[i] for i in keep], [mean_psnr[i] for i in keep],
            color='0.5', lw=1.5, label='JPEG, full resolution')
    qs = sorted(bicubic)
    ax.plot([bicubic[q]['bpp'] for q in qs], [bicubic[q]['psnr'] for q in qs],
            'k--', marker='.', label='bicubic down/up + JPEG LR')
    for name, res in results.items():
        qs = sorted(res)
        ax.plot([res[q]['bpp'] for q in qs], [res[q]['psnr'] for q in qs],
                marker='o', label=f'{name} + JPEG LR')
        for q in (qs[0], qs[-1]):
            ax.annotate(f'Q{q}', (res[q]['bpp'], res[q]['psnr']),
                        textcoords='offset points', xytext=(4, -10),
                        fontsize=7)
    ax.set_xlabel('bits per HR pixel')
    ax.set_ylabel('Y-PSNR (dB), crop = scale')
    ax.set_xlim(0, xmax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title('Kodak, x2: reconstruction vs rate of the JPEG LR')
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    from invtoolbox.apis import checkpoint_io
    checkpoint_io.write_file_atomic(
        path, lambda f: fig.savefig(f, format='png'))
    plt.close(fig)


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = resolve_device(args.device)
    clock = budget_clock(device)
    torch.set_num_threads(args.threads)
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    pairs = []
    for item in args.configs:
        if '=' not in item:
            fail(f'--configs takes NAME=CONFIG pairs, got {item!r}')
        name, config = item.split('=', 1)
        if not (REPO_ROOT / config).is_file():
            fail(f'config {config} not found (relative to {REPO_ROOT})')
        pairs.append((name, config))
    images = load_images(args.eval_dir, args.max_images)
    work = args.work_dir or tempfile.mkdtemp(prefix='codec_robustness_')
    budget = 60. * args.budget_min
    results, runs = {}, {}
    for name, config in pairs:
        _, _, steps = train(config, name, args.calib_iters, work, args.seed,
                            device)
        steady = steps[2:] or steps  # the first iterations warm up
        per_iter = float(np.median(steady))
        iters = max(1, int(budget / per_iter))
        print(f'{name}: {per_iter:.3f} {clock} s/iter (calibration) -> '
              f'{iters} iterations', flush=True)
        model, seconds, steps = train(config, name, iters, work, args.seed,
                                      device)
        scale = int(model.scale)
        runs[name] = dict(config=config, iterations=iters,
                          train_cpu_s=round(seconds, 1),
                          iterations_cpu_s=round(float(sum(steps)), 1),
                          scale=scale)
        print(f'{name}: trained {iters} iterations in {seconds / 60:.1f} '
              f'{clock} min; evaluating', flush=True)
        results[name] = evaluate_model(model, images, args.qualities, scale,
                                       device)
    scale = next(iter(runs.values()))['scale']
    bicubic = evaluate_bicubic(images, args.qualities, scale)
    curves = jpeg_curves(images, scale)
    names = list(results)
    header = ['JPEG QF of the LR'] + [
        f'{n} Y-PSNR / bpp' for n in names
    ] + ['bicubic+JPEG'] + [f'JPEG full-res @ {n} bpp' for n in names]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for q in args.qualities:
        row = [str(q)]
        row += [f'{results[n][q]["psnr"]:.2f} / {results[n][q]["bpp"]:.3f}'
                for n in names]
        row.append(f'{bicubic[q]["psnr"]:.2f} / {bicubic[q]["bpp"]:.3f}')
        row += [f'{jpeg_at(curves, results[n][q]["bpp_per_image"]):.2f}'
                for n in names]
        lines.append('| ' + ' | '.join(row) + ' |')
    table = '\n'.join(lines)
    print()
    for name, run in runs.items():
        print(f'{name}: {run["config"]}, {run["iterations"]} iterations, '
              f'{run["iterations_cpu_s"] / 60:.1f} {clock} min in the '
              f'iterations ({run["train_cpu_s"] / 60:.1f} with start-up)')
    label = device_label(device, args.threads)
    print(f'{len(images)} images from {args.eval_dir}; trained and '
          f'evaluated on {label}\n')
    print(table)
    summary = dict(runs=runs, images=len(images), eval_dir=args.eval_dir,
                   qualities=args.qualities, budget_min=args.budget_min,
                   threads=args.threads, device=label, budget_clock=clock,
                   results={n: {q: dict(psnr=r['psnr'], bpp=r['bpp'])
                                for q, r in res.items()}
                            for n, res in results.items()},
                   bicubic=bicubic,
                   jpeg_full_res_at_same_bpp={
                       n: {q: jpeg_at(curves, r['bpp_per_image'])
                           for q, r in res.items()}
                       for n, res in results.items()
                   },
                   table=table)
    if args.plot:
        plot(results, bicubic, curves, args.plot)
        print(f'\nplot written to {args.plot}')
    if args.json:
        from invtoolbox.apis import checkpoint_io
        data = json.dumps(summary, indent=1).encode()
        checkpoint_io.write_file_atomic(args.json, lambda f: f.write(data))
        print(f'numbers written to {args.json}')
    return summary


if __name__ == '__main__':
    main()
