"""The law of the Poisson-functional-representation index for Gaussian chunks (private helpers).

PFR (Li & El Gamal 2018): candidates ``X_k ~ p`` i.i.d., arrival times
``T_1 < T_2 < ...`` of a unit-rate Poisson process, selection ``K = argmin_k
T_k / r(X_k)`` with ``r = q / p``. Then ``X_K ~ q`` exactly and, given
``X_K = x``, ``K - 1`` is geometric with mean

    c(x) = E_{X' ~ p}[(r(x) - r(X'))_+]          (r(x) - 1 <= c(x) <= r(x))

(the scores ``T_k / r(X_k)`` form a Poisson process of intensity
``ds x q(dx)``; given the first one, ``(S*, x)``, the earlier arrivals with larger
score are Poisson with mean ``S* c(x)``, and ``S* ~ Exp(1)`` mixes this into a
geometric law). Hence ``P(K - 1 >= j) = E_q[(c/(1+c))^j]``.

For a chunk whose dimensions all have ``q_std == p_std`` (DiffC's case) with
``KL(q||p) = D`` nats, ``ln r(X) = a Y - a^2/2`` with ``a = sqrt(2D)`` and ``Y ~ N(a, 1)``
under ``q``; writing ``Y = a + z``, ``z ~ N(0, 1)``, the put-option formula gives

    c(z) = exp(D + a z) Phi(z + a) - Phi(z).

``pfr_survival`` integrates ``(c/(1+c))^j`` against ``N(0, 1)`` on a fixed grid.
"""
from __future__ import annotations

import numpy as np

# Fixed quadrature grid for E_z[...] with z ~ N(0, 1): trapezoid on [-12, 12], step 1/200.
# The integrands are smooth with transition width >= 1/sqrt(2 D) >= 0.17 in z for D <= 17 nats,
# resolved by >= 34 grid points; the mass outside [-12, 12] is 3.6e-33.
_QUAD_Z = np.linspace(-12.0, 12.0, 4801)
_QUAD_W = np.exp(-0.5 * _QUAD_Z**2)
_QUAD_W = _QUAD_W / _QUAD_W.sum()


def geometric_means_equal_std(kl_nats):
    """``c(z)`` on the quadrature grid, shape ``[len(kl_nats), grid]``: mean of ``K - 1`` given the selected point.

    Rounding can make the difference of the two terms slightly negative when
    ``c`` is below ~1e-16; it is then set to 0 (its exact value is below the
    resolution of float64 and only enters through ``c/(1+c)``).
    """
    from scipy.special import ndtr

    kl = np.atleast_1d(np.asarray(kl_nats, np.float64))[:, None]
    a = np.sqrt(2.0 * kl)
    z = _QUAD_Z[None, :]
    c = np.exp(kl + a * z) * ndtr(z + a) - ndtr(z)
    return np.maximum(c, 0.0)


def pfr_survival(kl_nats, j):
    """``P(K - 1 >= j)`` for PFR on an equal-std Gaussian chunk with ``KL = kl_nats``; shape ``[len(kl), len(j)]``.

    Exact up to the quadrature error of the fixed grid (below 1e-12 in the
    tests); ``j = 0`` gives 1 and ``kl_nats = 0`` gives 0 for ``j >= 1``.
    """
    c = geometric_means_equal_std(kl_nats)                       # [m, grid]
    j = np.atleast_1d(np.asarray(j, np.float64))
    with np.errstate(divide="ignore"):
        log_inv = np.log1p(1.0 / c)                              # -ln(c/(1+c)); inf where c == 0
    out = np.empty((c.shape[0], j.size))
    for col, jj in enumerate(j):
        if jj == 0.0:
            out[:, col] = 1.0
        else:
            out[:, col] = np.exp(-jj * log_inv) @ _QUAD_W
    return out


def renyi_tv_bound(log_num_candidates, renyi_total_nats, orders):
    """Upper bound on ``P(K > N)``: ``min_s (s/(e N))^s 2^max(s-1, 0) (1 + exp(s D_{1+s}(q||p))))``, ``s = orders - 1``.

    Derivation: ``P(K > N) <= E_q[(r/(1+r))^N] <= E_q[exp(-N/(1+r))]`` (as
    ``ln(1 + 1/r) >= 1/(1+r)``); ``exp(-x) <= (s/(e x))^s`` for ``s > 0``;
    ``(1+r)^s <= 2^max(s-1, 0) (1 + r^s)`` (subadditivity for ``s <= 1``,
    convexity for ``s >= 1``); and ``E_q[r^s] = exp(s D_{1+s})``.
    ``renyi_total_nats[i, c]`` is ``D_{orders[i]}`` of chunk ``c`` (``inf`` where it
    diverges); returns one bound per chunk, at most 1.
    """
    s = (np.asarray(orders, np.float64) - 1.0)[:, None]
    log_bound = (s * (np.log(s) - 1.0 - log_num_candidates) + np.maximum(s - 1.0, 0.0) * np.log(2.0)
                 + np.logaddexp(0.0, s * renyi_total_nats))
    return np.minimum(1.0, np.exp(np.min(log_bound, axis=0)))


# Bins for the index entropy: every j below 64, then 32 per octave up to 2^44 (the law's mass beyond
# 2^44 is below 1e-12 for KL <= 24 bits); the pmf is non-increasing, and across one bin it falls by at
# most a factor 2^(1/32), so treating it as flat inside a bin changes the entropy by < 1e-4 bits.
_ENTROPY_EDGES = np.unique(np.concatenate([np.arange(64.0), np.floor(2.0 ** np.arange(6.0, 44.0 + 1e-9, 1 / 32))]))


def pfr_index_entropy_nats(kl_nats):
    """``H(K)`` in nats of the untruncated PFR index on equal-std Gaussian chunks with ``KL = kl_nats``.

    ``P(K - 1 in [a, b)) = P(K - 1 >= a) - P(K - 1 >= b)`` from ``pfr_survival`` on
    ``_ENTROPY_EDGES``; inside a bin of width ``w`` the ``w`` values are taken as
    equally likely (``- P ln(P / w)``). One value per entry of ``kl_nats``.
    """
    surv = pfr_survival(kl_nats, _ENTROPY_EDGES)                 # [m, bins + 1]
    mass = np.maximum(surv[:, :-1] - surv[:, 1:], 0.0)
    width = np.diff(_ENTROPY_EDGES)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(mass > 0.0, mass * (np.log(width) - np.log(mass)), 0.0)
    return terms.sum(axis=1)


def candidate_bits_from_thresholds(kl_bits, thresholds_bits, max_bits):
    """``L`` per chunk KL (bits, read as at most 24): the first ``L`` whose threshold is ``>=`` the KL, else ``max_bits``.

    ``thresholds_bits[L]`` is the largest chunk KL whose tail at ``2^L`` candidates meets the target
    (increasing in ``L``; ``step._tail_thresholds_bits``); all ``-inf`` gives every chunk ``max_bits``. The
    one rule behind ``step.candidate_bits`` and the partition's compute cap.
    """
    kl = np.minimum(np.asarray(kl_bits, np.float64), 24.0)
    return np.minimum(np.searchsorted(thresholds_bits, kl, side="left"), max_bits).astype(np.int64)
