# Copyright (c) invtoolbox contributors. All rights reserved.
"""The Invertible-ISP model: render RAW -> sRGB, recover the RAW from the
JPEG of the rendering."""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional

import torch
from torch import Tensor

from ....registry import DEGRADATIONS, LOSSES, MODELS
from ....structures import DataSample
from ...base_models import BaseEditModel, ModuleCfg
from ...degradations import apply_codec

__all__ = ['InvISP', 'InvISPOutput']


class InvISPOutput(NamedTuple):
    """What :meth:`InvISP.roundtrip` returns for a batch.

    Attributes:
        rgb (Tensor): the rendering ``(N, 3, H, W)``, clamped to [0, 1].
        coded (Tensor): ``rgb`` after the test codec (the decoded JPEG),
            ``(N, 3, H, W)`` in [0, 1].
        raw (Tensor): the RAW recovered from ``coded``, clamped to [0, 1].
        num_bytes (list[int] | None): the JPEG size of each image (None for
            a differentiable codec).
    """

    rgb: Tensor
    coded: Tensor
    raw: Tensor
    num_bytes: Optional[List[int]]


@MODELS.register_module()
class InvISP(BaseEditModel):
    """Invertible-ISP (Xing, Qian, Chen, CVPR 2021).

    The generator (:class:`InvISPNet`) renders the RAW (the white-balanced,
    gamma-compressed, bilinearly demosaiced 3-channel image in [0, 1] that
    :class:`~invtoolbox.datasets.transforms.LoadRAWFromFile` makes) into
    sRGB, and its inverse recovers that RAW from the sRGB image. The
    official objective (``train.py``)::

        rgb  = clamp(net(raw), 0, 1)
        loss = rgb_weight * L1(rgb, srgb_target)
             + raw_weight * L1(net(DiffJPEG_q90(rgb), rev=True), raw)

    with the Fourier-series rounding of the differentiable JPEG (``jpeg``).

    At test time (:meth:`predict`, :meth:`roundtrip`) the rendering goes
    through a real JPEG (``test_cfg.codec``; default Pillow quality 90,
    4:2:2, as the official ``test_rgb.py`` writes it), and the RAW is
    recovered from the decoded file and clamped to [0, 1]. Predictions hold
    ``pred_img`` (the decoded JPEG of the rendering), ``gt_img`` (the sRGB
    target), ``pred_raw`` / ``gt_raw`` (recovered and input RAW) and the
    JPEG size in ``num_bytes`` / ``bpp``; the paper's metrics are
    ``PSNR``/``SSIM`` on ``pred_img`` and ``PSNR(pred_key='pred_raw',
    gt_key='gt_raw', quantize=False)``.

    Args:
        generator (dict | nn.Module): the network. Default: ``InvISPNet()``.
        jpeg (dict | nn.Module | None): the differentiable JPEG of the
            training loss (``DEGRADATIONS``). Default: ``DiffJPEG(quality=90,
            rounding='fourier', transposed_tables=True)``: the official one
            (mlomnitz's DiffJPEG, 4:2:0, whose quantisation tables are
            stored transposed; bit-exact on the vectors). None trains
            without it (the RAW loss then goes to ~1e-8: the task is trivial,
            official issue #20).
        rgb_loss (dict): ``LOSSES`` config. Default: ``L1Loss``.
        raw_loss (dict): ``LOSSES`` config. Default: ``L1Loss``.
        train_cfg (dict): ``seed``; ``rgb_weight`` (1.0), ``raw_weight``
            (1.0).
        test_cfg (dict): ``codec`` (``DEGRADATIONS`` config of the test-time
            codec; default ``RealJPEG(quality=90, subsampling='422')``; None
            recovers from the unquantised rendering).
    """

    TRAIN_CFG_DEFAULTS = dict(seed=None, rgb_weight=1.0, raw_weight=1.0)
    TEST_CFG_DEFAULTS = dict(
        codec=dict(type='RealJPEG', quality=90, subsampling='422'))

    def __init__(self,
                 generator: ModuleCfg = dict(type='InvISPNet'),
                 jpeg: ModuleCfg = dict(
                     type='DiffJPEG', quality=90, rounding='fourier',
                     transposed_tables=True),
                 rgb_loss: ModuleCfg = dict(type='L1Loss'),
                 raw_loss: ModuleCfg = dict(type='L1Loss'),
                 data_preprocessor: ModuleCfg = dict(type='DataPreprocessor'),
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg)
        self.generator = self.build(MODELS, generator, 'generator')
        self.jpeg = self.build(DEGRADATIONS, jpeg, 'jpeg')
        self.rgb_loss = self.build(LOSSES, rgb_loss, 'rgb_loss')
        self.raw_loss = self.build(LOSSES, raw_loss, 'raw_loss')
        self.test_codec = self.build(DEGRADATIONS, self.test_cfg['codec'],
                                     'test_cfg.codec')

    # ------------------------------------------------------------------
    # the two directions
    # ------------------------------------------------------------------
    @staticmethod
    def _check(x: Tensor, what: str) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != 3:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x)
            raise ValueError(
                f'InvISP: {what} must be a (N, 3, H, W) tensor, got {shape}.')
        return x

    def render(self, raw: Tensor) -> Tensor:
        """RAW ``(N, 3, H, W)`` in [0, 1] -> sRGB rendering, clamped."""
        return self.generator(self._check(raw, 'the RAW')).clamp(0, 1)

    def recover(self, rgb: Tensor, clamp: bool = True) -> Tensor:
        """sRGB ``(N, 3, H, W)`` (the decoded JPEG of a rendering) -> RAW."""
        raw = self.generator(self._check(rgb, 'the sRGB image'), rev=True)
        return raw.clamp(0, 1) if clamp else raw

    def roundtrip(self, raw: Tensor) -> InvISPOutput:
        """Render, code with the test codec, recover (no gradients)."""
        with torch.no_grad():
            rgb = self.render(raw)
            num_bytes = None
            coded = rgb
            if self.test_codec is not None:
                coded, num_bytes = apply_codec(self.test_codec, rgb)
            return InvISPOutput(rgb, coded, self.recover(coded), num_bytes)

    # ------------------------------------------------------------------
    # mmengine modes
    # ------------------------------------------------------------------
    def _targets(self, data_samples: Optional[List[DataSample]],
                 inputs: Tensor) -> Tensor:
        if not data_samples or any('gt_img' not in s for s in data_samples):
            raise ValueError(
                'InvISP: training needs the sRGB target of every RAW as '
                "'gt_img' in the data samples (the pipeline's LoadSRGBTarget "
                "+ PackInputs(input_key='raw', fields=dict(gt='gt_img'))).")
        gt = torch.stack([s.gt_img for s in data_samples]).to(inputs)
        if gt.shape != inputs.shape:
            raise ValueError(
                f'InvISP: the sRGB target {tuple(gt.shape)} and the RAW '
                f'{tuple(inputs.shape)} differ in shape; crop both at the '
                'same place (PairedRandomCrop).')
        return gt

    def compute_losses(self, raw: Tensor, target: Tensor
                       ) -> Dict[str, Tensor]:
        """The official objective for a batch (see the class docstring)."""
        rgb = self.render(raw)
        coded = self.jpeg(rgb) if self.jpeg is not None else rgb
        recovered = self.generator(coded, rev=True)
        return dict(
            loss_rgb=self.train_cfg['rgb_weight'] *
            self.rgb_loss(rgb, target),
            loss_raw=self.train_cfg['raw_weight'] *
            self.raw_loss(recovered, raw))

    def loss(self, inputs: Tensor,
             data_samples: Optional[List[DataSample]] = None
             ) -> Dict[str, Tensor]:
        self._check(inputs, 'the RAW')
        return self.compute_losses(inputs, self._targets(data_samples,
                                                         inputs))

    def forward_tensor(self, inputs: Tensor,
                       data_samples: Optional[List[DataSample]] = None
                       ) -> Tensor:
        """``mode='tensor'``: the unclamped rendering ``net(raw)``."""
        return self.generator(self._check(inputs, 'the RAW'))

    def predict(self, inputs: Tensor,
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        out = self.roundtrip(inputs)
        n = inputs.shape[0]
        pixels = inputs.shape[-2] * inputs.shape[-1]
        fields = dict(pred_img=out.coded, pred_raw=out.raw, gt_raw=inputs,
                      render_img=out.rgb)
        if out.num_bytes is not None:
            fields['num_bytes'] = out.num_bytes
            fields['bpp'] = [8.0 * b / pixels for b in out.num_bytes]
        return self.pack_predictions(data_samples, n, fields=fields,
                                     keep=('gt_img', ))
