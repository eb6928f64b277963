# Copyright (c) invtoolbox contributors. All rights reserved.
"""Running a local image operation on a large image in overlapping tiles.

A network made of convolutions (IRN, SAIN, IICNet, Invertible-ISP) computes
each output pixel from a bounded window of input pixels, its *receptive
field*. Cut the image into tiles, widen every tile by a *halo* at least as
wide as that field's radius (clipped at the image border, where the whole
image is zero-padded the same way), run the network on each widened tile
and keep only the tile's own part of the output: every output pixel then
sees exactly the input it sees in one pass over the whole image, so the
tiled 8-bit output equals the untiled one (see ``docs/inference.md`` for
what was measured). Only one tile's activations are alive at a time, so
memory no longer grows with the image.

- :func:`receptive_radius` measures the radius by propagating NaN: a NaN
  input column turns every output that depends on it into NaN (``0 * NaN``
  is NaN, so no weight can hide a dependency, and rounding cannot either).
  An operation whose every output depends on every input (a global
  operation) is reported as ``None``: it cannot be tiled exactly.
- :func:`measure_tile_cost` measures the memory one tile needs (the peak
  resident memory of a run, Linux ``/proc``), so :func:`choose_tile_size`
  can pick the largest tile that fits a budget such as ``--max-memory 2G``.
- :func:`run_tiled` runs the operation tile by tile into an 8-bit (or
  16-bit) output array, with a progress bar over the tiles.
"""
from __future__ import annotations

import ctypes
import math
import re
import sys
from fractions import Fraction
from typing import Callable, List, NamedTuple, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from ..errors import InvToolboxError

__all__ = [
    'TileOp', 'Tile', 'TilingError', 'receptive_radius', 'plan_tiles',
    'run_tiled', 'parse_memory', 'format_bytes', 'measure_tile_cost',
    'choose_tile_size', 'peak_rss', 'reset_peak_rss', 'return_freed_memory'
]

#: the widest strip :func:`receptive_radius` tries before calling an
#: operation global (input pixels)
MAX_PROBE_WIDTH = 8192


class TilingError(InvToolboxError, ValueError):
    """An image cannot be processed in tiles as asked (one-line message)."""


class TileOp(NamedTuple):
    """A local operation on ``(1, C, h, w)`` images, as the tiler sees it.

    ``fn(region, side)`` maps a float input region ``(1, in_channels, h,
    w)`` (values in ``[0, 1]``) to ``(1, C', h * scale, w * scale)`` (not
    clamped). ``side`` is the matching region of ``side_input`` (a per-pixel
    tensor ``(1, c, H * side_scale, W * side_scale)`` such as IRN's latent,
    drawn once for the whole image so that tiling changes no value) or None.
    """

    fn: Callable[[Tensor, Optional[Tensor]], Tensor]
    in_channels: int
    #: output pixels per input pixel (2 for upscaling x2, 1/2 for
    #: downscaling x2)
    scale: Fraction
    #: region offsets and sizes are multiples of this (input pixels): the
    #: downsampling grid of the network (IRN x4: 4)
    multiple: int = 1
    side_input: Optional[Tensor] = None
    #: the side input's pixels per input pixel
    side_scale: Fraction = Fraction(1)
    name: str = 'operation'


class Tile(NamedTuple):
    """One tile: its own box ``core`` and the widened box ``region`` it is
    computed from, both ``(top, left, bottom, right)`` in input pixels."""

    core: Tuple[int, int, int, int]
    region: Tuple[int, int, int, int]


# ---------------------------------------------------------------------------
# receptive field
# ---------------------------------------------------------------------------
def _scaled(value: int, scale: Fraction) -> int:
    out = value * scale
    if out.denominator != 1:
        raise TilingError(f'{value} pixels times the scale {scale} is not a '
                          'whole number of pixels.')
    return int(out)


def _side_for(op: TileOp, shape: Tuple[int, int]) -> Optional[Tensor]:
    """A random side input for a probe of ``shape`` (input pixels)."""
    if op.side_input is None:
        return None
    h, w = (_scaled(v, op.side_scale) for v in shape)
    return torch.randn((1, op.side_input.shape[1], h, w),
                       dtype=op.side_input.dtype)


def _nan_extent(op: TileOp, length: int, axis: int,
                device: torch.device) -> Optional[Tuple[int, int]]:
    """Output span (along ``axis``, in input pixels) that a NaN band in the
    middle of a strip ``length`` long reaches, or None when it reaches both
    ends."""
    thin = op.multiple
    shape = (thin, length) if axis == 1 else (length, thin)
    x = torch.rand((1, op.in_channels) + shape)
    mid = (length // 2 // op.multiple) * op.multiple
    index = [slice(None)] * 4
    index[2 + axis] = slice(mid, mid + op.multiple)
    x[tuple(index)] = float('nan')
    side = _side_for(op, shape)
    with torch.no_grad():
        y = op.fn(x.to(device), None if side is None else side.to(device))
    other = tuple(d for d in range(y.dim()) if d != 2 + axis)
    hit = torch.isnan(y).any(dim=other).nonzero().flatten().cpu()
    if hit.numel() == 0:
        raise TilingError(f'{op.name}: a NaN input changes no output; the '
                          'operation does not read its input as expected.')
    out_len = y.shape[2 + axis]
    if hit.min() == 0 and hit.max() == out_len - 1:
        return None
    first = math.floor(Fraction(int(hit.min())) / op.scale)
    last = math.ceil(Fraction(int(hit.max()) + 1) / op.scale)
    return mid - first, last - (mid + op.multiple)


def receptive_radius(op: TileOp,
                     device: torch.device = torch.device('cpu'),
                     max_width: int = MAX_PROBE_WIDTH) -> Optional[int]:
    """How many input pixels on each side of a pixel can change its output
    (the larger of the horizontal and vertical radius), rounded up to
    ``op.multiple``; None when the operation is global (every output
    depends on every input of a ``max_width`` strip).

    Measured, not declared: NaN put in a band of input columns (rows)
    spreads to exactly the outputs that depend on it. Strips ``op.multiple``
    pixels thin and 256, 512, ... pixels long keep the probe cheap.
    """
    radius = 0
    for axis in (1, 0):
        length = 256
        while True:
            length = max(op.multiple * 8,
                         (length // op.multiple) * op.multiple)
            extent = _nan_extent(op, length, axis, device)
            if extent is not None and max(extent) < length // 2 - 2 * \
                    op.multiple:
                radius = max(radius, *extent)
                break
            if length >= max_width:
                return None
            length *= 2
    return int(math.ceil(radius / op.multiple) * op.multiple)


# ---------------------------------------------------------------------------
# tiles
# ---------------------------------------------------------------------------
def _regions(size: int, tile: int, halo: int) -> List[Tuple[int, int,
                                                            int, int]]:
    """``(core_start, core_stop, region_start, region_stop)`` along one
    axis. Every region has the same length, ``min(size, tile + 2 halo)``:
    regions at the image border shift inward instead of shrinking, so all
    tiles have one shape (the backends prepare a convolution once per
    shape) and each still covers its core plus the halo, or reaches the
    border."""
    length = min(size, tile + 2 * halo)
    out = []
    for start in range(0, size, tile):
        stop = min(start + tile, size)
        first = min(max(start - halo, 0), size - length)
        out.append((start, stop, first, first + length))
    return out


def plan_tiles(height: int, width: int, tile: int, halo: int,
               multiple: int = 1) -> List[Tile]:
    """Cut an ``height x width`` image (input pixels) into tiles of at most
    ``tile x tile``, each computed from a region that extends it by at
    least ``halo`` on every side that is not the image border.

    ``tile`` and ``halo`` are rounded up to ``multiple`` so that every box
    starts on the network's downsampling grid; ``height`` and ``width``
    must be multiples of it.
    """
    if tile < 1:
        raise TilingError(f'the tile size must be positive, got {tile}.')
    tile = int(math.ceil(tile / multiple) * multiple)
    halo = int(math.ceil(max(halo, 0) / multiple) * multiple)
    tiles = []
    for top, bottom, r_top, r_bottom in _regions(height, tile, halo):
        for left, right, r_left, r_right in _regions(width, tile, halo):
            tiles.append(Tile((top, left, bottom, right),
                              (r_top, r_left, r_bottom, r_right)))
    return tiles


def _to_tensor(array: np.ndarray, box, device) -> Tensor:
    """``array[box]`` ``(h, w, C)`` uint8/uint16 -> ``(1, C, h, w)`` float in
    ``[0, 1]``."""
    top, left, bottom, right = box
    part = array[top:bottom, left:right]
    peak = 65535.0 if part.dtype == np.uint16 else 255.0
    x = torch.from_numpy(np.ascontiguousarray(part.transpose(2, 0, 1)))
    return (x.to(device=device, dtype=torch.float32) / peak)[None]


def _quantize(y: Tensor, dtype) -> np.ndarray:
    """``(C, h, w)`` float -> ``(h, w, C)`` integers, clamped to ``[0, 1]``
    and rounded half to even (as :func:`invtoolbox.utils.tensor2img`)."""
    peak = 65535.0 if dtype == np.uint16 else 255.0
    out = (y.clamp(0, 1) * peak).round().to(torch.int32).cpu().numpy()
    return out.transpose(1, 2, 0).astype(dtype)


def _progress(total: int, enabled: bool):
    if not enabled or total <= 1:
        return None
    from mmengine.utils import ProgressBar
    return ProgressBar(total, file=sys.stderr)


def run_tiled(op: TileOp,
              image: np.ndarray,
              tile: Optional[int] = None,
              halo: Optional[int] = None,
              device: torch.device = torch.device('cpu'),
              progress: bool = True,
              out_dtype=np.uint8) -> np.ndarray:
    """Run ``op`` on ``image`` (``(H, W, C)`` uint8 / uint16) tile by tile.

    Args:
        op (TileOp): the operation.
        image (np.ndarray): the input; height and width multiples of
            ``op.multiple``.
        tile (int, optional): tile size in input pixels; None processes the
            whole image at once (one tile, no halo).
        halo (int, optional): the halo in input pixels; None measures it
            with :func:`receptive_radius`.
        device: where the operation runs.
        progress (bool): show a progress bar when there are several tiles.
        out_dtype: ``np.uint8`` or ``np.uint16``: the output is quantised
            per tile.

    Returns:
        np.ndarray: ``(H * scale, W * scale, C')`` of ``out_dtype``.
    """
    if image.ndim != 3 or image.shape[2] != op.in_channels:
        raise TilingError(f'{op.name}: expected an (H, W, {op.in_channels}) '
                          f'image, got shape {image.shape}.')
    height, width = image.shape[:2]
    if height % op.multiple or width % op.multiple:
        raise TilingError(f'{op.name}: the image is {width}x{height}, not a '
                          f'multiple of {op.multiple}.')
    if tile is None or tile >= max(height, width):
        tiles = [Tile((0, 0, height, width), (0, 0, height, width))]
    else:
        if halo is None:
            halo = receptive_radius(op, device)
            if halo is None:
                raise TilingError(
                    f'{op.name} is not local (every output depends on the '
                    'whole input), so tiles would change the result; run '
                    'it without --tile / --max-memory.')
        tiles = plan_tiles(height, width, tile, halo, op.multiple)
    out = None
    bar = _progress(len(tiles), progress)
    for t in tiles:
        x = _to_tensor(image, t.region, device)
        side = None
        if op.side_input is not None:
            top, left, bottom, right = (_scaled(v, op.side_scale)
                                        for v in t.region)
            side = op.side_input[..., top:bottom, left:right].to(device)
        with torch.no_grad():
            y = op.fn(x, side)
        del x, side
        rt, rl = (_scaled(v, op.scale) for v in t.region[:2])
        ct, cl, cb, cr = (_scaled(v, op.scale) for v in t.core)
        part = y[0, :, ct - rt:cb - rt, cl - rl:cr - rl]
        del y
        if out is None:
            out = np.empty((_scaled(height, op.scale),
                            _scaled(width, op.scale), part.shape[0]),
                           dtype=out_dtype)
        out[ct:cb, cl:cr] = _quantize(part, out_dtype)
        del part
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    return out


# ---------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------
_UNITS = {'': 1, 'B': 1, 'K': 2**10, 'M': 2**20, 'G': 2**30, 'T': 2**40}


def parse_memory(text: str) -> int:
    """``'2G'``, ``'1500M'``, ``'2.5GiB'``, ``'800MB'`` -> bytes (binary
    units)."""
    match = re.fullmatch(r'\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?B)?\s*',
                         str(text), flags=re.IGNORECASE)
    if not match:
        raise TilingError(f'cannot read the memory size {text!r}; write it '
                          'as 2G, 1500M or 2.5GiB.')
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if value <= 0:
        raise TilingError(f'the memory size must be positive, got {text!r}.')
    return int(value)


def format_bytes(num: float) -> str:
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if abs(num) < 1024 or unit == 'GiB':
            return f'{num:.0f} {unit}' if unit == 'B' else \
                f'{num:.1f} {unit}'
        num /= 1024
    return f'{num:.1f} GiB'  # pragma: no cover


def _status_bytes(key: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss() -> Optional[int]:
    """The process's peak resident memory since the last
    :func:`reset_peak_rss` (bytes; Linux), else None."""
    return _status_bytes('VmHWM')


def current_rss() -> Optional[int]:
    return _status_bytes('VmRSS')


def reset_peak_rss() -> bool:
    """Reset the peak resident memory to the current one (Linux >= 4.0);
    False where that is not possible."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def return_freed_memory(threshold: int = 1 << 20) -> bool:
    """Make glibc give buffers of ``threshold`` bytes and more back to the
    system when they are freed (a fixed ``M_MMAP_THRESHOLD``), instead of
    keeping them for reuse. Tile after tile then reuses no stale memory, so
    the process's peak is the peak of one tile and measurable. False where
    glibc is not the allocator."""
    try:
        libc = ctypes.CDLL('libc.so.6')
        ok = libc.mallopt(-3, int(threshold))  # M_MMAP_THRESHOLD
        libc.mallopt(-1, int(threshold))  # M_TRIM_THRESHOLD
        libc.malloc_trim(0)  # and give back what is already free
        return bool(ok)
    except (OSError, AttributeError):
        return False


#: bytes per input pixel assumed when the cost cannot be measured (no
#: Linux /proc); several times what IRN / SAIN / IICNet need
FALLBACK_BYTES_PER_PIXEL = 4096


class TileCost(NamedTuple):
    """Memory of one tile: ``fixed + per_pixel * region pixels`` (bytes)."""

    fixed: float
    per_pixel: float
    measured: bool


def measure_tile_cost(op: TileOp,
                      device: torch.device = torch.device('cpu'),
                      size: int = 256) -> TileCost:
    """Measure the memory a region of ``size x size`` pixels needs (input
    pixels, or output pixels when the operation enlarges; after a small
    warm-up run): its peak resident memory per pixel, so an
    upper bound for larger regions (what does not grow with the region is
    counted per pixel too). Linux, CPU; elsewhere
    :data:`FALLBACK_BYTES_PER_PIXEL`.
    """
    return_freed_memory()
    if device.type != 'cpu' or not reset_peak_rss() or peak_rss() is None:
        return TileCost(0.0, float(FALLBACK_BYTES_PER_PIXEL), False)
    # the larger of input and output about size x size pixels
    size = max(int(size / max(float(op.scale), 1.0)), 16)
    size = int(math.ceil(size / op.multiple) * op.multiple)

    def run(side: int) -> int:
        x = torch.rand((1, op.in_channels, side, side))
        extra = _side_for(op, (side, side))
        return_freed_memory()
        base = current_rss() or 0
        reset_peak_rss()
        with torch.no_grad():
            y = op.fn(x, extra)
        del y
        return max((peak_rss() or 0) - base, 0)

    run(max(op.multiple * 4, 16))  # warm-up: one-time buffers
    return TileCost(0.0, max(run(size) / size**2, 1.0), True)


def choose_tile_size(height: int, width: int, halo: int, cost: TileCost,
                     budget: int, multiple: int = 1) -> Optional[int]:
    """The largest tile (input pixels, a multiple of ``multiple``) whose
    widened region costs at most ``budget`` bytes; None when the whole
    image fits at once (no tiling needed). Raises :class:`TilingError` when
    not even a tile of ``max(halo, 32)`` fits."""
    whole = cost.fixed + cost.per_pixel * height * width
    if whole <= budget:
        return None
    room = (budget - cost.fixed) / cost.per_pixel
    side = math.isqrt(int(max(room, 0))) - 2 * halo
    side = (side // multiple) * multiple
    smallest = max(-(-max(halo, 32) // multiple) * multiple, multiple)
    if side < smallest:
        need = cost.fixed + cost.per_pixel * (smallest + 2 * halo)**2
        raise TilingError(
            f'the memory budget leaves {format_bytes(max(budget, 0))} for '
            f'the network, but its smallest useful tile ({smallest} pixels '
            f'plus a halo of {halo}) needs about {format_bytes(need)}; '
            'raise --max-memory.')
    return int(side)
