# Copyright (c) invtoolbox contributors. All rights reserved.
"""The converter registry: every arch reads its networks from its config,
a new family registers with one small module (two state dicts in one call
included), and nothing fills another module's dict at import."""
import ast
import subprocess
import sys
import textwrap
from collections import OrderedDict
from collections.abc import Mapping

import pytest
import torch
from mmengine.config import Config

from invtoolbox.apis import (OFFICIAL_ARCHS, convert_official_checkpoint,
                             convert_official_to_model,
                             describe_official_checkpoint)
from invtoolbox.models.base_models.official_converter import (
    OfficialConverter, build_on_meta, check_against, converter_families,
    get_converter)
from invtoolbox.registry import CONVERTERS, MODELS
from invtoolbox.utils import register_all_modules
from invtoolbox.utils.config_finder import find_config
from tests.helpers import HANG_TIMEOUT, REPO_ROOT, load_tool

ARCHS = list(OFFICIAL_ARCHS)


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_every_family_lives_in_its_editor_folder():
    assert len(ARCHS) == 45
    for family in converter_families():
        module = family.__module__
        assert module.startswith('invtoolbox.models.editors.'), module
        algo = module.split('.')[3]
        assert module.endswith(f'.{algo}.{algo}_converter'), module
        for arch in family.archs:
            assert CONVERTERS.get(arch) is family
            assert find_config(family.archs[arch]['config'])


@pytest.mark.parametrize('arch', ARCHS)
def test_the_network_is_what_the_config_builds(arch):
    """Build the model of the arch's config as tools/train.py would (on the
    meta device): each converted part has exactly the keys and shapes of
    the network the converter checks against."""
    register_all_modules()
    spec = OFFICIAL_ARCHS[arch]
    cfg = Config.fromfile(find_config(get_converter(arch).info['config']))
    if 'perceptual_loss' in cfg.model:  # IRN+: needs a local VGG19 file
        cfg.model.perceptual_loss = None
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == spec['model']
    assert spec['main'] in spec['parts']
    for part, info in spec['parts'].items():
        built = shapes(getattr(model, part))
        assert built == shapes(build_on_meta(info['network'])), part
        state = getattr(model, part).state_dict()
        check_against(state, info['network'], 'model', part)  # no raise
        assert info['file']
    scale = getattr(getattr(model, 'task', None), 'scale', None) or \
        getattr(model.generator, 'scale', None)
    assert scale == spec['scale']


def test_official_archs_is_a_read_only_view():
    assert not isinstance(OFFICIAL_ARCHS, dict)
    assert isinstance(OFFICIAL_ARCHS, Mapping)
    with pytest.raises(TypeError):
        OFFICIAL_ARCHS['IRN_x2'] = {}  # noqa
    spec = OFFICIAL_ARCHS['IRN_x2']
    spec['parts']['generator']['network']['block_num'] = [1]
    assert OFFICIAL_ARCHS['IRN_x2']['parts']['generator']['network'][
        'block_num'] == [8]
    assert 'IRN_x16' not in OFFICIAL_ARCHS
    with pytest.raises(KeyError):
        OFFICIAL_ARCHS['IRN_x16']


NO_MUTATION = textwrap.dedent('''
    import sys
    from collections.abc import Mapping
    import invtoolbox.apis as apis
    arch = apis.OFFICIAL_ARCHS
    assert type(arch) is not dict and isinstance(arch, Mapping), type(arch)
    assert not hasattr(arch, '__setitem__') and not hasattr(arch, 'update')
    for name in ('NETWORK_CONVERTERS', 'FOREIGN_DETECTORS'):
        assert not any(hasattr(m, name) for m in list(sys.modules.values())
                       if (getattr(m, '__name__', '') or '').startswith(
                           'invtoolbox')), name
    names = list(arch)
    assert names[0] == 'IRN_x2' and names[-1] == 'NovelViewJPEG', names
    print(len(names))
''')


@pytest.mark.e2e
def test_importing_apis_fills_no_plain_dict():
    """``import invtoolbox.apis`` in a fresh interpreter: the arch list is a
    view of the registry, not a dict that modules append to."""
    proc = subprocess.run([sys.executable, '-c', NO_MUTATION],
                          cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == '45'


def _module_level_mutations(path):
    """``name[...] = ``, ``name.append/extend/update/setdefault/insert(``
    at module level, where ``name`` is imported from another module."""
    tree = ast.parse(path.read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            imported.update(a.asname or a.name for a in node.names)
    found = []

    def walk(nodes):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                 ast.ClassDef)):
                continue
            for sub in ast.walk(node):
                target = None
                if isinstance(sub, (ast.Assign, ast.AugAssign)):
                    targets = sub.targets if isinstance(
                        sub, ast.Assign) else [sub.target]
                    for t in targets:
                        if isinstance(t, ast.Subscript) and isinstance(
                                t.value, ast.Name):
                            target = t.value.id
                elif isinstance(sub, ast.Call) and isinstance(
                        sub.func, ast.Attribute) and sub.func.attr in (
                            'append', 'extend', 'update', 'setdefault',
                            'insert') and isinstance(sub.func.value,
                                                     ast.Name):
                    target = sub.func.value.id
                if target in imported:
                    found.append(f'{path.name}:{sub.lineno} {target}')

    walk(tree.body)
    return found


def test_no_module_fills_another_modules_dict_at_import():
    offenders = []
    for path in sorted((REPO_ROOT / 'invtoolbox').rglob('*.py')):
        offenders += _module_level_mutations(path)
    assert offenders == []


def test_the_mutation_check_can_fail(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('from .a import TABLE, LIST\nTABLE["x"] = 1\n'
                   'for i in range(2):\n    LIST.append(i)\n'
                   'def f():\n    TABLE["y"] = 2\n')
    assert _module_level_mutations(bad) == ['bad.py:2 TABLE', 'bad.py:4 LIST']


# ---------------------------------------------------------------------------
# a new family from a module of its own (here: this test module)
# ---------------------------------------------------------------------------
class ToyCodec(torch.nn.Module):
    """A non-invertible network with two halves, like NovelViewJPEG."""

    def __init__(self, channels=4):
        super().__init__()
        self.encoder = torch.nn.Conv2d(3, channels, 3, padding=1)
        self.decoder = torch.nn.Conv2d(channels, 3, 3, padding=1)


TOY_ARCHS = {
    'ToyCodec_q1': dict(
        config=None,  # written by the fixture (a plugin's own config)
        description='a toy family whose release is two state dicts',
        checkpoint='toy_encoder.pth + toy_decoder.pth',
        files=dict(generator='{encoder: toy_encoder.pth, decoder: '
                   'toy_decoder.pth}')),
}


class ToyCodecConverter(OfficialConverter):
    """Official keys ``enc.*`` / ``dec.*`` in two files, converted by one
    call: ``convert_official_checkpoint(arch, {'encoder': sd, 'decoder':
    sd})``."""

    archs = TOY_ARCHS
    layouts = {'ToyCodec': 'a toy codec (enc.* / dec.*)'}

    @classmethod
    def layout_of(cls, keys):
        if keys and all(
                k.startswith(('enc.', 'dec.', 'encoder.enc.', 'decoder.dec.'))
                for k in keys):
            return 'ToyCodec'
        return None

    def prepare(self, state_dict, part, source):
        if not isinstance(state_dict, Mapping) or \
                set(state_dict) != {'encoder', 'decoder'}:
            raise ValueError(f'{source}: {self.arch} converts '
                             "{'encoder': state_dict, 'decoder': "
                             'state_dict}.')
        flat = OrderedDict()
        for half in ('encoder', 'decoder'):
            where = f'{source} [{half}]'
            state = super().prepare(state_dict[half], part, where)
            self.check_layout(state, part, self.network(part), where)
            for key, value in state.items():
                flat[f'{half}.{key}'] = value
        return flat

    def convert_part(self, state, part, network, source):
        return OrderedDict(
            (k.replace('encoder.enc.', 'encoder.').replace(
                'decoder.dec.', 'decoder.'), v) for k, v in state.items())


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    config = tmp_path / 'toy_codec_q1.py'
    config.write_text("model = dict(type='IRN', generator=dict("
                      "type='ToyCodec', channels=4))\n")
    monkeypatch.setitem(TOY_ARCHS['ToyCodec_q1'], 'config', str(config))
    MODELS.register_module(module=ToyCodec)
    CONVERTERS.register_module(name=list(TOY_ARCHS), module=ToyCodecConverter)
    yield
    for name in TOY_ARCHS:
        CONVERTERS._module_dict.pop(name)
    MODELS._module_dict.pop('ToyCodec')


def toy_release():
    gen = torch.Generator().manual_seed(0)
    return dict(
        encoder={'module.enc.weight': torch.randn(4, 3, 3, 3, generator=gen),
                 'module.enc.bias': torch.randn(4, generator=gen)},
        decoder={'state_dict': {
            'dec.weight': torch.randn(3, 4, 3, 3, generator=gen),
            'dec.bias': torch.randn(3, generator=gen)}})


def test_a_new_family_registers_and_converts(toy_family):
    assert 'ToyCodec_q1' in OFFICIAL_ARCHS
    assert list(OFFICIAL_ARCHS)[-1] == 'ToyCodec_q1'
    spec = OFFICIAL_ARCHS['ToyCodec_q1']
    assert spec['parts']['generator']['network'] == dict(type='ToyCodec',
                                                         channels=4)
    assert (spec['model'], spec['scale'], spec['main']) == ('IRN', 1,
                                                            'generator')
    release = toy_release()
    converted = convert_official_checkpoint('ToyCodec_q1', release)
    net = ToyCodec()
    net.load_state_dict(converted, strict=True)
    assert torch.equal(net.encoder.weight, release['encoder'][
        'module.enc.weight'])
    assert torch.equal(net.decoder.bias,
                       release['decoder']['state_dict']['dec.bias'])
    model_state = convert_official_to_model('ToyCodec_q1', generator=release)
    assert set(model_state) == {'generator.' + k for k in converted}
    assert describe_official_checkpoint(
        {'encoder.enc.weight': torch.zeros(1)}) == \
        'a toy codec (enc.* / dec.*)'


def test_a_new_family_gets_the_shared_checks(toy_family):
    release = toy_release()
    with pytest.raises(ValueError, match=r"converts \{'encoder'"):
        convert_official_checkpoint('ToyCodec_q1', release['encoder'])
    small = toy_release()
    small['decoder']['state_dict']['dec.bias'] = torch.zeros(2)
    with pytest.raises(ValueError, match=r'decoder\.bias has shape \(2,\), '
                       r'the ToyCodec_q1 generator \(ToyCodec\) needs '
                       r'\(3,\)'):
        convert_official_checkpoint('ToyCodec_q1', small)
    irn = {'encoder': {'operations.0.haar_weights': torch.ones(12, 1, 2, 2)},
           'decoder': {'operations.1.F.conv1.weight': torch.ones(1)}}
    with pytest.raises(ValueError, match=r'checkpoint \[encoder\]: this '
                       r'checkpoint looks like an IRN network .*, not the '
                       r'ToyCodec_q1 generator'):
        convert_official_checkpoint('ToyCodec_q1', irn)
    # and a toy release given to another family is named
    with pytest.raises(ValueError, match=r'looks like a toy codec'):
        convert_official_checkpoint('IRN_x2', {
            'encoder.enc.weight': torch.zeros(1)})


def test_a_family_must_list_what_it_converts():
    with pytest.raises(ValueError, match="does not convert 'IRN_x2'"):
        ToyCodecConverter('IRN_x2')
    with pytest.raises(ValueError, match='unknown official arch'):
        get_converter('ToyCodec_q9')


def test_invertible_isp_keys_are_claimed_by_their_own_family():
    """The official Invertible-ISP keys are ``operations.{i}.*`` like IRN's
    (../shared/reference/invisp_invcompress.md); IRN must not claim them:
    the Invertible-ISP converter names them (even a partial state dict)."""
    keys = [f'operations.{i}.{sub}' for i in range(8)
            for sub in ('F.conv1.weight', 'G.conv5.bias', 'H.conv3.weight',
                        'invconv.lower', 'invconv.log_s', 'invconv.upper')]
    state = {k: torch.zeros(1) for k in keys}
    assert 'Invertible-ISP' in describe_official_checkpoint(state)


class ShadowedConverter(ToyCodecConverter):
    """A family whose keys an earlier family (IRN) also recognises."""

    archs = {'Shadowed_x2': dict(TOY_ARCHS['ToyCodec_q1'])}

    @classmethod
    def layout_of(cls, keys):
        return 'ToyCodec' if any(k.endswith('.shadow') for k in keys) \
            else None

    def prepare(self, state_dict, part, source):
        return OfficialConverter.prepare(self, state_dict, part, source)


def test_a_family_converts_its_own_layout_first(toy_family, monkeypatch):
    monkeypatch.setitem(ShadowedConverter.archs['Shadowed_x2'], 'config',
                        TOY_ARCHS['ToyCodec_q1']['config'])
    state = OrderedDict([('operations.0.haar_weights', torch.zeros(1)),
                         ('operations.0.shadow', torch.zeros(1))])
    converter = ShadowedConverter('Shadowed_x2')
    network = converter.network('generator')
    converter.check_layout(state, 'generator', network, 'x.pth')  # passes
    with pytest.raises(ValueError, match='looks like a toy codec'):
        get_converter('IRN_x2').check_layout(
            {'encoder.enc.weight': torch.zeros(1)}, 'generator',
            get_converter('IRN_x2').network('generator'), 'x.pth')


def test_sain_errors_and_descriptions_name_both_key_layouts():
    from tests.models.editors.irn.official_layout import official_state_dict
    from invtoolbox.models.editors.sain import SAINConverter
    official = official_state_dict('SAIN_x4')
    partial = dict(official)
    del partial['comp_operations.5.H.conv2.bias']
    with pytest.raises(ValueError, match=r"missing 'comp_operations\.5\.H\."
                       r"conv2\.bias \(-> inn\.blocks\.17\.H\.conv2\.bias\)'"):
        convert_official_checkpoint('SAINx4_JPEG', partial)
    converted = convert_official_checkpoint('SAINx4_JPEG', official)
    assert SAINConverter.describe_model_part('generator', converted) == \
        'SAIN x4: 2 Haar stages, 10 enhanced + 6 vanilla blocks, split 3'
    assert SAINConverter.describe_model_part('restorer', converted) is None


def test_the_tool_converts_a_new_family_from_two_files(toy_family, tmp_path,
                                                      capsys):
    tool = load_tool('model_converters/convert_official')
    release = toy_release()
    for half in ('encoder', 'decoder'):
        torch.save(release[half], tmp_path / f'{half}.pth')
    dst = tmp_path / 'toy.pth'
    src = f'encoder={tmp_path / "encoder.pth"},decoder={tmp_path / "decoder.pth"}'
    assert tool.main(['ToyCodec_q1', src, str(dst)]) == 0
    assert 'wrote' in capsys.readouterr().out
    ckpt = torch.load(dst, weights_only=True)
    assert set(ckpt['state_dict']) == {
        'generator.encoder.weight', 'generator.encoder.bias',
        'generator.decoder.weight', 'generator.decoder.bias'}
    assert ckpt['meta']['sources']['generator']['decoder']['file'] == \
        'decoder.pth'
    assert tool.main(['--list']) == 0
    assert 'ToyCodec_q1' in capsys.readouterr().out
    # one file where the family needs two: one line, nothing written
    bad = tmp_path / 'bad.pth'
    assert tool.main(['ToyCodec_q1', str(tmp_path / 'encoder.pth'),
                      str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "converts {'encoder'" in err
    assert not bad.exists()
    assert tool.main(['ToyCodec_q1', src, str(bad), '--part',
                      'restorer=x.pth']) == 1
    assert '--part restorer does not apply to ToyCodec_q1' in \
        capsys.readouterr().err


def test_the_tool_takes_any_part(tmp_path, capsys):
    from tests.models.editors.irn.official_layout import (
        filled, official_discriminator_keys, official_state_dict)
    tool = load_tool('model_converters/convert_official')
    torch.save(official_state_dict('IRN_x4'), tmp_path / 'IRN+_x4.pth')
    torch.save(filled(official_discriminator_keys()), tmp_path / '5_D.pth')
    for flag in (['--discriminator', str(tmp_path / '5_D.pth')],
                 ['--part', f'discriminator={tmp_path / "5_D.pth"}']):
        dst = tmp_path / f'out{len(flag[1])}.pth'
        assert tool.main(['IRN+_x4', str(tmp_path / 'IRN+_x4.pth'),
                          str(dst)] + flag) == 0
        ckpt = torch.load(dst, weights_only=True)
        assert 'discriminator.linear2.bias' in ckpt['state_dict']
        assert ckpt['meta']['sources']['discriminator']['file'] == '5_D.pth'
    assert tool.main(['IRN+_x4', str(tmp_path / 'IRN+_x4.pth'),
                      str(tmp_path / 'x.pth'), '--part', 'discriminator']) == 1
    assert 'expected PART=FILE' in capsys.readouterr().err
