# Copyright (c) invtoolbox contributors. All rights reserved.
"""The vectorised CDF quantisation against a line-by-line port of
CompressAI's ``pmf_to_quantized_cdf`` (ops.cpp)."""
import numpy as np
import pytest
import torch

from invtoolbox.models.entropy_models import (pmf_to_quantized_cdf,
                                              pmfs_to_quantized_cdfs)


def ops_cpp_port(probs, precision=16):
    """ops.cpp, statement by statement (float32 products, std::round half
    away from zero, integer renormalisation, the steal loop)."""
    scale = 1 << precision
    cdf = [0]
    for p in np.asarray(probs, dtype=np.float32):
        product = np.float32(p) * np.float32(scale)
        cdf.append(
            int(
                np.sign(product) *
                np.floor(np.abs(np.float64(product)) + 0.5)))
    total = sum(cdf)
    cdf = [(scale * c) // total for c in cdf]
    for i in range(1, len(cdf)):
        cdf[i] += cdf[i - 1]
    cdf[-1] = scale
    for i in range(len(cdf) - 1):
        if cdf[i] == cdf[i + 1]:
            best_freq, best_steal = 2**32 - 1, -1
            for j in range(len(cdf) - 1):
                freq = cdf[j + 1] - cdf[j]
                if 1 < freq < best_freq:
                    best_freq, best_steal = freq, j
            assert best_steal != -1
            if best_steal < i:
                for j in range(best_steal + 1, i + 1):
                    cdf[j] -= 1
            else:
                for j in range(i + 1, best_steal + 1):
                    cdf[j] += 1
    return np.array(cdf)


def random_pmfs(seed, rows=120, width=300):
    """Peaked, Gaussian-like and sparse pmfs with many zero frequencies
    and ties, of random lengths and tail masses."""
    rng = np.random.default_rng(seed)
    pmf = np.zeros((rows, width), dtype=np.float32)
    lengths = rng.integers(1, width + 1, size=rows)
    tails = rng.choice([0.0, 1e-9, 1e-4, 0.02], size=rows).astype(np.float32)
    for k, n in enumerate(lengths):
        kind = k % 4
        if kind == 0:
            p = rng.random(n)**8
        elif kind == 1:
            x = np.arange(n) - n / 2
            p = np.exp(-x**2 / (2 * (n / 12 + 0.3)**2))
        elif kind == 2:
            p = rng.random(n)
            p[rng.random(n) < 0.6] = 1e-9
        else:  # many equal frequencies (ties in the steal order)
            p = np.full(n, 3.0)
            p[::3] = 1e-12
        pmf[k, :n] = p / p.sum() * (1 - tails[k])
    return pmf, lengths, tails


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_matches_the_cpp_loop(seed):
    pmf, lengths, tails = random_pmfs(seed)
    cdf, cdf_lengths = pmfs_to_quantized_cdfs(pmf, lengths, tails)
    assert cdf.dtype == np.int32 and cdf.shape == (len(pmf), pmf.shape[1] + 2)
    np.testing.assert_array_equal(cdf_lengths, lengths + 2)
    for k, n in enumerate(lengths):
        expected = ops_cpp_port(np.append(pmf[k, :n], tails[k]))
        np.testing.assert_array_equal(cdf[k, :n + 2], expected)
        assert not cdf[k, n + 2:].any()


def test_rows_are_valid_cdfs():
    pmf, lengths, tails = random_pmfs(3)
    cdf, cdf_lengths = pmfs_to_quantized_cdfs(pmf,
                                              lengths,
                                              tails,
                                              precision=12)
    for row, n in zip(cdf, cdf_lengths):
        assert row[0] == 0 and row[n - 1] == 2**12
        assert (np.diff(row[:n]) > 0).all()


def test_single_pmf_and_torch_input():
    pmf = torch.tensor([0.5, 0.25, 0.1, 1e-7, 0.15 - 1e-7])
    cdf = pmf_to_quantized_cdf(pmf, torch.tensor(1e-9))
    np.testing.assert_array_equal(
        cdf, ops_cpp_port(np.append(pmf.numpy(), np.float32(1e-9))))
    assert cdf[-1] == 2**16 and len(cdf) == 7


def test_rounding_is_half_away_from_zero():
    # 1.5 / 2**16 and 2.5 / 2**16: std::round gives 2 and 3 (numpy's
    # round-half-even would give 2 and 2)
    scale = 2.0**16
    probs = np.array([1.5 / scale, 2.5 / scale], dtype=np.float32)
    rest = np.float32(1 - 5 / scale)  # 65531: the total stays 2**16
    cdf = pmf_to_quantized_cdf(probs, rest)
    np.testing.assert_array_equal(cdf[:3], [0, 2, 5])


def test_bad_input():
    with pytest.raises(ValueError, match='2-D'):
        pmfs_to_quantized_cdfs(np.ones(3), [3], [0.0])
    with pytest.raises(ValueError, match='one value per pmf row'):
        pmfs_to_quantized_cdfs(np.ones((2, 3)), [3], [0.0, 0.0])
    with pytest.raises(ValueError, match=r'pmf_lengths must lie in \[1, 3\]'):
        pmfs_to_quantized_cdfs(np.ones((1, 3)), [4], [0.0])
    with pytest.raises(ValueError, match='finite and non-negative'):
        pmfs_to_quantized_cdfs(np.array([[0.5, np.nan]]), [2], [0.0])
    with pytest.raises(ValueError, match='all-zero'):
        pmfs_to_quantized_cdfs(np.zeros((1, 2)), [2], [0.0])
    with pytest.raises(ValueError, match='raise precision'):
        pmfs_to_quantized_cdfs(np.full((1, 20), 0.05), [20], [0.0],
                               precision=4)
