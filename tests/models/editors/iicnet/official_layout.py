# Copyright (c) invtoolbox contributors. All rights reserved.
"""Official IICNet state dicts built from the official module structure.

``official_state_dict`` writes the keys and shapes that
``nn.ModuleList([RelModule, InvDownscaling, InvBlock, CSLayer, Noise])
.state_dict()`` of felixcheng97/IICNet has (``codes/models/modules``;
reference section 4), independently of invtoolbox's networks, each tensor
filled with a value derived from its key so a test sees where it lands.
"""
import zlib
from collections import OrderedDict

import torch

# config id -> (N, use_rel, down kind, order, blocks, out_nc)
LAYOUTS = {
    'st-01': (5, True, None, None, 10, 3),
    'st-02': (5, False, None, None, 30, 3),
    'st-04': (7, True, None, None, 10, 3),
    'st-06': (3, True, 'haar', 'hl', 10, 3),
    'st-07': (5, True, 'squeeze', 'ref', 10, 3),
    'mono-01': (2, True, None, None, 16, 3),
    'mono-02': (2, False, None, None, 24, 3),
    'dual-01': (2, True, None, None, 10, 3),
    'adobe-01': (3, True, None, None, 10, 3),
    'hide-03': (4, True, None, None, 10, 3),
    'supp-gray-01': (1, True, None, None, 16, 1),
    'supp-sr-01': (1, True, 'squeeze', 'hl', 16, 3),
}

#: official parameter counts (reference section 1; Haar filters included).
PARAM_COUNTS = {
    'st-01': 6_805_540,
    'st-02': 6_573_330,
    'st-04': 9_895_844,
    'st-06': 5_300_850,
    'st-07': 8_510_950,
    'mono-01': 4_399_564,
    'mono-02': 4_494_240,
    'dual-01': 3_276_004,
    'adobe-01': 4_305_060,
    'supp-gray-01': 3_455_158,
    'supp-sr-01': 3_964_022,
}


def _dense(prefix, cin, cout, gc=32):
    shapes = OrderedDict()
    for i in range(1, 5):
        shapes[f'{prefix}.conv{i}.weight'] = (gc, cin + (i - 1) * gc, 3, 3)
        shapes[f'{prefix}.conv{i}.bias'] = (gc, )
    shapes[f'{prefix}.conv5.weight'] = (cout, cin + 4 * gc, 3, 3)
    shapes[f'{prefix}.conv5.bias'] = (cout, )
    return shapes


def official_shapes(config_id):
    """key -> shape of the official state dict of a config id."""
    n, use_rel, down, order, blocks, out_nc = LAYOUTS[config_id]
    nf = 64
    shapes = OrderedDict()
    if use_rel:
        for which in ('forw_rel', 'back_rel'):
            p = f'0.{which}'
            for i in range(n):  # ModuleList order: heads, 1x1, merges, ...
                shapes.update(_dense(f'{p}.DB_heads.{i}', 3, nf))
            for i in range(n):
                shapes[f'{p}.conv_1x1_heads.{i}.weight'] = (nf, nf, 1, 1)
                shapes[f'{p}.conv_1x1_heads.{i}.bias'] = (nf, )
            for i in range(n):
                shapes[f'{p}.conv_merges.{i}.weight'] = (nf, nf * n, 3, 3)
                shapes[f'{p}.conv_merges.{i}.bias'] = (nf, )
            for i in range(n):
                shapes[f'{p}.conv_1x1_tails.{i}.weight'] = (nf, nf, 1, 1)
                shapes[f'{p}.conv_1x1_tails.{i}.bias'] = (nf, )
            for i in range(n):
                shapes.update(_dense(f'{p}.DB_tails.{i}', nf, 3))
    in_nc = 3 * n
    if down is not None:
        if down == 'haar':
            shapes['1.operations.0.haar_weights'] = (4 * in_nc, 1, 2, 2)
        in_nc *= 4
        shapes['1.operations.1.weight'] = (in_nc, in_nc)
    if down is None:
        split1 = out_nc
    elif order == 'ref':
        split1 = out_nc * 4
    else:
        split1 = in_nc // 4
    split2 = in_nc - split1
    for k in range(blocks):
        shapes.update(_dense(f'2.operations.{k}.F', split2, split1))
        shapes.update(_dense(f'2.operations.{k}.G', split1, split2))
        shapes.update(_dense(f'2.operations.{k}.H', split1, split2))
    return shapes


def key_value(key):
    """A value derived from the key (distinct per key)."""
    return (zlib.crc32(key.encode()) % 100003) / 100003.


def official_state_dict(config_id):
    """An official-layout state dict, every tensor filled with key_value."""
    return OrderedDict((k, torch.full(s, key_value(k)))
                       for k, s in official_shapes(config_id).items())
