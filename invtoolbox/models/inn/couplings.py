# Copyright (c) invtoolbox contributors. All rights reserved.
"""Coupling layers.

:class:`CouplingBase` owns what every coupling shares: splitting the input
into ``x1`` (the first ``split`` channels) and ``x2`` (the rest), building the
subnets from config dicts with their channel counts filled in, passing an
optional condition, the soft clamp, concatenation and the log-determinant.
A new coupling only writes its two half-transforms::

    @COUPLINGS.register_module()
    class MyCoupling(CouplingBase):
        def __init__(self, channels, split=None, subnet=dict(type='DenseBlock'), **kwargs):
            super().__init__(channels, split, subnet, **kwargs)
            self.t = self.build_subnet(self.split2, self.split1)

        def couple(self, x1, x2, c):        # returns y1, y2, log-det (N,) or None
            return x1 + self.t(self.cond(x2, c)), x2, None

        def uncouple(self, y1, y2, c):
            return y1 - self.t(self.cond(y2, c)), y2, None
"""
from __future__ import annotations

import math
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

from ...errors import ShapeError
from ...registry import COUPLINGS, SUBNETS
from .base import InvertibleModule, sum_except_batch
from .reshapes import channel_concat, channel_split

__all__ = [
    'SOFT_CLAMPS', 'register_soft_clamp', 'CouplingBase', 'AdditiveCoupling',
    'AffineCoupling', 'RealNVPCoupling', 'GlowCoupling',
    'EnhancedAffineCoupling', 'EnhancedCouplingOutput'
]

#: name -> ``f(s, clamp)`` mapping raw subnet outputs to log-scales.
SOFT_CLAMPS: Dict[str, Callable[[Tensor, float], Tensor]] = {}


def register_soft_clamp(name: str):
    """Register a soft-clamp function ``f(s, clamp) -> log_scale`` under ``name``."""

    def wrap(fn):
        SOFT_CLAMPS[name] = fn
        return fn

    return wrap


@register_soft_clamp('sigmoid')
def _sigmoid_clamp(s: Tensor, clamp: float) -> Tensor:
    """IRN/SAIN/IICNet/InvISP: ``clamp * (2 * sigmoid(s) - 1)``."""
    return clamp * (torch.sigmoid(s) * 2 - 1)


@register_soft_clamp('atan')
def _atan_clamp(s: Tensor, clamp: float) -> Tensor:
    """FrEIA: ``clamp * 2/pi * atan(s / clamp)``."""
    return clamp * (2 / math.pi) * torch.atan(s / clamp)


@register_soft_clamp('tanh')
def _tanh_clamp(s: Tensor, clamp: float) -> Tensor:
    """``clamp * tanh(s / clamp)``."""
    return clamp * torch.tanh(s / clamp)


@register_soft_clamp('glow')
def _glow_clamp(s: Tensor, clamp: float) -> Tensor:
    """Glow: scale ``sigmoid(s + 2)``, i.e. log-scale ``logsigmoid(s + 2)`` (clamp unused)."""
    return torch.nn.functional.logsigmoid(s + 2.0)


@register_soft_clamp('none')
def _no_clamp(s: Tensor, clamp: float) -> Tensor:
    """No clamping: the raw output is the log-scale."""
    return s


class CouplingBase(InvertibleModule):
    """Base class of couplings.

    Args:
        channels (int): input channels C.
        split (int, optional): channels of the first part ``x1``; the second
            part ``x2`` has ``C - split``. Default: ``C // 2``.
        subnet (dict): config of the subnets (``SUBNETS``); ``in_channels``
            and ``out_channels`` are filled in by the coupling.
            Default: ``dict(type='DenseBlock')``.
        clamp (float): bound of the log-scale for symmetric soft clamps.
            Default: 1.0.
        clamp_activation (str): soft clamp, one of :data:`SOFT_CLAMPS`
            (``'sigmoid'`` = IRN's ``clamp*(2*sigmoid(s)-1)``, ``'atan'``,
            ``'tanh'``, ``'glow'``, ``'none'``). Default: ``'sigmoid'``.
        cond_channels (int): channels of an optional condition ``c``,
            concatenated to the input of every subnet. Default: 0.
    """

    def __init__(self,
                 channels: int,
                 split: Optional[int] = None,
                 subnet: Optional[dict] = None,
                 clamp: float = 1.0,
                 clamp_activation: str = 'sigmoid',
                 cond_channels: int = 0) -> None:
        super().__init__(channels)
        if split is None:
            split = channels // 2
        split = int(split)
        if not 0 < split < channels:
            raise ValueError(
                f'{type(self).__name__}: split={split} must be between 1 and '
                f'channels-1={channels - 1}.')
        if clamp_activation not in SOFT_CLAMPS:
            raise ValueError(
                f'{type(self).__name__}: unknown clamp_activation '
                f'{clamp_activation!r}; choose one of {sorted(SOFT_CLAMPS)}.')
        if clamp <= 0:
            raise ValueError(f'{type(self).__name__}: clamp must be > 0, '
                             f'got {clamp}.')
        self.split1 = split
        self.split2 = channels - split
        if subnet is None:
            subnet = dict(type='DenseBlock')
        if not isinstance(subnet, dict) or not isinstance(
                subnet.get('type'), str):
            raise TypeError(
                f'{type(self).__name__}: subnet must be a config dict with a '
                f"'type' registered in SUBNETS, got {subnet!r}.")
        self.subnet_cfg = dict(subnet)
        self.clamp = float(clamp)
        self.clamp_activation = clamp_activation
        self._soft_clamp = SOFT_CLAMPS[clamp_activation]
        self.cond_channels = int(cond_channels)

    # -- helpers for subclasses ---------------------------------------------
    def build_subnet(self, in_channels: int, out_channels: int) -> nn.Module:
        """Build one subnet from ``self.subnet_cfg`` (condition channels added)."""
        cfg = dict(self.subnet_cfg)
        cfg['in_channels'] = in_channels + self.cond_channels
        cfg['out_channels'] = out_channels
        return SUBNETS.build(cfg)

    def log_scale(self, s: Tensor) -> Tensor:
        """Apply the soft clamp to a raw scale output."""
        return self._soft_clamp(s, self.clamp)

    def cond(self, x: Tensor, c: Optional[Tensor]) -> Tensor:
        """Input of a subnet: ``x``, or ``cat(x, c)`` for conditional couplings."""
        if self.cond_channels == 0:
            return x
        if c is None or c.shape[1] != self.cond_channels:
            got = None if c is None else tuple(c.shape)
            raise ShapeError(
                f'{type(self).__name__} was built with cond_channels='
                f'{self.cond_channels} and needs a condition c of that many '
                f'channels, got {got}.')
        if c.shape[2:] != x.shape[2:]:
            raise ShapeError(
                f'{type(self).__name__}: condition size {tuple(c.shape[2:])} '
                f'differs from the input size {tuple(x.shape[2:])}.')
        return torch.cat((x, c), dim=1)

    # -- to implement ----------------------------------------------------------
    def couple(self, x1: Tensor, x2: Tensor, c: Optional[Tensor]
               ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Forward half-transforms: ``(x1, x2) -> (y1, y2, logdet or None)``."""
        raise NotImplementedError

    def uncouple(self, y1: Tensor, y2: Tensor, c: Optional[Tensor]
                 ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Inverse half-transforms: ``(y1, y2) -> (x1, x2, logdet or None)``.

        The returned log-det is the forward one (the base negates it).
        """
        raise NotImplementedError

    # -- InvertibleModule -------------------------------------------------------
    def _forward(self, x, c, jac):
        x1, x2 = channel_split(x, self.split1)
        y1, y2, logdet = self.couple(x1, x2, c)
        return channel_concat((y1, y2)), logdet

    def _inverse(self, y, c, jac):
        y1, y2 = channel_split(y, self.split1)
        x1, x2, logdet = self.uncouple(y1, y2, c)
        return channel_concat((x1, x2)), (None if logdet is None else -logdet)

    def extra_repr(self) -> str:
        return (f'channels={self.channels}, split={self.split1}, '
                f'clamp={self.clamp}, clamp_activation='
                f'{self.clamp_activation!r}')


@COUPLINGS.register_module()
class AdditiveCoupling(CouplingBase):
    """NICE's additive coupling: ``y1 = x1``, ``y2 = x2 + t(x1)`` (log-det 0).

    Only the second part changes; alternate with a permutation (or use
    :class:`AffineCoupling`) so every channel gets transformed.
    Subnet ``t``: split -> C - split channels.
    """

    def __init__(self, channels, split=None, subnet=None, clamp=1.0,
                 clamp_activation='sigmoid', cond_channels=0):
        super().__init__(channels, split, subnet, clamp, clamp_activation,
                         cond_channels)
        self.t = self.build_subnet(self.split1, self.split2)

    def couple(self, x1, x2, c):
        return x1, x2 + self.t(self.cond(x1, c)), None

    def uncouple(self, y1, y2, c):
        return y1, y2 - self.t(self.cond(y1, c)), None


@COUPLINGS.register_module()
class AffineCoupling(CouplingBase):
    """IRN's coupling (``InvBlockExp``), also SAIN's vanilla block, IICNet's
    ``InvArch`` and Invertible-ISP's block (with ``clamp=0.8``)::

        y1 = x1 + F(x2)
        s  = clamp * (2 * sigmoid(H(y1)) - 1)        # clamp_activation='sigmoid'
        y2 = x2 * exp(s) + G(y1)

    The first part (IRN's LR branch, ``split`` = 3 for RGB) is additive, the
    second affine. Log-det: ``sum(s)`` over C, H, W.
    Subnets: F: C - split -> split; G, H: split -> C - split.
    """

    def __init__(self, channels, split=None, subnet=None, clamp=1.0,
                 clamp_activation='sigmoid', cond_channels=0):
        super().__init__(channels, split, subnet, clamp, clamp_activation,
                         cond_channels)
        self.F = self.build_subnet(self.split2, self.split1)
        self.G = self.build_subnet(self.split1, self.split2)
        self.H = self.build_subnet(self.split1, self.split2)

    def couple(self, x1, x2, c):
        y1 = x1 + self.F(self.cond(x2, c))
        h = self.cond(y1, c)
        s = self.log_scale(self.H(h))
        y2 = x2 * torch.exp(s) + self.G(h)
        return y1, y2, sum_except_batch(s)

    def uncouple(self, y1, y2, c):
        h = self.cond(y1, c)
        s = self.log_scale(self.H(h))
        x2 = (y2 - self.G(h)) / torch.exp(s)
        x1 = y1 - self.F(self.cond(x2, c))
        return x1, x2, sum_except_batch(s)


@COUPLINGS.register_module()
class RealNVPCoupling(CouplingBase):
    """RealNVP's affine coupling, two-sided (FrEIA's ``RNVPCouplingBlock``)::

        y1 = x1 * exp(clamp(s2(x2))) + t2(x2)
        y2 = x2 * exp(clamp(s1(y1))) + t1(y1)

    Both parts are affine, each with its own scale and shift subnets. With
    ``clamp_activation='sigmoid'`` it is InvCompress's coupling layer.
    Log-det: sum of both log-scales.
    """

    def __init__(self, channels, split=None, subnet=None, clamp=1.0,
                 clamp_activation='atan', cond_channels=0):
        super().__init__(channels, split, subnet, clamp, clamp_activation,
                         cond_channels)
        self.s1 = self.build_subnet(self.split1, self.split2)
        self.t1 = self.build_subnet(self.split1, self.split2)
        self.s2 = self.build_subnet(self.split2, self.split1)
        self.t2 = self.build_subnet(self.split2, self.split1)

    def couple(self, x1, x2, c):
        h2 = self.cond(x2, c)
        s2 = self.log_scale(self.s2(h2))
        y1 = x1 * torch.exp(s2) + self.t2(h2)
        h1 = self.cond(y1, c)
        s1 = self.log_scale(self.s1(h1))
        y2 = x2 * torch.exp(s1) + self.t1(h1)
        return y1, y2, sum_except_batch(s1) + sum_except_batch(s2)

    def uncouple(self, y1, y2, c):
        h1 = self.cond(y1, c)
        s1 = self.log_scale(self.s1(h1))
        # divide (not multiply by exp(-s)): InvCompress's official inverse,
        # reproduced bit for bit
        x2 = (y2 - self.t1(h1)) / torch.exp(s1)
        h2 = self.cond(x2, c)
        s2 = self.log_scale(self.s2(h2))
        x1 = (y1 - self.t2(h2)) / torch.exp(s2)
        return x1, x2, sum_except_batch(s1) + sum_except_batch(s2)


@COUPLINGS.register_module()
class GlowCoupling(CouplingBase):
    """Glow's affine coupling (one-sided, one subnet for shift and scale)::

        shift, raw = NN(x1).chunk(2)
        y1 = x1
        y2 = (x2 + shift) * exp(log_scale(raw))    # 'glow': sigmoid(raw + 2)

    Log-det: ``sum(log_scale)``. Subnet: split -> 2 * (C - split).
    """

    def __init__(self, channels, split=None, subnet=None, clamp=1.0,
                 clamp_activation='glow', cond_channels=0):
        super().__init__(channels, split, subnet, clamp, clamp_activation,
                         cond_channels)
        self.nn = self.build_subnet(self.split1, 2 * self.split2)

    def _shift_scale(self, x1, c):
        shift, raw = self.nn(self.cond(x1, c)).chunk(2, dim=1)
        return shift, self.log_scale(raw)

    def couple(self, x1, x2, c):
        shift, log_s = self._shift_scale(x1, c)
        return x1, (x2 + shift) * torch.exp(log_s), sum_except_batch(log_s)

    def uncouple(self, y1, y2, c):
        shift, log_s = self._shift_scale(y1, c)
        return y1, y2 * torch.exp(-log_s) - shift, sum_except_batch(log_s)


class EnhancedCouplingOutput(NamedTuple):
    """What :meth:`EnhancedAffineCoupling.forward_with_lr` returns."""

    #: the block's output in the chosen direction, ``(N, C, H, W)``.
    out: Tensor
    #: the intermediate LR ``x1 + E(x2)`` (forward) or ``y1 + F(x2)``
    #: (inverse), ``(N, split, H, W)``.
    lr: Tensor
    #: the log-determinant ``(N,)`` of the chosen direction, or None.
    logdet: Optional[Tensor]


@COUPLINGS.register_module()
class EnhancedAffineCoupling(CouplingBase):
    """SAIN's enhanced invertible block, with an intermediate LR::

        lr = x1 + E(x2)              # the high-quality LR
        y1 = lr - F(x2)
        s  = clamp * (2 * sigmoid(H(y1)) - 1)
        y2 = x2 * exp(s) + G(y1)

    The inverse recomputes ``lr = y1 + F(x2)`` on the way back. Calling the
    block follows the library's convention (``y = m(x)``, ``x = m(y,
    rev=True)``); :meth:`forward_with_lr` runs the same computation and also
    returns that intermediate LR (SAIN ships the LR taken from inside its
    last enhanced block). The block keeps no state between calls, so it is
    as safe in memory-efficient chains as any other.
    Log-det: ``sum(s)``. Subnets: E, F: C - split -> split; G, H: split -> C - split.
    """

    def __init__(self, channels, split=None, subnet=None, clamp=1.0,
                 clamp_activation='sigmoid', cond_channels=0):
        super().__init__(channels, split, subnet, clamp, clamp_activation,
                         cond_channels)
        self.E = self.build_subnet(self.split2, self.split1)
        self.F = self.build_subnet(self.split2, self.split1)
        self.G = self.build_subnet(self.split1, self.split2)
        self.H = self.build_subnet(self.split1, self.split2)

    def couple_with_lr(self, x1, x2, c):
        """Forward half-transforms: ``(y1, y2, logdet, lr)``."""
        h2 = self.cond(x2, c)
        lr = x1 + self.E(h2)
        y1 = lr - self.F(h2)
        h1 = self.cond(y1, c)
        s = self.log_scale(self.H(h1))
        y2 = x2 * torch.exp(s) + self.G(h1)
        return y1, y2, sum_except_batch(s), lr

    def uncouple_with_lr(self, y1, y2, c):
        """Inverse half-transforms: ``(x1, x2, forward logdet, lr)``."""
        h1 = self.cond(y1, c)
        s = self.log_scale(self.H(h1))
        x2 = (y2 - self.G(h1)) / torch.exp(s)
        h2 = self.cond(x2, c)
        lr = y1 + self.F(h2)
        x1 = lr - self.E(h2)
        return x1, x2, sum_except_batch(s), lr

    def couple(self, x1, x2, c):
        return self.couple_with_lr(x1, x2, c)[:3]

    def uncouple(self, y1, y2, c):
        return self.uncouple_with_lr(y1, y2, c)[:3]

    def forward_with_lr(self,
                        x: Tensor,
                        rev: bool = False,
                        jac: bool = False,
                        c: Optional[Tensor] = None) -> EnhancedCouplingOutput:
        """Run the block (as ``self(x, rev, jac, c)``) and also return the
        intermediate LR; see :class:`EnhancedCouplingOutput`."""
        self._check_input(x, rev)
        if rev:
            y1, y2 = channel_split(x, self.split1)
            x1, x2, logdet, lr = self.uncouple_with_lr(y1, y2, c)
            out, logdet = channel_concat((x1, x2)), -logdet
        else:
            x1, x2 = channel_split(x, self.split1)
            y1, y2, logdet, lr = self.couple_with_lr(x1, x2, c)
            out = channel_concat((y1, y2))
        return EnhancedCouplingOutput(out, lr, logdet if jac else None)
