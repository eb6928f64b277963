# Copyright (c) invtoolbox contributors. All rights reserved.
"""The Gaussian conditional entropy model (Ballé et al., ICLR 2018), as
CompressAI 1.1.1's ``GaussianConditional``: a latent ``y`` coded with a
Gaussian of predicted mean and scale, through one CDF table per level of a
fixed scale table."""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from ...registry import ENTROPY_MODELS
from .base import EntropyModel
from .lower_bound import LowerBound
from .quantized_cdf import pmfs_to_quantized_cdfs

__all__ = ['GaussianConditional', 'get_scale_table']

ScaleTable = Union[Sequence[float], Tensor]


def get_scale_table(min: float = 0.11,
                    max: float = 256,
                    levels: int = 64) -> Tensor:  # noqa: A002
    """CompressAI's scale table: ``levels`` float32 scales spaced evenly in
    log from ``min`` to ``max``."""
    return torch.exp(torch.linspace(math.log(min), math.log(max), levels))


def _as_scale_list(scale_table: ScaleTable) -> list:
    if isinstance(scale_table, Tensor):
        scale_table = scale_table.detach().cpu().reshape(-1).tolist()
    return [float(s) for s in scale_table]


def _check_scale_table(scale_table: list) -> None:
    if not scale_table:
        raise ValueError('scale_table must hold at least one scale; use '
                         'get_scale_table()')
    if scale_table != sorted(scale_table) or min(scale_table) <= 0:
        raise ValueError('scale_table must be positive and ascending, got '
                         f'{scale_table[:4]}...; use get_scale_table()')


@ENTROPY_MODELS.register_module()
class GaussianConditional(EntropyModel):
    """``y ~ N(mean, scale)`` convolved with a unit box, coded per element
    with the table of the smallest table scale at or above its scale.

    Buffers (CompressAI's keys): ``scale_table`` ``(L,)`` (empty until
    :meth:`update_scale_table`), ``scale_bound`` ``(1,)``; submodules
    ``lower_bound_scale`` (scales below ``scale_bound`` are raised to it)
    and ``likelihood_lower_bound``. Table row ``k`` codes
    ``round(y - mean)`` in ``[-c_k, c_k]``, ``c_k = ceil(scale_table[k] *
    6.11)`` (the ``tail_mass / 2`` quantile), plus the escape.

    Args:
        scale_table (sequence[float] | Tensor, optional): ascending positive
            scales; None leaves the buffer empty (set it with
            :meth:`update_scale_table`, or load it).
        scale_bound (float, optional): lower bound of the scales; None uses
            ``scale_table[0]``.
        tail_mass (float): probability left outside the tables.
        likelihood_bound (float): lower bound of the likelihoods.
    """

    _resizable_buffers = EntropyModel._resizable_buffers + ('scale_table', )

    def __init__(self,
                 scale_table: Optional[ScaleTable] = None,
                 scale_bound: Optional[float] = 0.11,
                 tail_mass: float = 1e-9,
                 likelihood_bound: float = 1e-9):
        super().__init__(likelihood_bound=likelihood_bound)
        if scale_table is not None:
            scale_table = _as_scale_list(scale_table)
            _check_scale_table(scale_table)
        if not 0 < float(tail_mass) < 1:
            raise ValueError(f'tail_mass must be in (0, 1), got {tail_mass}')
        self.tail_mass = float(tail_mass)
        if scale_bound is None:
            if not scale_table:
                raise ValueError('give scale_bound or a scale_table (whose '
                                 'first scale then bounds the scales)')
            scale_bound = scale_table[0]
        if not scale_bound > 0:
            raise ValueError(f'scale_bound must be > 0, got {scale_bound}')
        self.lower_bound_scale = LowerBound(scale_bound)
        self.register_buffer(
            'scale_table',
            torch.tensor(scale_table, dtype=torch.float32)
            if scale_table else torch.zeros(0))
        self.register_buffer('scale_bound', torch.tensor([float(scale_bound)]))

    @staticmethod
    def _standardized_cumulative(inputs: Tensor) -> Tensor:
        """Standard normal CDF via ``erfc`` (precise in the lower tail)."""
        return 0.5 * torch.erfc(-(2**-0.5) * inputs)

    def update_scale_table(self,
                           scale_table: ScaleTable,
                           force: bool = False) -> bool:
        """Set ``scale_table`` and rebuild the tables; returns False (and
        does nothing) when tables exist and ``force`` is False."""
        if self._offset.numel() > 0 and not force:
            return False
        scale_table = _as_scale_list(scale_table)
        _check_scale_table(scale_table)
        self.scale_table = torch.tensor(scale_table,
                                        dtype=torch.float32,
                                        device=self.scale_table.device)
        self.update()
        return True

    @torch.no_grad()
    def update(self) -> None:
        """Build one CDF table per ``scale_table`` entry."""
        if self.scale_table.numel() == 0:
            raise ValueError('GaussianConditional has an empty scale_table: '
                             'call update_scale_table(get_scale_table()) '
                             'instead')
        from scipy.stats import norm
        multiplier = -float(norm.ppf(self.tail_mass / 2))
        pmf_center = torch.ceil(self.scale_table * multiplier).int()
        pmf_length = 2 * pmf_center + 1
        max_length = int(pmf_length.max())
        samples = torch.abs(
            torch.arange(max_length, device=pmf_center.device).int() -
            pmf_center[:, None]).float()
        scales = self.scale_table.unsqueeze(1).float()
        upper = self._standardized_cumulative((0.5 - samples) / scales)
        lower = self._standardized_cumulative((-0.5 - samples) / scales)
        pmf = upper - lower
        tail_mass = 2 * lower[:, :1]
        cdf, cdf_length = pmfs_to_quantized_cdfs(pmf.cpu(), pmf_length.cpu(),
                                                 tail_mass.cpu(),
                                                 self.entropy_coder_precision)
        device = self._offset.device
        self._offset = (-pmf_center).to(device=device, dtype=torch.int32)
        self._quantized_cdf = torch.from_numpy(cdf).to(device)
        self._cdf_length = torch.from_numpy(cdf_length).to(device)

    def _likelihood(self,
                    inputs: Tensor,
                    scales: Tensor,
                    means: Optional[Tensor] = None) -> Tensor:
        """Mass of ``[x - 0.5, x + 0.5]`` under ``N(means, scales)``, with
        the scales bounded below; computed on the lower tail."""
        values = inputs - means if means is not None else inputs
        scales = self.lower_bound_scale(scales)
        values = torch.abs(values)
        upper = self._standardized_cumulative((0.5 - values) / scales)
        lower = self._standardized_cumulative((-0.5 - values) / scales)
        return upper - lower

    def forward(self,
                inputs: Tensor,
                scales: Tensor,
                means: Optional[Tensor] = None,
                training: Optional[bool] = None) -> Tuple[Tensor, Tensor]:
        """Quantise ``inputs`` and return its likelihoods.

        Args:
            inputs, scales (Tensor): same shape, e.g. ``(N, C, H, W)``.
            means (Tensor, optional): same shape.
            training (bool, optional): noise (True) or
                ``round(inputs - means) + means`` (False); defaults to
                ``self.training``.

        Returns:
            tuple[Tensor, Tensor]: the quantised values and their
            likelihoods in ``[likelihood_bound, 1]``.
        """
        if training is None:
            training = self.training
        outputs = self.quantize(inputs, 'noise' if training else 'dequantize',
                                means)
        likelihood = self._likelihood(outputs, scales, means)
        if self.use_likelihood_bound:
            likelihood = self.likelihood_lower_bound(likelihood)
        return outputs, likelihood

    def build_indexes(self, scales: Tensor) -> Tensor:
        """Table rows for ``scales`` (any shape): the index of the first
        table scale ``>= max(scale, scale_bound)`` (the last row for larger
        scales), int32."""
        if self.scale_table.numel() == 0:
            raise ValueError('GaussianConditional has an empty scale_table: '
                             'call update_scale_table(get_scale_table()) '
                             'or load an updated checkpoint')
        scales = self.lower_bound_scale(scales)
        # = (L - 1) - #{s in table[:-1] : scale <= s}, CompressAI's loop
        boundaries = self.scale_table[:-1].to(scales.dtype).contiguous()
        return torch.searchsorted(boundaries, scales.contiguous(),
                                  right=False).int()
