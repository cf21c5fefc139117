"""Noise-level conversions: ``snr <-> log_snr <-> (alpha, sigma)``.

The variance-preserving (VP) convention of VDM: ``Z = alpha X + sigma U`` with
``alpha^2 + sigma^2 = 1`` and ``snr = alpha^2 / sigma^2``. k-diffusion's
variance-exploding noise level ``sigma_ve`` (``Z_ve = X + sigma_ve U``) is
``exp(-log_snr / 2)``. This is the only module that converts between them.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "log_snr_from_snr",
    "snr_from_log_snr",
    "alpha_sigma_from_log_snr",
    "log_snr_from_alpha_sigma",
    "sigma_ve_from_log_snr",
    "log_snr_from_sigma_ve",
]


def log_snr_from_snr(snr):
    """``log_snr = ln(snr)``; raises ValueError for snr < 0 or NaN."""
    snr = np.asarray(snr, dtype=np.float64)
    if np.isnan(snr).any() or (snr < 0).any():
        raise ValueError("snr: must be >= 0")
    with np.errstate(divide="ignore"):
        return np.log(snr)


def snr_from_log_snr(log_snr):
    """``snr = exp(log_snr)``."""
    return np.exp(np.asarray(log_snr, dtype=np.float64))


def alpha_sigma_from_log_snr(log_snr):
    """VP ``(alpha, sigma)`` with ``alpha^2 = sigmoid(log_snr)``, ``sigma^2 = sigmoid(-log_snr)``."""
    log_snr = np.asarray(log_snr, dtype=np.float64)
    # sigmoid(x) = exp(-softplus(-x)); stable for both signs
    alpha = np.exp(-0.5 * np.logaddexp(0.0, -log_snr))
    sigma = np.exp(-0.5 * np.logaddexp(0.0, log_snr))
    return alpha, sigma


def log_snr_from_alpha_sigma(alpha, sigma):
    """``log_snr = 2 (ln alpha - ln sigma)`` for any (not only VP) alpha, sigma > 0."""
    alpha = np.asarray(alpha, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if (alpha <= 0).any() or (sigma <= 0).any():
        raise ValueError("alpha, sigma: must be > 0")
    return 2.0 * (np.log(alpha) - np.log(sigma))


def sigma_ve_from_log_snr(log_snr):
    """k-diffusion / EDM noise level ``sigma_ve = exp(-log_snr / 2) = sigma / alpha``."""
    return np.exp(-0.5 * np.asarray(log_snr, dtype=np.float64))


def log_snr_from_sigma_ve(sigma_ve):
    """``log_snr = -2 ln(sigma_ve)``."""
    sigma_ve = np.asarray(sigma_ve, dtype=np.float64)
    if (sigma_ve <= 0).any():
        raise ValueError("sigma_ve: must be > 0")
    return -2.0 * np.log(sigma_ve)
