"""Independent high-precision references for the scalar sources (sympy + mpmath, 24 digits).

Written from the output density alone, not from ``bounds.sources``: for
``Y = sqrt(snr) X + N(0, 1)`` the density ``p_Y`` is written in closed form as a
sympy expression and differentiated symbolically, then

    I(X; Y)   = h(Y) - 1/2 ln(2 pi e)          (h(Y | X) = h(N))
    mmse(snr) = (1 - J(Y)) / snr               (Brown's identity, J = Fisher information)
    F_Y(y)    = closed form / mpmath quadrature of p_Y

are integrated by mpmath's tanh-sinh rule. None of this shares code or
formulas with the truncated-Gaussian pieces, the KL form of ``I`` or the
adaptive Gauss-Legendre rule of the package. For discrete sources at high snr,
where ``1 - J`` underflows relative to 24 digits, ``mmse`` is instead the
integral of the posterior variance written directly from Bayes' rule.
"""
from __future__ import annotations

import functools

import mpmath as mp
import sympy as sp

DPS = 24
_y = sp.Symbol("y", real=True)
_a = sp.Symbol("a", positive=True)


def _phi(t):
    return sp.exp(-t**2 / 2) / sp.sqrt(2 * sp.pi)


def _ndtr(t):
    return sp.erfc(-t / sp.sqrt(2)) / 2


def density_expr(kind, params):
    """Sympy expression of ``p_Y(y)`` with symbols ``y`` and ``a = sqrt(snr)``."""
    if kind == "laplace":
        (b,) = [sp.nsimplify(v) for v in params]
        beta = _a * b
        return (sp.exp(1 / (2 * beta**2)) / (4 * beta)) * (
            sp.exp(-_y / beta) * sp.erfc((1 / beta - _y) / sp.sqrt(2))
            + sp.exp(_y / beta) * sp.erfc((1 / beta + _y) / sp.sqrt(2)))
    if kind == "uniform":
        (w,) = [sp.nsimplify(v) for v in params]
        return (_ndtr(_y + _a * w) - _ndtr(_y - _a * w)) / (2 * _a * w)
    if kind in ("mixture", "discrete"):
        weights, means, variances = params
        total = 0
        for wk, mk, vk in zip(weights, means, variances):
            wk, mk, vk = sp.nsimplify(wk), sp.nsimplify(mk), sp.nsimplify(vk)
            sd = sp.sqrt(1 + _a**2 * vk)
            total += wk * _phi((_y - _a * mk) / sd) / sd
        return total
    raise ValueError(kind)


@functools.lru_cache(maxsize=64)
def _lambdified(kind, params):
    p = density_expr(kind, params)
    dp = sp.diff(p, _y)
    return sp.lambdify((_y, _a), p, "mpmath"), sp.lambdify((_y, _a), dp, "mpmath")


def _freeze(params):
    return tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in params)


def _breaks(kind, params, a, var):
    """Integration break points in y covering every feature of ``p_Y``."""
    sd_g = mp.sqrt(1 + a * a * var)
    pts = {mp.mpf(0)}
    reach = 14 * sd_g
    if kind == "laplace":
        b = mp.mpf(params[0])
        reach = max(reach, 90 * a * b + 14)
        pts |= {a * b * k for k in (-20, -5, -1, 1, 5, 20)} | {mp.mpf(-1), mp.mpf(1)}
    elif kind == "uniform":
        w = mp.mpf(params[0])
        reach = a * w + 14
        pts |= {-a * w, a * w}
    else:
        weights, means, variances = params
        for mk, vk in zip(means, variances):
            c = a * mp.mpf(mk)
            sd = mp.sqrt(1 + a * a * mp.mpf(vk))
            pts |= {c, c - 3 * sd, c + 3 * sd}
            reach = max(reach, abs(c) + 14 * sd)
        cs = sorted(a * mp.mpf(m) for m in means)
        pts |= {(u + v) / 2 for u, v in zip(cs[:-1], cs[1:])}
    pts = sorted(p for p in pts if -reach < p < reach)
    return [-reach, *pts, reach]


def info_and_mmse(kind, params, variance, snr):
    """``(I(X;Y) nats, mmse)`` as mpf at 24 digits for one scalar source at ``snr``."""
    params = _freeze(params)
    with mp.workdps(DPS):
        a = mp.sqrt(mp.mpf(snr))
        p, dp = _lambdified(kind, params)
        pts = _breaks(kind, params, a, mp.mpf(variance))

        def neg_plogp(y):
            v = p(y, a)
            return -v * mp.log(v) if v > 0 else mp.mpf(0)

        def fisher(y):
            v = p(y, a)
            return dp(y, a) ** 2 / v if v > 0 else mp.mpf(0)

        h_y = mp.quad(neg_plogp, pts)
        info = h_y - mp.log(2 * mp.pi * mp.e) / 2
        mmse = (1 - mp.quad(fisher, pts)) / (a * a)
        return info, mmse


def discrete_mmse(atoms, probs, snr):
    """``E[Var(X | Y)]`` for a discrete source from Bayes' rule at 24 digits (valid at any snr)."""
    with mp.workdps(DPS):
        a = mp.sqrt(mp.mpf(snr))
        xs = [mp.mpf(x) for x in atoms]
        ps = [mp.mpf(q) for q in probs]

        def integrand(y):
            joint = [q * mp.exp(-(y - a * x) ** 2 / 2) / mp.sqrt(2 * mp.pi) for x, q in zip(xs, ps)]
            tot = mp.fsum(joint)
            if tot == 0:
                return mp.mpf(0)
            mean = mp.fsum(j * x for j, x in zip(joint, xs)) / tot
            return mp.fsum(j * (x - mean) ** 2 for j, x in zip(joint, xs))

        cs = sorted(a * x for x in xs)
        pts = sorted(set(cs) | {(u + v) / 2 for u, v in zip(cs[:-1], cs[1:])})
        return mp.quad(integrand, [cs[0] - 14, *pts, cs[-1] + 14])


def output_cdf(kind, params, snr, y):
    """``P(Y <= y)`` at 24 digits by tanh-sinh quadrature of the closed-form ``p_Y``."""
    params = _freeze(params)
    with mp.workdps(DPS):
        a = mp.sqrt(mp.mpf(snr))
        p, _ = _lambdified(kind, params)
        y = mp.mpf(y)
        breaks = _breaks(kind, params, a, mp.mpf(1))
        lower = min(breaks[0], y) - 40
        near = {y - mp.mpf(2) ** k for k in range(-8, 8)}  # resolve the steep decay just below y
        pts = sorted(q for q in set(breaks) | near if lower < q < y)
        return mp.quad(lambda t: p(t, a), [lower, *pts, y])


def mixture_entropy(weights, means, stds):
    """``h(X)`` of a Gaussian mixture in nats at 24 digits (tanh-sinh quadrature of ``-p ln p``)."""
    with mp.workdps(DPS):
        comps = [(mp.mpf(w), mp.mpf(m), mp.mpf(s)) for w, m, s in zip(weights, means, stds)]

        def dens(x):
            return mp.fsum(w * mp.exp(-((x - m) / s) ** 2 / 2) / (s * mp.sqrt(2 * mp.pi)) for w, m, s in comps)

        def integrand(x):
            v = dens(x)
            return -v * mp.log(v) if v > 0 else mp.mpf(0)

        lo = min(m - 14 * s for _, m, s in comps)
        hi = max(m + 14 * s for _, m, s in comps)
        pts = sorted({m for _, m, _ in comps})
        return mp.quad(integrand, [lo, *pts, hi])
