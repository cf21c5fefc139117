"""Reverse channel coding of one DiffC step: diagonal Gaussians ``q``, ``p`` and a shared seed <-> a few bytes.

::

    sender: q = N(q_mean, q_std^2), p = N(p_mean, p_std^2)          receiver: p, seed, step
      |  KL(q||p) per dimension (bits)
      |  partition of the (seed, step) dimension permutation into m runs
      |  with KL <= budget_bits each (near-equal blocks, halved blocks or greedy runs)
      |  each chunk: Poisson functional representation over
      |  N = 2^(budget_bits + padding_bits) Philox candidates -> index K
      v
    segment = range code of (sizes, K_1 .. K_m) -------------------->  decode_segment -> StepMessage
      (constriction; the partition and every index are counted)          decode_step -> samples,
                                                                         bit-identical to the sender's

Chunk partition. It depends only on integers the decoder knows -- ``num_dims``,
``seed``, ``step`` and the sent side information (a block count, split flags or
chunk sizes): chunk ``c`` is the run ``perm[start_c : start_c + size_c]`` of the
``(seed, step)`` dimension permutation. The encoder considers three partitions
and sends the one with the smaller predicted cost (the predicted index cost of
each chunk from the PFR index law, plus the side information):

- ``equal``, near-equal blocks: the smallest ``m >= ceil(KL / budget)`` for which the
  sizes ``floor((c+1) n/m) - floor(c n/m)`` give every chunk ``KL <= budget``;
  only ``m`` is sent. Best when the KL is spread evenly (DiffC steps).
- ``split``, halved blocks: ``m`` near-equal blocks, each halved
  (``floor(size/2)`` and the rest) while its KL exceeds the budget; ``m`` and
  one flag per node are sent, the flags coded adaptively per depth (cheap where
  nearly all or nearly no nodes split). The encoder searches ``m``. Best when
  the KL per dimension varies: fuller chunks than ``equal`` at a fraction of
  the side information of ``greedy``.
- ``greedy`` runs: cut the permuted order whenever the next dimension would push the
  chunk over the budget (the fewest chunks of any contiguous partition); the
  sizes are sent with a Rice code, ``log2 C(n, m)`` bits or more for ``m`` chunks.
  Best when single dimensions carry bits.

No encoder-side float reaches the decoder.

Sampling. Within a chunk, candidate ``k`` is ``X_k = p_mean + p_std Z_k`` with
``Z_k`` from the counter-based stream of ``(seed, step, chunk, k)``
(``_candidates``); arrival times ``T_k`` are cumulative ``Exp(1)`` gaps from the
same stream; ``K = argmin_{k < N} ln T_k - ln r(X_k)``. This is PFR (Li & El
Gamal 2018) truncated to ``N`` candidates, i.e. ordered random coding (Theis &
Yosri 2022). Untruncated PFR delivers exactly ``q``; truncation changes the
output only on the event ``K > N``, so the total-variation distance of the
delivered chunk to ``q`` is at most ``P(K > N)`` (coupling). ``StepCode`` reports
that tail per chunk: exactly (up to quadrature, ``_pfr_law``) when the chunk has
``q_std == p_std`` in every dimension (DiffC's case), otherwise the Renyi-Chernoff
bound ``min_s (s/(eN))^s 2^max(s-1,0) (1 + exp(s D_{1+s}(q||p)))``, ``0 < s <= 8``.
Chunks are independent, so the whole step is within ``sum`` of the chunk bounds of ``q``.

For an equal-std chunk with KL ``D`` nats, ``ln r(X) ~ N(D, 2D)`` under ``q``,
so ``P(K > N)`` is about ``P(N(D, 2D) > ln N)``, a slowly falling tail: a chunk
at ``budget_bits = 8`` has ``P(K > N) = 0.042`` at ``padding_bits = 8``, 0.0057
at 12 and 0.00043 at 16 (``pfr_tail_probability``). Chunks below the budget
have much smaller tails.

Rates. ``StepCode.coded_bits`` is ``8 len(segment)``, the step's share of the
payload (no container header). The index model (``_index_coding``) is the
PFR index law itself, so the cost per chunk is close to the index entropy,
~2.5-3 bits above the chunk's KL at ``budget_bits = 8``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> p_mean, std = np.zeros(16), np.ones(16)
>>> q_mean = rng.normal(0.0, 0.5, 16)
>>> code = encode_step(q_mean, std, p_mean, std, seed=7, step=3, budget_bits=6, padding_bits=6)
>>> message = decode_segment(code.segment, 16, budget_bits=6, padding_bits=6)
>>> x = decode_step(message, p_mean, std, seed=7, step=3, budget_bits=6, padding_bits=6)
>>> bool(np.array_equal(x, code.samples)), bool(np.array_equal(message.indices, code.indices))
(True, True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._candidates import UINT64_LIMIT, block_rows, candidate_block, dimension_permutation
from ._errors import BitstreamError
from ._errors import check_int as _check_int
from ._gaussian_ratio import kl_nats_per_dim, log_ratio_coefficients, renyi_nats_per_dim
from ._index_coding import (PARTITION_MODES, decode_segment_symbols, encode_segment_symbols,
                            equal_chunk_sizes, expected_index_bits, index_code_length_bits,
                            index_model_checksum, mode_and_count_bits, partition_code_length_bits, shortest_segment,
                            split_flag_code_length_bits, split_flags_from_sizes, split_partition)
from ._pfr_law import pfr_index_entropy_nats, pfr_survival, renyi_tv_bound

__all__ = [
    "DEFAULT_BUDGET_BITS",
    "DEFAULT_PADDING_BITS",
    "BUDGET_BITS_RANGE",
    "PADDING_BITS_RANGE",
    "MAX_INDEX_BITS",
    "StepMessage",
    "StepCode",
    "kl_bits_per_dim",
    "Partition",
    "choose_partition",
    "chunk_dims",
    "encode_step",
    "decode_step",
    "encode_segment",
    "decode_segment",
    "pfr_tail_probability",
    "pfr_index_entropy_bits",
    "index_model_checksum",
    "BitstreamError",
]

DEFAULT_BUDGET_BITS = 8
DEFAULT_PADDING_BITS = 8
BUDGET_BITS_RANGE = (1, 24)
PADDING_BITS_RANGE = (0, 16)
MAX_INDEX_BITS = 30
MAX_NUM_DIMS = 2**32 - 1
_LN2 = math.log(2.0)
# Renyi orders 1 + s, s = 1/32 .. 1 by 1/32 and 1.25 .. 8 by 1/4, searched by the Chernoff bound.
_RENYI_ORDERS = 1.0 + np.concatenate([np.arange(1, 33) / 32.0, np.arange(5, 33) / 4.0])


class Partition(NamedTuple):
    """A chunk partition: its mode, its top-level block count and the chunk sizes in permutation order."""

    mode: str                 # "equal", "split" or "greedy" (see the module docstring)
    num_blocks: int           # "split": near-equal blocks before halving; otherwise the chunk count
    chunk_sizes: np.ndarray   # [num_chunks] int64, dimensions per chunk, summing to num_dims


@dataclass(frozen=True)
class StepMessage:
    """What one step's segment carries: the chunk partition and one candidate index per chunk.

    ``chunk_sizes[c]`` dimensions of the ``(seed, step)`` permutation, taken in
    order, form chunk ``c``. ``partition`` says how they are sent: ``"equal"``
    (near-equal sizes, only their count), ``"split"`` (``num_blocks`` near-equal
    blocks and the flags that halve them into these chunks) or ``"greedy"``
    (the sizes themselves). ``num_blocks`` defaults to the chunk count, which
    is what it must be outside ``"split"``. Arrays are read-only.
    """

    partition: str            # "equal", "split" or "greedy"
    chunk_sizes: np.ndarray   # [num_chunks] int64, dimensions per chunk, summing to num_dims
    indices: np.ndarray       # [num_chunks] int64, 0-based candidate index per chunk
    num_blocks: int | None = None   # "split": blocks before halving; None means the chunk count

    @property
    def num_chunks(self):
        """Number of chunks ``m``."""
        return int(self.indices.size)

    @property
    def equal_blocks(self):
        """``partition == "equal"``."""
        return self.partition == "equal"


@dataclass(frozen=True)
class StepCode:
    """Result of ``encode_step``: the message, its segment, the delivered sample and per-chunk accounting.

    Arrays are read-only. ``tv_bound_per_chunk[c] >= P(K_c > N) >= TV(delivered
    chunk c, q restricted to chunk c)``; ``tail_is_exact[c]`` says it is the
    exact ``P(K_c > N)`` (equal stds) rather than the Renyi-Chernoff bound.
    """

    message: StepMessage              # partition and indices; decode_step(message, ...) == samples
    samples: np.ndarray               # shape of q_mean, float64: the delivered sample
    kl_bits_per_chunk: np.ndarray     # [num_chunks] KL(q||p) per chunk in bits, each <= budget_bits
    tv_bound_per_chunk: np.ndarray    # [num_chunks] bound on P(K > N), hence on the chunk's TV to q
    tail_is_exact: np.ndarray         # [num_chunks] bool: the bound is the exact P(K > N)
    index_bits_per_chunk: np.ndarray  # [num_chunks] ideal code length of each index (bits)
    partition_bits: float             # ideal code length of the partition side information (bits)
    segment: bytes                    # range-coded message
    budget_bits: int
    padding_bits: int

    @property
    def indices(self):
        """``message.indices``: 0-based candidate index per chunk."""
        return self.message.indices

    @property
    def chunk_sizes(self):
        """``message.chunk_sizes``: dimensions per chunk."""
        return self.message.chunk_sizes

    @property
    def num_chunks(self):
        """Number of chunks ``m``."""
        return self.message.num_chunks

    @property
    def num_candidates(self):
        """Candidates per chunk ``N = 2^(budget_bits + padding_bits)``."""
        return 1 << (self.budget_bits + self.padding_bits)

    @property
    def kl_bits_total(self):
        """``KL(q||p)`` of the whole step in bits (the ideal cost)."""
        return float(self.kl_bits_per_chunk.sum())

    @property
    def coded_bits(self):
        """``8 len(segment)``: bits this step adds to the payload (container header not included)."""
        return 8 * len(self.segment)

    @property
    def tv_bound_total(self):
        """``min(1, sum of chunk bounds)``: bound on the TV distance of the delivered step sample to ``q``."""
        return float(min(1.0, self.tv_bound_per_chunk.sum()))


def _read_only(arr):
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


def _check_params(seed, step, budget_bits, padding_bits):
    """Validated ``(seed, step, budget_bits, padding_bits)`` as Python ints."""
    seed = _check_int("seed", seed, 0, UINT64_LIMIT - 1)
    step = _check_int("step", step, 0, UINT64_LIMIT - 1)
    budget_bits = _check_int("budget_bits", budget_bits, *BUDGET_BITS_RANGE)
    padding_bits = _check_int("padding_bits", padding_bits, *PADDING_BITS_RANGE)
    if budget_bits + padding_bits > MAX_INDEX_BITS:
        raise ValueError(f"budget_bits + padding_bits must be <= {MAX_INDEX_BITS}, "
                         f"got {budget_bits} + {padding_bits}")
    return seed, step, budget_bits, padding_bits


def _check_array(name, value, shape=None, positive=False):
    """``value`` as a float64 array; ``ValueError`` naming ``name`` if non-finite, empty, misshaped or not > 0."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {type(value).__name__}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must have at least one element")
    if arr.size > MAX_NUM_DIMS:
        raise ValueError(f"{name} must have at most {MAX_NUM_DIMS} elements, got {arr.size}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (that of the first mean), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite everywhere")
    if positive and not np.all(arr > 0.0):
        raise ValueError(f"{name} must be > 0 everywhere, got minimum {arr.min()!r}")
    return arr


def kl_bits_per_dim(q_mean, q_std, p_mean, p_std):
    """``KL(q || p)`` of each dimension in bits, shape of ``q_mean``.

    Parameters
    ----------
    q_mean, q_std, p_mean, p_std : array_like
        Means and standard deviations (``> 0``) of the diagonal Gaussians
        ``q`` and ``p``, all of one shape.

    Returns
    -------
    numpy.ndarray
        ``(ln(p_std/q_std) + (q_std^2 + (q_mean - p_mean)^2) / (2 p_std^2) - 1/2) / ln 2``.

    >>> bool(kl_bits_per_dim(1.0, 1.0, 0.0, 1.0) == 0.5 / np.log(2.0))
    True
    """
    q_mean = _check_array("q_mean", q_mean)
    shape = q_mean.shape
    q_std = _check_array("q_std", q_std, shape, positive=True)
    p_mean = _check_array("p_mean", p_mean, shape)
    p_std = _check_array("p_std", p_std, shape, positive=True)
    return kl_nats_per_dim(q_mean, q_std, p_mean, p_std) / _LN2


def _check_sizes(chunk_sizes, num_dims, name="chunk_sizes"):
    """``chunk_sizes`` as int64 ``[m]``: positive entries summing to ``num_dims``."""
    sizes = np.asarray(chunk_sizes)
    if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError(f"{name} must be a non-empty 1-D integer array, got dtype {sizes.dtype} "
                         f"and shape {sizes.shape}")
    if np.any(sizes < 1) or int(sizes.sum()) != num_dims:
        raise ValueError(f"{name} must be >= 1 and sum to num_dims={num_dims}, "
                         f"got sum {int(sizes.sum())} and minimum {int(sizes.min())}")
    return sizes.astype(np.int64)


def chunk_dims(num_dims, chunk_sizes, *, seed, step):
    """Dimension indices (into the flattened data) of each chunk: a tuple of int64 arrays.

    Parameters
    ----------
    num_dims : int
        Number of data dimensions ``n``, in ``[1, 2^32)``.
    chunk_sizes : array_like of int
        Dimensions per chunk, each ``>= 1``, summing to ``n``.
    seed, step : int
        The shared seed and the step number, each in ``[0, 2^64)``.

    Returns
    -------
    tuple of numpy.ndarray
        Chunk ``c`` holds ``perm[start_c : start_c + chunk_sizes[c]]`` where ``perm``
        is the ``(seed, step)`` permutation of ``range(n)`` and ``start_c`` the
        sum of the earlier sizes.
    """
    num_dims = _check_int("num_dims", num_dims, 1, MAX_NUM_DIMS)
    sizes = _check_sizes(chunk_sizes, num_dims)
    seed = _check_int("seed", seed, 0, UINT64_LIMIT - 1)
    step = _check_int("step", step, 0, UINT64_LIMIT - 1)
    return _chunk_dims(num_dims, sizes, seed, step)


def _chunk_dims(num_dims, sizes, seed, step):
    """``chunk_dims`` on validated inputs."""
    perm = dimension_permutation(seed, step, num_dims)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return tuple(perm[edges[c]:edges[c + 1]] for c in range(sizes.size))


def _equal_partition(permuted_kl, budget_bits, max_chunks):
    """Sizes of the near-equal partition with the fewest chunks (up to ``max_chunks``) that fits, else ``None``."""
    num_dims = permuted_kl.size
    num_chunks = max(1, math.ceil(float(permuted_kl.sum()) / budget_bits))
    while num_chunks <= min(max_chunks, num_dims):
        sizes = equal_chunk_sizes(num_dims, num_chunks)
        if _chunk_sums(permuted_kl, sizes).max() <= budget_bits:
            return sizes
        num_chunks += 1
    return None


def _budget_limit(budget_bits):
    """The KL a chunk may reach in the encoder's own sums.

    ``budget_bits (1 - 1e-9)``, so that chunk sums recomputed in another
    summation order (``kl[d].sum()``) stay within the budget.
    """
    return budget_bits * (1.0 - 1e-9)


def _greedy_partition(permuted_kl, budget_bits):
    """Sizes of the greedy partition: each run takes dimensions while its KL stays within the budget."""
    limit = _budget_limit(budget_bits)
    sizes, acc, size = [], 0.0, 0
    for value in permuted_kl.tolist():
        if size and acc + value > limit:
            sizes.append(size)
            acc, size = 0.0, 0
        acc += value
        size += 1
    sizes.append(size)
    return np.array(sizes, dtype=np.int64)


def _chunk_sums(permuted_kl, sizes):
    """KL of each run of ``sizes`` dimensions of ``permuted_kl``."""
    return np.add.reduceat(permuted_kl, np.concatenate([[0], np.cumsum(sizes)[:-1]]))


def _split_cost(permuted_kl, num_blocks, budget_bits, padding_bits):
    """``(predicted bits, chunk sizes)`` of the split partition from ``num_blocks`` blocks."""
    sizes, flags = split_partition(permuted_kl, num_blocks, _budget_limit(budget_bits))
    index_bits = expected_index_bits(_chunk_sums(permuted_kl, sizes), budget_bits, padding_bits).sum()
    side_bits = mode_and_count_bits("split", num_blocks, permuted_kl.size)
    return side_bits + sum(split_flag_code_length_bits(f) for f in flags) + index_bits, sizes


def _split_search(permuted_kl, budget_bits, padding_bits):
    """The split partition of the block count with the smallest predicted cost: ``(bits, num_blocks, sizes)``.

    Block counts on a geometric grid (ratio ``2^(1/16)``) from ``1/8`` to 4 times
    ``KL / budget``, then every count within 6% of the best one.
    """
    num_dims = permuted_kl.size
    centre = max(1.0, float(permuted_kl.sum()) / budget_bits)
    grid = {int(round(centre * 2.0 ** (i / 16.0))) for i in range(-48, 33)} | set(range(1, 5))
    costs = {}

    def evaluate(counts):
        for m in counts:
            if 1 <= m <= num_dims and m not in costs:
                costs[m] = _split_cost(permuted_kl, m, budget_bits, padding_bits)

    evaluate(sorted(grid))
    best = min(costs, key=lambda m: costs[m][0])
    evaluate(range(int(best * 0.94), int(best * 1.06) + 2))
    best = min(costs, key=lambda m: costs[m][0])
    return costs[best][0], best, costs[best][1]


def choose_partition(kl_bits, *, seed, step, budget_bits=DEFAULT_BUDGET_BITS,
                     padding_bits=DEFAULT_PADDING_BITS):
    """The encoder's chunk partition, every chunk's KL ``<= budget_bits``: a ``Partition``.

    Parameters
    ----------
    kl_bits : array_like
        ``KL(q||p)`` per dimension in bits (flattened in C order), each ``>= 0``.
    seed, step : int
        The shared seed and step number, each in ``[0, 2^64)``.
    budget_bits, padding_bits : int
        Chunk KL budget and padding (the latter only enters the predicted index cost).

    Returns
    -------
    Partition
        ``(mode, num_blocks, chunk_sizes)``: near-equal blocks of the fewest
        fitting count (``"equal"``), halved blocks (``"split"``) or greedy runs
        (``"greedy"``), whichever has the smallest predicted segment size.

    Raises
    ------
    ValueError
        If a single dimension has KL above ``budget_bits`` (no partition fits).
    """
    kl = np.ravel(_check_array("kl_bits", kl_bits))
    if np.any(kl < 0.0):
        raise ValueError("kl_bits must be >= 0 everywhere")
    seed, step, budget_bits, padding_bits = _check_params(seed, step, budget_bits, padding_bits)
    return _choose_partition(kl, seed, step, budget_bits, padding_bits)


def _predicted_bits(mode, sizes, permuted_kl, budget_bits, padding_bits):
    """Predicted segment bits of an ``equal`` or ``greedy`` partition: side information plus index costs."""
    index_bits = expected_index_bits(_chunk_sums(permuted_kl, sizes), budget_bits, padding_bits).sum()
    return partition_code_length_bits(mode, sizes, permuted_kl.size) + index_bits


def _choose_partition(kl, seed, step, budget_bits, padding_bits):
    """``choose_partition`` on validated inputs."""
    if kl.max() > budget_bits:
        raise ValueError(f"budget_bits={budget_bits} is below the largest per-dimension KL "
                         f"({kl.max():.6g} bits, dimension {int(np.argmax(kl))}); raise budget_bits or "
                         f"make the step smaller")
    permuted = kl[dimension_permutation(seed, step, kl.size)]
    greedy = _greedy_partition(permuted, budget_bits)
    if greedy.size == 1:
        return Partition("equal", 1, greedy)
    options = [(_predicted_bits("greedy", greedy, permuted, budget_bits, padding_bits), 2,
                Partition("greedy", int(greedy.size), greedy))]
    # Equal blocks are searched up to 4x the greedy count + 16: beyond that the extra chunks' index
    # costs (>= 2 predicted bits each) exceed what the greedy sizes cost in side information in practice.
    equal = _equal_partition(permuted, budget_bits, 4 * greedy.size + 16)
    if equal is not None:
        options.append((_predicted_bits("equal", equal, permuted, budget_bits, padding_bits), 0,
                        Partition("equal", int(equal.size), equal)))
    split_bits, num_blocks, split = _split_search(permuted, budget_bits, padding_bits)
    options.append((split_bits, 1, Partition("split", num_blocks, split)))
    return min(options, key=lambda option: option[:2])[2]


def pfr_tail_probability(kl_bits, num_candidates):
    """``P(K > N)`` for PFR on a Gaussian chunk with ``q_std == p_std`` and ``KL = kl_bits``.

    Parameters
    ----------
    kl_bits : array_like
        Chunk KL in bits, in ``[0, 24]`` (the range of the quadrature's accuracy).
    num_candidates : int
        ``N``, in ``[1, 2^30]``.

    Returns
    -------
    numpy.ndarray
        ``E_q[(c/(1+c))^N]`` with ``c`` the conditional mean of ``K - 1`` (see
        ``_pfr_law``); it bounds the TV distance of the ``N``-truncated sampler to ``q``.
    """
    kl = np.atleast_1d(_check_array("kl_bits", kl_bits))
    if np.any(kl < 0.0) or np.any(kl > 24.0):
        raise ValueError("kl_bits must lie in [0, 24]")
    num_candidates = _check_int("num_candidates", num_candidates, 1, 2**MAX_INDEX_BITS)
    return pfr_survival(kl * _LN2, [num_candidates])[:, 0]


def pfr_index_entropy_bits(kl_bits):
    """Entropy ``H(K)`` in bits of the untruncated PFR index for an equal-std Gaussian chunk with KL ``kl_bits``.

    The cost of exact sampling by PFR with the best code for the index of a
    chunk whose KL the decoder knows: ``H(K) - KL`` is 1.91, 2.30, 2.54, 2.70,
    2.93, 3.09 and 3.33 bits at KL = 1, 2, 3, 4, 6, 8 and 12 bits (Li & El
    Gamal's bound, ``log2(KL + 1) + 4``, is 5-7.7 there). The truncated
    sampler's index can cost less, paid for in total variation
    (``pfr_tail_probability``).

    Parameters
    ----------
    kl_bits : array_like
        Chunk KL in bits, in ``[0, 24]``.

    Returns
    -------
    numpy.ndarray
        One entropy per KL, float64.
    """
    kl = np.atleast_1d(_check_array("kl_bits", kl_bits))
    if np.any(kl < 0.0) or np.any(kl > 24.0):
        raise ValueError("kl_bits must lie in [0, 24]")
    return pfr_index_entropy_nats(kl.ravel() * _LN2).reshape(kl.shape) / _LN2


def _tv_bounds(q_mean, q_std, p_mean, p_std, dims_of, kl_nats_chunks, equal_std, index_bits):
    """Per-chunk bound on ``P(K > N)``: exact tail where stds agree, Renyi-Chernoff otherwise."""
    bounds = np.empty(len(dims_of))
    if np.any(equal_std):
        bounds[equal_std] = pfr_survival(kl_nats_chunks[equal_std], [1 << index_bits])[:, 0]
    other = np.flatnonzero(~equal_std)
    if other.size:
        renyi = np.empty((_RENYI_ORDERS.size, other.size))
        for col, c in enumerate(other):
            d = dims_of[c]
            per_dim = renyi_nats_per_dim(_RENYI_ORDERS[:, None], q_mean[d], q_std[d], p_mean[d], p_std[d])
            renyi[:, col] = per_dim.sum(axis=1)
        bounds[other] = renyi_tv_bound(index_bits * _LN2, renyi, _RENYI_ORDERS)
    return bounds


def _scan_chunk(coefficients, seed, step, chunk, num_candidates, checkpoints=()):
    """PFR over the first ``num_candidates`` candidates of a chunk: ``(best index, {N': best index below N'})``.

    ``checkpoints`` are candidate counts ``N' <= num_candidates``; the dict maps
    each to the index that PFR truncated at ``N'`` selects (they share candidates).
    """
    offset, linear, quadratic = coefficients
    dims = linear.size
    rows = block_rows(dims)
    const = float(offset.sum())
    use_quadratic = bool(np.any(quadratic != 0.0))
    pending = sorted(int(c) for c in checkpoints)
    found = {}
    best_score, best_index, arrival_offset = np.inf, -1, 0.0
    for block in range(-(-num_candidates // rows)):
        first = block * rows
        normals, gaps = candidate_block(seed, step, chunk, block, dims, with_arrivals=True)
        used = min(rows, num_candidates - first)
        normals, gaps = normals[:used], gaps[:used]
        arrivals = arrival_offset + np.cumsum(gaps)
        arrival_offset = float(arrivals[-1])
        log_ratio = const + np.einsum("ij,j->i", normals, linear)
        if use_quadratic:
            log_ratio = log_ratio + np.einsum("ij,j->i", normals * normals, quadratic)
        score = np.log(arrivals) - log_ratio
        while pending and pending[0] <= first + used:
            limit = pending.pop(0) - first
            k = int(np.argmin(score[:limit]))
            found[first + limit] = first + k if score[k] < best_score else best_index
        k = int(np.argmin(score))
        if score[k] < best_score:
            best_score, best_index = float(score[k]), first + k
    return best_index, found


def _chunk_sample(index, p_mean_chunk, p_std_chunk, seed, step, chunk):
    """``p_mean + p_std Z_index`` for one chunk: the same arithmetic in encoder and decoder."""
    rows = block_rows(p_mean_chunk.size)
    normals = candidate_block(seed, step, chunk, index // rows, p_mean_chunk.size)
    return p_mean_chunk + p_std_chunk * normals[index % rows]


def _prepare(q_mean, q_std, p_mean, p_std, seed, step, budget_bits, padding_bits):
    """Validated flat arrays, per-dim KL (nats), partition, chunk dims and log-ratio coefficients."""
    q_mean = _check_array("q_mean", q_mean)
    shape = q_mean.shape
    q_std = _check_array("q_std", q_std, shape, positive=True).ravel()
    p_mean = _check_array("p_mean", p_mean, shape).ravel()
    p_std = _check_array("p_std", p_std, shape, positive=True).ravel()
    q_mean = q_mean.ravel()
    kl_nats = kl_nats_per_dim(q_mean, q_std, p_mean, p_std)
    partition = _choose_partition(kl_nats / _LN2, seed, step, budget_bits, padding_bits)
    dims_of = _chunk_dims(q_mean.size, partition.chunk_sizes, seed, step)
    coefficients = log_ratio_coefficients(q_mean, q_std, p_mean, p_std)
    return shape, (q_mean, q_std, p_mean, p_std), kl_nats, partition, dims_of, coefficients


def encode_step(q_mean, q_std, p_mean, p_std, *, seed, step,
                budget_bits=DEFAULT_BUDGET_BITS, padding_bits=DEFAULT_PADDING_BITS):
    """Code one sample of ``q`` under ``p``: chunk partition, PFR index per chunk, range-coded segment.

    Parameters
    ----------
    q_mean, q_std : array_like
        Sender's diagonal Gaussian ``q`` (stds ``> 0``), any shape; flattened in C order.
    p_mean, p_std : array_like
        Receiver's diagonal Gaussian ``p``, same shape.
    seed, step : int
        Shared seed and step number, each in ``[0, 2^64)``; together they key every random number.
    budget_bits : int
        Largest KL of a chunk in bits, ``[1, 24]``; default 8.
    padding_bits : int
        Extra candidates: ``N = 2^(budget_bits + padding_bits)`` per chunk, ``[0, 16]``,
        ``budget_bits + padding_bits <= 30``; default 8.

    Returns
    -------
    StepCode
        The message (partition, indices), its segment bytes, the delivered
        sample (what ``decode_step`` reproduces bit for bit) and per-chunk KL,
        code length and TV bound.

    Raises
    ------
    ValueError
        On invalid input, or if one dimension's KL exceeds ``budget_bits``.
    """
    seed, step, budget_bits, padding_bits = _check_params(seed, step, budget_bits, padding_bits)
    shape, flat, kl_nats, partition, dims_of, coefficients = _prepare(
        q_mean, q_std, p_mean, p_std, seed, step, budget_bits, padding_bits)
    q_mean, q_std, p_mean, p_std = flat
    sizes = partition.chunk_sizes
    offset, linear, quadratic = coefficients
    num_candidates = 1 << (budget_bits + padding_bits)
    indices = np.empty(sizes.size, dtype=np.int64)
    samples = np.empty(q_mean.size)
    for c, d in enumerate(dims_of):
        indices[c], _ = _scan_chunk((offset[d], linear[d], quadratic[d]), seed, step, c, num_candidates)
        samples[d] = _chunk_sample(int(indices[c]), p_mean[d], p_std[d], seed, step, c)
    kl_nats_chunks = np.array([kl_nats[d].sum() for d in dims_of])
    equal_std = np.array([bool(np.all(quadratic[d] == 0.0)) for d in dims_of])
    tv_bound = _tv_bounds(q_mean, q_std, p_mean, p_std, dims_of, kl_nats_chunks, equal_std,
                          budget_bits + padding_bits)
    message = StepMessage(partition=partition.mode, chunk_sizes=_read_only(sizes), indices=_read_only(indices),
                          num_blocks=partition.num_blocks)
    return StepCode(
        message=message,
        samples=_read_only(samples.reshape(shape)),
        kl_bits_per_chunk=_read_only(kl_nats_chunks / _LN2),
        tv_bound_per_chunk=_read_only(tv_bound),
        tail_is_exact=_read_only(equal_std),
        index_bits_per_chunk=_read_only(index_code_length_bits(indices, budget_bits, padding_bits)),
        partition_bits=partition_code_length_bits(partition.mode, sizes, q_mean.size, partition.num_blocks),
        segment=encode_segment(message, q_mean.size, budget_bits=budget_bits, padding_bits=padding_bits),
        budget_bits=budget_bits,
        padding_bits=padding_bits,
    )


def _check_message(message, num_dims, index_bits):
    """Validated ``(mode, num_blocks, chunk_sizes, indices)`` of a ``StepMessage`` for ``num_dims`` dimensions."""
    if not isinstance(message, StepMessage):
        raise ValueError(f"message must be a StepMessage, got {type(message).__name__}")
    sizes = _check_sizes(message.chunk_sizes, num_dims, "message.chunk_sizes")
    arr = np.asarray(message.indices)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer) or arr.size != sizes.size:
        raise ValueError(f"message.indices must be a 1-D integer array with one entry per chunk "
                         f"({sizes.size}), got dtype {arr.dtype} and shape {arr.shape}")
    if np.any(arr < 0) or np.any(arr >= (1 << index_bits)):
        raise ValueError(f"message.indices must lie in [0, 2^{index_bits}), got range [{arr.min()}, {arr.max()}]")
    mode = message.partition
    if mode not in PARTITION_MODES:
        raise ValueError(f"message.partition must be one of {PARTITION_MODES}, got {mode!r}")
    num_blocks = sizes.size if message.num_blocks is None else message.num_blocks
    if mode != "split" and num_blocks != sizes.size:
        raise ValueError(f"message.num_blocks must be the chunk count ({sizes.size}) or None for partition "
                         f"{mode!r}, got {num_blocks}")
    num_blocks = _check_int("message.num_blocks", num_blocks, 1, num_dims)
    if mode == "equal" and not np.array_equal(sizes, equal_chunk_sizes(num_dims, sizes.size)):
        raise ValueError("message.chunk_sizes must be the near-equal sizes when message.partition is 'equal'")
    if mode == "split":
        split_flags_from_sizes(num_dims, num_blocks, sizes)      # ValueError unless the flags exist
    return mode, num_blocks, sizes, arr.astype(np.int64)


def decode_step(message, p_mean, p_std, *, seed, step,
                budget_bits=DEFAULT_BUDGET_BITS, padding_bits=DEFAULT_PADDING_BITS):
    """The delivered sample of one step from its message, ``p`` and the shared ``(seed, step)``.

    Parameters
    ----------
    message : StepMessage
        ``StepCode.message`` or ``decode_segment``'s output.
    p_mean, p_std : array_like
        Receiver's diagonal Gaussian, the shape of the data.
    seed, step : int
        As given to ``encode_step``.
    budget_bits, padding_bits : int
        As given to ``encode_step`` (they bound the valid index range).

    Returns
    -------
    numpy.ndarray
        float64 sample of ``p_mean``'s shape, bit-identical to ``StepCode.samples``.
    """
    seed, step, budget_bits, padding_bits = _check_params(seed, step, budget_bits, padding_bits)
    p_mean = _check_array("p_mean", p_mean)
    shape = p_mean.shape
    p_std = _check_array("p_std", p_std, shape, positive=True).ravel()
    p_mean = p_mean.ravel()
    _, _, sizes, indices = _check_message(message, p_mean.size, budget_bits + padding_bits)
    samples = np.empty(p_mean.size)
    for c, d in enumerate(_chunk_dims(p_mean.size, sizes, seed, step)):
        samples[d] = _chunk_sample(int(indices[c]), p_mean[d], p_std[d], seed, step, c)
    return samples.reshape(shape)


def encode_segment(message, num_dims, *, budget_bits=DEFAULT_BUDGET_BITS, padding_bits=DEFAULT_PADDING_BITS):
    """Range-coded bytes of a ``StepMessage`` (the shortest string that decodes back to it).

    Parameters
    ----------
    message : StepMessage
        Partition and indices, indices in ``[0, 2^(budget_bits + padding_bits))``.
    num_dims : int
        Number of data dimensions.
    budget_bits, padding_bits : int
        Select the index model; the decoder must use the same.

    Returns
    -------
    bytes
        The segment; ``decode_segment`` inverts it.
    """
    _, _, budget_bits, padding_bits = _check_params(0, 0, budget_bits, padding_bits)
    num_dims = _check_int("num_dims", num_dims, 1, MAX_NUM_DIMS)
    mode, num_blocks, sizes, indices = _check_message(message, num_dims, budget_bits + padding_bits)
    if sizes.size == 1:
        mode, num_blocks = "equal", 1

    def decodes(candidate):
        try:
            got = decode_segment_symbols(candidate, num_dims, budget_bits, padding_bits)
        except Exception:  # noqa: BLE001 - any failure rules the candidate out
            return False
        return np.array_equal(got[2], sizes) and np.array_equal(got[3], indices)

    full = encode_segment_symbols(mode, num_blocks, sizes, indices, num_dims, budget_bits, padding_bits)
    segment = shortest_segment(full, decodes)
    if not decodes(segment):
        raise RuntimeError("internal error: the range-coded segment does not decode to its message")
    return segment


def decode_segment(segment, num_dims, *, budget_bits=DEFAULT_BUDGET_BITS, padding_bits=DEFAULT_PADDING_BITS):
    """The ``StepMessage`` (partition and indices) of a segment written by ``encode_segment``.

    Parameters
    ----------
    segment : bytes
        One step's segment.
    num_dims : int
        Number of data dimensions.
    budget_bits, padding_bits : int
        As used by the encoder.

    Returns
    -------
    StepMessage

    Raises
    ------
    BitstreamError
        If the segment declares an impossible partition or cannot be decoded.
    """
    _, _, budget_bits, padding_bits = _check_params(0, 0, budget_bits, padding_bits)
    num_dims = _check_int("num_dims", num_dims, 1, MAX_NUM_DIMS)
    if not isinstance(segment, (bytes, bytearray, memoryview)):
        raise ValueError(f"segment must be bytes, got {type(segment).__name__}")
    try:
        mode, num_blocks, sizes, indices = decode_segment_symbols(bytes(segment), num_dims, budget_bits,
                                                                  padding_bits)
    except BitstreamError:
        raise
    except Exception as exc:  # constriction raises its own error types on invalid data
        raise BitstreamError(f"corrupted segment: the range decoder failed ({exc})") from None
    return StepMessage(partition=mode, chunk_sizes=_read_only(sizes), indices=_read_only(indices),
                       num_blocks=num_blocks)
