# Copyright (c) invtoolbox contributors. All rights reserved.
"""Autoregressive coding of the latent ``y`` of a joint
autoregressive-hyperprior codec (Minnen et al. 2018; CompressAI's
``JointAutoregressiveHierarchicalPriors``, Cheng2020Anchor, InvCompress).

The mean and scale of every position of ``y`` come from the hyperprior
``params`` at that position and from a masked convolution (the *context
model*) over the positions already decoded. The official code visits the
positions one at a time in raster order, running the context convolution on
the 5x5 window and the entropy-parameter network on one vector each time:
thousands of tiny calls, about 100 s to decode one CLIC image on a CPU.

Here the positions are grouped into *wavefronts*. With a causal mask whose
taps in the rows above reach ``q`` columns to the right (``q = 2`` for the
5x5 mask 'A'), position ``(r, c)`` depends only on positions with a smaller
``t = (q + 1) * r + c``; the positions of one wavefront (equal ``t``) are
independent and are computed together: one gather of their masked windows
(only the taps the mask keeps), one matrix product for the context model and
one for each 1x1 convolution of the entropy-parameter network. A 48x32
latent (a 768x512 image) takes 141 steps instead of 1,536.

The symbols are exactly the official ones (``round(y - mean)`` with the
mean predicted from the *decoded* ``y_hat = symbol + mean`` of the earlier
positions, CDF index from the bounded scale); only the evaluation order of
the network differs, which changes the means by float rounding (the
official symbols are reproduced on the reference vectors, whose rounding
margins are 7.5e-4). The bitstream codes the positions wavefront by
wavefront (raster order within a wavefront), all channels of a position
consecutively.

:class:`SerialContextCoder` is the straightforward re-statement of the
official raster loop on the same entropy coder (for benchmarks and as a
cross-check); both produce the same symbols.
"""
from __future__ import annotations

import copy
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    'causal_taps', 'wavefront_slope', 'wavefront_schedule',
    'WavefrontContextCoder', 'SerialContextCoder'
]


def causal_taps(mask: Tensor) -> List[Tuple[int, int]]:
    """The ``(dy, dx)`` offsets (from the kernel centre) that a causal mask
    keeps, in raster order. ``mask``: ``(out, in, k, k)`` or ``(k, k)``."""
    plane = mask if mask.dim() == 2 else mask[0, 0]
    k = plane.shape[-1]
    if plane.shape[0] != k or k % 2 == 0:
        raise ValueError(f'causal_taps: the mask must be square with an odd '
                         f'size, got {tuple(plane.shape)}.')
    if mask.dim() == 4 and not bool((mask == plane).all()):
        raise ValueError('causal_taps: the mask differs between channels; '
                         'wavefront coding needs one spatial mask.')
    p = k // 2
    taps = [(int(dy) - p, int(dx) - p)
            for dy, dx in torch.nonzero(plane != 0).tolist()]
    for dy, dx in taps:
        if dy > 0 or (dy == 0 and dx >= 0):
            raise ValueError(
                f'causal_taps: the mask keeps the tap ({dy}, {dx}) at or '
                'after the centre in raster order; it is not causal (use '
                "mask_type 'A').")
    return taps


def wavefront_slope(taps: Sequence[Tuple[int, int]]) -> int:
    """The smallest ``a >= 1`` such that every position depends only on
    positions with a smaller ``a * row + col``: a tap ``(dy, dx)`` with
    ``dy < 0`` needs ``a * (-dy) > dx`` (``a = 3`` for the 5x5 mask 'A')."""
    return max([1] + [dx // -dy + 1 for dy, dx in taps if dy < 0])


def wavefront_schedule(height: int, width: int, slope: int
                       ) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Positions of a ``height x width`` grid grouped by ``t = slope * row
    + col`` (ascending), each group in raster order: a list of
    ``(rows, cols)`` int64 arrays."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width),
                             indexing='ij')
    t = (slope * rows + cols).ravel()
    order = np.lexsort((cols.ravel(), rows.ravel(), t))
    t_sorted = t[order]
    bounds = np.flatnonzero(np.diff(t_sorted)) + 1
    groups = np.split(order, bounds)
    r, c = rows.ravel(), cols.ravel()
    return [(r[g], c[g]) for g in groups]


def _linear_layers(entropy_parameters: nn.Module,
                   dtype: torch.dtype) -> List[tuple]:
    """The entropy-parameter network as functions on ``(P, C)`` vectors:
    its 1x1 convolutions become ``F.linear`` (weights cast to ``dtype``);
    activations stay."""
    layers = []
    for module in entropy_parameters.children() if isinstance(
            entropy_parameters, nn.Sequential) else [entropy_parameters]:
        if isinstance(module, nn.Conv2d):
            if module.kernel_size != (1, 1) or module.groups != 1:
                raise ValueError(
                    'WavefrontContextCoder: the entropy-parameter network '
                    'must be 1x1 convolutions and activations, got '
                    f'{module}.')
            weight = module.weight.detach().reshape(module.out_channels, -1)
            bias = None if module.bias is None else module.bias.detach().to(
                dtype)
            layers.append(('linear', weight.to(dtype), bias))
        else:
            layers.append(('module', module, None))
    return layers


class _ContextCoderBase:
    """What the wavefront and the serial coders share: the networks, the
    Gaussian conditional's tables and the symbol/escape coding calls."""

    def __init__(self, context_prediction: nn.Module,
                 entropy_parameters: nn.Module,
                 gaussian_conditional: nn.Module,
                 dtype: torch.dtype = torch.float64) -> None:
        self.dtype = dtype
        self.context_prediction = context_prediction
        self.entropy_parameters = entropy_parameters
        self.gaussian_conditional = gaussian_conditional
        self.kernel_size = int(context_prediction.weight.shape[-1])
        self.padding = self.kernel_size // 2
        self.channels = int(context_prediction.weight.shape[1])

    def _table(self):
        return self.gaussian_conditional.cdf_table()

    def _check(self, params: Tensor, y: Tensor = None) -> None:
        n = self.channels
        if params.dim() != 4 or params.shape[0] != 1 or \
                params.shape[1] != 2 * n:
            raise ValueError(
                f'{type(self).__name__}: params must be (1, {2 * n}, h, w), '
                f'got {tuple(params.shape)}; code one image at a time.')
        if y is not None and (y.shape[0] != 1 or y.shape[1] != n
                              or y.shape[2:] != params.shape[2:]):
            raise ValueError(
                f'{type(self).__name__}: y {tuple(y.shape)} does not match '
                f'params {tuple(params.shape)} (expected (1, {n}, h, w)).')


class WavefrontContextCoder(_ContextCoderBase):
    """Encode / decode ``y`` wavefront by wavefront (see the module
    docstring). Works on one image: ``y`` ``(1, N, h, w)``, ``params``
    ``(1, 2N, h, w)`` (the hyper-synthesis output at ``y``'s size).

    The networks are evaluated in ``dtype`` (float64 by default) from the
    float32 weights: the means and scales then differ between machines,
    thread counts and evaluation orders by ~1e-16 relative instead of
    ~1e-7, so that a symbol ``round(y - mean)`` or a scale's table row
    could only differ between encoder and decoder for a value within that
    distance of a boundary (see docs/invcompress.md). Per wavefront:

    - the decoded ``y_hat`` is kept channels-last, ``(h + 2p, w + 2p, N)``,
      so the masked windows of the wavefront are one gather ``(P, T * N)``
      of the ``T`` taps the mask keeps (12 of 25 for mask 'A');
    - the first 1x1 layer of the entropy-parameter network is split: its
      hyperprior half is applied to every position at once before the
      loop, only its context half runs per wavefront.

    Args:
        context_prediction (nn.Module): the masked convolution (``weight``
            ``(2N, N, k, k)``, ``mask``, ``bias``).
        entropy_parameters (nn.Module): 1x1 convolutions and activations
            from ``4N`` to ``2N`` channels (scales first, then means).
        gaussian_conditional (nn.Module): the
            :class:`~invtoolbox.models.entropy_models.GaussianConditional`
            whose tables and scale table code the symbols.
        dtype (torch.dtype): arithmetic of the networks. Default float64.
    """

    def __init__(self, context_prediction, entropy_parameters,
                 gaussian_conditional, dtype=torch.float64) -> None:
        super().__init__(context_prediction, entropy_parameters,
                         gaussian_conditional, dtype)
        mask = context_prediction.mask
        self.taps = causal_taps(mask)
        self.slope = wavefront_slope(self.taps)
        p = self.padding
        n = self.channels
        weight = (context_prediction.weight * mask).detach().to(dtype)
        # (2N, T, N): the kept taps, channels fastest (the gather's layout)
        kept = torch.stack(
            [weight[:, :, dy + p, dx + p] for dy, dx in self.taps], dim=1)
        self.ctx_weight = kept.reshape(weight.shape[0], -1).contiguous()
        self.ctx_bias = context_prediction.bias.detach().to(dtype)
        self.dy = torch.tensor([dy + p for dy, _ in self.taps])
        self.dx = torch.tensor([dx + p for _, dx in self.taps])
        layers = _linear_layers(entropy_parameters, dtype)
        if not layers or layers[0][0] != 'linear' or \
                layers[0][1].shape[1] != 4 * n:
            raise ValueError(
                'WavefrontContextCoder: the entropy-parameter network must '
                f'start with a 1x1 convolution from {4 * n} channels '
                '(hyperprior params, then context).')
        first, bias = layers[0][1], layers[0][2]
        self.hyper_weight = first[:, :2 * n].contiguous()
        self.hyper_bias = bias
        self.first_ctx_weight = first[:, 2 * n:].contiguous()
        self.layers = layers[1:]
        gc = gaussian_conditional
        self._scale_bound = gc.lower_bound_scale.bound.detach().to(dtype)
        self._steps = {}

    def schedule(self, height: int, width: int):
        return wavefront_schedule(height, width, self.slope)

    def _plan(self, height: int, width: int) -> list:
        """Per wavefront: flat positions ``(P,)``, padded rows and columns
        ``(P,)`` and the window gather indexes ``(P, T)``, cached."""
        key = (height, width)
        if key not in self._steps:
            p = self.padding
            steps = []
            for rows, cols in self.schedule(height, width):
                rows = torch.from_numpy(rows)
                cols = torch.from_numpy(cols)
                steps.append((rows * width + cols, rows + p, cols + p,
                              rows[:, None] + self.dy[None],
                              cols[:, None] + self.dx[None]))
            self._steps = {key: steps}
        return self._steps[key]

    def _hyper_terms(self, params: Tensor) -> Tensor:
        """The first layer's hyperprior half at every position:
        ``(h * w, C1)``."""
        flat = params[0].to(self.dtype).flatten(1).t()
        return F.linear(flat, self.hyper_weight, self.hyper_bias)

    def _gaussian_params(self, y_buf: Tensor, hyper: Tensor,
                         step) -> Tuple[Tensor, Tensor, Tensor]:
        """Scales, means ``(P, N)`` and table rows at one wavefront."""
        flat, _, _, win_r, win_c = step
        windows = y_buf[win_r, win_c].reshape(win_r.shape[0], -1)
        ctx = F.linear(windows, self.ctx_weight, self.ctx_bias)
        h = torch.addmm(hyper[flat], ctx, self.first_ctx_weight.t())
        for kind, op, bias in self.layers:
            h = F.linear(h, op, bias) if kind == 'linear' else op(h)
        scales, means = h.chunk(2, dim=1)
        return scales, means

    def _indexes(self, scales: Tensor) -> np.ndarray:
        # = GaussianConditional.build_indexes (lower bound, then the first
        # table scale >= it), without the module calls
        scales = torch.maximum(scales, self._scale_bound)
        return torch.searchsorted(self._boundaries, scales).reshape(
            -1).numpy()

    def _prepare(self):
        gc = self.gaussian_conditional
        if gc.scale_table.numel() == 0:
            raise ValueError(
                f'{type(self).__name__}: the Gaussian conditional has no '
                'scale table; call update() on the network first.')
        self._boundaries = gc.scale_table[:-1].detach().to(
            self.dtype).contiguous()
        return self._table()

    @torch.no_grad()
    def encode(self, y: Tensor, params: Tensor, encoder) -> Tensor:
        """Code ``y`` into ``encoder`` (an ``AnsEncoder``); returns the
        decoded ``y_hat`` ``(1, N, h, w)`` (symbols + means)."""
        self._check(params, y)
        table = self._prepare()
        n, h, w = y.shape[1:]
        p = self.padding
        y_buf = F.pad(y[0].to(self.dtype), (p, p, p, p)).permute(
            1, 2, 0).contiguous()
        hyper = self._hyper_terms(params)
        for step in self._plan(h, w):
            scales, means = self._gaussian_params(y_buf, hyper, step)
            _, rows, cols, _, _ = step
            symbols = torch.round(y_buf[rows, cols] - means)
            y_buf[rows, cols] = symbols + means
            encoder.encode(symbols.to(torch.int32).reshape(-1).numpy(),
                           self._indexes(scales), table)
        return y_buf[p:p + h, p:p + w].permute(2, 0, 1)[None].float()

    @torch.no_grad()
    def decode(self, params: Tensor, decoder) -> Tensor:
        """Decode ``y_hat`` ``(1, N, h, w)`` from ``decoder`` (an
        ``AnsDecoder``) given the hyperprior ``params``."""
        self._check(params)
        table = self._prepare()
        n = self.channels
        h, w = params.shape[2:]
        p = self.padding
        y_buf = torch.zeros((h + 2 * p, w + 2 * p, n), dtype=self.dtype)
        hyper = self._hyper_terms(params)
        for step in self._plan(h, w):
            scales, means = self._gaussian_params(y_buf, hyper, step)
            symbols = decoder.decode(self._indexes(scales), table)
            _, rows, cols, _, _ = step
            y_buf[rows, cols] = torch.from_numpy(symbols).reshape(
                means.shape).to(self.dtype) + means
        return y_buf[p:p + h, p:p + w].permute(2, 0, 1)[None].float()


class SerialContextCoder(_ContextCoderBase):
    """The official loop (``_compress_ar`` / ``_decompress_ar`` of
    CompressAI's joint autoregressive prior), re-stated on our entropy
    coder: positions in raster order, the masked convolution on each 5x5
    window and the entropy-parameter network on one vector at a time.
    Slow by design: the baseline of the wavefront coder's benchmark. It
    evaluates the networks in ``dtype`` as the wavefront coder does."""

    def __init__(self, context_prediction, entropy_parameters,
                 gaussian_conditional, dtype=torch.float64) -> None:
        super().__init__(context_prediction, entropy_parameters,
                         gaussian_conditional, dtype)
        self.weight = (context_prediction.weight *
                       context_prediction.mask).detach().to(dtype)
        self.bias = context_prediction.bias.detach().to(dtype)
        self.network = copy.deepcopy(entropy_parameters).to(dtype)

    def _one(self, y_pad: Tensor, params: Tensor, r: int,
             c: int) -> Tuple[Tensor, Tensor]:
        k = self.kernel_size
        crop = y_pad[:, :, r:r + k, c:c + k]
        ctx = F.conv2d(crop, self.weight, bias=self.bias)
        p = params[:, :, r:r + 1, c:c + 1]
        out = self.network(torch.cat((p, ctx), dim=1))
        scales, means = out.squeeze(3).squeeze(2).chunk(2, 1)
        return scales, means

    @torch.no_grad()
    def encode(self, y: Tensor, params: Tensor, encoder) -> Tensor:
        self._check(params, y)
        gc = self.gaussian_conditional
        table = self._table()
        h, w = y.shape[2:]
        p = self.padding
        y_pad = F.pad(y.to(self.dtype), (p, p, p, p))
        params = params.to(self.dtype)
        for r in range(h):
            for c in range(w):
                scales, means = self._one(y_pad, params, r, c)
                value = y_pad[:, :, r + p, c + p]
                symbols = torch.round(value - means)
                y_pad[:, :, r + p, c + p] = symbols + means
                encoder.encode(
                    symbols.to(torch.int32).reshape(-1).numpy(),
                    gc.build_indexes(scales).reshape(-1).numpy(), table)
        return y_pad[:, :, p:p + h, p:p + w].float()

    @torch.no_grad()
    def decode(self, params: Tensor, decoder) -> Tensor:
        self._check(params)
        gc = self.gaussian_conditional
        table = self._table()
        h, w = params.shape[2:]
        p = self.padding
        y_pad = params.new_zeros((1, self.channels, h + 2 * p, w + 2 * p),
                                 dtype=self.dtype)
        params = params.to(self.dtype)
        for r in range(h):
            for c in range(w):
                scales, means = self._one(y_pad, params, r, c)
                symbols = decoder.decode(
                    gc.build_indexes(scales).reshape(-1).numpy(), table)
                symbols = torch.from_numpy(np.asarray(symbols, np.int32))
                y_pad[:, :, r + p, c + p] = symbols.reshape(
                    means.shape).to(means.dtype) + means
        return y_pad[:, :, p:p + h, p:p + w].float()
