# Copyright (c) invtoolbox contributors. All rights reserved.
"""``max(x, bound)`` with CompressAI's gradient (``ops/bound_ops.py``).

Entropy models bound likelihoods (away from 0, so ``-log2`` stays finite)
and Gaussian scales (away from 0, so the CDF stays defined). A plain
``torch.clamp`` would stop every gradient below the bound and leave a value
stuck there; this one lets the gradient through where it pushes the value
back up (towards and above the bound).
"""
import torch
from torch import Tensor, nn

__all__ = ['LowerBound', 'lower_bound']


class _LowerBoundFunction(torch.autograd.Function):
    """Forward ``max(x, bound)``; backward passes the gradient where
    ``x >= bound`` or where the gradient is negative (a descent step then
    raises ``x``)."""

    @staticmethod
    def forward(ctx, inputs: Tensor, bound: Tensor) -> Tensor:
        ctx.save_for_backward(inputs, bound)
        return torch.max(inputs, bound)

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        inputs, bound = ctx.saved_tensors
        passes = (inputs >= bound) | (grad_output < 0)
        return passes.to(grad_output.dtype) * grad_output, None


def lower_bound(inputs: Tensor, bound: Tensor) -> Tensor:
    """Functional form of :class:`LowerBound` (``bound``: a 1-element
    tensor on the device of ``inputs``)."""
    return _LowerBoundFunction.apply(inputs, bound)


class LowerBound(nn.Module):
    """``max(x, bound)`` for any tensor ``x``, with the gradient described
    in the module docstring.

    Args:
        bound (float): the lower bound, stored as the float32 buffer
            ``bound`` of shape ``(1,)`` (a state-dict key, as in CompressAI).
    """

    def __init__(self, bound: float):
        super().__init__()
        self.register_buffer('bound', torch.tensor([float(bound)]))

    def forward(self, x: Tensor) -> Tensor:
        return lower_bound(x, self.bound.to(x.dtype))

    def extra_repr(self) -> str:
        return f'bound={self.bound.item():g}'
