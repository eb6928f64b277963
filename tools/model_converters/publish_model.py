# Copyright (c) invtoolbox contributors. All rights reserved.
"""Turn a training checkpoint into a release file (weights + meta only).

Keeps the model weights (``state_dict``) and the plain-typed meta
information; drops the optimiser, the parameter schedulers, the message hub
and (unless ``--keep-loss-weights``) the frozen weights of loss networks
(``perceptual_loss.*``: they come from their own weights file). The result
loads with ``torch.load(..., weights_only=True)`` and ``init_model``. As in
MMagic, the first 8 hex digits of the file's sha256 are appended to the name:
``OUT.pth`` -> ``OUT-1a2b3c4d.pth``. The file is written to a temporary file
and renamed into place (never half-written; the input is never touched).

Example::

    python tools/model_converters/publish_model.py work_dirs/irn_x2/iter_500000.pth irn_x2.pth
"""
import argparse
import datetime
import os
import sys
import tempfile
from collections import OrderedDict

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

from invtoolbox.apis import (file_sha256, load_trusted_checkpoint,
                             plain_meta, save_checkpoint_atomic,
                             strip_state_dict)
from invtoolbox.version import __version__


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Strip a training checkpoint to weights + meta and '
        'append its sha256 prefix to the file name.')
    parser.add_argument('in_file', help='training checkpoint (.pth)')
    parser.add_argument('out_file', help='output name, e.g. irn_x2.pth')
    parser.add_argument(
        '--keep-loss-weights',
        action='store_true',
        help='keep the weights of loss networks (e.g. the VGG of the '
        'perceptual loss); dropped by default')
    parser.add_argument(
        '--trusted',
        action='store_true',
        help='load IN with weights_only=False (only for a file you wrote '
        'yourself, when it holds objects outside the allow-list of '
        'mmengine training checkpoints)')
    return parser.parse_args(argv)


def strip_checkpoint(checkpoint, source: str, keep_loss_weights=False):
    """Return ``{'meta': plain meta, 'state_dict': weights}``."""
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{source} holds a {type(checkpoint).__name__}, not '
                         'a checkpoint dict.')
    state = strip_state_dict(checkpoint, source)
    dropped = []
    if not keep_loss_weights:
        kept = OrderedDict()
        for key, value in state.items():
            if key.split('.', 1)[0].endswith('_loss'):
                dropped.append(key)
            else:
                kept[key] = value
        state = kept
    meta = plain_meta(checkpoint.get('meta') or {})
    removed = sorted(k for k in checkpoint if k not in ('meta', 'state_dict'))
    meta['published'] = dict(
        by=f'invtoolbox {__version__} tools/model_converters/publish_model.py',
        source=os.path.basename(source),
        time=datetime.datetime.now().isoformat(timespec='seconds'),
        removed=removed,
        dropped_loss_weights=len(dropped))
    return dict(meta=meta, state_dict=state)


def publish(in_file, out_file, keep_loss_weights=False, trusted=False) -> str:
    """Write the release file; returns its final path."""
    checkpoint = load_trusted_checkpoint(in_file, 'checkpoint', trusted)
    published = strip_checkpoint(checkpoint, in_file, keep_loss_weights)
    out_file = os.path.abspath(os.path.expanduser(out_file))
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    folder = os.path.dirname(out_file)
    os.makedirs(folder, exist_ok=True)
    fd, staging = tempfile.mkstemp(
        prefix='.publish-', suffix='.pth', dir=folder)
    os.close(fd)
    try:
        save_checkpoint_atomic(published, staging)
        final = f'{stem}-{file_sha256(staging)[:8]}.pth'
        if os.path.exists(final) and os.path.samefile(final, in_file):
            raise ValueError(f'refusing to overwrite the input {in_file!r}.')
        os.replace(staging, final)
    except BaseException:
        if os.path.exists(staging):
            os.remove(staging)
        raise
    return final


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        final = publish(args.in_file, args.out_file, args.keep_loss_weights,
                        args.trusted)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f'publish_model.py: error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {final}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
