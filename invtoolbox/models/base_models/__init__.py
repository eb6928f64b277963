# Copyright (c) invtoolbox contributors. All rights reserved.
"""The base of every editor and the capabilities a model opts into.

- :class:`BaseEditModel`: parts built from config dicts, the seeded
  per-iteration, per-rank training RNG, ``mode`` dispatch, ``DataSample``
  packing, ``train_step`` for several optimizers;
- :class:`RescalingMixin`: downscale, transmit through a codec, upscale
  (IRN, SAIN; the QF-sweep test loop talks to it);
- :class:`InvertibleRescalingModel`: the base of invertible rescalers whose
  network maps HR to LR plus a latent (IRN and SAIN are siblings on it);
- :class:`ReversibleConversionMixin`: embed K images into one, restore
  them (IICNet and plugin tasks; the ``embed`` / ``restore`` commands talk
  to it);
- :class:`LearnedCodecMixin`: compress, decompress, update, an auxiliary
  loss with its own optimizer (InvCompress);
- :class:`~.official_converter.OfficialConverter`: the base of the
  converters from the official released checkpoints (each editor registers
  its family in ``CONVERTERS``; import it by its full module path).

See ``docs/architecture.md``.
"""
from .base_edit_model import (BaseEditModel, ModuleCfg, build_module,
                              merge_cfg, seeded_generator)
from .invertible_rescaling import InvertibleRescalingModel
from .learned_codec import LearnedCodecMixin, match_parameter_names
from .rescaling import RescaleResult, RescalingMixin, Transmission
from .reversible_conversion import ReversibleConversionMixin

__all__ = [
    'BaseEditModel', 'ModuleCfg', 'build_module', 'merge_cfg',
    'seeded_generator', 'RescalingMixin', 'RescaleResult', 'Transmission',
    'InvertibleRescalingModel', 'LearnedCodecMixin', 'match_parameter_names',
    'ReversibleConversionMixin'
]
