# Copyright (c) invtoolbox contributors. All rights reserved.
"""RAW compression with Invertible-ISP: how many bytes carry the RAW?

For every RAW file given, the model renders the RAW to a JPEG (quality 90,
4:2:2, with the RAW metadata comment; ``tools/infer.py render``), the RAW is
recovered from that JPEG (``tools/infer.py recover``), and the script
prints, per file and in total:

- the bytes of the original RAW file and of an uncompressed DNG of its
  mosaic (``write_dng``);
- the bytes of the JPEG that carries the RAW, its bits per RAW pixel and the
  compression ratio against the 16-bit mosaic (the paper's convention:
  16 / bpp) and against the original file;
- the RAW PSNR the recovery reaches (the network's RAW representation,
  float, MAX 1, as ``RAW/PSNR`` in the configs);
- for synthetic DNGs (written by ``make_synthetic_raw.py``, which know their
  pipeline), the analytic baseline at the same JPEG quality
  (:class:`SyntheticISPBaseline`): its bytes and RAW PSNR.

Lossy DNG (DNG 1.4 JPEG-compressed tiles) is not measured: tifffile writes
it only with the ``imagecodecs`` package, which invtoolbox does not depend
on, and the rawpy wheel's LibRaw did not read the compressed DNGs that could
be written without it (see docs/invisp.md).

Example (from the repository root)::

    python -m benchmarks.invisp_raw_compression configs/invisp/invisp_quickstart.py \
        work_dirs/invisp_quickstart/iter_300.pth \
        work_dirs/invisp_quickstart/synthetic_raw/val ../shared/data/raw
"""
import argparse
import sys
import tempfile
from pathlib import Path

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.invisp_raw_compression ...`')

import numpy as np  # noqa: E402
import torch  # noqa: E402

from invtoolbox.apis import init_model  # noqa: E402
from invtoolbox.apis.invisp_inference import (  # noqa: E402
    recover_raw_from_jpeg, render_raw_file, write_rendered_jpeg)
from invtoolbox.datasets.raw import (is_raw_file, read_raw,  # noqa: E402
                                     write_dng)
from invtoolbox.evaluation.functional import psnr  # noqa: E402
from invtoolbox.evaluation.metrics import SyntheticISPBaseline  # noqa: E402

SYNTHETIC = 'invtoolbox synthetic'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Bytes of the JPEG that carries the RAW vs the RAW file '
        'and an uncompressed DNG, with the RAW PSNR of the recovery.')
    parser.add_argument('config', help='an Invertible-ISP config')
    parser.add_argument('checkpoint', help='its trained checkpoint')
    parser.add_argument('inputs', nargs='+',
                        help='RAW files or folders of RAW files')
    parser.add_argument('--quality', type=int, default=90,
                        help='JPEG quality (default: 90)')
    parser.add_argument('--threads', type=int, default=2,
                        help='CPU threads (default: 2)')
    return parser.parse_args(argv)


def raw_files(inputs):
    files = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.iterdir()
                            if p.is_file() and is_raw_file(p.name))
        elif path.is_file():
            files.append(path)
        else:
            sys.exit(f'error: {path} not found.')
    if not files:
        sys.exit(f'error: no RAW files in {", ".join(inputs)}.')
    return files


def measure(model, path, quality, folder):
    bayer, meta = read_raw(path)
    rendered = render_raw_file(model, path, quality=quality)
    jpeg = folder / (path.stem + '.jpg')
    write_rendered_jpeg(rendered, jpeg)
    recovered = recover_raw_from_jpeg(model, jpeg)
    dng = folder / (path.stem + '.dng')
    write_dng(dng, bayer, meta, overwrite=True)
    pixels = bayer.size
    row = dict(
        name=path.name, pixels=pixels, raw_bytes=path.stat().st_size,
        dng_bytes=dng.stat().st_size, jpeg_bytes=len(rendered.data),
        raw_psnr=psnr(torch.from_numpy(rendered.raw),
                      torch.from_numpy(recovered.raw), max_value=1.0,
                      quantize=False))
    if meta.camera.startswith(SYNTHETIC):
        baseline = SyntheticISPBaseline(quality=quality)
        _, back, size = baseline.baseline(rendered.raw.astype(np.float64),
                                          meta)
        row['base_bytes'] = size
        row['base_psnr'] = psnr(torch.from_numpy(rendered.raw),
                                torch.from_numpy(back).float(),
                                max_value=1.0, quantize=False)
    return row


def table(rows, quality):
    lines = [
        f'| file | RAW file (B) | DNG (B) | JPEG q{quality} (B) | bpp | '
        'ratio vs 16-bit | ratio vs RAW file | RAW PSNR (dB) | baseline JPEG '
        '(B) | baseline RAW PSNR (dB) |',
        '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        bpp = 8.0 * r['jpeg_bytes'] / r['pixels']
        base = (f"{r['base_bytes']:,} | {r['base_psnr']:.2f}"
                if 'base_bytes' in r else '- | -')
        lines.append(
            f"| {r['name']} | {r['raw_bytes']:,} | {r['dng_bytes']:,} | "
            f"{r['jpeg_bytes']:,} | {bpp:.3f} | {16 / bpp:.1f} | "
            f"{r['raw_bytes'] / r['jpeg_bytes']:.1f} | "
            f"{r['raw_psnr']:.2f} | {base} |")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    files = raw_files(args.inputs)
    model = init_model(args.config, args.checkpoint).eval()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(model, p, args.quality, Path(tmp)) for p in files]
    print(f'RAW compression by Invertible-ISP ({args.config}, '
          f'{args.checkpoint}), CPU, {args.threads} threads')
    print(table(rows, args.quality))
    return 0


if __name__ == '__main__':
    sys.exit(main())
