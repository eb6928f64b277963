# Copyright (c) invtoolbox contributors. All rights reserved.
"""High-level APIs: model building from configs, checkpoint loading, the
converters from the official released checkpoints (the entry points of
``CONVERTERS``; each family's converter lives in ``models/editors/<algo>/``)
and inference on files: :class:`Inferencer` for every capability
(:mod:`.tiling` for large images), novel views in :mod:`.novelview_inference`.
"""
from .checkpoint_io import (default_file_mode, file_sha256,
                            load_trusted_checkpoint, load_weights_only,
                            plain_meta, save_checkpoint_atomic)
from .inference import (CheckpointFit, CheckpointMismatchError,
                        check_checkpoint_fits, init_model, load_model_weights)
from .inferencer import (CAPABILITY_COMMANDS, Inferencer, InferenceError,
                         RoundTrip, capability_of)
from .converters import (OFFICIAL_ARCHS, convert_official_checkpoint,
                         convert_official_to_model,
                         describe_official_checkpoint)
from .novelview_inference import (CAMERA_PATHS, EmbedResult, camera_path,
                                  embed_mpi, read_embedding,
                                  render_embedding, render_from_jpeg,
                                  write_views)
# the families' own converters (each in its editors/<algo>/ folder)
from ..models.base_models.official_converter import strip_state_dict
from ..models.editors.iicnet.iicnet_converter import (
    IICNET_CONFIG_IDS, convert_iicnet_state_dict, describe_iicnet_layout)
from ..models.editors.irn.irn_converter import convert_irn_state_dict
from ..models.editors.sain.sain_converter import convert_sain_state_dict

__all__ = [
    'init_model', 'load_model_weights', 'check_checkpoint_fits',
    'CheckpointFit', 'CheckpointMismatchError', 'OFFICIAL_ARCHS',
    'convert_official_checkpoint', 'convert_official_to_model',
    'convert_irn_state_dict', 'describe_official_checkpoint',
    'strip_state_dict', 'load_weights_only', 'load_trusted_checkpoint',
    'save_checkpoint_atomic', 'plain_meta', 'file_sha256', 'default_file_mode',
    'convert_sain_state_dict', 'convert_iicnet_state_dict',
    'describe_iicnet_layout', 'IICNET_CONFIG_IDS', 'embed_mpi',
    'read_embedding', 'render_from_jpeg', 'render_embedding', 'camera_path',
    'write_views', 'EmbedResult', 'CAMERA_PATHS', 'Inferencer',
    'InferenceError', 'RoundTrip', 'capability_of', 'CAPABILITY_COMMANDS'
]
