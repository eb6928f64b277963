# Copyright (c) invtoolbox contributors. All rights reserved.
"""Converters from the official released checkpoints to invtoolbox.

The official IRN code saves plain ``state_dict`` s (``torch.save(net.
state_dict())``): ``operations.{i}.*`` for the IRN networks,
``conv_first/RRDB_trunk/trunk_conv/conv_last`` for the CRM restorer and
``conv{k}_{j}/bn{k}_{j}/linear{1,2}`` for the IRN+ discriminator. The
converters here

- strip a ``module.`` prefix (DataParallel / DDP) and unwrap a
  ``{'state_dict': ...}`` dict,
- derive the layout (Haar levels, couplings per level, channels, growth) from
  the keys and shapes, so any depth or scale of the same code converts,
- validate the layout against the requested architecture and every key and
  shape against the invtoolbox network, raising a one-line ``ValueError``
  that says what the checkpoint looks like instead,
- rename the keys of the IRN networks (``operations.i`` -> ``blocks.i``);
  the restorer and discriminator keep the official module names.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

__all__ = [
    'OFFICIAL_ARCHS', 'NETWORK_CONVERTERS', 'FOREIGN_DETECTORS',
    'convert_official_checkpoint',
    'convert_official_to_model', 'convert_irn_state_dict',
    'describe_official_checkpoint', 'strip_state_dict'
]

_DENSE = dict(type='DenseBlock', growth=32, init='xavier')


def _irn(scale, block_num, down_type='haar', out_channels=3):
    return dict(
        type='IRNNet',
        in_channels=3,
        out_channels=out_channels,
        scale=scale,
        block_num=list(block_num),
        down_type=down_type,
        subnet=dict(_DENSE))


_DISCRIMINATOR = dict(type='VGGStyleDiscriminator', in_channels=3,
                      mid_channels=64)
_CRM = dict(
    type='RRDBNet',
    in_channels=3,
    out_channels=3,
    mid_channels=64,
    num_blocks=8,
    growth_channels=32)

#: The released official checkpoints (pkuxmq/Invertible-Image-Rescaling,
#: Google Drive folder ``1ym6DvYNQegDrOy_4z733HxrULa1XIN92``). ``parts``
#: maps each part of the invtoolbox model (``generator``, ``discriminator``,
#: ``restorer``) to its network config and the official file holding it;
#: ``main`` is the part that the released file ``checkpoint`` holds.
OFFICIAL_ARCHS: Dict[str, dict] = {
    'IRN_x2': dict(
        description='IRN x2 (ECCV 2020): Haar + 8 couplings',
        checkpoint='IRN_x2.pth',
        model='IRN',
        scale=2,
        main='generator',
        parts=dict(generator=dict(network=_irn(2, [8]), file='IRN_x2.pth'))),
    'IRN_x3': dict(
        description='IRN x3 (IJCV): ConvDownsampling(3) + 12 couplings',
        checkpoint='IRN_x3.pth',
        model='IRN',
        scale=3,
        main='generator',
        parts=dict(
            generator=dict(
                network=_irn(3, [12], 'conv'), file='IRN_x3.pth'))),
    'IRN_x4': dict(
        description='IRN x4 (ECCV 2020): 2 x (Haar + 8 couplings)',
        checkpoint='IRN_x4.pth',
        model='IRN',
        scale=4,
        main='generator',
        parts=dict(
            generator=dict(network=_irn(4, [8, 8]), file='IRN_x4.pth'))),
    'IRN_x8': dict(
        description='IRN x8 (IJCV): 3 x (Haar + 8 couplings)',
        checkpoint='IRN_x8.pth',
        model='IRN',
        scale=8,
        main='generator',
        parts=dict(
            generator=dict(
                network=_irn(8, [8, 8, 8]), file='IRN_x8.pth'))),
    'IRN+_x4': dict(
        description='IRN+ x4 (ECCV 2020): the IRN x4 generator finetuned '
        'with a VGG-style discriminator and a VGG19 feature loss',
        checkpoint='IRN+_x4.pth',
        model='IRNPlus',
        scale=4,
        main='generator',
        parts=dict(
            generator=dict(network=_irn(4, [8, 8]), file='IRN+_x4.pth'),
            discriminator=dict(
                network=dict(_DISCRIMINATOR),
                file='{iter}_D.pth (written by IRN+ training; not released)'))
    ),
    'IRN_x2_finetune': dict(
        description='IRN x2 finetuned with an l1 LR loss and LR noise '
        '(IJCV; fixes the colour artifacts on Kodak, issue #13)',
        checkpoint='IRN_x2_finetune.pth',
        model='IRN',
        scale=2,
        main='generator',
        parts=dict(
            generator=dict(
                network=_irn(2, [8]), file='IRN_x2_finetune.pth'))),
    'IRN_color': dict(
        description='IRN-Color (IJCV): Conv1x1Grey + 8 couplings (split 1); '
        'embeds colour into a grey image',
        checkpoint='IRN_color.pth',
        model='IRN',
        scale=1,
        main='generator',
        parts=dict(
            generator=dict(
                network=_irn(1, [8], 'grey', out_channels=1),
                file='IRN_color.pth'))),
    'CRM_x2_q90': dict(
        description='IRN-Compression (IJCV): the compression restoration '
        'module (RRDBNet nf 64, nb 8, gc 32) for JPEG quality 90 on top of '
        'the frozen IRN_x2_finetune generator',
        checkpoint='CRM_x2_q90.pth',
        model='IRNCRM',
        scale=2,
        main='restorer',
        parts=dict(
            restorer=dict(network=dict(_CRM), file='CRM_x2_q90.pth'),
            generator=dict(
                network=_irn(2, [8]), file='IRN_x2_finetune.pth'))),
}

#: Converters of other official codes, by the network ``type`` of an arch's
#: part: ``fn(state_dict, network_cfg, arch, source) -> OrderedDict`` (the
#: state dict already stripped of ``module.``); each raises a one-line
#: ``ValueError`` for a checkpoint of another architecture. The SAIN and
#: IICNet modules (``sain_converter.py``, ``iicnet_converter.py``) add their
#: archs to :data:`OFFICIAL_ARCHS` and their converters here.
NETWORK_CONVERTERS: Dict[str, Callable[..., 'OrderedDict[str, Tensor]']] = {}

#: ``fn(keys) -> str | None``: name what a state dict of another official
#: code looks like (e.g. ``'an IICNet network (0.forw_rel/2.operations)'``),
#: so that converting it as the wrong arch gives a one-line error.
FOREIGN_DETECTORS: List[Callable[[List[str]], Optional[str]]] = []

_IRN_KEY = re.compile(r'^operations\.(\d+)\.(.+)$')
_BLOCK_KEY = re.compile(r'^([FGH])\.conv([1-5])\.(weight|bias)$')
_RRDB_KEY = re.compile(r'^RRDB_trunk\.(\d+)\.RDB([1-3])\.(conv[1-5]\.'
                       r'(?:weight|bias))$')
_DISC_KEY = re.compile(r'^(conv\d_\d|bn\d_\d|linear[12])\.')


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def strip_state_dict(state_dict: Mapping, source: str = 'checkpoint'
                     ) -> 'OrderedDict[str, Tensor]':
    """Unwrap ``{'state_dict': ...}`` and drop a ``module.`` prefix.

    Raises:
        ValueError: when the object is not a dict of tensors.
    """
    if isinstance(state_dict, Mapping) and isinstance(
            state_dict.get('state_dict'), Mapping):
        state_dict = state_dict['state_dict']
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise ValueError(f'{source}: expected a non-empty state dict (a '
                         f'dict of tensors), got {type(state_dict).__name__}.')
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        if not isinstance(value, Tensor):
            raise ValueError(
                f'{source}: entry {key!r} is a {type(value).__name__}, not a '
                'tensor; pass the network state dict itself.')
        key = str(key)
        if key.startswith('module.'):
            key = key[len('module.'):]
        out[key] = value
    return out


def _build_on_meta(cfg: dict):
    from .... import models  # noqa: F401  (registers the networks)
    from ....registry import MODELS
    with torch.device('meta'):
        return MODELS.build(dict(cfg))


def _check_against(state: Mapping[str, Tensor], cfg: dict, source: str,
                   what: str) -> None:
    """Every key and shape of ``state`` must be those of the network ``cfg``."""
    expected = {
        k: tuple(v.shape)
        for k, v in _build_on_meta(cfg).state_dict().items()
    }
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        detail = (f'missing {missing[0]!r}' if missing else
                  f'unexpected {unexpected[0]!r}')
        raise ValueError(
            f'{source}: the keys do not match {what} ({len(missing)} '
            f'missing, {len(unexpected)} unexpected, e.g. {detail}); is it '
            'a complete state dict of that network?')
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise ValueError(
                f'{source}: {key} has shape {tuple(state[key].shape)}, '
                f'{what} needs {shape}.')


# ---------------------------------------------------------------------------
# identification
# ---------------------------------------------------------------------------
def _foreign_kind(keys: List[str]) -> Optional[str]:
    """Name what a non-IRN state dict looks like, or None."""
    if any(k.startswith(('RRDB_trunk.', 'conv_first.')) for k in keys):
        return 'CRM_x2_q90 (the RRDBNet restorer, netR)'
    if any(k.startswith('conv0_0.') for k in keys) and all(
            _DISC_KEY.match(k) for k in keys):
        return 'the IRN+ discriminator (Discriminator_VGG_128, netD)'
    if any(
            k.startswith(('haar_operations.', 'down_operations.',
                          'comp_operations.')) for k in keys):
        return 'a SAIN network (haar_/down_/comp_operations)'
    for detect in FOREIGN_DETECTORS:
        found = detect(keys)
        if found:
            return found
    if any(k.startswith(('generator.', 'blocks.', 'restorer.')) for k in keys):
        return ('an invtoolbox checkpoint already (keys such as '
                f'{next(k for k in keys)!r}); load it with '
                'invtoolbox.apis.init_model')
    return None


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
    blocks = '+'.join(str(n) for n in cfg['block_num'])
    if cfg['down_type'] == 'haar':
        levels = len(cfg['block_num'])
        what = (f"{levels} Haar level{'s' if levels > 1 else ''}, {blocks} "
                'couplings')
    elif cfg['down_type'] == 'conv':
        what = f"ConvDownsampling x{cfg['scale']}, {blocks} couplings"
    else:
        what = f'Conv1x1Grey, {blocks} couplings'
    return f"{what}, split {cfg['out_channels']}"


def _same_irn(a: dict, b: dict) -> bool:
    keys = ('in_channels', 'out_channels', 'scale', 'block_num', 'down_type')
    return (all(a[k] == b[k] for k in keys)
            and a['subnet'].get('growth', 32) == b['subnet'].get('growth', 32))


def _matching_archs(cfg: dict, part: str = 'generator') -> List[str]:
    names = []
    for name, spec in OFFICIAL_ARCHS.items():
        net = spec['parts'].get(part, {}).get('network')
        if net is not None and net['type'] == 'IRNNet' and _same_irn(
                cfg, net):
            names.append(name)
    return names


def describe_official_checkpoint(state_dict: Mapping) -> str:
    """A one-phrase description of an official state dict, e.g.
    ``'IRN_x4 / IRN+_x4 (2 Haar levels, 8+8 couplings, split 3)'``."""
    state = strip_state_dict(state_dict)
    keys = list(state)
    foreign = _foreign_kind(keys)
    if foreign is not None:
        return foreign
    cfg = _layout_from_irn_keys(state, 'checkpoint')
    names = _matching_archs(cfg)
    label = ' / '.join(names) if names else 'an IRN network'
    return f'{label} ({_describe_irn(cfg)})'


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
    foreign = _foreign_kind(list(state))
    if foreign is not None:
        raise ValueError(f'{source}: this checkpoint looks like {foreign}, '
                         'not an IRN network.')
    cfg = _layout_from_irn_keys(state, source)
    converted: 'OrderedDict[str, Tensor]' = OrderedDict(
        ('blocks.' + k[len('operations.'):], v) for k, v in state.items())
    _check_against(converted, cfg, source, f'IRNNet ({_describe_irn(cfg)})')
    return converted, cfg


def _convert_rrdb(state: Mapping[str, Tensor], cfg: dict, arch: str,
                  source: str) -> 'OrderedDict[str, Tensor]':
    """Validate an official RRDBNet state dict (the names are kept)."""
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
    wanted = {k: cfg[k] for k in found}
    if found != wanted:
        raise ValueError(
            f'{source}: an RRDBNet with nb={found["num_blocks"]}, '
            f'nf={found["mid_channels"]}, gc={found["growth_channels"]}, not '
            f'the {arch} restorer (nb={wanted["num_blocks"]}, '
            f'nf={wanted["mid_channels"]}, gc={wanted["growth_channels"]}).')
    out = OrderedDict(state)
    _check_against(out, cfg, source, f'the {arch} RRDBNet')
    return out


def convert_official_checkpoint(arch: str,
                                state_dict: Mapping,
                                part: Optional[str] = None,
                                source: str = 'checkpoint'
                                ) -> 'OrderedDict[str, Tensor]':
    """Convert an official released state dict for the invtoolbox network.

    Args:
        arch (str): a key of :data:`OFFICIAL_ARCHS`.
        state_dict (dict): the official state dict (as ``torch.load`` of the
            ``.pth`` gives it; a ``module.`` prefix is stripped).
        part (str, optional): which network of the model the state dict
            holds: ``'generator'`` (the IRN network; the released file of
            every IRN arch), ``'discriminator'`` (``IRN+_x4`` only: an
            official ``*_D.pth``) or ``'restorer'`` (``CRM_x2_q90``: the
            released file; its ``'generator'`` is ``IRN_x2_finetune.pth``).
            Default: the part held by the released file of ``arch``
            (``OFFICIAL_ARCHS[arch]['main']``).
        source (str): name used in error messages (e.g. the file).

    Returns:
        OrderedDict[str, Tensor]: the state dict of that part, e.g. for
        ``model.generator`` (an :class:`IRNNet`, keys ``blocks.{i}.*``).

    Raises:
        ValueError: one line, for an unknown ``arch``/``part`` or a state
            dict of another architecture or scale (saying what it looks
            like, e.g. "looks like IRN_x4 (2 Haar levels, 8+8 couplings),
            not IRN_x2 (1 Haar level, 8 couplings)").
    """
    if arch not in OFFICIAL_ARCHS:
        raise ValueError(f'unknown official arch {arch!r}; choose one of '
                         f'{", ".join(OFFICIAL_ARCHS)}.')
    spec = OFFICIAL_ARCHS[arch]
    part = spec['main'] if part is None else part
    if part not in spec['parts']:
        raise ValueError(f'{arch} has no part {part!r}; its parts are '
                         f'{", ".join(spec["parts"])}.')
    cfg = spec['parts'][part]['network']
    state = strip_state_dict(state_dict, source)
    keys = list(state)
    foreign = _foreign_kind(keys)
    wanted = f'the {arch} {part}'
    if cfg['type'] in NETWORK_CONVERTERS:
        return NETWORK_CONVERTERS[cfg['type']](state, cfg, arch, source)
    if cfg['type'] == 'IRNNet':
        if foreign is not None:
            raise ValueError(f'{source}: this checkpoint looks like '
                             f'{foreign}, not {wanted} '
                             f'({_describe_irn(cfg)}).')
        found = _layout_from_irn_keys(state, source)
        if not _same_irn(found, cfg):
            names = _matching_archs(found)
            label = ' / '.join(names) if names else 'an IRN network'
            hint = (f"; pass arch='{names[0]}'" if names else
                    '; use invtoolbox.apis.convert_irn_state_dict for '
                    'custom layouts')
            raise ValueError(
                f'{source}: this checkpoint looks like {label} '
                f'({_describe_irn(found)}), not {arch} '
                f'({_describe_irn(cfg)}){hint}.')
        converted, _ = convert_irn_state_dict(state, source)
        return converted
    if cfg['type'] == 'RRDBNet':
        if not any(k.startswith('RRDB_trunk.') for k in keys):
            looks = foreign or describe_official_checkpoint(state)
            raise ValueError(f'{source}: this checkpoint looks like {looks}, '
                             f'not {wanted} (an RRDBNet).')
        return _convert_rrdb(state, cfg, arch, source)
    # discriminator: official names are kept
    if not (foreign or '').startswith('the IRN+ discriminator'):
        looks = foreign or describe_official_checkpoint(state)
        raise ValueError(f'{source}: this checkpoint looks like {looks}, not '
                         f'{wanted} (Discriminator_VGG_128).')
    disc_cfg = dict(cfg)
    disc_cfg['mid_channels'] = int(state['conv0_0.weight'].shape[0])
    disc_cfg['in_channels'] = int(state['conv0_0.weight'].shape[1])
    if (disc_cfg['mid_channels'], disc_cfg['in_channels']) != (
            cfg['mid_channels'], cfg['in_channels']):
        raise ValueError(
            f'{source}: a discriminator with nf={disc_cfg["mid_channels"]}, '
            f'in_nc={disc_cfg["in_channels"]}, not {wanted} '
            f'(nf={cfg["mid_channels"]}, in_nc={cfg["in_channels"]}).')
    out = OrderedDict(state)
    _check_against(out, cfg, source, f'{wanted} (Discriminator_VGG_128)')
    return out


def convert_official_to_model(arch: str, **parts: Mapping
                              ) -> 'OrderedDict[str, Tensor]':
    """Convert the official state dict(s) of an arch for the whole model.

    Args:
        arch (str): a key of :data:`OFFICIAL_ARCHS`.
        **parts: ``part=state_dict`` for each given part, e.g.
            ``generator=torch.load('IRN_x4.pth')``; at least the arch's
            main part. Keys may also be ``(state_dict, source)`` tuples.

    Returns:
        OrderedDict[str, Tensor]: keys prefixed for the BaseModel
        (``generator.blocks.0.haar_weights``, ``restorer.conv_first.weight``,
        ``discriminator.conv0_0.weight``, ...).
    """
    if arch not in OFFICIAL_ARCHS:
        raise ValueError(f'unknown official arch {arch!r}; choose one of '
                         f'{", ".join(OFFICIAL_ARCHS)}.')
    main = OFFICIAL_ARCHS[arch]['main']
    if parts.get(main) is None:
        raise ValueError(f'{arch}: the {main} state dict is required '
                         f"({OFFICIAL_ARCHS[arch]['checkpoint']}).")
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for part, value in parts.items():
        if value is None:
            continue
        source = part
        if isinstance(value, tuple):
            value, source = value
        converted = convert_official_checkpoint(arch, value, part, source)
        for key, tensor in converted.items():
            out[f'{part}.{key}'] = tensor
    return out
