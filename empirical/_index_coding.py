"""Entropy coding of one RCC step's segment with ``constriction``'s range coder (private helpers).

A segment holds, in this order (all symbols range-coded, all counted):

1. the partition mode: ``equal`` (near-equal blocks, probability 1/2),
   ``greedy`` (explicit sizes, 1/4) or ``split`` (near-equal blocks halved
   where the encoder flags them, 1/4);
2. ``num_blocks - 1`` under a universal Elias-gamma-shaped model: bucket ``0``
   is the value 0, bucket ``e + 1`` the values ``[2^e, 2^(e+1))`` with
   probability proportional to ``1/((b+1)(b+2))`` for bucket ``b``; the ``e`` low bits are
   uniform. ``num_blocks`` is the chunk count in modes ``equal`` and ``greedy``;
3. in mode ``greedy`` with more than one chunk: a Rice parameter ``k`` (5 bits) and the
   sizes of all chunks but the last as ``size - 1 = q 2^k + low``, ``q`` with
   ``P(q) = 2^-(q+1)`` (``q <= 31``) and ``low`` uniform;
   in mode ``split``: one flag per node of at least two dimensions, level by
   level (the ``num_blocks`` near-equal blocks, then the halves of the flagged
   nodes, ...), flag 1 halving the node into ``floor(size/2)`` and the rest;
   the flags of depth ``d`` are coded adaptively with the Krichevsky-Trofimov
   weights ``(2 zeros + 1, 2 ones + 1)`` of the earlier flags of that depth.
   The unflagged nodes, in dimension order, are the chunks;
4. one candidate index ``j`` in ``[0, 2^L)`` per chunk, ``L = budget_bits +
   padding_bits``. ``j`` is split into a bucket (``j = 0``, or its binary
   exponent ``e`` and the ``min(e, 2)`` bits after the leading one) coded with a
   categorical model, and the remaining ``e - min(e, 2)`` low bits coded as
   uniform. The bucket probabilities are the exact PFR index law for an
   equal-std Gaussian chunk (``_pfr_law``), truncated to ``[0, 2^L)`` and
   averaged over chunk KLs ``budget_bits * i / 8`` bits, ``i = 2..8``; they are
   rounded to integers ``floor(P 2^32) + 1`` before ``constriction`` sees them,
   and ``index_model_checksum`` (CRC-32 of those integers) lets a decoder
   detect a table that differs from the encoder's. All other models are exact
   binary fractions or ratios of small integers, identical on every platform.

Low bits are coded as uniform pieces of at most 16 bits right after their
bucket symbols. The range coder's 32-bit words are written big-endian; the
encoder then keeps the shortest byte string (the words truncated, or truncated
and rounded up in the last byte) that still decodes to the same message when
zero-padded to whole words, so a segment costs about one byte over the ideal
code length instead of up to eight.
"""
from __future__ import annotations

import functools
import zlib

import numpy as np

from ._errors import BitstreamError
from ._pfr_law import pfr_survival

MANTISSA_BITS = 2
DESIGN_EIGHTHS = (2, 3, 4, 5, 6, 7, 8)
WEIGHT_SCALE = 2.0**32
UNIFORM_PIECE_BITS = 16
_TRIM_SEARCH_BYTES = 8
RICE_PARAMETER_BITS = 5
RICE_PARAMETER_LIMIT = 28
RICE_QUOTIENT_LIMIT = 32
PARTITION_MODES = ("equal", "greedy", "split")
_MODE_WEIGHTS = np.array([2.0, 1.0, 1.0])     # P(equal) = 1/2, P(greedy) = P(split) = 1/4


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


@functools.lru_cache(maxsize=32)
def index_model_weights(budget_bits, padding_bits):
    """Integer-valued float64 bucket weights ``floor(P 2^32) + 1`` handed to ``constriction``."""
    return _read_only(np.floor(index_model_probabilities(budget_bits, padding_bits) * WEIGHT_SCALE) + 1.0)


def index_model_checksum(budget_bits, padding_bits):
    """CRC-32 of the index model's integer weights (little-endian uint64) and its two parameters."""
    weights = index_model_weights(budget_bits, padding_bits).astype("<u8")
    head = bytes([budget_bits, padding_bits, MANTISSA_BITS])
    return zlib.crc32(head + weights.tobytes())


def index_code_length_bits(indices, budget_bits, padding_bits):
    """Ideal code length of each index under the index model: ``-log2 P(bucket) + low bits``."""
    weights = index_model_weights(budget_bits, padding_bits)
    bucket, _, count = split_index(indices, budget_bits + padding_bits)
    return -np.log2(weights[bucket] / weights.sum()) + count


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


@functools.lru_cache(maxsize=256)
def _count_model_weights(num_dims):
    """Weights ``1/((b+1)(b+2))`` of the universal model for ``num_chunks - 1`` in ``[0, num_dims)``."""
    num_levels = max(1, (num_dims - 1).bit_length())
    b = np.arange(num_levels + 1, dtype=np.float64)
    return _read_only(1.0 / ((b + 1.0) * (b + 2.0)))


def _models(budget_bits, padding_bits, num_dims):
    """The three ``constriction`` models of a segment: chunk count, index bucket, uniform pieces."""
    import constriction

    model = constriction.stream.model
    count_model = model.Categorical(np.array(_count_model_weights(num_dims)), perfect=False)
    bucket_model = model.Categorical(np.array(index_model_weights(budget_bits, padding_bits)), perfect=False)
    return count_model, bucket_model, model.Uniform()


def _split_count(num_chunks):
    """``(bucket, low_value, low_count)`` of ``num_chunks - 1`` in the universal model (no mantissa bits)."""
    j = int(num_chunks) - 1
    if j == 0:
        return 0, 0, 0
    e = j.bit_length() - 1
    return e + 1, j - (1 << e), e


def count_code_length_bits(num_chunks, num_dims):
    """Ideal code length of ``num_chunks`` under the universal model for ``num_dims`` dimensions."""
    weights = _count_model_weights(num_dims)
    bucket, _, low_bits = _split_count(num_chunks)
    return float(-np.log2(weights[bucket] / weights.sum()) + low_bits)


def rice_parameter(chunk_sizes):
    """``(k, bits)``: the Rice parameter minimising the cost of all sizes but the last, and that cost in bits."""
    sizes = np.asarray(chunk_sizes, np.int64)[:-1] - 1
    if sizes.size == 0:
        return 0, 0.0
    best = None
    for k in range(RICE_PARAMETER_LIMIT):
        quotient = sizes >> k
        if quotient.max() >= RICE_QUOTIENT_LIMIT:
            continue
        bits = float(np.sum(np.minimum(quotient + 1, RICE_QUOTIENT_LIMIT - 1)) + k * sizes.size)
        if best is None or bits < best[1]:
            best = (k, bits)
    return best


def mode_and_count_bits(mode, num_blocks, num_dims):
    """Bits of a segment's partition mode and block count."""
    mode_bits = -np.log2(_MODE_WEIGHTS[PARTITION_MODES.index(mode)] / _MODE_WEIGHTS.sum())
    return float(mode_bits + count_code_length_bits(num_blocks, num_dims))


def partition_code_length_bits(mode, chunk_sizes, num_dims, num_blocks=None):
    """Bits of the partition side information: mode, block count and the Rice-coded sizes or the split flags."""
    chunk_sizes = np.asarray(chunk_sizes, np.int64)
    num_blocks = chunk_sizes.size if num_blocks is None else int(num_blocks)
    bits = mode_and_count_bits(mode, num_blocks, num_dims)
    if mode == "greedy" and chunk_sizes.size > 1:
        bits += RICE_PARAMETER_BITS + rice_parameter(chunk_sizes)[1]
    elif mode == "split":
        bits += sum(split_flag_code_length_bits(f) for f in split_flags_from_sizes(num_dims, num_blocks, chunk_sizes))
    return float(bits)


def _kt_weights(flags):
    """``[len(flags), 2]`` Krichevsky-Trofimov weights ``(2 zeros + 1, 2 ones + 1)`` of the flags before each one."""
    flags = np.asarray(flags, np.int64)
    ones = np.cumsum(flags) - flags
    zeros = np.arange(flags.size) - ones
    return np.stack([2.0 * zeros + 1.0, 2.0 * ones + 1.0], axis=1)


def split_flag_code_length_bits(flags):
    """Ideal code length of one depth's split flags under the adaptive Krichevsky-Trofimov model."""
    flags = np.asarray(flags, np.int64)
    if flags.size == 0:
        return 0.0
    weights = _kt_weights(flags)
    return float(-np.log2(weights[np.arange(flags.size), flags] / weights.sum(axis=1)).sum())


def _top_blocks(num_dims, num_blocks):
    """``(starts, sizes)`` of the near-equal blocks a split partition starts from."""
    sizes = equal_chunk_sizes(num_dims, num_blocks)
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64), sizes


def _halve(starts, sizes):
    """Children ``(starts, sizes)`` of nodes halved into ``floor(size/2)`` and the rest, in dimension order."""
    half = sizes // 2
    return (np.stack([starts, starts + half], axis=1).ravel(),
            np.stack([half, sizes - half], axis=1).ravel())


def split_partition(permuted_kl, num_blocks, limit):
    """``(chunk_sizes, flags_by_depth)``: near-equal blocks halved while their KL exceeds ``limit``.

    A node is halved iff it has at least two dimensions and its KL (summed by
    ``numpy.add.reduceat``) is above ``limit``; a dimension above ``limit`` on its
    own stays a chunk (the caller rules that out).
    """
    permuted_kl = np.asarray(permuted_kl, np.float64)
    padded = np.append(permuted_kl, 0.0)
    starts, sizes = _top_blocks(permuted_kl.size, num_blocks)
    flags_by_depth, leaf_starts, leaf_sizes = [], [], []
    while starts.size:
        bounds = np.stack([starts, starts + sizes], axis=1).ravel()
        sums = np.add.reduceat(padded, bounds)[0::2]
        splittable = sizes >= 2
        split = splittable & (sums > limit)
        flags_by_depth.append(split[splittable].astype(np.int64))
        leaf_starts.append(starts[~split])
        leaf_sizes.append(sizes[~split])
        starts, sizes = _halve(starts[split], sizes[split])
    order = np.argsort(np.concatenate(leaf_starts), kind="stable")
    return np.concatenate(leaf_sizes)[order], flags_by_depth


def split_flags_from_sizes(num_dims, num_blocks, chunk_sizes):
    """The split flags, by depth, whose chunks are ``chunk_sizes``; ``ValueError`` if no flags give them."""
    chunk_sizes = np.asarray(chunk_sizes, np.int64)
    if not 1 <= num_blocks <= num_dims:
        raise ValueError(f"num_blocks must lie in [1, num_dims={num_dims}], got {num_blocks}")
    chunk_at = dict(zip((np.cumsum(chunk_sizes) - chunk_sizes).tolist(), chunk_sizes.tolist()))
    starts, sizes = _top_blocks(num_dims, num_blocks)
    flags_by_depth, num_leaves = [], 0
    while starts.size:
        leaf = np.array([chunk_at.get(a) == z for a, z in zip(starts.tolist(), sizes.tolist())], dtype=bool)
        if np.any(~leaf & (sizes < 2)):
            raise ValueError("chunk_sizes are not the chunks of a split-block partition with "
                             f"num_blocks={num_blocks}")
        num_leaves += int(leaf.sum())
        flags_by_depth.append((~leaf[sizes >= 2]).astype(np.int64))
        starts, sizes = _halve(starts[~leaf], sizes[~leaf])
    if num_leaves != chunk_sizes.size:
        raise ValueError("chunk_sizes are not the chunks of a split-block partition with "
                         f"num_blocks={num_blocks}")
    return flags_by_depth


def _rice_weights():
    """Quotient model ``P(q) = 2^-(q+1)``, ``q < 31``, and ``P(31) = 2^-31`` (exact binary fractions)."""
    q = np.arange(RICE_QUOTIENT_LIMIT, dtype=np.float64)
    weights = np.exp2(-(q + 1.0))
    weights[-1] = weights[-2]
    return weights


def encode_segment_symbols(mode, num_blocks, chunk_sizes, indices, num_dims, budget_bits, padding_bits):
    """Range-coded big-endian bytes (untrimmed) of the partition and the indices."""
    import constriction

    model = constriction.stream.model
    indices = np.asarray(indices, dtype=np.int64)
    count_model, bucket_model, uniform = _models(budget_bits, padding_bits, num_dims)
    enc = constriction.stream.queue.RangeEncoder()

    def put_low(values, counts):
        vals, sizes = _pieces(values, counts)
        if vals.size:
            enc.encode(vals, uniform, sizes)

    enc.encode(np.array([PARTITION_MODES.index(mode)], dtype=np.int32),
               model.Categorical(_MODE_WEIGHTS, perfect=False))
    count_bucket, count_low, count_bits = _split_count(num_blocks)
    enc.encode(np.array([count_bucket], dtype=np.int32), count_model)
    put_low([count_low], [count_bits])
    if mode == "split":
        for flags in split_flags_from_sizes(num_dims, num_blocks, chunk_sizes):
            if flags.size:
                enc.encode(flags.astype(np.int32), model.Categorical(perfect=False), _kt_weights(flags))
    elif mode == "greedy" and indices.size > 1:
        k, _ = rice_parameter(chunk_sizes)
        sizes = np.asarray(chunk_sizes, np.int64)[:-1] - 1
        enc.encode(np.array([k], dtype=np.int32), model.Uniform(1 << RICE_PARAMETER_BITS))
        enc.encode((sizes >> k).astype(np.int32), model.Categorical(_rice_weights(), perfect=False))
        put_low(sizes & ((1 << k) - 1), np.full(sizes.size, k))
    bucket, low, low_bits = split_index(indices, budget_bits + padding_bits)
    enc.encode(bucket.astype(np.int32), bucket_model)
    put_low(low, low_bits)
    return enc.get_compressed().astype(">u4").tobytes()


def equal_chunk_sizes(num_dims, num_chunks):
    """Sizes ``floor((c+1) n/m) - floor(c n/m)`` of the near-equal partition."""
    edges = (np.arange(num_chunks + 1, dtype=np.int64) * num_dims) // num_chunks
    return np.diff(edges)


def decode_segment_symbols(segment, num_dims, budget_bits, padding_bits):
    """``(mode, num_blocks, chunk_sizes, indices)`` decoded from a segment; ``BitstreamError`` if out of range."""
    import constriction

    model = constriction.stream.model
    data = bytes(segment)
    data = data + b"\0" * (-len(data) % 4)
    words = np.frombuffer(data, dtype=">u4").astype(np.uint32)
    count_model, bucket_model, uniform = _models(budget_bits, padding_bits, num_dims)
    dec = constriction.stream.queue.RangeDecoder(words)

    def get_low(counts):
        sizes = _piece_sizes(counts)
        pieces = np.asarray(dec.decode(uniform, sizes)) if sizes.size else np.zeros(0, np.int64)
        return _join_pieces(pieces, counts)

    mode_symbol = int(np.asarray(dec.decode(model.Categorical(_MODE_WEIGHTS, perfect=False), 1))[0])
    mode = PARTITION_MODES[mode_symbol]
    count_bucket = int(np.asarray(dec.decode(count_model, 1))[0])
    count_bits = max(count_bucket - 1, 0)
    count_low = int(get_low([count_bits])[0])
    num_blocks = (0 if count_bucket == 0 else (1 << count_bits) + count_low) + 1
    if num_blocks > num_dims:
        raise BitstreamError(
            f"corrupted segment: it declares {num_blocks} blocks but the data have only {num_dims} dimensions")
    if mode == "equal" or (mode == "greedy" and num_blocks == 1):
        chunk_sizes = equal_chunk_sizes(num_dims, num_blocks)
    elif mode == "split":
        chunk_sizes = _decode_split(dec, model, num_dims, num_blocks)
    else:
        k = int(np.asarray(dec.decode(model.Uniform(1 << RICE_PARAMETER_BITS), 1))[0])
        quotient = np.asarray(dec.decode(model.Categorical(_rice_weights(), perfect=False), num_blocks - 1),
                              dtype=np.int64)
        head = (quotient << k) + get_low(np.full(num_blocks - 1, k)) + 1
        if head.sum() >= num_dims:
            raise BitstreamError(f"corrupted segment: chunk sizes add up to more than {num_dims} dimensions")
        chunk_sizes = np.append(head, num_dims - head.sum())
    num_chunks = chunk_sizes.size
    index_bits = budget_bits + padding_bits
    lo, rem_bits, _ = index_buckets(index_bits)
    bucket = np.asarray(dec.decode(bucket_model, num_chunks), dtype=np.int64)
    if np.any(bucket >= lo.size):
        raise BitstreamError("corrupted segment: index bucket out of range")
    indices = lo[bucket] + get_low(rem_bits[bucket])
    return mode, num_blocks, chunk_sizes, indices


def _decode_split(dec, model, num_dims, num_blocks):
    """Chunk sizes of a split-block partition, reading its flags depth by depth."""
    starts, sizes = _top_blocks(num_dims, num_blocks)
    leaf_starts, leaf_sizes = [], []
    while starts.size:
        split = np.zeros(starts.size, dtype=bool)
        ones = zeros = 0
        for i in np.flatnonzero(sizes >= 2).tolist():
            weights = np.array([2.0 * zeros + 1.0, 2.0 * ones + 1.0])
            flag = int(np.asarray(dec.decode(model.Categorical(weights, perfect=False), 1))[0])
            split[i] = flag == 1
            ones, zeros = ones + flag, zeros + 1 - flag
        leaf_starts.append(starts[~split])
        leaf_sizes.append(sizes[~split])
        starts, sizes = _halve(starts[split], sizes[split])
    order = np.argsort(np.concatenate(leaf_starts), kind="stable")
    return np.concatenate(leaf_sizes)[order]


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
