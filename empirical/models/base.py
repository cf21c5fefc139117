"""The model interface and the Gaussian reverse-step algebra every model shares.

VP diffusion: ``z = alpha x + sigma u``, ``u ~ N(0, I)``, ``alpha^2 + sigma^2 = 1``,
``log_snr = ln(alpha^2 / sigma^2)`` (conversions in :mod:`gaussian.schedule`).
The sender's step is the forward-process posterior (:func:`q_reverse`)::

    q(z_s | z_t, x) = N(coef_z z_t + coef_x x, var I),   c = -expm1(log_snr_t - log_snr_s)
    coef_z = (alpha_s / alpha_t) exp(log_snr_t - log_snr_s),  coef_x = alpha_s c,  var = sigma_s^2 c

and a model's reverse step plugs its estimate of ``x`` in. :class:`Denoiser` is
the interface (see :mod:`empirical.models`), :class:`Gaussian` what a reverse
step returns; :func:`as_batch` and ``_log_snr_column`` check the inputs of
every model, ``_eig_from_covariance`` factorises a covariance for the Gaussian
oracle and for the learned model's linear skip.
"""
from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from gaussian import schedule

__all__ = ["Denoiser", "Gaussian", "q_reverse", "transition_coefficients", "as_batch", "to_coefficients",
           "from_coefficients"]

ZERO_EIGVAL_RTOL = 1e-10


@dataclasses.dataclass(frozen=True)
class Gaussian:
    """A Gaussian with covariance ``basis diag(var) basis^T``.

    Attributes
    ----------
    mean : numpy.ndarray
        ``[n, dim]`` mean in data (pixel) coordinates.
    var : numpy.ndarray
        ``[n, dim]`` (or broadcastable) variances along the columns of the
        model's ``basis``; zero means a point mass along that axis.
    """

    mean: np.ndarray
    var: np.ndarray


class Denoiser(Protocol):
    """What the codec and the decoders need from a model (see the module docstring)."""

    dim: int
    basis: np.ndarray
    log_snr_min: float
    log_snr_max: float
    fingerprint: str

    def denoise(self, z: np.ndarray, log_snr) -> np.ndarray: ...

    def reverse_transition(self, z_t: np.ndarray, log_snr_t, log_snr_s) -> Gaussian: ...

    def prior(self, log_snr: float) -> Gaussian: ...


def as_batch(z, dim: int, argument: str = "z") -> np.ndarray:
    """``z`` as a finite float64 ``[n, dim]`` array (a ``[dim]`` vector becomes ``[1, dim]``), or ValueError."""
    try:
        arr = np.asarray(z, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{argument}: expected an array of numbers") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{argument}: expected shape [n, {dim}] or [{dim}], got {np.shape(z)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{argument}: entries must be finite (got NaN or inf)")
    return arr


def _log_snr_column(log_snr, n: int, argument: str, allow_inf: bool = False) -> np.ndarray:
    """``log_snr`` (scalar or ``[n]``) as a finite ``[n, 1]`` float64 column, or ValueError."""
    arr = np.asarray(log_snr, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
        raise ValueError(f"{argument}: expected a scalar or shape [{n}], got {arr.shape}")
    bad = np.isnan(arr) | (arr == -np.inf) | ((arr == np.inf) & (not allow_inf))
    if bad.any():
        raise ValueError(f"{argument}: must be finite{' or +inf' if allow_inf else ''}, got {arr!r}")
    return np.broadcast_to(arr, (n,)).reshape(n, 1).copy()


def transition_coefficients(log_snr_t, log_snr_s):
    """``(coef_z, coef_x, var)`` of ``q(z_s | z_t, x) = N(coef_z z_t + coef_x x, var I)``.

    Requires ``log_snr_s > log_snr_t`` (``z_s`` less noisy); ``log_snr_s = +inf``
    gives ``(0, 1, 0)``, i.e. ``z_s = x``. Written with ``c = -expm1(log_snr_t -
    log_snr_s)`` so that close noise levels keep full relative precision.

    >>> [round(float(v), 12) for v in transition_coefficients(0.0, np.inf)]
    [0.0, 1.0, 0.0]
    """
    log_snr_t = np.asarray(log_snr_t, dtype=np.float64)
    log_snr_s = np.asarray(log_snr_s, dtype=np.float64)
    if not np.all(log_snr_s > log_snr_t):
        raise ValueError("log_snr_s: must be > log_snr_t (the reverse step goes to less noise)")
    if not np.all(np.isfinite(log_snr_t)):
        raise ValueError("log_snr_t: must be finite")
    delta = log_snr_t - log_snr_s  # < 0, -inf when log_snr_s = inf
    c = -np.expm1(delta)
    alpha_t, _ = schedule.alpha_sigma_from_log_snr(log_snr_t)
    alpha_s, sigma_s = schedule.alpha_sigma_from_log_snr(log_snr_s)
    coef_z = (alpha_s / alpha_t) * np.exp(delta)
    coef_x = alpha_s * c
    var = sigma_s**2 * c
    return coef_z, coef_x, var


def q_reverse(x, z_t, log_snr_t, log_snr_s):
    """``(mean, var)`` of the sender's step ``q(z_s | z_t, x)``: mean ``[n, dim]``, isotropic variance ``[n, 1]``.

    Per-component noise levels: with ``[n, dim]`` log-SNRs (one per coordinate of a model's basis), ``x`` and
    ``z_t`` must be coordinates in that basis, and the variance is ``[n, dim]``.
    """
    coef_z, coef_x, var = transition_coefficients(log_snr_t, log_snr_s)
    if np.ndim(coef_z) == 2:
        return coef_z * z_t + coef_x * x, var
    coef_z, coef_x, var = (np.reshape(v, (-1, 1)) if np.ndim(v) else v for v in (coef_z, coef_x, var))
    return coef_z * z_t + coef_x * x, np.broadcast_to(var, (np.shape(z_t)[0], 1)).copy()


def _eig_from_covariance(covariance, argument: str = "covariance"):
    """``(eigvals descending, basis)`` of a symmetric PSD matrix; numerically zero eigenvalues set to 0.

    Eigenvalues with ``|lam| <= 1e-10 lam_max`` are zero-variance directions
    (constant pixels) and become exactly 0; a more negative one is an error.
    """
    cov = np.asarray(covariance, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] == 0:
        raise ValueError(f"{argument}: expected a non-empty square matrix, got shape {cov.shape}")
    if not np.isfinite(cov).all():
        raise ValueError(f"{argument}: entries must be finite")
    scale = np.abs(cov).max()
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12 * scale):
        raise ValueError(f"{argument}: matrix is not symmetric")
    eigvals, basis = np.linalg.eigh(0.5 * (cov + cov.T))
    order = np.argsort(eigvals)[::-1]
    eigvals, basis = eigvals[order], basis[:, order]
    tol = ZERO_EIGVAL_RTOL * eigvals[0]
    if eigvals[0] <= 0 or eigvals[-1] < -tol:
        raise ValueError(f"{argument}: not positive semi-definite (eigenvalues {eigvals[-1]:.3g} .. {eigvals[0]:.3g})")
    eigvals = np.where(np.abs(eigvals) <= tol, 0.0, eigvals)
    return eigvals, basis


def to_coefficients(model, rows) -> np.ndarray:
    """Rows ``[n, dim]`` (or one ``[dim]`` vector) in the coordinates where ``model``'s Gaussians are diagonal: ``model.to_eigen`` if it has one
    (a fast orthonormal transform), else ``rows @ model.basis``."""
    to_eigen = getattr(model, "to_eigen", None)
    if to_eigen is not None:
        return to_eigen(rows)
    return np.asarray(rows, dtype=np.float64) @ np.asarray(model.basis, dtype=np.float64)


def from_coefficients(model, rows) -> np.ndarray:
    """Inverse of :func:`to_coefficients`: ``model.from_eigen`` if it has one, else ``rows @ model.basis^T``."""
    from_eigen = getattr(model, "from_eigen", None)
    if from_eigen is not None:
        return from_eigen(rows)
    return np.asarray(rows, dtype=np.float64) @ np.asarray(model.basis, dtype=np.float64).T
