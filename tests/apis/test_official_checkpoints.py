# Copyright (c) invtoolbox contributors. All rights reserved.
"""convert_official_checkpoint: every official layout, and wrong-arch errors.

Only IRN x2 and IRN-Color have official vectors; the other layouts are
checked on state dicts generated from the official key lists
(``../shared/reference/irn_sain_keys.txt``), each tensor filled with a value
derived from its key, so that a test sees where every tensor lands.
"""
import re

import pytest
import torch

from invtoolbox.apis import (OFFICIAL_ARCHS, convert_irn_state_dict,
                             convert_official_checkpoint,
                             convert_official_to_model,
                             describe_official_checkpoint)
from invtoolbox.registry import MODELS
from tests.models.editors.irn.official_layout import (
    filled, key_value, official_discriminator_keys, official_keys,
    official_state_dict)

IRN_ARCHS = [('IRN_x2', 'IRN_x2'), ('IRN_x3', 'IRN_x3'), ('IRN_x4', 'IRN_x4'),
             ('IRN_x8', 'IRN_x8'), ('IRN_x4', 'IRN+_x4'),
             ('IRN_x2', 'IRN_x2_finetune'), ('IRN_color', 'IRN_color')]


def test_arch_table():
    assert [a for a, s in OFFICIAL_ARCHS.items()
            if s['model'].startswith('IRN')] == [
        'IRN_x2', 'IRN_x3', 'IRN_x4', 'IRN_x8', 'IRN+_x4', 'IRN_x2_finetune',
        'IRN_color', 'CRM_x2_q90'
    ]
    for name, spec in OFFICIAL_ARCHS.items():
        assert spec['main'] in spec['parts'], name
        assert spec['checkpoint'].endswith(('.pth', '.pth.tar'))
        assert spec['description']


@pytest.mark.parametrize('section,arch', IRN_ARCHS,
                         ids=[a for _, a in IRN_ARCHS])
def test_irn_layouts_convert(section, arch):
    official = official_state_dict(section)
    # as saved from DataParallel: the module. prefix is stripped
    wrapped = {'module.' + k: v for k, v in official.items()}
    converted = convert_official_checkpoint(arch, wrapped)
    net_cfg = OFFICIAL_ARCHS[arch]['parts']['generator']['network']
    net = MODELS.build(net_cfg)
    net.load_state_dict(converted, strict=True)
    for key, value in net.state_dict().items():
        official_key = 'operations.' + key[len('blocks.'):]
        assert value.flatten()[0].item() == pytest.approx(
            key_value(official_key)), key


def test_layout_is_derived_from_the_keys():
    state, cfg = convert_irn_state_dict(official_state_dict('IRN_x8'))
    assert (cfg['scale'], cfg['down_type'], cfg['block_num']) == \
        (8, 'haar', [8, 8, 8])
    # another depth of the same code: 2 Haar levels with 4 couplings each
    keys = [(k, s) for k, s in official_keys('IRN_x4')
            if int(k.split('.')[1]) not in range(5, 9)
            and int(k.split('.')[1]) not in range(14, 18)]
    renumber = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 9: 5, 10: 6, 11: 7, 12: 8, 13: 9}
    keys = [(re.sub(r'^operations\.(\d+)',
                    lambda m: f'operations.{renumber[int(m.group(1))]}', k),
             s) for k, s in keys]
    state, cfg = convert_irn_state_dict(filled(keys))
    assert cfg['block_num'] == [4, 4] and cfg['scale'] == 4
    MODELS.build(cfg).load_state_dict(state, strict=True)
    with pytest.raises(ValueError, match=r'\(2 Haar levels, 4\+4 couplings'
                       r', split 3\), not IRN_x4 .*convert_irn_state_dict'):
        convert_official_checkpoint('IRN_x4', filled(keys))


@pytest.mark.parametrize('section,arch,message', [
    ('IRN_x4', 'IRN_x2', r"looks like IRN_x4 / IRN\+_x4 \(2 Haar levels, "
     r"8\+8 couplings, split 3\), not IRN_x2 \(1 Haar level, 8 couplings, "
     r"split 3\); pass arch='IRN_x4'"),
    ('IRN_x2', 'IRN_x8', r'looks like IRN_x2 / IRN_x2_finetune'),
    ('IRN_x3', 'IRN_x2', r'ConvDownsampling x3, 12 couplings'),
    ('IRN_color', 'IRN_x2', r'looks like IRN_color \(Conv1x1Grey'),
    ('CRM_R', 'IRN_x2', r'looks like CRM_x2_q90 \(the RRDBNet restorer'),
    ('SAIN_x2', 'IRN_x2', r'looks like a SAIN network'),
    ('IRN_x2', 'CRM_x2_q90', r'looks like IRN_x2 .*not the CRM_x2_q90 '
     r'restorer'),
])
def test_wrong_arch_errors(section, arch, message):
    with pytest.raises(ValueError, match=message) as info:
        convert_official_checkpoint(arch, official_state_dict(section))
    assert '\n' not in str(info.value)


def test_other_errors():
    state = official_state_dict('IRN_x2')
    with pytest.raises(ValueError, match='unknown official arch'):
        convert_official_checkpoint('IRN_x16', state)
    with pytest.raises(ValueError, match='has no part'):
        convert_official_checkpoint('IRN_x2', state, part='discriminator')
    partial = dict(state)
    partial.pop('operations.3.G.conv2.bias')
    with pytest.raises(ValueError, match='missing'):
        convert_official_checkpoint('IRN_x2', partial)
    bad = dict(state)
    bad['operations.1.F.conv2.weight'] = torch.zeros(32, 40, 3, 3)
    with pytest.raises(ValueError, match=r'F.conv2.weight has shape'):
        convert_official_checkpoint('IRN_x2', bad)
    gap = {k: v for k, v in state.items() if not k.startswith('operations.4')}
    with pytest.raises(ValueError, match='not contiguous'):
        convert_official_checkpoint('IRN_x2', gap)
    with pytest.raises(ValueError, match='not a tensor'):
        convert_official_checkpoint('IRN_x2', {'operations.0.x': 1})
    with pytest.raises(ValueError, match='already'):
        convert_official_checkpoint('IRN_x2',
                                    {'generator.blocks.0.haar_weights':
                                     torch.zeros(12, 1, 2, 2)})


def test_crm_restorer_and_model_prefixes():
    official = official_state_dict('CRM_R')
    restorer = convert_official_checkpoint('CRM_x2_q90', official)
    assert list(restorer) == list(official)  # official names are kept
    net = MODELS.build(OFFICIAL_ARCHS['CRM_x2_q90']['parts']['restorer']
                       ['network'])
    net.load_state_dict(restorer, strict=True)
    assert net.RRDB_trunk[2].RDB1.conv4.weight.flatten()[0].item() == \
        pytest.approx(key_value('RRDB_trunk.2.RDB1.conv4.weight'))
    both = convert_official_to_model(
        'CRM_x2_q90',
        restorer=official,
        generator=official_state_dict('IRN_x2'))
    assert 'restorer.conv_first.weight' in both
    assert 'generator.blocks.8.H.conv5.bias' in both
    small = {k: v for k, v in official.items()
             if not k.startswith('RRDB_trunk.7.')}
    with pytest.raises(ValueError, match='nb=7.*not the CRM_x2_q90'):
        convert_official_checkpoint('CRM_x2_q90', small)


def test_irn_plus_discriminator():
    disc = filled(official_discriminator_keys())
    converted = convert_official_checkpoint(
        'IRN+_x4', disc, part='discriminator')
    net = MODELS.build(dict(type='VGGStyleDiscriminator'))
    net.load_state_dict(converted, strict=True)
    assert int(net.bn2_1.num_batches_tracked) == 7
    with pytest.raises(ValueError, match='looks like the IRN\\+ '
                       'discriminator.*not the IRN\\+_x4 generator'):
        convert_official_checkpoint('IRN+_x4', disc)
    with pytest.raises(ValueError, match='nf=32'):
        convert_official_checkpoint(
            'IRN+_x4',
            filled(official_discriminator_keys(nf=32)),
            part='discriminator')
    model_state = convert_official_to_model(
        'IRN+_x4',
        generator=official_state_dict('IRN_x4'),
        discriminator=disc)
    assert 'discriminator.linear2.bias' in model_state
    assert 'generator.blocks.9.haar_weights' in model_state


def test_describe():
    assert describe_official_checkpoint(
        official_state_dict('IRN_x8')) == (
            'IRN_x8 (3 Haar levels, 8+8+8 couplings, split 3)')
    assert describe_official_checkpoint(
        official_state_dict('IRN_color')).startswith('IRN_color')
