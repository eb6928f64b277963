# Copyright (c) invtoolbox contributors. All rights reserved.
"""Convert an official released checkpoint to an invtoolbox checkpoint.

Every arch of ``invtoolbox.apis.OFFICIAL_ARCHS`` converts (IRN, IRN+,
IRN-Color, CRM, SAIN, IICNet, and any family registered in
``invtoolbox.registry.CONVERTERS``, plugins included).

Writes ``{'meta': {...}, 'state_dict': {...}}`` with keys prefixed for the
model (``generator.``, ``restorer.``, ``discriminator.``), loadable with
``torch.load(DST, weights_only=True)`` and by
``invtoolbox.apis.init_model(CONFIG, DST)``. The file is written to a
temporary file first and renamed into place, so ``DST`` is never left
half-written.

Examples::

    python tools/model_converters/convert_official.py IRN_x4 IRN_x4.pth irn_x4.pth
    python tools/model_converters/convert_official.py IRN+_x4 IRN+_x4.pth irnp_x4.pth \\
        --discriminator 400000_D.pth
    python tools/model_converters/convert_official.py CRM_x2_q90 CRM_x2_q90.pth crm.pth \\
        --generator IRN_x2_finetune.pth

Run with ``--list`` to see the arch names and the file each one expects.
"""
import argparse
import datetime
import os
import sys

from invtoolbox.apis import (OFFICIAL_ARCHS, convert_official_to_model,
                             file_sha256, load_weights_only,
                             save_checkpoint_atomic)
from invtoolbox.version import __version__


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official released checkpoint (IRN, IRN+, '
        'IRN-Color, CRM, SAIN, IICNet, ...) to an invtoolbox checkpoint.')
    parser.add_argument('arch', nargs='?', help='official arch name (see --list)')
    parser.add_argument('src', nargs='?', help='official .pth file')
    parser.add_argument('dst', nargs='?', help='invtoolbox checkpoint to write')
    parser.add_argument(
        '--generator',
        help='CRM_x2_q90 only: the IRN generator file (IRN_x2_finetune.pth) '
        'to include, so the output holds the whole model')
    parser.add_argument(
        '--discriminator',
        help='IRN+_x4 only: an official discriminator file ({iter}_D.pth)')
    parser.add_argument(
        '--list', action='store_true', help='list the arch names and exit')
    return parser.parse_args(argv)


def list_archs() -> str:
    lines = []
    for name, spec in OFFICIAL_ARCHS.items():
        lines.append(f'{name:17s} {spec["checkpoint"]:22s} '
                     f'{spec["description"]}')
    return '\n'.join(lines)


def convert(arch, src, dst, generator=None, discriminator=None) -> str:
    """Convert and write; returns the written path."""
    if arch not in OFFICIAL_ARCHS:
        raise ValueError(f'unknown arch {arch!r}; choose one of '
                         f'{", ".join(OFFICIAL_ARCHS)} (see --list).')
    spec = OFFICIAL_ARCHS[arch]
    main = spec['main']
    extra = {'generator': generator, 'discriminator': discriminator}
    parts = {main: src}
    for part, path in extra.items():
        if path is None:
            continue
        if part == main or part not in spec['parts']:
            raise ValueError(f'--{part} does not apply to {arch} (its parts: '
                             f'{", ".join(spec["parts"])}; the main file '
                             f'{spec["checkpoint"]} is SRC).')
        parts[part] = path
    state_dicts = {}
    sources = {}
    for part, path in parts.items():
        state_dicts[part] = (load_weights_only(path, f'{part} file'),
                             os.path.basename(path))
        sources[part] = dict(
            file=os.path.basename(path), sha256=file_sha256(path))
    state_dict = convert_official_to_model(arch, **state_dicts)
    meta = dict(
        arch=arch,
        description=spec['description'],
        model=spec['model'],
        scale=spec['scale'],
        networks={p: dict(spec['parts'][p]['network']) for p in parts},
        sources=sources,
        converted_by=f'invtoolbox {__version__} '
        'tools/model_converters/convert_official.py',
        time=datetime.datetime.now().isoformat(timespec='seconds'))
    return save_checkpoint_atomic(
        dict(meta=meta, state_dict=state_dict), dst, protect=parts.values())


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        print(list_archs())
        return 0
    if not (args.arch and args.src and args.dst):
        print('convert_official.py: error: ARCH, SRC and DST are required '
              '(see --help, --list)', file=sys.stderr)
        return 2
    try:
        path = convert(args.arch, args.src, args.dst, args.generator,
                       args.discriminator)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f'convert_official.py: error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
