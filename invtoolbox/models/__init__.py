# Copyright (c) invtoolbox contributors. All rights reserved.
"""Models: the invertible-network library, subnets, latents, degradations,
losses, entropy models, the base models and capabilities
(``base_models``) and the published architectures (``editors``)."""
from . import (base_models, data_preprocessors, degradations,  # noqa: F401
               editors, entropy_models, inn, latents, losses, subnets)
from .data_preprocessors import DataPreprocessor  # noqa: F401
from .inn import *  # noqa: F401,F403
from .subnets import *  # noqa: F401,F403
from .wrappers import DeviceAwareDistributedDataParallel  # noqa: F401
