# Copyright (c) invtoolbox contributors. All rights reserved.
from . import transforms  # noqa: F401  (registers the transforms)
