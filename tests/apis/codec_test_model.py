# Copyright (c) invtoolbox contributors. All rights reserved.
"""A TEST-ONLY learned codec for the ``.itb`` file, codec API and
``tools/codec.py`` tests (it stands in until the real InvCompress lands).

``TinyPoolCodecNet`` speaks CompressAI's API with trivial "bitstreams":
the analysis is an 8x8 average pool of ``x * gain`` (a learnable
per-channel gain), the ``y`` string its values rounded to uint8 bytes, the
``z`` string the per-channel means of ``y`` (3 bytes, a second latent);
``shape`` is y's (h, w). The synthesis upsamples ``y / gain`` (nearest) and
adds ``(z - mean(y)) / 255`` (zero when the strings are intact). It is
lossy (8x8 blocks), so tests must not expect exact reconstructions.
``update`` fills a small "CDF table" buffer from the gain, as an entropy
model builds its tables, so the tables enter the weights fingerprint.

``TinyPoolCodec`` is the registered BaseModel (``pad_multiple = 16``,
``codec_id = 'TinyPoolCodec'``). Configs load it with
``custom_imports=dict(imports=['tests.apis.codec_test_model'])`` (the repo
root on ``PYTHONPATH``); :func:`write_codec_setup` writes a config and a
checkpoint.
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from invtoolbox.models.base_models import BaseEditModel, LearnedCodecMixin
from invtoolbox.registry import MODELS

FACTOR = 8


class TinyPoolCodecNet(nn.Module):
    """8x average pooling to uint8 bytes; nearest upsampling back."""

    def __init__(self, gain=1.0):
        super().__init__()
        self.gain = nn.Parameter(torch.full((3, ), float(gain)))
        self.register_buffer('cdf_table', torch.zeros(3, dtype=torch.int32))
        self.register_buffer('tables_built', torch.zeros((), dtype=torch.bool))

    def _gain(self):
        return self.gain.view(1, 3, 1, 1)

    def forward(self, x):
        y = F.avg_pool2d(x * self._gain(), FACTOR)
        y_hat = (y * 255).round() / 255
        x_hat = F.interpolate(y_hat, scale_factor=FACTOR) / self._gain()
        return dict(x_hat=x_hat,
                    likelihoods=dict(y=torch.full_like(y, 1 / 256)))

    def update(self, force=False):
        if bool(self.tables_built) and not force:
            return False
        with torch.no_grad():
            self.cdf_table.copy_((self.gain * 1000).round().int())
            self.tables_built.fill_(True)
        return True

    def compress(self, x):
        if x.shape[-2] % FACTOR or x.shape[-1] % FACTOR:
            raise ValueError(f'TinyPoolCodecNet: size {tuple(x.shape[-2:])} '
                             f'is not a multiple of {FACTOR}.')
        y = F.avg_pool2d(x * self._gain(), FACTOR)
        q = (y * 255).round().clamp(0, 255).to(torch.uint8).cpu()
        z = q.float().mean(dim=(2, 3)).round().to(torch.uint8)
        return dict(strings=[[q[i].numpy().tobytes() for i in range(len(q))],
                             [z[i].numpy().tobytes() for i in range(len(z))]],
                    shape=tuple(y.shape[-2:]))

    def decompress(self, strings, shape):
        h, w = shape
        ys, zs = [], []
        for y_bytes, z_bytes in zip(*strings):
            if len(y_bytes) != 3 * h * w or len(z_bytes) != 3:
                raise ValueError('TinyPoolCodecNet: strings of the wrong '
                                 f'length for shape {shape}.')
            ys.append(np.frombuffer(y_bytes, np.uint8).reshape(3, h, w))
            zs.append(np.frombuffer(z_bytes, np.uint8))
        device = self.gain.device
        y = torch.from_numpy(np.stack(ys)).float().to(device)
        z = torch.from_numpy(np.stack(zs)).float().to(device)
        offset = (z - y.mean(dim=(2, 3)).round()).view(-1, 3, 1, 1) / 255
        x_hat = F.interpolate(y / 255, scale_factor=FACTOR) / self._gain()
        return dict(x_hat=(x_hat + offset).clamp(0, 1))


@MODELS.register_module(force=True)
class TinyPoolCodec(LearnedCodecMixin, BaseEditModel):
    """The test codec's BaseModel (see the module docstring)."""

    pad_multiple = 16
    codec_id = 'TinyPoolCodec'

    def __init__(self, gain=1.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = TinyPoolCodecNet(gain)

    def forward_tensor(self, inputs, data_samples=None):
        return self.generator(inputs)['x_hat']

    def aux_loss(self):
        return self.generator.gain.sum() * 0


CONFIG = ("custom_imports = dict(imports=['tests.apis.codec_test_model'], "
          'allow_failed_imports=False)\n'
          "model = dict(type='TinyPoolCodec')\n")


def write_codec_setup(folder, gain=1.0, name='tiny_codec'):
    """Write ``<name>.py`` (the config) and ``<name>.pth`` (a checkpoint
    whose gain is ``gain``) into ``folder``; return their paths as str."""
    from invtoolbox.apis import save_checkpoint_atomic
    config = folder / f'{name}.py'
    config.write_text(CONFIG)
    model = TinyPoolCodec()
    with torch.no_grad():
        model.generator.gain.fill_(gain)
    ckpt = save_checkpoint_atomic(dict(meta={}, state_dict=model.state_dict()),
                                  folder / f'{name}.pth')
    return str(config), ckpt
