# Copyright (c) invtoolbox contributors. All rights reserved.
"""State-dict key mapping between the official InvCompress checkpoints and
invtoolbox.

Official (``InvCompress(N)`` of xyq7/InvCompress, 476 keys for N=128) ->
ours (a network with attributes ``transform`` = :class:`InvCompressTransform`,
``h_a``, ``h_s``, ``context_prediction``, ``entropy_parameters``,
``entropy_bottleneck``, ``gaussian_conditional``):

official -> ours::

    enh.{forw,back}_enh.layers.*
        -> transform.enhancement.{forward,backward}_block.layers.*
    inv.operations.{i}.weight  (the free 1x1 convs)
        -> transform.inn.blocks.{i}.weight
    inv.operations.{i}.{G1,G2,H1,H2}.conv{1,2,3}.{weight,bias}
        -> transform.inn.blocks.{i}.{s1,s2,t1,t2}.conv{1,2,3}.{weight,bias}
    attention.{forw,back}_att.*
        -> transform.attention.{forward,backward}_block.*
    h_a.*, h_s.*, context_prediction.*, entropy_parameters.*,
    entropy_bottleneck.*, gaussian_conditional.*  -> unchanged

The INN indices are unchanged: official ``operations`` and our
``InvertibleSequential.blocks`` both hold, per level ``l``, the squeeze
(``5l``, no parameters), the 1x1 conv (``5l+1``) and the couplings
(``5l+2..5l+4``). The official coupling computes
``y1 = x1*exp(c(G2(x2))) + H2(x2)``, ``y2 = x2*exp(c(G1(y1))) + H1(y1)``,
i.e. :class:`RealNVPCoupling` with ``s2=G2, t2=H2, s1=G1, t1=H1``.
"""
from __future__ import annotations

import re
from typing import Dict, Mapping, Sequence

__all__ = ['official_to_ours', 'ours_to_official', 'official_config']

#: top-level groups whose keys are the same on both sides
PASS_THROUGH = ('h_a', 'h_s', 'context_prediction', 'entropy_parameters',
                'entropy_bottleneck', 'gaussian_conditional')

_PAIRS = {  # official (module, copy) -> ours (module, copy)
    ('enh', 'forw_enh'): ('enhancement', 'forward_block'),
    ('enh', 'back_enh'): ('enhancement', 'backward_block'),
    ('attention', 'forw_att'): ('attention', 'forward_block'),
    ('attention', 'back_att'): ('attention', 'backward_block'),
}
_PAIRS_BACK = {v: k for k, v in _PAIRS.items()}
_SUBNETS = {'G1': 's1', 'G2': 's2', 'H1': 't1', 'H2': 't2'}
_SUBNETS_BACK = {v: k for k, v in _SUBNETS.items()}

_PASS_RE = re.compile(r'^(?:%s)\.[\w.]+$' % '|'.join(PASS_THROUGH))
_OFF_PAIR_RE = re.compile(
    r'^(enh)\.(forw_enh|back_enh)\.(layers\.\d+\.[\w.]+)$'
    r'|^(attention)\.(forw_att|back_att)\.(conv_[ab]\.[\w.]+)$')
_OFF_CONV_RE = re.compile(r'^inv\.operations\.(\d+)\.weight$')
_OFF_SUBNET_RE = re.compile(
    r'^inv\.operations\.(\d+)\.(G1|G2|H1|H2)\.(conv[123]\.(?:weight|bias))$')
_OUR_PAIR_RE = re.compile(
    r'^transform\.(enhancement)\.(forward_block|backward_block)\.'
    r'(layers\.\d+\.[\w.]+)$'
    r'|^transform\.(attention)\.(forward_block|backward_block)\.'
    r'(conv_[ab]\.[\w.]+)$')
_OUR_CONV_RE = re.compile(r'^transform\.inn\.blocks\.(\d+)\.weight$')
_OUR_SUBNET_RE = re.compile(r'^transform\.inn\.blocks\.(\d+)\.(s1|s2|t1|t2)\.'
                            r'(conv[123]\.(?:weight|bias))$')


def _pair_groups(match: 're.Match') -> Sequence[str]:
    groups = match.groups()
    return groups[:3] if groups[0] is not None else groups[3:]


def official_to_ours(key: str) -> str:
    """Map one key of the official InvCompress state dict to ours.

    Raises:
        ValueError: ``key`` is not an official InvCompress key.
    """
    if _PASS_RE.match(key):
        return key
    match = _OFF_PAIR_RE.match(key)
    if match:
        module, copy, rest = _pair_groups(match)
        ours, block = _PAIRS[(module, copy)]
        return f'transform.{ours}.{block}.{rest}'
    match = _OFF_CONV_RE.match(key)
    if match:
        return f'transform.inn.blocks.{match.group(1)}.weight'
    match = _OFF_SUBNET_RE.match(key)
    if match:
        index, subnet, rest = match.groups()
        return f'transform.inn.blocks.{index}.{_SUBNETS[subnet]}.{rest}'
    hint = (" (strip the DataParallel 'module.' prefix first)"
            if key.startswith('module.') else '')
    raise ValueError(
        f'{key!r} is not a key of an official InvCompress state dict '
        f'(expected enh.*, inv.operations.*, attention.* or one of '
        f'{", ".join(p + ".*" for p in PASS_THROUGH)}){hint}.')


def ours_to_official(key: str) -> str:
    """Map one key of our InvCompress network's state dict to the official one.

    Raises:
        ValueError: ``key`` is not a key of our InvCompress network.
    """
    if _PASS_RE.match(key):
        return key
    match = _OUR_PAIR_RE.match(key)
    if match:
        module, block, rest = _pair_groups(match)
        official, copy = _PAIRS_BACK[(module, block)]
        return f'{official}.{copy}.{rest}'
    match = _OUR_CONV_RE.match(key)
    if match:
        return f'inv.operations.{match.group(1)}.weight'
    match = _OUR_SUBNET_RE.match(key)
    if match:
        index, subnet, rest = match.groups()
        return f'inv.operations.{index}.{_SUBNETS_BACK[subnet]}.{rest}'
    raise ValueError(
        f'{key!r} is not a key of the invtoolbox InvCompress network '
        '(expected transform.enhancement.*, transform.inn.blocks.*, '
        f'transform.attention.* or one of '
        f'{", ".join(p + ".*" for p in PASS_THROUGH)}).')


def _shape(state_dict: Mapping, key: str) -> tuple:
    if key not in state_dict:
        raise ValueError(f'the state dict has no {key!r}: it is not an '
                         'official InvCompress state dict (for a training '
                         "checkpoint pass checkpoint['state_dict']).")
    return tuple(state_dict[key].shape)


def _expect(state_dict: Mapping, key: str, expected: tuple) -> None:
    got = _shape(state_dict, key)
    if got != tuple(expected):
        raise ValueError(f'official InvCompress state dict: {key!r} has shape '
                         f'{got}, expected {tuple(expected)}; the checkpoint '
                         'does not follow the InvCompress layout.')


def official_config(state_dict: Mapping) -> Dict:
    """Infer the :class:`InvCompressTransform` / network settings of an
    official state dict and check the INN widths.

    Returns:
        dict: ``N`` (``h_a.0.weight.shape[0]``: 128 for qualities 1-3, 192
        for 5-8), ``enhance_channels``, ``levels``, ``kernel_sizes``,
        ``couplings_per_level``, ``in_channels``; usable as
        ``InvCompressTransform(**cfg)``.

    Raises:
        ValueError: a key is missing or a shape does not fit the layout.
    """
    N = _shape(state_dict, 'h_a.0.weight')[0]
    in_channels = _shape(state_dict, 'enh.forw_enh.layers.0.conv1.weight')[1]
    enhance_channels = _shape(state_dict, 'enh.forw_enh.layers.1.weight')[0]
    _expect(state_dict, 'attention.forw_att.conv_b.3.weight', (N, N, 1, 1))

    convs, couplings, indices = [], set(), set()
    for key in state_dict:
        match = _OFF_CONV_RE.match(key)
        if match:
            convs.append(int(match.group(1)))
        match = _OFF_SUBNET_RE.match(key)
        if match:
            couplings.add(int(match.group(1)))
        if key.startswith('inv.operations.'):
            indices.add(int(key.split('.')[2]))
    convs.sort()
    if not convs or not couplings:
        raise ValueError('official InvCompress state dict: no INN 1x1 convs '
                         'or couplings (inv.operations.*) found.')
    levels = len(convs)
    step = (max(indices) + 1) // levels  # squeeze + 1x1 conv + couplings
    expected_convs = [level * step + 1 for level in range(levels)]
    expected_couplings = {
        level * step + j
        for level in range(levels)
        for j in range(2, step)
    }
    if step < 3 or convs != expected_convs or couplings != expected_couplings:
        raise ValueError(
            'official InvCompress state dict: inv.operations has 1x1 convs '
            f'at {convs} and couplings at {sorted(couplings)}; expected '
            f'levels of [squeeze, 1x1 conv, couplings] ({levels} levels).')

    kernel_sizes = []
    channels = in_channels
    for level in range(levels):
        channels *= 4
        base = f'inv.operations.{level * step + 1}'
        _expect(state_dict, f'{base}.weight', (channels, channels))
        first = f'inv.operations.{level * step + 2}'
        kernel = _shape(state_dict, f'{first}.G1.conv1.weight')[-1]
        kernel_sizes.append(kernel)
        quarter, rest = channels // 4, channels - channels // 4
        for j in range(2, step):
            op = f'inv.operations.{level * step + j}'
            for subnet, (cin, cout) in (('G1', (quarter, rest)),
                                        ('H1', (quarter, rest)),
                                        ('G2', (rest, quarter)),
                                        ('H2', (rest, quarter))):
                _expect(state_dict, f'{op}.{subnet}.conv1.weight',
                        (cout, cin, kernel, kernel))
                _expect(state_dict, f'{op}.{subnet}.conv3.weight',
                        (cout, cout, kernel, kernel))
    if channels % N:
        raise ValueError(f'official InvCompress state dict: N={N} (h_a.0) '
                         f'does not divide the INN output channels '
                         f'{channels}.')
    return dict(N=N,
                enhance_channels=enhance_channels,
                levels=levels,
                kernel_sizes=tuple(kernel_sizes),
                couplings_per_level=step - 2,
                in_channels=in_channels)
