# Copyright (c) invtoolbox contributors. All rights reserved.
"""Registries: importable nodes, nested configs, third-party registration."""
import sys
import textwrap
from importlib import import_module

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.utils import import_modules_from_strings

from invtoolbox import PluginImportError
from invtoolbox import registry as reg
from invtoolbox.utils import register_all_modules
from invtoolbox.utils import setup_env

EXPECTED_MMENGINE = {
    'MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'EVALUATORS', 'HOOKS',
    'LOOPS', 'VISUALIZERS', 'VISBACKENDS', 'MODEL_WRAPPERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIMIZERS', 'PARAM_SCHEDULERS', 'DATA_SAMPLERS', 'WEIGHT_INITIALIZERS',
    'LOG_PROCESSORS'
}
EXPECTED_DOMAIN = {
    'COUPLINGS', 'INV_BLOCKS', 'SUBNETS', 'DEGRADATIONS', 'LATENTS', 'LOSSES',
    'TASKS', 'ENTROPY_MODELS', 'CONVERTERS'
}


def test_every_node_exists_and_is_importable():
    assert set(reg.MMENGINE_NODES) == EXPECTED_MMENGINE
    assert set(reg.DOMAIN_REGISTRIES) == EXPECTED_DOMAIN
    for name in EXPECTED_MMENGINE | EXPECTED_DOMAIN:
        node = getattr(reg, name)
        assert node.scope == 'invtoolbox', name
        assert node._locations, f'{name} has no import locations'
        for location in node._locations:
            import_module(location)
        node.import_from_location()


def test_mmengine_nodes_are_children_of_mmengine_roots():
    for name, node in reg.MMENGINE_NODES.items():
        assert node.parent is not None, name
        assert node.parent.scope == 'mmengine', name
        assert node.parent._children['invtoolbox'] is node
    # the Runner finds invtoolbox models through mmengine's root
    assert MMENGINE_MODELS._children['invtoolbox'] is reg.MODELS


def test_domain_registries_stand_alone():
    for name, node in reg.DOMAIN_REGISTRIES.items():
        assert node.parent is None, name


def test_register_all_modules_sets_scope_and_populates():
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'invtoolbox'
    assert 'AffineCoupling' in reg.COUPLINGS.module_dict
    assert 'HaarDownsampling' in reg.INV_BLOCKS.module_dict
    assert 'DenseBlock' in reg.SUBNETS.module_dict
    assert {'IRN_x2', 'SAINx2_JPEG', 'IICNet_st-01'} <= set(
        reg.CONVERTERS.module_dict)


def test_domain_registries_build_nested_configs():
    coupling = reg.COUPLINGS.build(
        dict(type='AffineCoupling', channels=12, split=3,
             subnet=dict(type='DenseBlock', growth=16), clamp=0.8))
    assert coupling.F.conv1.out_channels == 16
    assert coupling.F.conv1.in_channels == 9 and coupling.G.conv1.in_channels == 3
    inn = reg.INV_BLOCKS.build(
        dict(type='InvertibleSequential', in_shape=(3, 8, 8), blocks=[
            dict(type='HaarDownsampling'),
            dict(type='AffineCoupling', split=3,
                 subnet=dict(type='ResBlock', hidden_channels=8)),
            dict(type='Inverse', module=dict(type='HaarDownsampling',
                                             channels=3)),
        ]))
    assert inn.shapes[-1] == (3, 8, 8)
    assert type(inn[1].F).__name__ == 'ResBlock'
    # scoped names work too
    assert reg.SUBNETS.build(dict(type='invtoolbox.ConvBlock', in_channels=2,
                                  out_channels=3)) is not None


def test_class_registered_through_custom_imports_is_found(tmp_path,
                                                          monkeypatch):
    module_dir = tmp_path / 'third_party'
    module_dir.mkdir()
    (module_dir / 'my_invertible_plugin.py').write_text(textwrap.dedent('''
        import torch
        from invtoolbox.models.inn import CouplingBase
        from invtoolbox.registry import COUPLINGS, SUBNETS


        @SUBNETS.register_module()
        class TinyPluginNet(torch.nn.Module):
            def __init__(self, in_channels, out_channels):
                super().__init__()
                self.conv = torch.nn.Conv2d(in_channels, out_channels, 1)

            def forward(self, x):
                return self.conv(x)


        @COUPLINGS.register_module()
        class PluginCoupling(CouplingBase):
            def __init__(self, channels, split=None, subnet=None, **kw):
                super().__init__(channels, split, subnet, **kw)
                self.t = self.build_subnet(self.split1, self.split2)

            def couple(self, x1, x2, c):
                return x1, x2 + self.t(x1), None

            def uncouple(self, y1, y2, c):
                return y1, y2 - self.t(y1), None
    '''))
    monkeypatch.syspath_prepend(str(module_dir))
    cfg_file = tmp_path / 'plugin_cfg.py'
    cfg_file.write_text(textwrap.dedent('''
        custom_imports = dict(imports=['my_invertible_plugin'],
                              allow_failed_imports=False)
        inn = dict(type='InvertibleSequential', in_shape=(4, 4, 4), blocks=[
            dict(type='PluginCoupling', subnet=dict(type='TinyPluginNet'))])
    '''))
    try:
        cfg = Config.fromfile(str(cfg_file))  # imports custom_imports
        assert 'my_invertible_plugin' in sys.modules
        inn = reg.INV_BLOCKS.build(cfg.inn)
        assert type(inn[0]).__name__ == 'PluginCoupling'
        x = torch.rand(1, 4, 4, 4)
        assert torch.allclose(inn(inn(x), rev=True), x, atol=1e-6)
        # importing again through mmengine's helper is harmless
        import_modules_from_strings(['my_invertible_plugin'])
    finally:
        reg.COUPLINGS._module_dict.pop('PluginCoupling', None)
        reg.SUBNETS._module_dict.pop('TinyPluginNet', None)
        sys.modules.pop('my_invertible_plugin', None)


class _FakeEntryPoint:

    def __init__(self, name, value, loader):
        self.name, self.value, self._loader = name, value, loader

    def load(self):
        return self._loader()


def test_entry_point_plugins_are_imported(monkeypatch):
    loaded = []
    monkeypatch.setattr(
        setup_env, '_plugin_entry_points', lambda: [
            _FakeEntryPoint('good', 'good_pkg.tasks',
                            lambda: loaded.append('good'))
        ])
    assert setup_env.import_plugins() == ['good']
    assert loaded == ['good']


def test_a_broken_plugin_is_named_with_its_error(monkeypatch):

    def broken():
        raise ModuleNotFoundError("No module named 'missing_dep'")

    monkeypatch.setattr(
        setup_env, '_plugin_entry_points',
        lambda: [_FakeEntryPoint('bad_plugin', 'bad_pkg.tasks', broken)])
    with pytest.raises(PluginImportError,
                       match=r"plugin 'bad_plugin' \(bad_pkg.tasks\) failed "
                       r"to import: ModuleNotFoundError: No module named "
                       r"'missing_dep'"):
        register_all_modules()


def test_plugins_can_be_skipped(monkeypatch):
    """A broken plugin blocks nothing with INVTB_NO_PLUGINS=1, and its
    error says so."""

    def broken():
        raise RuntimeError('broken on purpose')

    monkeypatch.setattr(
        setup_env, '_plugin_entry_points',
        lambda: [_FakeEntryPoint('bad_plugin', 'bad_pkg.tasks', broken)])
    monkeypatch.delenv('INVTB_NO_PLUGINS', raising=False)
    with pytest.raises(PluginImportError,
                       match='or set INVTB_NO_PLUGINS=1 to run without '
                       'plugins'):
        setup_env.import_plugins()
    monkeypatch.setenv('INVTB_NO_PLUGINS', '1')
    assert setup_env.import_plugins() == []
    register_all_modules()
