# Copyright (c) invtoolbox contributors. All rights reserved.
"""The IICNet converter on official-layout state dicts of every layout.

Only mono-01 has official vectors (tests/models/editors/iicnet); the other
layouts are state dicts built from the official module structure
(``official_layout.py``), each tensor filled with a value derived from its
key, so the tests see where every tensor lands.
"""
import pytest
import torch

from invtoolbox.apis import (IICNET_CONFIG_IDS, OFFICIAL_ARCHS,
                             convert_iicnet_state_dict,
                             convert_official_checkpoint,
                             convert_official_to_model,
                             describe_official_checkpoint)
from invtoolbox.registry import MODELS
from tests.models.editors.iicnet.official_layout import (LAYOUTS,
                                                         PARAM_COUNTS,
                                                         key_value,
                                                         official_state_dict)

REL_NAMES = {
    'DB_heads': 'head_blocks',
    'conv_1x1_heads': 'head_convs',
    'conv_merges': 'merge_convs',
    'conv_1x1_tails': 'tail_convs',
    'DB_tails': 'tail_blocks',
}


def expected_key(key):
    """Where an official key must land (written out independently)."""
    parts = key.split('.')
    if parts[0] == '0':
        return '.'.join(['rel', parts[1], REL_NAMES[parts[2]]] + parts[3:])
    if parts[0] == '1':
        return '.'.join(['down', 'blocks'] + parts[2:])
    return '.'.join(['inn', 'blocks'] + parts[2:])


def test_every_released_config_has_an_arch():
    ids = ('st-01 st-02 st-03 st-04 st-05 st-06 st-07 mono-01 mono-02 '
           'mono-03 dual-01 dual-02 dual-03 adobe-01 real-01 hide-01 '
           'hide-02 hide-03 hide-04 hide-05 hide-06 supp-gray-01 '
           'supp-sr-01').split()
    assert list(IICNET_CONFIG_IDS) == ids
    for cid in ids:
        spec = OFFICIAL_ARCHS[f'IICNet_{cid}']
        assert spec['model'] == 'IICNet' and spec['main'] == 'generator'
        assert spec['checkpoint'].endswith('.pth') and spec['description']
        assert spec['parts']['generator']['network']['type'] == 'IICNetNet'
        assert spec['task']['type']


@pytest.mark.parametrize('config_id', sorted(LAYOUTS))
def test_official_layout_converts_and_loads(config_id):
    arch = f'IICNet_{config_id}'
    if arch not in OFFICIAL_ARCHS:  # hide-03 is listed; keep it explicit
        pytest.fail(f'{arch} missing')
    state = official_state_dict(config_id)
    converted = convert_official_checkpoint(arch, state)
    assert len(converted) == len(state)
    for key, value in state.items():
        assert torch.equal(converted[expected_key(key)], value), key
    with torch.device('meta'):
        net = MODELS.build(OFFICIAL_ARCHS[arch]['parts']['generator'][
            'network'])
    net.load_state_dict(converted, strict=True, assign=True)
    if config_id in PARAM_COUNTS:
        assert net.num_official_params() == PARAM_COUNTS[config_id]
    # 'module.' prefix and a state_dict wrapper are accepted
    wrapped = {'state_dict': {'module.' + k: v for k, v in state.items()}}
    assert list(convert_official_checkpoint(arch, wrapped)) == list(
        converted)


@pytest.mark.parametrize('config_id', sorted(LAYOUTS))
def test_layout_is_derived_from_the_keys(config_id):
    converted, cfg = convert_iicnet_state_dict(official_state_dict(
        config_id))
    arch_cfg = OFFICIAL_ARCHS[f'IICNet_{config_id}']['parts']['generator'][
        'network']
    for key in ('num_images', 'use_rel', 'block_num', 'out_channels'):
        assert cfg[key] == arch_cfg[key], key
    if arch_cfg['down'] is None:
        assert cfg['down'] is None
    else:
        assert cfg['down']['type'] == arch_cfg['down']['type']
        assert cfg['down']['order'] == arch_cfg['down']['order']
    assert describe_official_checkpoint(official_state_dict(
        config_id)).startswith('an IICNet network')


def test_converted_network_runs_on_official_layout():
    """st-06 (Haar hl + 1x1 conv): the converted weights give the same
    network as loading them by the official names would."""
    state = official_state_dict('st-06')
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=gen) * 0.02
             for k, v in state.items()}
    conv_w = torch.linalg.qr(torch.randn(36, 36, generator=gen))[0]
    state['1.operations.1.weight'] = conv_w
    haar = torch.ones(4, 1, 2, 2)
    haar[1, 0, :, 1] = -1
    haar[2, 0, 1, :] = -1
    haar[3, 0, 0, 1] = haar[3, 0, 1, 0] = -1
    state['1.operations.0.haar_weights'] = haar.repeat(9, 1, 1, 1)
    net = MODELS.build(OFFICIAL_ARCHS['IICNet_st-06']['parts']['generator'][
        'network'])
    net.load_state_dict(convert_official_checkpoint('IICNet_st-06', state))
    x = torch.rand(1, 9, 8, 8)
    with torch.no_grad():
        inter = net.embed_intermediates(x)
        assert inter['embedding'].shape == (1, 3, 4, 4)
        # the 1x1 conv runs with the official weight
        haar_out = net.down[0](inter['rel'])
        assert torch.allclose(
            inter['down'],
            torch.einsum('ij,njhw->nihw', conv_w, haar_out), atol=1e-5)
        back = net.inn(inter['inn'], rev=True)
        assert torch.allclose(net.down(back, rev=True), inter['rel'],
                              atol=1e-4)


def test_wrong_arch_says_what_it_looks_like():
    state = official_state_dict('st-01')
    with pytest.raises(ValueError, match=r'looks like IICNet_st-01 / '
                       r'IICNet_st-03.*5 images.*not IICNet_mono-01 '
                       r'\(2 images'):
        convert_official_checkpoint('IICNet_mono-01', state)
    with pytest.raises(ValueError, match='looks like IICNet_st-06.*Haar'):
        convert_official_checkpoint('IICNet_st-07',
                                    official_state_dict('st-06'))


def test_iicnet_state_dict_in_an_irn_arch_is_named():
    with pytest.raises(ValueError, match='looks like an IICNet network'):
        convert_official_checkpoint('IRN_x2', official_state_dict('mono-01'))


def test_foreign_and_broken_state_dicts():
    irn_like = {'operations.0.haar_weights': torch.ones(12, 1, 2, 2)}
    with pytest.raises(ValueError, match='not IICNet_st-01'):
        convert_official_checkpoint('IICNet_st-01', irn_like)
    state = official_state_dict('dual-01')
    state['2.operations.0.X.conv1.weight'] = torch.ones(1)
    with pytest.raises(ValueError, match=r"key '2\.operations\.0\.X"):
        convert_official_checkpoint('IICNet_dual-01', state)
    state = official_state_dict('dual-01')
    del state['2.operations.3.F.conv1.weight']
    with pytest.raises(ValueError, match='missing'):
        convert_official_checkpoint('IICNet_dual-01', state)
    state = official_state_dict('dual-01')
    state['0.forw_rel.conv_merges.0.weight'] = torch.ones(64, 64, 3, 3)
    with pytest.raises(ValueError,
                       match=r'0\.forw_rel\.conv_merges\.0\.weight '
                       r'\(-> rel.*has shape'):
        convert_official_checkpoint('IICNet_dual-01', state)


def test_whole_model_prefix():
    out = convert_official_to_model(
        'IICNet_supp-gray-01', generator=official_state_dict('supp-gray-01'))
    key = 'generator.inn.blocks.0.F.conv5.bias'
    assert torch.equal(out[key],
                       torch.full((1, ), key_value('2.operations.0.F.conv5.'
                                                   'bias')))
