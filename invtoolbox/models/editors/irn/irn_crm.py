# Copyright (c) invtoolbox contributors. All rights reserved.
"""IRN-Compression (IJCV): a frozen IRN x2 plus a JPEG restoration module."""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import Tensor

from ....registry import DEGRADATIONS, LOSSES, MODELS
from ....structures import DataSample
from ...base_models import ModuleCfg, Transmission
from .irn import IRN

__all__ = ['IRNCRM']


@MODELS.register_module()
class IRNCRM(IRN):
    """IRN with a compression restoration module (official ``IRNCRMModel``
    with ``only_jpeg_reconstruction: True``, the released ``CRM_x2_q90``).

    The IRN x2 generator (``IRN_x2_finetune``) is frozen; only the
    restorer ``R`` (:class:`RRDBNet`) is trained, to undo a real JPEG of the
    LR::

        LR_q = Quant(G(x)[:, :3])                     # no gradient
        J    = JPEG_q(LR_q)                           # OpenCV, quality 90
        loss_jpeg_rec = restoration_loss(R(J), LR_q)  # 1 * l2 (sum over C,H,W, batch mean)

    Test path (``predict``): ``J = JPEG_q(LR_q)`` (its size is reported as
    ``num_bytes``; a ``test_codec``, e.g. from the QF-sweep loop, replaces
    ``codec`` there), ``LR' = Quant(R(J))``, ``x_hat = G^-1(cat(LR', z))``.
    :meth:`upscale` takes the received (JPEG-decoded) LR and restores it
    first.

    Args:
        generator (dict): the :class:`IRNNet` config (IRN x2).
        restorer (dict): the :class:`RRDBNet` config.
        codec (dict): ``DEGRADATIONS`` config of the real codec.
            Default: ``RealJPEG(quality=90, backend='opencv')``.
        restoration_loss (dict): ``LOSSES`` config. Default:
            ``MSELoss(loss_weight=1, reduction='batch_sum')``.
        **kwargs: ``quantization``, ``latent``, ``train_cfg``,
            ``test_cfg``, ``data_preprocessor``, ``init_cfg`` of
            :class:`IRN` (its pixel/latent losses are not used).
    """

    def __init__(self,
                 generator: ModuleCfg,
                 restorer: ModuleCfg,
                 codec: ModuleCfg = dict(
                     type='RealJPEG', quality=90, backend='opencv'),
                 restoration_loss: ModuleCfg = dict(
                     type='MSELoss', loss_weight=1.0, reduction='batch_sum'),
                 **kwargs) -> None:
        for key in ('pixel_loss_forw', 'latent_loss', 'pixel_loss_back'):
            if kwargs.get(key) is not None:
                raise ValueError(f'IRNCRM trains only the restorer; remove '
                                 f'{key} from the config.')
            kwargs[key] = None
        super().__init__(generator, **kwargs)
        self.restorer = self.build(MODELS, restorer, 'restorer')
        self.codec = self.build(DEGRADATIONS, codec, 'codec')
        if not callable(getattr(self.codec, 'code', None)):
            raise ValueError(
                'IRNCRM: codec must be a real codec (RealJPEG or RealWebP), '
                f'got {type(self.codec).__name__}.')
        self.restoration_loss = self.build(LOSSES, restoration_loss,
                                           'restoration_loss')
        self.generator.requires_grad_(False)

    def train(self, mode: bool = True) -> 'IRNCRM':
        """The frozen generator stays in eval mode."""
        super().train(mode)
        self.generator.eval()
        return self

    def compute_losses(self,
                       hr: Tensor,
                       lr_ref: Optional[Tensor] = None,
                       z: Optional[Tensor] = None,
                       generator: Optional[torch.Generator] = None
                       ) -> Dict[str, Tensor]:
        """``loss_jpeg_rec`` for a batch of HR images (``lr_ref``, ``z`` and
        ``generator`` are unused: the objective has no randomness)."""
        with torch.no_grad():
            lr_q = self.downscale(hr)
            jpeg = self.codec(lr_q)
        restored = self.restorer(jpeg)
        return dict(loss_jpeg_rec=self.restoration_loss(restored, lr_q))

    def loss(self, inputs: Tensor,
             data_samples: Optional[List[DataSample]] = None
             ) -> Dict[str, Tensor]:
        self.next_train_generator()  # counts the batch; no randomness
        return self.compute_losses(inputs)

    def transmit(self, lr_q: Tensor) -> Transmission:
        """The real codec of the LR: ``test_codec`` when one is set (e.g.
        by the QF-sweep loop), else the CRM's own ``codec``; returns the
        decoded LR and the file sizes."""
        codec = self.test_codec if self.test_codec is not None else self.codec
        if not callable(getattr(codec, 'code', None)):
            raise ValueError(
                'IRNCRM: the test codec must be a real codec (RealJPEG or '
                f'RealWebP): the CRM restores decoded files; got '
                f'{type(codec).__name__}.')
        out = codec.code(lr_q)
        return Transmission(out.images, out.num_bytes)

    @torch.no_grad()
    def restore(self, lr_received: Tensor) -> Tensor:
        """``Quant(R(lr))``: the LR restored from its decoded JPEG."""
        return self.quantization(self.restorer(lr_received))

    @torch.no_grad()
    def upscale(self, lr: Tensor, *args, **kwargs) -> Tensor:
        """Restore the received (JPEG-decoded) LR with the CRM, then
        :meth:`IRN.upscale`."""
        return super().upscale(self.restore(lr), *args, **kwargs)
