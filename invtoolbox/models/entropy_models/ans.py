# Copyright (c) invtoolbox contributors. All rights reserved.
"""Entropy coding of integer symbols with CompressAI's CDF tables, through
``constriction``'s stack ANS (no compiler, no compressai).

Semantics are CompressAI's (``cpp_exts/rans/rans_interface.cpp``); the
bitstream is ours.

Symbols and tables
    A symbol is an integer (e.g. ``round(y - mean)``) coded with table row
    ``index``. With ``offset = offsets[index]`` and ``max_value =
    cdf_lengths[index] - 2``, ``value = symbol - offset`` is coded directly
    when ``0 <= value < max_value``. Otherwise the row's last interval, the
    escape ``max_value``, is coded, followed by the raw value ``raw = -2 v -
    1`` (``v < 0``) or ``raw = 2 (v - max_value)`` (``v >= max_value``) in
    4-bit bypass chunks, least significant first, preceded by their number
    ``n`` (the smallest with ``raw < 16**n``; one chunk: int32 symbols and
    offsets need at most 9). A bypass chunk is coded with a uniform 16-way
    model. CompressAI codes the same chunks; it continues a count of 15 in
    a second chunk, which int32 symbols never reach.

Probabilities
    Row ``k`` of a table becomes one constriction categorical model, built
    once per table from the float64 pmf ``diff(cdf[k, :cdf_lengths[k]]) /
    2**16`` (:meth:`CdfTable.row_model`). Constriction re-quantises it to
    its 24-bit fixed point (``Categorical(perfect=False)``, exact
    integer/IEEE arithmetic): the coding distribution derives only from the
    integer table, so encoder and decoder agree bit for bit on every
    machine.

Bitstream layout (our format)
    ``AnsEncoder.encode`` appends batches in decode order. Within a batch all
    categorical symbols come first, grouped by table row (rows ascending;
    within a row in the batch's order: one constriction call per row, not
    per symbol), then the chunk counts of its escaped symbols (in the
    batch's order), then all their chunks (same order): two calls per
    batch however many symbols escape. After the last batch a fixed
    16-bit end marker (four chunks) is coded; the decoder checks it and that
    no data is left, so truncated, extended or corrupt data raises
    :class:`~invtoolbox.errors.BitstreamError` (or, rarely for corrupt
    data, decodes to wrong but valid symbols) and never hangs or crashes.
    The bytes are constriction's 32-bit words, little-endian, in the order
    the decoder reads them (its ANS state first).
"""
import numpy as np

from ...errors import BitstreamError

__all__ = ['CdfTable', 'AnsEncoder', 'AnsDecoder']

#: bits of the CDF tables (CompressAI's ``precision``).
PRECISION = 16
#: bits of a bypass chunk, and the chunk value that continues a count.
BYPASS_BITS = 4
_BYPASS_MAX = (1 << BYPASS_BITS) - 1
#: no raw escape value of an int32 symbol with an int32 offset needs more
#: chunks than this (raw < 2**34); a larger count means corrupt data.
_MAX_BYPASS_CHUNKS = 9
#: the end marker, four bypass chunks (decoded last).
_END_MARKER = np.array([0xA, 0x5, 0xC, 0x3], dtype=np.int32)


def _constriction():
    """Import constriction lazily (the models build without it)."""
    try:
        import constriction
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError('entropy coding needs the constriction package: '
                          'pip install constriction') from err
    return constriction


class _Models:
    """The two constriction models, built once."""
    _categorical = None
    _uniform = None

    @classmethod
    def get(cls):
        if cls._categorical is None:
            model = _constriction().stream.model
            cls._categorical = model.Categorical(perfect=False)
            cls._uniform = model.Uniform(1 << BYPASS_BITS)
        return cls._categorical, cls._uniform


def _int_array(values, name: str) -> np.ndarray:
    if hasattr(values, 'detach'):  # torch tensor
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.dtype.kind not in 'iu' and array.size:
        raise ValueError(f'{name} must hold integers, got dtype '
                         f'{array.dtype}; round and cast them first')
    return array.astype(np.int64, copy=False).reshape(-1)


class CdfTable:
    """CompressAI's integer CDF tables, prepared once for coding.

    Args:
        quantized_cdf: int ``(K, W)``: row ``k`` holds a 16-bit CDF of
            ``cdf_lengths[k]`` entries (0, ..., 2**16), zero-padded; its
            last interval is the escape symbol.
        cdf_lengths: int ``(K,)``, each at least 3 (two symbols).
        offsets: int ``(K,)``: the symbol coded by value 0 of row ``k``.

    Attributes:
        probabilities (np.ndarray): float64 ``(K, max(cdf_lengths) - 1)``,
            row ``k`` = the pmf of row ``k`` (escape last), zero-padded.
        num_symbols (np.ndarray): ``cdf_lengths - 1`` (escape included).
        max_values (np.ndarray): ``cdf_lengths - 2`` (the escape value).
        offsets (np.ndarray): int64 ``(K,)``.
    """

    def __init__(self, quantized_cdf, cdf_lengths, offsets):
        cdf = _int_array(quantized_cdf, 'quantized_cdf')
        shape = np.shape(quantized_cdf)
        lengths = _int_array(cdf_lengths, 'cdf_lengths')
        offsets = _int_array(offsets, 'offsets')
        if len(shape) != 2 or shape[0] == 0:
            raise ValueError(f'quantized_cdf must be a non-empty 2-D table '
                             f'(K, W), got shape {tuple(shape)}; run the '
                             "entropy model's update() first")
        cdf = cdf.reshape(shape)
        num_rows, width = shape
        if lengths.shape != (num_rows, ) or offsets.shape != (num_rows, ):
            raise ValueError(
                f'cdf_lengths {lengths.shape} and offsets {offsets.shape} '
                f'must hold one value per CDF row ({num_rows})')
        if lengths.min() < 3 or lengths.max() > width:
            raise ValueError(f'cdf_lengths must lie in [3, {width}], got '
                             f'[{lengths.min()}, {lengths.max()}]')
        column = np.arange(width)[None, :]
        last = lengths[:, None] - 1
        inside = column <= last
        rows = np.arange(num_rows)
        freq = np.diff(cdf, axis=1)
        if ((cdf[:, 0] != 0).any()
                or (cdf[rows, lengths - 1] != 1 << PRECISION).any()
                or (np.where(inside[:, 1:], freq, 1) <= 0).any()):
            raise ValueError('quantized_cdf rows must rise strictly from 0 '
                             f'to 2**{PRECISION} over their cdf_lengths; '
                             'this is not a CompressAI table')
        num_symbols = lengths - 1
        pmf = np.where(column[:, :-1] < num_symbols[:, None], freq, 0)
        width_pmf = int(num_symbols.max())
        self.probabilities = np.ascontiguousarray(pmf[:, :width_pmf] /
                                                  float(1 << PRECISION),
                                                  dtype=np.float64)
        self.num_symbols = num_symbols
        self.max_values = lengths - 2
        self.offsets = offsets
        self._row_models = None

    def row_model(self, k: int):
        """Constriction's categorical model of row ``k`` (built once per
        table: 64 rows for InvCompress's Gaussian conditional)."""
        if self._row_models is None:
            categorical = _constriction().stream.model.Categorical
            self._row_models = [
                categorical(self.probabilities[i, :self.num_symbols[i]],
                            perfect=False) for i in range(len(self))
            ]
        return self._row_models[k]

    def groups(self, indexes: np.ndarray):
        """The batch grouped by row: ``(order, [(row, start, end), ...])``
        with ``order`` the stable sort of ``indexes`` and each group the
        slice of ``order`` coded with that row, rows ascending."""
        # (a stable sort of 16-bit keys is a radix sort in numpy)
        keys = indexes.astype(np.int16) if len(self) < 2**15 else indexes
        order = np.argsort(keys, kind='stable')
        counts = np.bincount(indexes, minlength=len(self))
        rows = np.flatnonzero(counts)
        ends = np.cumsum(counts[rows])
        starts = ends - counts[rows]
        return order, list(zip(rows.tolist(), starts.tolist(),
                               ends.tolist()))

    def __len__(self) -> int:
        return len(self.offsets)

    def check_indexes(self, indexes) -> np.ndarray:
        """Flatten ``indexes`` to int64 and check they name table rows."""
        indexes = _int_array(indexes, 'indexes')
        if indexes.size and (indexes.min() < 0 or indexes.max() >= len(self)):
            raise ValueError(f'indexes must lie in [0, {len(self) - 1}] '
                             f'(the table rows), got [{indexes.min()}, '
                             f'{indexes.max()}]')
        return indexes

    def rows(self, indexes: np.ndarray) -> np.ndarray:
        """The probability rows of ``indexes`` (checked), cut to the widest
        of them: ``(len(indexes), width)`` float64, C-contiguous."""
        width = int(self.num_symbols[indexes].max())
        return np.ascontiguousarray(self.probabilities[indexes, :width])


def _escape_chunks(raw_values) -> np.ndarray:
    """Bypass chunks of the raw escape values of one batch: the chunk count
    of every value, then the 4-bit chunks of every value, least significant
    first (int32)."""
    raw = np.asarray(raw_values, dtype=np.int64).reshape(-1)
    shifts = BYPASS_BITS * np.arange(_MAX_BYPASS_CHUNKS, dtype=np.int64)
    digits = (raw[:, None] >> shifts[None, :])
    if raw.size and (raw >> (BYPASS_BITS * _MAX_BYPASS_CHUNKS)).any():
        raise ValueError('an escaped value needs more than '
                         f'{_MAX_BYPASS_CHUNKS} bypass chunks')
    counts = (digits > 0).sum(axis=1)
    present = np.arange(_MAX_BYPASS_CHUNKS)[None, :] < counts[:, None]
    chunks = (digits & _BYPASS_MAX)[present]
    return np.concatenate((counts, chunks)).astype(np.int32)


class AnsEncoder:
    """Collects batches of symbols and writes them as one bitstream.

    Call :meth:`encode` once per batch, in the order the decoder will
    decode them (a stack coder runs backwards, so the work happens in
    :meth:`finish`), then :meth:`finish` for the bytes.
    """

    def __init__(self):
        self._batches = []

    def encode(self, symbols, indexes, table: CdfTable) -> None:
        """Append a batch: integer ``symbols`` coded with the table rows
        ``indexes`` (any shapes of the same size; flattened in C order)."""
        symbols = _int_array(symbols, 'symbols')
        indexes = table.check_indexes(indexes)
        if symbols.shape != indexes.shape:
            raise ValueError(f'symbols ({symbols.size}) and indexes '
                             f'({indexes.size}) must have the same size')
        if symbols.size and (symbols.min() < np.iinfo(np.int32).min
                             or symbols.max() > np.iinfo(np.int32).max):
            raise ValueError('symbols must fit in int32, got values in '
                             f'[{symbols.min()}, {symbols.max()}]')
        values = symbols - table.offsets[indexes]
        max_values = table.max_values[indexes]
        escaped = (values < 0) | (values >= max_values)
        categorical = np.where(escaped, max_values, values).astype(np.int32)
        value = values[escaped]
        raw = np.where(value < 0, -2 * value - 1,
                       2 * (value - max_values[escaped]))
        chunks = _escape_chunks(raw)
        self._batches.append((categorical, indexes, table, chunks))

    def finish(self) -> bytes:
        """The bitstream of every batch encoded so far."""
        _, uniform = _Models.get()
        coder = _constriction().stream.stack.AnsCoder()
        coder.encode_reverse(_END_MARKER, uniform)
        for categorical, indexes, table, chunks in reversed(self._batches):
            if chunks.size:
                coder.encode_reverse(chunks, uniform)
            if categorical.size:
                order, groups = table.groups(indexes)
                ordered = categorical[order]
                for row, start, end in reversed(groups):
                    coder.encode_reverse(ordered[start:end],
                                         table.row_model(row))
        self._batches = []
        words = coder.get_compressed()
        return words[::-1].astype('<u4').tobytes()


class AnsDecoder:
    """Decodes a bitstream of :class:`AnsEncoder`, batch by batch.

    Args:
        data (bytes): the bitstream.

    Raises:
        BitstreamError: the data is not a whole number of 32-bit words or
            cannot be an ANS stream.
    """

    def __init__(self, data: bytes):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f'data must be bytes, got {type(data).__name__}')
        data = bytes(data)
        if len(data) % 4:
            raise BitstreamError(f'the bitstream has {len(data)} bytes, not '
                                 'a whole number of 32-bit words: it is '
                                 'truncated or not written by AnsEncoder')
        words = np.frombuffer(data, dtype='<u4')[::-1].astype(np.uint32)
        try:
            self._coder = _constriction().stream.stack.AnsCoder(words)
        except ValueError as err:
            raise BitstreamError(
                f'not an ANS bitstream ({err}); it is '
                'corrupt or not written by AnsEncoder') from None

    def _read_escapes(self, count: int) -> np.ndarray:
        """The raw values of the next ``count`` escaped symbols (int64)."""
        _, uniform = _Models.get()
        counts = self._coder.decode(uniform, count).astype(np.int64)
        if (counts > _MAX_BYPASS_CHUNKS).any():
            raise BitstreamError('an escaped symbol claims more than '
                                 f'{_MAX_BYPASS_CHUNKS} bypass chunks: '
                                 'the bitstream is corrupt')
        total = int(counts.sum())
        raw = np.zeros(count, dtype=np.int64)
        if total:
            chunks = self._coder.decode(uniform, total).astype(np.int64)
            owner = np.repeat(np.arange(count), counts)
            first = np.repeat(np.cumsum(counts) - counts, counts)
            position = np.arange(total) - first
            np.add.at(raw, owner, chunks << (BYPASS_BITS * position))
        return raw

    def decode(self, indexes, table: CdfTable) -> np.ndarray:
        """Decode the next batch, coded with the table rows ``indexes``.

        Returns:
            np.ndarray: int32 symbols, flat, in the order of ``indexes``.
        """
        indexes = table.check_indexes(indexes)
        if not indexes.size:
            return np.zeros(0, dtype=np.int32)
        order, groups = table.groups(indexes)
        decode = self._coder.decode
        table.row_model(0)  # builds the models once
        models = table._row_models
        decoded = np.empty(indexes.shape, dtype=np.int32)
        decoded[order] = np.concatenate([
            decode(models[row], end - start) for row, start, end in groups
        ])
        # each row's model has exactly that row's symbols (escape last), so
        # a decoded value always lies inside its table
        max_values = table.max_values[indexes]
        escaped = np.flatnonzero(decoded == max_values)
        symbols = decoded + table.offsets[indexes]
        if escaped.size:
            raw = self._read_escapes(escaped.size)
            values = np.where(raw & 1, -(raw >> 1) - 1,
                              (raw >> 1) + max_values[escaped])
            full = values + table.offsets[indexes[escaped]]
            if (full.min() < np.iinfo(np.int32).min
                    or full.max() > np.iinfo(np.int32).max):
                raise BitstreamError('a decoded symbol does not fit in '
                                     'int32: the bitstream is corrupt')
            symbols[escaped] = full
        return symbols.astype(np.int32, copy=False)

    def finish(self) -> None:
        """Check the end marker and that every word was read.

        Raises:
            BitstreamError: the data was exhausted early (truncated or
                corrupt) or has data left over.
        """
        _, uniform = _Models.get()
        marker = self._coder.decode(uniform, len(_END_MARKER))
        if not np.array_equal(marker, _END_MARKER):
            raise BitstreamError(
                'the bitstream ended early or is corrupt (end marker not '
                'found): it was truncated or damaged, or is decoded with '
                'other batches, tables or indexes than it was encoded with')
        if not self._coder.is_empty():
            raise BitstreamError('the bitstream has data left over after '
                                 'its end marker: bytes were appended')
