# Copyright (c) invtoolbox contributors. All rights reserved.
from . import metrics  # noqa: F401  (registers the metrics)
