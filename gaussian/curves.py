"""Rate–distortion curves of every scheme for a Gaussian source ``N(0, Sigma)``.

Schemes (MSE per dimension as a function of the total rate):

========================  =====================================================
``rd``                    MSE rate–distortion function (reverse water-filling)
``rdp``                   perfect-realism rate–distortion function with shared
                          randomness, optimal allocation across components
``diffc_a``               DiffC-A: posterior sample at the isotropic SNR that
                          spends the rate (``I(X; Z) = R``)
``diffc_f``               DiffC-F: probability-flow reconstruction, same SNR
``mmse``                  posterior mean, same SNR
``diffc_f_allocated``     DiffC-F with per-component SNRs chosen so that it
                          attains ``rdp``
========================  =====================================================

How the numbers are obtained (no grid interpolation is ever returned)::

    rd:        exact: sorted eigenvalues + prefix sums give the water level
               in closed form on each linear piece.
    isotropic: solve sum_i 1/2 ln(1 + snr lam_i) = R for log_snr;
    rdp:       solve sum_i R_i(tau) = R for the KKT multiplier 2 exp(-tau);
               both are monotone in the unknown. The unknown is bracketed
               by analytic bounds and exact evaluations on a coarse grid,
               then a vectorised, bracket-safeguarded Newton iteration runs
               until its last step is below 5e-7 (log units); the outputs are
               the exact sums at that point carried through the last step
               to first order (error <~ 4 step^2 = 1e-12 relative).

All public functions take ``(scheme, eigvals, rate_bits_total)`` or
``(eigvals, rate_bits_total)`` (or ``rate_bits_per_dim=`` instead); rates are in
bits, the internal unit is nats. Eigenvalues are validated and sorted in
descending order first; per-component outputs follow that order. ``theory/`` holds the symbolic source of truth for every
formula used here.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import components

__all__ = [
    "SCHEMES",
    "HIGH_RATE_GAP_DB",
    "Curves",
    "evaluate",
    "mse_per_dim",
    "rate_for_mse",
    "snr_for_rate",
    "log_snr_for_rate",
    "water_level",
    "rdp_allocation",
    "rdp_log_snrs",
    "rdp_path_log_snrs",
    "rdp_path_tau",
    "rdp_path_log_snr_slope",
    "psnr_db",
]

SCHEMES = ("rd", "rdp", "diffc_a", "diffc_f", "mmse", "diffc_f_allocated")
HIGH_RATE_GAP_DB = 10.0 * math.log10(2.0)  # limit of 10 log10(D_A / D_F) as snr -> inf
LN2 = math.log(2.0)

# Every solved quantity f and output g satisfies |f''| <= 2|f'| and |g'| <= 2|g|
# in log units (per component, hence for the sums), so a last Newton step
# delta leaves an error below ~4 delta^2 after the first-order carry:
# 5e-7 -> 1e-12 relative.
_STEP_TOL = 5e-7
_GRID_SPACING = 1.0 / 16.0  # log units between exact bracketing evaluations (cubic start)
_GRID_SPACING_QUINTIC = 1.0 / 6.0  # the same when the grid also has second derivatives (quintic start)
_CHUNK_ELEMS = 1 << 15
_LOG_MAX = 340.0  # largest ln(snr * lam) a pass evaluates: 4 e^680 is finite
# ln(1 + x) as np.log of the rounded 1 + x errs by at most ~2.2e-16 absolute per
# component, so the total rate errs by <= 1.1e-16 d nats. When every target rate
# is at least _FAST_LOG_MIN_RATE * d nats that is <= 1.1e-13 relative (and the
# Newton step divides it by a derivative >= min(rate, 1/4)), so the cheaper
# log is used; below it, log1p.
_FAST_LOG_MIN_RATE = 1e-3  # rows x dims per block: keeps temporaries in cache


# --------------------------------------------------------------------------
# validation


def _eigvals(eigvals) -> np.ndarray:
    from .spectrum import Spectrum, from_eigvals

    if isinstance(eigvals, Spectrum):
        return eigvals.eigvals
    return from_eigvals(eigvals).eigvals


def _total_rates(rate_bits_total, rate_bits_per_dim, dim: int) -> np.ndarray:
    """Validated total rates in bits from exactly one of the two keyword forms."""
    if (rate_bits_total is None) == (rate_bits_per_dim is None):
        raise ValueError("rate_bits_total: give exactly one of rate_bits_total and rate_bits_per_dim")
    if rate_bits_total is None:
        return _rates(rate_bits_per_dim, "rate_bits_per_dim") * dim
    return _rates(rate_bits_total)


def _rates(rate_bits_total, argument: str = "rate_bits_total") -> np.ndarray:
    rate = np.asarray(rate_bits_total, dtype=np.float64)
    if rate.ndim > 1:
        raise ValueError(f"{argument}: expected a scalar or 1-D array, got shape {rate.shape}")
    if not np.isfinite(rate).all() or (rate < 0).any():
        bad = rate[~(np.isfinite(rate) & (rate >= 0))].ravel()[0]
        raise ValueError(f"{argument}: rates must be finite and >= 0, got {float(bad)!r}")
    return np.atleast_1d(rate)


def _scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: unknown scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    return scheme


# --------------------------------------------------------------------------
# fused passes: sums over components and their derivatives, row-chunked
#
# Each pass maps a vector of the unknown (log_snr, or tau) to an array of
# shape [2 * k, m]: quantity j in row 2j and its derivative in row 2j + 1.

_RATE, _MMSE, _FLOW = 0, 1, 2  # isotropic pass rows (x2)
_ARATE, _AFLOW = 0, 1  # allocated pass rows (x2)


class _Grouped:
    """Distinct eigenvalues (descending) with their multiplicities: every pass sums with weights.

    Spectra with repeated eigenvalues (flat, separable or isotropic Fourier
    spectra, replicated channels) are summed exactly over the distinct values.
    """

    __slots__ = ("values", "counts", "weighted", "twice", "dim")

    def __init__(self, eigvals: np.ndarray):
        values, counts = np.unique(eigvals, return_counts=True)
        self.values = values[::-1].copy()
        self.counts = counts[::-1].astype(np.float64)
        self.weighted = self.counts * self.values
        self.twice = 2.0 * self.values
        self.dim = float(eigvals.size)


def _blocks(m: int, d: int):
    """Row slices of at most ``_CHUNK_ELEMS`` elements and five scratch arrays of that size."""
    rows = max(1, _CHUNK_ELEMS // d)
    scratch = [np.empty((rows, d)) for _ in range(5)]
    for start in range(0, m, rows):
        stop = min(m, start + rows)
        yield slice(start, stop), [a[: stop - start] for a in scratch]


def _isotropic_pass(g: _Grouped, log_snr: np.ndarray, rate_only: bool = False, fast_log: bool = False) -> np.ndarray:
    """Sums at isotropic ``snr = exp(log_snr)`` and their log_snr-derivatives.

    Rows: rate_nats, d/dt; mmse_total, d/dt; flow_total (DiffC-F SSE), d/dt
    (``rate_only``: rate_nats, d/dt, d2/dt2). With ``x = snr lam``,
    ``r = 1/(1+x)``, ``s = x r``, ``rho = sqrt(s)``: rate' = 1/2 sum s
    = snr mmse / 2 (I-MMSE), mmse = sum lam r, mmse' = -sum lam s r,
    flow = sum 2 lam r / (1 + rho), flow' = -sum lam rho r. ``fast_log``:
    ln(1 + x) as ``log`` of the rounded ``1 + x`` (see ``_FAST_LOG_MIN_RATE``).
    """
    out = np.full((3 if rate_only else 6, log_snr.size), np.nan)
    snr = np.exp(log_snr)
    for sl, (x, r, s, w, _) in _blocks(log_snr.size, g.values.size):
        np.multiply(snr[sl, None], g.values, out=x)
        np.add(x, 1.0, out=r)
        if fast_log:
            np.log(r, out=w)
        else:
            np.log1p(x, out=w)
        out[0, sl] = 0.5 * (w @ g.counts)
        if rate_only:  # rate, rate' and rate'' = 1/2 sum s r (for the starting point only)
            np.divide(1.0, r, out=r)
            np.multiply(x, r, out=s)
            out[1, sl] = 0.5 * (s @ g.counts)
            s *= r
            out[2, sl] = 0.5 * (s @ g.counts)
            continue
        np.divide(1.0, r, out=r)
        np.multiply(x, r, out=s)
        out[2, sl] = r @ g.weighted
        out[1, sl] = 0.5 * snr[sl] * out[2, sl]  # I-MMSE: d rate / d log_snr = snr * mmse / 2
        np.sqrt(s, out=w)  # rho
        np.multiply(s, r, out=s)
        out[3, sl] = -(s @ g.weighted)
        np.multiply(w, r, out=x)
        out[5, sl] = -(x @ g.weighted)
        w += 1.0
        np.divide(r, w, out=r)
        out[4, sl] = 2.0 * (r @ g.weighted)
    return out


def _allocation_terms(eigvals: np.ndarray, tau):
    """Per-component ``(y, rho)`` of the KKT allocation: ``y = snr_i lam_i``, ``rho = sqrt(y/(1+y))``.

    With ``a = lam e^tau``, stationarity of the perfect-realism allocation
    gives ``y (1 + y) = a^2``; with ``b = sqrt(1 + 4 a^2)`` that is
    ``1 + 2y = b``, ``rho = 2a / (1 + b)`` and ``y = a rho`` (no cancellation).
    """
    a = np.exp(tau)[..., None] * eigvals
    rho = 2.0 * a / (1.0 + np.sqrt(1.0 + 4.0 * a * a))
    return a * rho, rho


def _allocated_pass(g: _Grouped, tau: np.ndarray, rate_only: bool = False, fast_log: bool = False) -> np.ndarray:
    """Sums at the KKT allocation with multiplier ``2 exp(-tau)`` and their tau-derivatives.

    Rows: rate_nats, d/dtau; flow_total (= rdp SSE), d/dtau (``rate_only``:
    rate_nats, d/dtau, d2/dtau2). Per component,
    with ``b = 1 + 2y``: R = 1/2 ln(1 + y), R' = y / b = e^tau lam rho / b,
    D = 2 lam (1 - rho) = 4 lam / ((1 + b)(1 + rho)), D' = -2 lam rho / b.
    (``a <= e^_LOG_MAX`` keeps ``4 a^2`` finite.) ``fast_log``: R = 1/2 ln((1 + b)/2)
    with ``log`` of the rounded ``1 + b`` (see ``_FAST_LOG_MIN_RATE``).
    """
    out = np.full((3 if rate_only else 4, tau.size), np.nan)
    scale = np.exp(tau)
    for sl, (a2, b, rho, w, b_sq) in _blocks(tau.size, g.values.size):
        np.multiply(scale[sl, None], g.twice, out=a2)  # 2a
        np.multiply(a2, a2, out=b_sq)
        b_sq += 1.0
        np.sqrt(b_sq, out=b)
        if rate_only:  # R'' = sum 2 a^2 / b^3 = 1/2 sum (2a)^2 / (b^2 b) (for the starting point only)
            np.divide(a2, b, out=rho)  # 2a / b <= 1: no overflow
            rho *= rho
            np.divide(rho, b, out=rho)
            out[2, sl] = 0.5 * (rho @ g.counts)
        np.add(b, 1.0, out=w)
        if fast_log:  # 1 + y = (1 + b) / 2
            np.log(w, out=b_sq)
            out[0, sl] = 0.5 * (b_sq @ g.counts) - 0.5 * LN2 * g.dim
        np.divide(1.0, w, out=w)  # 1 / (1 + b)
        np.multiply(a2, w, out=rho)
        if not fast_log:
            a2 *= rho
            a2 *= 0.5  # y
            np.log1p(a2, out=a2)
            out[0, sl] = 0.5 * (a2 @ g.counts)
        np.divide(rho, b, out=b)  # rho / b
        # R' = sum y/b = e^tau sum lam rho/b and D' = -2 sum lam rho/b: one sum
        # gives both, and D'/R' = -2 e^-tau is the KKT slope (envelope theorem)
        lam_rho_over_b = b @ g.weighted
        out[1, sl] = scale[sl] * lam_rho_over_b
        if rate_only:
            continue
        out[3, sl] = -2.0 * lam_rho_over_b
        rho += 1.0
        np.divide(w, rho, out=w)
        out[2, sl] = 4.0 * (w @ g.weighted)
    return out


# --------------------------------------------------------------------------
# the monotone solver


def _solve(pass_fn, grouped: _Grouped, key: int, targets: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Unknown ``t`` with ``pass_fn(t)[2 key] == targets`` and all pass outputs there.

    ``lo``/``hi`` are analytic bounds per target (the function is monotone in
    t, increasing or decreasing). Returns ``(t, values)`` with values of shape
    ``[k, n]`` (the quantities, without derivatives).
    """
    n = targets.size
    # keep snr * lam (or lam e^tau) below e^_LOG_MAX: beyond it double precision overflows
    t_cap = _LOG_MAX - math.log(grouped.values[0])
    t_min, t_max = float(lo.min()), min(float(hi.max()), t_cap)
    bracket_only = key == 0  # the rate is row 0 of both passes: the grid needs nothing else
    fast_log = bracket_only and float(targets.min()) >= _FAST_LOG_MIN_RATE * grouped.dim
    spacing = _GRID_SPACING_QUINTIC if bracket_only else _GRID_SPACING
    num_grid = int(min(max(math.ceil((t_max - t_min) / spacing) + 1, 3), max(3, n)))
    grid = np.linspace(t_min, t_max, num_grid)
    g = pass_fn(grouped, grid, bracket_only, fast_log)
    increasing = g[2 * key + 1, 0] > 0 or g[2 * key, -1] > g[2 * key, 0]
    sign = 1.0 if increasing else -1.0
    # widen the grid if rounding in the analytic bounds left a target outside
    for _ in range(60):
        gv = sign * g[2 * key]
        below, above = gv[0] > sign * targets.min(), gv[-1] < sign * targets.max()
        if not (below or above):
            break
        width = max(1.0, grid[-1] - grid[0])
        if above and grid[-1] >= t_cap:
            raise ValueError("rate_bits_total: rate too high: the answer is below double precision's range")
        extra = np.array([grid[0] - width]) if below else np.array([min(grid[-1] + width, t_cap)])
        ge = pass_fn(grouped, extra, bracket_only, fast_log)
        grid = np.concatenate([extra, grid]) if below else np.concatenate([grid, extra])
        g = np.concatenate([ge, g], axis=1) if below else np.concatenate([g, ge], axis=1)
    else:
        raise ValueError("rate_bits_total: target outside the range double precision can represent")

    gv = sign * g[2 * key]
    j = np.clip(np.searchsorted(gv, sign * targets), 1, grid.size - 1)
    t_lo, t_hi = grid[j - 1].copy(), grid[j].copy()
    # inverse Hermite interpolation inside the bracket (quintic when the grid
    # has second derivatives, else cubic): a starting point only
    f_a, f_b = g[2 * key, j - 1], g[2 * key, j]
    m_a, m_b = 1.0 / g[2 * key + 1, j - 1], 1.0 / g[2 * key + 1, j]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = f_b - f_a
        u = (targets - f_a) / h
        if bracket_only:  # t'' = -f'' / f'^3
            c_a, c_b = -g[2, j - 1] * m_a**3, -g[2, j] * m_b**3
            t0 = (
                t_lo * (1 - 10 * u**3 + 15 * u**4 - 6 * u**5)
                + h * m_a * (u - 6 * u**3 + 8 * u**4 - 3 * u**5)
                + h * h * c_a * (u**2 - 3 * u**3 + 3 * u**4 - u**5) / 2
                + h * h * c_b * (u**3 - 2 * u**4 + u**5) / 2
                + h * m_b * (-4 * u**3 + 7 * u**4 - 3 * u**5)
                + t_hi * (10 * u**3 - 15 * u**4 + 6 * u**5)
            )
        else:
            t0 = (
                (2 * u**3 - 3 * u**2 + 1) * t_lo
                + (u**3 - 2 * u**2 + u) * h * m_a
                + (-2 * u**3 + 3 * u**2) * t_hi
                + (u**3 - u**2) * h * m_b
            )
    bad = ~np.isfinite(t0) | (t0 <= t_lo) | (t0 >= t_hi)
    t0[bad] = 0.5 * (t_lo[bad] + t_hi[bad])

    t_out = np.empty(n)
    values = None
    active = np.arange(n)
    t = t0
    for _ in range(200):
        v = pass_fn(grouped, t, False, fast_log)
        f, fp = v[2 * key], v[2 * key + 1]
        resid = sign * (f - targets[active])
        t_lo = np.where(resid < 0, t, t_lo)
        t_hi = np.where(resid > 0, t, t_hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = (targets[active] - f) / fp
        done = (np.abs(step) <= _STEP_TOL) | (resid == 0) | (t_hi - t_lo <= 4e-16 * np.maximum(1.0, np.abs(t)))
        if values is None:
            values = np.empty((v.shape[0] // 2, n))
        if done.any():
            idx = active[done]
            # carry the last step only when it is small (not when the bracket collapsed first)
            last = np.where(np.abs(step[done]) <= _STEP_TOL, step[done], 0.0)
            t_out[idx] = t[done] + last
            values[:, idx] = v[0::2, done] + v[1::2, done] * last
        keep = ~done
        if not keep.any():
            return t_out, values
        active, t, t_lo, t_hi, step = active[keep], t[keep], t_lo[keep], t_hi[keep], step[keep]
        t_new = t + step
        outside = ~np.isfinite(t_new) | (t_new <= t_lo) | (t_new >= t_hi)
        t = np.where(outside, 0.5 * (t_lo + t_hi), t_new)
    raise RuntimeError("gaussian.curves._solve did not converge in 200 iterations")  # pragma: no cover


# --------------------------------------------------------------------------
# analytic brackets


def _rate_bracket(eigvals, rate_nats):
    """Bounds on log_snr (or tau) at which the total rate equals ``rate_nats`` (> 0).

    ``1/2 ln(1+x) <= x/2`` gives the lower bound; ``1/2 ln(1+x) >= 1/2 ln x``
    and ``I >= 1/2 ln(1 + snr lam_max)`` give two upper bounds. The same
    bounds hold for the allocation variable tau (``a - 1/2 <= y <= a``).
    """
    lo = np.log(2.0 * rate_nats / eigvals.sum())
    hi_mean = (2.0 * rate_nats - np.log(eigvals).sum()) / eigvals.size
    with np.errstate(divide="ignore"):
        hi_top = 2.0 * rate_nats + np.log(-np.expm1(-2.0 * rate_nats)) - math.log(eigvals[0])
    hi = np.minimum(hi_mean, hi_top + math.log(2.0))
    return lo - 1e-6, hi + 1e-6


def _distortion_bracket(eigvals, key_total, kind: str):
    """Bounds on the unknown at which a total distortion equals ``key_total``.

    ``kind`` "mmse": sum lam/(1 + x) (needs total < sum lam); "flow": DiffC-F
    SSE at isotropic snr or the rdp SSE at tau (needs total < 2 sum lam).
    Uses lam/(1+x) <= 1/snr, 2 lam (1 - rho) >= 2 lam - 2 lam^1.5 e^(t/2).
    """
    total = eigvals.sum()
    d = eigvals.size
    if kind == "mmse":
        lo = np.log((total - key_total) / key_total) - math.log(eigvals[0])
        hi = np.log(d / key_total)
    else:
        lo = 2.0 * np.log((2.0 * total - key_total) / (2.0 * np.sum(eigvals**1.5)))
        hi = np.log(2.0 * d / key_total)
    return lo - 1e-6, hi + 1e-6


# --------------------------------------------------------------------------
# reverse water-filling (closed form)


def _waterfill_rate(eigvals, rate_nats):
    """Water level theta and total distortion sum_i min(theta, lam_i) at ``rate_nats``."""
    d = eigvals.size
    log_eig = np.log(eigvals)
    prefix = np.concatenate([[0.0], np.cumsum(log_eig)])  # prefix[k] = sum_{i<k} ln lam_i
    tail = np.concatenate([np.cumsum(eigvals[::-1])[::-1], [0.0]])  # tail[k] = sum_{i>=k} lam_i
    k_all = np.arange(1, d)
    breaks = 0.5 * (prefix[1:d] - k_all * log_eig[1:d])  # rate at theta = lam_k, k active
    k = 1 + np.searchsorted(breaks, rate_nats, side="left")
    log_theta = (prefix[k] - 2.0 * rate_nats) / k
    theta = np.exp(log_theta)
    return theta, k * theta + tail[k]


def _waterfill_distortion(eigvals, sse_total):
    """Water level and total rate (nats) at total distortion ``sse_total`` (< sum lam)."""
    d = eigvals.size
    tail = np.concatenate([np.cumsum(eigvals[::-1])[::-1], [0.0]])  # tail[k] = sum_{i>=k} lam_i
    prefix = np.concatenate([[0.0], np.cumsum(np.log(eigvals))])
    # D(theta = lam_k) with components 0..k-1 active, k = 0..d (lam_d := 0): nonincreasing in k
    at_break = np.concatenate([np.arange(d) * eigvals + tail[:d], [0.0]])
    k = (d + 1) - np.searchsorted(at_break[::-1], sse_total, side="right")
    k = np.clip(k, 1, d)
    theta = (sse_total - tail[k]) / k
    return theta, 0.5 * (prefix[k] - k * np.log(theta))


# --------------------------------------------------------------------------
# public API


@dataclasses.dataclass(frozen=True)
class Curves:
    """All six schemes evaluated at the same rates.

    Attributes
    ----------
    eigvals : ndarray ``[d]``
    rate_bits_total : ndarray ``[n]``
    snr : ndarray ``[n]``, the isotropic SNR at which ``I(X; Z)`` equals the rate
    water_level : ndarray ``[n]``, theta of reverse water-filling
    mse_rd, mse_rdp, mse_diffc_a, mse_diffc_f, mse_mmse, mse_diffc_f_allocated : ndarray ``[n]``
        MSE per dimension of each scheme.
    """

    eigvals: np.ndarray
    rate_bits_total: np.ndarray
    snr: np.ndarray
    water_level: np.ndarray
    mse_rd: np.ndarray
    mse_rdp: np.ndarray
    mse_diffc_a: np.ndarray
    mse_diffc_f: np.ndarray
    mse_mmse: np.ndarray
    mse_diffc_f_allocated: np.ndarray

    @property
    def dim(self) -> int:
        """Number of dimensions ``d``."""
        return int(self.eigvals.size)

    @property
    def rate_bits_per_dim(self) -> np.ndarray:
        """Rate in bits per dimension ``[n]``."""
        return self.rate_bits_total / self.dim

    def mse(self, scheme: str) -> np.ndarray:
        """MSE per dimension of ``scheme`` ``[n]``."""
        return getattr(self, "mse_" + _scheme(scheme))

    def gap_db(self, scheme: str, reference: str = "rd") -> np.ndarray:
        """``10 log10(mse[scheme] / mse[reference])`` in dB ``[n]``."""
        return 10.0 * np.log10(self.mse(scheme) / self.mse(reference))

    @property
    def gap_db_ancestral_over_flow(self) -> np.ndarray:
        """``10 log10(D_A / D_F)`` in dB ``[n]``; tends to 3.0103 dB at high rate."""
        return self.gap_db("diffc_a", "diffc_f")


def evaluate(eigvals, rate_bits_total=None, *, rate_bits_per_dim=None) -> Curves:
    """Every scheme's MSE per dimension at each total rate in bits.

    Parameters
    ----------
    eigvals : array_like or Spectrum
        Variances of the independent components (> 0).
    rate_bits_total : array_like
        Total rates in bits (>= 0), scalar or 1-D.
    rate_bits_per_dim : array_like, keyword only
        Alternatively, rates in bits per dimension.

    Returns
    -------
    Curves

    Examples
    --------
    >>> c = evaluate([1.0, 1.0], [2.0])
    >>> round(float(c.mse_rd[0]), 12)  # 2 bits over 2 unit dims: 2^-2
    0.25
    """
    eigvals = _eigvals(eigvals)
    rate_bits = _total_rates(rate_bits_total, rate_bits_per_dim, eigvals.size)
    rate_nats = rate_bits * LN2
    d = eigvals.size
    n = rate_nats.size
    zero = rate_nats == 0
    pos = ~zero
    theta, sse_rd = _waterfill_rate(eigvals, rate_nats)

    snr = np.zeros(n)
    mmse = np.full(n, eigvals.sum())
    flow = np.full(n, 2.0 * eigvals.sum())
    rdp = np.full(n, 2.0 * eigvals.sum())
    if pos.any():
        target = rate_nats[pos]
        lo, hi = _rate_bracket(eigvals, target)
        grouped = _Grouped(eigvals)
        t, v = _solve(_isotropic_pass, grouped, _RATE, target, lo, hi)
        snr[pos], mmse[pos], flow[pos] = np.exp(t), v[_MMSE], v[_FLOW]
        _, va = _solve(_allocated_pass, grouped, _ARATE, target, lo, hi)
        rdp[pos] = va[_AFLOW]
    return Curves(
        eigvals=eigvals,
        rate_bits_total=rate_bits,
        snr=snr,
        water_level=theta,
        mse_rd=sse_rd / d,
        mse_rdp=rdp / d,
        mse_diffc_a=2.0 * mmse / d,
        mse_diffc_f=flow / d,
        mse_mmse=mmse / d,
        # DiffC-F at the KKT noise levels: the same sum that defines rdp
        # (claim diffc_f_on_rdp_scalar); mse_per_dim("diffc_f_allocated")
        # recomputes it through rdp_allocation and components.mse_diffc_f.
        mse_diffc_f_allocated=rdp / d,
    )


def log_snr_for_rate(eigvals, rate_bits_total=None, *, rate_bits_per_dim=None) -> np.ndarray:
    """Isotropic log-SNR at which ``I(X; Z) = sum_i 1/2 ln(1 + snr lam_i)`` equals the rate ``[n]`` (-inf at rate 0)."""
    eigvals = _eigvals(eigvals)
    rate_nats = _total_rates(rate_bits_total, rate_bits_per_dim, eigvals.size) * LN2
    log_snr = np.full(rate_nats.size, -np.inf)
    pos = rate_nats > 0
    if pos.any():
        lo, hi = _rate_bracket(eigvals, rate_nats[pos])
        log_snr[pos], _ = _solve(_isotropic_pass, _Grouped(eigvals), _RATE, rate_nats[pos], lo, hi)
    return log_snr


def snr_for_rate(eigvals, rate_bits_total=None, *, rate_bits_per_dim=None) -> np.ndarray:
    """Isotropic SNR at which ``I(X; Z)`` equals the rate ``[n]`` (0 at rate 0)."""
    return np.exp(log_snr_for_rate(eigvals, rate_bits_total, rate_bits_per_dim=rate_bits_per_dim))


def water_level(eigvals, rate_bits_total=None, *, rate_bits_per_dim=None) -> np.ndarray:
    """Reverse water-filling level theta (``D_i = min(theta, lam_i)``) at each rate ``[n]``."""
    eigvals = _eigvals(eigvals)
    theta, _ = _waterfill_rate(eigvals, _total_rates(rate_bits_total, rate_bits_per_dim, eigvals.size) * LN2)
    return theta


def rdp_allocation(eigvals, rate_bits_total=None, *, rate_bits_per_dim=None):
    """Optimal perfect-realism allocation: per-component rates (nats) and DiffC-F SNRs.

    Columns follow the eigenvalues sorted in descending order (as in
    ``Spectrum.eigvals``), not the order in which they were passed.

    Returns
    -------
    rate_nats : ndarray ``[n, d]``, summing to the total rate over d
    snr : ndarray ``[n, d]``, with ``1/2 ln(1 + snr_i lam_i) = rate_nats_i``
    """
    eigvals = _eigvals(eigvals)
    rate_nats = _total_rates(rate_bits_total, rate_bits_per_dim, eigvals.size) * LN2
    n = rate_nats.size
    rates = np.zeros((n, eigvals.size))
    snrs = np.zeros((n, eigvals.size))
    pos = rate_nats > 0
    if pos.any():
        lo, hi = _rate_bracket(eigvals, rate_nats[pos])
        tau, _ = _solve(_allocated_pass, _Grouped(eigvals), _ARATE, rate_nats[pos], lo, hi)
        y, _ = _allocation_terms(eigvals, tau)
        rates[pos] = 0.5 * np.log1p(y)
        snrs[pos] = y / eigvals
    return rates, snrs


def rdp_log_snrs(eigvals, rate_bits_total=None, *, rate_bits_per_dim=None) -> np.ndarray:
    """Per-component DiffC-F log-SNRs of the perfect-realism allocation ``[n, d]``, in the order given.

    Unlike :func:`rdp_allocation`, columns follow ``eigvals`` as passed (a model's
    basis order), for a noise schedule: ``log_snr_i = tau + ln(rho_i)``
    (``snr_i = y_i / lam_i = e^tau rho_i``, ``_allocation_terms``), finite for
    every ``lam_i > 0`` at any rate > 0 (the allocation gives every component
    positive rate, claim ``rdp_vector_kkt``) and strictly increasing in the rate
    for each component (claim ``rdp_schedule_monotone``). Rates must be > 0.

    >>> ls = rdp_log_snrs([1.0, 4.0], rate_bits_per_dim=[0.5, 1.0])
    >>> bool(np.all(np.diff(ls, axis=0) > 0)), ls.shape
    (True, (2, 2))
    """
    given = np.asarray(eigvals, dtype=np.float64)
    spectrum = _eigvals(given)
    if given.ndim != 1 or given.size != spectrum.size:
        raise ValueError(f"eigvals: expected a 1-D array of variances > 0, got shape {given.shape}")
    rate_nats = _total_rates(rate_bits_total, rate_bits_per_dim, spectrum.size) * LN2
    if not (rate_nats > 0).all():
        raise ValueError("rate_bits_total: a schedule needs rates > 0 (at rate 0 every log-SNR is -inf)")
    lo, hi = _rate_bracket(spectrum, rate_nats)
    tau, _ = _solve(_allocated_pass, _Grouped(spectrum), _ARATE, rate_nats, lo, hi)
    return rdp_path_log_snrs(given, tau)


def rdp_path_log_snrs(eigvals, tau) -> np.ndarray:
    """Per-component log-SNRs ``[n, d]`` of the perfect-realism path at its parameter ``tau`` (``[n]`` or a scalar).

    ``tau`` is ``ln(2 / mu)`` for the KKT multiplier ``mu`` (claim ``rdp_vector_kkt``): ``log_snr_i = tau + ln rho_i``,
    ``rho_i = 2 a_i / (1 + sqrt(1 + 4 a_i^2))``, ``a_i = lam_i e^tau``. A component's log-SNR depends on its own
    ``lam_i`` and ``tau`` alone, not on the rest of the spectrum, so one ``tau`` names the same noise level of a
    component of variance ``lam`` in images of every size (the learned ``rdp`` U-Net is conditioned on it).
    ``eigvals`` in the order given, each > 0.

    >>> rdp_path_log_snrs([1.0], 0.0).round(12).tolist()   # a = 1: rho = 2 / (1 + sqrt 5)
    [[-0.48121182506]]
    """
    lam = _positive_eigvals_in_order(eigvals)
    tau = np.atleast_1d(np.asarray(tau, dtype=np.float64))
    if tau.ndim != 1 or not np.isfinite(tau).all():
        raise ValueError("tau: expected finite numbers (a scalar or a 1-D array)")
    _, rho = _allocation_terms(lam, tau)
    return tau[:, None] + np.log(rho)


def rdp_path_tau(eigvals, log_snrs) -> np.ndarray:
    """Inverse of :func:`rdp_path_log_snrs` component by component: ``[..., d]`` values of ``tau``.

    With ``y = snr lam`` the KKT condition is ``y (1 + y) = a^2`` (``_allocation_terms``), so
    ``tau = 1/2 (log_snr + log1p(y) - ln lam)``. On the path every component gives the same ``tau``; a caller
    checks their spread.

    >>> float(rdp_path_tau([1.0, 4.0], rdp_path_log_snrs([1.0, 4.0], 0.7))[0].max().round(12))
    0.7
    """
    lam = _positive_eigvals_in_order(eigvals)
    ls = np.asarray(log_snrs, dtype=np.float64)
    if ls.shape[-1:] != lam.shape or not np.isfinite(ls).all():
        raise ValueError(f"log_snrs: expected finite per-component log-SNRs [..., {lam.size}], got shape {ls.shape}")
    y = np.exp(ls) * lam
    return 0.5 * (ls + np.log1p(y) - np.log(lam))


def rdp_path_log_snr_slope(eigvals, tau) -> np.ndarray:
    """``d log_snr_i / d tau = 1 + 1 / sqrt(1 + 4 a_i^2)``, ``a_i = lam_i e^tau``, in ``(1, 2)`` (``[n, d]``).

    Claim ``rdp_schedule_monotone`` (``-d ln snr_i / d ln mu`` with ``mu = 2 e^-tau``); the flow receiver of a
    learned ``rdp`` model integrates the probability flow in ``tau`` with it.

    >>> rdp_path_log_snr_slope([1.0], 0.0).round(12).tolist()   # 1 + 1 / sqrt(5)
    [[1.4472135955]]
    """
    lam = _positive_eigvals_in_order(eigvals)
    tau = np.atleast_1d(np.asarray(tau, dtype=np.float64))
    if tau.ndim != 1 or not np.isfinite(tau).all():
        raise ValueError("tau: expected finite numbers (a scalar or a 1-D array)")
    a = np.exp(tau)[:, None] * lam
    return 1.0 + 1.0 / np.sqrt(1.0 + 4.0 * a * a)


def _positive_eigvals_in_order(eigvals) -> np.ndarray:
    """``eigvals`` as a 1-D float64 array of finite values > 0, order kept (ValueError naming eigvals)."""
    lam = np.asarray(eigvals, dtype=np.float64)
    if lam.ndim != 1 or lam.size == 0 or not np.isfinite(lam).all() or not (lam > 0).all():
        raise ValueError(f"eigvals: expected a 1-D array of finite variances > 0, got shape {lam.shape}")
    return lam


def mse_per_dim(scheme: str, eigvals, rate_bits_total=None, *, rate_bits_per_dim=None) -> np.ndarray:
    """MSE per dimension of one scheme at each total rate in bits ``[n]``.

    >>> round(float(mse_per_dim("diffc_f", [1.0], rate_bits_per_dim=1.0)[0]), 12)  # 2 (1 - sqrt(3/4))
    0.267949192431
    """
    scheme = _scheme(scheme)
    eigvals = _eigvals(eigvals)
    d = eigvals.size
    rate_bits_total = _total_rates(rate_bits_total, rate_bits_per_dim, d)
    if scheme == "rd":
        _, sse = _waterfill_rate(eigvals, rate_bits_total * LN2)
        return sse / d
    if scheme in ("diffc_a", "diffc_f", "mmse"):
        snr = snr_for_rate(eigvals, rate_bits_total)[:, None]
        per_component = {
            "diffc_a": components.mse_diffc_a,
            "diffc_f": components.mse_diffc_f,
            "mmse": components.mse_mmse,
        }[scheme](eigvals, snr)
        return per_component.mean(axis=1)
    rates, snrs = rdp_allocation(eigvals, rate_bits_total)
    if scheme == "rdp":
        return components.mse_rdp(eigvals, rates).mean(axis=1)
    return components.mse_diffc_f(eigvals, snrs).mean(axis=1)


def rate_for_mse(scheme: str, eigvals, mse_per_dim) -> np.ndarray:
    """Total rate in bits at which ``scheme`` reaches each MSE per dimension ``[n]``.

    An MSE at or above the scheme's zero-rate distortion (the mean variance
    for ``rd`` and ``mmse``, twice that for the realism schemes) needs rate 0.
    """
    scheme = _scheme(scheme)
    eigvals = _eigvals(eigvals)
    mse = np.atleast_1d(np.asarray(mse_per_dim, dtype=np.float64))
    if mse.ndim > 1 or not np.isfinite(mse).all() or (mse <= 0).any():
        raise ValueError("mse_per_dim: must be finite and > 0 (scalar or 1-D)")
    d = eigvals.size
    total = eigvals.sum()
    sse = mse * d
    realism = scheme not in ("rd", "mmse")
    zero_rate_sse = (2.0 if realism else 1.0) * total
    rate_nats = np.zeros(mse.size)
    pos = sse < zero_rate_sse
    if not pos.any():
        return rate_nats
    target = sse[pos]
    if scheme == "rd":
        _, rate_nats[pos] = _waterfill_distortion(eigvals, target)
    elif scheme in ("mmse", "diffc_a"):
        mmse_target = target if scheme == "mmse" else 0.5 * target
        lo, hi = _distortion_bracket(eigvals, mmse_target, "mmse")
        _, v = _solve(_isotropic_pass, _Grouped(eigvals), _MMSE, mmse_target, lo, hi)
        rate_nats[pos] = v[_RATE]
    elif scheme == "diffc_f":
        lo, hi = _distortion_bracket(eigvals, target, "flow")
        _, v = _solve(_isotropic_pass, _Grouped(eigvals), _FLOW, target, lo, hi)
        rate_nats[pos] = v[_RATE]
    else:
        lo, hi = _distortion_bracket(eigvals, target, "flow")
        _, v = _solve(_allocated_pass, _Grouped(eigvals), _AFLOW, target, lo, hi)
        rate_nats[pos] = v[_ARATE]
    return rate_nats / LN2


def psnr_db(mse, peak: float) -> np.ndarray:
    """PSNR ``10 log10(peak^2 / mse)`` in dB; ``peak`` is the peak-to-peak signal range (2 for [-1, 1])."""
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError(f"peak: must be finite and > 0, got {peak!r}")
    mse = np.asarray(mse, dtype=np.float64)
    if (mse <= 0).any() or not np.isfinite(mse).all():
        raise ValueError("mse: must be finite and > 0")
    return 10.0 * np.log10(peak**2 / mse)
