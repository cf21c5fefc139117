"""The PFR index model and the range coder of one step's segment (``constriction``).

A segment holds the partition's side information (``partition``: mode, block
count, split flags or Rice-coded sizes) followed by one candidate index per
chunk. An index ``j`` in ``[0, 2^L)``, ``L = budget_bits + padding_bits``, is split
into a bucket (``j = 0``, or its binary exponent ``e`` and the ``min(e, 2)`` bits
after the leading one) coded with a categorical model, and the remaining
``e - min(e, 2)`` low bits coded as uniform pieces of at most 16 bits. The bucket
probabilities are the exact PFR index law for an equal-std Gaussian chunk
(``pfr_law``), truncated to ``[0, 2^L)`` and averaged over chunk KLs
``budget_bits * i / 8`` bits, ``i = 2..8``, rounded to the integers
``floor(P 2^32) + 1``.

The integers are package data (``empirical/data/rcc_index_tables.npz``, written by
``scripts/make_rcc_index_tables.py``), so the parse of a segment depends on
integers only: no float computed on the decoder's machine can change it. The
test suite recomputes the tables from the law and checks them;
``index_model_checksum`` (CRC-32 of a table) is recorded in the stream header.
All other models are exact binary fractions or ratios of small integers.

Escapes. The last index of the range, ``ESC = 2^L - 1``, is an escape: an index
``j >= ESC`` is coded as ``ESC`` and, after all indices of the segment, its
extension ``v = j - ESC`` as ``e = bit_length(v)`` uniform on ``[0, 30]`` and the
``e - 1`` bits below the leading one. So a chunk of one dimension whose KL is
above ``budget_bits`` (``step.encode_step``'s ``max_budget_bits``) can send an
index up to ``2^30`` under the same index model as every other chunk; an escape
costs about ``-log2 P(last bucket) + L - 3 + 5`` bits on top of the index's own
bits. A segment without an index ``>= ESC`` has the bytes it would have without
the escape rule.

The range coder's 32-bit words are written big-endian; the encoder keeps the
shortest byte string (the words truncated, or truncated and rounded up in the
last byte) that still decodes to the same message when zero-padded to whole
words, so a segment costs about one byte over the ideal code length.
"""
from __future__ import annotations

import functools
import zlib

import numpy as np

from .._errors import BitstreamError
from .checks import BUDGET_BITS_RANGE, MAX_INDEX_BITS, PADDING_BITS_RANGE
from .pfr_law import pfr_survival

MANTISSA_BITS = 2
DESIGN_EIGHTHS = (2, 3, 4, 5, 6, 7, 8)
WEIGHT_SCALE = 2.0**32
UNIFORM_PIECE_BITS = 16
_TRIM_SEARCH_BYTES = 8
TABLES_FILE = "rcc_index_tables.npz"


@functools.lru_cache(maxsize=64)
def index_buckets(index_bits, mantissa_bits=MANTISSA_BITS):
    """``(lo, rem_bits, level_base)``: each bucket's first index and uniform low bits; each level's first bucket."""
    lo, rem_bits, level_base = [0], [0], []
    for e in range(index_bits):
        level_base.append(len(lo))
        s = min(e, mantissa_bits)
        for sub in range(1 << s):
            lo.append((1 << e) + (sub << (e - s)))
            rem_bits.append(e - s)
    as_ro = lambda v: _read_only(np.array(v, dtype=np.int64))  # noqa: E731
    return as_ro(lo), as_ro(rem_bits), as_ro(level_base)


def _read_only(arr):
    arr.setflags(write=False)
    return arr


def split_index(j, index_bits, mantissa_bits=MANTISSA_BITS):
    """``(bucket, low_bits_value, low_bits_count)`` of integer indices ``j`` in ``[0, 2^index_bits)``."""
    j = np.asarray(j, dtype=np.int64)
    lo, rem_bits, level_base = index_buckets(index_bits, mantissa_bits)
    level = np.frexp(np.maximum(j, 1).astype(np.float64))[1].astype(np.int64) - 1   # exact for j < 2^53
    s = np.minimum(level, mantissa_bits)
    shift = level - s
    bucket = np.where(j == 0, 0, level_base[np.minimum(level, index_bits - 1)] + (j >> shift) - (1 << s))
    bucket = bucket.astype(np.int64)
    count = rem_bits[bucket]
    return bucket, j - lo[bucket], count


def _pieces(values, counts):
    """Split values with ``counts`` low bits into uniform pieces of <= 16 bits: ``(piece_values, piece_sizes)``."""
    vals, sizes = [], []
    for v, c in zip(np.asarray(values, np.int64).tolist(), np.asarray(counts, np.int64).tolist()):
        while c > 0:
            take = min(c, UNIFORM_PIECE_BITS)
            vals.append(v & ((1 << take) - 1))
            sizes.append(1 << take)
            v >>= take
            c -= take
    return np.array(vals, dtype=np.int32), np.array(sizes, dtype=np.int32)


def _piece_sizes(counts):
    """Uniform piece sizes for values with ``counts`` low bits, in the order ``_pieces`` emits them."""
    sizes = []
    for c in np.asarray(counts, np.int64).tolist():
        while c > 0:
            take = min(c, UNIFORM_PIECE_BITS)
            sizes.append(1 << take)
            c -= take
    return np.array(sizes, dtype=np.int32)


def _join_pieces(pieces, counts):
    """Inverse of ``_pieces``: values from their uniform pieces."""
    out, pos = [], 0
    pieces = np.asarray(pieces, np.int64).tolist()
    for c in np.asarray(counts, np.int64).tolist():
        v, shift = 0, 0
        while c > 0:
            take = min(c, UNIFORM_PIECE_BITS)
            v |= pieces[pos] << shift
            pos += 1
            shift += take
            c -= take
        out.append(v)
    return np.array(out, dtype=np.int64)


@functools.lru_cache(maxsize=32)
def index_model_probabilities(budget_bits, padding_bits):
    """Bucket probabilities of the index model (float64, sums to 1), before integer rounding."""
    index_bits = budget_bits + padding_bits
    lo, _, _ = index_buckets(index_bits)
    edges = np.append(lo, 1 << index_bits).astype(np.float64)
    design_kl_nats = np.array(DESIGN_EIGHTHS, np.float64) * budget_bits / 8.0 * np.log(2.0)
    surv = pfr_survival(design_kl_nats, edges)                 # [designs, buckets + 1]
    mass = np.maximum(surv[:, :-1] - surv[:, 1:], 0.0)
    mass = mass / mass.sum(axis=1, keepdims=True)
    return _read_only(mass.mean(axis=0))


def table_key(budget_bits, padding_bits):
    """Name of one table in the package-data file."""
    return f"b{int(budget_bits)}p{int(padding_bits)}"


def valid_parameters():
    """Every ``(budget_bits, padding_bits)`` the codec accepts, in table order."""
    return [(b, p) for b in range(BUDGET_BITS_RANGE[0], BUDGET_BITS_RANGE[1] + 1)
            for p in range(PADDING_BITS_RANGE[0], PADDING_BITS_RANGE[1] + 1) if b + p <= MAX_INDEX_BITS]


def computed_index_model_weights(budget_bits, padding_bits):
    """The integer weights ``floor(P 2^32) + 1`` recomputed from the law (float64; what the package data stores)."""
    return np.floor(index_model_probabilities(budget_bits, padding_bits) * WEIGHT_SCALE) + 1.0


@functools.lru_cache(maxsize=1)
def _stored_tables():
    """The package-data tables as a dict ``table_key -> uint64 array``."""
    from importlib import resources

    with resources.files("empirical").joinpath("data", TABLES_FILE).open("rb") as f:
        with np.load(f) as data:
            return {key: data[key] for key in data.files}


@functools.lru_cache(maxsize=64)
def index_model_weights(budget_bits, padding_bits):
    """Integer-valued float64 bucket weights handed to ``constriction`` (the stored integers, exactly)."""
    table = _stored_tables().get(table_key(budget_bits, padding_bits))
    if table is None:
        raise ValueError(f"no index model for budget_bits={budget_bits}, padding_bits={padding_bits}")
    return _read_only(table.astype(np.float64))


def index_model_checksum(budget_bits, padding_bits):
    """CRC-32 of the index model's integer weights (little-endian uint64) and its two parameters."""
    weights = index_model_weights(budget_bits, padding_bits).astype("<u8")
    head = bytes([budget_bits, padding_bits, MANTISSA_BITS])
    return zlib.crc32(head + weights.tobytes())


#: Values of an escaped index's extension exponent ``e = bit_length(j - ESC)``: ``0 .. MAX_INDEX_BITS``.
ESCAPE_EXPONENTS = MAX_INDEX_BITS + 1


def escape_index(budget_bits, padding_bits):
    """``ESC = 2^(budget_bits + padding_bits) - 1``: an index at or above it is sent as ``ESC`` plus an extension."""
    return (1 << (int(budget_bits) + int(padding_bits))) - 1


def _split_escapes(indices, budget_bits, padding_bits):
    """``(in_range, escaped, exponents, low_values, low_counts)``: indices clipped to ``ESC``, the mask of those at or
    above it, and their extensions."""
    indices = np.asarray(indices, dtype=np.int64)
    esc = escape_index(budget_bits, padding_bits)
    escaped = indices >= esc
    extension = indices[escaped] - esc
    exponents = np.array([int(v).bit_length() for v in extension.tolist()], dtype=np.int64)
    counts = np.maximum(exponents - 1, 0)
    lows = np.where(exponents > 0, extension - (np.int64(1) << counts), 0)
    return np.minimum(indices, esc), escaped, exponents, lows, counts


def index_code_length_bits(indices, budget_bits, padding_bits):
    """Ideal code length of each index under the index model: ``-log2 P(bucket) + low bits`` (plus, for an index
    ``>= ESC``, the extension: ``log2 31`` bits of exponent and its low bits)."""
    weights = index_model_weights(budget_bits, padding_bits)
    in_range, escaped, _, _, counts = _split_escapes(indices, budget_bits, padding_bits)
    bucket, _, count = split_index(in_range, budget_bits + padding_bits)
    bits = -np.log2(weights[bucket] / weights.sum()) + count
    bits[escaped] += np.log2(ESCAPE_EXPONENTS) + counts
    return bits


@functools.lru_cache(maxsize=32)
def _expected_index_bits_table(budget_bits, padding_bits):
    """``(kl_bits_grid, expected_bits)``: mean index code length for equal-std chunks of each KL on a grid."""
    index_bits = budget_bits + padding_bits
    lo, rem_bits, _ = index_buckets(index_bits)
    weights = index_model_weights(budget_bits, padding_bits)
    lengths = -np.log2(weights / weights.sum()) + rem_bits
    grid = np.linspace(0.0, float(budget_bits), 65)
    surv = pfr_survival(grid * np.log(2.0), np.append(lo, 1 << index_bits).astype(np.float64))
    mass = np.maximum(surv[:, :-1] - surv[:, 1:], 0.0)
    return grid, (mass @ lengths) / mass.sum(axis=1)


def expected_index_bits(kl_bits, budget_bits, padding_bits):
    """Predicted mean code length (bits) of the index of an equal-std chunk with KL ``kl_bits`` (interpolated)."""
    grid, table = _expected_index_bits_table(budget_bits, padding_bits)
    return np.interp(kl_bits, grid, table)


def _round_up(prefix):
    """Big-endian ``prefix + 1`` in its last byte, or ``None`` if it would overflow or ``prefix`` is empty."""
    if not prefix:
        return None
    value = int.from_bytes(prefix, "big") + 1
    if value >> (8 * len(prefix)):
        return None
    return value.to_bytes(len(prefix), "big")


def shortest_segment(full, decodes):
    """Shortest byte string among truncations of ``full`` (rounded down or up) for which ``decodes`` is true."""
    stripped = full.rstrip(b"\0")
    for length in range(max(0, len(stripped) - _TRIM_SEARCH_BYTES), len(stripped)):
        prefix = stripped[:length]
        for candidate in (prefix, _round_up(prefix)):
            if candidate is not None and decodes(candidate):
                return candidate
    return stripped if decodes(stripped) else full


class SegmentWriter:
    """Range encoder of one segment: categorical symbols and uniform low bits, in order."""

    def __init__(self):
        import constriction

        self._model = constriction.stream.model
        self._enc = constriction.stream.queue.RangeEncoder()

    def categorical(self, symbols, weights):
        """Symbols (ints) under one fixed categorical model with float64 integer ``weights``, or per-symbol
        weights ``[len(symbols), K]``."""
        symbols = np.asarray(symbols, dtype=np.int32).reshape(-1)
        if symbols.size == 0:
            return
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim == 2:
            self._enc.encode(symbols, self._model.Categorical(perfect=False), weights)
        else:
            self._enc.encode(symbols, self._model.Categorical(weights, perfect=False))

    def low_bits(self, values, counts):
        """Values with ``counts`` low bits each, as uniform pieces of at most 16 bits."""
        vals, sizes = _pieces(values, counts)
        if vals.size:
            self._enc.encode(vals, self._model.Uniform(), sizes)

    def uniform(self, values, size):
        """Values uniform on ``[0, size)`` (one fixed size)."""
        values = np.asarray(values, dtype=np.int32).reshape(-1)
        if values.size:
            self._enc.encode(values, self._model.Uniform(int(size)))

    def indices(self, indices, budget_bits, padding_bits):
        """Candidate indices (``< 2^30``) under the index model of ``(budget_bits, padding_bits)``, escaped ones'
        extensions after them."""
        in_range, _, exponents, ext_low, ext_bits = _split_escapes(indices, budget_bits, padding_bits)
        bucket, low, low_bits = split_index(in_range, budget_bits + padding_bits)
        self.categorical(bucket, index_model_weights(budget_bits, padding_bits))
        self.low_bits(low, low_bits)
        self.uniform(exponents, ESCAPE_EXPONENTS)
        self.low_bits(ext_low, ext_bits)

    def to_bytes(self):
        """The big-endian bytes of the coder's 32-bit words (untrimmed)."""
        return self._enc.get_compressed().astype(">u4").tobytes()


class SegmentReader:
    """Range decoder mirroring ``SegmentWriter``; raises whatever ``constriction`` raises on invalid data."""

    def __init__(self, segment):
        import constriction

        data = bytes(segment)
        data = data + b"\0" * (-len(data) % 4)
        self._model = constriction.stream.model
        self._dec = constriction.stream.queue.RangeDecoder(np.frombuffer(data, dtype=">u4").astype(np.uint32))

    def categorical(self, count, weights):
        """``count`` symbols (int64 array) under one categorical model."""
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        model = self._model.Categorical(np.asarray(weights, dtype=np.float64), perfect=False)
        return np.asarray(self._dec.decode(model, int(count)), dtype=np.int64)

    def low_bits(self, counts):
        """Values with ``counts`` low bits each (inverse of ``SegmentWriter.low_bits``)."""
        sizes = _piece_sizes(counts)
        pieces = np.asarray(self._dec.decode(self._model.Uniform(), sizes)) if sizes.size else np.zeros(0, np.int64)
        return _join_pieces(pieces, counts)

    def uniform(self, count, size):
        """``count`` values uniform on ``[0, size)``."""
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self._dec.decode(self._model.Uniform(int(size)), int(count)), dtype=np.int64)

    def indices(self, count, budget_bits, padding_bits):
        """``count`` candidate indices under the index model; ``BitstreamError`` for an out-of-range bucket."""
        lo, rem_bits, _ = index_buckets(budget_bits + padding_bits)
        bucket = self.categorical(count, index_model_weights(budget_bits, padding_bits))
        if np.any(bucket >= lo.size):
            raise BitstreamError("corrupted segment: index bucket out of range")
        indices = lo[bucket] + self.low_bits(rem_bits[bucket])
        escaped = np.flatnonzero(indices == escape_index(budget_bits, padding_bits))
        exponents = self.uniform(escaped.size, ESCAPE_EXPONENTS)
        ext_bits = np.maximum(exponents - 1, 0)
        extension = np.where(exponents > 0, (np.int64(1) << ext_bits) + self.low_bits(ext_bits), 0)
        indices[escaped] += extension
        if np.any(indices >= 1 << MAX_INDEX_BITS):
            raise BitstreamError(f"corrupted segment: an escaped index is at or above 2^{MAX_INDEX_BITS}")
        return indices
