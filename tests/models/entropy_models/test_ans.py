# Copyright (c) invtoolbox contributors. All rights reserved.
"""The constriction ANS coder with CompressAI's tables and escapes: exact
round trips, size against the information content of the 16-bit tables,
and corrupt data that fails cleanly."""
import numpy as np
import pytest

from invtoolbox.errors import BitstreamError
from invtoolbox.models.entropy_models import (AnsDecoder, AnsEncoder, CdfTable,
                                              GaussianConditional,
                                              get_scale_table)
from invtoolbox.models.entropy_models import ans as ans_module

INT32 = np.iinfo(np.int32)


@pytest.fixture(scope='module')
def tables():
    """CompressAI's 64 Gaussian tables as numpy arrays and as a CdfTable."""
    model = GaussianConditional(scale_table=get_scale_table())
    model.update()
    cdf = model.quantized_cdf.numpy().astype(np.int64)
    lengths = model.cdf_length.numpy().astype(np.int64)
    offsets = model.offset.numpy().astype(np.int64)
    return cdf, lengths, offsets, CdfTable(cdf, lengths, offsets)


def sample_symbols(rng, cdf, lengths, offsets, indexes):
    """Symbols drawn from the tables themselves (inverse 16-bit CDF); a
    drawn escape becomes a random out-of-range value."""
    u = rng.integers(0, 2**16, size=len(indexes))
    rows = cdf[indexes]
    inside = np.arange(cdf.shape[1])[None, :] < lengths[indexes, None]
    values = ((rows <= u[:, None]) & inside).sum(axis=1) - 1
    max_values = lengths[indexes] - 2
    escaped = values == max_values
    far = rng.integers(1, 1000, size=len(indexes))
    values = np.where(escaped & (far % 2 == 0), -far, values)
    values = np.where(escaped & (far % 2 == 1), max_values + far, values)
    return values + offsets[indexes]


def escape_symbols(offsets, lengths, indexes):
    """Out-of-range symbols of every kind for the rows ``indexes``: the
    escape value itself, one below, far below and far above (up to the
    int32 limits, several bypass chunks)."""
    low, high = offsets[indexes], offsets[indexes] + lengths[indexes] - 2
    picks = [
        high, low - 1, high + 1, low - 17, high + 4096,
        np.full_like(low, INT32.min),
        np.full_like(low, INT32.max), low - 2**20, high + 2**27
    ]
    return np.stack(picks, axis=1).reshape(-1), np.repeat(indexes, len(picks))


def information_bits(symbols, indexes, cdf, lengths, offsets):
    """-log2 p of every symbol under the 16-bit tables, plus 4 bits per
    bypass chunk of the escaped ones (count chunks included)."""
    values = symbols.astype(np.int64) - offsets[indexes]
    max_values = lengths[indexes] - 2
    escaped = (values < 0) | (values >= max_values)
    coded = np.where(escaped, max_values, values)
    freq = cdf[indexes, coded + 1] - cdf[indexes, coded]
    bits = -np.log2(freq / 2**16).sum()
    for value, max_value in zip(values[escaped], max_values[escaped]):
        raw = -2 * int(value) - 1 if value < 0 else 2 * int(value - max_value)
        chunks = (raw.bit_length() + 3) // 4
        bits += 4 * (chunks + 1)
    return bits


def make_batches(seed, tables, sizes=(300, 0, 17, 1000), escapes=True):
    cdf, lengths, offsets, _ = tables
    rng = np.random.default_rng(seed)
    batches = []
    for size in sizes:
        indexes = rng.integers(0, len(lengths), size=size)
        symbols = sample_symbols(rng, cdf, lengths, offsets, indexes)
        if escapes and size:
            extra_symbols, extra_indexes = escape_symbols(
                offsets, lengths, indexes[:3])
            symbols = np.concatenate([symbols, extra_symbols])
            indexes = np.concatenate([indexes, extra_indexes])
            order = rng.permutation(len(symbols))
            symbols, indexes = symbols[order], indexes[order]
        batches.append((symbols.astype(np.int32), indexes))
    return batches


def encode(batches, table):
    encoder = AnsEncoder()
    for symbols, indexes in batches:
        encoder.encode(symbols, indexes, table)
    return encoder.finish()


def decode(data, batches, table):
    decoder = AnsDecoder(data)
    out = [decoder.decode(indexes, table) for _, indexes in batches]
    decoder.finish()
    return out


@pytest.mark.parametrize('seed', [0, 1])
def test_round_trip_with_escapes(tables, seed):
    table = tables[3]
    batches = make_batches(seed, tables)
    decoded = decode(encode(batches, table), batches, table)
    for (symbols, _), out in zip(batches, decoded):
        assert out.dtype == np.int32
        np.testing.assert_array_equal(out, symbols)


def test_size_is_the_information_content(tables):
    cdf, lengths, offsets, table = tables
    for escapes in (False, True):
        batches = make_batches(5, tables, sizes=(2000, 3000), escapes=escapes)
        data = encode(batches, table)
        ideal = sum(
            information_bits(s, i, cdf, lengths, offsets)
            for s, i in batches) / 8
        assert ideal > 1000
        assert 0.99 * ideal <= len(data) <= 1.01 * ideal + 8, (len(data),
                                                               ideal)


def test_small_stream_overhead(tables):
    """A few symbols cost their information plus at most 8 bytes."""
    cdf, lengths, offsets, table = tables
    batches = make_batches(6, tables, sizes=(40, ), escapes=False)
    ideal = information_bits(*batches[0], cdf, lengths, offsets) / 8
    assert len(encode(batches, table)) <= 1.01 * ideal + 8


def test_escape_chunk_counts():
    """The counts of a batch's escapes come first, then their chunks."""
    chunks = ans_module._escape_chunks
    assert chunks([0]).tolist() == [0]
    assert chunks([15]).tolist() == [1, 15]
    assert chunks([16]).tolist() == [2, 0, 1]
    assert chunks([15, 16, 0]).tolist() == [1, 2, 0, 15, 0, 1]
    assert chunks([2**36 - 1]).tolist() == [9] + [15] * 9
    with pytest.raises(ValueError, match='more than 9'):
        chunks([2**36])


def _bypass_stream(chunks):
    """Bytes holding bypass chunks then the end marker, in our format."""
    import constriction
    coder = constriction.stream.stack.AnsCoder()
    uniform = constriction.stream.model.Uniform(16)
    coder.encode_reverse(ans_module._END_MARKER, uniform)
    coder.encode_reverse(np.array(chunks, dtype=np.int32), uniform)
    return coder.get_compressed()[::-1].astype('<u4').tobytes()


def test_decoder_reads_the_escapes_of_a_batch():
    raws = [0, 16, 2**33 + 5, 2**36 - 1, 12345]
    decoder = AnsDecoder(_bypass_stream(ans_module._escape_chunks(raws)))
    assert decoder._read_escapes(len(raws)).tolist() == raws
    decoder.finish()
    decoder = AnsDecoder(_bypass_stream([10] + [1] * 10))
    with pytest.raises(BitstreamError, match='more than 9'):
        decoder._read_escapes(1)


def test_stream_errors_are_detected(tables):
    table = tables[3]
    batches = make_batches(2, tables, sizes=(500, 30))
    data = encode(batches, table)
    for bad, message in ((data[:-4], 'ended early'),
                         (data + b'\x01\x00\x00\x00', 'early|left over'),
                         (data + b'\x00\x00\x00\x00',
                          'early|left over'), (data[:-1], 'whole number'),
                         (b'\x00\x00\x00\x00' + data, 'not an ANS')):
        with pytest.raises(BitstreamError, match=message):
            decode(bad, batches, table)
    with pytest.raises(BitstreamError, match='ended early'):
        decode(data, batches + [batches[1]], table)
    with pytest.raises(BitstreamError, match='other batches'):
        decode(data, batches[:1], table)


@pytest.mark.parametrize('seed', range(6))
def test_corrupt_data_fails_cleanly(tables, seed):
    """Truncated, bit-flipped or extended streams raise BitstreamError or
    decode to int32 symbols; never a crash, a hang or another error."""
    table = tables[3]
    rng = np.random.default_rng(100 + seed)
    batches = make_batches(seed, tables, sizes=(200, 50))
    data = bytearray(encode(batches, table))
    variants = []
    for _ in range(8):
        cut = int(rng.integers(1, len(data)))
        variants.append(bytes(data[:cut]))
        flipped = bytearray(data)
        bit = int(rng.integers(0, 8 * len(data)))
        flipped[bit // 8] ^= 1 << (bit % 8)
        variants.append(bytes(flipped))
        variants.append(bytes(data) + rng.bytes(int(rng.integers(1, 9))))
        variants.append(rng.bytes(len(data) // 4 * 4))
    errors = 0
    for variant in variants:
        try:
            decoded = decode(variant, batches, table)
        except BitstreamError:
            errors += 1
            continue
        for out, (symbols, _) in zip(decoded, batches):
            assert out.dtype == np.int32 and out.shape == symbols.shape
    assert errors >= len(variants) // 2


def test_bad_arguments(tables):
    cdf, lengths, offsets, table = tables
    encoder = AnsEncoder()
    with pytest.raises(ValueError, match=r'indexes must lie in \[0, 63\]'):
        encoder.encode([1], [64], table)
    with pytest.raises(ValueError, match='same size'):
        encoder.encode([1, 2], [0], table)
    with pytest.raises(ValueError, match='integers'):
        encoder.encode(np.array([0.5]), [0], table)
    with pytest.raises(ValueError, match='fit in int32'):
        encoder.encode(np.array([2**40]), [0], table)
    with pytest.raises(ValueError, match='2-D table'):
        CdfTable(np.zeros((0, 3)), [], [])
    bad = cdf.copy()
    bad[0, 1] = 0  # a zero frequency
    with pytest.raises(ValueError, match='rise strictly'):
        CdfTable(bad, lengths, offsets)
    with pytest.raises(ValueError, match='one value per CDF row'):
        CdfTable(cdf, lengths[:-1], offsets)
    with pytest.raises(TypeError, match='bytes'):
        AnsDecoder('abcd')


def test_table_rows_are_the_16_bit_pmfs(tables):
    cdf, lengths, _, table = tables
    assert table.probabilities.shape == (64, lengths.max() - 1)
    for k in (0, 31, 63):
        n = lengths[k] - 1
        np.testing.assert_array_equal(table.probabilities[k, :n] * 2**16,
                                      np.diff(cdf[k, :n + 1]))
        assert not table.probabilities[k, n:].any()
