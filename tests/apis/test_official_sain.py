# Copyright (c) invtoolbox contributors. All rights reserved.
"""Converters of the official SAIN checkpoints (SAINx2_JPEG, SAINx2_WebP,
SAINx4_JPEG), the x4 scheme without its own vectors, and wrong-arch errors.

The x4 state dict is built in the official layout from the key list of
``../shared/reference/irn_sain_keys.txt`` (each tensor filled with a value
derived from its key), so the test sees where every tensor lands.
"""
import importlib.util
import re

import pytest
import torch

from invtoolbox.apis import (OFFICIAL_ARCHS, convert_official_checkpoint,
                             convert_official_to_model,
                             convert_sain_state_dict, init_model)
from invtoolbox.registry import MODELS
from tests.helpers import REPO_ROOT, shared_path
from tests.models.editors.irn.official_layout import (key_value,
                                                      official_state_dict)

LAYOUTS = {
    'SAIN_x2': dict(scale=2, e_blocks=5, v_blocks=3),
    'SAIN_x4': dict(scale=4, e_blocks=10, v_blocks=6),
}


def expected_key(key, num_haar, num_e):
    """Where an official key must land in SAINNet."""
    if key == 'gmm.gmm_para':
        return key
    group, index, rest = re.match(r'^(\w+_operations)\.(\d+)\.(.+)$',
                                  key).groups()
    offset = dict(haar_operations=0, down_operations=num_haar,
                  comp_operations=num_haar + num_e)[group]
    return f'inn.blocks.{offset + int(index)}.{rest}'


def test_arch_table():
    for arch, (scale, e, v) in {
            'SAINx2_JPEG': (2, 5, 3),
            'SAINx2_WebP': (2, 5, 3),
            'SAINx4_JPEG': (4, 10, 6)
    }.items():
        spec = OFFICIAL_ARCHS[arch]
        assert spec['checkpoint'] == f'{arch}.pth'
        assert spec['model'] == 'SAIN' and spec['scale'] == scale
        assert spec['main'] == 'generator'
        net = spec['parts']['generator']['network']
        assert (net['type'], net['scale'], net['e_blocks'],
                net['v_blocks']) == ('SAINNet', scale, e, v)


@pytest.mark.parametrize('section,arch', [('SAIN_x2', 'SAINx2_JPEG'),
                                          ('SAIN_x2', 'SAINx2_WebP'),
                                          ('SAIN_x4', 'SAINx4_JPEG')])
def test_every_tensor_lands_where_it_belongs(section, arch):
    official = official_state_dict(section)
    layout = LAYOUTS[section]
    converted = convert_official_checkpoint(arch, official)
    assert len(converted) == len(official)
    num_haar = {2: 1, 4: 2}[layout['scale']]
    for key, value in official.items():
        ours = converted[expected_key(key, num_haar, layout['e_blocks'])]
        assert ours.shape == value.shape
        assert ours.flatten()[0].item() == pytest.approx(key_value(key))
    net = MODELS.build(dict(type='SAINNet', **layout))
    net.load_state_dict(converted, strict=True)


def test_inverse_mapping_of_an_x4_network():
    """An x4 SAINNet -> official layout (inverse map) -> converter -> the
    same network, with outputs unchanged."""
    torch.manual_seed(0)
    net = MODELS.build(dict(type='SAINNet', **LAYOUTS['SAIN_x4'])).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    inverse = {}
    for key, value in net.state_dict().items():
        if key.startswith('inn.blocks.'):
            index, rest = re.match(r'^inn\.blocks\.(\d+)\.(.+)$',
                                   key).groups()
            index = int(index)
            if index < 2:
                key = f'haar_operations.{index}.{rest}'
            elif index < 12:
                key = f'down_operations.{index - 2}.{rest}'
            else:
                key = f'comp_operations.{index - 12}.{rest}'
        inverse['module.' + key] = value  # DataParallel prefix is stripped
    converted, cfg = convert_sain_state_dict({'state_dict': inverse})
    assert (cfg['scale'], cfg['e_blocks'], cfg['v_blocks'],
            cfg['gmm_components']) == (4, 10, 6, 5)
    again = MODELS.build(cfg).eval()
    again.load_state_dict(converted, strict=True)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        (a, lr_a), (b, lr_b) = net(x), again(x)
    assert torch.equal(a, b) and torch.equal(lr_a, lr_b)


def test_the_vector_file_converts_for_the_model():
    vectors = torch.load(
        shared_path('vectors', 'sain_x2.pt'), weights_only=True)
    state = convert_official_to_model('SAINx2_JPEG',
                                      generator=vectors['state_dict'])
    assert 'generator.gmm.gmm_para' in state
    model = MODELS.build(
        dict(type='SAIN', generator=dict(type='SAINNet', scale=2)))
    model.load_state_dict(state, strict=True)
    assert torch.equal(model.latent.gmm_para,
                       vectors['state_dict']['gmm.gmm_para'])


@pytest.mark.parametrize('section,arch,message', [
    ('SAIN_x2', 'SAINx4_JPEG',
     r'looks like SAINx2_JPEG / SAINx2_WebP \(SAIN x2: 1 Haar stage, 5 '
     r'enhanced \+ 3 vanilla blocks, split 3\), not SAINx4_JPEG .*'
     r"pass arch='SAINx2_JPEG'"),
    ('SAIN_x4', 'SAINx2_WebP', r'looks like SAINx4_JPEG .* not SAINx2_WebP'),
    ('IRN_x2', 'SAINx2_JPEG', r'looks like IRN_x2 .* not a SAIN network'),
    ('SAIN_x2', 'IRN_x2', r'looks like a SAIN network .* not the IRN_x2'),
    ('CRM_R', 'SAINx2_JPEG', r'looks like CRM_x2_q90'),
])
def test_wrong_arch_errors(section, arch, message):
    with pytest.raises(ValueError, match=message) as info:
        convert_official_checkpoint(arch, official_state_dict(section),
                                    source='w.pth')
    assert '\n' not in str(info.value)
    assert str(info.value).startswith('w.pth: ')


def test_other_errors():
    x2 = official_state_dict('SAIN_x2')
    partial = dict(x2)
    del partial['down_operations.2.G.conv3.weight']
    with pytest.raises(ValueError, match='keys do not match'):
        convert_official_checkpoint('SAINx2_JPEG', partial)
    gap = {k: v for k, v in x2.items()
           if not k.startswith('down_operations.3.')}
    with pytest.raises(ValueError, match='not contiguous'):
        convert_official_checkpoint('SAINx2_JPEG', gap)
    extra = dict(x2)
    extra['down_operations.0.K.conv1.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match='not a key of a SAIN down op'):
        convert_official_checkpoint('SAINx2_JPEG', extra)
    no_gmm = {k: v for k, v in x2.items() if k != 'gmm.gmm_para'}
    with pytest.raises(ValueError, match=r'gmm.gmm_para must be a \(3, K\)'):
        convert_official_checkpoint('SAINx2_JPEG', no_gmm)
    ours = {'generator.' + k: v for k, v in convert_official_checkpoint(
        'SAINx2_JPEG', x2).items()}
    with pytest.raises(ValueError, match='an invtoolbox checkpoint already'):
        convert_official_checkpoint('SAINx2_JPEG', ours)


def test_convert_official_tool_and_init_model(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'convert_official',
        REPO_ROOT / 'tools' / 'model_converters' / 'convert_official.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    vectors = torch.load(
        shared_path('vectors', 'sain_x2.pt'), weights_only=True)
    src = tmp_path / 'SAINx2_JPEG.pth'
    torch.save(vectors['state_dict'], src)  # the official file format
    dst = tmp_path / 'sain_x2_jpeg.pth'
    assert tool.main(['SAINx2_JPEG', str(src), str(dst)]) == 0
    assert 'wrote' in capsys.readouterr().out
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['arch'] == 'SAINx2_JPEG'
    assert ckpt['meta']['model'] == 'SAIN'
    model = init_model(
        str(REPO_ROOT / 'configs' / 'sain' / 'sain_x2_jpeg_div2k.py'),
        str(dst))
    assert torch.equal(
        model.generator.state_dict()['inn.blocks.3.E.conv2.weight'],
        vectors['state_dict']['down_operations.2.E.conv2.weight'])
    # an x2 file converted as x4 fails with one line and writes nothing
    bad = tmp_path / 'bad.pth'
    assert tool.main(['SAINx4_JPEG', str(src), str(bad)]) == 1
    assert 'looks like SAINx2_JPEG' in capsys.readouterr().err
    assert not bad.exists()
