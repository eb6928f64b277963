# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/model_converters: convert_official.py and publish_model.py."""
import hashlib
import re
import stat

import pytest
import torch
from mmengine.logging import MessageHub

from invtoolbox.apis import init_model
from invtoolbox.apis.checkpoint_io import default_file_mode
from tests.helpers import REPO_ROOT, load_tool, shared_path

TOOLS = REPO_ROOT / 'tools' / 'model_converters'
IRN_X2_CONFIG = ("model = dict(type='IRN', generator=dict(type='IRNNet', "
                 "scale=2, block_num=[8]), test_cfg=dict(latent='zero'))\n")


@pytest.fixture(scope='module')
def convert_tool():
    return load_tool('model_converters/convert_official')


@pytest.fixture(scope='module')
def publish_tool():
    return load_tool('model_converters/publish_model')


@pytest.fixture(scope='module')
def irn_x2_vectors():
    return torch.load(
        shared_path('vectors', 'irn_x2.pt'), weights_only=True)


def test_convert_official_round_trip(convert_tool, irn_x2_vectors, tmp_path,
                                     capsys):
    src = tmp_path / 'IRN_x2.pth'
    torch.save(irn_x2_vectors['state_dict'], src)  # the official file format
    dst = tmp_path / 'out' / 'irn_x2_invtoolbox.pth'
    assert convert_tool.main(['IRN_x2', str(src), str(dst)]) == 0
    assert 'wrote' in capsys.readouterr().out
    ckpt = torch.load(dst, weights_only=True)
    assert set(ckpt) == {'meta', 'state_dict'}
    assert ckpt['meta']['arch'] == 'IRN_x2'
    assert ckpt['meta']['sources']['generator']['sha256'] == hashlib.sha256(
        src.read_bytes()).hexdigest()
    assert all(k.startswith('generator.blocks.') for k in ckpt['state_dict'])
    assert not list(dst.parent.glob('.*.tmp'))
    # the converted file reproduces the official forward pass via init_model
    config = tmp_path / 'irn_x2.py'
    config.write_text(IRN_X2_CONFIG)
    model = init_model(str(config), str(dst))
    forward = next(c for c in irn_x2_vectors['cases']
                   if c['direction'] == 'forward')
    with torch.no_grad():
        out = model(forward['inputs']['x'], mode='tensor')
    assert (out - forward['outputs']['out']).abs().max() <= 1e-5


def test_convert_official_errors(convert_tool, irn_x2_vectors, tmp_path,
                                 capsys):
    src = tmp_path / 'IRN_x2.pth'
    torch.save(irn_x2_vectors['state_dict'], src)
    dst = tmp_path / 'x4.pth'
    assert convert_tool.main(['IRN_x4', str(src), str(dst)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "looks like IRN_x2 / IRN_x2_finetune" in err
    assert "pass arch='IRN_x2'" in err
    assert not dst.exists()
    # the source is never overwritten
    before = src.read_bytes()
    assert convert_tool.main(['IRN_x2', str(src), str(src)]) == 1
    assert 'refusing to overwrite the input' in capsys.readouterr().err
    assert src.read_bytes() == before
    assert convert_tool.main(['IRN_x2', str(tmp_path / 'no.pth'),
                              str(dst)]) == 1
    assert 'not found' in capsys.readouterr().err
    assert convert_tool.main(
        ['IRN_x2', str(src), str(dst), '--discriminator', str(src)]) == 1
    assert '--discriminator does not apply to IRN_x2' in \
        capsys.readouterr().err
    assert convert_tool.main(['--list']) == 0
    assert 'CRM_x2_q90' in capsys.readouterr().out


def test_publish_model(publish_tool, tmp_path, capsys):
    # a training checkpoint as mmengine's runner writes it
    weights = {
        'generator.blocks.0.haar_weights': torch.rand(12, 1, 2, 2),
        'generator.blocks.1.F.conv1.weight': torch.rand(4, 9, 3, 3),
        'perceptual_loss.feature_extractor.features.0.weight': torch.rand(
            2, 3, 3, 3),
    }
    param = torch.nn.Parameter(torch.rand(3))
    optim = torch.optim.Adam([param])
    param.sum().backward()
    optim.step()
    hub = MessageHub.get_instance('test_publish_model')
    hub.update_scalar('train/loss', 1.5)
    training = dict(
        meta=dict(seed=10, iter=5000, cfg="model = dict(type='IRN')",
                  np_value=__import__('numpy').float32(2.5)),
        state_dict=weights,
        optimizer=optim.state_dict(),
        message_hub=hub.state_dict(),
        param_schedulers=[dict(milestones={100: 1}, gamma=0.5)])
    MessageHub._instance_dict.pop('test_publish_model', None)
    src = tmp_path / 'iter_5000.pth'
    torch.save(training, src)
    with pytest.raises(Exception):  # really not loadable weights-only
        torch.load(src, weights_only=True)

    assert publish_tool.main([str(src), str(tmp_path / 'irn_x2.pth')]) == 0
    out = capsys.readouterr().out
    files = list(tmp_path.glob('irn_x2-*.pth'))
    assert len(files) == 1 and str(files[0]) in out
    digest = hashlib.sha256(files[0].read_bytes()).hexdigest()
    assert re.fullmatch(rf'irn_x2-{digest[:8]}\.pth', files[0].name)
    published = torch.load(files[0], weights_only=True)
    assert set(published) == {'meta', 'state_dict'}
    assert set(published['state_dict']) == {
        'generator.blocks.0.haar_weights', 'generator.blocks.1.F.conv1.weight'
    }
    for key, value in published['state_dict'].items():
        assert torch.equal(value, weights[key])
    meta = published['meta']
    assert meta['seed'] == 10 and meta['np_value'] == 2.5
    assert meta['published']['removed'] == [
        'message_hub', 'optimizer', 'param_schedulers'
    ]
    assert not list(tmp_path.glob('.*'))  # no temporary files left
    assert stat.S_IMODE(files[0].stat().st_mode) == default_file_mode()

    kept = tmp_path / 'keep'
    assert publish_tool.main(
        [str(src), str(kept / 'full.pth'), '--keep-loss-weights']) == 0
    full = torch.load(next(kept.glob('full-*.pth')), weights_only=True)
    assert len(full['state_dict']) == 3


class Payload:
    """Stands for arbitrary code in a pickle."""


def test_publish_refuses_untrusted_objects(publish_tool, tmp_path, capsys):
    src = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={'generator.w': torch.zeros(1)},
                    extra=Payload()), src)
    assert publish_tool.main([str(src), str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert 'Payload' in err and 'refusing to unpickle' in err
    assert '\n' not in err.strip()
    assert not list(tmp_path.glob('out*'))


class Sneaky:
    """Pickles as getattr(HistoryBuffer, '__init__'): refused."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


def test_publish_getattr_is_limited(publish_tool, tmp_path, capsys):
    src = tmp_path / 'sneaky.pth'
    torch.save(dict(state_dict={'generator.w': torch.zeros(1)},
                    extra=Sneaky()), src)
    assert publish_tool.main([str(src), str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert "getattr(HistoryBuffer, '__init__')" in err
    assert 'refusing to unpickle' in err and '\n' not in err.strip()
    assert not list(tmp_path.glob('out*'))
