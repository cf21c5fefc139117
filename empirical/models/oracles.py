"""The exact denoisers: :class:`GaussianOracle` (Gaussian data) and :class:`MixtureOracle` (isotropic mixtures).

- :class:`GaussianOracle`: data ``N(mean, basis diag(eigvals) basis^T)``, all in
  closed form: posterior mean and variance, exact reverse transitions (the true
  ``p(z_s | z_t)``: variance ``var + coef_x^2 lam / (1 + snr_t lam)`` per
  eigen-component; with ``transitions="plugin"`` the VDM/DDPM form with variance
  ``var``), the exact marginal as prior, and the exact flow map
  ``z_s = alpha_s mean + (alpha_s / alpha_t) sqrt((lam + e^-log_snr_s) / (lam + e^-log_snr_t)) (z_t - alpha_t mean)``.
- :class:`MixtureOracle`: the exact posterior mean of an isotropic Gaussian
  mixture (``empirical.data`` ``mixture2d`` / ``mixture``), plug-in reverse steps.

``(coef_z, coef_x, var)`` are those of :func:`empirical.models.base.transition_coefficients`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from gaussian import components, schedule

from .base import Gaussian, _eig_from_covariance, _log_snr_column, as_batch, q_reverse, transition_coefficients

__all__ = ["GaussianOracle", "MixtureOracle", "EigenGaussianMethods"]


def _digest(*parts) -> str:
    """sha256 hex digest of a sequence of str / numpy arrays (dtype, shape and bytes of each)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True).encode())
        h.update(b"\x00")
    return h.hexdigest()


def _readonly(arr) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64)
    arr.flags.writeable = False
    return arr


class EigenGaussianMethods:
    """The closed forms of a Gaussian data model ``N(mean, basis diag(eigvals) basis^T)``, shared by the oracles.

    A subclass supplies ``mean`` (``[dim]``), ``eigvals`` (``[dim]``), ``transitions``, ``dim`` and the
    orthonormal change of coordinates ``to_eigen`` / ``from_eigen`` (rows of ``[n, dim]``): a dense
    matrix for :class:`GaussianOracle`, a fast transform for ``StationaryImageOracle``.
    """

    def _centred_eigen(self, z, log_snr):
        """``(basis^T (z - alpha mean), alpha, sigma, snr)`` per row, with ``[n, 1]`` columns."""
        z = as_batch(z, self.dim)
        ls = _log_snr_column(log_snr, z.shape[0], "log_snr")
        alpha, sigma = schedule.alpha_sigma_from_log_snr(ls)
        return self.to_eigen(z - alpha * self.mean), alpha, sigma, schedule.snr_from_log_snr(ls)

    def denoise(self, z, log_snr) -> np.ndarray:
        """Posterior mean ``mean + basis diag(alpha lam / (alpha^2 lam + sigma^2)) basis^T (z - alpha mean)``."""
        w, alpha, sigma, _ = self._centred_eigen(z, log_snr)
        gain = alpha * self.eigvals / (alpha**2 * self.eigvals + sigma**2)
        return self.mean + self.from_eigen(gain * w)

    def posterior_var(self, log_snr) -> np.ndarray:
        """Posterior variances ``lam / (1 + snr lam)`` per eigen-component, ``[n, dim]`` for ``[n]`` log-SNRs."""
        ls = np.atleast_1d(np.asarray(log_snr, dtype=np.float64)).reshape(-1, 1)
        return components.mse_mmse(self.eigvals, schedule.snr_from_log_snr(ls))

    def mmse_per_dim(self, log_snr) -> np.ndarray:
        """``E||x - E[x|z]||^2 / dim`` at each log-SNR: the mean posterior variance."""
        return self.posterior_var(log_snr).mean(axis=1)

    def flow_map(self, z_t, log_snr_t, log_snr_s=np.inf) -> np.ndarray:
        """Closed-form probability-flow map from ``log_snr_t`` to ``log_snr_s`` (``+inf``: to ``x``)."""
        w, alpha_t, _, _ = self._centred_eigen(z_t, log_snr_t)
        ls_s = _log_snr_column(log_snr_s, w.shape[0], "log_snr_s", allow_inf=True)
        ls_t = _log_snr_column(log_snr_t, w.shape[0], "log_snr_t")
        alpha_s, _ = schedule.alpha_sigma_from_log_snr(ls_s)
        # y = z / alpha has variance lam + e^-log_snr; the flow rescales it monotonically
        ratio = np.sqrt((self.eigvals + np.exp(-ls_s)) / (self.eigvals + np.exp(-ls_t)))
        return alpha_s * self.mean + self.from_eigen((alpha_s / alpha_t) * ratio * w)

    def prior(self, log_snr: float) -> Gaussian:
        """The exact marginal ``N(alpha mean, alpha^2 lam + sigma^2)`` (eigenbasis variances), shape ``[1, dim]``."""
        ls = _log_snr_column(log_snr, 1, "log_snr")
        alpha, sigma = schedule.alpha_sigma_from_log_snr(ls)
        return Gaussian(alpha * self.mean[None, :], alpha**2 * self.eigvals + sigma**2)

    # ---- per-component noise levels: one log-SNR per eigen-component (``--schedule rdp``) ----
    #
    # ``log_snrs`` is ``[dim]`` (or ``[n, dim]``) in the order of ``eigvals``; component i is scalar VP diffusion
    # ``w_i = alpha_i x_i + sigma_i u_i`` in eigen-coordinates ``w = to_eigen(z)`` (data mean not removed).

    def _per_component(self, log_snrs, n: int, argument: str, allow_inf: bool = False) -> np.ndarray:
        """``log_snrs`` as a ``[n, dim]`` float64 array, or ValueError naming ``argument``."""
        arr = np.asarray(log_snrs, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dim or arr.shape[0] not in (1, n):
            raise ValueError(f"{argument}: expected per-component log-SNRs of shape [{self.dim}] or [{n}, {self.dim}], "
                             f"got {np.shape(log_snrs)}")
        bad = np.isnan(arr) | (arr == -np.inf) | ((arr == np.inf) & (not allow_inf))
        if bad.any():
            raise ValueError(f"{argument}: must be finite{' or +inf' if allow_inf else ''}")
        return np.broadcast_to(arr, (n, self.dim))

    def _posterior_eigen(self, z, log_snrs):
        """``(w, E[x|z], posterior_var, alpha)`` in eigen-coordinates, ``[n, dim]`` each, at per-component log-SNRs."""
        w = self.to_eigen(as_batch(z, self.dim))
        ls = self._per_component(log_snrs, w.shape[0], "log_snrs")
        alpha, sigma = schedule.alpha_sigma_from_log_snr(ls)
        mean = self.to_eigen(self.mean)
        gain = alpha * self.eigvals / (alpha**2 * self.eigvals + sigma**2)
        post_var = components.mse_mmse(self.eigvals, schedule.snr_from_log_snr(ls))
        return w, mean + gain * (w - alpha * mean), post_var, alpha

    def prior_per_component(self, log_snrs) -> Gaussian:
        """The exact marginal at per-component log-SNRs: eigen-mean ``alpha_i m_i``, variance ``alpha_i^2 lam_i + sigma_i^2``."""
        ls = self._per_component(log_snrs, 1, "log_snrs")
        alpha, sigma = schedule.alpha_sigma_from_log_snr(ls)
        return Gaussian(self.from_eigen(alpha * self.to_eigen(self.mean)), alpha**2 * self.eigvals + sigma**2)

    def denoise_per_component(self, z, log_snrs) -> np.ndarray:
        """Posterior mean ``E[x | z]`` (pixel coordinates) at per-component log-SNRs."""
        return self.from_eigen(self._posterior_eigen(z, log_snrs)[1])

    def posterior_sample_per_component(self, z, log_snrs, rng) -> np.ndarray:
        """One exact draw of ``p(x | z)`` per row at per-component log-SNRs (DiffC-A's reconstruction)."""
        _, mean, post_var, _ = self._posterior_eigen(z, log_snrs)
        return self.from_eigen(mean + np.sqrt(post_var) * rng.standard_normal(mean.shape))

    def reverse_transition_per_component(self, z_t, log_snrs_t, log_snrs_s) -> Gaussian:
        """``p(z_s | z_t)`` at per-component log-SNRs (exact, or plug-in as ``transitions`` says); eigenbasis variances."""
        w, x_hat, post_var, _ = self._posterior_eigen(z_t, log_snrs_t)
        ls_t = self._per_component(log_snrs_t, w.shape[0], "log_snrs_t")
        ls_s = self._per_component(log_snrs_s, w.shape[0], "log_snrs_s", allow_inf=True)
        mean, var = q_reverse(x_hat, w, ls_t, ls_s)
        if self.transitions == "exact":
            _, coef_x, _ = transition_coefficients(ls_t, ls_s)
            var = var + coef_x**2 * post_var
        return Gaussian(self.from_eigen(mean), var)

    def flow_map_per_component(self, z_t, log_snrs_t, log_snrs_s=np.inf, score_scale: float = 1.0) -> np.ndarray:
        """Exact (score-scaled) probability-flow map between per-component log-SNRs (``+inf``: to ``x``).

        In ``y = w / alpha`` the flow with its score scaled by ``c`` rescales each centred component by
        ``((lam + e^-log_snr_s) / (lam + e^-log_snr_t))^(c/2)`` (claim ``score_scaled_flow``); to ``x`` that is
        the gain ``rho^c``: ``c = 1`` DiffC-F, ``c = 2`` the posterior mean.
        """
        if not (np.isfinite(score_scale) and score_scale > 0):
            raise ValueError(f"score_scale: must be finite and > 0, got {score_scale!r}")
        w = self.to_eigen(as_batch(z_t, self.dim, "z_t"))
        ls_t = self._per_component(log_snrs_t, w.shape[0], "log_snrs_t")
        ls_s = np.broadcast_to(np.asarray(log_snrs_s, dtype=np.float64), ls_t.shape)
        ls_s = self._per_component(ls_s, w.shape[0], "log_snrs_s", allow_inf=True)
        alpha_t, _ = schedule.alpha_sigma_from_log_snr(ls_t)
        alpha_s, _ = schedule.alpha_sigma_from_log_snr(ls_s)
        mean = self.to_eigen(self.mean)
        ratio = ((self.eigvals + np.exp(-ls_s)) / (self.eigvals + np.exp(-ls_t))) ** (0.5 * score_scale)
        return self.from_eigen(alpha_s * mean + (alpha_s / alpha_t) * ratio * (w - alpha_t * mean))

    def reverse_transition(self, z_t, log_snr_t, log_snr_s) -> Gaussian:
        """``p(z_s | z_t)``: mean ``coef_z z_t + coef_x E[x|z_t]``, eigenbasis variance ``var (+ coef_x^2 posterior_var)``."""
        z_t = as_batch(z_t, self.dim, "z_t")
        n = z_t.shape[0]
        ls_t = _log_snr_column(log_snr_t, n, "log_snr_t")
        ls_s = _log_snr_column(log_snr_s, n, "log_snr_s", allow_inf=True)
        x_hat = self.denoise(z_t, ls_t[:, 0])
        mean, var = q_reverse(x_hat, z_t, ls_t[:, 0], ls_s[:, 0])
        if self.transitions == "exact":
            _, coef_x, _ = transition_coefficients(ls_t, ls_s)
            var = var + coef_x**2 * self.posterior_var(ls_t[:, 0])
        else:
            var = np.broadcast_to(var, (n, self.dim)).copy()
        return Gaussian(mean, var)


@dataclasses.dataclass(frozen=True, eq=False)
class GaussianOracle(EigenGaussianMethods):
    """Exact denoiser of Gaussian data ``N(mean, basis diag(eigvals) basis^T)``.

    Attributes
    ----------
    mean : numpy.ndarray
        ``[dim]`` data mean.
    eigvals : numpy.ndarray
        ``[dim]`` covariance eigenvalues ``>= 0`` (0: a constant direction).
    basis : numpy.ndarray
        ``[dim, dim]`` orthogonal; column ``i`` is the eigenvector of ``eigvals[i]``.
    transitions : {"exact", "plugin"}
        ``"exact"``: the true ``p(z_s | z_t)``; ``"plugin"``: ``q(z_s | z_t, x = E[x | z_t])``.
    log_snr_min, log_snr_max : float
        Range used by the codec and the decoders (the oracle is exact everywhere).

    Examples
    --------
    >>> oracle = GaussianOracle.from_moments(np.zeros(1), np.eye(1))
    >>> float(oracle.denoise(np.array([[1.0]]), 0.0)[0, 0])  # alpha lam / (alpha^2 lam + sigma^2) at snr 1
    0.7071067811865475
    """

    mean: np.ndarray
    eigvals: np.ndarray
    basis: np.ndarray
    transitions: str = "exact"
    log_snr_min: float = -10.0
    log_snr_max: float = 30.0

    def __post_init__(self):
        mean = np.asarray(self.mean, dtype=np.float64)
        eigvals = np.asarray(self.eigvals, dtype=np.float64)
        basis = np.asarray(self.basis, dtype=np.float64)
        d = eigvals.size
        if eigvals.ndim != 1 or d == 0:
            raise ValueError(f"eigvals: expected a non-empty 1-D array, got shape {eigvals.shape}")
        if not np.isfinite(eigvals).all() or (eigvals < 0).any():
            raise ValueError("eigvals: must be finite and >= 0")
        if mean.shape != (d,) or not np.isfinite(mean).all():
            raise ValueError(f"mean: expected {d} finite numbers, got shape {mean.shape}")
        if basis.shape != (d, d) or not np.allclose(basis.T @ basis, np.eye(d), atol=1e-10):
            raise ValueError(f"basis: expected a [{d}, {d}] orthogonal matrix")
        if self.transitions not in ("exact", "plugin"):
            raise ValueError(f"transitions: expected 'exact' or 'plugin', got {self.transitions!r}")
        if not (np.isfinite(self.log_snr_min) and np.isfinite(self.log_snr_max) and self.log_snr_min < self.log_snr_max):
            raise ValueError(
                f"log_snr_min, log_snr_max: need finite log_snr_min < log_snr_max, got {self.log_snr_min}, {self.log_snr_max}"
            )
        for name, value in (("mean", mean), ("eigvals", eigvals), ("basis", basis)):
            object.__setattr__(self, name, _readonly(value))
        object.__setattr__(self, "log_snr_min", float(self.log_snr_min))
        object.__setattr__(self, "log_snr_max", float(self.log_snr_max))

    @classmethod
    def from_moments(cls, mean, covariance, **kwargs) -> "GaussianOracle":
        """Oracle for ``N(mean, covariance)`` (eigendecomposed; see ``_eig_from_covariance``)."""
        eigvals, basis = _eig_from_covariance(covariance)
        return cls(np.asarray(mean, dtype=np.float64), eigvals, basis, **kwargs)

    @classmethod
    def from_source(cls, source, **kwargs) -> "GaussianOracle":
        """Oracle with a ``empirical.data.Source``'s mean and covariance (its exact factorisation when known)."""
        if getattr(source, "eigvals", None) is not None and getattr(source, "basis", None) is not None:
            return cls(source.mean, source.eigvals, source.basis, **kwargs)
        return cls.from_moments(source.mean, source.covariance, **kwargs)

    @property
    def dim(self) -> int:
        """Number of components."""
        return int(self.eigvals.size)

    @property
    def fingerprint(self) -> str:
        """sha256 of the class, transitions, range, mean, eigvals and basis."""
        return _digest(
            "GaussianOracle", self.transitions, [self.log_snr_min, self.log_snr_max], self.mean, self.eigvals, self.basis
        )

    def to_eigen(self, z) -> np.ndarray:
        """Coordinates ``z @ basis`` (rows) in the eigenbasis."""
        return np.asarray(z, dtype=np.float64) @ self.basis

    def from_eigen(self, w) -> np.ndarray:
        """Pixel coordinates ``w @ basis^T`` of eigenbasis rows ``w``."""
        return np.asarray(w, dtype=np.float64) @ self.basis.T


@dataclasses.dataclass(frozen=True, eq=False)
class MixtureOracle:
    """Exact posterior mean of the equal-weight mixture ``(1/K) sum_k N(means[k], std^2 I)``.

    Reverse steps are plug-in (``q`` with ``x = E[x | z_t]``): the exact
    ``p(z_s | z_t)`` of a mixture is not Gaussian. The prior is ``N(0, I)``.
    """

    means: np.ndarray
    std: float
    log_snr_min: float = -10.0
    log_snr_max: float = 12.0

    def __post_init__(self):
        means = np.asarray(self.means, dtype=np.float64)
        if means.ndim != 2 or means.size == 0 or not np.isfinite(means).all():
            raise ValueError(f"means: expected a finite [K, dim] array, got shape {means.shape}")
        if not np.isfinite(self.std) or self.std <= 0:
            raise ValueError(f"std: must be finite and > 0, got {self.std!r}")
        object.__setattr__(self, "means", _readonly(means))
        object.__setattr__(self, "std", float(self.std))

    @classmethod
    def from_source(cls, source, **kwargs) -> "MixtureOracle":
        """Oracle of a ``mixture2d`` / ``mixture`` source."""
        if source.mixture is None:
            raise ValueError(f"source: {source.name!r} is not a Gaussian mixture")
        return cls(source.mixture.means, source.mixture.std, **kwargs)

    @property
    def dim(self) -> int:
        """Number of dimensions."""
        return int(self.means.shape[1])

    @property
    def basis(self) -> np.ndarray:
        """Identity: every step is isotropic."""
        return np.eye(self.dim)

    @property
    def fingerprint(self) -> str:
        """sha256 of the class, range, means and std."""
        return _digest("MixtureOracle", [self.log_snr_min, self.log_snr_max, self.std], self.means)

    def denoise(self, z, log_snr) -> np.ndarray:
        """``sum_k r_k(z) (mu_k + alpha std^2 / (alpha^2 std^2 + sigma^2) (z - alpha mu_k))``, ``r`` the responsibilities."""
        z = as_batch(z, self.dim)
        ls = _log_snr_column(log_snr, z.shape[0], "log_snr")
        alpha, sigma = schedule.alpha_sigma_from_log_snr(ls)  # [n, 1]
        var = alpha**2 * self.std**2 + sigma**2
        resid = z[:, None, :] - alpha[:, :, None] * self.means[None, :, :]  # [n, K, d]
        logits = -0.5 * np.sum(resid**2, axis=2) / var  # [n, K]
        logits -= logits.max(axis=1, keepdims=True)
        resp = np.exp(logits)
        resp /= resp.sum(axis=1, keepdims=True)
        cond = self.means[None, :, :] + (alpha * self.std**2 / var)[:, :, None] * resid
        return np.einsum("nk,nkd->nd", resp, cond)

    def prior(self, log_snr: float) -> Gaussian:
        """``N(0, I)``."""
        return Gaussian(np.zeros((1, self.dim)), np.ones((1, self.dim)))

    def reverse_transition(self, z_t, log_snr_t, log_snr_s) -> Gaussian:
        """Plug-in ``q(z_s | z_t, x = E[x | z_t])``."""
        z_t = as_batch(z_t, self.dim, "z_t")
        n = z_t.shape[0]
        ls_t = _log_snr_column(log_snr_t, n, "log_snr_t")[:, 0]
        ls_s = _log_snr_column(log_snr_s, n, "log_snr_s", allow_inf=True)[:, 0]
        mean, var = q_reverse(self.denoise(z_t, ls_t), z_t, ls_t, ls_s)
        return Gaussian(mean, np.broadcast_to(var, (n, self.dim)).copy())
