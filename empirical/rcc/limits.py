"""How many candidates a coded rate needs: an idealised PFR chunking of a DiffC chain and its rate-compute limit.

A chunk of KL ``D`` bits coded by PFR costs about ``H(K)`` bits, the entropy of
its index (``step.pfr_index_entropy_bits``: ``D`` plus 1.9-3.3 bits for ``D`` in
1..12; the measured index cost is within 0.1 bit of it, docs/rcc.md), and to keep
its truncation tail ``P(K > N)`` at or below ``tail_target`` it scans
``N_t(D)`` candidates (``step.candidate_bits``) of every one of its dimensions.
Few, large chunks save index bits; large chunks cost candidates exponentially.

The **idealised coder** bounds that trade-off from below. In every step, each
dimension ``j`` (expected KL ``k_j``) may join a chunk of any KL ``D`` up to the
step's whole KL, chunks are perfectly filled (fractional chunk counts), the
partition is free, there is no byte rounding and the index costs ``H(K)``
exactly. Dimension ``j`` then costs ``k_j H(D) / D`` coded bits and ``N_t(D)``
candidate coordinates. It is a model of this package's coder with everything
but the index granted for free, not a theorem about every coder: it takes the
expected KLs for the realised ones, and it charges every index the entropy of
the untruncated PFR index, what exact sampling by PFR costs. The measured index
costs that at the default tail target (docs/rcc.md); a sampler truncated harder
codes below it by delivering samples pulled towards ``p`` (a chunk of 0.001 bit
with one candidate costs nothing and meets a tail target of 0.02).

The least coordinates for a coded rate ``r`` (coded bits over KL) is a
separable minimisation; its Lagrangian dual,
``max_mu sum_j min_D [N_t(D) + mu k_j H(D) / D] - mu r sum_j k_j``, is a lower
bound on it for every ``mu`` (weak duality), and the minimisers at a ``mu`` are
a feasible choice, hence an upper bound. ``compute_limit`` returns both;
``rate_limit`` does the same for the coded rate within a number of
coordinates. Each inner minimum is the lower envelope of one line per ``D``,
evaluated exactly.

For the image oracle's chain (``workload``) the expected KL of a dimension in a
step is ``1/2 log2(p_std^2 / q_std^2)`` exactly (``p`` is the marginal of ``q``
over the posterior of ``x``).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .pfr_law import candidate_bits_from_thresholds
from .step import _check_tail_target, _tail_thresholds_bits, pfr_index_entropy_bits

MAX_CANDIDATE_BITS = 30    # N_t(D) <= 2^30: a chunk whose tail needs more is out of the idealised coder's reach


def expected_kl_bits(eigvals, log_snrs):
    """``[steps, d]`` expected KL (bits) of every dimension in every step of the oracle chain (``workload``).

    ``1/2 log2(p_std^2 / q_std^2)``: the stds of the chain's pairs do not depend on the image or the latent.
    """
    from .workload import _step_pair

    eigvals = np.asarray(eigvals, np.float64)
    zeros = np.zeros(eigvals.size)
    out = np.empty((len(log_snrs), eigvals.size))
    for step in range(len(log_snrs)):
        _, q_std, _, p_std = _step_pair(step, log_snrs, eigvals, zeros, zeros)
        out[step] = np.log2(p_std / q_std)
    return out


@functools.lru_cache(maxsize=8)
def chunk_lines(tail_target):
    """``(D_L, H(D_L) / D_L, 2^L)`` for ``L = 0..30``: the largest chunk KL (bits) whose tail at ``2^L`` candidates
    meets ``tail_target``, its coded bits per KL bit and its candidates.

    ``H(D) / D`` falls with ``D`` (a test checks it on a 1/8-bit grid), so among the chunk KLs that scan
    ``2^L`` candidates ``D_L`` codes cheapest: the idealised coder needs no other chunk KL but its step's whole KL.
    """
    largest = _tail_thresholds_bits(tail_target, MAX_CANDIDATE_BITS)
    kl = largest.copy()
    coded_per_kl = pfr_index_entropy_bits(kl) / kl
    candidates = np.exp2(np.arange(MAX_CANDIDATE_BITS + 1, dtype=np.float64))
    for arr in (kl, coded_per_kl, candidates):
        arr.setflags(write=False)
    return kl, coded_per_kl, candidates


def _step_lines(tail_target, step_kl_bits):
    """``chunk_lines`` capped at a step's KL: the ``D_L`` below it, and the step's KL itself if it is below ``D_30``."""
    kl, coded_per_kl, candidates = chunk_lines(tail_target)
    keep = kl <= step_kl_bits
    if step_kl_bits >= kl[-1]:
        return coded_per_kl[keep], candidates[keep]
    whole = np.array([step_kl_bits])
    bits = candidate_bits_from_thresholds(whole, kl, MAX_CANDIDATE_BITS)           # the tail rule on the D_L
    return (np.append(coded_per_kl[keep], pfr_index_entropy_bits(whole) / whole),
            np.append(candidates[keep], np.exp2(bits.astype(np.float64))))


def lower_envelope(intercepts, slopes):
    """The lower envelope of the lines ``a_i + s b_i`` on ``s >= 0``: ``(lines, breaks)``.

    ``lines[k]`` is the index of the lowest line for ``breaks[k-1] <= s < breaks[k]`` (``breaks`` increasing,
    ``len(lines) - 1`` of them); ``envelope_index(lines, breaks, s)`` looks a query up.
    """
    a = np.asarray(intercepts, np.float64)
    b = np.asarray(slopes, np.float64)
    hull = []
    for i in np.lexsort((a, -b)):                    # slope descending, then intercept ascending
        if hull and b[hull[-1]] == b[i]:
            continue                                 # same slope, intercept no lower
        while hull:
            j = hull[-1]
            cross = (a[i] - a[j]) / (b[j] - b[i])   # line i is lower than line j for s > cross
            if cross <= 0.0 or (len(hull) >= 2 and cross <= (a[j] - a[hull[-2]]) / (b[hull[-2]] - b[j])):
                hull.pop()
                continue
            break
        hull.append(int(i))
    lines = np.array(hull)
    breaks = (a[lines[1:]] - a[lines[:-1]]) / (b[lines[:-1]] - b[lines[1:]])
    return lines, breaks


def envelope_index(lines, breaks, s):
    """The index of the lowest line at each ``s >= 0`` (``lower_envelope``)."""
    return lines[np.searchsorted(breaks, s, side="right")]


MU_GRID = np.logspace(-2, 14, 641)     # coordinates per coded bit: spans every trade-off of the image chain


@dataclasses.dataclass(frozen=True)
class TradeOff:
    """The idealised coder on one chain, for every multiplier ``mu`` of ``MU_GRID``.

    ``dual[m] = sum_j min_D [N_t(D) + mu_m k_j H(D) / D]`` over the dimensions ``j`` of every step, and the
    minimisers' coded bits and candidate coordinates.
    """

    mu: np.ndarray
    dual: np.ndarray
    coded_bits: np.ndarray
    coordinates: np.ndarray
    kl_bits_total: float


def trade_off(kl_bits_per_step, tail_target, one_kl_per_step=False):
    """The :class:`TradeOff` of a ``[steps, d]`` array of expected per-dimension KLs (bits).

    Every dimension joins the chunk KL (``chunk_lines``, at most its step's KL) that minimises
    ``N_t(D) + mu k_j H(D) / D``: the lower envelope of one line per chunk KL, evaluated exactly. ``tail_target``
    is in ``(0, 1)``. ``one_kl_per_step``: every dimension of a step joins chunks of the same KL, as in a
    partition of a random permutation of the dimensions (each chunk a sample of the step's mix), where a dense
    dimension cannot join larger chunks than a sparse one; it is the same problem with every ``k_j`` replaced by
    the step's mean.
    """
    kl = np.asarray(kl_bits_per_step, np.float64)
    if kl.ndim != 2 or kl.size == 0 or not np.all(np.isfinite(kl)) or np.any(kl < 0.0) or not np.any(kl > 0.0):
        raise ValueError("kl_bits_per_step must be a [steps, d] array of finite values >= 0, not all zero")
    tail_target = _check_tail_target(tail_target)
    bits = np.zeros(MU_GRID.size)
    coords = np.zeros(MU_GRID.size)
    for row in kl:
        k, count = np.unique(row[row > 0.0], return_counts=True)
        if k.size == 0:
            continue
        if one_kl_per_step:
            k, count = np.array([np.dot(k, count) / count.sum()]), np.array([count.sum()])
        c_step, n_step = _step_lines(tail_target, float(np.dot(k, count)))
        lines, breaks = lower_envelope(n_step, c_step)
        for block in range(0, MU_GRID.size, 64):
            mu = MU_GRID[block:block + 64, None]
            pick = envelope_index(lines, breaks, mu * k[None, :])                 # [mu, unique k]
            coords[block:block + 64] += n_step[pick] @ count
            bits[block:block + 64] += (c_step[pick] * k[None, :]) @ count
    dual = coords + MU_GRID * bits
    return TradeOff(MU_GRID, dual, bits, coords, float(kl.sum()))


@dataclasses.dataclass(frozen=True)
class Limit:
    """A bracket on the idealised coder's optimum: ``lower <= optimum <= upper`` (``upper`` is a feasible choice)."""

    lower: float
    upper: float
    upper_coded_over_kl: float       # the feasible choice's coded bits / KL
    upper_coordinates: float         # and its candidate coordinates


def compute_limit(trade, coded_over_kl):
    """The idealised coder's least candidate coordinates for coded bits <= ``coded_over_kl`` x KL (a :class:`Limit`).

    ``lower``: the best Lagrangian dual bound ``dual(mu) - mu coded_over_kl KL`` over ``MU_GRID``; ``upper``: the
    cheapest minimiser that meets the rate. ``ValueError`` if none does.
    """
    target_bits = float(coded_over_kl) * trade.kl_bits_total
    lower = float(np.max(trade.dual - trade.mu * target_bits))
    meets = trade.coded_bits <= target_bits
    if not np.any(meets):
        raise ValueError(f"coded_over_kl={coded_over_kl}: no chunking of the idealised coder reaches it (the least "
                         f"is {trade.coded_bits.min() / trade.kl_bits_total:.4f})")
    best = int(np.argmin(np.where(meets, trade.coordinates, np.inf)))
    return Limit(max(lower, 0.0), float(trade.coordinates[best]),
                 float(trade.coded_bits[best] / trade.kl_bits_total), float(trade.coordinates[best]))


def rate_limit(trade, coordinates):
    """The idealised coder's least coded bits / KL within ``coordinates`` candidate coordinates (a :class:`Limit`).

    ``lower``: ``max_mu [dual(mu) - coordinates] / (mu KL)`` (the dual with ``lambda = 1 / mu``); ``upper``: the
    lowest-rate minimiser within the coordinates. ``ValueError`` below the cheapest minimiser.
    """
    coordinates = float(coordinates)
    lower = float(np.max((trade.dual - coordinates) / trade.mu)) / trade.kl_bits_total
    within = trade.coordinates <= coordinates
    if not np.any(within):
        raise ValueError(f"coordinates={coordinates:g}: below the cheapest chunking of the idealised coder "
                         f"({trade.coordinates.min():.3g})")
    best = int(np.argmin(np.where(within, trade.coded_bits, np.inf)))
    rate = float(trade.coded_bits[best] / trade.kl_bits_total)
    return Limit(lower, rate, rate, float(trade.coordinates[best]))


def image_chain_trade_off(eigvals, log_snrs, tail_target, one_kl_per_step=False):
    """The :class:`TradeOff` of the image oracle's chain on ``log_snrs`` (``workload.image_grid``)."""
    return trade_off(expected_kl_bits(eigvals, log_snrs), tail_target, one_kl_per_step)
