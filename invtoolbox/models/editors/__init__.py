# Copyright (c) invtoolbox contributors. All rights reserved.
"""Published architectures: one folder per algorithm, each holding its
network(s) and its mmengine ``BaseModel``."""
from .irn import *  # noqa: F401,F403
from .sain import *  # noqa: F401,F403
from .iicnet import *  # noqa: F401,F403
from .invisp import *  # noqa: F401,F403
from .invcompress import *  # noqa: F401,F403
from .novelview import *  # noqa: F401,F403
