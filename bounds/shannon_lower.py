"""Bounds on the MSE rate-distortion function ``R(D)`` of a general source, and Blau-Michaeli.

Rates are in nats for the whole ``d``-dimensional source; ``mse`` is the mean
squared error per dimension (``D = d * mse`` in total).

Inequalities (each holds for every ``mse > 0``):

- Shannon lower bound, for ``X`` with a density and finite ``h(X)``:
  ``R(D) >= h(X) - d/2 ln(2 pi e mse)``; equivalently
  ``D(R)/d >= exp(2 (h(X) - R) / d) / (2 pi e)``. Equality iff ``X`` is i.i.d.
  Gaussian (for ``mse`` below its variance). ``R(D) >= 0`` too; the functions
  return the raw expression, which can be negative.
- Gaussian upper bound, for any ``X`` with covariance eigenvalues ``eigvals``:
  ``R(D) <= R_G(D) = sum_i 1/2 ln(eigvals_i / theta)_+`` with
  ``sum_i min(theta, eigvals_i) = D`` (reverse water-filling); equality iff Gaussian.
- Achievability by the diffusion channel: ``R(D) <= I(X; Z)`` at
  ``D = E||X - g(Z)||^2`` for any decoder ``g`` (data processing), in particular
  ``g = E[X|Z]`` (``D = mmse``) and the flow map (``D = D_F``).
- Blau & Michaeli (2019, Thm. 2), MSE and perfect realism (``X_hat ~ p_X``; the
  operational version needs shared randomness): ``D_p(R) <= 2 D(R)``, and always
  ``D_p(R) >= D(R)``. With the two bounds above:
  ``D_SLB(R) <= D(R) <= D_p(R) <= 2 D(R) <= 2 D_G(R)``.

Corollary used as a test (SLB at the MMSE decoder): ``mmse(snr) >= d/(2 pi e)
exp(2 (h(X) - I(snr)) / d)``, with equality iff ``X`` is i.i.d. Gaussian.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "shannon_lower_bound_nats",
    "shannon_lower_bound_mse",
    "gaussian_upper_bound_nats",
    "gaussian_upper_bound_mse",
    "water_level",
    "perfect_realism_mse_upper_bound",
]

_TWO_PI_E = 2.0 * math.pi * math.e


def _check_positive(value, name):
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _check_dim(dim):
    if isinstance(dim, bool) or int(dim) != dim or int(dim) < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    return int(dim)


def _check_entropy(differential_entropy_nats):
    if differential_entropy_nats is None:
        raise ValueError("differential_entropy_nats is None: the Shannon lower bound needs a source with a density")
    h = float(differential_entropy_nats)
    if not math.isfinite(h):
        raise ValueError(f"differential_entropy_nats must be finite, got {differential_entropy_nats!r}")
    return h


def _check_eigvals(eigvals):
    lam = np.atleast_1d(np.asarray(eigvals, dtype=float))
    if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0.0):
        raise ValueError(f"eigvals must be a non-empty 1-D array of finite numbers > 0, got {eigvals!r}")
    return lam


def shannon_lower_bound_nats(differential_entropy_nats, dim, mse):
    """Shannon lower bound ``h(X) - d/2 ln(2 pi e mse)`` on ``R(D)`` in nats (``mse`` per dimension).

    Parameters
    ----------
    differential_entropy_nats : float
        ``h(X)`` of the whole ``d``-dimensional source, in nats.
    dim : int
        Dimension ``d >= 1``.
    mse : float
        Distortion per dimension, ``> 0``.

    Returns
    -------
    float
        The bound in nats (may be negative; ``R(D) >= 0`` as well).

    Examples
    --------
    >>> import math
    >>> h = 0.5 * math.log(2 * math.pi * math.e)   # N(0, 1)
    >>> round(shannon_lower_bound_nats(h, 1, 0.25), 12) == round(0.5 * math.log(4.0), 12)
    True
    """
    h = _check_entropy(differential_entropy_nats)
    d = _check_dim(dim)
    m = _check_positive(mse, "mse")
    return h - 0.5 * d * math.log(_TWO_PI_E * m)


def shannon_lower_bound_mse(differential_entropy_nats, dim, rate_nats):
    """Lower bound ``exp(2 (h(X) - R) / d) / (2 pi e)`` on the per-dimension MSE at rate ``R`` nats."""
    h = _check_entropy(differential_entropy_nats)
    d = _check_dim(dim)
    r = float(rate_nats)
    if not math.isfinite(r) or r < 0.0:
        raise ValueError(f"rate_nats must be a finite number >= 0, got {rate_nats!r}")
    return math.exp(2.0 * (h - r) / d) / _TWO_PI_E


def water_level(eigvals, mse):
    """Reverse water-filling level ``theta`` with ``mean_i min(theta, eigvals_i) = mse`` (``mse < mean(eigvals)``)."""
    lam = np.sort(_check_eigvals(eigvals))
    m = _check_positive(mse, "mse")
    d = lam.size
    total = d * m
    if total >= lam.sum():
        return float(lam[-1])
    # With the k smallest eigenvalues fully "under water": theta = (total - sum(lam[:k])) / (d - k).
    prefix = np.concatenate([[0.0], np.cumsum(lam)])
    for k in range(d):
        theta = (total - prefix[k]) / (d - k)
        if theta <= lam[k]:
            return float(theta)
    return float(lam[-1])


def gaussian_upper_bound_nats(eigvals, mse):
    """Gaussian upper bound ``R_G(D) = sum_i 1/2 ln(eigvals_i / theta)_+`` in nats at per-dimension ``mse``.

    ``eigvals`` are the covariance eigenvalues of the source (a scalar for a
    scalar source, the per-coordinate variances for an independent product).
    """
    lam = _check_eigvals(eigvals)
    theta = water_level(lam, mse)
    return float(0.5 * np.sum(np.log(np.maximum(lam / theta, 1.0))))


def gaussian_upper_bound_mse(eigvals, rate_nats):
    """Per-dimension MSE ``D_G(R) / d`` of the Gaussian with the same covariance at rate ``rate_nats``.

    Solves ``sum_i 1/2 ln(eigvals_i / theta)_+ = R`` for the water level and
    returns ``mean_i min(theta, eigvals_i)``; it upper-bounds ``D(R)/d`` of any
    source with that covariance.
    """
    lam = np.sort(_check_eigvals(eigvals))[::-1]
    r = float(rate_nats)
    if not math.isfinite(r) or r < 0.0:
        raise ValueError(f"rate_nats must be a finite number >= 0, got {rate_nats!r}")
    log_lam = np.log(lam)
    prefix = np.concatenate([[0.0], np.cumsum(log_lam)])
    # With the k largest eigenvalues active: ln theta = (sum_{i<k} ln lam_i - 2R) / k.
    log_theta = log_lam[0]
    for k in range(1, lam.size + 1):
        log_theta = (prefix[k] - 2.0 * r) / k
        if k == lam.size or log_theta >= log_lam[k]:
            break
    return float(np.mean(np.minimum(np.exp(log_theta), lam)))


def perfect_realism_mse_upper_bound(mse_rd):
    """Blau-Michaeli: perfect-realism MSE ``<= 2 * mse_rd``, where ``mse_rd = D(R)/d`` at the same rate."""
    m = float(mse_rd)
    if not math.isfinite(m) or m < 0.0:
        raise ValueError(f"mse_rd must be a finite number >= 0, got {mse_rd!r}")
    return 2.0 * m
