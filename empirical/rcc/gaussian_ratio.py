"""Per-dimension divergences and log density ratios of diagonal Gaussians (private helpers, nats).

Notation: ``q = N(q_mean, q_std^2)`` is the sender's distribution, ``p =
N(p_mean, p_std^2)`` the receiver's, ``r = q / p``. Everything here is
elementwise over dimensions and in nats; ``rcc`` converts to bits at the edge.
"""
from __future__ import annotations

import numpy as np

# |t| below this uses the Taylor series of (expm1(2t) - 2t) / 2 (relative error < 1e-16).
_SERIES_CUTOFF = 1e-3


def _half_expm1_2t_minus_t(t):
    """``(exp(2t) - 1) / 2 - t`` elementwise, accurate also for tiny ``t`` (it is ``t^2 + 2t^3/3 + ...``)."""
    t = np.asarray(t, dtype=np.float64)
    direct = 0.5 * np.expm1(2.0 * t) - t
    series = t * t * (1.0 + t * (2.0 / 3.0 + t * (1.0 / 3.0 + t * (2.0 / 15.0))))
    return np.where(np.abs(t) < _SERIES_CUTOFF, series, direct)


def kl_nats_per_dim(q_mean, q_std, p_mean, p_std):
    """``KL(q || p)`` per dimension in nats: ``ln(p_std/q_std) + (q_std^2 + (q_mean-p_mean)^2)/(2 p_std^2) - 1/2``.

    Written as ``((q_std/p_std)^2 - 1)/2 - ln(q_std/p_std) + d^2/2`` with
    ``d = (q_mean - p_mean)/p_std`` and the first two terms evaluated without
    cancellation, so equal standard deviations give exactly ``d^2 / 2``.
    """
    log_std_ratio = np.log(np.asarray(q_std, np.float64) / np.asarray(p_std, np.float64))
    shift = (np.asarray(q_mean, np.float64) - np.asarray(p_mean, np.float64)) / np.asarray(p_std, np.float64)
    return _half_expm1_2t_minus_t(log_std_ratio) + 0.5 * shift * shift


def renyi_nats_per_dim(order, q_mean, q_std, p_mean, p_std):
    """Renyi divergence ``D_order(q || p)`` per dimension in nats, ``order > 1``; ``inf`` where it diverges.

    ``D_a = ln(p_std/q_std) + ln(p_std^2 / v_a) / (2(a-1)) + a (q_mean-p_mean)^2 / (2 v_a)``
    with ``v_a = a p_std^2 + (1-a) q_std^2``; it is finite iff ``v_a > 0``
    (Gil, Alajaji & Linder 2013, Table 2).
    """
    q_std = np.asarray(q_std, np.float64)
    p_std = np.asarray(p_std, np.float64)
    diff = np.asarray(q_mean, np.float64) - np.asarray(p_mean, np.float64)
    var_mix = order * p_std * p_std + (1.0 - order) * q_std * q_std
    ok = var_mix > 0.0
    safe = np.where(ok, var_mix, 1.0)
    value = (np.log(p_std / q_std) + np.log(p_std * p_std / safe) / (2.0 * (order - 1.0))
             + order * diff * diff / (2.0 * safe))
    return np.where(ok, value, np.inf)


def log_ratio_coefficients(q_mean, q_std, p_mean, p_std):
    """``(offset, linear, quadratic)`` with ``ln r(p_mean + p_std z) = sum(offset + linear z + quadratic z^2)``.

    With ``u = (p_mean - q_mean)/q_std`` and ``v = p_std/q_std``:
    ``offset = ln v - u^2/2``, ``linear = -u v``, ``quadratic = -(v^2 - 1)/2``
    (exactly 0 where ``q_std == p_std``). Arrays of the input's shape.
    """
    q_std = np.asarray(q_std, np.float64)
    u = (np.asarray(p_mean, np.float64) - np.asarray(q_mean, np.float64)) / q_std
    v = np.asarray(p_std, np.float64) / q_std
    log_v = np.log(v)
    offset = log_v - 0.5 * u * u
    linear = -u * v
    quadratic = -0.5 * np.expm1(2.0 * log_v)
    return offset, linear, quadratic
