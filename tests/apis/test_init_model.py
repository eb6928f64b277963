# Copyright (c) invtoolbox contributors. All rights reserved.
"""init_model: config + invtoolbox checkpoint, with one-line errors."""
import pytest
import torch

from invtoolbox.apis import init_model, save_checkpoint_atomic
from invtoolbox.models.editors.irn import IRN

SMALL = ("model = dict(type='IRN', generator=dict(type='IRNNet', scale={scale},"
         " block_num={blocks}, subnet=dict(type='DenseBlock', growth=8)),"
         " test_cfg=dict(latent='zero'))\n")
PLUS = ("model = dict(type='IRNPlus', generator=dict(type='IRNNet', scale=4, "
        "block_num=[1, 1], subnet=dict(type='DenseBlock', growth=8)), "
        "discriminator=dict(type='VGGStyleDiscriminator', mid_channels=2))\n")


class Unsafe:
    """A Python object a weights-only load must refuse."""


def write_config(folder, text, name='cfg.py'):
    path = folder / name
    path.write_text(text)
    return str(path)


@pytest.fixture
def x2_config(tmp_path):
    return write_config(tmp_path, SMALL.format(scale=2, blocks=[1]), 'x2.py')


def checkpoint_of(model, path):
    return save_checkpoint_atomic(
        dict(meta=dict(note='test'), state_dict=model.state_dict()), path)


def test_build_and_load(x2_config, tmp_path):
    model = init_model(x2_config)
    assert isinstance(model, IRN) and not model.training
    assert model.cfg.model.type == 'IRN'
    torch.manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    ckpt = checkpoint_of(model, tmp_path / 'w.pth')
    loaded = init_model(x2_config, ckpt)
    for (name, a), b in zip(model.state_dict().items(),
                            loaded.state_dict().values()):
        assert torch.equal(a, b), name
    lr = torch.rand(1, 3, 4, 4)
    assert torch.equal(model.upscale(lr), loaded.upscale(lr))


def test_missing_files(x2_config, tmp_path):
    with pytest.raises(FileNotFoundError, match='config .*nope.py'):
        init_model(str(tmp_path / 'nope.py'))
    with pytest.raises(FileNotFoundError, match='checkpoint .*none.pth'):
        init_model(x2_config, str(tmp_path / 'none.pth'))
    with pytest.raises(ValueError, match='has no model dict'):
        init_model(write_config(tmp_path, 'x = 1\n'))


def test_checkpoint_of_another_scale(x2_config, tmp_path):
    x4 = init_model(
        write_config(tmp_path, SMALL.format(scale=4, blocks=[1, 1]), 'x4.py'))
    ckpt = checkpoint_of(x4, tmp_path / 'x4.pth')
    with pytest.raises(ValueError) as info:
        init_model(x2_config, ckpt)
    message = str(info.value)
    assert '\n' not in message
    assert 'does not fit config' in message
    assert 'holds IRN 2 Haar levels, 1+1 couplings' in message
    assert 'builds IRN 1 Haar level, 1 couplings' in message


def test_official_and_unsafe_checkpoints(x2_config, tmp_path):
    x2 = init_model(x2_config)
    official = {
        'operations.' + k[len('generator.blocks.'):]: v
        for k, v in x2.state_dict().items() if k.startswith('generator.')
    }
    torch.save(official, tmp_path / 'official.pth')
    with pytest.raises(ValueError, match='official checkpoint .*convert it '
                       'first'):
        init_model(x2_config, str(tmp_path / 'official.pth'))

    torch.save({'state_dict': x2.state_dict(), 'obj': Unsafe()},
               tmp_path / 'pickled.pth')
    with pytest.raises(ValueError, match='weights_only=True'):
        init_model(x2_config, str(tmp_path / 'pickled.pth'))


def test_parts_outside_the_generator_may_be_missing(tmp_path):
    config = write_config(tmp_path, PLUS, 'plus.py')
    plus = init_model(config)
    generator_only = {
        k: v
        for k, v in plus.state_dict().items() if k.startswith('generator.')
    }
    ckpt = save_checkpoint_atomic(
        dict(meta={}, state_dict=generator_only), tmp_path / 'g.pth')
    loaded = init_model(config, ckpt)
    assert torch.equal(loaded.generator.blocks[1].F.conv1.weight,
                       plus.generator.blocks[1].F.conv1.weight)


@pytest.mark.parametrize('keys,looks', [
    (['haar_operations.0.haar_weights', 'down_operations.0.E.conv1.weight'],
     'SAIN'),
    (['0.forw_rel.DB_heads.0.conv1.weight', '2.operations.0.F.conv1.weight'],
     'IICNet'),
])
def test_unconverted_sain_and_iicnet_files(x2_config, tmp_path, keys, looks):
    torch.save({k: torch.zeros(1) for k in keys}, tmp_path / 'official.pth')
    with pytest.raises(ValueError, match=f'official checkpoint .*{looks}.*'
                       'convert it first'):
        init_model(x2_config, str(tmp_path / 'official.pth'))
