# Copyright (c) invtoolbox contributors. All rights reserved.
"""Integer CDF tables from probability mass functions, exactly as CompressAI
1.1.1 builds them (``pmf_to_quantized_cdf`` in ``cpp_exts/ops/ops.cpp``).

A table row codes the symbols ``0 .. n-1``: the ``n - 1`` in-range values
of an entropy model and, last, the escape symbol that carries the tail mass.
Its CDF has ``n + 1`` entries, starts at 0, ends at ``2**precision`` and is
strictly increasing, so every symbol keeps a frequency of at least 1.

The C++ steps, reproduced bit for bit:

1. ``freq = round(p * 2**precision)``: the pmf is float32, the product is a
   float32 product (exact: a power of two) and ``std::round`` rounds half
   away from zero;
2. ``freq = floor(2**precision * freq / sum(freq))`` in integers;
3. ``cdf = [0, cumsum(freq)]`` and the last entry is set to
   ``2**precision`` (the last symbol takes the slack of the floors);
4. every zero frequency, from the first symbol to the last, steals one unit
   from the symbol with the smallest frequency above 1 (the first such
   symbol on ties).

Step 4 is a loop in C++; here it is vectorised. A steal only lowers the
frequency of the symbol it takes from and raises a zero to 1, so the zeros
never change which symbol is stolen from next: the thief order does not
matter, and the symbols are drained in ``(frequency, position)`` order, each
down to 1 before the next one is touched (once stolen from, a symbol is
strictly the smallest above 1). The ``k``-th steal therefore comes from the
symbol where the running sum of ``frequency - 1`` in that order passes
``k``.
"""
from typing import Tuple

import numpy as np

__all__ = ['pmf_to_quantized_cdf', 'pmfs_to_quantized_cdfs']


def _as_numpy(array, name: str, dtype) -> np.ndarray:
    if hasattr(array, 'detach'):  # a torch tensor
        array = array.detach().cpu().numpy()
    try:
        return np.asarray(array, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{name} must be an array of numbers, got '
                         f'{type(array).__name__}: {err}') from None


def pmfs_to_quantized_cdfs(
        pmf_matrix,
        pmf_lengths,
        tail_masses,
        precision: int = 16) -> Tuple[np.ndarray, np.ndarray]:
    """Quantised CDFs of ``K`` pmfs at once (CompressAI's ``_pmf_to_cdf``).

    Args:
        pmf_matrix: ``(K, L)`` probabilities (torch or numpy; computed in
            float32 as the C++ code receives them). Row ``k`` uses its first
            ``pmf_lengths[k]`` entries; the rest is ignored.
        pmf_lengths: ``(K,)`` integers in ``[1, L]``.
        tail_masses: ``(K,)`` or ``(K, 1)`` probability of the escape symbol
            appended to each row.
        precision (int): bits of the CDF (CompressAI: 16).

    Returns:
        tuple: ``cdf`` int32 ``(K, L + 2)`` (row ``k`` holds
        ``pmf_lengths[k] + 2`` entries, zero-padded) and ``cdf_lengths``
        int32 ``(K,)`` = ``pmf_lengths + 2``.
    """
    pmf = _as_numpy(pmf_matrix, 'pmf_matrix', np.float32)
    lengths = _as_numpy(pmf_lengths, 'pmf_lengths', np.int64).reshape(-1)
    tails = _as_numpy(tail_masses, 'tail_masses', np.float32).reshape(-1)
    if pmf.ndim != 2:
        raise ValueError(f'pmf_matrix must be 2-D (K, L), got shape '
                         f'{pmf.shape}; stack one pmf per row')
    num_rows, width = pmf.shape
    if lengths.shape != (num_rows, ) or tails.shape != (num_rows, ):
        raise ValueError(
            f'pmf_lengths {lengths.shape} and tail_masses {tails.shape} '
            f'must hold one value per pmf row ({num_rows})')
    if num_rows and (lengths.min() < 1 or lengths.max() > width):
        raise ValueError(f'pmf_lengths must lie in [1, {width}] (the pmf '
                         f'width), got [{lengths.min()}, {lengths.max()}]')
    if not 1 <= int(precision) <= 24:
        raise ValueError(f'precision must be in [1, 24] bits, got '
                         f'{precision}')
    scale = 1 << int(precision)

    # probabilities of the n_k = length + 1 symbols (escape last), float32
    num_symbols = lengths + 1
    column = np.arange(width + 1)
    probs = np.zeros((num_rows, width + 1), dtype=np.float32)
    probs[:, :width] = pmf
    probs[np.arange(num_rows), lengths] = tails
    valid = column[None, :] < num_symbols[:, None]
    probs = np.where(valid, probs, np.float32(0))
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise ValueError('pmf_matrix and tail_masses must be finite and '
                         'non-negative; check the entropy model parameters')

    # 1. std::round(p * 2**precision): an exact float32 product, rounded
    # half away from zero (exact in float64 for these magnitudes)
    scaled = probs.astype(np.float64) * scale
    freq = np.floor(scaled + 0.5).astype(np.int64)
    # 2. integer renormalisation to the total
    total = freq.sum(axis=1, keepdims=True)
    if (total == 0).any():
        raise ValueError('a pmf rounds to all-zero frequencies at precision '
                         f'{precision}; its probabilities are too small')
    freq = (scale * freq) // total
    # 3. the last symbol takes what the floors left
    cdf = np.cumsum(freq, axis=1)
    last = num_symbols - 1
    freq[np.arange(num_rows), last] += scale - cdf[np.arange(num_rows), last]
    freq = np.where(valid, freq, 0)
    # 4. every zero steals one unit, smallest frequency above 1 first
    zeros = valid & (freq == 0)
    num_zeros = zeros.sum(axis=1)
    if num_zeros.any():
        donor = valid & (freq > 1)
        capacity = np.where(donor, freq - 1, 0)
        if (capacity.sum(axis=1) < num_zeros).any():
            raise ValueError(f'a pmf has more symbols than 2**{precision} '
                             'can give a frequency of 1; raise precision')
        key = np.where(donor, freq, np.iinfo(np.int64).max)
        order = np.argsort(key, axis=1, kind='stable')
        capacity_sorted = np.take_along_axis(capacity, order, axis=1)
        before = np.cumsum(capacity_sorted, axis=1) - capacity_sorted
        taken = np.clip(num_zeros[:, None] - before, 0, capacity_sorted)
        stolen = np.zeros_like(freq)
        np.put_along_axis(stolen, order, taken, axis=1)
        freq = freq - stolen + zeros
    out = np.zeros((num_rows, width + 2), dtype=np.int64)
    out[:, 1:] = np.cumsum(freq, axis=1)
    out[np.arange(width + 2)[None, :] > num_symbols[:, None]] = 0
    return out.astype(np.int32), (lengths + 2).astype(np.int32)


def pmf_to_quantized_cdf(pmf, tail_mass, precision: int = 16) -> np.ndarray:
    """Quantised CDF of one pmf plus its tail mass (the escape symbol).

    Args:
        pmf: ``(n,)`` in-range probabilities (float32 arithmetic).
        tail_mass (float): probability of the escape symbol.
        precision (int): bits of the CDF.

    Returns:
        np.ndarray: int32 ``(n + 2,)``, from 0 to ``2**precision``.
    """
    pmf = _as_numpy(pmf, 'pmf', np.float32).reshape(1, -1)
    tail = _as_numpy(tail_mass, 'tail_mass', np.float32).reshape(1)
    cdf, _ = pmfs_to_quantized_cdfs(pmf, [pmf.shape[1]], tail, precision)
    return cdf[0]
