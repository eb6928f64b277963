# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/codec.py and the image codec API with a real (tiny) InvCompress:
any image size, a file made with one thread count decodes with another,
decoding is the network's own decompress, bad inputs give one line."""
import importlib.util
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from invtoolbox.apis import init_model, save_checkpoint_atomic
from invtoolbox.apis.codec_file import read_codec_file
from invtoolbox.apis.codec_inference import (compress_image,
                                             decompress_image,
                                             encode_image_file)
from invtoolbox.errors import BitstreamError, CodecFileError
from tests.helpers import REPO_ROOT

TOOL = REPO_ROOT / 'tools' / 'codec.py'
CONFIG = textwrap.dedent("""
    model = dict(
        type='InvCompress', lmbda=0.01,
        generator=dict(type='InvCompressNet', N=16, enhance_channels=8,
                       kernel_sizes=(3, 3, 3, 3), couplings_per_level=1))
""")


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('codec_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('invcompress_codec')
    config = root / 'tiny_invcompress.py'
    config.write_text(CONFIG)
    ckpts = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = init_model(str(config)).eval()
        # not an identity at init: perturb the zero-initialised convs
        with torch.no_grad():
            for name, p in model.generator.named_parameters():
                if p.dim() == 4 and not p.abs().any():
                    p.normal_(0, 0.05)
        model.ensure_tables()
        ckpts.append(save_checkpoint_atomic(
            dict(meta={}, state_dict=model.state_dict()),
            root / f'tiny_{seed}.pth'))
    rgb = np.asarray(Image.open(REPO_ROOT / 'demo' / 'data' / 'val' /
                                'kodim19_crop.png').convert('RGB'))[:45, :70]
    Image.fromarray(rgb).save(root / 'img.png')
    return dict(root=root, config=str(config), ckpts=ckpts, rgb=rgb)


def test_the_file_decodes_to_the_networks_own_decompress(setup):
    model = init_model(setup['config'], setup['ckpts'][0]).eval()
    torch.set_num_threads(1)
    data = compress_image(model, setup['rgb'])
    torch.set_num_threads(2)
    decoded = decompress_image(model, data)
    assert decoded.shape == setup['rgb'].shape and decoded.dtype == np.uint8
    # the same image through compress/decompress of the network
    x = torch.from_numpy(setup['rgb'].copy()).permute(2, 0, 1)[None] / 255.
    out = model.predict(x)[0].pred_img
    direct = (out.permute(1, 2, 0).numpy() * 255).round().clip(0, 255)
    assert np.abs(direct.astype(int) - decoded.astype(int)).max() <= 1


def test_tool_encode_one_thread_decode_two(setup, tool, capsys):
    root = setup['root']
    config, ckpt = setup['config'], setup['ckpts'][0]
    assert tool.main(['encode', config, ckpt, str(root / 'img.png'),
                      str(root / 'img.itb'), '--threads', '1']) == 0
    assert tool.main(['decode', config, ckpt, str(root / 'img.itb'),
                      str(root / 'dec.png'), '--threads', '2']) == 0
    out = capsys.readouterr().out
    assert 'bpp' in out
    decoded = np.asarray(Image.open(root / 'dec.png'))
    assert decoded.shape == (45, 70, 3)
    cf = read_codec_file(root / 'img.itb')
    assert (cf.height, cf.width) == (45, 70)
    assert cf.model_id == 'InvCompressNet'
    # a PSNR that says the image is there (the tiny net is untrained)
    mse = ((decoded.astype(float) - setup['rgb'].astype(float))**2).mean()
    assert mse < 255**2


def test_other_weights_are_refused_in_one_line(setup, tool, capsys):
    root = setup['root']
    encode_image_file(init_model(setup['config'], setup['ckpts'][0]),
                      root / 'img.png', root / 'mine.itb')
    other = init_model(setup['config'], setup['ckpts'][1])
    with pytest.raises(CodecFileError, match='other weights'):
        decompress_image(other, (root / 'mine.itb').read_bytes())
    code = tool.main(['decode', setup['config'], setup['ckpts'][1],
                      str(root / 'mine.itb'), str(root / 'x.png')])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and 'other weights' in err[0]
    assert not (root / 'x.png').exists()


def test_a_damaged_bitstream_inside_a_valid_file(setup):
    """The container's CRC catches damage; a stream damaged before it was
    packed (same CRC) must still end in one line, never a crash."""
    from invtoolbox.apis.codec_file import pack, unpack
    model = init_model(setup['config'], setup['ckpts'][0]).eval()
    cf = unpack(compress_image(model, setup['rgb']))
    y = bytearray(cf.strings[0])
    y[len(y) // 2] ^= 0xFF
    cf.strings[0] = bytes(y[:-4])
    with pytest.raises(BitstreamError) as err:
        decompress_image(model, pack(cf))
    assert '\n' not in str(err.value)
