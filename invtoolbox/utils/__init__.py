# Copyright (c) invtoolbox contributors. All rights reserved.
from .image import (bgr2ycbcr, img2tensor, modcrop, rgb2ycbcr, tensor2img,
                    ycbcr2bgr, ycbcr2rgb)
from .imresize import imresize
from .setup_env import PLUGIN_GROUP, import_plugins, register_all_modules
# compat last: it imports invtoolbox.engine.hooks, which may use the above
from .compat import (UntrustedCheckpointError, init_cpu_distributed,  # isort: skip
                     is_trusted_checkpoint, load_checkpoint_file,
                     register_checkpoint_loader,
                     reset_trusted_checkpoint_paths, setup_cpu_distributed,
                     trust_checkpoint_path)

__all__ = [
    'register_all_modules', 'import_plugins', 'PLUGIN_GROUP', 'imresize',
    'modcrop', 'rgb2ycbcr', 'bgr2ycbcr', 'ycbcr2rgb', 'ycbcr2bgr',
    'img2tensor', 'tensor2img'
]
__all__ += [
    'UntrustedCheckpointError', 'trust_checkpoint_path',
    'reset_trusted_checkpoint_paths', 'is_trusted_checkpoint',
    'load_checkpoint_file', 'register_checkpoint_loader',
    'init_cpu_distributed', 'setup_cpu_distributed'
]
