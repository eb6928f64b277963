# Copyright (c) invtoolbox contributors. All rights reserved.
"""The converter of the released encoder / decoder / discriminator files."""
import subprocess
import sys

import pytest
import torch

from invtoolbox.apis import (OFFICIAL_ARCHS, convert_official_checkpoint,
                             convert_official_to_model, init_model)
from invtoolbox.models.editors.novelview import (MultiscaleDiscriminator,
                                                 NovelViewDecoder,
                                                 NovelViewEncoder)
from tests.helpers import HANG_TIMEOUT, REPO_ROOT

CONFIG = 'configs/novelview/novelview_realestate10k.py'


@pytest.fixture(scope='module')
def release():
    torch.manual_seed(0)
    return dict(encoder=NovelViewEncoder().state_dict(),
                decoder=NovelViewDecoder().state_dict())


def test_the_arch_is_listed():
    spec = OFFICIAL_ARCHS['NovelViewJPEG']
    assert spec['model'] == 'NovelViewJPEG'
    assert spec['main'] == 'generator'
    assert set(spec['parts']) == {'generator', 'discriminator'}
    assert spec['parts']['generator']['network']['num_planes'] == 32


def test_pair_converts_with_or_without_module_prefix(release):
    out = convert_official_checkpoint('NovelViewJPEG', release)
    assert set(out) == {f'encoder.{k}' for k in release['encoder']} | {
        f'decoder.{k}' for k in release['decoder']}
    wrapped = {
        'encoder': {'module.' + k: v for k, v in release['encoder'].items()},
        'decoder': {'state_dict': release['decoder']},
    }
    again = convert_official_checkpoint('NovelViewJPEG', wrapped)
    assert all(torch.equal(out[k], again[k]) for k in out)


def test_one_file_or_swapped_files_are_one_line(release):
    with pytest.raises(ValueError,
                       match=r"official encoder alone.*encoder=ENCODER"):
        convert_official_checkpoint('NovelViewJPEG', release['encoder'])
    swapped = dict(encoder=release['decoder'], decoder=release['encoder'])
    with pytest.raises(ValueError, match="'encoder' entry looks like the "
                       'official decoder'):
        convert_official_checkpoint('NovelViewJPEG', swapped)


def test_another_plane_count_is_refused(release):
    small = dict(encoder=NovelViewEncoder(num_planes=8).state_dict(),
                 decoder=release['decoder'])
    with pytest.raises(ValueError) as err:
        convert_official_checkpoint('NovelViewJPEG', small, source='x.pth')
    message = str(err.value)
    assert '\n' not in message and 'x.pth' in message
    assert 'NovelViewJPEG encoder + decoder (32 planes)' in message


def test_whole_model_with_the_discriminator_loads(release, tmp_path):
    disc = MultiscaleDiscriminator().state_dict()
    state = convert_official_to_model('NovelViewJPEG', generator=release,
                                      discriminator=disc)
    path = tmp_path / 'novelview.pth'
    torch.save({'meta': {}, 'state_dict': state}, path)
    model = init_model(str(REPO_ROOT / CONFIG), str(path))
    for key, value in release['encoder'].items():
        assert torch.equal(model.generator.encoder.state_dict()[key], value)
    assert torch.equal(model.discriminator.state_dict()['layer0.0.weight'],
                       disc['layer0.0.weight'])
    # the VGG of the perceptual loss is built only when training needs it
    assert not any('perceptual' in k for k in model.state_dict())


@pytest.mark.e2e
def test_the_tool_converts_the_released_pair(release, tmp_path):
    for part in ('encoder', 'decoder'):
        torch.save({'module.' + k: v for k, v in release[part].items()},
                   tmp_path / f'{part}_003_00015000.pth')
    src = (f'encoder={tmp_path / "encoder_003_00015000.pth"},'
           f'decoder={tmp_path / "decoder_003_00015000.pth"}')
    dst = tmp_path / 'out.pth'
    proc = subprocess.run(
        [sys.executable, 'tools/model_converters/convert_official.py',
         'NovelViewJPEG', src, str(dst)], cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=HANG_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = torch.load(dst, weights_only=True)
    assert len([k for k in ckpt['state_dict']
                if k.startswith('generator.encoder.')]) == len(
                    release['encoder'])
