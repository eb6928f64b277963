# Copyright (c) invtoolbox contributors. All rights reserved.
"""Official-layout state dicts for the converter tests.

``official_keys(name)`` reads the key lists of the official networks from
``../shared/reference/irn_sain_keys.txt`` (written from the official code);
``official_state_dict(name)`` fills each tensor with a value derived from its
key, so a test can check where every tensor lands after conversion.
``official_discriminator_keys()`` spells out the official
``Discriminator_VGG_128`` layout (``codes/models/modules/
discriminator_vgg_arch.py``), which the reference file does not list.
"""
import re
import zlib
from collections import OrderedDict

import torch

from tests.helpers import shared_path

_SECTION = re.compile(r'^## (\S+)')
_ENTRY = re.compile(r'^(\S+) \(([\d, ]*)\)$')


def official_keys(name):
    """``[(key, shape)]`` of section ``name`` (e.g. ``'IRN_x4'``, ``'CRM_R'``)."""
    path = shared_path('reference', 'irn_sain_keys.txt')
    entries, current = [], None
    for line in path.read_text().splitlines():
        section = _SECTION.match(line)
        if section:
            current = section.group(1).rstrip(':')
            continue
        entry = _ENTRY.match(line.strip())
        if entry and current == name:
            shape = tuple(int(v) for v in entry.group(2).split(',') if v.strip())
            entries.append((entry.group(1), shape))
    if not entries:
        raise KeyError(f'no section {name!r} in {path}')
    return entries


def key_value(key):
    """A value identifying ``key`` (stable across runs)."""
    return float(zlib.crc32(key.encode()) % 10007) / 10007.


def filled(entries):
    out = OrderedDict()
    for key, shape in entries:
        if key.endswith('num_batches_tracked'):
            out[key] = torch.tensor(7)
        else:
            out[key] = torch.full(shape, key_value(key))
    return out


def official_state_dict(name):
    return filled(official_keys(name))


def official_discriminator_keys(in_nc=3, nf=64):
    """Keys and shapes of the official Discriminator_VGG_128(in_nc, nf)."""
    entries = [('conv0_0.weight', (nf, in_nc, 3, 3)), ('conv0_0.bias', (nf, )),
               ('conv0_1.weight', (nf, nf, 4, 4))]

    def bn(name, c):
        return [(f'{name}.weight', (c, )), (f'{name}.bias', (c, )),
                (f'{name}.running_mean', (c, )), (f'{name}.running_var', (c, )),
                (f'{name}.num_batches_tracked', ())]

    entries += bn('bn0_1', nf)
    widths = [nf * 2, nf * 4, nf * 8, nf * 8]
    prev = nf
    for stage, c in enumerate(widths, start=1):
        entries.append((f'conv{stage}_0.weight', (c, prev, 3, 3)))
        entries += bn(f'bn{stage}_0', c)
        entries.append((f'conv{stage}_1.weight', (c, c, 4, 4)))
        entries += bn(f'bn{stage}_1', c)
        prev = c
    entries += [('linear1.weight', (100, 512 * 4 * 4)), ('linear1.bias', (100, )),
                ('linear2.weight', (1, 100)), ('linear2.bias', (1, ))]
    return entries
