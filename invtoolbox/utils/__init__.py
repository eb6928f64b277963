# Copyright (c) invtoolbox contributors. All rights reserved.
"""Leaf utilities: nothing here imports ``invtoolbox.engine``, ``.models``,
``.apis``, ``.datasets`` or ``.evaluation`` (``register_all_modules`` imports
them by name, when called); see ``tests/utils/test_leaf_imports.py``."""
from .checkpoint_trust import (CheckpointError, UntrustedCheckpointError,
                               is_trusted_checkpoint, load_checkpoint_file,
                               register_checkpoint_loader,
                               reset_trusted_checkpoint_paths,
                               trust_checkpoint_path)
from .compat import init_cpu_distributed, setup_cpu_distributed
from .image import (bgr2ycbcr, img2tensor, modcrop, rgb2ycbcr, tensor2img,
                    ycbcr2bgr, ycbcr2rgb)
from .image_io import (ALPHA_POLICIES, MAX_IMAGE_PIXELS, ImageReadError,
                       has_alpha, image_size, read_image, warn_alpha_once)
from .imresize import imresize
from .setup_env import PLUGIN_GROUP, import_plugins, register_all_modules

__all__ = [
    'register_all_modules', 'import_plugins', 'PLUGIN_GROUP', 'imresize',
    'modcrop', 'rgb2ycbcr', 'bgr2ycbcr', 'ycbcr2rgb', 'ycbcr2bgr',
    'img2tensor', 'tensor2img'
]
__all__ += [
    'CheckpointError', 'UntrustedCheckpointError', 'trust_checkpoint_path',
    'reset_trusted_checkpoint_paths', 'is_trusted_checkpoint',
    'load_checkpoint_file', 'register_checkpoint_loader',
    'init_cpu_distributed', 'setup_cpu_distributed'
]
__all__ += [
    'read_image', 'image_size', 'has_alpha', 'warn_alpha_once',
    'ImageReadError', 'MAX_IMAGE_PIXELS', 'ALPHA_POLICIES'
]
