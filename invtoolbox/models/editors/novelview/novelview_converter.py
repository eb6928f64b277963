# Copyright (c) invtoolbox contributors. All rights reserved.
"""The official novel-view checkpoints
(YueWuHKUST/ICCV2021-Embedding-Novel-Views-in-a-Single-JPEG-Image) and
their converter.

The release is three plain state dicts per MPI source (Stereo
Magnification, PB-MPI, LLFF): ``encoder_003_00015000.pth``
(``EncoderAlphaWeight``, 7,050,435 parameters),
``decoder_003_00015000.pth`` (``Decoder``, 1,625,728) and
``discriminator_003_00015000.pth`` (pix2pixHD ``MultiscaleDiscriminator``).
The official loader strips a ``module.`` prefix (``nn.DataParallel``).

``convert_official_checkpoint('NovelViewJPEG', {'encoder': enc_sd,
'decoder': dec_sd})`` returns the state dict of :class:`NovelViewJPEGNet`
(the official keys under ``encoder.`` / ``decoder.``); the discriminator
converts as the part ``'discriminator'`` (keys unchanged). On the command
line::

    python tools/model_converters/convert_official.py NovelViewJPEG \\
        encoder=encoder_003_00015000.pth,decoder=decoder_003_00015000.pth \\
        novelview_stereo.pth --discriminator discriminator_003_00015000.pth
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, List, Mapping, Optional

from torch import Tensor

from ....registry import CONVERTERS
from ...base_models.official_converter import (OfficialConverter,
                                               describe_state,
                                               strip_state_dict)

__all__ = ['NovelViewConverter', 'NOVELVIEW_ARCHS']

_FILES = ('{{encoder,decoder}}_003_00015000.pth (Google Drive, '
          'YueWuHKUST/ICCV2021-Embedding-Novel-Views-in-a-Single-JPEG-Image '
          '@ fda1622)')

NOVELVIEW_ARCHS = {
    'NovelViewJPEG': dict(
        config='configs/novelview/novelview_realestate10k.py',
        description='Embedding Novel Views in a Single JPEG Image (ICCV '
        '2021): EncoderAlphaWeight (32 planes) + Decoder, trained on '
        'RealEstate10K MPIs (Stereo Magnification, PB-MPI or LLFF '
        'release)',
        checkpoint='encoder_003_00015000.pth + decoder_003_00015000.pth',
        files=dict(generator=_FILES.format(),
                   discriminator='discriminator_003_00015000.pth')),
}

_PARTS = ('encoder', 'decoder')
#: a key only the official encoder / decoder / discriminator has
_MARKERS = dict(encoder='input_rgb_feature_extractors.',
                decoder='middle_feature_res_blocks.',
                discriminator='layer0.')


def _network_of(keys: List[str]) -> Optional[str]:
    for name, marker in _MARKERS.items():
        if any(k.startswith(marker) for k in keys):
            if name == 'discriminator' and not any(
                    k.startswith('layer0.0.') for k in keys):
                continue
            return name
    return None


@CONVERTERS.register_module(name=list(NOVELVIEW_ARCHS))
class NovelViewConverter(OfficialConverter):
    """Novel views in a JPEG: :data:`NOVELVIEW_ARCHS`."""

    archs = NOVELVIEW_ARCHS
    layouts = {
        'NovelViewJPEGNet': 'the novel-view JPEG encoder + decoder pair',
        'NovelViewEncoder': 'the novel-view JPEG encoder (EncoderAlphaWeight)',
        'NovelViewDecoder': 'the novel-view JPEG decoder',
    }

    @classmethod
    def layout_of(cls, keys: List[str]) -> Optional[str]:
        keys = list(keys)
        if any(k.startswith('encoder.input_rgb_feature_extractors.')
               for k in keys):
            return 'NovelViewJPEGNet'
        found = _network_of(keys)
        return {'encoder': 'NovelViewEncoder',
                'decoder': 'NovelViewDecoder'}.get(found)

    def prepare(self, state_dict: Any, part: str,
                source: str) -> 'OrderedDict[str, Tensor]':
        if part != 'generator':
            return strip_state_dict(state_dict, source)
        if not isinstance(state_dict, Mapping) or \
                set(state_dict) != set(_PARTS):
            keys = list(state_dict) if isinstance(state_dict, Mapping) else []
            single = _network_of([str(k).replace('module.', '', 1)
                                  for k in keys])
            hint = (f' (this one is the official {single} alone)'
                    if single in _PARTS else '')
            raise ValueError(
                f'{source}: NovelViewJPEG converts the released pair '
                "{'encoder': state_dict, 'decoder': state_dict}" + hint +
                '; on the command line give '
                'encoder=ENCODER.pth,decoder=DECODER.pth.')
        out: 'OrderedDict[str, Tensor]' = OrderedDict()
        for name in _PARTS:
            state = strip_state_dict(state_dict[name], f'{source} [{name}]')
            found = _network_of(list(state))
            if found != name:
                looks = (f'the official {found}' if found in _MARKERS else
                         describe_state(state) or 'something else')
                raise ValueError(
                    f'{source}: the {name!r} entry looks like {looks}, not '
                    f'the official novel-view {name}; swap or fix the files.')
            out.update((f'{name}.{k}', v) for k, v in state.items())
        return out

    def check_layout(self, state, part, network, source) -> None:
        if part == 'generator':
            return  # checked entry by entry in prepare()
        super().check_layout(state, part, network, source)

    def describe_part(self, part: str, network: dict) -> str:
        if part == 'generator':
            return (f'the {self.arch} encoder + decoder '
                    f"({network.get('num_planes', 32)} planes)")
        return f'the {self.arch} {part} (MultiscaleDiscriminator)'

    @classmethod
    def describe_model_part(cls, part: str,
                            state: Mapping[str, Tensor]) -> Optional[str]:
        if part != 'generator' or not any(
                k.startswith('encoder.input_rgb_feature_extractors.')
                for k in state):
            return None
        planes = sum(1 for k in state
                     if k.startswith('encoder.input_rgb_feature_extractors.')
                     and k.endswith('.layers.0.weight'))
        return f'the novel-view JPEG encoder + decoder ({planes} planes)'

    def convert_part(self, state: 'OrderedDict[str, Tensor]', part: str,
                     network: dict,
                     source: str) -> 'OrderedDict[str, Tensor]':
        return OrderedDict(state)
