# Copyright (c) invtoolbox contributors. All rights reserved.
"""Fresh entropy-coder tables in every checkpoint of a learned codec."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from invtoolbox.registry import HOOKS

__all__ = ['EntropyTablesHook']

#: state-dict suffixes of the integer tables (CompressAI's names)
TABLE_SUFFIXES = ('._quantized_cdf', '._cdf_length', '._offset')


@HOOKS.register_module()
class EntropyTablesHook(Hook):
    """Before a checkpoint is written, rebuild the entropy coder's integer
    CDF tables of a learned codec (a model with ``ensure_tables()``) if the
    weights changed since they were built, and store them in the
    checkpoint. A checkpoint then codes at the rate its weights predict,
    without CompressAI's separate ``update_model`` step, and every machine
    that loads it uses the same tables (they are not recomputed from float
    weights on load).

    In a config::

        custom_hooks = [dict(type='EntropyTablesHook')]
    """

    priority = 'NORMAL'

    def before_save_checkpoint(self, runner,
                               checkpoint: Optional[dict]) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(model, 'ensure_tables') or checkpoint is None:
            return
        model.ensure_tables()
        state = checkpoint.get('state_dict')
        if state is None:
            return
        for key, value in model.state_dict().items():
            if key.endswith(TABLE_SUFFIXES) or key.endswith(
                    'gaussian_conditional.scale_table'):
                state[key] = value.detach().cpu().clone()
