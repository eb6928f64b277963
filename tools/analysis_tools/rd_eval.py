# Copyright (c) invtoolbox contributors. All rights reserved.
"""Rate-distortion evaluation in one command: learned codecs, real-codec
baselines and published curves on a folder of PNG images.

Every PNG in DATA_DIR (sorted by name) is coded as a real bitstream by each
codec at each setting; the tool prints the RD table and the BD-rate matrix
(PSNR and, for images of at least 161 x 161 pixels, MS-SSIM in dB; pchip
Bjontegaard deltas, rows: test, columns: anchor) and writes
``OUT_DIR/rd.json`` (every point, per-image values too), ``OUT_DIR/rd.png``
(PSNR and MS-SSIM vs bpp; needs matplotlib) and ``OUT_DIR/bd_rate.md``.
See :mod:`invtoolbox.evaluation.rate_distortion` for how bpp, PSNR and
MS-SSIM are measured (CompressAI's conventions, on the 8-bit output).

- ``--model LABEL CONFIG CKPT`` (repeatable): one point per checkpoint;
  points with the same LABEL form one curve. Each image goes through
  :func:`invtoolbox.apis.codec_inference.roundtrip_image` (a real ``.itb``
  file).
- ``--baselines`` (default: jpeg420 jpeg444 webp; ``--baselines`` alone for
  none): Pillow codecs; ``avif`` is skipped with a note where Pillow lacks
  it. ``--baseline-qualities jpeg420=10,50,90`` replaces a default sweep.
- ``--reference-curve LABEL JSON`` / ``--reference-json JSON``
  (repeatable): a published curve, drawn and compared but not run (e.g.
  ``configs/invcompress/official_kodak.json``); its ``note`` is printed.
  Layouts: see :func:`invtoolbox.evaluation.rate_distortion.load_reference_curve`.

Examples::

    python tools/analysis_tools/rd_eval.py ../shared/data/kodak \\
        --out-dir work_dirs/rd_kodak --baselines jpeg420 jpeg444 webp avif \\
        --model InvCompress \\
            configs/invcompress/invcompress_q1_mse_flicker.py q1.pth \\
        --model InvCompress \\
            configs/invcompress/invcompress_q8_mse_flicker.py q8.pth \\
        --reference-curve 'InvCompress (paper)' \\
            configs/invcompress/official_kodak.json
    python tools/analysis_tools/rd_eval.py DIR --out-dir OUT --max-images 4 \\
        --baseline-qualities jpeg420=10,30,50,70,90

Bad input (missing or empty folder, unreadable image, unknown baseline, bad
quality list, unreadable reference) ends with exit code 2 and one line on
stderr.
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

DEFAULT_BASELINES = ('jpeg420', 'jpeg444', 'webp')


class InputError(ValueError):
    """Bad command-line input: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors on one stderr line (exit code 2)."""

    def error(self, message):
        self.exit(2, f'error: {message} (see --help)\n')


def parse_args(argv=None):
    parser = OneLineParser(
        description='Rate-distortion evaluation (bpp / PSNR / MS-SSIM, '
        'BD-rate) of learned codecs, real-codec baselines and published '
        'curves on a folder of PNG images.')
    parser.add_argument('data_dir', help='folder of PNG images')
    parser.add_argument(
        '--out-dir', required=True,
        help='where rd.json, rd.png and bd_rate.md are written')
    parser.add_argument(
        '--model', nargs=3, action='append', default=[],
        metavar=('LABEL', 'CONFIG', 'CKPT'),
        help='a learned codec checkpoint (repeat; same LABEL = one curve)')
    parser.add_argument(
        '--baselines', nargs='*', default=list(DEFAULT_BASELINES),
        metavar='NAME',
        help='baseline codecs: jpeg420 jpeg444 webp avif (default: '
        f'{" ".join(DEFAULT_BASELINES)}; give the flag alone for none)')
    parser.add_argument(
        '--baseline-qualities', nargs='+', action='extend', default=[],
        metavar='NAME=Q1,Q2,...',
        help='replace the default quality sweep of a baseline, e.g. '
        'jpeg420=10,50,90')
    parser.add_argument(
        '--reference-curve', nargs=2, action='append', default=[],
        metavar=('LABEL', 'JSON'),
        help='a published RD curve (not run), e.g. the official '
        'InvCompress Kodak table')
    parser.add_argument(
        '--reference-json', action='append', default=[], metavar='JSON',
        help='a published RD curve labelled by its own "name"')
    parser.add_argument(
        '--max-images', type=int, default=None, metavar='N',
        help='use only the first N images (sorted by name)')
    parser.add_argument(
        '--method', choices=['pchip', 'cubic'], default='pchip',
        help='Bjontegaard interpolation (default: pchip)')
    parser.add_argument(
        '--device', default='cpu', help='device of the learned codecs')
    return parser.parse_args(argv)


def load_images(folder: Path, max_images=None):
    """Every PNG of ``folder`` (sorted) as ``[(name, uint8 (H, W, 3))]``."""
    from invtoolbox.utils import read_image
    if not folder.is_dir():
        raise InputError(f'data folder {folder} not found; pass a folder of '
                         'PNG images (e.g. ../shared/data/kodak)')
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() == '.png' and p.is_file())
    if not files:
        raise InputError(f'no PNG images in {folder}; pass a folder of PNG '
                         'images')
    if max_images is not None:
        if max_images < 1:
            raise InputError(f'--max-images must be >= 1, got {max_images}')
        files = files[:max_images]
    images = []
    for path in files:
        try:  # as training reads it: EXIF, 16-bit rounded, alpha on white
            images.append((path.name, read_image(path)))
        except (OSError, ValueError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(
                err).__name__
            raise InputError(f'cannot read image {path} ({reason}); remove '
                             'it or replace it with a valid PNG') from None
    return images


def parse_baseline_qualities(items, baselines):
    """``['jpeg420=10,50,90', ...]`` -> ``{'jpeg420': [10, 50, 90]}``."""
    from invtoolbox.evaluation.rate_distortion import get_baseline
    out = {}
    for item in items:
        name, sep, values = item.partition('=')
        if not sep or not values:
            raise InputError(f'--baseline-qualities {item!r}: expected '
                             'NAME=Q1,Q2,... (e.g. jpeg420=10,50,90)')
        codec = get_baseline(name)
        try:
            qualities = [int(v) for v in values.split(',')]
        except ValueError:
            raise InputError(f'--baseline-qualities {item!r}: the qualities '
                             'must be integers separated by commas') from None
        for q in qualities:
            codec.check_quality(q)
        if name not in baselines:
            raise InputError(f'--baseline-qualities {item!r}: {name} is not '
                             'among --baselines; add it there')
        out[name] = qualities
    return out


def run(args):
    from invtoolbox.apis.checkpoint_io import write_file_atomic
    from invtoolbox.evaluation.rate_distortion import (
        evaluate_codec, evaluate_learned_codec, format_bd_rate_matrix,
        format_rd_table, get_baseline, load_reference_curve, plot_rd,
        save_rd_json)

    for name in args.baselines:
        get_baseline(name)  # unknown names fail before any work
    if len(set(args.baselines)) != len(args.baselines):
        raise InputError(f'--baselines lists a codec twice: '
                         f'{" ".join(args.baselines)}')
    overrides = parse_baseline_qualities(args.baseline_qualities,
                                         args.baselines)
    references = []  # (label, points, note)
    for label, path in args.reference_curve:
        references.append(load_reference_curve(path, label))
    for path in args.reference_json:
        references.append(load_reference_curve(path))
    for _, config, ckpt in args.model:
        for kind, path in (('config', config), ('checkpoint', ckpt)):
            if not Path(path).is_file():
                raise InputError(f'--model {kind} {path} not found')
    if args.model:
        try:
            import invtoolbox.apis.codec_inference  # noqa: F401
        except ImportError as err:
            raise InputError(f'--model needs invtoolbox.apis.codec_inference'
                             f' ({err}); update invtoolbox') from None
    images = load_images(Path(args.data_dir), args.max_images)
    names = [name for name, _ in images]
    arrays = [img for _, img in images]
    sizes = sorted({f'{a.shape[1]}x{a.shape[0]}' for a in arrays})
    print(f'rd_eval: {len(arrays)} images from {args.data_dir} '
          f'({", ".join(sizes)})')

    curves, notes = {}, []
    models = {}
    for label, config, ckpt in args.model:
        models.setdefault(label, []).append((config, ckpt))
    for label, checkpoints in models.items():
        print(f'  {label}: {len(checkpoints)} checkpoint(s)')
        curves[label] = evaluate_learned_codec(
            arrays, checkpoints, label, device=args.device, names=names)
    for name in args.baselines:
        codec = get_baseline(name)
        if not codec.available:
            notes.append(f'{name}: skipped, this Pillow has no '
                         f'{codec.feature} support')
            print(f'  {notes[-1]}')
            continue
        qualities = overrides.get(name, list(codec.qualities))
        print(f'  {name}: qualities {",".join(map(str, qualities))}')
        curves[name] = evaluate_codec(
            arrays, codec, qualities, label=name, names=names)
    for label, points, note in references:
        if label in curves:
            raise InputError(f'reference curve label {label!r} is already '
                             'used by another curve; pick another label')
        curves[label] = points
        notes.append(f'{label}: published curve, not run here' +
                     (f'; {note}' if note else ''))
    if not curves:
        raise InputError('nothing to evaluate: pass --model, --baselines or '
                         '--reference-curve')
    if min(min(a.shape[:2]) for a in arrays) < 161:
        notes.append('MS-SSIM not measured: it needs images of at least '
                     '161 x 161 pixels')

    table = format_rd_table(curves)
    matrix = format_bd_rate_matrix(curves, method=args.method)
    print()
    print(table)
    print()
    print(matrix)
    for note in notes:
        print(f'note: {note}')

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_rd_json(
        curves, out_dir / 'rd.json',
        extra=dict(
            data_dir=str(args.data_dir),
            images=names,
            bd_method=args.method,
            notes=notes))
    md = ['# Rate-distortion evaluation', '',
          f'{len(arrays)} images from `{args.data_dir}`.', '', table, '',
          matrix]
    if notes:
        md += ['Notes:', ''] + [f'- {n}' for n in notes] + ['']
    text = '\n'.join(md).encode()
    write_file_atomic(out_dir / 'bd_rate.md', lambda f: f.write(text))
    try:
        plot_rd(curves, out_dir / 'rd.png',
                title=f'{Path(args.data_dir).name} ({len(arrays)} images)')
        plotted = 'rd.png, '
    except ImportError as err:
        print(f'note: {err}; rd.png not written')
        plotted = ''
    print(f'wrote {out_dir}/{{rd.json, {plotted}bd_rate.md}}')
    return 0


def main(argv=None):
    args = parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError) as err:
        message = ' '.join(str(err).split())
        print(f'error: {message}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
