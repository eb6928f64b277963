# Copyright (c) invtoolbox contributors. All rights reserved.
"""Invertible channel mixing: 1x1 convolutions, ActNorm, permutations."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...registry import INV_BLOCKS
from .base import InvertibleModule, zero_logdet

__all__ = [
    'Invertible1x1Conv', 'Conv1x1Grey', 'ActNorm', 'RandomPermutation'
]


def _random_orthogonal(channels: int,
                       generator: Optional[torch.Generator] = None) -> Tensor:
    """A random orthogonal matrix (QR of a Gaussian matrix, Glow's init)."""
    weight = torch.randn(channels, channels, generator=generator,
                         dtype=torch.float64)
    q, r = torch.linalg.qr(weight)
    # Fix the signs so the distribution is uniform (Haar measure).
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return q.float()


def _conv1x1(x: Tensor, weight: Tensor) -> Tensor:
    return F.conv2d(x, weight.to(x.dtype)[:, :, None, None])


class _MatrixMixing(InvertibleModule):
    """Shared pieces of the layers that multiply every pixel by a C x C matrix."""

    def _matrix(self) -> Tensor:
        raise NotImplementedError

    def _inverse_matrix(self) -> Tensor:
        # Inverted in float64: float32 inversion of a learnt matrix loses
        # digits that the round trip then misses (IICNet does the same).
        return torch.linalg.inv(self._matrix().double())

    def _logabsdet(self) -> Tensor:
        return torch.linalg.slogdet(self._matrix().double())[1]

    def _logdet(self, x: Tensor) -> Tensor:
        hw = x.shape[2] * x.shape[3]
        return (hw * self._logabsdet()).to(x.dtype).expand(x.shape[0]).clone()

    def _forward(self, x, c, jac):
        return _conv1x1(x, self._matrix()), (self._logdet(x) if jac else None)

    def _inverse(self, y, c, jac):
        out = _conv1x1(y, self._inverse_matrix())
        return out, (-self._logdet(y) if jac else None)


@INV_BLOCKS.register_module()
class Invertible1x1Conv(_MatrixMixing):
    """Glow's invertible 1x1 convolution, plain or LU-decomposed.

    ``y[:, i] = sum_j W[i, j] x[:, j]`` at every pixel. ``W`` starts as a
    random orthogonal matrix (log-det 0). With ``lu=True`` it is
    parameterised as ``W = P @ L @ (U + diag(sign_s * exp(log_s)))`` (P fixed
    permutation, L unit lower-triangular, U strictly upper-triangular), which
    makes the log-det ``H*W*sum(log_s)`` cheap (Invertible-ISP's form).

    Shapes: (N, C, H, W) -> (N, C, H, W). Log-det: ``H*W*log|det W|``.

    Args:
        channels (int): channels C.
        lu (bool): use the LU parameterisation. Default: False.
        seed (int, optional): seed of the random orthogonal init (the global
            RNG is used when None).
    """

    def __init__(self, channels: int, lu: bool = False,
                 seed: Optional[int] = None) -> None:
        super().__init__(channels)
        self.lu = lu
        generator = None
        if seed is not None:
            generator = torch.Generator().manual_seed(int(seed))
        weight = _random_orthogonal(channels, generator)
        if not lu:
            self.weight = nn.Parameter(weight)
            return
        p, lower, upper = torch.linalg.lu(weight.double())
        diag = torch.diagonal(upper)
        self.register_buffer('permutation', p.float())
        self.register_buffer('sign_s', torch.sign(diag).float())
        # constants, rebuilt at construction and not saved (as the official
        # Glow / Invertible-ISP code, whose masks are plain attributes)
        self.register_buffer('lower_mask',
                             torch.tril(torch.ones(channels, channels), -1),
                             persistent=False)
        self.register_buffer('eye', torch.eye(channels), persistent=False)
        self.lower = nn.Parameter(lower.float())
        self.upper = nn.Parameter(torch.triu(upper, 1).float())
        self.log_s = nn.Parameter(torch.log(torch.abs(diag)).float())

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints written before the masks became non-persistent
        for name in ('lower_mask', 'eye'):
            state_dict.pop(prefix + name, None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _matrix(self) -> Tensor:
        if not self.lu:
            return self.weight
        lower = self.lower * self.lower_mask + self.eye
        upper = (self.upper * self.lower_mask.t() +
                 torch.diag(self.sign_s * torch.exp(self.log_s)))
        return self.permutation @ lower @ upper

    def _logabsdet(self) -> Tensor:
        if self.lu:
            return self.log_s.double().sum()
        return super()._logabsdet()

    def extra_repr(self) -> str:
        return f'channels={self.channels}, lu={self.lu}'


#: RGB -> YUV rows used by IRN-Color to initialise :class:`Conv1x1Grey`.
_YUV_FROM_RGB = [[0.299, 0.587, 0.114], [-0.147, -0.289, 0.436],
                 [0.615, -0.515, -0.100]]


@INV_BLOCKS.register_module()
class Conv1x1Grey(_MatrixMixing):
    """IRN-Color's learnable colour transform (a 3x3 matrix per pixel).

    Initialised to the RGB -> YUV matrix so that output channel 0 is the
    grey image and channels 1-2 the chroma that IRN-Color treats as latent;
    ``rgb_type='BGR'`` mirrors the columns for BGR inputs. The inverse
    multiplies by the inverse matrix.

    Shapes: (N, 3, H, W) -> (N, 3, H, W). Log-det: ``H*W*log|det W|``.

    Args:
        channels (int): must be 3. Default: 3.
        rgb_type (str): ``'RGB'`` or ``'BGR'`` channel order of the input.
    """

    def __init__(self, channels: int = 3, rgb_type: str = 'RGB') -> None:
        super().__init__(channels)
        if channels != 3:
            raise ValueError(
                f'Conv1x1Grey works on 3-channel colour images, got '
                f'channels={channels}.')
        if rgb_type not in ('RGB', 'BGR'):
            raise ValueError(f"Conv1x1Grey: rgb_type={rgb_type!r} must be "
                             "'RGB' or 'BGR'.")
        self.rgb_type = rgb_type
        weights = torch.tensor(_YUV_FROM_RGB)
        if rgb_type == 'BGR':
            weights = weights.flip(1)
        self.conv_weights = nn.Parameter(weights)

    def _matrix(self) -> Tensor:
        return self.conv_weights

    def extra_repr(self) -> str:
        return f'channels={self.channels}, rgb_type={self.rgb_type!r}'


@INV_BLOCKS.register_module()
class ActNorm(InvertibleModule):
    """Glow's activation normalisation: ``y = (x + bias) * exp(log_scale)``.

    Per-channel affine map with data-dependent initialisation: on the first
    forward call in training mode, ``bias`` and ``log_scale`` are set so the
    batch output has zero mean and unit variance per channel. The
    ``initialized`` flag is a buffer, so a loaded checkpoint is not
    re-initialised.

    Shapes: (N, C, H, W) -> (N, C, H, W). Log-det: ``H*W*sum(log_scale)``.

    Args:
        channels (int): channels C.
        eps (float): added to the std at initialisation. Default: 1e-6.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__(channels)
        self.eps = eps
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer('initialized', torch.tensor(False))

    @torch.no_grad()
    def _initialize(self, x: Tensor) -> None:
        flat = x.transpose(0, 1).reshape(x.shape[1], -1)
        mean = flat.mean(dim=1)
        std = flat.std(dim=1, unbiased=False)
        self.bias.copy_(-mean.view(1, -1, 1, 1))
        self.log_scale.copy_(-torch.log(std + self.eps).view(1, -1, 1, 1))
        self.initialized.fill_(True)

    def _logdet(self, x: Tensor) -> Tensor:
        hw = x.shape[2] * x.shape[3]
        return (hw * self.log_scale.sum()).expand(x.shape[0]).clone()

    def _forward(self, x, c, jac):
        if self.training and not bool(self.initialized):
            self._initialize(x)
        out = (x + self.bias) * torch.exp(self.log_scale)
        return out, (self._logdet(x) if jac else None)

    def _inverse(self, y, c, jac):
        out = y * torch.exp(-self.log_scale) - self.bias
        return out, (-self._logdet(y) if jac else None)


@INV_BLOCKS.register_module()
class RandomPermutation(InvertibleModule):
    """A fixed random permutation of the channels (log-det 0).

    The permutation is drawn once from ``seed`` (so two builds of the same
    config agree) and kept in the state dict.

    Args:
        channels (int): channels C.
        seed (int): seed of the permutation. Default: 0.
    """

    def __init__(self, channels: int, seed: int = 0) -> None:
        super().__init__(channels)
        generator = torch.Generator().manual_seed(int(seed))
        perm = torch.randperm(channels, generator=generator)
        self.register_buffer('perm', perm)
        self.register_buffer('perm_inv', torch.argsort(perm))

    def _forward(self, x, c, jac):
        return x[:, self.perm], (zero_logdet(x) if jac else None)

    def _inverse(self, y, c, jac):
        return y[:, self.perm_inv], (zero_logdet(y) if jac else None)
