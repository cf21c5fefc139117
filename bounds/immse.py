"""The I-MMSE identities and the Gaussian bounds on rate and MMSE at a given SNR.

For the channel ``Z = alpha X + sigma U`` (VP, ``snr = alpha^2 / sigma^2``) and
any source ``X`` with finite variance (Guo, Shamai, Verdu 2005):

- identity ``d I(snr) / d snr = mmse(snr) / 2`` (nats; ``mmse`` summed over coordinates);
- identity ``I(snr) = 1/2 int_0^snr mmse(t) dt``;
- inequality ``mmse(snr) <= sum_i Var[X_i] / (1 + snr Var[X_i])`` (the best *linear*
  estimator; equality iff ``X`` is Gaussian with that diagonal covariance);
- inequality ``I(snr) <= sum_i 1/2 ln(1 + snr Var[X_i])`` (Gaussian input maximises
  ``I`` at fixed variances; equality iff Gaussian).

``source`` is any object of ``bounds.sources`` (scalar or ``Product``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bounds._numerics import integrate_adaptive
from bounds.sources import Product, check_snr
from gaussian.components import mse_mmse, rate_nats

__all__ = [
    "ImmseCheck",
    "coordinate_variances",
    "gaussian_mmse_upper_bound",
    "gaussian_rate_upper_bound_nats",
    "mutual_information_from_mmse_nats",
    "mmse_from_mutual_information",
    "immse_check",
]

# Below this snr*Var the integral of mmse is done on a linear grid, above it in log-snr.
_LOG_SWITCH = 1e-2
_IMMSE_EPSREL = 1e-10


def coordinate_variances(source):
    """Per-coordinate variances of ``source``, shape ``(dim,)``."""
    if isinstance(source, Product):
        return source.variances()
    return np.array([source.variance_total()])


def gaussian_mmse_upper_bound(source, snr):
    """Linear-MMSE bound ``sum_i v_i / (1 + snr v_i)`` on ``mmse(snr)`` (total; equality iff Gaussian).

    Parameters
    ----------
    source : bounds.sources source
        Any source with finite variances ``v_i``.
    snr : float
        Signal-to-noise ratio ``>= 0``.

    Returns
    -------
    float
        The MMSE of a Gaussian source with the same per-coordinate variances.

    Examples
    --------
    >>> from bounds.sources import Laplace
    >>> round(gaussian_mmse_upper_bound(Laplace(1.0), 1.0), 12)
    0.666666666667
    """
    s = check_snr(snr)
    return float(np.sum(mse_mmse(coordinate_variances(source), s)))


def gaussian_rate_upper_bound_nats(source, snr):
    """Gaussian bound ``sum_i 1/2 ln(1 + snr v_i)`` on ``I(X; Z)`` in nats (equality iff Gaussian)."""
    s = check_snr(snr)
    return float(np.sum(rate_nats(coordinate_variances(source), s)))


def mutual_information_from_mmse_nats(source, snr):
    """``1/2 int_0^snr mmse(t) dt`` in nats: the integral side of the I-MMSE identity.

    Integrated adaptively (relative tolerance ``1e-10``) in ``t`` on ``[0, t0]``
    and in ``ln t`` on ``[t0, snr]`` (panels of at most 2 in ``ln t``), with
    ``t0 = 0.01 / max_i v_i``; each ``mmse(t)`` comes from ``source.mmse``.
    Costs a few hundred ``mmse`` evaluations.
    """
    s = check_snr(snr)
    if s == 0.0:
        return 0.0
    t0 = min(s, _LOG_SWITCH / float(np.max(coordinate_variances(source))))

    def mmse_vec(t):
        return np.array([source.mmse(float(v)) for v in np.ravel(t)])

    low, _ = integrate_adaptive(mmse_vec, 0.0, t0, epsrel=_IMMSE_EPSREL, presplit=1)
    high = 0.0
    if s > t0:
        v0, v1 = math.log(t0), math.log(s)
        points = np.linspace(v0, v1, int(math.ceil((v1 - v0) / 2.0)) + 1)[1:-1]
        high, _ = integrate_adaptive(lambda v: mmse_vec(np.exp(v)) * np.exp(v), v0, v1, points,
                                     epsrel=_IMMSE_EPSREL, presplit=1)
    return 0.5 * (low + high)


def mmse_from_mutual_information(source, snr, rel_step=0.05):
    """``2 dI/dsnr`` by numerical differentiation: the derivative side of I-MMSE (total over coordinates).

    A product is differentiated coordinate by coordinate (``I`` adds up). For
    one coordinate the derivative is taken of a quantity ``F`` that keeps its
    relative precision, as ``F'(snr) = F g'(ln snr) / snr`` with ``g = ln F``:
    central differences of ``g`` in ``ln snr`` (steps ``h``, ``h/2``, ``h/4``,
    ``h = rel_step``) and two Richardson extrapolations (error ``O(h^6)``),
    with ``h`` divided by 4 (up to three times) while the extrapolations
    disagree by more than ``1e-10``. ``F`` is

    - ``I(snr)`` itself, except
    - for a mixture or discrete source once ``H(C | Z) < I`` (high snr), the
      label's posterior entropy in ``I = H(C) - H(C | Z) + sum_k w_k 1/2 ln(1 + snr v_k)``:
      ``2 dI/dsnr = sum_k w_k v_k / (1 + snr v_k) - 2 dH(C | Z)/dsnr``. There
      ``I`` is flat to within rounding (for atoms ``mmse`` decays like
      ``exp(-c snr)``), so differences of ``I`` would lose every digit, while
      ``ln H(C | Z)`` is smooth on the scale of ``ln snr``.

    Neither form uses the source's ``mmse``: the identity is a real check.
    ``snr`` must be ``> 0``; ``rel_step`` in ``(0, 0.5)``.
    """
    s = check_snr(snr)
    if s == 0.0:
        raise ValueError("snr must be > 0 for a central difference, got 0")
    if not 0.0 < rel_step < 0.5:
        raise ValueError(f"rel_step must be in (0, 0.5), got {rel_step!r}")
    if isinstance(source, Product):
        return float(sum(n * _mmse_from_derivative_scalar(g, s, rel_step) for g, n in source._groups()))
    return _mmse_from_derivative_scalar(source, s, rel_step)


def _mmse_from_derivative_scalar(source, s, log_step):
    """``2 dI/dsnr`` of one scalar source (see ``mmse_from_mutual_information``)."""
    info = source.mutual_information_nats(s)
    if hasattr(source, "component_posterior_entropy_nats"):
        label = source.component_posterior_entropy_nats(s)
        if label < info:
            d_label = _derivative_via_log(source.component_posterior_entropy_nats, s, label, log_step)
            return source.within_component_mmse(s) - 2.0 * d_label
    return 2.0 * _derivative_via_log(source.mutual_information_nats, s, info, log_step)


def _derivative_via_log(func, s, value, log_step):
    """``func'(s)`` from Richardson-extrapolated central differences of ``ln func`` in ``ln s`` (``value = func(s)``)."""
    if not value > 0.0:
        return 0.0   # underflowed: its derivative is below the resolution of float64 as well
    u = math.log(s)

    def g(t):
        v = func(math.exp(t))
        return math.log(v) if v > 0.0 else -math.inf

    def quotient(h):
        return (g(u + h) - g(u - h)) / (2.0 * h)

    h = log_step
    d1, d2, d4 = quotient(h), quotient(h / 2), quotient(h / 4)
    best, best_err = None, math.inf
    for _ in range(4):
        r1 = (4.0 * d2 - d1) / 3.0
        r2 = (4.0 * d4 - d2) / 3.0
        slope = (16.0 * r2 - r1) / 15.0
        err = abs(slope - r2)
        if math.isfinite(slope) and err < best_err:
            best, best_err = slope, err
        if best is not None and best_err <= 1e-10 * abs(best):
            break
        h /= 4.0
        d1, d2, d4 = d4, quotient(h / 2), quotient(h / 4)
    if best is None:
        return 0.0   # a neighbour underflowed to 0: the value is at the edge of float64's range
    return value * best / s


@dataclass(frozen=True)
class ImmseCheck:
    """Both sides of the I-MMSE identities at one SNR (nats; squared errors summed over coordinates)."""

    snr: float
    mutual_information_nats: float            # I(snr) from the source
    mutual_information_from_mmse_nats: float  # 1/2 int_0^snr mmse
    mmse: float                               # mmse(snr) from the source
    mmse_from_derivative: float               # 2 dI/dsnr


def immse_check(source, snr):
    """``ImmseCheck`` at ``snr > 0``: the rate and MMSE of ``source`` and their I-MMSE counterparts."""
    s = check_snr(snr)
    return ImmseCheck(
        snr=s,
        mutual_information_nats=source.mutual_information_nats(s),
        mutual_information_from_mmse_nats=mutual_information_from_mmse_nats(source, s),
        mmse=source.mmse(s),
        mmse_from_derivative=mmse_from_mutual_information(source, s),
    )
