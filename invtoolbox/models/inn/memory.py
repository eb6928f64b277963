# Copyright (c) invtoolbox contributors. All rights reserved.
"""Memory-efficient backpropagation through a chain of invertible blocks.

The chain runs without storing any intermediate activation; in backward,
each block's input is recomputed from its output with the block's inverse,
then the block is re-run with autograd on that input to back-propagate one
block at a time. Activation memory is then about one block's instead of the
whole chain's.

Design points (see STYLE.md section 3):

* Parameter (and condition) gradients are *returned* from
  :meth:`torch.autograd.Function.backward` as gradients of inputs of the
  Function, never accumulated into ``.grad`` by side effect, so DDP's
  gradient hooks and ``torch.autograd.grad`` see them like any other.
* Nothing is freed: the chain's input is simply not saved (whoever else holds
  it keeps it alive; no storage is resized), and the chain's output is saved
  as an ordinary output, so other consumers of either tensor are unaffected.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn


def _run(block: nn.Module, x: Tensor, rev: bool, jac: bool,
         c: Optional[Tensor]):
    return block(x, rev=rev, jac=jac, c=c)


class _InvertibleChainFunction(torch.autograd.Function):
    """Autograd function of an invertible chain (see module docstring)."""

    @staticmethod
    def forward(ctx, blocks: Sequence[nn.Module], rev: bool, jac: bool,
                num_params: int, x: Tensor, c: Optional[Tensor], *params):
        # ``params`` are inputs only so that autograd routes their gradients
        # (returned by backward) to them; the blocks use them directly.
        ctx.blocks = blocks
        ctx.rev = rev
        ctx.jac = jac
        ctx.has_cond = c is not None
        out = x
        logdet = x.new_zeros(x.shape[0]) if jac else None
        with torch.no_grad():
            for block in blocks:
                if jac:
                    out, ld = _run(block, out, rev, True, c)
                    logdet = logdet + ld
                else:
                    out = _run(block, out, rev, False, c)
        # ``out`` may alias ``x`` for an empty chain; a fresh tensor keeps
        # the output's version counter independent of the input's.
        out = out.clone() if out is x else out
        if c is not None:
            ctx.save_for_backward(out, c)
        else:
            ctx.save_for_backward(out)
        if jac:
            return out, logdet
        return out

    @staticmethod
    def backward(ctx, grad_out, grad_logdet=None):
        saved = ctx.saved_tensors
        out = saved[0]
        c = saved[1] if ctx.has_cond else None
        blocks = ctx.blocks
        params: List[nn.Parameter] = []
        param_index = {}
        for block in blocks:
            for p in block.parameters():
                if p.requires_grad and id(p) not in param_index:
                    param_index[id(p)] = len(params)
                    params.append(p)
        param_grads: List[Optional[Tensor]] = [None] * len(params)
        grad_c = None
        y = out.detach()
        grad_y = grad_out
        for block in reversed(blocks):
            # 1. recompute this block's input from its output
            with torch.no_grad():
                x = _run(block, y, not ctx.rev, False, c)
            # 2. re-run the block with autograd and back-propagate through it
            x = x.detach().requires_grad_(True)
            c_in = c.detach().requires_grad_(True) if (
                c is not None and c.requires_grad) else c
            block_params = [p for p in block.parameters() if p.requires_grad]
            with torch.enable_grad():
                if ctx.jac:
                    y_re, ld = _run(block, x, ctx.rev, True, c_in)
                    outputs: Tuple[Tensor, ...] = (y_re, ld)
                    grads_in: Tuple[Tensor, ...] = (
                        grad_y,
                        grad_logdet if grad_logdet is not None else
                        torch.zeros_like(ld))
                else:
                    y_re = _run(block, x, ctx.rev, False, c_in)
                    outputs, grads_in = (y_re, ), (grad_y, )
                inputs = [x] + block_params
                if c_in is not None and c_in.requires_grad:
                    inputs.append(c_in)
                # e.g. the constant log-det of a reshape has no graph
                pairs = [(o, g) for o, g in zip(outputs, grads_in)
                         if o.requires_grad]
                grads = torch.autograd.grad([o for o, _ in pairs],
                                            inputs, [g for _, g in pairs],
                                            allow_unused=True)
            grad_y = grads[0]
            for p, g in zip(block_params, grads[1:1 + len(block_params)]):
                if g is None:
                    continue
                i = param_index[id(p)]
                param_grads[i] = g if param_grads[i] is None else (
                    param_grads[i] + g)
            if c_in is not None and c_in.requires_grad:
                g = grads[-1]
                if g is not None:
                    grad_c = g if grad_c is None else grad_c + g
            y = x.detach()
        # Order of the returned gradients = order of forward's arguments.
        return (None, None, None, None, grad_y, grad_c, *param_grads)


def invertible_chain(blocks: Sequence[nn.Module],
                     x: Tensor,
                     rev: bool = False,
                     jac: bool = False,
                     c: Optional[Tensor] = None):
    """Run ``blocks`` (in reverse order when ``rev``) without storing activations.

    Args:
        blocks: invertible modules following the ``m(x, rev, jac, c)``
            convention, in forward order.
        x (Tensor): input of the chain in the chosen direction.
        rev (bool): run the inverse chain.
        jac (bool): also return the summed log-determinant (N,).
        c (Tensor, optional): condition passed to every block.

    Returns:
        Tensor or tuple[Tensor, Tensor]: as the plain chain would.
    """
    ordered = list(reversed(blocks)) if rev else list(blocks)
    params = []
    seen = set()
    for block in ordered:
        for p in block.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return _InvertibleChainFunction.apply(ordered, rev, jac, len(params), x,
                                          c, *params)
