"""The probability-flow ODE for a Gaussian source, for general schedules ``alpha(t)``, ``sigma(t)``.

The forward process ``Z_t = alpha(t) X + sigma(t) U`` is the marginal of the SDE
``dx = f x dt + g dW`` with ``f = d ln alpha / dt`` and
``g^2 = d sigma^2 / dt - 2 f sigma^2`` (Lu et al. 2022, DPM-Solver).
For ``X ~ N(0, lam)`` the marginal is ``N(0, v)``, ``v = alpha^2 lam + sigma^2``,
and its score is ``-x / v``. The score-scaled flow
``dx/dt = f x - (c/2) g^2 score`` is the probability-flow ODE at ``c = 1``
(Song et al. 2021) and the drift of the reverse SDE without its noise at
``c = 2``. Both variance-preserving (``sigma^2 = 1 - alpha^2``) and
variance-exploding (``alpha = 1``) schedules are special cases.
"""

from __future__ import annotations

import sympy as sp

from theory import symbols as S
from theory.claims import Claim, Derivation, check_unique_ids
from theory.moments import expect_normals
from theory.scalar import flow_gain, flow_map_gain, posterior_mean_gain, score_scaled_flow_gain

__all__ = [
    "drift_coefficient",
    "diffusion_squared",
    "marginal_variance",
    "vp_alpha",
    "vp_sigma",
    "sigma_ve",
    "log_snr",
    "CLAIMS",
]

_T = S.t
_LAM = S.eigval
_X = sp.Symbol("x", real=True)
_X0 = sp.Symbol("x_0", real=True)
# plain symbols for alpha(t), sigma(t) and their time derivatives after differentiation
_A, _SG = S.alpha, S.sigma
_DA, _DSG = sp.symbols("alpha_dot sigma_dot", real=True)


def drift_coefficient(alpha=S.alpha_t, t=S.t):
    """Drift coefficient ``f(t) = d ln alpha / dt`` of the forward SDE ``dx = f x dt + g dW``."""
    return sp.diff(alpha, t) / alpha


def diffusion_squared(alpha=S.alpha_t, sigma=S.sigma_t, t=S.t):
    """Squared diffusion ``g(t)^2 = d sigma^2/dt - 2 f sigma^2`` of the forward SDE."""
    return sp.diff(sigma**2, t) - 2 * drift_coefficient(alpha, t) * sigma**2


def marginal_variance(eigval=S.eigval, alpha=S.alpha_t, sigma=S.sigma_t):
    """Variance ``alpha^2 lam + sigma^2`` of ``Z_t`` for ``X ~ N(0, lam)``."""
    return alpha**2 * eigval + sigma**2


def vp_alpha(snr=S.snr):
    """Variance-preserving signal scale ``alpha = sqrt(snr / (1 + snr))``."""
    return sp.sqrt(snr / (1 + snr))


def vp_sigma(snr=S.snr):
    """Variance-preserving noise scale ``sigma = sqrt(1 / (1 + snr))``."""
    return sp.sqrt(1 / (1 + snr))


def sigma_ve(snr=S.snr):
    """Variance-exploding noise level ``sigma_ve = sigma / alpha = snr^(-1/2)`` (k-diffusion, EDM)."""
    return 1 / sp.sqrt(snr)


def log_snr(snr=S.snr):
    """Log-SNR ``ln(snr)``."""
    return sp.log(snr)


def _to_symbols(expr):
    """Replace ``alpha(t), sigma(t)`` and their first derivatives by plain symbols (derivatives first)."""
    expr = sp.sympify(expr)
    expr = expr.subs({sp.Derivative(S.alpha_t, _T): _DA, sp.Derivative(S.sigma_t, _T): _DSG})
    return expr.subs({S.alpha_t: _A, S.sigma_t: _SG})


def _residuals(alpha, sigma, score_scale, trajectory):
    """ODE residual, Fokker-Planck residual and continuity residual for the schedule ``(alpha, sigma)``."""
    f = drift_coefficient(alpha)
    g2 = diffusion_squared(alpha, sigma)
    v = marginal_variance(_LAM, alpha, sigma)
    density = sp.exp(-(_X**2) / (2 * v)) / sp.sqrt(2 * sp.pi * v)
    score = sp.diff(sp.log(density), _X)
    drift = f * _X - score_scale * g2 * score / 2
    fokker_planck = (sp.diff(density, _T) + sp.diff(f * _X * density, _X) - g2 * sp.diff(density, _X, 2) / 2) / density
    pf_drift = f * _X - g2 * score / 2
    continuity = (sp.diff(density, _T) + sp.diff(pf_drift * density, _X)) / density
    ode = (sp.diff(trajectory, _T) - drift.subs(_X, trajectory)) / trajectory
    return ode, fokker_planck, continuity, score


def _derive_flow_map(e, d: Derivation):
    """Checks the Fokker-Planck and continuity equations, then substitutes the claimed map into the PF ODE (general, VP, VE)."""
    alpha, sigma = S.alpha_t, S.sigma_t
    d.define("forward SDE drift f = d ln alpha/dt", sp.Symbol("f"), drift_coefficient(alpha))
    d.define(
        "forward SDE diffusion g^2 = d sigma^2/dt - 2 f sigma^2", sp.Symbol("g^2"), diffusion_squared(alpha, sigma)
    )
    gain_t = e["flow_map_gain"].subs({S.alpha: alpha, S.sigma: sigma})
    # the claimed map x(0) = gain(t) x(t) fixes the trajectory through x(0) = x_0: x(t) = x_0 / gain(t)
    trajectory = _X0 / gain_t
    ode, fokker_planck, continuity, score = _residuals(alpha, sigma, 1, trajectory)
    d.equal("score of N(0, alpha^2 lam + sigma^2)", _to_symbols(score), -_X / (_A**2 * _LAM + _SG**2))
    d.equal("Fokker-Planck: N(0, alpha(t)^2 lam + sigma(t)^2) is the law of the SDE", _to_symbols(fokker_planck), 0)
    d.equal("continuity: the probability-flow ODE keeps the same marginals", _to_symbols(continuity), 0)
    d.equal("x(t) = x_0 / gain(t) solves dx/dt = f x - g^2 score / 2 (general alpha, sigma)", _to_symbols(ode), 0)
    d.equal(
        "endpoint alpha(0) = 1, sigma(0) = 0: the map at t = 0 is the identity",
        e["flow_map_gain"].subs({S.alpha: 1, S.sigma: 0}),
        1,
    )
    vp_sigma = sp.sqrt(1 - alpha**2)
    ode_vp, *_ = _residuals(alpha, vp_sigma, 1, _X0 / e["flow_map_gain"].subs({S.alpha: alpha, S.sigma: vp_sigma}))
    d.equal(
        "variance preserving, sigma(t) = sqrt(1 - alpha(t)^2)",
        _to_symbols(ode_vp),
        0,
        ranges={_A: (0, 1)},
    )
    ve_alpha = sp.Integer(1)
    ode_ve, *_ = _residuals(ve_alpha, sigma, 1, _X0 / e["flow_map_gain"].subs({S.alpha: ve_alpha, S.sigma: sigma}))
    d.equal("variance exploding, alpha(t) = 1", _to_symbols(ode_ve), 0)
    d.equal(
        "in terms of snr: gain * z = rho * z / alpha",
        e["flow_map_gain"].subs(S.alpha, S.sigma * sp.sqrt(S.snr)) * S.sigma * sp.sqrt(S.snr),
        flow_gain(),
    )


def _derive_score_scaled(e, d: Derivation):
    """Substitutes the claimed trajectory into the score-scaled ODE and checks the c = 1 and c = 2 endpoints."""
    alpha, sigma, c = S.alpha_t, S.sigma_t, S.score_scale
    v = marginal_variance(_LAM, alpha, sigma)
    # claimed: x_hat = gain * z / alpha at time t; through x(0) = x_0 the trajectory is x(t) = x_0 alpha / gain
    gain_t = e["score_scaled_gain"].subs(S.snr, alpha**2 / sigma**2)
    trajectory = _X0 * alpha / gain_t
    ode, *_ = _residuals(alpha, sigma, c, trajectory)
    d.define("trajectory through x_0 at t = 0", sp.Function("x")(_T), trajectory)
    d.equal("x(t) solves dx/dt = f x - (c/2) g^2 score (general alpha, sigma, c)", _to_symbols(ode), 0)
    d.equal(
        "the same trajectory is x_0 alpha^(1-c) (v/lam)^(c/2)",
        _to_symbols(trajectory),
        _to_symbols(_X0 * alpha ** (1 - c) * (v / _LAM) ** (c / 2)),
    )
    d.equal("c = 1 is the probability-flow map", e["score_scaled_gain"].subs(c, 1), flow_gain())
    d.equal(
        "c = 2 is the posterior mean",
        (e["score_scaled_gain"].subs(c, 2) / S.alpha).subs(S.snr, S.alpha**2 / S.sigma**2),
        posterior_mean_gain(),
    )


def _derive_schedule(e, d: Derivation):
    """Solves the VP constraints for alpha, sigma and checks the sigmoid, log-SNR and VE forms."""
    a, sg = sp.symbols("a s", positive=True)
    solutions = sp.solve([a**2 + sg**2 - 1, a**2 - S.snr * sg**2], [a, sg], dict=True)
    d.equal(
        "alpha^2 + sigma^2 = 1 and alpha^2 / sigma^2 = snr: alpha",
        solutions[0][a] if len(solutions) == 1 else sp.nan,
        e["vp_alpha"],
    )
    d.equal("... and sigma", solutions[0][sg] if len(solutions) == 1 else sp.nan, e["vp_sigma"])
    d.equal("sigma_ve = sigma / alpha", e["vp_sigma"] / e["vp_alpha"], e["sigma_ve"])
    ls = sp.Symbol("l", real=True)
    d.equal(
        "alpha^2 = sigmoid(log_snr)",
        (e["vp_alpha"] ** 2).subs(S.snr, sp.exp(ls)),
        1 / (1 + sp.exp(-ls)),
        ranges={ls: (-20, 20)},
    )
    d.equal(
        "log_snr = ln(snr) inverts snr = exp(log_snr)", e["log_snr"].subs(S.snr, sp.exp(ls)), ls, ranges={ls: (-20, 20)}
    )
    x = sp.sqrt(_LAM) * S.n_x
    z_ve = x + e["sigma_ve"] * S.n_u
    d.equal(
        "Z / alpha = X + sigma_ve U has the same snr: 1^2 / E[(Z_ve - X)^2] = snr",
        1 / expect_normals((z_ve - x) ** 2, [S.n_x, S.n_u]),
        S.snr,
    )


CLAIMS = check_unique_ids(
    [
        Claim(
            id="flow_map_solves_pf_ode",
            kind="identity",
            statement=(
                "x_hat = sqrt(lam / (alpha^2 lam + sigma^2)) z is the time-t-to-0 map of the probability-flow ODE "
                "dx/dt = f x - g^2 score / 2 for general alpha(t), sigma(t), including VP (sigma^2 = 1 - alpha^2) and VE (alpha = 1)"
            ),
            domain="lam > 0; alpha(t), sigma(t) > 0 differentiable with alpha(0) = 1, sigma(0) = 0",
            source="Song et al. 2021 (ICLR), probability-flow ODE; Lu et al. 2022 (DPM-Solver) for f, g in terms of alpha, sigma; derived here",
            expressions={"flow_map_gain": flow_map_gain()},
            derive=_derive_flow_map,
        ),
        Claim(
            id="schedule_conversions",
            kind="identity",
            statement=(
                "VP: alpha = sqrt(snr/(1+snr)), sigma = sqrt(1/(1+snr)), alpha^2 = sigmoid(log_snr); "
                "VE: sigma_ve = sigma/alpha = snr^(-1/2), and Z/alpha = X + sigma_ve U carries the same snr"
            ),
            domain="snr > 0, log_snr real",
            source="Kingma et al. 2021 (VDM); Karras et al. 2022 (EDM); derived here",
            expressions={"vp_alpha": vp_alpha(), "vp_sigma": vp_sigma(), "sigma_ve": sigma_ve(), "log_snr": log_snr()},
            derive=_derive_schedule,
        ),
        Claim(
            id="score_scaled_flow",
            kind="identity",
            statement=(
                "the score-scaled flow dx/dt = f x - (c/2) g^2 score maps z at time t to x_hat = rho^c z / alpha "
                "(c = 1: DiffC-F, c = 2: posterior mean), Gaussian source"
            ),
            domain="lam > 0, c > 0; alpha(t), sigma(t) > 0 differentiable with alpha(0) = 1, sigma(0) = 0",
            source="derived here",
            expressions={"score_scaled_gain": score_scaled_flow_gain()},
            derive=_derive_score_scaled,
        ),
    ]
)
