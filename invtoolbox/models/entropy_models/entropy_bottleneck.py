# Copyright (c) invtoolbox contributors. All rights reserved.
"""The factorized entropy bottleneck (Ballé et al., ICLR 2018), as
CompressAI 1.1.1's ``EntropyBottleneck``: same parameters, state-dict keys,
likelihoods, auxiliary loss and integer tables."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import ShapeError
from ...registry import ENTROPY_MODELS
from .base import EntropyModel
from .quantized_cdf import pmfs_to_quantized_cdfs

__all__ = ['EntropyBottleneck']


@ENTROPY_MODELS.register_module()
class EntropyBottleneck(EntropyModel):
    """A learned, per-channel, non-parametric density for a latent ``z``
    (the hyper-latent of a hyperprior codec).

    Each channel's cumulative density is a small monotone network
    ``R -> R`` (parameters ``_matrix{i}`` (softplus-positive), ``_bias{i}``,
    ``_factor{i}``); the likelihood of an integer-spaced value is the mass of
    the unit interval around it. ``quantiles`` ``(C, 1, 3)`` are learned by
    the auxiliary :meth:`loss` to sit at the ``tail_mass / 2`` quantile, the
    median and the ``1 - tail_mass / 2`` quantile of each channel; the
    median centres the quantisation and the outer two bound the CDF tables.
    ``quantiles`` belong to the auxiliary optimiser, everything else to the
    main one.

    Args:
        channels (int): ``C``.
        tail_mass (float): probability left outside the tables (escapes).
        init_scale (float): initial spread of the density.
        filters (tuple[int]): hidden widths of the density network.
        likelihood_bound (float): lower bound of the likelihoods.
    """

    def __init__(self,
                 channels: int,
                 tail_mass: float = 1e-9,
                 init_scale: float = 10,
                 filters: Sequence[int] = (3, 3, 3, 3),
                 likelihood_bound: float = 1e-9):
        super().__init__(likelihood_bound=likelihood_bound)
        if int(channels) < 1:
            raise ValueError(f'channels must be >= 1, got {channels}')
        if not 0 < float(tail_mass) < 1:
            raise ValueError(f'tail_mass must be in (0, 1), got {tail_mass}')
        self.channels = int(channels)
        self.filters = tuple(int(f) for f in filters)
        self.init_scale = float(init_scale)
        self.tail_mass = float(tail_mass)

        widths = (1, ) + self.filters + (1, )
        scale = self.init_scale**(1 / (len(self.filters) + 1))
        for i in range(len(self.filters) + 1):
            init = np.log(np.expm1(1 / scale / widths[i + 1]))
            matrix = torch.full((self.channels, widths[i + 1], widths[i]),
                                float(init))
            self.register_parameter(f'_matrix{i:d}', nn.Parameter(matrix))
            bias = torch.empty(self.channels, widths[i + 1], 1)
            nn.init.uniform_(bias, -0.5, 0.5)
            self.register_parameter(f'_bias{i:d}', nn.Parameter(bias))
            if i < len(self.filters):
                factor = torch.zeros(self.channels, widths[i + 1], 1)
                self.register_parameter(f'_factor{i:d}', nn.Parameter(factor))

        quantiles = torch.tensor([-self.init_scale, 0, self.init_scale])
        self.quantiles = nn.Parameter(quantiles.repeat(self.channels, 1, 1))
        target = np.log(2 / self.tail_mass - 1)
        self.register_buffer(
            'target', torch.tensor([-target, 0, target], dtype=torch.float32))

    def _medians(self) -> Tensor:
        """The channel medians ``(C, 1, 1)`` (quantiles' middle column)."""
        return self.quantiles[:, :, 1:2]

    #: CompressAI's name.
    _get_medians = _medians

    def _logits_cumulative(self, inputs: Tensor,
                           stop_gradient: bool) -> Tensor:
        """Logits of the cumulative density: ``(C, 1, L) -> (C, 1, L)``."""
        logits = inputs
        for i in range(len(self.filters) + 1):
            matrix = getattr(self, f'_matrix{i:d}')
            bias = getattr(self, f'_bias{i:d}')
            if stop_gradient:
                matrix, bias = matrix.detach(), bias.detach()
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.filters):
                factor = getattr(self, f'_factor{i:d}')
                if stop_gradient:
                    factor = factor.detach()
                logits = logits + torch.tanh(factor) * torch.tanh(logits)
        return logits

    def _likelihood(self, inputs: Tensor) -> Tensor:
        """Mass of ``[x - 0.5, x + 0.5]`` for ``inputs`` ``(C, 1, L)``,
        computed on the side of the median where the sigmoids are small
        (numerically stable)."""
        lower = self._logits_cumulative(inputs - 0.5, stop_gradient=False)
        upper = self._logits_cumulative(inputs + 0.5, stop_gradient=False)
        sign = -torch.sign(lower + upper).detach()
        return torch.abs(
            torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))

    def loss(self) -> Tensor:
        """The auxiliary quantile loss: the cumulative logits at
        ``quantiles`` pulled to ``target`` (``-t, 0, t`` with ``t =
        log(2 / tail_mass - 1)``); gradients reach only ``quantiles``."""
        logits = self._logits_cumulative(self.quantiles, stop_gradient=True)
        return torch.abs(logits - self.target).sum()

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ShapeError(f'EntropyBottleneck({self.channels}) takes '
                             f'(N, {self.channels}, H, W), got shape '
                             f'{tuple(x.shape)}')

    def forward(self,
                x: Tensor,
                training: Optional[bool] = None) -> Tuple[Tensor, Tensor]:
        """Quantise ``x`` and return its likelihoods.

        Args:
            x (Tensor): ``(N, C, H, W)`` float.
            training (bool, optional): noise (True) or rounding around the
                medians (False); defaults to ``self.training``.

        Returns:
            tuple[Tensor, Tensor]: ``x_hat`` (``x + U(-0.5, 0.5)`` or
            ``round(x - median) + median``) and its likelihoods in
            ``[likelihood_bound, 1]``, both ``(N, C, H, W)``.
        """
        self._check_input(x)
        if training is None:
            training = self.training
        # (N, C, H, W) -> (C, 1, H * W * N): the official layout, which also
        # fixes the order in which the training noise is drawn
        values = x.permute(1, 2, 3, 0).contiguous()
        shape = values.shape
        values = values.reshape(self.channels, 1, -1)
        outputs = self.quantize(values, 'noise' if training else 'dequantize',
                                self._medians())
        likelihood = self._likelihood(outputs)
        if self.use_likelihood_bound:
            likelihood = self.likelihood_lower_bound(likelihood)
        outputs = outputs.reshape(shape).permute(3, 0, 1, 2).contiguous()
        likelihood = likelihood.reshape(shape).permute(3, 0, 1, 2).contiguous()
        return outputs, likelihood

    @torch.no_grad()
    def update(self, force: bool = False) -> bool:
        """Build the CDF tables from the density (row ``c`` = channel
        ``c``, values from ``ceil`` of the outer quantiles around the
        median).

        Returns:
            bool: False when the tables exist and ``force`` is False.
        """
        if self._offset.numel() > 0 and not force:
            return False
        medians = self.quantiles[:, 0, 1]
        minima = torch.ceil(medians - self.quantiles[:, 0, 0]).int()
        minima = torch.clamp(minima, min=0)
        maxima = torch.ceil(self.quantiles[:, 0, 2] - medians).int()
        maxima = torch.clamp(maxima, min=0)

        pmf_start = medians - minima
        pmf_length = maxima + minima + 1
        max_length = int(pmf_length.max())
        samples = torch.arange(max_length, device=medians.device)
        samples = samples[None, :] + pmf_start[:, None, None]
        lower = self._logits_cumulative(samples - 0.5, stop_gradient=True)
        upper = self._logits_cumulative(samples + 0.5, stop_gradient=True)
        sign = -torch.sign(lower + upper)
        pmf = torch.abs(
            torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))[:, 0]
        # as in CompressAI 1.1.1, the upper tail is taken at the last sample
        # of the longest row for every channel
        tail_mass = (torch.sigmoid(lower[:, 0, :1]) +
                     torch.sigmoid(-upper[:, 0, -1:]))
        cdf, cdf_length = pmfs_to_quantized_cdfs(pmf.cpu(), pmf_length.cpu(),
                                                 tail_mass.cpu(),
                                                 self.entropy_coder_precision)
        device = self._offset.device
        self._offset = (-minima).to(device=device, dtype=torch.int32)
        self._quantized_cdf = torch.from_numpy(cdf).to(device)
        self._cdf_length = torch.from_numpy(cdf_length).to(device)
        return True

    @staticmethod
    def build_indexes(size: Sequence[int]) -> Tensor:
        """Table rows for a ``(N, C, H, W)`` latent: the channel index,
        int32."""
        n, c, h, w = size
        return torch.arange(c, dtype=torch.int32).view(1, -1, 1,
                                                       1).repeat(n, 1, h, w)

    def compress(self, x: Tensor) -> List[bytes]:
        """Code ``round(x - median)`` per channel; one bitstream per item
        of ``x`` ``(N, C, H, W)``."""
        self._check_input(x)
        indexes = self.build_indexes(x.shape).to(x.device)
        medians = self._medians().detach().view(1, -1, 1, 1)
        return super().compress(x, indexes,
                                medians.expand(x.shape[0], -1, 1, 1))

    def decompress(self, strings: Sequence[bytes],
                   size: Sequence[int]) -> Tensor:
        """Decode :meth:`compress` bitstreams to ``(N, C, H, W)`` values
        ``symbol + median``; ``size`` is ``(H, W)``."""
        if len(size) != 2:
            raise ValueError(f'size must be (H, W), got {tuple(size)}')
        self._check_tables()
        shape = (len(strings), self._quantized_cdf.shape[0], int(size[0]),
                 int(size[1]))
        indexes = self.build_indexes(shape).to(self._quantized_cdf.device)
        medians = self._medians().detach().view(1, -1, 1, 1)
        return super().decompress(strings, indexes,
                                  medians.expand(len(strings), -1, 1, 1))
