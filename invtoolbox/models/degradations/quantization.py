# Copyright (c) invtoolbox contributors. All rights reserved.
"""8-bit quantisation with a straight-through gradient (IRN / SAIN ``Quant``)."""
import torch
import torch.nn as nn

from invtoolbox.registry import DEGRADATIONS
from ._utils import check_image_tensor


class _QuantizeSTE(torch.autograd.Function):
    """``round(clamp(x, 0, 1) * 255) / 255`` forward, identity backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x.clamp(0, 1) * 255.) / 255.

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Functional form of :class:`Quantization` (any shape, float dtype)."""
    return _QuantizeSTE.apply(x)


@DEGRADATIONS.register_module()
class Quantization(nn.Module):
    """Quantise an image to 8 bits with a straight-through gradient.

    Forward: ``round(clamp(x, 0, 1) * 255) / 255``, i.e. what storing the
    image as an 8-bit PNG does. Backward: the identity, which also ignores
    the clamp, exactly as ``Quant`` in the official IRN and SAIN code.

    The operation is element-wise, so besides NCHW RGB images it also takes
    any float tensor (e.g. a 12-channel ``cat(LR, z)``).

    Shapes:
        - Input: ``(N, C, H, W)`` (or any shape) float, nominally in
          ``[0, 1]``; values outside are clamped in the forward pass.
        - Output: same shape and dtype, values in ``{0, 1/255, ..., 1}``.

    Example:
        >>> from invtoolbox.registry import DEGRADATIONS
        >>> quant = DEGRADATIONS.build(dict(type='Quantization'))
        >>> y = quant(torch.rand(2, 3, 16, 16))
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Quantise ``x`` (see the class docstring)."""
        check_image_tensor(x, type(self).__name__, rgb=False)
        return quantize_8bit(x)
