"""Numerical kernels shared by the sources: stable truncated-Gaussian moments and quadrature.

Everything here is numpy/scipy only and private to ``bounds``. The kernels are
written so that no quantity is formed as a difference of two nearly equal
numbers: masses are relative to the peak of the integrand, variances are
two-pass, and divergences use ``f(l) = exp(-l) - 1 + l`` with a series near 0.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "QUAD_EPSREL",
    "QUAD_LIMIT",
    "halfline_moments",
    "mixture_reduce",
    "mixture_label_entropy",
    "chunked",
    "POINT_BUDGET",
    "divergence_integrand",
    "integrate_adaptive",
]

#: Relative tolerance of ``integrate_adaptive`` (summed error estimate / value).
QUAD_EPSREL = 1e-12
#: Maximum number of splitting rounds of ``integrate_adaptive``.
QUAD_LIMIT = 60



def gauss_legendre_unit(n):
    """Nodes and weights of the ``n``-point Gauss-Legendre rule on ``[0, 1]``.

    Newton's method runs on the angle ``theta`` (``x = cos(theta)``), and nodes
    are returned as ``cos(theta/2)^2`` and weights as
    ``sin(theta)^2 / (n^2 (P_{n-1} - x P_n)^2)``, so that the nodes nearest 0
    keep full relative precision (numpy's ``leggauss`` loses ~1e-14 there).
    """
    k = np.arange(1, n + 1)
    theta = np.pi * (k - 0.25) / (n + 0.5)
    for _ in range(50):
        x = np.cos(theta)
        p_prev, p = _legendre_pair(n, x)
        step = p / (-n * (p_prev - x * p) / np.sin(theta))
        theta = theta - step
        if np.max(np.abs(step)) < 1e-16:
            break
    x = np.cos(theta)
    p_prev, p = _legendre_pair(n, x)
    s = np.sin(theta)
    weights = s * s / (n * n * (p_prev - x * p) ** 2)
    nodes = np.cos(0.5 * theta) ** 2
    return nodes[::-1].copy(), weights[::-1].copy()


def _legendre_pair(n, x):
    """``(P_{n-1}(x), P_n(x))`` by the three-term recurrence."""
    p_prev, p = np.ones_like(x), x
    for j in range(2, n + 1):
        p_prev, p = p, ((2 * j - 1) * x * p - (j - 1) * p_prev) / j
    return p_prev, p


_GL_T, _GL_W = gauss_legendre_unit(64)
# Beyond an exponent of -_CUTOFF the integrand is below 1e-26 of its peak.
_CUTOFF = 60.0
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def halfline_moments(alpha, length):
    """Log-mass, mean and variance of the density ``exp(-alpha*u - u**2/2)`` on ``[0, length]``.

    ``alpha >= 0`` and ``length >= 0`` (``inf`` allowed) broadcast. The mass is
    ``M = int_0^length exp(-alpha*u - u^2/2) du``; it is the mass of a standard
    normal on ``[alpha, alpha + length]`` relative to its density at ``alpha``.
    Computed by 64-point Gauss-Legendre on ``[0, min(length, u_cut)]`` where
    ``alpha*u_cut + u_cut^2/2 = 60``; relative accuracy ~1e-15 for every
    ``alpha`` and ``length`` (checked against mpmath in the tests). An empty
    interval (``length == 0``) returns ``(-inf, 0, 0)``.
    """
    alpha = np.asarray(alpha, dtype=float)
    length = np.asarray(length, dtype=float)
    alpha, length = np.broadcast_arrays(alpha, length)
    u_cut = 2.0 * _CUTOFF / (alpha + np.sqrt(alpha * alpha + 2.0 * _CUTOFF))
    upper = np.minimum(length, u_cut)
    u = upper[..., None] * _GL_T
    f = np.exp(-alpha[..., None] * u - 0.5 * u * u) * (upper[..., None] * _GL_W)
    mass = f.sum(axis=-1)
    empty = mass <= 0.0
    safe_mass = np.where(empty, 1.0, mass)
    mean = (f * u).sum(axis=-1) / safe_mass
    var = (f * (u - mean[..., None]) ** 2).sum(axis=-1) / safe_mass
    with np.errstate(divide="ignore"):
        log_mass = np.where(empty, -np.inf, np.log(safe_mass))
    return log_mass, np.where(empty, 0.0, mean), np.where(empty, 0.0, var)


def mixture_reduce(log_w, means, variances):
    """Log-normaliser, weights, mean and variance of a mixture given unnormalised log-weights.

    Arrays have shape ``(..., J)``. Means are taken relative to the heaviest
    component, ``dev_j = m_j - m_top`` (differences of nearby means are exact),
    and the variance is the two-pass ``sum_j w_j v_j + sum_j w_j (dev_j - shift)^2``
    with ``shift = sum_j w_j dev_j``: every term is non-negative, so nothing
    cancels, and the work and memory are ``O(J)`` per row (the pairwise form
    ``sum_{i<j} w_i w_j (m_i - m_j)^2`` costs ``O(J^2)``). Returns
    ``(log_norm [...], weights [..., J], mean [...], var [...])``.
    """
    log_w = np.asarray(log_w, dtype=float)
    means = np.asarray(means, dtype=float)
    top_idx = np.argmax(log_w, axis=-1)[..., None]
    top = np.take_along_axis(log_w, top_idx, axis=-1)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(log_w - top)
    total = e.sum(axis=-1, keepdims=True)
    weights = e / total
    log_norm = (np.log(total) + top)[..., 0]
    ref = np.take_along_axis(np.broadcast_to(means, log_w.shape), top_idx, axis=-1)
    dev = means - ref
    shift = (weights * dev).sum(axis=-1, keepdims=True)
    mean = (ref + shift)[..., 0]
    within = (weights * variances).sum(axis=-1)
    between = (weights * (dev - shift) ** 2).sum(axis=-1)
    return log_norm, weights, mean, within + between


def mixture_label_entropy(log_w):
    """Log-normaliser and entropy (nats) of the weights ``softmax(log_w)`` along the last axis, without cancellation.

    With ``e_j = exp(log_w_j - top)`` and ``S = sum_{j != top} e_j`` the entropy
    is ``sum_j w_j (log1p(S) - (log_w_j - top))``: every term is non-negative
    and ``log1p`` keeps the relative precision of a nearly certain label
    (``S`` far below one ulp of 1), where ``log(1 + S)`` would round to 0.
    Returns ``(log_norm [...], entropy [...])``.
    """
    log_w = np.asarray(log_w, dtype=float)
    top_idx = np.argmax(log_w, axis=-1)[..., None]
    top = np.take_along_axis(log_w, top_idx, axis=-1)
    top = np.where(np.isfinite(top), top, 0.0)
    rel = log_w - top
    e = np.exp(rel)
    others = e.copy()
    np.put_along_axis(others, top_idx, 0.0, axis=-1)
    s = others.sum(axis=-1, keepdims=True)
    log1p_s = np.log1p(s)
    weights = e / (1.0 + s)
    terms = np.where(e > 0.0, weights * (log1p_s - np.where(e > 0.0, rel, 0.0)), 0.0)
    return (log1p_s + top)[..., 0], terms.sum(axis=-1)


#: Most (points x mixture components) entries one vectorised evaluation may hold (~16 MB per float64 array).
POINT_BUDGET = 1 << 21


def chunked(func, width):
    """``func`` evaluated on slices of its 1-D argument, at most ``POINT_BUDGET // width`` points at a time.

    Integrands over mixtures build ``(points, width)`` arrays; chunking keeps
    their memory bounded whatever the number of quadrature points.
    """
    step = max(64, POINT_BUDGET // max(int(width), 1))

    def wrapped(x):
        x = np.asarray(x, dtype=float)
        if x.size <= step:
            return func(x)
        return np.concatenate([np.asarray(func(x[i:i + step]), dtype=float) for i in range(0, x.size, step)])

    return wrapped


def _f_divergence_kernel(l):
    """``exp(-l) - 1 + l >= 0`` for ``l >= -1``, with a Taylor series for ``|l| < 0.05``."""
    small = np.abs(l) < 0.05
    ls = np.where(small, l, 0.0)
    coeffs = [(-1.0) ** k / math.factorial(k) for k in range(2, 12)]  # f(l) = sum_{k>=2} (-l)^k / k!
    series = np.zeros_like(ls)
    for c in reversed(coeffs):
        series = series * ls + c
    series = series * ls * ls
    direct = np.expm1(-np.where(small, 1.0, l)) + np.where(small, 1.0, l)
    return np.where(small, series, direct)


def divergence_integrand(log_p, log_g):
    """Pointwise ``p ln(p/g) - p + g >= 0``; its integral is ``KL(p || g)`` when both are densities.

    Evaluated as ``p * f(l)`` with ``l = ln p - ln g`` and ``f(l) = e^{-l} - 1 + l``
    for ``l >= -1``, and as ``g * (1 + e^{l} (l - 1))`` otherwise, so that
    neither underflow of one density nor ``p ~ g`` loses accuracy.
    """
    log_p = np.asarray(log_p, dtype=float)
    log_g = np.asarray(log_g, dtype=float)
    l = log_p - log_g
    upper = l >= -1.0
    lu = np.where(upper, l, 0.0)
    ll = np.where(upper, -2.0, l)
    a = np.exp(log_p) * _f_divergence_kernel(lu)
    b = np.exp(log_g) * (1.0 + np.exp(ll) * (ll - 1.0))
    out = np.where(upper, a, b)
    return np.where(np.isneginf(log_p) & np.isneginf(log_g), 0.0, out)


def integrate_adaptive(func, lo, hi, points=(), scale=0.0, epsrel=None, presplit=2):
    """Integral of a vectorised non-negative function over ``[lo, hi]``, with its error estimate.

    Global adaptive bisection with a 16-point Gauss-Legendre rule: each panel's
    error is ``|GL16(left half) + GL16(right half) - GL16(panel)|`` (an
    estimate for the coarse rule; the returned value uses the halves, which
    are far more accurate for analytic integrands). Panels start at the sorted
    interior ``points`` and are split until the summed error is at most
    ``max(epsrel * max(|value|, scale), 1e-300)`` (``epsrel`` defaults to ``QUAD_EPSREL``);
    each initial panel is first cut into ``presplit`` equal panels. ``func`` maps an array of abscissae to
    an array of values. Raises ``ArithmeticError`` if that is not reached within
    ``QUAD_LIMIT`` rounds of splitting or the value is not finite. Returns
    ``(value, error)``.
    """
    inner = sorted({float(p) for p in points if lo < p < hi})
    edges = np.array([lo, *inner, hi], dtype=float)
    epsrel = QUAD_EPSREL if epsrel is None else float(epsrel)
    # Initial panels are cut so that no feature hides between two coarse rules.
    frac = np.linspace(0.0, 1.0, int(presplit) + 1)
    grid = edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * frac
    a, b = grid[:, :-1].ravel(), grid[:, 1:].ravel()
    coarse = _gl16(func, a, b)
    mid = 0.5 * (a + b)
    left, right = _gl16(func, a, mid), _gl16(func, mid, b)
    done_value, done_error = 0.0, 0.0
    for _ in range(QUAD_LIMIT):
        fine = left + right
        err = np.abs(fine - coarse)
        value = done_value + float(fine.sum())
        error = done_error + float(err.sum())
        if not math.isfinite(value):
            break
        tol = max(epsrel * max(abs(value), scale), _ABS_FLOOR)
        if error <= tol:
            return value, error
        split = err > tol / (4.0 * err.size)
        split[np.argmax(err)] = True
        done_value += float(fine[~split].sum())
        done_error += float(err[~split].sum())
        a, b, mid = a[split], b[split], mid[split]
        l_coarse, r_coarse = left[split], right[split]
        a = np.concatenate([a, mid])
        b = np.concatenate([mid, b])
        coarse = np.concatenate([l_coarse, r_coarse])
        if a.size > _MAX_PANELS:
            break
        mid = 0.5 * (a + b)
        left, right = _gl16(func, a, mid), _gl16(func, mid, b)
    raise ArithmeticError(
        f"adaptive quadrature did not converge on [{lo:g}, {hi:g}]: value {value!r}, error estimate {error!r}")


_GL16_T, _GL16_W = gauss_legendre_unit(16)
# Integrals below this absolute size are returned without a relative-accuracy guarantee.
_ABS_FLOOR = 1e-300
_MAX_PANELS = 20000


def _gl16(func, a, b):
    """16-point Gauss-Legendre estimates of ``int_a^b func`` for arrays of panels ``a, b``."""
    width = (b - a)[:, None]
    x = a[:, None] + width * _GL16_T
    values = np.asarray(func(x.ravel()), dtype=float).reshape(x.shape)
    return (values * _GL16_W * width).sum(axis=1)
