# Copyright (c) invtoolbox contributors. All rights reserved.
from . import hooks  # noqa: F401  (registers the hooks)
