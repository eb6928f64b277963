# Copyright (c) invtoolbox contributors. All rights reserved.
"""All registries of invtoolbox.

The mmengine-standard nodes are children of mmengine's root registries of the
same name, so that mmengine's Runner finds what invtoolbox registers; the
``locations`` make each node import its modules lazily on first build.

The domain registries (couplings, invertible blocks, subnets, degradations,
latent models, losses, reversible-conversion tasks, entropy models, official
checkpoint converters) are stand-alone registries of scope ``invtoolbox``:
each can be used on its own, e.g.
``COUPLINGS.build(dict(type='AffineCoupling', channels=12, split=3))``.
Nested parts are config dicts too (``subnet=dict(type='DenseBlock')``).
``CONVERTERS`` maps every official arch name (``'IRN_x2'``,
``'SAINx2_JPEG'``, ``'IICNet_st-01'``, ...) to the converter class of its
family (``editors/<algo>/<algo>_converter.py``); ``invtoolbox.apis.
OFFICIAL_ARCHS`` is a read-only view of it.

A third-party package registers into them directly::

    from invtoolbox.registry import COUPLINGS

    @COUPLINGS.register_module()
    class MyCoupling(CouplingBase):
        ...
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'EVALUATORS', 'HOOKS',
    'LOOPS', 'VISUALIZERS', 'VISBACKENDS', 'MODEL_WRAPPERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIMIZERS', 'PARAM_SCHEDULERS', 'DATA_SAMPLERS', 'WEIGHT_INITIALIZERS',
    'LOG_PROCESSORS', 'COUPLINGS', 'INV_BLOCKS', 'SUBNETS', 'DEGRADATIONS',
    'LATENTS', 'LOSSES', 'TASKS', 'ENTROPY_MODELS', 'CONVERTERS',
    'MMENGINE_NODES', 'DOMAIN_REGISTRIES'
]

SCOPE = 'invtoolbox'

# ---------------------------------------------------------------------------
# mmengine-standard nodes (children of mmengine's roots)
# ---------------------------------------------------------------------------
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, locations=['invtoolbox.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    locations=['invtoolbox.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    locations=['invtoolbox.models'])
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['invtoolbox.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    locations=['invtoolbox.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    locations=['invtoolbox.datasets.transforms'])
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['invtoolbox.evaluation'])
EVALUATORS = Registry(
    'evaluator',
    parent=MMENGINE_EVALUATOR,
    locations=['invtoolbox.evaluation'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, locations=['invtoolbox.engine.hooks'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['invtoolbox.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['invtoolbox.engine'])
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=['invtoolbox.engine'])
# not in DESIGN.md's list: needed for multi-optimizer models (IRN+) and so
# that the Runner finds an invtoolbox node for optimizer wrapper constructors
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['invtoolbox.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['invtoolbox.engine'])
LOG_PROCESSORS = Registry(
    'log_processor',
    parent=MMENGINE_LOG_PROCESSORS,
    locations=['invtoolbox.engine'])
VISUALIZERS = Registry(
    'visualizer',
    parent=MMENGINE_VISUALIZERS,
    locations=['invtoolbox.visualization'])
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMENGINE_VISBACKENDS,
    locations=['invtoolbox.visualization'])

# ---------------------------------------------------------------------------
# Domain registries (stand-alone, scope ``invtoolbox``)
# ---------------------------------------------------------------------------
COUPLINGS = Registry(
    'coupling', scope=SCOPE, locations=['invtoolbox.models.inn'])
INV_BLOCKS = Registry(
    'invertible block', scope=SCOPE, locations=['invtoolbox.models.inn'])
SUBNETS = Registry(
    'subnet', scope=SCOPE, locations=['invtoolbox.models.subnets'])
DEGRADATIONS = Registry(
    'degradation', scope=SCOPE, locations=['invtoolbox.models.degradations'])
LATENTS = Registry(
    'latent model', scope=SCOPE, locations=['invtoolbox.models.latents'])
LOSSES = Registry('loss', scope=SCOPE, locations=['invtoolbox.models.losses'])
TASKS = Registry(
    'reversible-conversion task', scope=SCOPE, locations=['invtoolbox.tasks'])
ENTROPY_MODELS = Registry(
    'entropy model',
    scope=SCOPE,
    locations=['invtoolbox.models.entropy_models'])
# official arch name -> the OfficialConverter subclass of its family; each
# editors/<algo>/__init__.py imports its <algo>_converter.py
CONVERTERS = Registry(
    'official checkpoint converter',
    scope=SCOPE,
    locations=['invtoolbox.models.editors'])

#: name -> registry, for tools and tests that walk every node.
MMENGINE_NODES = {
    'MODELS': MODELS,
    'DATASETS': DATASETS,
    'TRANSFORMS': TRANSFORMS,
    'METRICS': METRICS,
    'EVALUATORS': EVALUATORS,
    'HOOKS': HOOKS,
    'LOOPS': LOOPS,
    'VISUALIZERS': VISUALIZERS,
    'VISBACKENDS': VISBACKENDS,
    'MODEL_WRAPPERS': MODEL_WRAPPERS,
    'OPTIM_WRAPPERS': OPTIM_WRAPPERS,
    'OPTIM_WRAPPER_CONSTRUCTORS': OPTIM_WRAPPER_CONSTRUCTORS,
    'OPTIMIZERS': OPTIMIZERS,
    'PARAM_SCHEDULERS': PARAM_SCHEDULERS,
    'DATA_SAMPLERS': DATA_SAMPLERS,
    'WEIGHT_INITIALIZERS': WEIGHT_INITIALIZERS,
    'LOG_PROCESSORS': LOG_PROCESSORS,
}
DOMAIN_REGISTRIES = {
    'COUPLINGS': COUPLINGS,
    'INV_BLOCKS': INV_BLOCKS,
    'SUBNETS': SUBNETS,
    'DEGRADATIONS': DEGRADATIONS,
    'LATENTS': LATENTS,
    'LOSSES': LOSSES,
    'TASKS': TASKS,
    'ENTROPY_MODELS': ENTROPY_MODELS,
    'CONVERTERS': CONVERTERS,
}
