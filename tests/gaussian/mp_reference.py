"""Independent high-precision reference for the vector Gaussian curves (mpmath).

Written from the definitions, not from ``gaussian.curves``: plain bisection on
each monotone equation at 40 significant digits; the realism allocation solves
the stationarity condition ``2 lam w / sqrt(1 - w) = mu`` (``w = e^{-2 R_i}``)
in the variable w (``gaussian.curves`` uses a different parameterisation).
"""
from __future__ import annotations

import mpmath as mp

mp.mp.dps = 40
LN2 = mp.log(2)


def _bisect(fun, lo, hi, increasing=True, iters=400):
    """Root of a monotone ``fun`` in [lo, hi] (log-space variables), to ~1e-34 relative."""
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    for _ in range(iters):
        mid = (lo + hi) / 2
        if (fun(mid) < 0) == increasing:
            lo = mid
        else:
            hi = mid
        if hi - lo < mp.mpf(10) ** (-34) * max(1, abs(mid)):
            break
    return (lo + hi) / 2


def rate_nats(eigvals, snr):
    return sum(mp.log1p(snr * lam) / 2 for lam in eigvals)


def isotropic_snr(eigvals, rate_bits_total):
    """snr with sum 1/2 ln(1 + snr lam) = R, by bisection on ln snr."""
    eig = [mp.mpf(x) for x in eigvals]
    target = mp.mpf(rate_bits_total) * LN2
    t = _bisect(lambda u: rate_nats(eig, mp.exp(u)) - target, -2000, 2000)
    return mp.exp(t)


def isotropic_mse(eigvals, rate_bits_total):
    """(mmse, diffc_a, diffc_f) per dimension at the isotropic snr spending the rate."""
    eig = [mp.mpf(x) for x in eigvals]
    snr = isotropic_snr(eig, rate_bits_total)
    d = len(eig)
    mmse = sum(lam / (1 + snr * lam) for lam in eig) / d
    # 2 lam (1 - rho) written as 2 lam (1 - rho^2) / (1 + rho): no cancellation at high snr
    rho = [mp.sqrt(snr * lam / (1 + snr * lam)) for lam in eig]
    flow = sum(2 * lam / ((1 + snr * lam) * (1 + r)) for lam, r in zip(eig, rho)) / d
    return mmse, 2 * mmse, flow


def rd_mse(eigvals, rate_bits_total):
    """Reverse water-filling: bisection on ln theta of sum max(0, 1/2 ln(lam/theta)) = R."""
    eig = [mp.mpf(x) for x in eigvals]
    target = mp.mpf(rate_bits_total) * LN2
    if target == 0:
        return sum(eig) / len(eig)

    def excess(log_theta):
        theta = mp.exp(log_theta)
        return sum(max(mp.mpf(0), mp.log(lam / theta) / 2) for lam in eig) - target

    log_theta = _bisect(excess, -3000, 3000, increasing=False)
    theta = mp.exp(log_theta)
    return sum(min(theta, lam) for lam in eig) / len(eig)


def _component_rate(lam, mu):
    """R_i > 0 with 2 lam w / sqrt(1 - w) = mu, w = exp(-2 R_i).

    Squaring gives w^2 + c^2 w - c^2 = 0 with c = mu / (2 lam); its root in
    (0, 1) is w = c (sqrt(c^2 + 4) - c) / 2 = 2 c / (sqrt(c^2 + 4) + c).
    """
    c = mu / (2 * lam)
    w = 2 * c / (mp.sqrt(c * c + 4) + c)
    return -mp.log(w) / 2


def rdp_mse(eigvals, rate_bits_total):
    """Optimal perfect-realism MSE per dim: equalise the slopes, bisection on ln mu."""
    eig = [mp.mpf(x) for x in eigvals]
    target = mp.mpf(rate_bits_total) * LN2

    def excess(log_mu):
        mu = mp.exp(log_mu)
        return sum(_component_rate(lam, mu) for lam in eig) - target

    mu = mp.exp(_bisect(excess, -3000, 3000, increasing=False, iters=300))
    rates = [_component_rate(lam, mu) for lam in eig]
    # 2 lam (1 - sqrt(1 - w)) = 2 lam w / (1 + sqrt(1 - w)), w = e^{-2 R_i}
    return sum(2 * lam * mp.exp(-2 * r) / (1 + mp.sqrt(-mp.expm1(-2 * r))) for lam, r in zip(eig, rates)) / len(eig)
