# Copyright (c) invtoolbox contributors. All rights reserved.
"""The base of the converters from the official released checkpoints.

Every family of official checkpoints (IRN, SAIN, IICNet, ...) converts with
one subclass of :class:`OfficialConverter` in its ``editors/<algo>/``
folder, registered in :data:`invtoolbox.registry.CONVERTERS` under each of
its official arch names::

    from invtoolbox.models.base_models.official_converter import \\
        OfficialConverter
    from invtoolbox.registry import CONVERTERS

    MY_ARCHS = {
        'MyNet_x2': dict(
            config='configs/mynet/mynet_x2_div2k.py',   # trains that setting
            description='MyNet x2 (CVPR 2030)',
            checkpoint='mynet_x2.pth',                  # the released file
            files=dict(generator='mynet_x2.pth')),      # part -> file
    }

    @CONVERTERS.register_module(name=list(MY_ARCHS))
    class MyNetConverter(OfficialConverter):
        archs = MY_ARCHS
        layouts = {'MyNet': 'a MyNet network (body.*, tail.*)'}

        @classmethod
        def layout_of(cls, keys):          # name the official key layout
            return 'MyNet' if any(k.startswith('body.') for k in keys) \\
                else None

        def convert_part(self, state, part, network, source):
            return OrderedDict((k.replace('body.', 'trunk.'), v)
                               for k, v in state.items())

What the converter does not write again is what the config says: the
network of each part is read from the named config's ``model`` (lazily,
cached; :meth:`OfficialConverter.networks` applies a model's own fill-ins),
as are the model type and scale. What stays in the family's file is what no
config says: the official file names, the description, the key renaming and
the layout detection.

The base supplies what every family shares: unwrapping ``{'state_dict':
...}`` and stripping ``module.`` (:func:`strip_state_dict`), naming what a
checkpoint of another family or part looks like (one line), and checking
every key and shape against the network built on the meta device
(:func:`check_against`). A family whose official release is not one state
dict (e.g. ``{'encoder': sd, 'decoder': sd}``) overrides
:meth:`OfficialConverter.prepare`.
"""
from __future__ import annotations

import copy
import functools
from collections import OrderedDict
from typing import (Any, Callable, ClassVar, Dict, Iterator, List, Mapping,
                    Optional, Sequence, Tuple, Type)

import torch
from torch import Tensor

from ...registry import CONVERTERS, MODELS

__all__ = [
    'OfficialConverter', 'OfficialArchSpec', 'strip_state_dict',
    'check_against', 'build_on_meta', 'load_model_config',
    'converter_families', 'official_arch_names', 'get_converter',
    'find_official_layout', 'describe_state', 'INVTOOLBOX_PREFIXES'
]

#: key prefixes of invtoolbox checkpoints (model or converted network)
INVTOOLBOX_PREFIXES = ('generator.', 'restorer.', 'blocks.', 'inn.blocks.')


# ---------------------------------------------------------------------------
# helpers every family shares
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


def build_on_meta(network: Mapping) -> torch.nn.Module:
    """Build a ``MODELS`` network config on the meta device (no memory)."""
    from ... import models  # noqa: F401  (registers the networks)
    with torch.device('meta'):
        return MODELS.build(copy.deepcopy(dict(network)))


def check_against(state: Mapping[str, Tensor],
                  network: Mapping,
                  source: str,
                  what: str,
                  official_key: Optional[Callable[[str], str]] = None,
                  any_shape: Optional[Callable[[str], bool]] = None
                  ) -> None:
    """Every key and shape of ``state`` must be those of ``network``.

    Args:
        state (dict): the converted state dict.
        network (dict): the ``MODELS`` config it must fill.
        source (str): the name in error messages (e.g. the file).
        what (str): the network in error messages.
        official_key (callable, optional): converted key -> official key,
            so that a message names both (``official (-> ours)``).
        any_shape (callable, optional): converted key -> True for the
            tensors that must be present but may have any shape (buffers
            whose size depends on the data, e.g. a learned codec's CDF
            tables).

    Raises:
        ValueError: one line, naming the first missing / unexpected key or
            the first shape that differs.
    """
    expected = {
        k: tuple(v.shape)
        for k, v in build_on_meta(network).state_dict().items()
    }

    def name(key: str) -> str:
        official = official_key(key) if official_key else key
        return key if official == key else f'{official} (-> {key})'

    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        detail = (f'missing {name(missing[0])!r}' if missing else
                  f'unexpected {name(unexpected[0])!r}')
        raise ValueError(
            f'{source}: the keys do not match {what} ({len(missing)} '
            f'missing, {len(unexpected)} unexpected, e.g. {detail}); is it '
            'a complete state dict of that network?')
    for key, shape in expected.items():
        if any_shape is not None and any_shape(key):
            continue
        if tuple(state[key].shape) != shape:
            raise ValueError(
                f'{source}: {name(key)} has shape {tuple(state[key].shape)}, '
                f'{what} needs {shape}.')


def _plain(value: Any) -> Any:
    """ConfigDicts -> plain dicts (so that checkpoint metadata stays
    loadable with ``weights_only=True``)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


@functools.lru_cache(maxsize=None)
def _load_model_config(config: str) -> dict:
    from mmengine.config import Config

    from ...utils.config_finder import find_config
    path = find_config(config)
    cfg = Config.fromfile(path)
    if not isinstance(cfg.get('model'), Mapping):
        raise ValueError(f'{config}: the config has no model dict.')
    return _plain(cfg.model)


def load_model_config(config: str) -> dict:
    """The ``model`` dict of a config (found with
    :func:`~invtoolbox.utils.config_finder.find_config`; parsed once per
    process), as a fresh plain dict."""
    return copy.deepcopy(_load_model_config(str(config)))


# ---------------------------------------------------------------------------
# the registry: families and layouts
# ---------------------------------------------------------------------------
def converter_families() -> List[Type['OfficialConverter']]:
    """The registered converter classes, in registration order."""
    CONVERTERS.import_from_location()
    families: List[type] = []
    for cls in CONVERTERS.module_dict.values():
        if cls not in families:
            families.append(cls)
    return families


def official_arch_names() -> List[str]:
    """Every registered official arch name, in registration order."""
    CONVERTERS.import_from_location()
    return list(CONVERTERS.module_dict)


@functools.lru_cache(maxsize=None)
def _converter(cls: type, arch: str) -> 'OfficialConverter':
    return cls(arch)


def get_converter(arch: str) -> 'OfficialConverter':
    """The converter of an official arch (one instance per arch).

    Raises:
        ValueError: one line, for a name no family registered.
    """
    CONVERTERS.import_from_location()
    cls = CONVERTERS.module_dict.get(arch) if isinstance(arch, str) else None
    if cls is None:
        raise ValueError(f'unknown official arch {arch!r}; choose one of '
                         f'{", ".join(CONVERTERS.module_dict)}.')
    return _converter(cls, arch)


def find_official_layout(
        keys: Sequence[str]) -> Optional[Tuple[type, str]]:
    """``(family, layout)`` of the first family that recognises the keys of
    an official state dict, or None."""
    keys = list(keys)
    for family in converter_families():
        layout = family.layout_of(keys)
        if layout is not None:
            return family, layout
    return None


def _invtoolbox_phrase(keys: Sequence[str]) -> Optional[str]:
    if any(k.startswith(INVTOOLBOX_PREFIXES) for k in keys):
        return ('an invtoolbox checkpoint already (keys such as '
                f'{next(iter(keys))!r}); load it with '
                'invtoolbox.apis.init_model')
    return None


def describe_state(state: Mapping[str, Tensor]) -> Optional[str]:
    """A phrase naming what a (stripped) state dict looks like, or None
    when no family recognises it. Never raises."""
    keys = list(state)
    found = find_official_layout(keys)
    if found is None:
        return _invtoolbox_phrase(keys)
    family, layout = found
    try:
        return family.describe_layout(layout, state)
    except ValueError:
        return family.layouts.get(layout, f'an official {layout} network')


# ---------------------------------------------------------------------------
# the base class
# ---------------------------------------------------------------------------
class OfficialArchSpec(Mapping):
    """The read-only description of one official arch, as listed in
    ``invtoolbox.apis.OFFICIAL_ARCHS[arch]``.

    Keys: ``description``, ``checkpoint`` (the released file), ``model``
    (the BaseModel type), ``scale``, ``main`` (the part the released file
    holds), ``parts`` (``{part: {'network': cfg, 'file': official file}}``)
    and a family's own keys (IICNet: ``task``). What the configs say
    (``model``, ``scale``, ``parts``, ...) is read on first access; every
    access returns a fresh copy.
    """

    def __init__(self, converter: 'OfficialConverter') -> None:
        self._converter = converter
        self._keys = ('description', 'checkpoint', 'model',
                      *converter.spec_keys, 'scale', 'main', 'parts')

    def __getitem__(self, key: str) -> Any:
        conv = self._converter
        if key == 'description':
            return conv.info['description']
        if key == 'checkpoint':
            return conv.info['checkpoint']
        if key == 'main':
            return conv.main
        if key in self._keys:
            return copy.deepcopy(conv.model_info()[key])
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return (f'OfficialArchSpec({self._converter.arch!r}: '
                f'{self["description"]!r})')


class OfficialConverter:
    """Converts the official released checkpoints of one family.

    Subclasses set :attr:`archs` and :attr:`layouts`, implement
    :meth:`layout_of` and :meth:`convert_part`, and are registered in
    ``CONVERTERS`` under every name of :attr:`archs`
    (``@CONVERTERS.register_module(name=list(ARCHS))``). Built per arch:
    ``IRNConverter('IRN_x2').convert(state_dict)``.

    :meth:`convert` runs, for one part of the model:

    1. :meth:`prepare`: the official object -> one flat state dict
       (default: :func:`strip_state_dict`);
    2. :meth:`check_layout`: another family's or another part's state dict
       is refused with one line naming what it looks like;
    3. :meth:`convert_part`: the family's own checks and key renaming;
    4. :func:`check_against`: every key and shape against the network of
       the arch's config, built on the meta device.
    """

    #: arch name -> what no config says: ``config`` (repo-relative path of
    #: the config of that setting), ``description``, ``checkpoint`` (the
    #: released file), ``files`` (part -> its official file; the model's
    #: parts that the arch converts), optional ``main`` (the part the
    #: released file holds; default: the first of ``files``).
    archs: ClassVar[Dict[str, Dict[str, Any]]] = {}
    #: layout -> the phrase that names such an official state dict in
    #: errors. A layout is the ``type`` of the network it converts to.
    layouts: ClassVar[Dict[str, str]] = {}
    #: extra keys of :class:`OfficialArchSpec`, filled by
    #: :meth:`extra_spec` (e.g. IICNet's ``('task',)``).
    spec_keys: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, arch: str) -> None:
        name = type(self).__name__
        if arch not in self.archs:
            raise ValueError(f'{name} does not convert {arch!r}; it converts '
                             f'{", ".join(self.archs) or "nothing"}.')
        info = self.archs[arch]
        missing = [k for k in ('config', 'description', 'checkpoint', 'files')
                   if k not in info]
        if missing:
            raise ValueError(f'{name}.archs[{arch!r}] lacks {missing}.')
        if not isinstance(info['config'], str) or not info['config']:
            raise ValueError(
                f'{name}.archs[{arch!r}]: config must be the path of the '
                'config of that setting (repo-relative, e.g. '
                f"'configs/irn/irn_x2_div2k.py', or absolute), got "
                f"{info['config']!r}.")
        self.arch = arch
        self.info = info
        self.main = info.get('main', next(iter(info['files'])))
        if self.main not in info['files']:
            raise ValueError(f'{name}.archs[{arch!r}]: main part '
                             f'{self.main!r} is not one of its files.')
        self._model_info: Optional[dict] = None

    # ------------------------------------------------------------------
    # what the config says
    # ------------------------------------------------------------------
    @property
    def parts(self) -> Tuple[str, ...]:
        """The model parts this arch converts (``generator``, ...)."""
        return tuple(self.info['files'])

    def model_config(self) -> dict:
        """The ``model`` dict of the arch's config (a fresh copy)."""
        return load_model_config(self.info['config'])

    def networks(self, model: dict) -> Dict[str, dict]:
        """``{part: network config}`` as the model builds them from its
        config. Default: ``model[part]``; a family whose model fills in
        network keys (IICNet: from the task) applies the same fill-ins."""
        out = {}
        for part in self.parts:
            if not isinstance(model.get(part), Mapping):
                raise ValueError(
                    f'{self.arch}: the config {self.info["config"]} has no '
                    f'model.{part} network config.')
            out[part] = dict(model[part])
        return out

    def scale(self, model: dict, networks: Dict[str, dict]) -> int:
        """The arch's scale. Default: the ``scale`` of the first part
        network that has one, else 1."""
        for part in (self.main, *self.parts):
            if 'scale' in networks[part]:
                return int(networks[part]['scale'])
        return 1

    def extra_spec(self, model: dict, networks: Dict[str, dict]) -> dict:
        """Values of :attr:`spec_keys` (default: none)."""
        return {}

    def model_info(self) -> dict:
        """``model``, ``scale``, ``parts`` and :attr:`spec_keys` from the
        config (computed once)."""
        if self._model_info is None:
            model = self.model_config()
            networks = {k: _plain(v) for k, v in self.networks(model).items()}
            info = dict(
                model=model.get('type'),
                scale=self.scale(model, networks),
                parts={
                    part: dict(network=networks[part],
                               file=self.info['files'][part])
                    for part in self.parts
                })
            extra = self.extra_spec(model, networks)
            for key in self.spec_keys:
                info[key] = _plain(extra[key])
            self._model_info = info
        return self._model_info

    def network(self, part: Optional[str] = None) -> dict:
        """The network config of a part (a fresh copy)."""
        part = self.resolve_part(part)
        return copy.deepcopy(self.model_info()['parts'][part]['network'])

    @property
    def spec(self) -> OfficialArchSpec:
        """The ``OFFICIAL_ARCHS`` entry of this arch."""
        return OfficialArchSpec(self)

    def resolve_part(self, part: Optional[str]) -> str:
        part = self.main if part is None else part
        if part not in self.info['files']:
            raise ValueError(f'{self.arch} has no part {part!r}; its parts '
                             f'are {", ".join(self.parts)}.')
        return part

    # ------------------------------------------------------------------
    # conversion
    # ------------------------------------------------------------------
    def convert(self,
                state_dict: Any,
                part: Optional[str] = None,
                source: str = 'checkpoint') -> 'OrderedDict[str, Tensor]':
        """Convert the official state dict of one part of the model.

        Args:
            state_dict: the official object, as ``torch.load`` gives it.
            part (str, optional): the model part it holds. Default: the
                part the released file holds (``spec['main']``).
            source (str): the name in error messages (e.g. the file).

        Returns:
            OrderedDict[str, Tensor]: the state dict of that part's network.

        Raises:
            ValueError: one line, for an unknown part or a state dict of
                another architecture, part or scale.
        """
        part = self.resolve_part(part)
        network = self.network(part)
        state = self.prepare(state_dict, part, source)
        self.check_layout(state, part, network, source)
        converted = self.convert_part(state, part, network, source)
        check_against(converted, network, source,
                      self.describe_part(part, network),
                      functools.partial(self.official_key, part),
                      self.any_shape_key)
        return converted

    def prepare(self, state_dict: Any, part: str,
                source: str) -> 'OrderedDict[str, Tensor]':
        """The official object -> one flat state dict. Default:
        :func:`strip_state_dict`. A family whose release is several state
        dicts (``{'encoder': sd, 'decoder': sd}``) unwraps them here into
        one, prefixing the keys, and may run :meth:`check_layout` on each so
        that a foreign one is named."""
        return strip_state_dict(state_dict, source)

    def check_layout(self, state: Mapping[str, Tensor], part: str,
                     network: dict, source: str) -> None:
        """Refuse, with one line naming what it looks like, a state dict
        of another layout: another part's of this family, or one another
        family recognises. The family's own layout always passes (even if
        an earlier family's detector matches too); unrecognised keys pass
        as well: :meth:`convert_part` names them."""
        keys = list(state)
        if type(self).layout_of(keys) == network['type']:
            return  # its own layout, whatever an earlier family claims
        found = find_official_layout(keys)
        if found is None and _invtoolbox_phrase(keys) is None:
            return
        raise ValueError(
            f'{source}: this checkpoint looks like {describe_state(state)}, '
            f'not {self.describe_part(part, network)}.')

    def convert_part(self, state: 'OrderedDict[str, Tensor]', part: str,
                     network: dict,
                     source: str) -> 'OrderedDict[str, Tensor]':
        """The family's checks and key renaming for ``part``; return the
        state dict of ``network`` (checked afterwards by the base)."""
        raise NotImplementedError(
            f'{type(self).__name__} must implement convert_part().')

    def describe_part(self, part: str, network: dict) -> str:
        """How errors name what was wanted, e.g. ``'the IRN_x2 generator
        (1 Haar level, 8 couplings, split 3)'``."""
        return f'the {self.arch} {part} ({network["type"]})'

    def official_key(self, part: str, key: str) -> str:
        """A converted key -> the official key it came from (for errors).
        Default: unchanged."""
        return key

    def any_shape_key(self, key: str) -> bool:
        """Whether a converted key must be present but may have any shape
        (data-sized buffers). Default: no key."""
        return False

    # ------------------------------------------------------------------
    # identification (no arch needed)
    # ------------------------------------------------------------------
    @classmethod
    def layout_of(cls, keys: List[str]) -> Optional[str]:
        """The layout (a key of :attr:`layouts`) of an official state dict
        of this family, from its keys alone; None if it is not one."""
        return None

    @classmethod
    def describe_layout(cls, layout: str,
                        state: Mapping[str, Tensor]) -> str:
        """A phrase naming the state dict, e.g. ``'IRN_x4 / IRN+_x4 (2
        Haar levels, 8+8 couplings, split 3)'``. Default:
        ``layouts[layout]``. May raise ``ValueError`` for a malformed one."""
        return cls.layouts[layout]

    @classmethod
    def describe_model_part(cls, part: str,
                            state: Mapping[str, Tensor]) -> Optional[str]:
        """Describe the converted (invtoolbox) state dict of a model part,
        e.g. ``'IRN 2 Haar levels, 8+8 couplings, split 3'``, for
        ``init_model``'s "does not fit" errors; None if not this family's."""
        return None
