# Copyright (c) invtoolbox contributors. All rights reserved.
"""The single-image IICNet tasks of the supplement: invertible grayscale and
image rescaling.

Here K = 1: the one image is the reference *source*, and the embedding is a
transformed version of it (a grey image, a low-resolution image).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..datasets.transforms.generate_lr import GenerateGreyReference
from ..registry import TASKS
from ..utils.imresize import imresize
from .base_task import BaseRICTask
from .multi_image_tasks import quantize_8bit

__all__ = ['GrayscaleEmbedding', 'ImageRescaling', 'rgb_to_grey']

#: OpenCV's fixed-point ``BGR2GRAY`` weights for 8-bit images, as
#: ``(R, G, B, shift)``: ``grey = (R*r + G*g + B*b + 2**(shift-1)) >> shift``.
#: OpenCV <= 4.x (the authors' 4.4) uses 14-bit weights; OpenCV 5 switched
#: to 15-bit ones, which differ by one grey level on about 0.3% of pixels.
_OPENCV_GREY = {
    'opencv4': (4899, 9617, 1868, 14),
    'opencv5': (9798, 19235, 3735, 15),
}


def rgb_to_grey(images: Tensor, formula: str = 'opencv4') -> Tensor:
    """ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` of RGB images.

    Args:
        images (Tensor): ``(..., 3, H, W)`` RGB in [0, 1].
        formula (str): ``'opencv4'`` / ``'opencv5'``: exactly OpenCV's
            ``cvtColor(img, COLOR_BGR2GRAY)`` on the 8-bit image (integer
            weights, rounded; the result is 8-bit), of OpenCV 4.x (the
            official IICNet environment) or 5.x. ``'float'``: the weighted
            sum of the float image, not rounded (the weights of
            :class:`~invtoolbox.datasets.transforms.GenerateGreyReference`,
            i.e. ``cvtColor`` on float images as IRN-Color computes it).

    Returns:
        Tensor: ``(..., 1, H, W)`` in [0, 1].
    """
    if images.dim() < 3 or images.shape[-3] != 3:
        raise ValueError(
            f'rgb_to_grey: expected RGB images (..., 3, H, W), got shape '
            f'{tuple(images.shape)}.')
    if formula == 'float':
        weights = torch.as_tensor(
            GenerateGreyReference.WEIGHTS, dtype=images.dtype,
            device=images.device).view(3, 1, 1)
        return (images * weights).sum(dim=-3, keepdim=True)
    if formula not in _OPENCV_GREY:
        raise ValueError(
            f"rgb_to_grey: formula must be 'opencv4', 'opencv5' or 'float', "
            f'got {formula!r}.')
    r_w, g_w, b_w, shift = _OPENCV_GREY[formula]
    levels = torch.round(images.clamp(0, 1) * 255.).to(torch.int64)
    r, g, b = levels.unbind(dim=-3)
    grey = (r * r_w + g * g_w + b * b_w + (1 << (shift - 1))) >> shift
    return grey.unsqueeze(-3).to(images.dtype) / 255.


@TASKS.register_module()
class GrayscaleEmbedding(BaseRICTask):
    """Invertible grayscale: embed a colour image into a grey one.

    Official config id: ``supp-gray-01`` (IICNet supplement, VOC2012).

    Images: ``[rgb]`` (K = 1); embedding: 1 channel at full size
    (``out_channels=1``). Reference: the BT.601 grey image exactly as the
    official dataset computes it, ``cv2.cvtColor(img, COLOR_BGR2GRAY)`` on
    the 8-bit image read by OpenCV (see :func:`rgb_to_grey`).

    Args:
        grey_formula (str): ``'opencv4'`` (the authors' OpenCV 4.4, the
            default), ``'opencv5'`` or ``'float'`` (unrounded weighted sum).
    """

    num_images = 1
    out_channels = 1
    reference_index = 0
    image_names = ('rgb', )

    def __init__(self, grey_formula: str = 'opencv4') -> None:
        if grey_formula not in ('opencv4', 'opencv5', 'float'):
            raise ValueError(
                f"GrayscaleEmbedding: grey_formula must be 'opencv4', "
                f"'opencv5' or 'float', got {grey_formula!r}.")
        self.grey_formula = grey_formula
        super().__init__()

    def reference(self, images: Tensor) -> Tensor:
        """The grey image.

        Args:
            images (Tensor): ``(N, 1, 3, H, W)`` RGB in [0, 1].

        Returns:
            Tensor: ``(N, 1, H, W)`` in [0, 1].
        """
        return rgb_to_grey(images[:, 0], self.grey_formula)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}('
                f'grey_formula={self.grey_formula!r})')


@TASKS.register_module()
class ImageRescaling(BaseRICTask):
    """Image rescaling as an IICNet task: embed an image into its LR version.

    Official config id: ``supp-sr-01`` (IICNet supplement, DIV2K x2; the
    IRN task with IICNet's network).

    Images: ``[HR]`` (K = 1); embedding ``(H / scale, W / scale)``.
    Reference: the MATLAB-bicubic LR image
    (:func:`invtoolbox.utils.imresize`, computed in float64), rounded to
    8 bits like DIV2K's ``LR_bicubic`` PNG files that the official dataset
    reads.

    Args:
        scale (int): the downscaling factor (IICNet's one x2 stage: 2).
            Default: 2.
        round_reference (bool): round the LR to 8 bits. Default: True.
    """

    num_images = 1
    reference_index = 0
    image_names = ('hr', )

    def __init__(self, scale: int = 2, round_reference: bool = True) -> None:
        if scale != 2:
            raise ValueError(
                f'ImageRescaling: scale must be 2 (IICNet has one x2 '
                f'downscaling stage), got {scale!r}.')
        self.round_reference = bool(round_reference)
        super().__init__(scale=scale)

    def reference(self, images: Tensor) -> Tensor:
        """The bicubic LR image.

        Args:
            images (Tensor): ``(N, 1, 3, H, W)`` in [0, 1].

        Returns:
            Tensor: ``(N, 3, H / scale, W / scale)``.
        """
        hr = images[:, 0]
        lr = imresize(hr.double(), 1. / self.scale)
        if self.round_reference:
            lr = quantize_8bit(lr)
        return lr.to(hr.dtype)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, '
                f'round_reference={self.round_reference})')
