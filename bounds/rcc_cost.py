"""Reverse-channel-coding (channel simulation) cost: bounds in bits, and exact index costs.

Setting: encoder and decoder share unlimited randomness; to let the decoder
draw ``Y ~ q = P_{Y|X=x}`` exactly, the encoder sends an index ``K`` into a
shared list of candidates ``Y_1, Y_2, ... ~ p = P_Y``. ``I = I(X; Y)`` in bits
(for a single ``(q, p)`` pair read ``I`` as ``KL(q || p)``). All values in bits.

Bounds (each an inequality, for every joint law with ``I < inf``):

- Lower bound: any such scheme with a prefix-free message has
  ``E[length] >= H(M | W) >= I`` (``W`` the shared randomness), and ``H(K) >= I``.
- Li & El Gamal (2018, "Strong functional representation lemma and
  applications to coding theorems", IEEE Trans. IT 64(11), Thm. 1): the
  Poisson functional representation index satisfies
  ``H(K) <= I + log2(I + 1) + 4``; a Huffman code for ``K`` adds at most 1 bit:
  ``E[length] <= I + log2(I + 1) + 5``.
- Li (2025, "Discrete layered entropy, conditional compression and a tighter
  strong functional representation lemma", arXiv:2501.13736v3, abstract):
  ``I + log2(I + 3.4) + 1`` for the strong functional representation lemma,
  optimal within 2.8 bits; with a Huffman code ``+1``. Only the abstract's form
  of this bound could be checked; the theorem number is not cited.
- Derived here for the Poisson functional representation itself (not a cited
  result): ``E[log2 K] <= KL(q || p) + 1``. Proof: given the selected
  ``Y* = y``, ``K - 1`` is geometric with mean ``mu(y) = sum_y' (p(y') r(y) - q(y'))_+``
  where ``r = q / p`` (see ``pfr_index_pmf``), so by Jensen
  ``E[log2 K] <= E_q log2(1 + mu(Y)) <= E_q log2(1 + r(Y))
  <= KL + log2(1 + E_q[1/r]) <= KL + 1``.

>>> b = rcc_cost_bounds(1.0)
>>> b.lower_bits, b.li_el_gamal_entropy_bits, b.li_el_gamal_length_bits
(1.0, 6.0, 7.0)

Exact costs for small discrete cases: ``pfr_index_pmf`` gives the law of the
Poisson-functional-representation index in closed form (a mixture of
geometric laws), from which ``E[log2 K]``, ``H(K)`` and the expected Huffman
length follow; ``pfr_sample`` simulates the scheme for Monte Carlo checks.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from bounds._numerics import divergence_integrand

__all__ = [
    "LI_EL_GAMAL_ENTROPY_CONSTANT_BITS",
    "LI_2025_SHIFT",
    "LI_2025_CONSTANT_BITS",
    "PREFIX_CODE_OVERHEAD_BITS",
    "length_lower_bound_bits",
    "li_el_gamal_entropy_bound_bits",
    "li_el_gamal_length_bound_bits",
    "li_2025_entropy_bound_bits",
    "li_2025_length_bound_bits",
    "pfr_log_index_bound_bits",
    "RccCostBounds",
    "rcc_cost_bounds",
    "rcc_cost_bounds_per_step",
    "kl_bits",
    "pfr_geometric_means",
    "pfr_index_pmf",
    "huffman_expected_length_bits",
    "IndexCosts",
    "pfr_index_costs",
    "pfr_channel_index_costs",
    "pfr_sample",
]

#: ``H(K) <= I + log2(I + 1) + 4`` (Li & El Gamal 2018, Thm. 1).
LI_EL_GAMAL_ENTROPY_CONSTANT_BITS = 4.0
#: ``I + log2(I + 3.4) + 1`` (Li 2025): the shift inside the logarithm ...
LI_2025_SHIFT = 3.4
#: ... and the additive constant.
LI_2025_CONSTANT_BITS = 1.0
#: Extra bits of a Huffman (optimal prefix) code over the entropy.
PREFIX_CODE_OVERHEAD_BITS = 1.0

_MAX_ENUMERATION = 5_000_000


def _check_info(info_bits, name="info_bits"):
    arr = np.asarray(info_bits, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {info_bits!r}")
    return arr


def _out(arr):
    return float(arr) if np.ndim(arr) == 0 else arr


def length_lower_bound_bits(info_bits):
    """``I``: no exact channel simulation with a prefix-free message is cheaper on average."""
    return _out(_check_info(info_bits))


def li_el_gamal_entropy_bound_bits(info_bits):
    """``I + log2(I + 1) + 4``: Li-El Gamal bound on the entropy of the index (bits)."""
    i = _check_info(info_bits)
    return _out(i + np.log2(i + 1.0) + LI_EL_GAMAL_ENTROPY_CONSTANT_BITS)


def li_el_gamal_length_bound_bits(info_bits):
    """``I + log2(I + 1) + 5``: Li-El Gamal bound on the expected prefix-code length (bits)."""
    return _out(np.asarray(li_el_gamal_entropy_bound_bits(info_bits)) + PREFIX_CODE_OVERHEAD_BITS)


def li_2025_entropy_bound_bits(info_bits):
    """``I + log2(I + 3.4) + 1``: Li (2025) bound for the strong functional representation lemma (bits)."""
    i = _check_info(info_bits)
    return _out(i + np.log2(i + LI_2025_SHIFT) + LI_2025_CONSTANT_BITS)


def li_2025_length_bound_bits(info_bits):
    """``I + log2(I + 3.4) + 2``: Li (2025) with a Huffman code (bits)."""
    return _out(np.asarray(li_2025_entropy_bound_bits(info_bits)) + PREFIX_CODE_OVERHEAD_BITS)


def pfr_log_index_bound_bits(kl_bits_value):
    """``KL + 1``: bound on ``E[log2 K]`` of the Poisson functional representation (derived in this module)."""
    return _out(_check_info(kl_bits_value, "kl_bits_value") + 1.0)


@dataclass(frozen=True)
class RccCostBounds:
    """Bounds on the cost of coding ``info_bits`` by channel simulation (all in bits)."""

    info_bits: float                  # I (or the sum of per-step KLs)
    lower_bits: float                 # I <= E[length]
    li_el_gamal_entropy_bits: float   # H(K) <= I + log2(I+1) + 4
    li_el_gamal_length_bits: float    # E[length] <= I + log2(I+1) + 5
    li_2025_entropy_bits: float       # H(K) <= I + log2(I+3.4) + 1
    li_2025_length_bits: float        # E[length] <= I + log2(I+3.4) + 2


def rcc_cost_bounds(info_bits):
    """``RccCostBounds`` for one channel simulation carrying ``info_bits``."""
    i = float(_check_info(info_bits))
    return RccCostBounds(
        info_bits=i,
        lower_bits=length_lower_bound_bits(i),
        li_el_gamal_entropy_bits=li_el_gamal_entropy_bound_bits(i),
        li_el_gamal_length_bits=li_el_gamal_length_bound_bits(i),
        li_2025_entropy_bits=li_2025_entropy_bound_bits(i),
        li_2025_length_bits=li_2025_length_bound_bits(i),
    )


def rcc_cost_bounds_per_step(kl_bits_per_step):
    """Totals of ``RccCostBounds`` when each step's index is coded separately (bounds add over steps)."""
    kl = np.atleast_1d(_check_info(kl_bits_per_step, "kl_bits_per_step"))
    return RccCostBounds(
        info_bits=float(kl.sum()),
        lower_bits=float(kl.sum()),
        li_el_gamal_entropy_bits=float(np.sum(li_el_gamal_entropy_bound_bits(kl))),
        li_el_gamal_length_bits=float(np.sum(li_el_gamal_length_bound_bits(kl))),
        li_2025_entropy_bits=float(np.sum(li_2025_entropy_bound_bits(kl))),
        li_2025_length_bits=float(np.sum(li_2025_length_bound_bits(kl))),
    )


# ----------------------------------------------------------------------------------
# Exact index law of the Poisson functional representation (discrete q, p)
# ----------------------------------------------------------------------------------
def _check_pmf(v, name):
    arr = np.asarray(v, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
        raise ValueError(f"{name} must be a 1-D array of finite probabilities >= 0, got {v!r}")
    if abs(arr.sum() - 1.0) > 1e-9:
        raise ValueError(f"{name} must sum to 1 (within 1e-9), got sum {arr.sum()!r}")
    return arr / arr.sum()


def _check_pair(q, p):
    q = _check_pmf(q, "q")
    p = _check_pmf(p, "p")
    if q.shape != p.shape:
        raise ValueError(f"q and p must have the same length, got {q.size} and {p.size}")
    if np.any((q > 0) & (p == 0)):
        raise ValueError("q must be absolutely continuous w.r.t. p (q > 0 where p == 0)")
    return q, p


def kl_bits(q, p):
    """``KL(q || p) = sum_y q(y) log2(q(y) / p(y))`` in bits, ``>= 0`` even where ``q ~ p``.

    Summed as ``sum_y (q ln(q/p) - q + p) / ln 2`` (``q`` and ``p`` both sum to 1): every term is
    ``>= 0`` (``_numerics.divergence_integrand``; ``p`` where ``q = 0``), so the rounding of nearly
    equal laws (a channel with identical rows) cannot give a negative ``I``, which the plain sum
    did (-3.8e-17 bits), and which the bounds then refused.
    """
    q, p = _check_pair(q, p)
    m = q > 0
    terms = divergence_integrand(np.log(q[m]), np.log(p[m]))
    return float((np.sum(terms) + np.sum(p[~m])) / math.log(2.0))


def pfr_geometric_means(q, p):
    """``mu(y) = sum_y' (p(y') q(y)/p(y) - q(y'))_+``: mean of ``K - 1`` given the selected ``Y* = y``.

    Derivation: the points ``(T_i, Y_i)`` form a Poisson process of intensity
    ``dt x p``; the scores ``S_i = T_i / r(Y_i)`` (``r = q/p``) form one of
    intensity ``ds x q``, so ``(S*, Y*) ~ Exp(1) x q``. Given them, ``K - 1``
    counts earlier points ``T_i < S* r(y)`` with larger score: Poisson with mean
    ``S* mu(y)``; mixing over ``S* ~ Exp(1)`` makes ``K - 1`` geometric with mean
    ``mu(y)``. Entries where ``q(y) = 0`` are returned as 0 (never selected).
    """
    q, p = _check_pair(q, p)
    sel = q > 0
    r = np.where(sel, q / np.where(p > 0, p, 1.0), 0.0)
    mu = np.clip(p[None, :] * r[:, None] - q[None, :], 0.0, None).sum(axis=1)
    return np.where(sel, mu, 0.0)


def _index_kmax(mu, tail):
    """Smallest ``k`` with ``P(K > k | y) = (mu/(1+mu))^k <= tail`` for every ``y``."""
    mu_max = float(np.max(mu)) if np.size(mu) else 0.0
    if mu_max == 0.0:
        return 1
    kmax = int(math.ceil(math.log(tail) / -math.log1p(1.0 / mu_max)))
    if kmax > _MAX_ENUMERATION:
        raise ValueError(
            f"q/p ratio too large for exact enumeration: needs {kmax} index values (limit {_MAX_ENUMERATION})")
    return max(kmax, 1)


def pfr_index_pmf(q, p, tail=1e-17):
    """Exact ``P(K = k)``, ``k = 1..kmax``, of the Poisson functional representation for target ``q``, proposal ``p``.

    ``P(K = k) = sum_y q(y) mu(y)^(k-1) / (1 + mu(y))^k`` (see
    ``pfr_geometric_means``); ``kmax`` is chosen so that the omitted tail has
    mass at most ``tail``. Returns ``(pmf [kmax], tail_mass)``.
    """
    q, p = _check_pair(q, p)
    mu = pfr_geometric_means(q, p)
    return _mixture_geometric_pmf(q, mu, tail)


def _mixture_geometric_pmf(weights, mu, tail):
    kmax = _index_kmax(mu[weights > 0], tail)
    k = np.arange(1, kmax + 1, dtype=float)
    pmf = np.zeros(kmax)
    for w, m in zip(weights, mu):
        if w == 0.0:
            continue
        if m == 0.0:
            pmf[0] += w
            continue
        log_ratio = -math.log1p(1.0 / m)             # ln(mu / (1 + mu))
        pmf += w * np.exp(-math.log1p(m) + (k - 1.0) * log_ratio)
    tail_mass = max(0.0, 1.0 - float(pmf.sum()))
    return pmf, tail_mass


def huffman_expected_length_bits(pmf):
    """Expected codeword length (bits) of a Huffman code for the finite ``pmf`` (sum of merged masses)."""
    heap = [float(v) for v in pmf if v > 0.0]
    if len(heap) <= 1:
        return 0.0
    heapq.heapify(heap)
    total = 0.0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        total += merged
        heapq.heappush(heap, merged)
    return total / sum(v for v in pmf if v > 0.0)


@dataclass(frozen=True)
class IndexCosts:
    """Exact costs of the PFR index ``K`` (bits), with the bounds' argument ``info_bits``."""

    info_bits: float              # KL(q||p) for one pair, I(X;Y) for a channel
    expected_log2_index: float    # E[log2 K]
    index_entropy_bits: float     # H(K)
    huffman_length_bits: float    # expected length of a Huffman code for K (tail lumped into the last value)
    tail_mass: float              # probability mass beyond the enumerated k (<= tail)


def _costs(info, pmf, tail_mass):
    k = np.arange(1, pmf.size + 1, dtype=float)
    pos = pmf > 0
    e_log = float(np.sum(pmf * np.log2(k)))
    p_pos = np.minimum(pmf[pos], 1.0)  # a mass of 1 + ulp (rounding of the mixture weights) counts as 1
    ent = float(-np.sum(p_pos * np.log2(p_pos)))
    lumped = pmf.copy()
    lumped[-1] += tail_mass
    return IndexCosts(info, e_log, ent, float(huffman_expected_length_bits(lumped)), tail_mass)


def pfr_index_costs(q, p, tail=1e-17):
    """``IndexCosts`` of simulating one target ``q`` from proposal ``p`` (``info_bits = KL(q || p)``)."""
    q, p = _check_pair(q, p)
    pmf, tail_mass = pfr_index_pmf(q, p, tail)
    return _costs(kl_bits(q, p), pmf, tail_mass)


def pfr_channel_index_costs(p_x, channel, tail=1e-17):
    """``IndexCosts`` of simulating ``P_{Y|X}`` for ``X ~ p_x`` with proposal ``P_Y`` (``info_bits = I(X;Y)``).

    ``channel[x, y] = P(Y = y | X = x)``; the law of ``K`` is the ``p_x``-mixture
    of the per-``x`` laws of ``pfr_index_pmf``.
    """
    p_x = _check_pmf(p_x, "p_x")
    w = np.asarray(channel, dtype=float)
    if w.ndim != 2 or w.shape[0] != p_x.size:
        raise ValueError(f"channel must have shape (len(p_x), |Y|), got {w.shape}")
    rows = [_check_pmf(row, "channel row") for row in w]
    p_y = p_x @ np.array(rows)
    info = float(sum(px * kl_bits(row, p_y) for px, row in zip(p_x, rows)))
    weights, mus = [], []
    for px, row in zip(p_x, rows):
        weights.append(px * row)
        mus.append(pfr_geometric_means(row, p_y))
    pmf, tail_mass = _mixture_geometric_pmf(np.concatenate(weights), np.concatenate(mus), tail)
    return _costs(info, pmf, tail_mass)


def pfr_sample(q, p, n, seed):
    """Simulate the Poisson functional representation ``n`` times; returns ``(k [n], y [n])``.

    Each run draws arrival times ``T_1 < T_2 < ...`` (unit-rate Poisson) and
    candidates ``Y_i ~ p`` and selects ``K = argmin_i T_i p(Y_i) / q(Y_i)``,
    stopping once ``T_i / max r`` exceeds the best score. Randomness:
    ``numpy.random.default_rng(SeedSequence([seed, 2]))``.
    """
    q, p = _check_pair(q, p)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2]))
    r = np.where(p > 0, q / np.where(p > 0, p, 1.0), 0.0)
    r_max = float(r.max())
    n = int(n)
    t = np.zeros(n)
    best = np.full(n, np.inf)
    best_k = np.zeros(n, dtype=np.int64)
    best_y = np.zeros(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    step = 0
    while np.any(active):
        step += 1
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(size=idx.size)
        stop = t[idx] / r_max >= best[idx]
        active[idx[stop]] = False
        idx = idx[~stop]
        y = rng.choice(p.size, size=idx.size, p=p)
        with np.errstate(divide="ignore"):
            score = np.where(r[y] > 0, t[idx] / np.where(r[y] > 0, r[y], 1.0), np.inf)
        better = score < best[idx]
        upd = idx[better]
        best[upd] = score[better]
        best_k[upd] = step
        best_y[upd] = y[better]
    return best_k, best_y
