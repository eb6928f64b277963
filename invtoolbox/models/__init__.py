# Copyright (c) invtoolbox contributors. All rights reserved.
"""Models: the invertible-network library, subnets, latents, degradations,
losses, entropy models and the published architectures (``editors``)."""
from . import (degradations, editors, entropy_models, inn, latents,  # noqa
               losses, subnets)
from .inn import *  # noqa: F401,F403
from .subnets import *  # noqa: F401,F403
