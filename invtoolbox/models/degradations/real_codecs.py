# Copyright (c) invtoolbox contributors. All rights reserved.
"""Real JPEG / WebP codecs (Pillow, OpenCV) with a straight-through gradient.

Each image of the batch is converted to 8-bit (``round(clamp(x, 0, 1) *
255)``, as SAIN's ``REALCOMP`` and IRN's ``Apply_jpg``), encoded to bytes in
memory, decoded, and returned as a new float tensor on the input's device and
dtype. The backward pass is the identity (straight-through), as IRN-CRM's
``Apply_jpg``. Unlike the official wrappers these never modify their input,
work on CPU and GPU tensors, and return the compressed sizes with the decoded
images (:meth:`RealCodecBase.code`) instead of keeping them on the module.
"""
import numbers
from io import BytesIO
from typing import List, NamedTuple, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from invtoolbox.registry import DEGRADATIONS
from ._utils import check_image_tensor, check_quality


def apply_codec(codec: nn.Module, x: torch.Tensor
                ) -> Tuple[torch.Tensor, Optional[List[int]]]:
    """``codec`` on ``x`` (``(N, 3, H, W)`` in [0, 1]): the decoded images
    and, for a real codec (one with :meth:`RealCodecBase.code`), the byte
    count of each file; ``None`` for a simulator without sizes."""
    if hasattr(codec, 'code'):
        out = codec.code(x)
        return out.images, list(out.num_bytes)
    return codec(x), None


_PIL_SUBSAMPLING = {'444': 0, '422': 1, '420': 2}
_SUBSAMPLING_ALIASES = {'4:4:4': '444', '4:2:2': '422', '4:2:0': '420'}


class CodecOutput(NamedTuple):
    """What a real codec returns for a batch (:meth:`RealCodecBase.code`).

    Attributes:
        images (Tensor): the decoded images ``(N, 3, H, W)``, same device and
            dtype as the input, in ``[0, 1]``; straight-through gradient.
        num_bytes (list[int]): the compressed size of each image.
    """

    images: torch.Tensor
    num_bytes: List[int]

    def bpp(self, num_pixels: Optional[int] = None) -> List[float]:
        """Bits per pixel of each image.

        Args:
            num_pixels (int, optional): the pixel count to divide by, e.g.
                the full-resolution ``H * W`` when the coded image is a
                downscaled LR (IRN/SAIN report ``bytes * 8 / (H_HR * W_HR)``).
                Default: the pixel count of the coded images themselves.

        Returns:
            list[float]: one value per image.
        """
        if num_pixels is None:
            num_pixels = int(self.images.shape[-2] * self.images.shape[-1])
        if (isinstance(num_pixels, bool) or not isinstance(num_pixels, int)
                or num_pixels <= 0):
            raise ValueError(
                f'CodecOutput.bpp(): num_pixels must be a positive int, got '
                f'{num_pixels!r}; pass e.g. H * W of the HR image.')
        return [8. * n / num_pixels for n in self.num_bytes]


class _StraightThroughCodec(torch.autograd.Function):
    """Forward: ``codec(x)`` (no autograd inside), returning the decoded
    images and an int64 tensor of byte counts; backward: identity."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, codec: 'RealCodecBase'):
        decoded, sizes = codec._run_codec(x)
        ctx.mark_non_differentiable(sizes)
        return decoded, sizes

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor, grad_sizes=None):
        return grad_output, None


class RealCodecBase(nn.Module):
    """Base class of the real-codec degradations.

    Subclasses implement :meth:`encode_decode` on one ``(H, W, 3)`` uint8 RGB
    array. The base class does the tensor <-> uint8 conversion and the
    straight-through gradient. :meth:`code` returns the decoded batch *and*
    the compressed sizes (a :class:`CodecOutput`); calling the module returns
    the decoded batch only, as every degradation does. A codec keeps no
    state between calls, so one instance may code batches from several
    threads at once.
    """

    def encode_decode(self, image: np.ndarray) -> Tuple[np.ndarray, int]:
        """Code one ``(H, W, 3)`` uint8 RGB image.

        Returns:
            tuple[np.ndarray, int]: the decoded ``(H, W, 3)`` uint8 RGB image
            and the size of the compressed bytes.
        """
        raise NotImplementedError

    def _run_codec(self, x: torch.Tensor
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        images = x.detach().clamp(0, 1).mul(255).round().to(
            device='cpu', dtype=torch.uint8).permute(0, 2, 3, 1).numpy()
        decoded, sizes = [], []
        for image in images:
            out, num_bytes = self.encode_decode(np.ascontiguousarray(image))
            decoded.append(out)
            sizes.append(int(num_bytes))
        out = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2)
        out = (out.to(dtype=x.dtype) / 255).to(x.device).contiguous()
        return out, torch.tensor(sizes, dtype=torch.int64)

    def code(self, x: torch.Tensor) -> CodecOutput:
        """Encode and decode every image of ``x``.

        Args:
            x (Tensor): ``(N, 3, H, W)`` float RGB; values are clamped to
                ``[0, 1]`` and rounded to 8 bits before coding.

        Returns:
            CodecOutput: the decoded images (identity gradient) and the
            compressed size of each image.
        """
        name = type(self).__name__
        check_image_tensor(x, name)
        if not bool(torch.isfinite(x).all()):
            raise ValueError(
                f'{name}: the input contains NaN or Inf values; fix the '
                'network output (or torch.nan_to_num it) before coding.')
        decoded, sizes = _StraightThroughCodec.apply(x, self)
        return CodecOutput(decoded, [int(s) for s in sizes.tolist()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode and decode every image of ``x``; identity gradient. Use
        :meth:`code` to get the compressed sizes as well."""
        return self.code(x).images


def _check_subsampling(subsampling, name: str) -> str:
    key = _SUBSAMPLING_ALIASES.get(str(subsampling), str(subsampling))
    if key not in _PIL_SUBSAMPLING:
        raise ValueError(
            f'{name}: unknown subsampling {subsampling!r}; choose one of '
            "'420' (libjpeg default), '422', '444'.")
    return key


@DEGRADATIONS.register_module()
class RealJPEG(RealCodecBase):
    """Real baseline JPEG (libjpeg via Pillow or OpenCV), straight-through.

    With Pillow this is SAIN's ``REALCOMP('JPEG', q)`` (whose default chroma
    subsampling is 4:2:0); with OpenCV it is IRN-CRM's ``Apply_jpg``. On this
    project's reference set-up (Pillow 13 and OpenCV both built on
    libjpeg-turbo) both backends give byte-identical files, see
    ``tests/models/degradations/test_real_codecs.py``.

    Args:
        quality (int): JPEG quality, 1..100 (IJG scaling, baseline tables).
        backend (str): ``'pillow'`` (default) or ``'opencv'``.
        subsampling (str): chroma subsampling ``'420'`` (default), ``'422'``
            or ``'444'`` (``'4:2:0'`` etc. work too).

    Shapes:
        - Input: ``(N, 3, H, W)`` float RGB; values are clamped to ``[0, 1]``
          and rounded to 8 bits before coding. CPU or GPU.
        - Output: ``(N, 3, H, W)``, same device and dtype, in ``[0, 1]``
          (multiples of 1/255). The gradient is the identity.

    ``codec.code(x)`` also returns the JPEG file size of each image (a
    :class:`CodecOutput`).
    """

    BACKENDS = ('pillow', 'opencv')

    def __init__(self,
                 quality: int = 75,
                 backend: str = 'pillow',
                 subsampling: str = '420') -> None:
        super().__init__()
        name = type(self).__name__
        self.quality = check_quality(quality, name)
        if backend not in self.BACKENDS:
            raise ValueError(
                f'{name}: unknown backend {backend!r}; choose one of '
                "'pillow', 'opencv'.")
        self.backend = backend
        self.subsampling = _check_subsampling(subsampling, name)

    def extra_repr(self) -> str:
        return (f'quality={self.quality}, backend={self.backend!r}, '
                f'subsampling={self.subsampling!r}')

    def encode(self, image: np.ndarray) -> bytes:
        """Encode one ``(H, W, 3)`` uint8 RGB array to JPEG bytes."""
        if self.backend == 'pillow':
            from PIL import Image
            with BytesIO() as buffer:
                Image.fromarray(image, mode='RGB').save(
                    buffer,
                    format='JPEG',
                    quality=self.quality,
                    subsampling=_PIL_SUBSAMPLING[self.subsampling])
                return buffer.getvalue()
        import cv2
        factors = {
            '420': cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
            '422': cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
            '444': cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
        }
        ok, data = cv2.imencode('.jpg', image[:, :, ::-1], [
            cv2.IMWRITE_JPEG_QUALITY, self.quality,
            cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factors[self.subsampling]
        ])
        if not ok:
            raise RuntimeError(f'cv2.imencode failed on a {image.shape} image')
        return data.tobytes()

    def decode(self, data: bytes) -> np.ndarray:
        """Decode JPEG bytes to a ``(H, W, 3)`` uint8 RGB array."""
        if self.backend == 'pillow':
            from PIL import Image
            with BytesIO(data) as buffer:
                with Image.open(buffer) as img:
                    return np.asarray(img.convert('RGB'))
        import cv2
        bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8),
                           cv2.IMREAD_COLOR)
        return np.ascontiguousarray(bgr[:, :, ::-1])

    def encode_decode(self, image: np.ndarray) -> Tuple[np.ndarray, int]:
        data = self.encode(image)
        return self.decode(data), len(data)


@DEGRADATIONS.register_module()
class RealWebP(RealCodecBase):
    """Real lossy WebP (libwebp via Pillow), straight-through gradient.

    SAIN's ``REALCOMP('WebP', q)``. WebP encoding is 20-100x slower than
    JPEG: prefer it for evaluation and small training batches.

    Args:
        quality (int): WebP quality, 1..100.
        method (int): libwebp speed/quality trade-off, 0 (fast) .. 6 (slow,
            better). Default: 4 (Pillow's and cwebp's default).

    Shapes:
        - Input: ``(N, 3, H, W)`` float RGB; values are clamped to ``[0, 1]``
          and rounded to 8 bits before coding. CPU or GPU.
        - Output: ``(N, 3, H, W)``, same device and dtype, in ``[0, 1]``.
          The gradient is the identity.

    ``codec.code(x)`` also returns the WebP file size of each image (a
    :class:`CodecOutput`).
    """

    def __init__(self, quality: int = 75, method: int = 4) -> None:
        super().__init__()
        name = type(self).__name__
        self.quality = check_quality(quality, name)
        if (isinstance(method, bool)
                or not isinstance(method, numbers.Integral)
                or not 0 <= method <= 6):
            raise ValueError(
                f'{name}: method must be an int in 0..6, got {method!r}; '
                'the default is 4.')
        self.method = int(method)

    def extra_repr(self) -> str:
        return f'quality={self.quality}, method={self.method}'

    def encode(self, image: np.ndarray) -> bytes:
        """Encode one ``(H, W, 3)`` uint8 RGB array to WebP bytes."""
        from PIL import Image
        with BytesIO() as buffer:
            Image.fromarray(image, mode='RGB').save(buffer,
                                                    format='WEBP',
                                                    quality=self.quality,
                                                    method=self.method)
            return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        """Decode WebP bytes to a ``(H, W, 3)`` uint8 RGB array."""
        from PIL import Image
        with BytesIO(data) as buffer:
            with Image.open(buffer) as img:
                return np.asarray(img.convert('RGB'))

    def encode_decode(self, image: np.ndarray) -> Tuple[np.ndarray, int]:
        data = self.encode(image)
        return self.decode(data), len(data)
