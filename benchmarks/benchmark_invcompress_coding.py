# Copyright (c) invtoolbox contributors. All rights reserved.
"""Encode and decode time of InvCompress on one image: the wavefront
context coder against the official raster loop, in one run.

Both rows use the same network, weights, hyperprior and entropy coder
(constriction ANS with the Gaussian conditional's 16-bit tables); they
differ only in how the context model and the entropy-parameter network are
evaluated while ``y`` is coded:

* ``serial (official loop)``: :class:`SerialContextCoder`, the official
  ``_compress_ar`` / ``_decompress_ar`` re-stated (raster order, the masked
  5x5 convolution and the 1x1 network on one position at a time);
* ``wavefront (invtoolbox)``: :class:`WavefrontContextCoder`, positions
  with equal ``3 * row + col`` computed together.

Columns: the time of coding ``y`` alone (encode / decode) and of the whole
``compress`` / ``decompress`` (analysis or synthesis transform, hyperprior,
``z`` and ``y``), the bytes of ``y``, and whether the decoded symbols equal
the serial loop's (they must). Times are medians of ``--repeats`` runs
after one warm-up; the ratio column is serial / wavefront of the same run.

The network is the official quality-1 architecture (N = 128) with the
reference vectors' keyed weights when ``--vectors`` exists (not trained;
their scales are realistic enough to code a real image), else seeded
random weights.

Usage (from the repository root)::

    python -m benchmarks.benchmark_invcompress_coding [--image PNG]
        [--threads 1] [--repeats 3] [--crop 0] [--json OUT]
"""
import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

if __name__ == '__main__' and not __package__:
    sys.exit('error: run this from the repository root as '
             '`python -m benchmarks.benchmark_invcompress_coding ...`')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.profiling import write_json  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = REPO.parent / 'shared' / 'data' / 'kodak' / 'kodim23.png'
DEFAULT_VECTORS = REPO.parent / 'shared' / 'vectors' / 'invcompress.pt'


def build_network(vectors: Path, seed: int = 0):
    """The official q1 network: keyed vector weights, or seeded random."""
    from invtoolbox.apis import convert_official_checkpoint
    from invtoolbox.models.editors.invcompress import InvCompressNet
    torch.manual_seed(seed)
    net = InvCompressNet(N=128)
    source = 'random (seeded) weights'
    if vectors.exists():
        d = torch.load(vectors, weights_only=True)
        spec = importlib.util.spec_from_file_location(
            'keyed_weights', vectors.parent / 'keyed_weights.py')
        keyed = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(keyed)
        sd = keyed.materialize(d['weights_recipe'], d['seed'],
                               d['state_dict'])
        net.load_state_dict(convert_official_checkpoint('InvCompress_q1', sd))
        source = f'keyed weights of {vectors.name}'
    else:
        net.update(force=True)
    return net.eval(), source


def load_image(path: Path, crop: int) -> torch.Tensor:
    img = np.asarray(Image.open(path).convert('RGB'))
    if crop:
        img = img[:crop, :crop]
    h, w = img.shape[:2]
    img = img[:h // 64 * 64, :w // 64 * 64]
    return torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float() / 255


def _median_time(fn, repeats):
    fn()  # warm-up
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def measure(net, x, coder_cls, repeats):
    """Times of coding y alone and of the whole compress / decompress."""
    from invtoolbox.models.entropy_models import AnsDecoder, AnsEncoder
    with torch.no_grad():
        y = net.g_a(x)
        z = net.h_a(y)
        z_strings = net.entropy_bottleneck.compress(z)
        z_hat = net.entropy_bottleneck.decompress(z_strings, z.shape[-2:])
        params = net.h_s(z_hat)
    coder = coder_cls(net.context_prediction, net.entropy_parameters,
                      net.gaussian_conditional)

    def encode():
        encoder = AnsEncoder()
        coder.encode(y, params, encoder)
        return encoder.finish()

    def decode():
        decoder = AnsDecoder(data)
        out = coder.decode(params, decoder)
        decoder.finish()
        return out

    t_enc, data = _median_time(encode, repeats)
    t_dec, y_hat = _median_time(decode, repeats)

    def full_encode():
        y = net.g_a(x)
        z = net.h_a(y)
        zs = net.entropy_bottleneck.compress(z)
        zh = net.entropy_bottleneck.decompress(zs, z.shape[-2:])
        encoder = AnsEncoder()
        coder.encode(y, net.h_s(zh), encoder)
        return [[encoder.finish()], zs]

    def full_decode():
        zh = net.entropy_bottleneck.decompress(strings[1], z.shape[-2:])
        decoder = AnsDecoder(strings[0][0])
        y_hat = coder.decode(net.h_s(zh), decoder)
        return net.g_s(y_hat).clamp(0, 1)

    with torch.no_grad():
        t_full_enc, strings = _median_time(full_encode, repeats)
        t_full_dec, _ = _median_time(full_decode, repeats)
    return dict(encode_y=t_enc, decode_y=t_dec, compress=t_full_enc,
                decompress=t_full_dec, y_bytes=len(data), y_hat=y_hat)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--image', type=Path, default=DEFAULT_IMAGE)
    parser.add_argument('--vectors', type=Path, default=DEFAULT_VECTORS)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--crop', type=int, default=0,
                        help='code only the top-left CROP x CROP pixels '
                        '(0: the whole image)')
    parser.add_argument('--json', type=Path, default=None)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.image.exists():
        print(f'error: {args.image} does not exist; pass --image with a '
              'PNG (e.g. a Kodak image)', file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    from invtoolbox.models.entropy_models import (SerialContextCoder,
                                                  WavefrontContextCoder)
    net, source = build_network(args.vectors)
    x = load_image(args.image, args.crop)
    rows = {}
    for name, cls in (('serial (official loop)', SerialContextCoder),
                      ('wavefront (invtoolbox)', WavefrontContextCoder)):
        rows[name] = measure(net, x, cls, args.repeats)
    serial, wave = rows.values()
    # a different symbol moves y_hat by >= 1; the means differ by round-off
    same = float((serial['y_hat'] - wave['y_hat']).abs().max()) < 1e-3
    h, w = x.shape[-2:]
    print(f'InvCompress q1 (N = 128, {source}), {args.image.name} '
          f'{w}x{h} (y {w // 16}x{h // 16}), {args.threads} thread(s), '
          f'median of {args.repeats}')
    print()
    print('| coder | encode y (s) | decode y (s) | compress (s) | '
          'decompress (s) | y bytes | same symbols |')
    print('|---|---|---|---|---|---|---|')
    for name, r in rows.items():
        print(f"| {name} | {r['encode_y']:.3f} | {r['decode_y']:.3f} | "
              f"{r['compress']:.3f} | {r['decompress']:.3f} | "
              f"{r['y_bytes']:,} | {'reference' if r is serial else same} |")
    ratio = {k: serial[k] / wave[k]
             for k in ('encode_y', 'decode_y', 'compress', 'decompress')}
    print(f"| speed-up (serial / wavefront) | {ratio['encode_y']:.1f}x | "
          f"{ratio['decode_y']:.1f}x | {ratio['compress']:.1f}x | "
          f"{ratio['decompress']:.1f}x | | |")
    if args.json:
        write_json(args.json, dict(
            image=str(args.image), size=[h, w], threads=args.threads,
            weights=source, same_symbols=same, speedup=ratio,
            rows={k: {m: v for m, v in r.items() if m != 'y_hat'}
                  for k, r in rows.items()}))
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
