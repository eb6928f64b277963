# Copyright (c) invtoolbox contributors. All rights reserved.
"""Every IRN config loads, builds its model and optimizer, and has the
paper's settings."""
import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from invtoolbox.registry import MODELS
from invtoolbox.utils import register_all_modules
from tests.helpers import REPO_ROOT

CONFIGS = {
    # name: (scale, official parameter count without the fixed Haar filters)
    'irn_x2_div2k': (2, 1_668_000 - 48),
    'irn_x3_div2k': (3, 3_139_029),
    'irn_x4_div2k': (4, 4_355_376 - 240),
    'irn_x8_div2k': (8, 11_120_256 - 1008),
    'irn_x2-finetune_div2k': (2, 1_668_000 - 48),
    'irn-color_div2k': (1, 1_413_601),
    'irn-plus_x4_div2k': (4, None),
    'irn-crm_x2_q90_div2k': (2, None),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_builds(name):
    register_all_modules()
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'irn' / f'{name}.py'))
    if name.startswith('irn-plus'):  # no VGG weights in the test environment
        extractor = cfg.model.perceptual_loss.feature_extractor
        extractor.weights_path = None
        extractor.pretrained = False
    model = MODELS.build(cfg.model)
    build_optim_wrapper(model, cfg.optim_wrapper)
    scale, n_params = CONFIGS[name]
    if n_params is not None:
        assert sum(p.numel() for p in model.generator.parameters()) == n_params
    if scale > 1:
        assert model.generator.scale == scale if hasattr(
            model.generator, 'scale') else True
        scales = [t['scale'] for t in cfg.train_dataloader.dataset.pipeline
                  if 'scale' in t]
        assert scales and set(scales) == {scale}
        assert {m['crop_border'] for m in cfg.test_evaluator
                if 'crop_border' in m} == {scale}
    assert cfg.test_cfg.type == 'MultiTestLoop'
