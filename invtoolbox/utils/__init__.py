# Copyright (c) invtoolbox contributors. All rights reserved.
from .setup_env import PLUGIN_GROUP, import_plugins, register_all_modules

__all__ = ['register_all_modules', 'import_plugins', 'PLUGIN_GROUP']
