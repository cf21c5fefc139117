"""Per-component closed forms for a Gaussian source, in numpy.

These are the numerical twins of the symbolic expressions in ``theory/``
(the source of truth); ``tests/theory/test_cross_validation.py`` checks every
function here against the lambdified sympy expression.

All functions broadcast over their arguments. ``eigvals`` are variances
``lam > 0`` of independent components, ``snr = alpha^2 / sigma^2 >= 0`` is the
signal-to-noise ratio of ``Z = alpha X + sigma U`` (VP: ``alpha^2 + sigma^2 = 1``).
Rates are in nats here; conversion to bits happens at the edge (``curves``).
Each formula is written in a form that keeps full relative precision from
``snr * lam = 1e-30`` to ``1e30`` (no ``1 - (1 - eps)`` cancellations).
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "rate_nats",
    "mse_mmse",
    "mse_diffc_a",
    "mse_diffc_f",
    "flow_gain",
    "ratio_ancestral_over_flow",
    "mse_rdp",
    "snr_for_rate_nats",
    "mse_linear_decoder",
    "w2_sq_linear_decoder",
    "mse_linear_decoder_given_x",
    "chain_kl_nats_given_x",
    "sq_error_moments_given_x",
]


def rate_nats(eigvals, snr):
    """Mutual information ``I(X; Z) = 1/2 ln(1 + snr*lam)`` in nats per component."""
    return 0.5 * np.log1p(np.multiply(snr, eigvals))


def mse_mmse(eigvals, snr):
    """Posterior variance ``lam / (1 + snr*lam)``: the MSE of the posterior mean."""
    return eigvals / (1.0 + np.multiply(snr, eigvals))


def mse_diffc_a(eigvals, snr):
    """DiffC-A (posterior sampling) MSE ``2*lam / (1 + snr*lam)``: twice the MMSE."""
    return 2.0 * mse_mmse(eigvals, snr)


def flow_gain(eigvals, snr):
    """Correlation ``rho = sqrt(snr*lam / (1 + snr*lam))`` between X and E[X|Z].

    The DiffC-F reconstruction is ``x_hat = rho * z / alpha`` scaled to unit
    gain: ``x_hat = sqrt(lam / (alpha^2 lam + sigma^2)) z``.
    """
    x = np.multiply(snr, eigvals)
    return np.sqrt(x / (1.0 + x))


def mse_diffc_f(eigvals, snr):
    """DiffC-F (probability-flow) MSE ``2*lam*(1 - rho)``, evaluated as ``2*lam / ((1+snr*lam)(1+rho))``."""
    x = np.multiply(snr, eigvals)
    r = 1.0 / (1.0 + x)
    return 2.0 * eigvals * r / (1.0 + np.sqrt(x * r))


def ratio_ancestral_over_flow(eigvals, snr):
    """Per-component distortion ratio ``D_A / D_F = 1 + rho`` (dimensionless)."""
    return 1.0 + flow_gain(eigvals, snr)


def mse_rdp(eigvals, rate_nats):
    """Perfect-realism MSE of one component at ``rate_nats``: ``2*lam*(1 - sqrt(1 - exp(-2R)))``.

    Evaluated as ``2*lam*w / (1 + sqrt(1 - w))`` with ``w = exp(-2R)``.
    """
    w = np.exp(-2.0 * np.asarray(rate_nats, dtype=float))
    return 2.0 * eigvals * w / (1.0 + np.sqrt(-np.expm1(-2.0 * np.asarray(rate_nats, dtype=float))))


def snr_for_rate_nats(eigvals, rate_nats):
    """SNR at which one component of variance ``lam`` carries ``rate_nats``: ``expm1(2R) / lam``."""
    return np.expm1(2.0 * np.asarray(rate_nats, dtype=float)) / eigvals


def mse_linear_decoder(eigvals, snr, gain):
    """MSE of the linear decoder ``x_hat = gain * z / alpha``: ``lam (1 - 2 gain + gain^2 / rho^2)``.

    ``gain = rho^2`` is the posterior mean (MMSE), ``gain = rho`` the DiffC-F
    flow map (perfect realism); gains in between trace the
    distortion–perception frontier (claim ``dp_frontier``). Written with
    ``1/rho^2 = 1 + 1/(snr lam)``.
    """
    x = np.multiply(snr, eigvals)
    gain = np.asarray(gain, dtype=float)
    return eigvals * ((1.0 - gain) ** 2 + gain**2 / x)


def w2_sq_linear_decoder(eigvals, snr, gain):
    """Squared Wasserstein-2 distance between ``x_hat = gain z / alpha`` and ``X``: ``lam (1 - gain/rho)^2``."""
    return eigvals * (1.0 - np.asarray(gain, dtype=float) / flow_gain(eigvals, snr)) ** 2


def mse_linear_decoder_given_x(x, snr, gain):
    """Expected squared error of ``x_hat = gain * z / alpha`` for one component with value ``x``: ``(1 - gain)^2 x^2 + gain^2 / snr``.

    Given ``x``, ``z / alpha = x + eps / sqrt(snr)`` with ``eps ~ N(0, 1)``; the
    expectation is over the channel noise only. Averaged over ``x ~ N(0, lam)``
    it is ``mse_linear_decoder``. ``x`` is the component's value in the model's
    basis with the model mean removed. ``gain = rho^2`` gives the posterior
    mean, ``gain = rho`` DiffC-F; DiffC-A adds ``mse_mmse`` to the posterior
    mean's value (claim ``conditional_mse_linear_decoder``).
    """
    gain = np.asarray(gain, dtype=float)
    return (1.0 - gain) ** 2 * np.square(x) + gain**2 / np.asarray(snr, dtype=float)


def sq_error_moments_given_x(x, snr, gain, extra_var=0.0):
    """``(mean, variance)`` of the squared error of ``x_hat = gain z / alpha + sqrt(extra_var) v`` given ``x``.

    One component with value ``x`` (model basis, mean removed); ``z / alpha = x + eps / sqrt(snr)`` and
    ``v`` independent standard normals. The error is Gaussian with mean ``m = (gain - 1) x`` and variance
    ``s2 = gain^2 / snr + extra_var``, so ``E e^2 = m^2 + s2`` (``mse_linear_decoder_given_x`` plus
    ``extra_var``) and ``Var e^2 = 2 s2^2 + 4 m^2 s2``. ``gain = rho^2, extra_var = 0``: the posterior
    mean; ``gain = rho``: DiffC-F; ``gain = rho^2, extra_var = mse_mmse``: DiffC-A (a posterior sample).
    """
    gain = np.asarray(gain, dtype=float)
    m2 = np.square((gain - 1.0) * np.asarray(x, dtype=float))
    s2 = gain**2 / np.asarray(snr, dtype=float) + extra_var
    return m2 + s2, 2.0 * s2**2 + 4.0 * m2 * s2


def chain_kl_nats_given_x(eigvals, snr, x):
    """Expected chain ``sum KL`` (nats) of one component with value ``x``: ``KL(q(z | x) || p(z))`` at ``snr``.

    ``1/2 [ln(1 + snr lam) + (1 + snr x^2) / (1 + snr lam) - 1]``: with exact
    reverse steps the chain's expected cost telescopes to the KL of the final
    latent's channel ``N(alpha x, sigma^2)`` against the model marginal
    ``N(0, alpha^2 lam + sigma^2)``. Averaged over ``x ~ N(0, lam)`` it is
    ``rate_nats`` (claim ``conditional_chain_kl``; the telescoping is argued
    there, not derived). Written as ``1/2 [g(s) + snr x^2 / (1 + s)]``, ``s = snr
    lam``, with ``g(s) = log1p(s) - s / (1 + s) >= 0`` from its alternating series
    ``sum_{n >= 2} (-1)^n (n - 1) s^n / n`` below ``s = 1e-3`` (no cancellation),
    so every term is non-negative and the value keeps full relative precision.
    """
    s = np.asarray(np.multiply(snr, eigvals), dtype=float)
    direct = np.log1p(s) - s / (1.0 + s)
    series = s * s * (0.5 + s * (-2.0 / 3.0 + s * (0.75 + s * (-0.8 + s * (5.0 / 6.0 + s * (-6.0 / 7.0))))))
    g = np.where(np.abs(s) < 1e-3, series, direct)
    return 0.5 * (g + np.multiply(snr, np.square(x)) / (1.0 + s))

