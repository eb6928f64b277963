# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/analysis_tools: the invertibility report (the bicubic baseline is
tested in tests/utils/test_imresize.py; the benchmarks in tests/benchmarks)."""

import pytest
from PIL import Image

from tests.helpers import REPO_ROOT, load_tool

CONFIG = str(REPO_ROOT / 'configs' / 'inn' / 'irn_x2_inn.py')


@pytest.fixture(scope='module')
def report():
    return load_tool('analysis_tools/invertibility_report')


def test_report_on_the_demo_image(report, capsys, tmp_path):
    crop = tmp_path / 'crop.png'
    Image.open(REPO_ROOT / 'demo' / 'kodim23_crop.png').crop(
        (0, 0, 35, 41)).save(crop)  # odd size: cropped to even
    assert report.main([CONFIG, '--image', str(crop)]) == 0
    out = capsys.readouterr().out
    assert 'cropped to 40x34' in out
    assert '| 8 | AffineCoupling | (12, 20, 17) | 208,494 |' in out
    assert 'invertible: yes' in out


def test_report_random_input_and_cfg_options(report, capsys):
    assert report.main([
        CONFIG, '--size', '16', '16', '--cfg-options',
        'inn.memory_efficient=True'
    ]) == 0
    assert 'uniform random 16x16' in capsys.readouterr().out


@pytest.mark.parametrize('args,message', [
    (['missing_config.py'], 'config missing_config.py not found'),
    ([CONFIG, '--image', 'nope.png'], 'image nope.png not found'),
    ([CONFIG, '--checkpoint', 'nope.pth'], 'checkpoint nope.pth not found'),
])
def test_report_bad_input_is_one_line(report, args, message):
    with pytest.raises(SystemExit) as err:
        report.main(args)
    assert str(err.value) == f'error: {message}' or message in str(err.value)
    assert '\n' not in str(err.value)


def test_report_corrupt_image_and_wrong_checkpoint(report, tmp_path):
    import torch
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image at all')
    with pytest.raises(SystemExit, match='cannot read image'):
        report.main([CONFIG, '--image', str(bad)])
    ckpt = tmp_path / 'other.pth'
    torch.save({'state_dict': {'weight': torch.zeros(3)}}, ckpt)
    with pytest.raises(SystemExit, match='does not fit this config'):
        report.main([CONFIG, '--checkpoint', str(ckpt)])


def test_report_checkpoint_of_other_shapes_is_one_line(report, tmp_path,
                                                       capsys):
    """A shape mismatch was a RuntimeError traceback from load_state_dict;
    the network's own weights load."""
    import torch
    from mmengine.config import Config

    from invtoolbox.models.inn import build_invertible
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    state = build_invertible(Config.fromfile(CONFIG).inn.to_dict()).state_dict()
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': state}, good)
    assert report.main([CONFIG, '--size', '16', '16', '--checkpoint',
                        str(good)]) == 0
    assert f'checkpoint {good}' in capsys.readouterr().out
    key = next(k for k, v in state.items() if v.dim() == 4)
    state[key] = torch.zeros(1, *state[key].shape[1:])
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': state}, bad)
    with pytest.raises(SystemExit) as err:
        report.main([CONFIG, '--checkpoint', str(bad)])
    message = str(err.value)
    assert '\n' not in message
    assert f"checkpoint '{bad}' does not fit this config" in message
    assert f'{key} has shape (1, ' in message
