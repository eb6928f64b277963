# Copyright (c) invtoolbox contributors. All rights reserved.
"""A differentiable JPEG simulator (DiffJPEG, as used by SAIN and Invertible-ISP).

The pipeline is the one of the DiffJPEG port used by the official SAIN
(``codes/models/jpeg.py``) and Invertible-ISP (``utils/JPEG.py``) code::

    x * 255 -> JFIF RGB->YCbCr (+128 on chroma) -> chroma subsampling (2x2
    average pooling for 4:2:0) -> 8x8 block DCT -> / (table * factor) ->
    rounding -> * (table * factor) -> IDCT -> chroma upsampling (nearest)
    -> YCbCr->RGB -> clamp [0, 255] -> / 255

with the same constants and the same order of floating-point operations, so
that the default module reproduces the official outputs to float32 round-off.
Unlike the official code it pads sizes that are not multiples of the MCU
(16 px for 4:2:0) by edge replication and crops the result back.
"""
import math
import numbers
from functools import partial
from typing import Callable, Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from invtoolbox.registry import DEGRADATIONS
from ._utils import check_image_tensor, check_quality

# Standard IJG (JPEG spec Annex K) tables in natural order: row = vertical
# frequency, column = horizontal frequency.
IJG_LUMA_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
IJG_CHROMA_TABLE = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
)

# JFIF colour conversion (float32 constants as in the official code).
_RGB_TO_YCBCR = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5),
                 (0.5, -0.418688, -0.081312))
_YCBCR_TO_RGB = ((1., 0., 1.402), (1., -0.344136, -0.714136), (1., 1.772, 0.))

#: chroma subsampling -> (vertical, horizontal) factor
_SUBSAMPLING = {'444': (1, 1), '422': (1, 2), '420': (2, 2)}
_SUBSAMPLING_ALIASES = {
    '4:4:4': '444',
    '4:2:2': '422',
    '4:2:0': '420',
}
ROUNDINGS = ('fourier', 'round', 'ste', 'cubic', 'dsq')


def quality_to_factor(quality: float) -> float:
    """IJG quality -> table scale factor, exactly as the official DiffJPEG.

    ``5000 / q`` for ``q < 50``, else ``200 - 2 q``; divided by 100 (float
    arithmetic, no rounding).
    """
    scale = 5000. / quality if quality < 50 else 200. - quality * 2
    return scale / 100.


def scaled_quant_tables(
        quality: int,
        clamp_tables: bool = False,
        integer_tables: bool = False,
        transposed_tables: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """The luma and chroma quantisation tables for ``quality`` (float32 8x8).

    Args:
        quality (int): IJG quality, 1..100.
        clamp_tables (bool): clamp the scaled entries to ``[1, 255]`` as
            libjpeg does for baseline JPEG (``force_baseline=TRUE``, used by
            Pillow and OpenCV). The official DiffJPEG does not clamp, which
            changes the tables for ``q <= 23`` (entries > 255) and
            ``q >= 96`` (entries < 1; ``q = 100`` gives all-zero tables).
        integer_tables (bool): build the tables with libjpeg's integer
            arithmetic (``scale = 5000 // q`` or ``200 - 2 q``;
            ``entry = (T * scale + 50) // 100``, at least 1) instead of the
            official float product ``T * factor`` (e.g. q75: 11 * 0.5 = 5.5
            in DiffJPEG, 6 in libjpeg).
        transposed_tables (bool): transpose the tables, as the original
            mlomnitz/DiffJPEG port (and Invertible-ISP, which copies it)
            does; SAIN uses the natural orientation. Only the luma table is
            not symmetric.

    Returns:
        tuple[Tensor, Tensor]: ``(luma, chroma)`` tables of shape ``(8, 8)``.
    """
    tables = []
    for base in (IJG_LUMA_TABLE, IJG_CHROMA_TABLE):
        table = torch.tensor(base, dtype=torch.float32)
        if transposed_tables:
            table = table.t().contiguous()
        if integer_tables:
            scale = 5000 // quality if quality < 50 else 200 - quality * 2
            table = torch.div(table.long() * scale + 50,
                              100,
                              rounding_mode='floor').clamp(1, 32767).float()
        else:
            # float32 table times a Python float, as the official code
            table = table * quality_to_factor(quality)
        if clamp_tables:
            table = table.clamp(1, 255)
        tables.append(table)
    return tables[0], tables[1]


# ---------------------------------------------------------------------------
# Rounding approximations
# ---------------------------------------------------------------------------
class _RoundSTE(torch.autograd.Function):
    """``round`` forward, identity backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Hard rounding with a straight-through (identity) gradient."""
    return _RoundSTE.apply(x)


def round_cubic(x: torch.Tensor) -> torch.Tensor:
    """DiffJPEG's cubic rounding ``round(x) + (x - round(x))**3``.

    The value is close to ``round(x)`` (off by at most 0.125); the gradient
    ``3 (x - round(x))**2`` vanishes at integers and is 0.75 at half-integers.
    """
    rounded = torch.round(x)
    return rounded + (x - rounded)**3


def round_fourier(x: torch.Tensor, terms: int = 9) -> torch.Tensor:
    """Fourier-series rounding of SAIN / Invertible-ISP.

    ``x - (1/pi) * sum_{n=1..N} (-1)**(n+1) * sin(2 pi n x) / n``: the
    truncated Fourier series of the saw-tooth ``x - round(x)``. With the
    default ``N = 9`` it is within 0.03 of ``round(x)`` where
    ``|x - round(x)| < 0.3`` and within 0.05 where it is < 0.4 (Gibbs
    ripples near the half-integers, where it passes through ``x``). The
    gradient ``1 - 2 sum_n (-1)**(n+1) cos(2 pi n x)`` oscillates around 0.
    """
    series = 0
    for n in range(1, terms + 1):
        series = series + math.pow(-1, n + 1) / n * torch.sin(
            2 * math.pi * n * x)
    return x - 1 / math.pi * series


def round_dsq(x: torch.Tensor, alpha: float = 0.2) -> torch.Tensor:
    """Differentiable Soft Quantization (Gong et al., ICCV 2019) to integers.

    With unit step, ``i = floor(x)`` and the interval mid-point
    ``m = i + 0.5``::

        k   = log(2 / alpha - 1)          # sharpness
        s   = 1 / (1 - alpha)             # = 1 / tanh(k / 2)
        phi = s * tanh(k * (x - m))       # in [-1, 1] on [i, i + 1]
        Q(x) = i + (phi + 1) / 2

    ``Q`` is continuous, equals ``x`` at integers and tends to ``round(x)`` as
    ``alpha -> 0`` (``alpha`` is the paper's characteristic variable; the
    paper initialises it at 0.2). The forward value is the soft one (no
    ``sign`` at training time), so it is much softer than the Fourier or
    cubic approximations: with ``alpha = 0.2``, ``i + 0.3`` maps to about
    ``i + 0.24``; the sharpness grows only like ``log(1 / alpha)``. Its
    gradient ``0.5 s k (1 - tanh**2)`` is largest at the decision
    boundaries (1.37 for ``alpha = 0.2``) and never zero.
    """
    k = math.log(2. / alpha - 1.)
    s = 1. / (1. - alpha)
    lower = torch.floor(x).detach()
    phi = s * torch.tanh(k * (x - lower - 0.5))
    return lower + (phi + 1) * 0.5


def _dct_matrix() -> torch.Tensor:
    """(64, 64) float64 matrix ``D[(x, y), (u, v)] = c(x, u) c(y, v)`` with
    ``c(x, u) = cos((2x + 1) u pi / 16)``; the IDCT matrix is its transpose."""
    idx = torch.arange(8, dtype=torch.float64)
    cos = torch.cos((2 * idx[:, None] + 1) * idx[None, :] * math.pi / 16)
    return torch.einsum('xu,yv->xyuv', cos, cos).reshape(64, 64)


def _fancy_upsample_2x(plane: torch.Tensor, dim: int) -> torch.Tensor:
    """libjpeg's "fancy" (triangle) 2x upsampling along ``dim`` of a
    ``(N, H, W)`` plane: output sample ``2i`` is ``3/4 x[i] + 1/4 x[i-1]``,
    ``2i + 1`` is ``3/4 x[i] + 1/4 x[i+1]``, edges replicated."""
    length = plane.shape[dim]
    prev = torch.cat(
        [plane.narrow(dim, 0, 1),
         plane.narrow(dim, 0, length - 1)], dim=dim)
    nxt = torch.cat(
        [plane.narrow(dim, 1, length - 1),
         plane.narrow(dim, length - 1, 1)],
        dim=dim)
    even = 0.75 * plane + 0.25 * prev
    odd = 0.75 * plane + 0.25 * nxt
    out = torch.stack([even, odd], dim=dim + 1)
    shape = list(plane.shape)
    shape[dim] *= 2
    return out.reshape(shape)


@DEGRADATIONS.register_module()
class DiffJPEG(nn.Module):
    """Differentiable JPEG simulator (no entropy coding).

    The default settings reproduce the official DiffJPEG of SAIN
    (``models/jpeg.py``, Fourier rounding) to float32 round-off; set
    ``transposed_tables=True`` for the Invertible-ISP / mlomnitz variant.
    Options closer to a real libjpeg encoder/decoder (Pillow, OpenCV) are
    ``clamp_tables``, ``integer_tables``, ``chroma_upsampling='fancy'`` and
    ``round_ycbcr`` (see ``docs/degradations.md`` for their measured
    effect); the defaults stay the official ones.

    Args:
        quality (int): JPEG quality factor, 1..100 (IJG scaling).
        rounding (str): approximation of the rounding of the DCT
            coefficients: ``'fourier'`` (SAIN / Invertible-ISP, see
            :func:`round_fourier`), ``'round'`` (hard ``torch.round``, zero
            gradient, the official ``differentiable=False``), ``'ste'``
            (hard forward, identity gradient), ``'cubic'`` (the original
            DiffJPEG's ``round(x) + (x - round(x))**3``) or ``'dsq'``
            (:func:`round_dsq`). Default: ``'fourier'``.
        subsampling (str): chroma subsampling ``'420'`` (2x2 average pooling,
            as the official code and libjpeg's default), ``'422'``
            (horizontal 2x1) or ``'444'`` (none). ``'4:2:0'`` etc. work too.
        fourier_terms (int): number of terms ``N`` of the Fourier rounding.
            Default: 9 (SAIN / Invertible-ISP).
        dsq_alpha (float): DSQ characteristic variable in ``(0, 1)``; smaller
            is closer to hard rounding. Default: 0.2.
        clamp_tables (bool): clamp the scaled table entries to ``[1, 255]``
            like libjpeg. Default ``False`` = the official DiffJPEG, which
            does not clamp; it matters only for ``q <= 23`` and ``q >= 96``.
            ``quality=100`` needs ``clamp_tables=True`` (the official tables
            are all zero there).
        integer_tables (bool): integer table scaling as libjpeg's
            ``jpeg_set_quality`` (see :func:`scaled_quant_tables`).
            Default: ``False`` (official float tables).
        transposed_tables (bool): use the transposed tables of the original
            mlomnitz/DiffJPEG port, as Invertible-ISP. Default: ``False``
            (SAIN, and the JPEG standard's orientation).
        chroma_upsampling (str): ``'nearest'`` (official) or ``'fancy'``
            (libjpeg's default triangle filter, 3/4-1/4 weights).
        round_ycbcr (bool): round the Y, Cb, Cr planes to integers before
            chroma subsampling and the DCT, as real encoders do (they code
            8-bit YCbCr); straight-through gradient. Default: ``False``
            (official: continuous YCbCr).

    The closest-to-libjpeg configuration (46-48.5 dB RGB PSNR to Pillow's
    JPEG on Kodak, against 40-43 dB for the official settings) is
    ``DiffJPEG(q, clamp_tables=True, integer_tables=True,
    chroma_upsampling='fancy', round_ycbcr=True)``.

    Shapes:
        - Input: ``(N, 3, H, W)`` float RGB in ``[0, 1]``, any ``H, W``
          (padded internally by edge replication to a multiple of the MCU:
          16x16 for 4:2:0, 8x16 for 4:2:2, 8x8 for 4:4:4, then cropped).
        - Output: ``(N, 3, H, W)``, same dtype, in ``[0, 1]``.

    Example:
        >>> jpeg = DEGRADATIONS.build(dict(type='DiffJPEG', quality=75))
        >>> y = jpeg(torch.rand(1, 3, 32, 48))
    """

    def __init__(self,
                 quality: int = 75,
                 rounding: str = 'fourier',
                 subsampling: str = '420',
                 fourier_terms: int = 9,
                 dsq_alpha: float = 0.2,
                 clamp_tables: bool = False,
                 integer_tables: bool = False,
                 transposed_tables: bool = False,
                 chroma_upsampling: str = 'nearest',
                 round_ycbcr: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.quality = check_quality(quality, name)
        if rounding not in ROUNDINGS:
            raise ValueError(
                f'{name}: unknown rounding {rounding!r}; choose one of '
                f'{", ".join(map(repr, ROUNDINGS))}.')
        subsampling = _SUBSAMPLING_ALIASES.get(str(subsampling),
                                               str(subsampling))
        if subsampling not in _SUBSAMPLING:
            raise ValueError(
                f'{name}: unknown subsampling {subsampling!r}; choose one of '
                "'420', '422', '444'.")
        if (isinstance(fourier_terms, bool)
                or not isinstance(fourier_terms, numbers.Integral)
                or fourier_terms < 1):
            raise ValueError(
                f'{name}: fourier_terms must be a positive int, got '
                f'{fourier_terms!r}; the official value is 9.')
        if (isinstance(dsq_alpha, bool)
                or not isinstance(dsq_alpha, numbers.Real)
                or not 0 < dsq_alpha < 1):
            raise ValueError(
                f'{name}: dsq_alpha must be in (0, 1), got {dsq_alpha!r}; '
                'the DSQ paper starts from 0.2.')
        if chroma_upsampling not in ('nearest', 'fancy'):
            raise ValueError(
                f'{name}: unknown chroma_upsampling {chroma_upsampling!r}; '
                "choose 'nearest' (official) or 'fancy' (libjpeg).")
        if self.quality == 100 and not (clamp_tables or integer_tables):
            raise ValueError(
                f'{name}: quality=100 gives all-zero quantisation tables with '
                'the official formula (200 - 2q = 0); pass clamp_tables=True '
                '(libjpeg clamps the entries to 1).')
        self.rounding = rounding
        self.subsampling = subsampling
        self.fourier_terms = int(fourier_terms)
        self.dsq_alpha = float(dsq_alpha)
        self.clamp_tables = bool(clamp_tables)
        self.integer_tables = bool(integer_tables)
        self.transposed_tables = bool(transposed_tables)
        self.chroma_upsampling = chroma_upsampling
        self.round_ycbcr = bool(round_ycbcr)
        self.chroma_factor = _SUBSAMPLING[subsampling]
        self.mcu = (8 * self.chroma_factor[0], 8 * self.chroma_factor[1])
        self.round_fn = self._make_rounding()

        luma, chroma = scaled_quant_tables(self.quality, clamp_tables,
                                           integer_tables, transposed_tables)
        dct = _dct_matrix()
        alpha = torch.tensor([1. / math.sqrt(2)] + [1.] * 7,
                             dtype=torch.float64)
        alpha2 = torch.outer(alpha, alpha).reshape(64)
        # The constants are float32 CPU tensors built as the official numpy
        # code does (float64 maths, stored as float32), i.e. plain attributes,
        # not buffers: they never enter a state dict, ``.half()`` cannot
        # degrade them and no float64 tensor has to live on the device (MPS
        # has none). :meth:`_constants` caches a copy per device and dtype.
        self._cpu_constants = dict(
            luma_table=luma.reshape(64),
            chroma_table=chroma.reshape(64),
            dct_matrix=dct.float(),
            idct_matrix=dct.t().contiguous().float(),
            dct_scale=(alpha2 * 0.25).float(),
            idct_alpha=alpha2.float(),
            rgb_to_ycbcr=torch.tensor(_RGB_TO_YCBCR,
                                      dtype=torch.float32).t().contiguous(),
            ycbcr_to_rgb=torch.tensor(_YCBCR_TO_RGB,
                                      dtype=torch.float32).t().contiguous(),
            ycbcr_shift=torch.tensor([0., 128., 128.], dtype=torch.float32))
        self._constant_cache: Dict[tuple, Dict[str, torch.Tensor]] = {}

    def _constants(self, device: torch.device,
                   dtype: torch.dtype) -> Dict[str, torch.Tensor]:
        """The constants on ``device`` in ``dtype`` (cached)."""
        key = (str(device), dtype)
        if key not in self._constant_cache:
            self._constant_cache[key] = {
                name: value.to(device=device, dtype=dtype)
                for name, value in self._cpu_constants.items()
            }
        return self._constant_cache[key]

    def _make_rounding(self) -> Callable[[torch.Tensor], torch.Tensor]:
        if self.rounding == 'fourier':
            return partial(round_fourier, terms=self.fourier_terms)
        if self.rounding == 'dsq':
            return partial(round_dsq, alpha=self.dsq_alpha)
        return dict(round=torch.round, ste=round_ste,
                    cubic=round_cubic)[self.rounding]

    def extra_repr(self) -> str:
        return (f'quality={self.quality}, rounding={self.rounding!r}, '
                f'subsampling={self.subsampling!r}, '
                f'clamp_tables={self.clamp_tables}, '
                f'integer_tables={self.integer_tables}, '
                f'transposed_tables={self.transposed_tables}, '
                f'chroma_upsampling={self.chroma_upsampling!r}, '
                f'round_ycbcr={self.round_ycbcr}')

    # ------------------------------------------------------------------
    def _code_plane(self, plane: torch.Tensor, table: torch.Tensor,
                    const: Dict[str, torch.Tensor]) -> torch.Tensor:
        """DCT -> quantise -> round -> dequantise -> IDCT of one ``(N, H, W)``
        plane (``H, W`` multiples of 8), values in ``[0, 255]``."""
        n, h, w = plane.shape
        coeffs = self.round_fn(self._scaled_dct(plane, table, const)) * table
        coeffs = coeffs * const['idct_alpha']
        blocks = 0.25 * torch.matmul(coeffs, const['idct_matrix']) + 128
        return blocks.reshape(n, h // 8, w // 8, 8,
                              8).permute(0, 1, 3, 2, 4).reshape(n, h, w)

    @staticmethod
    def _scaled_dct(plane: torch.Tensor, table: torch.Tensor,
                    const: Dict[str, torch.Tensor]) -> torch.Tensor:
        """8x8 block DCT of ``(N, H, W)`` divided by the table: the values
        that are rounded, ``(N, blocks, 64)`` in raster block order."""
        n, h, w = plane.shape
        blocks = plane.reshape(n, h // 8, 8, w // 8,
                               8).permute(0, 1, 3, 2, 4).reshape(n, -1, 64)
        coeffs = const['dct_scale'] * torch.matmul(blocks - 128,
                                                   const['dct_matrix'])
        return coeffs / table

    def _upsample(self, plane: torch.Tensor) -> torch.Tensor:
        fy, fx = self.chroma_factor
        if self.chroma_upsampling == 'fancy':
            if fy == 2:
                plane = _fancy_upsample_2x(plane, dim=1)
            if fx == 2:
                plane = _fancy_upsample_2x(plane, dim=2)
            return plane
        n, h, w = plane.shape
        return plane[:, :, None, :,
                     None].expand(n, h, fy, w, fx).reshape(n, h * fy, w * fx)

    def coefficients(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The quantised DCT coefficients of ``x`` before rounding.

        Returns ``{'y', 'cb', 'cr'}``, each ``(N, blocks, 8, 8)``: the 8x8
        DCT of each block divided by the scaled table, blocks in raster
        order (block ``(i, j)`` is index ``i * W / 8 + j`` of its plane),
        entry ``[u][v]`` with ``u`` the vertical frequency. Rounding them
        gives the integers a JPEG file would store (for this simulator's
        tables). ``x``: ``(N, 3, H, W)`` in [0, 1], ``H, W`` multiples of
        the MCU (no padding here).
        """
        check_image_tensor(x, type(self).__name__)
        if x.shape[2] % self.mcu[0] or x.shape[3] % self.mcu[1]:
            raise ValueError(
                f'{type(self).__name__}.coefficients: the size '
                f'{tuple(x.shape[2:])} is not a multiple of the '
                f'{self.mcu[0]}x{self.mcu[1]} MCU; crop or pad it first.')
        x = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        const = self._constants(x.device, x.dtype)
        luma, chroma = self._ycbcr_planes(x, const)
        out = {'y': self._scaled_dct(luma, const['luma_table'], const)}
        for i, name in enumerate(('cb', 'cr')):
            out[name] = self._scaled_dct(chroma[:, i], const['chroma_table'],
                                         const)
        return {k: v.reshape(v.shape[0], -1, 8, 8) for k, v in out.items()}

    def _ycbcr_planes(self, x: torch.Tensor, const: Dict[str, torch.Tensor]):
        """RGB in [0, 1] -> the luma plane ``(N, H, W)`` and the subsampled
        chroma planes ``(N, 2, H / fy, W / fx)``, in [0, 255]."""
        # RGB -> YCbCr, channel-last as the official tensordot
        ycbcr = torch.matmul((x * 255).permute(0, 2, 3, 1),
                             const['rgb_to_ycbcr']) + const['ycbcr_shift']
        if self.round_ycbcr:
            ycbcr = round_ste(ycbcr)
        fy, fx = self.chroma_factor
        chroma = ycbcr[..., 1:].permute(0, 3, 1, 2)
        if fy > 1 or fx > 1:
            chroma = F.avg_pool2d(chroma,
                                  kernel_size=(fy, fx),
                                  stride=(fy, fx),
                                  count_include_pad=False)
        return ycbcr[..., 0], chroma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """JPEG-compress and decompress ``x`` (see the class docstring)."""
        check_image_tensor(x, type(self).__name__)
        in_dtype = x.dtype
        if in_dtype in (torch.float16, torch.bfloat16):
            x = x.float()  # 8x8 DCTs and tables need float32 at least
        dtype = x.dtype
        height, width = x.shape[2:]
        pad_h = -height % self.mcu[0]
        pad_w = -width % self.mcu[1]
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode='replicate')

        const = self._constants(x.device, dtype)
        luma, chroma = self._ycbcr_planes(x, const)
        luma = self._code_plane(luma, const['luma_table'], const)
        cb = self._upsample(
            self._code_plane(chroma[:, 0], const['chroma_table'], const))
        cr = self._upsample(
            self._code_plane(chroma[:, 1], const['chroma_table'], const))

        ycbcr = torch.stack([luma, cb, cr], dim=3)
        rgb = torch.matmul(ycbcr - const['ycbcr_shift'],
                           const['ycbcr_to_rgb']).permute(0, 3, 1, 2)
        rgb = rgb.clamp(0, 255) / 255
        if pad_h or pad_w:
            rgb = rgb[:, :, :height, :width]
        return rgb.to(in_dtype)
