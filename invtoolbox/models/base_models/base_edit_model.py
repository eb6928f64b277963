# Copyright (c) invtoolbox contributors. All rights reserved.
"""The base of every editor: config-built parts, seeded training RNG, mode
dispatch, ``DataSample`` packing and a ``train_step`` for several
optimizers."""
from __future__ import annotations

from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Union)

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import Tensor, nn

from ...registry import MODELS
from ...structures import DataSample

__all__ = ['BaseEditModel', 'ModuleCfg', 'build_module', 'merge_cfg',
           'seeded_generator']

#: a part of a model: a registry config dict, a built module, or None (off).
ModuleCfg = Union[dict, nn.Module, None]


def seeded_generator(*keys: int) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded from a tuple of integers.

    The integers (e.g. ``(seed, iteration, rank)``) are mixed with numpy's
    ``SeedSequence``, so neighbouring tuples give unrelated streams and the
    result does not depend on the Python version or platform.
    """
    entropy = [int(k) % (2**64) for k in keys]
    state = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
    seed = (int(state[0]) << 31) ^ int(state[1])
    return torch.Generator().manual_seed(seed)


def build_module(registry, cfg: ModuleCfg, owner: str = 'model',
                 what: str = 'module') -> Optional[nn.Module]:
    """Build ``cfg`` from ``registry``; modules and None pass through.

    Raises:
        ValueError: one line, when ``cfg`` is not a config dict with a
            ``type`` registered in ``registry``.
    """
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise ValueError(f"{owner}: {what} must be a config dict with a "
                         f"'type' key (registry {registry.name}), got "
                         f'{cfg!r}.')
    type_name = cfg['type']
    if isinstance(type_name, str) and registry.get(type_name) is None:
        registry.import_from_location()
        known = sorted(registry.module_dict)
        raise ValueError(
            f'{owner}: unknown {what} type {type_name!r} in registry '
            f'{registry.name}; registered: {", ".join(known)}.')
    return registry.build(dict(cfg))


def merge_cfg(given: Optional[Mapping], defaults: Mapping, name: str,
              owner: str) -> dict:
    """``defaults`` updated with ``given``; unknown keys raise one line."""
    cfg = dict(defaults)
    given = dict(given or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f'{owner}: unknown {name} key(s) {unknown}; '
                         f'valid keys: {sorted(defaults)}.')
    cfg.update(given)
    return cfg


class BaseEditModel(BaseModel):
    """The base every invtoolbox editor builds on.

    It owns the plumbing that IRN, SAIN, IICNet and the later architectures
    share, and nothing algorithm-specific:

    - **parts from config dicts**: :meth:`build` (with one-line errors for
      unknown types), ``train_cfg`` / ``test_cfg`` merged with the class's
      :attr:`TRAIN_CFG_DEFAULTS` / :attr:`TEST_CFG_DEFAULTS` (unknown keys
      are an error, not silently ignored);
    - **reproducible training randomness**: :meth:`train_generator` is a CPU
      ``torch.Generator`` seeded with ``(train_cfg.seed or
      torch.initial_seed(), iteration, rank)``, the iteration read from
      mmengine's ``MessageHub`` (``'iter'``) or, outside a Runner, counted by
      :meth:`next_train_generator`; a resumed run draws exactly what an
      uninterrupted one draws, on any device;
    - **mode dispatch**: ``forward(inputs, data_samples, mode)`` calls
      :meth:`loss`, :meth:`predict` or :meth:`forward_tensor`;
    - **packing**: :meth:`pack_predictions` builds one :class:`DataSample`
      per input with the input's meta information;
    - **several optimizers**: :meth:`train_step` runs mmengine's single
      step for an ``OptimWrapper`` and hands an ``OptimWrapperDict`` to
      :meth:`train_step_multi`, with :meth:`optimizer_step` and
      :meth:`check_optim_wrappers` as building blocks.

    Capabilities (rescaling, learned codec) are mixins in this package that
    a model opts into; no editor inherits another algorithm's model to get
    this plumbing.

    Args:
        data_preprocessor (dict | nn.Module, optional): Default:
            ``dict(type='DataPreprocessor')``.
        train_cfg (dict, optional): merged with :attr:`TRAIN_CFG_DEFAULTS`.
        test_cfg (dict, optional): merged with :attr:`TEST_CFG_DEFAULTS`.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    #: ``train_cfg`` keys and defaults; ``seed`` is the training RNG seed
    #: (None: ``torch.initial_seed()``, i.e. the run's seed).
    TRAIN_CFG_DEFAULTS: Dict[str, Any] = dict(seed=None)
    #: ``test_cfg`` keys and defaults.
    TEST_CFG_DEFAULTS: Dict[str, Any] = {}

    def __init__(self,
                 data_preprocessor: ModuleCfg = dict(type='DataPreprocessor'),
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=build_module(MODELS, data_preprocessor,
                                           type(self).__name__,
                                           'data_preprocessor'),
            init_cfg=init_cfg)
        self.train_cfg = merge_cfg(train_cfg, self.TRAIN_CFG_DEFAULTS,
                                   'train_cfg', type(self).__name__)
        self.test_cfg = merge_cfg(test_cfg, self.TEST_CFG_DEFAULTS,
                                  'test_cfg', type(self).__name__)
        self._local_step = 0

    # ------------------------------------------------------------------
    # building parts
    # ------------------------------------------------------------------
    def build(self, registry, cfg: ModuleCfg,
              what: str = 'module') -> Optional[nn.Module]:
        """Build a part from ``registry`` (see :func:`build_module`)."""
        return build_module(registry, cfg, type(self).__name__, what)

    # ------------------------------------------------------------------
    # randomness
    # ------------------------------------------------------------------
    def current_iteration(self) -> int:
        """The training iteration: mmengine's ``MessageHub`` ``'iter'``, or
        (outside a Runner) the number of training batches so far."""
        it = MessageHub.get_current_instance().get_info('iter')
        return self._local_step if it is None else int(it)

    def train_generator(self,
                        iteration: Optional[int] = None) -> torch.Generator:
        """The CPU generator of the training randomness of ``iteration``
        (default: the current one), seeded with ``(seed, iteration,
        rank)``."""
        seed = self.train_cfg.get('seed')
        if seed is None:
            seed = torch.initial_seed()
        if iteration is None:
            iteration = self.current_iteration()
        return seeded_generator(seed, iteration, get_rank())

    def next_train_generator(self) -> torch.Generator:
        """:meth:`train_generator` of the current iteration, then count one
        training batch (the iteration outside a Runner)."""
        generator = self.train_generator()
        self._local_step += 1
        return generator

    # ------------------------------------------------------------------
    # mmengine interface
    # ------------------------------------------------------------------
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """``'loss'`` -> dict of losses (:meth:`loss`); ``'predict'`` ->
        list of :class:`DataSample` (:meth:`predict`); ``'tensor'`` -> the
        raw network output (:meth:`forward_tensor`)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.forward_tensor(inputs, data_samples)
        raise ValueError(f"{type(self).__name__}.forward: mode must be "
                         f"'loss', 'predict' or 'tensor', got {mode!r}.")

    def loss(self, inputs: Tensor,
             data_samples: Optional[List[DataSample]] = None
             ) -> Dict[str, Tensor]:
        """The training losses of a batch."""
        raise NotImplementedError(
            f'{type(self).__name__} does not implement loss().')

    def predict(self, inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """The test-time outputs of a batch, one :class:`DataSample` each."""
        raise NotImplementedError(
            f'{type(self).__name__} does not implement predict().')

    def forward_tensor(self, inputs: Tensor,
                       data_samples: Optional[List[DataSample]] = None):
        """The raw network output (``mode='tensor'``)."""
        raise NotImplementedError(
            f'{type(self).__name__} does not implement forward_tensor().')

    # ------------------------------------------------------------------
    # packing
    # ------------------------------------------------------------------
    @staticmethod
    def pack_predictions(data_samples: Optional[Sequence[DataSample]],
                         num: int,
                         fields: Mapping[str, Any],
                         defaults: Optional[Mapping[str, Any]] = None,
                         keep: Iterable[str] = (),
                         metainfo: Optional[Mapping[str, Any]] = None
                         ) -> List[DataSample]:
        """One :class:`DataSample` per input of a batch of ``num``.

        Each output starts from a copy of its input sample's meta
        information (plus ``metainfo``), then gets, for image ``i``:

        - ``fields[key][i]`` for every key whose value is not None;
        - ``defaults[key][i]`` unless the input sample has ``key`` itself,
          in which case the sample's value is used (e.g. ``gt_img``: the
          pipeline's ground truth, else the network input);
        - the input sample's value of every key in ``keep`` it has.

        Values are batched tensors or sequences indexed by ``i``.
        """
        outputs = []
        for i in range(num):
            sample = data_samples[i] if data_samples else None
            out = DataSample(
                metainfo=dict(sample.metainfo) if sample is not None else {})
            if metainfo:
                out.set_metainfo(dict(metainfo))
            data = {}
            for key, value in (defaults or {}).items():
                if sample is not None and key in sample:
                    data[key] = sample.get(key)
                elif value is not None:
                    data[key] = value[i]
            for key in keep:
                if sample is not None and key in sample:
                    data[key] = sample.get(key)
            for key, value in fields.items():
                if value is not None:
                    data[key] = value[i]
            out.set_data(data)
            outputs.append(out)
        return outputs

    # ------------------------------------------------------------------
    # training steps
    # ------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: Union[OptimWrapper, OptimWrapperDict]
                   ) -> Dict[str, Tensor]:
        """One training iteration.

        With one ``OptimWrapper`` this is mmengine's step (preprocess,
        ``loss``, :meth:`parse_losses`, update). With an ``OptimWrapperDict``
        (several optimizers, e.g. a GAN or a learned codec's auxiliary
        optimizer) the preprocessed batch goes to :meth:`train_step_multi`.
        """
        if isinstance(optim_wrapper, OptimWrapperDict):
            data = self.data_preprocessor(data, True)
            return self.train_step_multi(data, optim_wrapper)
        return super().train_step(data, optim_wrapper)

    def train_step_multi(self, data: dict,
                         optim_wrapper: OptimWrapperDict
                         ) -> Dict[str, Tensor]:
        """One iteration with several optimizers; ``data`` is preprocessed.

        Models that train with an ``OptimWrapperDict`` implement this with
        :meth:`optimizer_step`."""
        raise ValueError(
            f'{type(self).__name__} trains with one optimizer; use '
            "optim_wrapper=dict(type='OptimWrapper', optimizer=...) instead "
            f'of the entries {sorted(optim_wrapper.keys())}.')

    def check_optim_wrappers(self, optim_wrapper: OptimWrapperDict,
                             names: Sequence[str]) -> None:
        """One-line error unless ``optim_wrapper`` is an ``OptimWrapperDict``
        with (at least) the entries ``names``."""
        have = set(optim_wrapper.keys()) if isinstance(
            optim_wrapper, OptimWrapperDict) else set()
        missing = [n for n in names if n not in have]
        if missing:
            entries = ', '.join(f'{n}=dict(...)' for n in names)
            raise ValueError(
                f'{type(self).__name__}.train_step needs an OptimWrapperDict '
                f'with the optimizers {list(names)} (missing {missing}); '
                'configure optim_wrapper='
                f"dict(constructor='MultiOptimWrapperConstructor', {entries}).")

    def optimizer_step(self, optim_wrapper: OptimWrapper, module: nn.Module,
                       compute_losses) -> Dict[str, Tensor]:
        """Compute losses with ``compute_losses()`` inside
        ``optim_wrapper``'s context for ``module``, parse them and update
        the parameters; returns the log variables."""
        with optim_wrapper.optim_context(module):
            losses = compute_losses()
        parsed, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(parsed)
        return log_vars
