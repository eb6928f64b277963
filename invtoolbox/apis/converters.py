# Copyright (c) invtoolbox contributors. All rights reserved.
"""The public entry points of the official-checkpoint converters.

Every family registers its arch names in
:data:`invtoolbox.registry.CONVERTERS` from its own folder
(``models/editors/irn/irn_converter.py``, ``sain/sain_converter.py``,
``iicnet/iicnet_converter.py``; the base class is
:class:`~invtoolbox.models.base_models.official_converter.
OfficialConverter`). The functions here dispatch on the arch name only:
no family is special.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator, Mapping, Optional

from torch import Tensor

from ..models.base_models.official_converter import (OfficialArchSpec,
                                                     describe_state,
                                                     find_official_layout,
                                                     get_converter,
                                                     official_arch_names,
                                                     strip_state_dict)

__all__ = [
    'OFFICIAL_ARCHS', 'convert_official_checkpoint',
    'convert_official_to_model', 'describe_official_checkpoint'
]


class _OfficialArchs(Mapping):
    """Read-only view of ``CONVERTERS``: arch name -> its
    :class:`OfficialArchSpec` (``description``, ``checkpoint``, ``model``,
    ``scale``, ``main``, ``parts[part]['network'|'file']``, IICNet's
    ``task``). A family registered later (a plugin) shows up here."""

    def __getitem__(self, arch: str) -> OfficialArchSpec:
        if not isinstance(arch, str) or arch not in official_arch_names():
            raise KeyError(arch)
        return get_converter(arch).spec

    def __contains__(self, arch: object) -> bool:
        return isinstance(arch, str) and arch in official_arch_names()

    def __iter__(self) -> Iterator[str]:
        return iter(official_arch_names())

    def __len__(self) -> int:
        return len(official_arch_names())

    def __repr__(self) -> str:
        return f'OFFICIAL_ARCHS({", ".join(self)})'


#: Every official arch name -> its description (read-only; see
#: :class:`~invtoolbox.models.base_models.official_converter.
#: OfficialArchSpec`).
OFFICIAL_ARCHS: Mapping[str, OfficialArchSpec] = _OfficialArchs()


def convert_official_checkpoint(arch: str,
                                state_dict: Any,
                                part: Optional[str] = None,
                                source: str = 'checkpoint'
                                ) -> 'OrderedDict[str, Tensor]':
    """Convert an official released state dict for the invtoolbox network.

    Args:
        arch (str): a key of :data:`OFFICIAL_ARCHS`.
        state_dict: the official object as ``torch.load`` of the released
            file gives it (a state dict; a ``module.`` prefix and a
            ``{'state_dict': ...}`` wrapper are allowed).
        part (str, optional): which network of the model it holds, e.g.
            ``'generator'``, ``'discriminator'`` (``IRN+_x4``: an official
            ``*_D.pth``) or ``'restorer'`` (``CRM_x2_q90``, whose
            ``'generator'`` is ``IRN_x2_finetune.pth``). Default: the part
            the released file holds (``OFFICIAL_ARCHS[arch]['main']``).
        source (str): name used in error messages (e.g. the file).

    Returns:
        OrderedDict[str, Tensor]: the state dict of that part, e.g. for
        ``model.generator``.

    Raises:
        ValueError: one line, for an unknown ``arch``/``part`` or a state
            dict of another architecture or scale (saying what it looks
            like, e.g. "looks like IRN_x4 (2 Haar levels, 8+8 couplings),
            not IRN_x2 (1 Haar level, 8 couplings)").
    """
    return get_converter(arch).convert(state_dict, part, source)


def convert_official_to_model(arch: str, **parts: Any
                              ) -> 'OrderedDict[str, Tensor]':
    """Convert the official state dict(s) of an arch for the whole model.

    Args:
        arch (str): a key of :data:`OFFICIAL_ARCHS`.
        **parts: ``part=state_dict`` for each given part, e.g.
            ``generator=torch.load('IRN_x4.pth')``; at least the arch's
            main part. Values may also be ``(state_dict, source)`` tuples.

    Returns:
        OrderedDict[str, Tensor]: keys prefixed for the BaseModel
        (``generator.blocks.0.haar_weights``, ``restorer.conv_first.weight``,
        ``discriminator.conv0_0.weight``, ...).
    """
    converter = get_converter(arch)
    main = converter.main
    if parts.get(main) is None:
        raise ValueError(f'{arch}: the {main} state dict is required '
                         f"({converter.info['checkpoint']}).")
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for part, value in parts.items():
        if value is None:
            continue
        source = part
        if isinstance(value, tuple):
            value, source = value
        converted = converter.convert(value, part, source)
        for key, tensor in converted.items():
            out[f'{part}.{key}'] = tensor
    return out


def describe_official_checkpoint(state_dict: Mapping) -> str:
    """A one-phrase description of an official state dict, e.g.
    ``'IRN_x4 / IRN+_x4 (2 Haar levels, 8+8 couplings, split 3)'``.

    Raises:
        ValueError: one line, when the state dict is malformed or of no
            layout that a registered family knows.
    """
    state = strip_state_dict(state_dict)
    found = find_official_layout(list(state))
    if found is not None:
        family, layout = found
        return family.describe_layout(layout, state)
    looks = describe_state(state)
    if looks is not None:
        return looks
    raise ValueError(
        f'checkpoint: keys such as {next(iter(state))!r} are of no official '
        'layout that invtoolbox converts (see invtoolbox.apis.OFFICIAL_ARCHS '
        'or tools/model_converters/convert_official.py --list).')
