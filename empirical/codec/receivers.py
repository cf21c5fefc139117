"""The two DiffC receivers: ancestral sampling (DiffC-A) and the probability-flow ODE (DiffC-F).

Both take a decoded noisy latent ``z`` at ``log_snr`` and a denoiser
(:class:`empirical.models.Denoiser`) and return a reconstruction of ``x``;
they share the signature ``(z, log_snr, model, rng, num_steps, ...)`` and
both walk the log-SNR grid :func:`log_snr_grid` from ``log_snr`` to
``log_snr_end`` (default ``model.log_snr_max``) in ``num_steps`` equal steps:

- :func:`ancestral` (DiffC-A): ``z <- sample p(z_s | z_t)`` along the grid with the
  receiver's own ``rng``, then a last draw from ``p(x | z_end)`` (the model's
  ``reverse_transition`` to ``log_snr = +inf``: the exact posterior for
  :class:`~empirical.models.GaussianOracle` with exact transitions, the point
  ``E[x | z_end]`` for plug-in models).
- :func:`flow` (DiffC-F): the probability-flow ODE in the variance-exploding
  variables ``y = z / alpha``, ``s = sigma / alpha = exp(-log_snr / 2)``::

      dy/ds = (y - E[x | z = alpha y]) / s

  integrated from ``s(log_snr)`` to ``s(log_snr_end)`` with Euler, Heun (2nd
  order) or classical Runge-Kutta (4th order) on the grid (uniform in
  log-SNR, geometric in ``s``), followed by the Euler step from ``s_end`` to
  ``s = 0``, which lands on ``E[x | z_end]`` (as in EDM). For a Gaussian the
  exact flow map is ``x = mean + sqrt(lam / (alpha^2 lam + sigma^2)) (z - alpha mean)``
  per eigen-component; the last step's relative error is
  ``1 - sqrt(lam / (lam + s_end^2)) ~ exp(-log_snr_end) / (2 lam)``.

A learned model trained on the perfect-realism path (``--schedule rdp``: one log-SNR per coefficient,
``log_snr_i(tau)``, ``gaussian.curves.rdp_path_log_snrs``) has no closed forms; :func:`ancestral_on_path`
and :func:`flow_on_path` walk that path in ``tau`` instead, from the latent's ``tau`` to ``tau_end``
(default ``model.log_snr_max``, the top of its training range), in ``num_steps`` equal steps, in the
model's coefficients (``to_eigen``): plug-in steps, or the same flow component by component with
``ds_i / s_i = -1/2 d log_snr_i``, i.e. in ``tau``::

    dy_i/dtau = -1/2 (d log_snr_i / dtau) c (y_i - E[x_i | z]),   d log_snr_i / dtau = 1 + 1/sqrt(1 + 4 a_i^2)

(claim ``rdp_schedule_monotone``; classical Runge-Kutta), then the same last step to ``E[x | z_end]``.
"""
from __future__ import annotations

import numpy as np

from gaussian import schedule
from empirical import models

__all__ = ["log_snr_grid", "ancestral", "flow", "ancestral_on_path", "flow_on_path", "as_generator", "DECODERS",
           "SOLVERS"]

SOLVERS = ("euler", "heun", "rk4")
RNG_TAG_ANCESTRAL = 0x5A3D04  # SeedSequence purpose tag of an integer rng (see empirical.data)


def _num_steps(num_steps) -> int:
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or not 0 <= num_steps <= 1_000_000:
        raise ValueError(f"num_steps: must be an integer in 0..1000000, got {num_steps!r}")
    return int(num_steps)


def _scalar_log_snr(log_snr, argument: str) -> float:
    value = np.asarray(log_snr, dtype=np.float64)
    if value.ndim != 0 or not np.isfinite(value):
        raise ValueError(f"{argument}: expected one finite number, got {log_snr!r}")
    return float(value)


def log_snr_grid(log_snr_start: float, log_snr_end: float, num_steps: int) -> np.ndarray:
    """``[num_steps + 1]`` log-SNRs, uniform from ``log_snr_start`` to ``log_snr_end``; ``[start]`` if ``start >= end``.

    >>> log_snr_grid(0.0, 1.0, 4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    start = _scalar_log_snr(log_snr_start, "log_snr_start")
    end = _scalar_log_snr(log_snr_end, "log_snr_end")
    num_steps = _num_steps(num_steps)
    if start >= end or num_steps == 0:
        return np.array([start])
    grid = np.linspace(start, end, num_steps + 1)
    grid[-1] = end
    return grid


def _prepare(z, log_snr, model, log_snr_end):
    """``(z [n, d], squeeze?, log_snr, log_snr_end)`` validated."""
    squeeze = np.ndim(z) == 1
    z = models.as_batch(z, model.dim)
    log_snr = _scalar_log_snr(log_snr, "log_snr")
    log_snr_end = model.log_snr_max if log_snr_end is None else _scalar_log_snr(log_snr_end, "log_snr_end")
    return z, squeeze, log_snr, log_snr_end


def as_generator(rng) -> np.random.Generator:
    """A ``numpy.random.Generator`` as is, or one from a seed ``>= 0`` (purpose tag ``RNG_TAG_ANCESTRAL``)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(np.random.SeedSequence([RNG_TAG_ANCESTRAL, int(rng)]))
    raise ValueError(f"rng: expected a numpy.random.Generator or a seed >= 0, got {rng!r}")


def _draw(gauss: models.Gaussian, model, rng: np.random.Generator) -> np.ndarray:
    """One sample of ``N(mean, basis diag(var) basis^T)`` per row (``basis`` the model's)."""
    noise = rng.standard_normal(gauss.mean.shape)
    return gauss.mean + models.from_coefficients(model, np.sqrt(gauss.var) * noise)


def ancestral(z, log_snr, model, rng, num_steps: int = 64, log_snr_end=None) -> np.ndarray:
    """DiffC-A: ancestral sampling of ``x`` from ``z`` at ``log_snr``.

    Parameters
    ----------
    z : array_like
        ``[n, dim]`` or ``[dim]`` latent(s), all at ``log_snr``.
    log_snr : float
        Noise level of ``z``.
    model : Denoiser
        Supplies ``reverse_transition`` and ``basis``.
    rng : numpy.random.Generator or int
        The receiver's own randomness (an int is a seed).
    num_steps : int
        Reverse steps from ``log_snr`` to ``log_snr_end`` before the last draw of ``x``.
    log_snr_end : float or None
        Default ``model.log_snr_max``.

    Returns
    -------
    numpy.ndarray
        Reconstruction(s), the shape of ``z``.
    """
    z, squeeze, log_snr, log_snr_end = _prepare(z, log_snr, model, log_snr_end)
    rng = as_generator(rng)
    grid = log_snr_grid(log_snr, log_snr_end, num_steps)
    for ls_t, ls_s in zip(grid[:-1], grid[1:]):
        z = _draw(model.reverse_transition(z, ls_t, ls_s), model, rng)
    x = _draw(model.reverse_transition(z, grid[-1], np.inf), model, rng)
    return x[0] if squeeze else x


def flow(z, log_snr, model, rng=None, num_steps: int = 64, solver: str = "heun", log_snr_end=None,
         score_scale: float = 1.0) -> np.ndarray:
    """DiffC-F: integrate the probability-flow ODE from ``z`` at ``log_snr`` to ``x``.

    Parameters
    ----------
    z : array_like
        ``[n, dim]`` or ``[dim]`` latent(s), all at ``log_snr``.
    log_snr : float
        Noise level of ``z``.
    model : Denoiser
        Supplies ``denoise``.
    rng : None
        Unused (the flow is deterministic); accepted so that both decoders share a signature.
    num_steps : int
        Solver steps from ``log_snr`` to ``log_snr_end`` (each costs 1, 2 or 4 denoiser calls).
    solver : {"euler", "heun", "rk4"}
        Integration method.
    log_snr_end : float or None
        Where the ODE stops before the final Euler step to ``s = 0``; default ``model.log_snr_max``.
    score_scale : float
        ``c``: the drift ``c (y - E[x | z]) / s`` (the score scaled by ``c``, claim ``score_scaled_flow``);
        for a Gaussian the map is ``rho^c z / alpha``: ``c = 1`` DiffC-F, ``c = 2`` the posterior mean, in
        between the distortion–perception frontier (claim ``dp_frontier``).

    Returns
    -------
    numpy.ndarray
        Reconstruction(s), the shape of ``z``.

    Examples
    --------
    >>> from empirical.models import GaussianOracle
    >>> oracle = GaussianOracle.from_moments(np.zeros(1), 4.0 * np.eye(1))
    >>> x = flow(np.array([0.5]), 0.0, oracle, num_steps=256, solver="rk4")
    >>> bool(abs(x[0] / (np.sqrt(4.0 / (0.5 * 4.0 + 0.5)) * 0.5) - 1) < 1e-6)  # sqrt(lam / (alpha^2 lam + sigma^2)) z
    True
    """
    z, squeeze, log_snr, log_snr_end = _prepare(z, log_snr, model, log_snr_end)
    if solver not in SOLVERS:
        raise ValueError(f"solver: expected one of {SOLVERS}, got {solver!r}")
    if isinstance(score_scale, bool) or not (np.isfinite(score_scale) and score_scale > 0):
        raise ValueError(f"score_scale: must be finite and > 0, got {score_scale!r}")
    grid = log_snr_grid(log_snr, log_snr_end, num_steps)
    s_grid = schedule.sigma_ve_from_log_snr(grid)
    alpha, _ = schedule.alpha_sigma_from_log_snr(grid[0])
    y = z / alpha

    def slope(y, s, ls=None):
        if ls is None:
            ls = float(schedule.log_snr_from_sigma_ve(s))
        a, _ = schedule.alpha_sigma_from_log_snr(ls)
        return score_scale * (y - model.denoise(a * y, ls)) / s

    for i in range(grid.size - 1):
        s_a, s_b, h = s_grid[i], s_grid[i + 1], s_grid[i + 1] - s_grid[i]
        k1 = slope(y, s_a, grid[i])
        if solver == "euler":
            y = y + h * k1
        elif solver == "heun":
            k2 = slope(y + h * k1, s_b, grid[i + 1])
            y = y + 0.5 * h * (k1 + k2)
        else:
            s_m = 0.5 * (s_a + s_b)
            k2 = slope(y + 0.5 * h * k1, s_m)
            k3 = slope(y + 0.5 * h * k2, s_m)
            k4 = slope(y + h * k3, s_b, grid[i + 1])
            y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    alpha_end, _ = schedule.alpha_sigma_from_log_snr(grid[-1])
    x = model.denoise(alpha_end * y, grid[-1])
    if score_scale != 1.0:  # the last Euler step to s = 0 with the scaled drift: y - c (y - E[x | z])
        x = y - score_scale * (y - x)
    return x[0] if squeeze else x


def _prepare_on_path(z, log_snrs, model, tau_end):
    """``(z [n, d], squeeze?, tau, tau_end)`` of latents at per-component ``log_snrs`` on ``model``'s path."""
    squeeze = np.ndim(z) == 1
    z = models.as_batch(z, model.dim)
    tau = model.path_tau(log_snrs)
    tau_end = model.log_snr_max if tau_end is None else _scalar_log_snr(tau_end, "tau_end")
    return z, squeeze, tau, tau_end


def ancestral_on_path(z, log_snrs, model, rng, num_steps: int = 64, tau_end=None) -> np.ndarray:
    """DiffC-A for a model on the perfect-realism path: plug-in steps from the latent's ``tau`` to ``tau_end``
    (``num_steps`` equal steps of ``tau``), then the model's last draw of ``x`` (module docstring).

    ``z`` is ``[n, dim]`` (or ``[dim]``), all at the per-component ``log_snrs`` (``[dim]``); ``model`` supplies
    ``path_tau``, ``path_log_snrs``, ``reverse_transition_per_component`` and the coefficients."""
    z, squeeze, tau, tau_end = _prepare_on_path(z, log_snrs, model, tau_end)
    rng = as_generator(rng)
    grid = log_snr_grid(tau, tau_end, num_steps)
    table = model.path_log_snrs(grid)
    table[0] = np.asarray(log_snrs, dtype=np.float64)  # the latent's own log-SNRs (equal to the path's up to rounding)
    for ls_t, ls_s in zip(table[:-1], table[1:]):
        z = _draw(model.reverse_transition_per_component(z, ls_t, ls_s), model, rng)
    x = _draw(model.reverse_transition_per_component(z, table[-1], np.full(model.dim, np.inf)), model, rng)
    return x[0] if squeeze else x


def flow_on_path(z, log_snrs, model, rng=None, num_steps: int = 64, tau_end=None, score_scale: float = 1.0):
    """DiffC-F (``score_scale=1``; ``dp:C`` with ``C``) for a model on the perfect-realism path: the probability
    flow in ``tau`` (module docstring) with classical Runge-Kutta from the latent's ``tau`` to ``tau_end``, then the
    last Euler step to ``s = 0``. Arguments as :func:`ancestral_on_path` (``rng`` unused)."""
    if isinstance(score_scale, bool) or not (np.isfinite(score_scale) and score_scale > 0):
        raise ValueError(f"score_scale: must be finite and > 0, got {score_scale!r}")
    z, squeeze, tau, tau_end = _prepare_on_path(z, log_snrs, model, tau_end)
    grid = log_snr_grid(tau, tau_end, num_steps)

    def x_hat(y, t):  # E[x | z = alpha y] in coefficients, at the path's log-SNRs at t
        ls = model.path_log_snrs(t)[0]
        alpha, _ = schedule.alpha_sigma_from_log_snr(ls)
        return models.to_coefficients(model, model.denoise_per_component(models.from_coefficients(model, alpha * y), ls))

    def slope(y, t):
        return -0.5 * score_scale * model.path_log_snr_slope(t)[0] * (y - x_hat(y, t))

    alpha_0, _ = schedule.alpha_sigma_from_log_snr(model.path_log_snrs(grid[0])[0])
    y = models.to_coefficients(model, z) / alpha_0
    for t_a, t_b in zip(grid[:-1], grid[1:]):
        h, t_m = t_b - t_a, 0.5 * (t_a + t_b)
        k1 = slope(y, t_a)
        k2 = slope(y + 0.5 * h * k1, t_m)
        k3 = slope(y + 0.5 * h * k2, t_m)
        k4 = slope(y + h * k3, t_b)
        y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    y = y - score_scale * (y - x_hat(y, grid[-1]))  # the last Euler step to s = 0
    x = models.from_coefficients(model, y)
    return x[0] if squeeze else x


DECODERS = {"ancestral": ancestral, "flow": flow}
