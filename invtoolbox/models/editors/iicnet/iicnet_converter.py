# Copyright (c) invtoolbox contributors. All rights reserved.
"""Official IICNet checkpoints (felixcheng97/IICNet) -> :class:`IICNetNet`.

The official code saves ``nn.ModuleList([rel, down, block, cs, quant])
.state_dict()``, so the keys carry numeric prefixes:

- ``0.forw_rel.*`` / ``0.back_rel.*``: the relation module (absent without
  it), with ``DB_heads``, ``conv_1x1_heads``, ``conv_merges``,
  ``conv_1x1_tails``, ``DB_tails`` per image;
- ``1.operations.0.haar_weights`` (Haar) and ``1.operations.1.weight`` (the
  invertible 1x1 conv): the optional x2 downscaling (a squeeze has no
  parameters, so only its 1x1 conv appears);
- ``2.operations.{k}.{F,G,H}.conv{1-5}.{weight,bias}``: the couplings.

:func:`convert_iicnet_state_dict` derives the layout from the keys and
shapes and renames ``0.`` -> ``rel.`` (``DB_heads`` -> ``head_blocks``, ...),
``1.operations.`` -> ``down.blocks.``, ``2.operations.`` -> ``inn.blocks.``.
:class:`IICNetConverter` is registered in ``CONVERTERS`` under one arch per
released config id (``IICNet_st-01`` ... ``IICNet_supp-sr-01``,
:data:`IICNET_ARCHS`); each names the config of that id in
``configs/iicnet/``, whose ``model.task`` and ``model.generator`` (with the
model's own fill-ins, :func:`iicnet_generator_config`) give the task and
the network.

What the keys cannot show: the embedding channels with ``'hl'``
downscaling (3 assumed) and the order (``'hl'`` / ``'ref'``) when both give
the same split; converting under a named arch takes them from the arch.
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
from .iicnet import iicnet_generator_config
from .iicnet_net import iicnet_layout

__all__ = ['IICNetConverter', 'IICNET_ARCHS', 'IICNET_CONFIG_IDS',
           'convert_iicnet_state_dict', 'describe_iicnet_layout']

_DENSE = dict(type='DenseBlock', growth=32, init='xavier')

#: official sub-module names of ``RelBlock`` -> :class:`RelationBlock`.
_REL_NAMES = {
    'DB_heads': 'head_blocks',
    'conv_1x1_heads': 'head_convs',
    'conv_merges': 'merge_convs',
    'conv_1x1_tails': 'tail_convs',
    'DB_tails': 'tail_blocks',
}
_OFFICIAL_REL_NAMES = {ours: theirs for theirs, ours in _REL_NAMES.items()}
_REL_KEY = re.compile(r'^0\.(forw_rel|back_rel)\.(' + '|'.join(_REL_NAMES) +
                      r')\.(\d+)\.(.+)$')
_OUR_REL_KEY = re.compile(r'^rel\.(forw_rel|back_rel)\.(' +
                          '|'.join(_OFFICIAL_REL_NAMES) + r')\.(.+)$')
_DOWN_KEY = re.compile(r'^1\.operations\.([01])\.(haar_weights|weight)$')
_INN_KEY = re.compile(r'^2\.operations\.(\d+)\.([FGH])\.conv([1-5])\.'
                      r'(weight|bias)$')

# released config id -> (its config in configs/iicnet/, description)
_RELEASED = {
    'st-01': ('video_embed.py', 'video embedding, 5 frames (default)'),
    'st-02': ('video_embed_norel.py', 'video embedding, 5 frames, ablation '
              'without the relation module (30 couplings)'),
    'st-03': ('video_embed_nofreq.py', 'video embedding, 5 frames, '
              'ablation without the frequency loss'),
    'st-04': ('video_embed_7f.py', 'video embedding, 7 frames'),
    'st-05': ('video_embed_9f.py', 'video embedding, 9 frames'),
    'st-06': ('video_embed_down2.py', 'spatio-temporal embedding, 3 frames '
              "into a half-size image (Haar 'hl' + 1x1 conv)"),
    'st-07': ('video_embed_down2_5f.py', 'spatio-temporal embedding, 5 '
              "frames into a half-size image (squeeze 'ref' + 1x1 conv)"),
    'mono-01': ('mono_binocular.py', 'binocular mononizing'),
    'mono-02': ('mono_binocular_norel.py', 'binocular mononizing, ablation '
                'without the relation module (24 couplings)'),
    'mono-03': ('mono_binocular_nofreq.py', 'binocular mononizing, '
                'ablation without the frequency loss'),
    'dual-01': ('dual_view_x2.py', 'dual-view embedding x2'),
    'dual-02': ('dual_view_x4.py', 'dual-view embedding x4'),
    'dual-03': ('dual_view_x8.py', 'dual-view embedding x8'),
    'adobe-01': ('composition.py', 'composition / decomposition (Adobe: '
                 'composite, background, foreground)'),
    'real-01': ('composition_real.py', 'composition / decomposition '
                '(Real-Matting: frame, background)'),
    'hide-01': ('hide_1.py', 'image hiding, 1 secret image'),
    'hide-02': ('hide_2.py', 'image hiding, 2 secret images'),
    'hide-03': ('hide_3.py', 'image hiding, 3 secret images'),
    'hide-04': ('hide_4.py', 'image hiding, 4 secret images'),
    'hide-05': ('hide_4_norel.py', 'image hiding, 4 secret images, ablation '
                'without the relation module (30 couplings)'),
    'hide-06': ('hide_4_nofreq.py', 'image hiding, 4 secret images, '
                'ablation without the frequency loss'),
    'supp-gray-01': ('grayscale.py', 'invertible grayscale (supplement)'),
    'supp-sr-01': ('rescaling_x2.py', "image rescaling x2 (supplement; "
                   "squeeze 'hl' + 1x1 conv)"),
}

#: the released config ids, in the official order.
IICNET_CONFIG_IDS = tuple(_RELEASED)

#: One arch per released config id (Google Drive folder
#: ``1Z-cGJLjqwh5kXFDTx8UerNyUfafLH0v8``, one
#: ``experiments/<id>/models/latest.pth`` each): what no config says.
IICNET_ARCHS = {
    f'IICNet_{cid}': dict(
        config=f'configs/iicnet/{config}',
        description=f'IICNet {cid} (ICCV 2021): {desc}',
        checkpoint=f'experiments/{cid}/models/latest.pth',
        files=dict(generator=f'experiments/{cid}/models/latest.pth'))
    for cid, (config, desc) in _RELEASED.items()
}


# ---------------------------------------------------------------------------
# layout
# ---------------------------------------------------------------------------
def _is_iicnet(keys: List[str]) -> bool:
    return any(k.startswith(('0.forw_rel.', '0.back_rel.', '2.operations.'))
               for k in keys)


def _signature(cfg: dict) -> dict:
    """What the keys of a network config show (see :func:`_found_layout`)."""
    down = cfg.get('down')
    layout = iicnet_layout(cfg['num_images'], cfg.get('out_channels', 3),
                           down)
    kind = None
    if down is not None:
        conv = down.get('use_conv1x1', True)
        if down.get('type', 'haar') == 'haar':
            kind = 'haar+1x1' if conv else 'haar'
        elif conv:
            kind = 'squeeze+1x1'
    use_rel = cfg.get('use_rel', True)
    growth = (cfg.get('subnet') or {}).get('growth', 32)
    return dict(
        use_rel=use_rel,
        num_images=cfg['num_images'] if use_rel else None,
        rel_channels=cfg.get('rel_channels', 64) if use_rel else None,
        down=kind,
        block_num=cfg.get('block_num', 10),
        split=(layout['split1'], layout['split2']),
        growth=growth)


def _found_layout(state: Mapping[str, Tensor], source: str) -> dict:
    """The layout an official IICNet state dict shows (keys and shapes)."""
    rel: Dict[str, set] = {'forw_rel': set(), 'back_rel': set()}
    down: Dict[int, Tuple[str, Tensor]] = {}
    blocks: Dict[int, Dict[str, Tensor]] = {}
    for key, value in state.items():
        match = _REL_KEY.match(key)
        if match:
            rel[match.group(1)].add(int(match.group(3)))
            continue
        match = _DOWN_KEY.match(key)
        if match:
            down[int(match.group(1))] = (match.group(2), value)
            continue
        match = _INN_KEY.match(key)
        if match:
            name = f'{match.group(2)}.conv{match.group(3)}.{match.group(4)}'
            blocks.setdefault(int(match.group(1)), {})[name] = value
            continue
        raise ValueError(
            f'{source}: key {key!r} is not of the official IICNet layout '
            "('0.{forw_rel,back_rel}.{DB_heads,conv_1x1_heads,conv_merges,"
            "conv_1x1_tails,DB_tails}.{i}.*', '1.operations.{0,1}.*', "
            "'2.operations.{k}.{F,G,H}.conv{1-5}.*').")
    if not blocks:
        raise ValueError(f'{source}: no coupling keys (2.operations.*); '
                         'this is not a complete IICNet state dict.')
    indices = sorted(blocks)
    if indices != list(range(len(indices))):
        raise ValueError(f'{source}: 2.operations indices {indices[:12]} are '
                         'not contiguous from 0; the state dict is partial.')
    try:
        f1 = blocks[0]['F.conv1.weight']
        f5 = blocks[0]['F.conv5.weight']
    except KeyError as err:
        raise ValueError(f'{source}: 2.operations.0 lacks '
                         f'{err.args[0]}.') from None
    use_rel = bool(rel['forw_rel'] or rel['back_rel'])
    num_images = rel_channels = None
    if use_rel:
        if rel['forw_rel'] != rel['back_rel']:
            raise ValueError(f'{source}: forw_rel and back_rel hold different '
                             'numbers of images; the state dict is partial.')
        num_images = len(rel['forw_rel'])
        head = state.get('0.forw_rel.DB_heads.0.conv5.weight')
        if head is None:
            raise ValueError(f'{source}: 0.forw_rel.DB_heads.0.conv5.weight '
                             'is missing.')
        rel_channels = int(head.shape[0])
    kind = None
    if 0 in down and down[0][0] == 'haar_weights':
        kind = 'haar+1x1' if 1 in down else 'haar'
    elif 1 in down and down[1][0] == 'weight':
        kind = 'squeeze+1x1'
    elif down:
        raise ValueError(f'{source}: unexpected downscaling keys '
                         f'{sorted(k for k in state if k.startswith("1."))}.')
    return dict(
        use_rel=use_rel,
        num_images=num_images,
        rel_channels=rel_channels,
        down=kind,
        block_num=len(indices),
        split=(int(f5.shape[0]), int(f1.shape[1])),
        growth=int(f1.shape[0]))


def describe_iicnet_layout(layout: dict) -> str:
    """A short phrase for a layout of :func:`_signature` form."""
    parts = []
    if layout['use_rel']:
        parts.append(f"{layout['num_images']} images, relation module")
    else:
        parts.append('no relation module')
    parts.append({
        None: 'no downscaling',
        'haar': 'Haar x2',
        'haar+1x1': 'Haar x2 + 1x1 conv',
        'squeeze+1x1': 'squeeze x2 + 1x1 conv'
    }[layout['down']])
    split = layout['split']
    parts.append(f"{layout['block_num']} couplings, split {split[0]}/"
                 f'{split[1]}')
    return ', '.join(parts)


def _matching_archs(found: dict) -> List[str]:
    return [
        name for name in IICNET_ARCHS
        if _signature(get_converter(name).network('generator')) == found
    ]


def _config_from_layout(found: dict, source: str) -> dict:
    """An :class:`IICNetNet` config that fits a found layout."""
    split1, split2 = found['split']
    channels = split1 + split2
    scale = 1 if found['down'] is None else 2
    down = None
    if found['down'] is None:
        out_channels = split1
    else:
        down = dict(
            type='haar' if found['down'].startswith('haar') else 'squeeze',
            use_conv1x1=found['down'].endswith('1x1'))
        if split1 * 4 == channels:
            down['order'], out_channels = 'hl', 3
        else:
            down['order'], out_channels = 'ref', split1 // 4
    num_images = found['num_images']
    if num_images is None:
        num_images = channels // (3 * scale * scale)
    if num_images * 3 * scale * scale != channels:
        raise ValueError(
            f'{source}: the couplings have {channels} channels, which is not '
            f'{num_images} image(s) x 3 x {scale}^2; the state dict is not a '
            'consistent IICNet network.')
    return dict(
        type='IICNetNet',
        num_images=int(num_images),
        out_channels=int(out_channels),
        use_rel=found['use_rel'],
        rel_channels=found['rel_channels'] or 64,
        down=down,
        block_num=found['block_num'],
        subnet=dict(_DENSE, growth=found['growth']))


def _rename(key: str) -> str:
    match = _REL_KEY.match(key)
    if match:
        which, name, idx, rest = match.groups()
        return f'rel.{which}.{_REL_NAMES[name]}.{idx}.{rest}'
    if key.startswith('1.operations.'):
        return 'down.blocks.' + key[len('1.operations.'):]
    return 'inn.blocks.' + key[len('2.operations.'):]


def _to_official(key: str) -> str:
    """A converted key -> the official one (for error messages)."""
    match = _OUR_REL_KEY.match(key)
    if match:
        which, name, rest = match.groups()
        return f'0.{which}.{_OFFICIAL_REL_NAMES[name]}.{rest}'
    if key.startswith('down.blocks.'):
        return '1.operations.' + key[len('down.blocks.'):]
    if key.startswith('inn.blocks.'):
        return '2.operations.' + key[len('inn.blocks.'):]
    return key


# ---------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------
def _convert(state: Mapping[str, Tensor], source: str, network: dict,
             wanted_name: str) -> 'OrderedDict[str, Tensor]':
    """Rename an IICNet state dict whose layout must be ``network``'s."""
    found = _found_layout(state, source)
    wanted = _signature(network)
    if found != wanted:
        names = _matching_archs(found)
        label = ' / '.join(names) if names else 'an IICNet network'
        hint = f"; pass arch='{names[0]}'" if names else ''
        raise ValueError(
            f'{source}: this checkpoint looks like {label} '
            f'({describe_iicnet_layout(found)}), not {wanted_name} '
            f'({describe_iicnet_layout(wanted)}){hint}.')
    return OrderedDict((_rename(k), v) for k, v in state.items())


def convert_iicnet_state_dict(state_dict: Mapping,
                              source: str = 'checkpoint',
                              network: Optional[dict] = None
                              ) -> Tuple['OrderedDict[str, Tensor]', dict]:
    """Convert an official IICNet state dict of any layout.

    Args:
        state_dict (dict): the official tensors (``0.``/``1.``/``2.``
            prefixes; a ``module.`` prefix and a ``state_dict`` wrapper are
            allowed).
        source (str): name used in error messages (e.g. the file).
        network (dict, optional): the :class:`IICNetNet` config the state
            dict must fit (e.g. an arch's); default: derived from the keys
            (embedding channels 3 assumed with ``'hl'`` downscaling).

    Returns:
        tuple[OrderedDict, dict]: the state dict of :class:`IICNetNet`
        (``rel.*``, ``down.blocks.*``, ``inn.blocks.*``) and its config.

    Raises:
        ValueError: one line, when the keys are not an IICNet network's or
            do not fit ``network`` (saying what they look like).
    """
    state = strip_state_dict(state_dict, source)
    if not _is_iicnet(list(state)):
        looks = describe_state(state) or \
            f'an unknown network (keys such as {next(iter(state))!r})'
        raise ValueError(f'{source}: this checkpoint looks like {looks}, '
                         'not an IICNet network.')
    if network is None:
        network = _config_from_layout(_found_layout(state, source), source)
    network = dict(network)
    converted = _convert(state, source, network, 'an IICNet network')
    check_against(converted, network, source,
                  f'IICNetNet ({describe_iicnet_layout(_signature(network))})',
                  _to_official)
    return converted, network


@CONVERTERS.register_module(name=list(IICNET_ARCHS))
class IICNetConverter(OfficialConverter):
    """IICNet: one arch per released config id (:data:`IICNET_ARCHS`),
    with its task (``OFFICIAL_ARCHS[arch]['task']``)."""

    archs = IICNET_ARCHS
    layouts = {
        'IICNetNet': 'an IICNet network (keys 0.forw_rel.* / 2.operations.*)'
        '; convert it with an IICNet_* arch'
    }
    spec_keys = ('task', )

    @classmethod
    def layout_of(cls, keys: List[str]) -> Optional[str]:
        return 'IICNetNet' if _is_iicnet(keys) else None

    def networks(self, model: dict) -> Dict[str, dict]:
        from ....tasks import build_task
        task = build_task(model['task'])
        return dict(generator=iicnet_generator_config(
            task, model.get('generator')))

    def scale(self, model: dict, networks: Dict[str, dict]) -> int:
        return int(iicnet_layout(
            networks['generator']['num_images'],
            networks['generator'].get('out_channels', 3),
            networks['generator'].get('down'))['scale'])

    def extra_spec(self, model: dict, networks: Dict[str, dict]) -> dict:
        return dict(task=model['task'])

    def describe_part(self, part: str, network: dict) -> str:
        return f'{self.arch} ({describe_iicnet_layout(_signature(network))})'

    def official_key(self, part: str, key: str) -> str:
        return _to_official(key)

    def convert_part(self, state: 'OrderedDict[str, Tensor]', part: str,
                     network: dict,
                     source: str) -> 'OrderedDict[str, Tensor]':
        return _convert(state, source, network, self.arch)
