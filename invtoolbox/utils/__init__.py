# Copyright (c) invtoolbox contributors. All rights reserved.
from .image import (bgr2ycbcr, img2tensor, modcrop, rgb2ycbcr, tensor2img,
                    ycbcr2bgr, ycbcr2rgb)
from .imresize import imresize
from .setup_env import PLUGIN_GROUP, import_plugins, register_all_modules

__all__ = [
    'register_all_modules', 'import_plugins', 'PLUGIN_GROUP', 'imresize',
    'modcrop', 'rgb2ycbcr', 'bgr2ycbcr', 'ycbcr2rgb', 'ycbcr2bgr',
    'img2tensor', 'tensor2img'
]
