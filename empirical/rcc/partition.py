"""How one step is cut into chunks, and the code of that cut (the segment's side information).

A partition cuts the ``(seed, step)`` permutation of the ``n`` dimensions into runs
(chunks), each with ``KL <= budget_bits``. It depends only on integers the decoder
knows -- ``n``, ``seed``, ``step`` and the sent side information -- so no encoder
float reaches the decoder. Three modes:

- ``equal``, near-equal blocks: sizes ``floor((c+1) n/m) - floor(c n/m)``, the
  smallest ``m >= ceil(KL / budget)`` for which every chunk fits; only ``m`` is
  sent. Best when the KL is spread evenly (most DiffC steps).
- ``split``, halved blocks: ``m`` near-equal blocks, each halved (``floor(size/2)``
  and the rest) while its KL exceeds the budget; ``m`` and one flag per node of
  at least two dimensions are sent, level by level, the flags of depth ``d``
  coded adaptively with the Krichevsky-Trofimov weights ``(2 zeros + 1, 2 ones + 1)``
  of the earlier flags of that depth. The encoder searches ``m``.
- ``greedy`` runs: cut the permuted order whenever the next dimension would push
  the chunk over the budget (the fewest chunks of any contiguous partition); a
  Rice parameter ``k`` (5 bits) and the sizes of all chunks but the last,
  ``size - 1 = q 2^k + low``, ``P(q) = 2^-(q+1)`` (``q <= 31``), ``low`` uniform.

Side information, in segment order: the mode (``equal`` 1/2, ``greedy`` 1/4,
``split`` 1/4), ``num_blocks - 1`` under a universal Elias-gamma-shaped model
(bucket 0 is the value 0, bucket ``e + 1`` the values ``[2^e, 2^(e+1))`` with
probability proportional to ``1/((b+1)(b+2))``, the ``e`` low bits uniform), then
the split flags or the Rice-coded sizes. ``choose_partition`` sends the mode
with the smallest predicted segment size (side information plus the predicted
index cost of each chunk, ``index_coding.expected_index_bits``).

A compute cap (``ChunkCap``, the encoder's alone) adds a second limit to every
mode: a chunk of two or more dimensions scans at most ``2^cost_bits`` candidate
coordinates (its size times its candidates ``2^L``, ``L`` from its KL as
``step.candidate_bits`` gives it). Without it, every step costs about
``d 2^(budget + padding)`` coordinates whatever its KL, because a step whose KL
is spread thinly over many dimensions is cut into a few wide chunks near the
budget; the cap cuts those finer, at the index cost of a few more chunks.
"""
from __future__ import annotations

import bisect
import functools
import math
from typing import NamedTuple

import numpy as np

from .._errors import BitstreamError
from .checks import check_array, check_max_budget, check_params
from .index_coding import expected_index_bits
from .pfr_law import candidate_bits_from_thresholds
from .sampler import dimension_permutation

PARTITION_MODES = ("equal", "greedy", "split")
_MODE_WEIGHTS = np.array([2.0, 1.0, 1.0])     # P(equal) = 1/2, P(greedy) = P(split) = 1/4
RICE_PARAMETER_BITS = 5
RICE_PARAMETER_LIMIT = 28
RICE_QUOTIENT_LIMIT = 32

__all__ = ["PARTITION_MODES", "Partition", "ChunkCap", "choose_partition", "equal_chunk_sizes", "split_partition",
           "split_flags_from_sizes", "partition_code_length_bits", "write", "read"]


class Partition(NamedTuple):
    """A chunk partition: its mode, its top-level block count and the chunk sizes in permutation order."""

    mode: str                 # "equal", "split" or "greedy" (see the module docstring)
    num_blocks: int           # "split": near-equal blocks before halving; otherwise the chunk count
    chunk_sizes: np.ndarray   # [num_chunks] int64, dimensions per chunk, summing to num_dims


class ChunkCap(NamedTuple):
    """The encoder's compute cap: a chunk of two or more dimensions scans at most ``2^cost_bits`` coordinates.

    ``thresholds_bits`` (``[max_bits + 1]``, ``max_bits = budget_bits + padding_bits``) give a chunk's
    candidates ``2^L`` from its KL as ``step.candidate_bits`` does (``pfr_law.candidate_bits_from_thresholds``;
    all ``-inf`` when every chunk scans ``2^max_bits``).
    """

    cost_bits: int
    thresholds_bits: np.ndarray
    max_bits: int

    def over(self, kl_bits, sizes):
        """Which chunks (KL in bits, sizes) exceed the cap (a lone dimension never does)."""
        sizes = np.asarray(sizes, np.int64)
        bits = candidate_bits_from_thresholds(kl_bits, self.thresholds_bits, self.max_bits)
        return (sizes >= 2) & (sizes.astype(np.float64) * np.exp2(bits) > 2.0 ** self.cost_bits)


def _fits(sums, sizes, budget_bits, cap):
    """Every chunk within the budget and, with a cap, within the cap."""
    return bool(sums.max() <= budget_bits and (cap is None or not np.any(cap.over(sums, sizes))))


# -- the cuts ---------------------------------------------------------------------------------------------

def equal_chunk_sizes(num_dims, num_chunks):
    """Sizes ``floor((c+1) n/m) - floor(c n/m)`` of the near-equal partition."""
    edges = (np.arange(num_chunks + 1, dtype=np.int64) * num_dims) // num_chunks
    return np.diff(edges)


def _chunk_sums(permuted_kl, sizes):
    """KL of each run of ``sizes`` dimensions of ``permuted_kl``."""
    return np.add.reduceat(permuted_kl, np.concatenate([[0], np.cumsum(sizes)[:-1]]))


def _budget_limit(budget_bits):
    """The KL a chunk may reach in the encoder's own sums: ``budget_bits (1 - 1e-9)``.

    The margin keeps chunk sums recomputed in another summation order within the budget.
    """
    return budget_bits * (1.0 - 1e-9)


def _equal_partition(permuted_kl, budget_bits, max_chunks, cap=None):
    """Sizes of the near-equal partition with the fewest chunks (up to ``max_chunks``) that fits, else ``None``."""
    num_dims = permuted_kl.size
    num_chunks = max(1, math.ceil(float(permuted_kl.sum()) / budget_bits))
    while num_chunks <= min(max_chunks, num_dims):
        sizes = equal_chunk_sizes(num_dims, num_chunks)
        if _fits(_chunk_sums(permuted_kl, sizes), sizes, budget_bits, cap):
            return sizes
        num_chunks += 1
    return None


def _greedy_partition(permuted_kl, budget_bits, cap=None):
    """Sizes of the greedy partition: each run takes dimensions while its KL stays within the budget (and the cap)."""
    limit = _budget_limit(budget_bits)
    if cap is not None:
        # ChunkCap.over one dimension at a time: a run of KL ``acc`` has ``L = bisect_left(thresholds[:max_bits],
        # min(acc, 24))`` (candidate_bits_from_thresholds on a scalar) and may hold at most 2^(cost - L) dimensions.
        thresholds = cap.thresholds_bits[:cap.max_bits].tolist()
        widest = [2.0 ** (cap.cost_bits - bits) for bits in range(cap.max_bits + 1)]
    sizes, acc, size = [], 0.0, 0
    for value in permuted_kl.tolist():
        over = size and acc + value > limit
        if cap is not None and size and not over:
            over = size + 1 > widest[bisect.bisect_left(thresholds, min(acc + value, 24.0))]
        if over:
            sizes.append(size)
            acc, size = 0.0, 0
        acc += value
        size += 1
    sizes.append(size)
    return np.array(sizes, dtype=np.int64)


def _top_blocks(num_dims, num_blocks):
    """``(starts, sizes)`` of the near-equal blocks a split partition starts from."""
    sizes = equal_chunk_sizes(num_dims, num_blocks)
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64), sizes


def _halve(starts, sizes):
    """Children ``(starts, sizes)`` of nodes halved into ``floor(size/2)`` and the rest, in dimension order."""
    half = sizes // 2
    return (np.stack([starts, starts + half], axis=1).ravel(),
            np.stack([half, sizes - half], axis=1).ravel())


def split_partition(permuted_kl, num_blocks, limit, cap=None):
    """``(chunk_sizes, flags_by_depth)``: near-equal blocks halved while their KL exceeds ``limit``.

    A node is halved iff it has at least two dimensions and its KL (summed by
    ``numpy.add.reduceat``) is above ``limit`` or, with a ``ChunkCap``, the node is
    over the cap; a dimension above ``limit`` on its own stays a chunk (the caller
    rules that out).
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
        if cap is not None:
            split |= cap.over(sums, sizes)
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


# -- the code of the side information ---------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _count_model_weights(num_dims):
    """Weights ``1/((b+1)(b+2))`` of the universal model for ``num_chunks - 1`` in ``[0, num_dims)``."""
    num_levels = max(1, (num_dims - 1).bit_length())
    b = np.arange(num_levels + 1, dtype=np.float64)
    weights = 1.0 / ((b + 1.0) * (b + 2.0))
    weights.setflags(write=False)
    return weights


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


def _rice_weights():
    """Quotient model ``P(q) = 2^-(q+1)``, ``q < 31``, and ``P(31) = 2^-31`` (exact binary fractions)."""
    q = np.arange(RICE_QUOTIENT_LIMIT, dtype=np.float64)
    weights = np.exp2(-(q + 1.0))
    weights[-1] = weights[-2]
    return weights


def mode_and_count_bits(mode, num_blocks, num_dims):
    """Bits of a segment's partition mode and block count."""
    mode_bits = -np.log2(_MODE_WEIGHTS[PARTITION_MODES.index(mode)] / _MODE_WEIGHTS.sum())
    return float(mode_bits + count_code_length_bits(num_blocks, num_dims))


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


def write(writer, mode, num_blocks, chunk_sizes, num_dims):
    """Put a partition's side information into an ``index_coding.SegmentWriter``."""
    writer.categorical([PARTITION_MODES.index(mode)], _MODE_WEIGHTS)
    count_bucket, count_low, count_bits = _split_count(num_blocks)
    writer.categorical([count_bucket], _count_model_weights(num_dims))
    writer.low_bits([count_low], [count_bits])
    if mode == "split":
        for flags in split_flags_from_sizes(num_dims, num_blocks, chunk_sizes):
            if flags.size:
                writer.categorical(flags, _kt_weights(flags))
    elif mode == "greedy" and len(chunk_sizes) > 1:
        k, _ = rice_parameter(chunk_sizes)
        sizes = np.asarray(chunk_sizes, np.int64)[:-1] - 1
        writer.uniform([k], 1 << RICE_PARAMETER_BITS)
        writer.categorical(sizes >> k, _rice_weights())
        writer.low_bits(sizes & ((1 << k) - 1), np.full(sizes.size, k))


def read(reader, num_dims):
    """``(mode, num_blocks, chunk_sizes)`` from an ``index_coding.SegmentReader``; ``BitstreamError`` if impossible."""
    mode = PARTITION_MODES[int(reader.categorical(1, _MODE_WEIGHTS)[0])]
    count_bucket = int(reader.categorical(1, _count_model_weights(num_dims))[0])
    count_bits = max(count_bucket - 1, 0)
    count_low = int(reader.low_bits([count_bits])[0])
    num_blocks = (0 if count_bucket == 0 else (1 << count_bits) + count_low) + 1
    if num_blocks > num_dims:
        raise BitstreamError(
            f"corrupted segment: it declares {num_blocks} blocks but the data have only {num_dims} dimensions")
    if mode == "equal" or (mode == "greedy" and num_blocks == 1):
        return mode, num_blocks, equal_chunk_sizes(num_dims, num_blocks)
    if mode == "split":
        return mode, num_blocks, _read_split(reader, num_dims, num_blocks)
    k = int(reader.uniform(1, 1 << RICE_PARAMETER_BITS)[0])
    quotient = reader.categorical(num_blocks - 1, _rice_weights())
    head = (quotient << k) + reader.low_bits(np.full(num_blocks - 1, k)) + 1
    if head.sum() >= num_dims:
        raise BitstreamError(f"corrupted segment: chunk sizes add up to more than {num_dims} dimensions")
    return mode, num_blocks, np.append(head, num_dims - head.sum())


def _read_split(reader, num_dims, num_blocks):
    """Chunk sizes of a split-block partition, reading its flags depth by depth."""
    starts, sizes = _top_blocks(num_dims, num_blocks)
    leaf_starts, leaf_sizes = [], []
    while starts.size:
        split = np.zeros(starts.size, dtype=bool)
        ones = zeros = 0
        for i in np.flatnonzero(sizes >= 2).tolist():
            flag = int(reader.categorical(1, np.array([2.0 * zeros + 1.0, 2.0 * ones + 1.0]))[0])
            split[i] = flag == 1
            ones, zeros = ones + flag, zeros + 1 - flag
        leaf_starts.append(starts[~split])
        leaf_sizes.append(sizes[~split])
        starts, sizes = _halve(starts[split], sizes[split])
    order = np.argsort(np.concatenate(leaf_starts), kind="stable")
    return np.concatenate(leaf_sizes)[order]


# -- the encoder's choice ---------------------------------------------------------------------------------

def _predicted_bits(mode, sizes, permuted_kl, budget_bits, padding_bits):
    """Predicted segment bits of an ``equal`` or ``greedy`` partition: side information plus index costs."""
    index_bits = expected_index_bits(_chunk_sums(permuted_kl, sizes), budget_bits, padding_bits).sum()
    return partition_code_length_bits(mode, sizes, permuted_kl.size) + index_bits


def _split_cost(permuted_kl, num_blocks, budget_bits, padding_bits, cap=None):
    """``(predicted bits, chunk sizes)`` of the split partition from ``num_blocks`` blocks, halved above the budget."""
    sizes, flags = split_partition(permuted_kl, num_blocks, _budget_limit(budget_bits), cap)
    index_bits = expected_index_bits(_chunk_sums(permuted_kl, sizes), budget_bits, padding_bits).sum()
    side_bits = mode_and_count_bits("split", num_blocks, permuted_kl.size)
    return side_bits + sum(split_flag_code_length_bits(f) for f in flags) + index_bits, sizes


def _split_search(permuted_kl, budget_bits, padding_bits, cap=None):
    """The split partition of the block count with the smallest predicted cost: ``(bits, num_blocks, sizes)``.

    Block counts on a geometric grid (ratio ``2^(1/16)``) from ``1/8`` to 4 times
    ``KL / limit``, then every count within 6% of the best one.
    """
    num_dims = permuted_kl.size
    centre = max(1.0, float(permuted_kl.sum()) / budget_bits)
    grid = {int(round(centre * 2.0 ** (i / 16.0))) for i in range(-48, 33)} | set(range(1, 5))
    costs = {}

    def evaluate(counts):
        for m in counts:
            if 1 <= m <= num_dims and m not in costs:
                costs[m] = _split_cost(permuted_kl, m, budget_bits, padding_bits, cap)

    evaluate(sorted(grid))
    best = min(costs, key=lambda m: costs[m][0])
    evaluate(range(int(best * 0.94), int(best * 1.06) + 2))
    best = min(costs, key=lambda m: costs[m][0])
    return costs[best][0], best, costs[best][1]


def choose_partition(kl_bits, *, seed, step, budget_bits=8, padding_bits=8, max_budget_bits=None, cap=None):
    """The encoder's chunk partition: a ``Partition``, every chunk's KL ``<= budget_bits`` but a lone dimension's.

    Parameters
    ----------
    kl_bits : array_like
        ``KL(q||p)`` per dimension in bits (flattened in C order), each ``>= 0``.
    seed, step : int
        The shared seed and step number, each in ``[0, 2^64)``.
    budget_bits, padding_bits : int
        Chunk KL budget (where chunks are cut) and padding (both select the index model of the predicted
        index cost).
    max_budget_bits : int or None
        The most one dimension may carry (``budget_bits .. min(24, 30 - padding_bits)``; ``None``:
        ``budget_bits``): a dimension above ``budget_bits`` is a chunk of its own. The decoder does not
        need it.
    cap : ChunkCap or None
        The encoder's compute cap on chunks of two or more dimensions (every mode respects it); the
        decoder does not need it.

    Returns
    -------
    Partition
        ``(mode, num_blocks, chunk_sizes)``: near-equal blocks of the fewest
        fitting count (``"equal"``), halved blocks (``"split"``) or greedy runs
        (``"greedy"``), whichever has the smallest predicted segment size.

    Raises
    ------
    ValueError
        If a single dimension has KL above ``max_budget_bits`` (no partition fits).
    """
    kl = np.ravel(check_array("kl_bits", kl_bits))
    if np.any(kl < 0.0):
        raise ValueError("kl_bits must be >= 0 everywhere")
    seed, step, budget_bits, padding_bits = check_params(seed, step, budget_bits, padding_bits)
    if cap is not None and not isinstance(cap, ChunkCap):
        raise ValueError(f"cap must be a ChunkCap or None, got {type(cap).__name__}")
    return choose(kl, seed, step, budget_bits, padding_bits, check_max_budget(max_budget_bits, budget_bits,
                                                                              padding_bits), cap)


def choose(kl, seed, step, budget_bits, padding_bits, max_budget_bits, cap=None):
    """``choose_partition`` on validated inputs."""
    if kl.max() > max_budget_bits:
        name = "budget_bits" if max_budget_bits == budget_bits else "max_budget_bits"
        raise ValueError(f"{name}={max_budget_bits} is below the largest per-dimension KL "
                         f"({kl.max():.6g} bits, dimension {int(np.argmax(kl))}); raise {name} or "
                         f"make the step smaller")
    permuted = kl[dimension_permutation(seed, step, kl.size)]
    greedy = _greedy_partition(permuted, budget_bits, cap)
    if greedy.size == 1:
        return Partition("equal", 1, greedy)
    options = [(_predicted_bits("greedy", greedy, permuted, budget_bits, padding_bits), 2,
                Partition("greedy", int(greedy.size), greedy))]
    # Equal blocks are searched up to 4x the greedy count + 16: beyond that the extra chunks' index
    # costs (>= 2 predicted bits each) exceed what the greedy sizes cost in side information in practice.
    equal = (None if permuted.max() > budget_bits
             else _equal_partition(permuted, budget_bits, 4 * greedy.size + 16, cap))
    if equal is not None:
        options.append((_predicted_bits("equal", equal, permuted, budget_bits, padding_bits), 0,
                        Partition("equal", int(equal.size), equal)))
    split_bits, num_blocks, split = _split_search(permuted, budget_bits, padding_bits, cap)
    options.append((split_bits, 1, Partition("split", num_blocks, split)))
    return min(options, key=lambda option: option[:2])[2]
