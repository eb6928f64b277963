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

Any other part of an arch's model is given as ``--part PART=FILE``
(``--generator F`` / ``--discriminator F`` are ``--part generator=F`` /
``--part discriminator=F``). A release of several files that converts as one
network (``convert_official_checkpoint(arch, {'encoder': sd, 'decoder':
sd})``) is given as ``SRC = encoder=ENC.pth,decoder=DEC.pth`` (the same form
works for ``--part``).

Run with ``--list`` to see the arch names and the file each one expects.
"""
import argparse
import datetime
import os
import sys

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

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
        help='the official discriminator file of archs that have one '
        '(IRN+_x4: {iter}_D.pth; NovelViewJPEG: discriminator_*.pth)')
    parser.add_argument(
        '--part',
        action='append',
        default=[],
        metavar='PART=FILE',
        help='another part of the model and its official file (repeatable)')
    parser.add_argument(
        '--list', action='store_true', help='list the arch names and exit')
    return parser.parse_args(argv)


def list_archs() -> str:
    lines = []
    for name, spec in OFFICIAL_ARCHS.items():
        lines.append(f'{name:17s} {spec["checkpoint"]:22s} '
                     f'{spec["description"]}')
    return '\n'.join(lines)


def _files(value: str) -> dict:
    """``'FILE'`` -> ``{None: FILE}``; ``'a=F1,b=F2'`` -> ``{'a': F1, ...}``
    (an existing file whose name holds ``=`` stays one file)."""
    if '=' not in value or os.path.isfile(value):
        return {None: value}
    files = {}
    for item in value.split(','):
        key, sep, path = item.partition('=')
        if not sep or not key or not path or key in files:
            raise ValueError(f'{value!r}: expected FILE or KEY=FILE,KEY=FILE '
                             '(e.g. encoder=enc.pth,decoder=dec.pth).')
        files[key] = path
    return files


def _load(files: dict, part: str):
    """The object to convert (one state dict, or a dict of them) and the
    provenance of its files."""
    loaded, sources = {}, {}
    for key, path in files.items():
        what = f'{part} file' if key is None else f'{part} {key} file'
        loaded[key] = load_weights_only(path, what)
        sources[key] = dict(
            file=os.path.basename(path), sha256=file_sha256(path))
    if list(files) == [None]:
        return (loaded[None], os.path.basename(files[None])), sources[None]
    label = ','.join(f'{k}={os.path.basename(p)}' for k, p in files.items())
    return (loaded, label), sources


def convert(arch, src, dst, generator=None, discriminator=None,
            parts=()) -> str:
    """Convert and write; returns the written path.

    Args:
        parts: ``'PART=FILE'`` strings for further parts of the model.
    """
    if arch not in OFFICIAL_ARCHS:
        raise ValueError(f'unknown arch {arch!r}; choose one of '
                         f'{", ".join(OFFICIAL_ARCHS)} (see --list).')
    spec = OFFICIAL_ARCHS[arch]
    main = spec['main']
    extra, flags = {}, {}
    for item in parts:
        part, sep, path = item.partition('=')
        if not sep or not part or not path:
            raise ValueError(f'--part {item!r}: expected PART=FILE, e.g. '
                             '--part discriminator=400000_D.pth.')
        extra[part], flags[part] = path, f'--part {part}'
    for part, path in (('generator', generator),
                       ('discriminator', discriminator)):
        if path is not None:
            extra[part], flags[part] = path, f'--{part}'
    paths = {main: src}
    for part, path in extra.items():
        if part == main or part not in spec['parts']:
            raise ValueError(f'{flags[part]} does not apply to {arch} (its parts: '
                             f'{", ".join(spec["parts"])}; the main file '
                             f'{spec["checkpoint"]} is SRC).')
        paths[part] = path
    state_dicts = {}
    sources = {}
    protect = []
    for part, value in paths.items():
        files = _files(value)
        protect += list(files.values())
        state_dicts[part], sources[part] = _load(files, part)
    state_dict = convert_official_to_model(arch, **state_dicts)
    meta = dict(
        arch=arch,
        description=spec['description'],
        model=spec['model'],
        scale=spec['scale'],
        networks={p: dict(spec['parts'][p]['network']) for p in paths},
        sources=sources,
        converted_by=f'invtoolbox {__version__} '
        'tools/model_converters/convert_official.py',
        time=datetime.datetime.now().isoformat(timespec='seconds'))
    return save_checkpoint_atomic(
        dict(meta=meta, state_dict=state_dict), dst, protect=protect)


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
                       args.discriminator, args.part)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f'convert_official.py: error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
