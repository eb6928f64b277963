# Copyright (c) invtoolbox contributors. All rights reserved.
"""Code one image with a learned codec (InvCompress) into an ``.itb`` file,
and decode it back to a PNG.

``encode``: an 8-bit RGB image (PNG, JPEG, BMP, TIFF, WebP; grey and
palette images are converted to RGB) -> ``.itb``: the real bitstreams of
the model's entropy coder, the original size, the padding to the model's
multiple, the codec id and a fingerprint of the weights (see
``docs/invcompress_format.md``). ``decode``: ``.itb`` -> PNG of the
original size. Decoding needs the config and checkpoint that encoded the
file; other weights are refused (their entropy tables would decode
garbage).

Examples::

    python tools/codec.py encode \
        configs/invcompress/invcompress_q1_mse_flicker.py \
        invcompress_q1.pth kodim23.png kodim23.itb
    python tools/codec.py decode \
        configs/invcompress/invcompress_q1_mse_flicker.py \
        invcompress_q1.pth kodim23.itb kodim23_decoded.png

Each prints one line: the size in bytes (and the header's share), the bits
per pixel of the whole file and the coding time. Outputs are written to a
temporary file and renamed into place; an existing output is replaced only
with ``--overwrite``, the input never. Bad input (a missing file, an image
with alpha or 16 bits, a file that is not an image or not an ``.itb``, a
truncated or damaged ``.itb``, one made with other weights, a checkpoint
that does not fit the config) ends with one line on stderr and exit code 2.
"""
import argparse
import os
import sys

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

from invtoolbox.errors import InvToolboxError

EXIT_BAD_INPUT = 2


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT,
                  f'{self.prog}: error: {message} (see --help)\n')


def parse_args(argv=None):
    parser = OneLineArgumentParser(
        prog='codec.py',
        description='Encode an image into an .itb file with a learned '
        'codec (InvCompress), or decode an .itb file into a PNG.')
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p, inp, out):
        p.add_argument('config', help='model config file')
        p.add_argument('checkpoint', help='invtoolbox checkpoint (.pth)')
        p.add_argument('input', help=inp)
        p.add_argument('output', help=out)
        p.add_argument('--threads',
                       type=int,
                       default=None,
                       help='CPU threads for torch (default: torch\'s)')
        p.add_argument('--overwrite',
                       action='store_true',
                       help='replace an existing output file')

    enc = sub.add_parser('encode', help='image -> .itb')
    common(enc, 'image file (8-bit RGB, grey or palette)', 'output .itb file')
    enc.add_argument('--device',
                     default='cpu',
                     help='device of the network, e.g. cpu, cuda:0 '
                     '(decode runs on the CPU)')
    dec = sub.add_parser('decode', help='.itb -> PNG')
    common(dec, '.itb file written by encode', 'output PNG file')
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


def check_paths(args) -> None:
    """One-line errors before the model is built: a missing input or
    checkpoint, an existing output without --overwrite."""
    for what, path in (('input', args.input), ('config', args.config),
                       ('checkpoint', args.checkpoint)):
        if not os.path.exists(path):
            raise FileNotFoundError(f'{what} {path!r} not found.')
        if not os.path.isfile(path):
            raise ValueError(f'{what} {path!r} is not a file.')
    if os.path.exists(args.output) and not args.overwrite:
        raise FileExistsError(f'output {args.output!r} already exists; pass '
                              '--overwrite or choose another path.')


def run(args) -> int:
    import torch

    from invtoolbox.apis import init_model
    from invtoolbox.apis.codec_file import read_codec_file
    from invtoolbox.apis.codec_inference import (decode_image_file,
                                                 encode_image_file, read_rgb8)
    check_paths(args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # the input is checked before the (slow) model is built
    if args.command == 'encode':
        read_rgb8(args.input)
        device = args.device
    else:
        read_codec_file(args.input)
        device = 'cpu'
    try:
        model = init_model(args.config, args.checkpoint, device=device)
    except (KeyError, TypeError, SyntaxError, ImportError,
            AttributeError) as err:  # what a bad config file raises
        raise ValueError(f'cannot build the model of config {args.config!r} '
                         f'({type(err).__name__}: {err}); check the '
                         'config.') from None
    if args.command == 'encode':
        stats = encode_image_file(model, args.input, args.output)
        print(f"encoded {args.input} ({stats['width']}x{stats['height']}) "
              f"-> {args.output}: {stats['bytes']} bytes (header "
              f"{stats['header_bytes']}), {stats['bpp']:.4f} bpp, "
              f"{stats['seconds']:.2f} s")
    else:
        stats = decode_image_file(model, args.input, args.output)
        print(f"decoded {args.input} ({stats['bytes']} bytes, "
              f"{stats['bpp']:.4f} bpp) -> {args.output} "
              f"({stats['width']}x{stats['height']}), "
              f"{stats['seconds']:.2f} s")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (InvToolboxError, ValueError, OSError) as err:
        message = ' '.join(str(err).split()) or type(err).__name__
        print(f'codec.py: error: {message}', file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == '__main__':
    sys.exit(main())
