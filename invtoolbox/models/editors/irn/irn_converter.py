# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official IRN-family checkpoints (pkuxmq/Invertible-Image-Rescaling)
and their converter: IRN x2/x3/x4/x8, IRN+, IRN-Color and the CRM.

The official IRN code saves plain ``state_dict`` s (``torch.save(net.
state_dict())``): ``operations.{i}.*`` for the IRN networks,
``conv_first/RRDB_trunk/trunk_conv/conv_last`` for the CRM restorer and
``conv{k}_{j}/bn{k}_{j}/linear{1,2}`` for the IRN+ discriminator.
:class:`IRNConverter` (registered in ``CONVERTERS`` under the arch names of
:data:`IRN_ARCHS`)

- derives the layout (Haar levels, couplings per level, channels, growth)
  from the keys and shapes, so any depth or scale of the same code converts,
  and says which arch a state dict of another layout is;
- renames the keys of the IRN networks (``operations.i`` -> ``blocks.i``);
  the restorer and discriminator keep the official module names.

The networks themselves come from the configs named in :data:`IRN_ARCHS`
(``model.generator``, ``model.restorer``, ``model.discriminator``).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ....registry import CONVERTERS
from ...base_models.official_converter import (OfficialConverter,
                                               check_against, describe_state,
                                               get_converter,
                                               strip_state_dict)

__all__ = ['IRNConverter', 'IRN_ARCHS', 'convert_irn_state_dict']

_RELEASE = 'pkuxmq/Invertible-Image-Rescaling, Google Drive folder ' \
    '1ym6DvYNQegDrOy_4z733HxrULa1XIN92'

#: The released official checkpoints (:data:`_RELEASE`): what no config
#: says. ``files`` maps each converted part of the model to its official
#: file; the first is the one the released ``checkpoint`` holds.
IRN_ARCHS = {
    'IRN_x2': dict(
        config='configs/irn/irn_x2_div2k.py',
        description='IRN x2 (ECCV 2020): Haar + 8 couplings',
        checkpoint='IRN_x2.pth',
        files=dict(generator='IRN_x2.pth')),
    'IRN_x3': dict(
        config='configs/irn/irn_x3_div2k.py',
        description='IRN x3 (IJCV): ConvDownsampling(3) + 12 couplings',
        checkpoint='IRN_x3.pth',
        files=dict(generator='IRN_x3.pth')),
    'IRN_x4': dict(
        config='configs/irn/irn_x4_div2k.py',
        description='IRN x4 (ECCV 2020): 2 x (Haar + 8 couplings)',
        checkpoint='IRN_x4.pth',
        files=dict(generator='IRN_x4.pth')),
    'IRN_x8': dict(
        config='configs/irn/irn_x8_div2k.py',
        description='IRN x8 (IJCV): 3 x (Haar + 8 couplings)',
        checkpoint='IRN_x8.pth',
        files=dict(generator='IRN_x8.pth')),
    'IRN+_x4': dict(
        config='configs/irn/irn-plus_x4_div2k.py',
        description='IRN+ x4 (ECCV 2020): the IRN x4 generator finetuned '
        'with a VGG-style discriminator and a VGG19 feature loss',
        checkpoint='IRN+_x4.pth',
        files=dict(
            generator='IRN+_x4.pth',
            discriminator='{iter}_D.pth (written by IRN+ training; not '
            'released)')),
    'IRN_x2_finetune': dict(
        config='configs/irn/irn_x2-finetune_div2k.py',
        description='IRN x2 finetuned with an l1 LR loss and LR noise '
        '(IJCV; fixes the colour artifacts on Kodak, issue #13)',
        checkpoint='IRN_x2_finetune.pth',
        files=dict(generator='IRN_x2_finetune.pth')),
    'IRN_color': dict(
        config='configs/irn/irn-color_div2k.py',
        description='IRN-Color (IJCV): Conv1x1Grey + 8 couplings (split 1); '
        'embeds colour into a grey image',
        checkpoint='IRN_color.pth',
        files=dict(generator='IRN_color.pth')),
    'CRM_x2_q90': dict(
        config='configs/irn/irn-crm_x2_q90_div2k.py',
        description='IRN-Compression (IJCV): the compression restoration '
        'module (RRDBNet nf 64, nb 8, gc 32) for JPEG quality 90 on top of '
        'the frozen IRN_x2_finetune generator',
        checkpoint='CRM_x2_q90.pth',
        files=dict(restorer='CRM_x2_q90.pth',
                   generator='IRN_x2_finetune.pth')),
}

_IRN_KEY = re.compile(r'^operations\.(\d+)\.(.+)$')
_BLOCK_KEY = re.compile(r'^([FGH])\.conv([1-5])\.(weight|bias)$')
_RRDB_KEY = re.compile(r'^RRDB_trunk\.(\d+)\.RDB([1-3])\.(conv[1-5]\.'
                       r'(?:weight|bias))$')
_DISC_KEY = re.compile(r'^(conv\d_\d|bn\d_\d|linear[12])\.')
# every IRN network has a downsampling op with a fixed/learned matrix
_DOWN_KEY = re.compile(r'^operations\.\d+\.(haar_weights|conv_weights)$')


# ---------------------------------------------------------------------------
# layout
# ---------------------------------------------------------------------------
def _layout_from_irn_keys(state: Mapping[str, Tensor], source: str) -> dict:
    """The :class:`IRNNet` config of an official ``operations.*`` state dict."""
    ops: Dict[int, Dict[str, Tensor]] = {}
    for key, value in state.items():
        match = _IRN_KEY.match(key)
        if match is None:
            raise ValueError(
                f'{source}: key {key!r} is not of the official IRN layout '
                "('operations.{i}.haar_weights', 'operations.{i}.{F,G,H}."
                "conv{1-5}.weight|bias', 'operations.0.conv_weights').")
        ops.setdefault(int(match.group(1)), {})[match.group(2)] = value
    indices = sorted(ops)
    if indices != list(range(len(indices))):
        raise ValueError(f'{source}: operations indices {indices[:12]} are '
                         'not contiguous from 0; the state dict is partial.')
    stages: List[list] = []  # [kind, factor, block count]
    split = growth = block_channels = None
    in_channels = None
    for i in indices:
        entries = ops[i]
        names = set(entries)
        if names == {'haar_weights'}:
            weight = entries['haar_weights']
            if weight.dim() != 4 or tuple(weight.shape[1:]) != (1, 2, 2):
                raise ValueError(f'{source}: operations.{i}.haar_weights has '
                                 f'shape {tuple(weight.shape)}, expected '
                                 '(4C, 1, 2, 2).')
            if in_channels is None:
                in_channels = weight.shape[0] // 4
            stages.append(['haar', 2, 0])
        elif names == {'conv_weights'}:
            weight = entries['conv_weights']
            k = weight.shape[0]
            if weight.dim() != 2 or weight.shape[1] != k:
                raise ValueError(f'{source}: operations.{i}.conv_weights has '
                                 f'shape {tuple(weight.shape)}, expected a '
                                 'square matrix.')
            root = int(round(k**0.5))
            if k == 3:
                stages.append(['grey', 1, 0])
                in_channels = 3
            elif root * root == k and root >= 2:
                stages.append(['conv', root, 0])
            else:
                raise ValueError(f'{source}: operations.{i}.conv_weights is '
                                 f'{k}x{k}: neither Conv1x1Grey (3x3) nor '
                                 'ConvDownsampling (s^2 x s^2).')
        else:
            bad = [n for n in names if not _BLOCK_KEY.match(n)]
            if bad:
                raise ValueError(f'{source}: operations.{i}.{bad[0]} is not '
                                 'a key of an IRN coupling (F/G/H.conv1-5).')
            if not stages:
                raise ValueError(f'{source}: operations.0 is a coupling; an '
                                 'IRN network starts with a downsampling op.')
            try:
                f1 = entries['F.conv1.weight']
                f5 = entries['F.conv5.weight']
            except KeyError as err:
                raise ValueError(f'{source}: operations.{i} lacks '
                                 f'{err.args[0]}.') from None
            b_split, b_growth = f5.shape[0], f1.shape[0]
            b_channels = b_split + f1.shape[1]
            if split is None:
                split, growth = b_split, b_growth
            elif (b_split, b_growth) != (split, growth):
                raise ValueError(
                    f'{source}: operations.{i} has split {b_split} / growth '
                    f'{b_growth}, earlier couplings {split} / {growth}.')
            block_channels = b_channels
            stages[-1][2] += 1
    kinds = {s[0] for s in stages}
    if len(kinds) != 1 or (kinds != {'haar'} and len(stages) != 1):
        raise ValueError(
            f'{source}: unsupported op sequence '
            f'{[s[0] for s in stages]}; IRN networks are Haar levels, or one '
            'ConvDownsampling, or one Conv1x1Grey, each followed by '
            'couplings.')
    kind = stages[0][0]
    scale = 1
    for stage in stages:
        scale *= stage[1]
    if split is None:
        raise ValueError(f'{source}: the state dict holds no coupling '
                         'blocks.')
    if in_channels is None:  # ConvDownsampling: C * s^2 channels in blocks
        in_channels = block_channels // (scale * scale)
    return dict(
        type='IRNNet',
        in_channels=int(in_channels),
        out_channels=int(split),
        scale=int(scale),
        block_num=[s[2] for s in stages],
        down_type=kind,
        subnet=dict(type='DenseBlock', growth=int(growth), init='xavier'))


def _describe_irn(cfg: dict) -> str:
    block_num = list(cfg.get('block_num') or [])
    blocks = '+'.join(str(n) for n in block_num)
    down_type = cfg.get('down_type', 'haar')
    if down_type == 'haar':
        levels = len(block_num)
        what = (f"{levels} Haar level{'s' if levels > 1 else ''}, {blocks} "
                'couplings')
    elif down_type == 'conv':
        what = f"ConvDownsampling x{cfg.get('scale', 2)}, {blocks} couplings"
    else:
        what = f'Conv1x1Grey, {blocks} couplings'
    return f"{what}, split {cfg.get('out_channels', 3)}"


def _same_irn(a: dict, b: dict) -> bool:
    """Same IRN network (the :class:`IRNNet` defaults fill missing keys)."""
    defaults = dict(in_channels=3, out_channels=3, scale=2, down_type='haar')
    for key, default in defaults.items():
        if a.get(key, default) != b.get(key, default):
            return False
    if list(a.get('block_num') or []) != list(b.get('block_num') or []):
        return False
    return (a.get('subnet') or {}).get('growth', 32) == \
        (b.get('subnet') or {}).get('growth', 32)


def _convert_rrdb(state: Mapping[str, Tensor], cfg: dict, arch: str,
                  source: str) -> 'OrderedDict[str, Tensor]':
    """Validate an official RRDBNet state dict (the names are kept; the
    base checks every key and shape afterwards)."""
    trunk = set()
    for key in state:
        match = _RRDB_KEY.match(key)
        if match is not None:
            trunk.add(int(match.group(1)))
        elif not key.startswith(('conv_first.', 'trunk_conv.', 'conv_last.')):
            raise ValueError(f'{source}: key {key!r} is not of the official '
                             'RRDBNet layout (conv_first, RRDB_trunk.{i}.'
                             'RDB{1-3}.conv{1-5}, trunk_conv, conv_last).')
    found = dict(
        num_blocks=len(trunk),
        mid_channels=state['conv_first.weight'].shape[0]
        if 'conv_first.weight' in state else None,
        growth_channels=state['RRDB_trunk.0.RDB1.conv1.weight'].shape[0]
        if 'RRDB_trunk.0.RDB1.conv1.weight' in state else None)
    defaults = dict(num_blocks=8, mid_channels=64, growth_channels=32)
    wanted = {k: cfg.get(k, defaults[k]) for k in found}  # RRDBNet's
    if found != wanted:
        raise ValueError(
            f'{source}: an RRDBNet with nb={found["num_blocks"]}, '
            f'nf={found["mid_channels"]}, gc={found["growth_channels"]}, not '
            f'the {arch} restorer (nb={wanted["num_blocks"]}, '
            f'nf={wanted["mid_channels"]}, gc={wanted["growth_channels"]}).')
    return OrderedDict(state)


def _convert_discriminator(state: Mapping[str, Tensor], cfg: dict,
                           wanted: str,
                           source: str) -> 'OrderedDict[str, Tensor]':
    """Validate an official ``Discriminator_VGG_128`` state dict (the names
    are kept; the base checks every key and shape afterwards)."""
    bad = [k for k in state if not _DISC_KEY.match(k)]
    if bad:
        raise ValueError(f'{source}: key {bad[0]!r} is not of the official '
                         'Discriminator_VGG_128 layout (conv{i}_{j}, '
                         'bn{i}_{j}, linear1, linear2).')
    first = state.get('conv0_0.weight')
    if first is None or first.dim() != 4:
        raise ValueError(f'{source}: conv0_0.weight is missing; the state '
                         'dict is partial.')
    found = (int(first.shape[0]), int(first.shape[1]))
    wanted_shape = (cfg.get('mid_channels', 64), cfg.get('in_channels', 3))
    if found != wanted_shape:
        raise ValueError(
            f'{source}: a discriminator with nf={found[0]}, '
            f'in_nc={found[1]}, not {wanted} '
            f'(nf={wanted_shape[0]}, in_nc={wanted_shape[1]}).')
    return OrderedDict(state)


def _matching_archs(cfg: dict, part: str = 'generator') -> List[str]:
    """The IRN archs whose ``part`` network is the IRN network ``cfg``."""
    names = []
    for name, info in IRN_ARCHS.items():
        if part not in info['files']:
            continue
        net = get_converter(name).network(part)
        if net['type'] == 'IRNNet' and _same_irn(cfg, net):
            names.append(name)
    return names


def _irn_label(cfg: dict) -> str:
    names = _matching_archs(cfg)
    return ' / '.join(names) if names else 'an IRN network'


def _to_official(key: str) -> str:
    return 'operations.' + key[len('blocks.'):] if key.startswith(
        'blocks.') else key


def _rename(state: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    return OrderedDict(
        ('blocks.' + k[len('operations.'):], v) for k, v in state.items())


# ---------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------
def convert_irn_state_dict(state_dict: Mapping, source: str = 'checkpoint'
                           ) -> Tuple['OrderedDict[str, Tensor]', dict]:
    """Convert an official IRN / IRN-Color state dict of any depth and scale.

    Args:
        state_dict (dict): ``operations.{i}.*`` tensors (``module.`` prefix
            and a ``state_dict`` wrapper allowed).
        source (str): name used in error messages (e.g. the file).

    Returns:
        tuple[OrderedDict, dict]: the state dict of :class:`IRNNet`
        (``blocks.{i}.*``) and the ``IRNNet`` config that it fits.

    Raises:
        ValueError: one line, when the keys are not an IRN network's.
    """
    state = strip_state_dict(state_dict, source)
    if IRNConverter.layout_of(list(state)) != 'IRNNet':
        looks = describe_state(state)
        if looks is not None:
            raise ValueError(f'{source}: this checkpoint looks like {looks}, '
                             'not an IRN network.')
    cfg = _layout_from_irn_keys(state, source)
    converted = _rename(state)
    check_against(converted, cfg, source, f'IRNNet ({_describe_irn(cfg)})')
    return converted, cfg


@CONVERTERS.register_module(name=list(IRN_ARCHS))
class IRNConverter(OfficialConverter):
    """The IRN family: :data:`IRN_ARCHS` (``IRNNet`` generators, the IRN+
    ``VGGStyleDiscriminator`` and the CRM ``RRDBNet`` restorer)."""

    archs = IRN_ARCHS
    layouts = {
        'IRNNet': 'an IRN network (operations.*)',
        'RRDBNet': 'CRM_x2_q90 (the RRDBNet restorer, netR)',
        'VGGStyleDiscriminator':
        'the IRN+ discriminator (Discriminator_VGG_128, netD)',
    }

    @classmethod
    def layout_of(cls, keys: List[str]) -> Optional[str]:
        if any(k.startswith(('RRDB_trunk.', 'conv_first.')) for k in keys):
            return 'RRDBNet'
        if any(k.startswith('conv0_0.') for k in keys) and all(
                _DISC_KEY.match(k) for k in keys):
            return 'VGGStyleDiscriminator'
        # ``operations.*`` alone is not enough: Invertible-ISP's official
        # keys are ``operations.{i}.{F,G,H,invconv}.*`` too
        if any(_DOWN_KEY.match(k) for k in keys):
            return 'IRNNet'
        return None

    @classmethod
    def describe_layout(cls, layout: str,
                        state: Mapping[str, Tensor]) -> str:
        if layout != 'IRNNet':
            return cls.layouts[layout]
        cfg = _layout_from_irn_keys(state, 'checkpoint')
        return f'{_irn_label(cfg)} ({_describe_irn(cfg)})'

    @classmethod
    def describe_model_part(cls, part: str,
                            state: Mapping[str, Tensor]) -> Optional[str]:
        if part != 'generator' or not state or not all(
                k.startswith('blocks.') for k in state):
            return None
        official = {_to_official(k): v for k, v in state.items()}
        try:
            return 'IRN ' + _describe_irn(
                _layout_from_irn_keys(official, 'weights'))
        except ValueError:
            return None

    def describe_part(self, part: str, network: dict) -> str:
        kind = network['type']
        if kind == 'IRNNet':
            what = _describe_irn(network)
        else:
            what = {'RRDBNet': 'an RRDBNet',
                    'VGGStyleDiscriminator': 'Discriminator_VGG_128'}.get(
                        kind, kind)
        return f'the {self.arch} {part} ({what})'

    def convert_part(self, state: 'OrderedDict[str, Tensor]', part: str,
                     network: dict,
                     source: str) -> 'OrderedDict[str, Tensor]':
        kind = network['type']
        if kind == 'IRNNet':
            found = _layout_from_irn_keys(state, source)
            if not _same_irn(found, network):
                names = _matching_archs(found)
                label = ' / '.join(names) if names else 'an IRN network'
                hint = (f"; pass arch='{names[0]}'" if names else
                        '; use invtoolbox.apis.convert_irn_state_dict for '
                        'custom layouts')
                raise ValueError(
                    f'{source}: this checkpoint looks like {label} '
                    f'({_describe_irn(found)}), not {self.arch} '
                    f'({_describe_irn(network)}){hint}.')
            return _rename(state)
        if kind == 'RRDBNet':
            return _convert_rrdb(state, network, self.arch, source)
        if kind == 'VGGStyleDiscriminator':
            return _convert_discriminator(state, network,
                                          self.describe_part(part, network),
                                          source)
        raise ValueError(f'{self.arch}: the IRN-family converter has no '
                         f'conversion for a {kind} {part}.')
