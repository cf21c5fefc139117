"""Reverse channel coding of one DiffC step: diagonal Gaussians ``q``, ``p`` and a shared seed <-> a few bytes.

::

    sender: q = N(q_mean, q_std^2), p = N(p_mean, p_std^2)          receiver: p, seed, step
      |  KL(q||p) per dimension (bits)
      |  partition.choose: the (seed, step) permutation of the dimensions
      |  cut into chunks with KL <= budget_bits each
      |  candidate_bits: N_c = 2^L_c candidates for chunk c, from its KL
      |  sampler.scan_chunks (worker processes) or gpu.scan_chunks (CUDA):
      |  PFR over the first N_c Philox/Box-Muller candidates -> index K_c
      v
    segment = range code of (partition side information, K_1 .. K_m) -->  decode_segment -> StepMessage
      (index_coding, constriction; every bit counted)                      decode_step -> samples,
                                                                           bit-identical to the sender's

Candidates per chunk (``tail_target``). PFR delivers ``q`` exactly when it may
scan without limit; truncated at ``N`` candidates it differs from ``q`` only on
the event ``K > N``, so ``P(K > N)`` bounds the total-variation distance of the
delivered chunk to ``q`` (coupling). For a chunk with ``q_std == p_std`` (DiffC's
case) and KL ``D``, ``P(K > N)`` is known exactly (``pfr_law``). The rule:
chunk ``c`` gets ``N_c = 2^L_c`` candidates, the fewest powers of two with
``P(K > N_c) <= tail_target`` at its KL, at most ``2^(budget_bits + padding_bits)``
(``candidate_bits``; chunks whose stds differ use the equal-std law at their KL
for the rule, and report the Renyi-Chernoff bound). ``tail_target=None`` gives
every chunk ``2^(budget_bits + padding_bits)``. The decoder never needs ``N_c``:
an index is coded under the index model of ``[0, 2^(budget_bits + padding_bits))``
whatever ``N_c`` was.

Compute per chunk (``chunk_cost_bits``). A step whose KL is spread thinly over
many dimensions would be cut into a few wide chunks near the budget, each
scanning ``2^(budget + padding)`` candidates of all its dimensions: every step
would cost about ``d 2^(budget + padding)`` candidate coordinates whatever its
KL. The partition (``partition.ChunkCap``) therefore also keeps every chunk of
two or more dimensions at most ``2^chunk_cost_bits`` coordinates (its size times
``N_c``), cutting wide chunks into more, smaller ones: a few more indices to
send, exponentially fewer candidates (``N_c`` falls with the chunk's KL). The
decoder does not need it. ``chunk_cost_bits=None`` lifts the cap.

One dimension above the budget (``max_budget_bits``). A dimension whose KL is
above ``budget_bits``, up to ``max_budget_bits``, is a chunk of its own and scans
up to ``2^(max_budget_bits + padding_bits)`` candidates; an index beyond the
index model's range is sent with an escape (``index_coding``). Every other chunk,
its candidates and its code are what they are without it.

For an equal-std chunk with KL ``D`` nats, ``ln r(X) ~ N(D, 2D)`` under ``q``, so
the ``N`` needed for a given tail grows like ``exp(D + z sqrt(2D))``: a chunk at
8 bits has ``P(K > N) = 0.042`` at ``N = 2^16``, 0.0057 at ``2^20`` and 0.00043 at
``2^24`` (``pfr_tail_probability``), a chunk at 4 bits reaches 0.04 at ``2^10``.

Rates. ``StepCode.coded_bits`` is ``8 len(segment)``, the step's share of the
payload (no container header). The index model (``index_coding``) is the PFR
index law itself, so the cost per chunk is close to the index entropy, ~2.5-3
bits above the chunk's KL at ``budget_bits = 8``.

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

import functools
import math
from dataclasses import dataclass

import numpy as np

from .._errors import BitstreamError
from . import partition as _partition
from . import sampler
from .checks import (DEFAULT_BUDGET_BITS, DEFAULT_PADDING_BITS, MAX_INDEX_BITS, MAX_NUM_DIMS, UINT64_LIMIT,
                     check_array, check_int, check_max_budget, check_params, check_sizes, read_only)
from .gaussian_ratio import kl_nats_per_dim, log_ratio_coefficients, renyi_nats_per_dim
from .index_coding import SegmentReader, SegmentWriter, index_code_length_bits, shortest_segment
from .pfr_law import candidate_bits_from_thresholds, pfr_index_entropy_nats, pfr_survival, renyi_tv_bound

#: Default ``tail_target``: each chunk's exact truncation tail P(K > N_c) is at most this.
DEFAULT_TAIL_TARGET = 0.02
#: Default ``chunk_cost_bits``: a chunk of two or more dimensions scans at most 2^25 candidate coordinates.
DEFAULT_CHUNK_COST_BITS = 25
CHUNK_COST_BITS_RANGE = (1, 64)
_LN2 = math.log(2.0)
# Renyi orders 1 + s, s = 1/32 .. 1 by 1/32 and 1.25 .. 8 by 1/4, searched by the Chernoff bound.
_RENYI_ORDERS = 1.0 + np.concatenate([np.arange(1, 33) / 32.0, np.arange(5, 33) / 4.0])


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

    Arrays are read-only. ``tv_bound_per_chunk[c] >= P(K_c > N_c) >= TV(delivered
    chunk c, q restricted to chunk c)``; ``tail_is_exact[c]`` says it is the
    exact ``P(K_c > N_c)`` (equal stds) rather than the Renyi-Chernoff bound.
    """

    message: StepMessage              # partition and indices; decode_step(message, ...) == samples
    samples: np.ndarray               # shape of q_mean, float64: the delivered sample
    kl_bits_per_chunk: np.ndarray     # [num_chunks] KL(q||p) per chunk in bits, <= budget_bits but a lone dimension's
    candidate_bits_per_chunk: np.ndarray  # [num_chunks] L_c: chunk c scanned N_c = 2^L_c candidates
    tv_bound_per_chunk: np.ndarray    # [num_chunks] bound on P(K > N_c), hence on the chunk's TV to q
    tail_is_exact: np.ndarray         # [num_chunks] bool: the bound is the exact P(K > N_c)
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
        """The index model's range ``2^(budget_bits + padding_bits)``: the most candidates a chunk within the budget
        may scan (a lone dimension above it may scan more: ``candidate_bits_per_chunk``)."""
        return 1 << (self.budget_bits + self.padding_bits)

    @property
    def num_candidates_per_chunk(self):
        """``[num_chunks]`` int64 ``N_c = 2^L_c``: candidates scanned for each chunk."""
        return np.left_shift(np.int64(1), self.candidate_bits_per_chunk.astype(np.int64))

    @property
    def candidate_coordinates(self):
        """``sum_c dims_c N_c``: candidate coordinates the encoder drew (its cost)."""
        return int(np.sum(self.chunk_sizes * self.num_candidates_per_chunk))

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
    q_mean = check_array("q_mean", q_mean)
    shape = q_mean.shape
    q_std = check_array("q_std", q_std, shape, positive=True)
    p_mean = check_array("p_mean", p_mean, shape)
    p_std = check_array("p_std", p_std, shape, positive=True)
    return kl_nats_per_dim(q_mean, q_std, p_mean, p_std) / _LN2


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
    num_dims = check_int("num_dims", num_dims, 1, MAX_NUM_DIMS)
    sizes = check_sizes(chunk_sizes, num_dims)
    seed = check_int("seed", seed, 0, UINT64_LIMIT - 1)
    step = check_int("step", step, 0, UINT64_LIMIT - 1)
    return _chunk_dims(num_dims, sizes, seed, step)


def _chunk_dims(num_dims, sizes, seed, step):
    """``chunk_dims`` on validated inputs."""
    perm = sampler.dimension_permutation(seed, step, num_dims)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return tuple(perm[edges[c]:edges[c + 1]] for c in range(sizes.size))


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
        ``pfr_law``); it bounds the TV distance of the ``N``-truncated sampler to ``q``.
    """
    kl = np.atleast_1d(check_array("kl_bits", kl_bits))
    if np.any(kl < 0.0) or np.any(kl > 24.0):
        raise ValueError("kl_bits must lie in [0, 24]")
    num_candidates = check_int("num_candidates", num_candidates, 1, 2**MAX_INDEX_BITS)
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
    kl = np.atleast_1d(check_array("kl_bits", kl_bits))
    if np.any(kl < 0.0) or np.any(kl > 24.0):
        raise ValueError("kl_bits must lie in [0, 24]")
    return pfr_index_entropy_nats(kl.ravel() * _LN2).reshape(kl.shape) / _LN2


@functools.lru_cache(maxsize=16)
def _tail_thresholds_bits(tail_target, max_bits):
    """``[max_bits + 1]``: for ``L = 0..max_bits`` the largest chunk KL (bits, <= 24) whose tail at ``2^L`` is <= target."""
    out = np.empty(max_bits + 1)
    for bits in range(max_bits + 1):
        n = float(1 << bits)
        if pfr_survival([24.0 * _LN2], [n])[0, 0] <= tail_target:
            out[bits] = 24.0
            continue
        lo, hi = 0.0, 24.0                       # tail(lo) <= target < tail(hi); tail(0) = 0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if pfr_survival([mid * _LN2], [n])[0, 0] <= tail_target:
                lo = mid
            else:
                hi = mid
        out[bits] = lo
    return out


def candidate_bits(kl_bits, budget_bits=DEFAULT_BUDGET_BITS, padding_bits=DEFAULT_PADDING_BITS,
                   tail_target=DEFAULT_TAIL_TARGET):
    """``L_c`` per chunk: the fewest candidate bits whose exact equal-std tail ``P(K > 2^L)`` is <= ``tail_target``.

    Parameters
    ----------
    kl_bits : array_like
        Chunk KLs in bits, in ``[0, 24]``.
    budget_bits, padding_bits : int
        ``L_c`` is at most ``budget_bits + padding_bits`` (the index range).
    tail_target : float or None
        In ``(0, 1)``; ``None`` gives every chunk ``budget_bits + padding_bits``.

    Returns
    -------
    numpy.ndarray
        int64 ``L_c`` per chunk, ``0 <= L_c <= budget_bits + padding_bits``.

    >>> candidate_bits([0.0, 4.0, 8.0], 8, 8, 0.04).tolist()
    [0, 10, 16]
    """
    kl = np.atleast_1d(check_array("kl_bits", kl_bits))
    if np.any(kl < 0.0) or np.any(kl > 24.0):
        raise ValueError("kl_bits must lie in [0, 24]")
    _, _, budget_bits, padding_bits = check_params(0, 0, budget_bits, padding_bits)
    max_bits = budget_bits + padding_bits
    if tail_target is None:
        return np.full(kl.shape, max_bits, dtype=np.int64)
    tail_target = _check_tail_target(tail_target)
    return candidate_bits_from_thresholds(kl, _tail_thresholds_bits(tail_target, max_bits), max_bits)


def chunk_cap(chunk_cost_bits, budget_bits=DEFAULT_BUDGET_BITS, padding_bits=DEFAULT_PADDING_BITS,
              tail_target=DEFAULT_TAIL_TARGET):
    """The ``partition.ChunkCap`` of ``encode_step``'s settings, or ``None`` for ``chunk_cost_bits=None``.

    >>> cap = chunk_cap(20, 8, 8, 0.02)
    >>> cap.over([8.0, 8.0, 2.0], [32, 16, 32]).tolist()     # 32 x 2^16 > 2^20; 16 x 2^16 fits; 2 bits: 2^8
    [True, False, False]
    """
    if chunk_cost_bits is None:
        return None
    cost_bits = check_int("chunk_cost_bits", chunk_cost_bits, *CHUNK_COST_BITS_RANGE)
    max_bits = int(budget_bits) + int(padding_bits)
    thresholds = (np.full(max_bits + 1, -np.inf) if tail_target is None
                  else _tail_thresholds_bits(_check_tail_target(tail_target), max_bits))
    return _partition.ChunkCap(cost_bits, thresholds, max_bits)


def _check_tail_target(tail_target):
    """``tail_target`` as a float in ``(0, 1)``, or ``ValueError`` naming it."""
    try:
        value = float(tail_target)
    except (TypeError, ValueError):
        raise ValueError(f"tail_target must be a number in (0, 1) or None, got {tail_target!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"tail_target must lie in (0, 1), got {tail_target!r}")
    return value


def _tv_bounds(q_mean, q_std, p_mean, p_std, dims_of, kl_nats_chunks, equal_std, bits):
    """Per-chunk bound on ``P(K > N_c)``: exact tail where stds agree, Renyi-Chernoff otherwise."""
    bounds = np.empty(len(dims_of))
    for value in np.unique(bits[equal_std]):
        sel = equal_std & (bits == value)
        bounds[sel] = pfr_survival(kl_nats_chunks[sel], [float(1 << int(value))])[:, 0]
    other = np.flatnonzero(~equal_std)
    if other.size:
        renyi = np.empty((_RENYI_ORDERS.size, other.size))
        for col, c in enumerate(other):
            d = dims_of[c]
            per_dim = renyi_nats_per_dim(_RENYI_ORDERS[:, None], q_mean[d], q_std[d], p_mean[d], p_std[d])
            renyi[:, col] = per_dim.sum(axis=1)
        for value in np.unique(bits[other]):
            sel = bits[other] == value
            bounds[other[sel]] = renyi_tv_bound(int(value) * _LN2, renyi[:, sel], _RENYI_ORDERS)
    return bounds


def _check_device(device):
    """``"cpu"``, ``"cuda"`` (or ``"cuda:N"``), or ``"auto"`` resolved to CUDA when torch sees one."""
    if device is None or device == "cpu":
        return "cpu"
    if not isinstance(device, str) or not (device in ("auto", "cuda") or device.startswith("cuda:")):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}")
    if device == "auto":
        try:
            import torch
        except ImportError:
            return "cpu"
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def encode_step(q_mean, q_std, p_mean, p_std, *, seed, step, budget_bits=DEFAULT_BUDGET_BITS,
                padding_bits=DEFAULT_PADDING_BITS, tail_target=DEFAULT_TAIL_TARGET, workers=1, device="cpu",
                max_budget_bits=None, chunk_cost_bits=DEFAULT_CHUNK_COST_BITS):
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
        Largest KL of a chunk in bits, ``[1, 24]``; default 8. It selects the index model.
    padding_bits : int
        Index range ``2^(budget_bits + padding_bits)``: the most candidates a chunk within the budget
        may scan, ``[0, 16]``, ``budget_bits + padding_bits <= 30``; default 8.
    tail_target : float or None
        Candidates per chunk from its KL (``candidate_bits``); default 0.02. ``None``: every chunk
        scans ``2^(budget_bits + padding_bits)``.
    workers : int
        Worker processes scanning chunks on the CPU (the output does not depend on it); default 1.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when torch sees one): where the scan runs. The
        selected indices agree with the CPU scan's up to float rounding (near-ties), and the delivered
        sample is computed on the CPU as the decoder computes it.
    max_budget_bits : int or None
        The most KL one dimension may carry (``budget_bits <= max_budget_bits``,
        ``max_budget_bits + padding_bits <= 30``; default ``budget_bits``): a dimension above
        ``budget_bits`` is a chunk of its own, scans up to ``2^(max_budget_bits + padding_bits)``
        candidates and sends its index with an escape if it is beyond the index model's range. Every
        other chunk is unchanged by it. The decoder does not need it.
    chunk_cost_bits : int or None
        A chunk of two or more dimensions scans at most ``2^chunk_cost_bits`` candidate coordinates
        (dimensions times candidates), ``[1, 64]``; default 25. ``None``: no cap. The decoder does
        not need it.

    Returns
    -------
    StepCode
        The message (partition, indices), its segment bytes, the delivered
        sample (what ``decode_step`` reproduces bit for bit) and per-chunk KL,
        candidates, code length and TV bound.

    Raises
    ------
    ValueError
        On invalid input, or if one dimension's KL exceeds ``max_budget_bits``.
    """
    seed, step, budget_bits, padding_bits = check_params(seed, step, budget_bits, padding_bits)
    if tail_target is not None:
        tail_target = _check_tail_target(tail_target)
    workers = check_int("workers", workers, 1, 1024)
    max_budget_bits = check_max_budget(max_budget_bits, budget_bits, padding_bits)
    cap = chunk_cap(chunk_cost_bits, budget_bits, padding_bits, tail_target)
    device = _check_device(device)
    q_mean = check_array("q_mean", q_mean)
    shape = q_mean.shape
    q_std = check_array("q_std", q_std, shape, positive=True).ravel()
    p_mean = check_array("p_mean", p_mean, shape).ravel()
    p_std = check_array("p_std", p_std, shape, positive=True).ravel()
    q_mean = q_mean.ravel()
    kl_nats = kl_nats_per_dim(q_mean, q_std, p_mean, p_std)
    part = _partition.choose(kl_nats / _LN2, seed, step, budget_bits, padding_bits, max_budget_bits, cap)
    sizes = part.chunk_sizes
    dims_of = _chunk_dims(q_mean.size, sizes, seed, step)
    offset, linear, quadratic = log_ratio_coefficients(q_mean, q_std, p_mean, p_std)
    kl_nats_chunks = np.array([kl_nats[d].sum() for d in dims_of])
    kl_bits_chunks = np.minimum(kl_nats_chunks / _LN2, 24.0)
    bits = candidate_bits(kl_bits_chunks, budget_bits, padding_bits, tail_target)
    above = kl_bits_chunks > budget_bits                 # one dimension each (the partition's rule)
    if np.any(above):
        bits[above] = candidate_bits(kl_bits_chunks[above], max_budget_bits, padding_bits, tail_target)
    jobs = [((offset[d], linear[d], quadratic[d]), 1 << int(b)) for d, b in zip(dims_of, bits)]
    if device == "cpu":
        indices = sampler.scan_chunks(jobs, seed, step, workers)
    else:
        from . import gpu

        indices = gpu.scan_chunks(jobs, seed, step, device=device)
    samples = _delivered(indices, dims_of, p_mean, p_std, seed, step)
    equal_std = np.array([bool(np.all(quadratic[d] == 0.0)) for d in dims_of])
    tv_bound = _tv_bounds(q_mean, q_std, p_mean, p_std, dims_of, kl_nats_chunks, equal_std, bits)
    message = StepMessage(partition=part.mode, chunk_sizes=read_only(sizes), indices=read_only(indices),
                          num_blocks=part.num_blocks)
    return StepCode(
        message=message,
        samples=read_only(samples.reshape(shape)),
        kl_bits_per_chunk=read_only(kl_nats_chunks / _LN2),
        candidate_bits_per_chunk=read_only(bits),
        tv_bound_per_chunk=read_only(tv_bound),
        tail_is_exact=read_only(equal_std),
        index_bits_per_chunk=read_only(index_code_length_bits(indices, budget_bits, padding_bits)),
        partition_bits=_partition.partition_code_length_bits(part.mode, sizes, q_mean.size, part.num_blocks),
        segment=encode_segment(message, q_mean.size, budget_bits=budget_bits, padding_bits=padding_bits),
        budget_bits=budget_bits,
        padding_bits=padding_bits,
    )


def _delivered(indices, dims_of, p_mean, p_std, seed, step):
    """``p_mean + p_std Z_K`` of every chunk, float64: the same arithmetic in encoder and decoder."""
    samples = np.empty(p_mean.size)
    for c, d in enumerate(dims_of):
        samples[d] = p_mean[d] + p_std[d] * sampler.selected_normals(seed, step, c, int(indices[c]), d.size)
    return samples


def _check_message(message, num_dims):
    """Validated ``(mode, num_blocks, chunk_sizes, indices)`` of a ``StepMessage`` for ``num_dims`` dimensions."""
    if not isinstance(message, StepMessage):
        raise ValueError(f"message must be a StepMessage, got {type(message).__name__}")
    sizes = check_sizes(message.chunk_sizes, num_dims, "message.chunk_sizes")
    arr = np.asarray(message.indices)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer) or arr.size != sizes.size:
        raise ValueError(f"message.indices must be a 1-D integer array with one entry per chunk "
                         f"({sizes.size}), got dtype {arr.dtype} and shape {arr.shape}")
    if np.any(arr < 0) or np.any(arr >= (1 << MAX_INDEX_BITS)):
        raise ValueError(f"message.indices must lie in [0, 2^{MAX_INDEX_BITS}), got range [{arr.min()}, {arr.max()}]")
    mode = message.partition
    if mode not in _partition.PARTITION_MODES:
        raise ValueError(f"message.partition must be one of {_partition.PARTITION_MODES}, got {mode!r}")
    num_blocks = sizes.size if message.num_blocks is None else message.num_blocks
    if mode != "split" and num_blocks != sizes.size:
        raise ValueError(f"message.num_blocks must be the chunk count ({sizes.size}) or None for partition "
                         f"{mode!r}, got {num_blocks}")
    num_blocks = check_int("message.num_blocks", num_blocks, 1, num_dims)
    if mode == "equal" and not np.array_equal(sizes, _partition.equal_chunk_sizes(num_dims, sizes.size)):
        raise ValueError("message.chunk_sizes must be the near-equal sizes when message.partition is 'equal'")
    if mode == "split":
        _partition.split_flags_from_sizes(num_dims, num_blocks, sizes)      # ValueError unless the flags exist
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
        As given to ``encode_step`` (checked; the sample depends on the indices only).

    Returns
    -------
    numpy.ndarray
        float64 sample of ``p_mean``'s shape, bit-identical to ``StepCode.samples``.
    """
    seed, step, budget_bits, padding_bits = check_params(seed, step, budget_bits, padding_bits)
    p_mean = check_array("p_mean", p_mean)
    shape = p_mean.shape
    p_std = check_array("p_std", p_std, shape, positive=True).ravel()
    p_mean = p_mean.ravel()
    _, _, sizes, indices = _check_message(message, p_mean.size)
    return _delivered(indices, _chunk_dims(p_mean.size, sizes, seed, step), p_mean, p_std, seed, step).reshape(shape)


def _segment_symbols(mode, num_blocks, sizes, indices, num_dims, budget_bits, padding_bits):
    """Untrimmed range-coded bytes of a message: the partition's side information, then the indices."""
    writer = SegmentWriter()
    _partition.write(writer, mode, num_blocks, sizes, num_dims)
    writer.indices(indices, budget_bits, padding_bits)
    return writer.to_bytes()


def _parse_segment(segment, num_dims, budget_bits, padding_bits):
    """``(mode, num_blocks, chunk_sizes, indices)`` of a segment (integers only)."""
    reader = SegmentReader(segment)
    mode, num_blocks, sizes = _partition.read(reader, num_dims)
    return mode, num_blocks, sizes, reader.indices(sizes.size, budget_bits, padding_bits)


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
    _, _, budget_bits, padding_bits = check_params(0, 0, budget_bits, padding_bits)
    num_dims = check_int("num_dims", num_dims, 1, MAX_NUM_DIMS)
    mode, num_blocks, sizes, indices = _check_message(message, num_dims)
    if sizes.size == 1:
        mode, num_blocks = "equal", 1

    def decodes(candidate):
        try:
            got = _parse_segment(candidate, num_dims, budget_bits, padding_bits)
        except Exception:  # noqa: BLE001 - any failure rules the candidate out
            return False
        return np.array_equal(got[2], sizes) and np.array_equal(got[3], indices)

    full = _segment_symbols(mode, num_blocks, sizes, indices, num_dims, budget_bits, padding_bits)
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
    _, _, budget_bits, padding_bits = check_params(0, 0, budget_bits, padding_bits)
    num_dims = check_int("num_dims", num_dims, 1, MAX_NUM_DIMS)
    if not isinstance(segment, (bytes, bytearray, memoryview)):
        raise ValueError(f"segment must be bytes, got {type(segment).__name__}")
    try:
        mode, num_blocks, sizes, indices = _parse_segment(bytes(segment), num_dims, budget_bits, padding_bits)
    except BitstreamError:
        raise
    except Exception as exc:  # constriction raises its own error types on invalid data
        raise BitstreamError(f"corrupted segment: the range decoder failed ({exc})") from None
    return StepMessage(partition=mode, chunk_sizes=read_only(sizes), indices=read_only(indices),
                       num_blocks=num_blocks)
