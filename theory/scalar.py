"""Per-component closed forms for a Gaussian source and the claims that prove them.

One component ``X ~ N(0, lam)`` is observed as ``Z = alpha X + sigma U`` with
``U ~ N(0, 1)`` and ``snr = alpha^2 / sigma^2``. The module-level functions
return sympy expressions (default arguments are the symbols of
:mod:`theory.symbols`), so numeric code can be lambdified from them; the numpy
twins live in ``gaussian/components.py``. Rates are in nats.

The claims derive each closed form from definitions: the rate as the expected
log-density ratio, distortions as second moments of the estimators (exact
Gaussian moment algebra, :func:`theory.moments.expect_normals`), the posterior
by completing the square, optima by calculus.

The ``*_given_x`` forms condition on one image: the component's value ``X = x``
is fixed and only the channel noise is random, ``z / alpha = x + eps / sqrt(snr)``
(DESIGN.md, "One image, one Gaussian model"); averaged over ``x ~ N(0, lam)``
they give the population forms above.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from theory import symbols as S
from theory.claims import Claim, Derivation, check_unique_ids
from theory.moments import expect_normals

__all__ = [
    "rate_nats",
    "posterior_mean_gain",
    "posterior_variance",
    "mse_mmse",
    "mmse",
    "mse_diffc_a",
    "flow_gain",
    "flow_map_gain",
    "mse_diffc_f",
    "ratio_ancestral_over_flow",
    "mse_rd",
    "mse_rdp",
    "snr_for_rate_nats",
    "mse_linear_decoder",
    "perception_linear_decoder",
    "w2_sq_linear_decoder",
    "mse_dp_frontier",
    "score_scaled_flow_gain",
    "mse_linear_decoder_given_x",
    "mse_mmse_given_x",
    "mse_diffc_f_given_x",
    "mse_diffc_a_given_x",
    "chain_kl_nats_given_x",
    "rate_nats_binary",
    "mse_mmse_binary",
    "CLAIMS",
]


# ---------------------------------------------------------------------------- closed forms
def rate_nats(eigval=S.eigval, snr=S.snr):
    """Mutual information ``I(X; Z) = 1/2 ln(1 + snr*lam)`` in nats."""
    return sp.log(1 + snr * eigval) / 2


def posterior_mean_gain(eigval=S.eigval, alpha=S.alpha, sigma=S.sigma):
    """Gain ``alpha*lam / (alpha^2 lam + sigma^2)`` of the posterior mean ``E[X | Z = z] = gain * z``."""
    return alpha * eigval / (alpha**2 * eigval + sigma**2)


def posterior_variance(eigval=S.eigval, snr=S.snr):
    """Posterior variance ``Var[X | Z] = lam / (1 + snr*lam)``."""
    return eigval / (1 + snr * eigval)


def mse_mmse(eigval=S.eigval, snr=S.snr):
    """MSE of the posterior mean (the MMSE) ``lam / (1 + snr*lam)``."""
    return eigval / (1 + snr * eigval)


#: Alias of :func:`mse_mmse`.
mmse = mse_mmse


def mse_diffc_a(eigval=S.eigval, snr=S.snr):
    """MSE of DiffC-A (a posterior sample) ``2*lam / (1 + snr*lam)``."""
    return 2 * eigval / (1 + snr * eigval)


def flow_gain(eigval=S.eigval, snr=S.snr):
    """Correlation ``rho = sqrt(snr*lam / (1 + snr*lam))`` between ``X`` and the DiffC-F reconstruction."""
    return sp.sqrt(snr * eigval / (1 + snr * eigval))


def flow_map_gain(eigval=S.eigval, alpha=S.alpha, sigma=S.sigma):
    """Gain ``sqrt(lam / (alpha^2 lam + sigma^2))`` of the DiffC-F map ``x_hat = gain * z``."""
    return sp.sqrt(eigval / (alpha**2 * eigval + sigma**2))


def mse_diffc_f(eigval=S.eigval, snr=S.snr):
    """MSE of DiffC-F (probability-flow decoding) ``2*lam*(1 - rho)``."""
    return 2 * eigval * (1 - flow_gain(eigval, snr))


def ratio_ancestral_over_flow(eigval=S.eigval, snr=S.snr):
    """Distortion ratio ``D_A / D_F = 1 + rho`` (dimensionless)."""
    return 1 + flow_gain(eigval, snr)


def mse_rd(eigval=S.eigval, rate_nats=S.rate_nats):
    """MSE rate-distortion function of one component ``lam * exp(-2R)`` (``R`` in nats)."""
    return eigval * sp.exp(-2 * rate_nats)


def mse_rdp(eigval=S.eigval, rate_nats=S.rate_nats):
    """Perfect-realism MSE of one component ``2*lam*(1 - sqrt(1 - exp(-2R)))`` (``R`` in nats)."""
    return 2 * eigval * (1 - sp.sqrt(1 - sp.exp(-2 * rate_nats)))


def snr_for_rate_nats(eigval=S.eigval, rate_nats=S.rate_nats):
    """SNR ``(exp(2R) - 1) / lam`` at which one component carries ``R`` nats."""
    return (sp.exp(2 * rate_nats) - 1) / eigval


def mse_linear_decoder(eigval=S.eigval, snr=S.snr, gain=S.gain):
    """MSE ``(1 - k)^2 lam + k^2 / snr`` of the linear decoder ``x_hat = k z / alpha``."""
    return (1 - gain) ** 2 * eigval + gain**2 / snr


def perception_linear_decoder(eigval=S.eigval, snr=S.snr, gain=S.gain):
    """W2 distance ``sqrt(lam) (1 - k/rho)`` between the laws of ``X`` and ``k Z / alpha`` (for ``k <= rho``)."""
    return sp.sqrt(eigval) * (1 - gain / flow_gain(eigval, snr))


def w2_sq_linear_decoder(eigval=S.eigval, snr=S.snr, gain=S.gain):
    """Squared W2 distance ``lam (1 - k/rho)^2`` between the laws of ``X`` and ``k Z / alpha`` (any ``k > 0``)."""
    return eigval * (1 - gain / flow_gain(eigval, snr)) ** 2


def mse_dp_frontier(eigval=S.eigval, snr=S.snr, perception=S.perception):
    """Distortion-perception frontier ``D* + (P* - P)^2`` for ``0 <= P <= P* = sqrt(lam)(1 - rho)``."""
    return mse_mmse(eigval, snr) + (sp.sqrt(eigval) * (1 - flow_gain(eigval, snr)) - perception) ** 2


def score_scaled_flow_gain(eigval=S.eigval, snr=S.snr, score_scale=S.score_scale):
    """Gain ``rho^c`` of the score-scaled flow map ``x_hat = rho^c z / alpha`` (``c = 1`` DiffC-F, ``c = 2`` MMSE)."""
    return flow_gain(eigval, snr) ** score_scale


def mse_linear_decoder_given_x(x=S.x_value, snr=S.snr, gain=S.gain):
    """Squared error ``(1 - k)^2 x^2 + k^2 / snr`` of ``x_hat = k z / alpha`` given ``X = x`` (channel noise only)."""
    return (1 - gain) ** 2 * x**2 + gain**2 / snr


def mse_mmse_given_x(eigval=S.eigval, snr=S.snr, x=S.x_value):
    """Squared error ``(1 - rho^2)^2 x^2 + rho^4 / snr`` of the posterior mean given ``X = x`` (``k = rho^2``)."""
    return mse_linear_decoder_given_x(x, snr, flow_gain(eigval, snr) ** 2)


def mse_diffc_f_given_x(eigval=S.eigval, snr=S.snr, x=S.x_value):
    """Squared error ``(1 - rho)^2 x^2 + rho^2 / snr`` of the DiffC-F map given ``X = x`` (``k = rho``)."""
    return mse_linear_decoder_given_x(x, snr, flow_gain(eigval, snr))


def mse_diffc_a_given_x(eigval=S.eigval, snr=S.snr, x=S.x_value):
    """Squared error ``(1 - rho^2)^2 x^2 + rho^4 / snr + lam / (1 + snr lam)`` of DiffC-A given ``X = x``."""
    return mse_mmse_given_x(eigval, snr, x) + posterior_variance(eigval, snr)


def chain_kl_nats_given_x(eigval=S.eigval, snr=S.snr, x=S.x_value):
    """Expected chain ``sum KL`` given ``X = x`` in nats, ``KL(N(alpha x, sigma^2) || N(0, alpha^2 lam + sigma^2))``.

    ``1/2 [ln(1 + snr lam) + (1 + snr x^2) / (1 + snr lam) - 1]``; the telescoping of the chain to this final
    KL (exact reverse steps) is argued in claim ``conditional_chain_kl``, not derived.
    """
    return (sp.log(1 + snr * eigval) + (1 + snr * x**2) / (1 + snr * eigval) - 1) / 2


_Y = sp.Symbol("y", real=True)


def _std_normal_pdf(y):
    """Standard normal density (sympy)."""
    return sp.exp(-(y**2) / 2) / sp.sqrt(2 * sp.pi)


def rate_nats_binary(snr=S.snr):
    """``I(X; sqrt(snr) X + N)`` in nats for ``X`` uniform on ``{-1, +1}``: ``snr - E ln cosh(snr + sqrt(snr) N)``."""
    return snr - sp.Integral(_std_normal_pdf(_Y) * sp.log(sp.cosh(snr + sp.sqrt(snr) * _Y)), (_Y, -sp.oo, sp.oo))


def mse_mmse_binary(snr=S.snr):
    """MMSE of ``X`` uniform on ``{-1, +1}`` from ``sqrt(snr) X + N``: ``1 - E tanh(snr + sqrt(snr) N)``."""
    return 1 - sp.Integral(_std_normal_pdf(_Y) * sp.tanh(snr + sp.sqrt(snr) * _Y), (_Y, -sp.oo, sp.oo))


# ---------------------------------------------------------------------------- derivations
_LAM, _SNR, _A, _SG = S.eigval, S.snr, S.alpha, S.sigma
_NORMALS = (S.n_x, S.n_u, S.n_v)


def _source_and_channel():
    """``X = sqrt(lam) N_x`` and ``Z = alpha X + sigma N_u`` in the moment variables."""
    x = sp.sqrt(_LAM) * S.n_x
    return x, _A * x + _SG * S.n_u


def _to_snr(expr):
    """Substitute ``alpha = sigma sqrt(snr)`` (the definition ``snr = alpha^2 / sigma^2``)."""
    return sp.sympify(expr).subs(_A, _SG * sp.sqrt(_SNR))


def _mse(estimate):
    """``E[(X - estimate)^2]`` by Gaussian moment algebra (estimate in the moment variables)."""
    x, _ = _source_and_channel()
    return expect_normals((x - estimate) ** 2, _NORMALS)


def _derived_rate_nats():
    """``I(X; Z) = E[ln q(Z|X) - ln p(Z)]`` from the Gaussian densities, by moments (in alpha, sigma)."""
    x, z = _source_and_channel()
    var_z = _A**2 * _LAM + _SG**2
    log_q = -sp.log(2 * sp.pi * _SG**2) / 2 - (z - _A * x) ** 2 / (2 * _SG**2)
    log_p = -sp.log(2 * sp.pi * var_z) / 2 - z**2 / (2 * var_z)
    return expect_normals(log_q - log_p, _NORMALS)


def _derived_posterior():
    """Posterior ``(gain, variance)`` of ``X | Z = z`` by completing the square in ``ln p(x) + ln p(z | x)``."""
    xs, zs = sp.Symbol("x", real=True), sp.Symbol("z", real=True)
    log_joint = sp.Poly(sp.expand(-(xs**2) / (2 * _LAM) - (zs - _A * xs) ** 2 / (2 * _SG**2)), xs)
    quadratic, linear = log_joint.coeff_monomial(xs**2), log_joint.coeff_monomial(xs)
    precision = -2 * quadratic
    return sp.simplify(linear / precision / zs), sp.simplify(1 / precision)


def _derived_mse_mmse():
    """MSE of the best linear estimator ``g Z``, ``g = E[XZ]/E[Z^2]`` (orthogonality), by moments."""
    x, z = _source_and_channel()
    g = expect_normals(x * z, _NORMALS) / expect_normals(z**2, _NORMALS)
    return _mse(g * z)


def _derived_mse_diffc_a():
    """MSE of a posterior sample ``g Z + sqrt(v) N_v`` (derived posterior), by moments."""
    gain, variance = _derived_posterior()
    _, z = _source_and_channel()
    return _mse(gain * z + sp.sqrt(variance) * S.n_v)


def _derived_mse_diffc_f(map_gain):
    """MSE of the deterministic map ``map_gain * Z``, by moments."""
    _, z = _source_and_channel()
    return _mse(map_gain * z)


def _derive_rate_gaussian(e, d: Derivation):
    """Derives I(X;Z) as the expected log-density ratio by moments and compares it with the claim."""
    x, z = _source_and_channel()
    d.define("source and channel", sp.Symbol("Z"), z)
    d.equal("variance of Z", expect_normals(z**2, _NORMALS), _A**2 * _LAM + _SG**2)
    rate = d.define("I(X;Z) = E[ln q(Z|X) - ln p(Z)] by moments", sp.Symbol("I"), _derived_rate_nats())
    d.equal("in terms of snr = alpha^2/sigma^2", _to_snr(rate), e["rate_nats"])


def _derive_gaussian_model_rate_any_source(e, d: Derivation):
    """E[ln q(Z|X) - ln p_G(Z)] for X of any law with E[X] = 0, E[X^2] = m_2: only m_2 enters; m_2 = lam gives I_G."""
    m2 = sp.Symbol("m_2", positive=True)
    var_z = _A**2 * _LAM + _SG**2  # the moment-matched Gaussian model p_G(z) = N(0, alpha^2 lam + sigma^2)
    second = d.define("E[Z^2], Z = alpha X + sigma U, U ~ N(0, 1) independent of X", sp.Symbol("E[Z^2]"),
                      _A**2 * m2 + _SG**2)
    log_q = d.define("E[ln q(Z|X)] = E[ln N(sigma U; 0, sigma^2)]", sp.Symbol("E[ln q]"),
                     expect_normals(-sp.log(2 * sp.pi * _SG**2) / 2 - S.n_u**2 / 2, _NORMALS))
    cross = d.define("E[-ln p_G(Z)]: a Gaussian log-density is quadratic, so only E[Z^2] enters",
                     sp.Symbol("E[-ln p_G]"), sp.log(2 * sp.pi * var_z) / 2 + second / (2 * var_z))
    d.equal("moment-matched (m_2 = lam): E[ln q(Z|X) - ln p_G(Z)] = 1/2 ln(1 + snr lam)",
            _to_snr((log_q + cross).subs(m2, _LAM)), e["rate_nats"])
    d.positive("any other m_2: the excess (m_2 - lam) alpha^2 / (2 var_z) has the sign of m_2 - lam",
               sp.simplify(((log_q + cross) - (log_q + cross).subs(m2, _LAM)) / (m2 - _LAM)))


def _derive_posterior_gaussian(e, d: Derivation):
    """Completes the square for the posterior and checks the orthogonality principle."""
    gain, variance = _derived_posterior()
    d.define("completing the square in ln p(x) + ln p(z|x): gain", sp.Symbol("g"), gain)
    d.equal("posterior mean gain", gain, e["posterior_mean_gain"])
    d.equal("posterior variance in terms of snr", _to_snr(variance), e["posterior_variance"])
    x, z = _source_and_channel()
    d.equal("orthogonality: E[(X - g Z) Z] = 0", expect_normals((x - e["posterior_mean_gain"] * z) * z, _NORMALS), 0)


def _derive_distortion_mmse(e, d: Derivation):
    """Derives the MMSE from the orthogonality principle and checks it equals the posterior variance."""
    mse = d.define("E[(X - g Z)^2], g = E[XZ]/E[Z^2]", sp.Symbol("D_MMSE"), _derived_mse_mmse())
    d.equal("MMSE in terms of snr", _to_snr(mse), e["mse_mmse"])
    _, variance = _derived_posterior()
    d.equal("MMSE = posterior variance (Gaussian)", _to_snr(mse), _to_snr(variance))


def _derive_distortion_diffc_a(e, d: Derivation):
    """Derives the MSE of a posterior sample by moments and checks the sample has the data's variance."""
    mse = d.define("E[(X - X_hat)^2], X_hat ~ p(x|z)", sp.Symbol("D_A"), _derived_mse_diffc_a())
    d.equal("DiffC-A MSE in terms of snr", _to_snr(mse), e["mse_diffc_a"])
    gain, variance = _derived_posterior()
    _, z = _source_and_channel()
    sample = gain * z + sp.sqrt(variance) * S.n_v
    d.equal("realism: E[X_hat^2] = lam", expect_normals(sample**2, _NORMALS), _LAM)


def _derive_distortion_diffc_f(e, d: Derivation):
    """Checks the flow map preserves the variance, its correlation rho, and its MSE by moments."""
    x, z = _source_and_channel()
    x_hat = e["flow_map_gain"] * z
    d.equal("realism: E[X_hat^2] = lam", expect_normals(x_hat**2, _NORMALS), _LAM)
    d.equal("rho = E[X X_hat] / lam", _to_snr(expect_normals(x * x_hat, _NORMALS) / _LAM), e["flow_gain"])
    mse = d.define("E[(X - g Z)^2]", sp.Symbol("D_F"), _derived_mse_diffc_f(e["flow_map_gain"]))
    d.equal("DiffC-F MSE in terms of snr", _to_snr(mse), e["mse_diffc_f"])


def _derive_diffc_a_is_twice_mmse(e, d: Derivation):
    """Checks E[(X - X_hat)^2 | Z] = 2 Var[X|Z] for any source, then the Gaussian ratio."""
    m, s = sp.Symbol("m", real=True), sp.Symbol("s", positive=True)
    general = expect_normals((m + s * S.n_u - (m + s * S.n_v)) ** 2, _NORMALS)
    d.equal(
        "any source: X, X_hat i.i.d. given Z with conditional mean m, std s: E[(X - X_hat)^2 | Z] = 2 s^2",
        general / s**2,
        e["ratio"],
    )
    d.equal("Gaussian: D_A / D_MMSE", _to_snr(_derived_mse_diffc_a() / _derived_mse_mmse()), e["ratio"])


def _derive_ratio_a_over_f(e, d: Derivation):
    """Divides the derived D_A by the derived D_F and checks the form in rho."""
    ratio = _to_snr(_derived_mse_diffc_a() / _derived_mse_diffc_f(flow_map_gain()))
    d.equal("D_A / D_F from the derived MSEs", ratio, e["ratio"])
    rho = S.rho
    d.equal(
        "in terms of rho: 2 lam (1 - rho^2) / (2 lam (1 - rho))",
        2 * _LAM * (1 - rho**2) / (2 * _LAM * (1 - rho)),
        e["ratio"].subs(flow_gain(), rho),
    )


def _derive_distortion_ordering(e, d: Derivation):
    """Checks both ratios, that the bounds are their limits (sharp), and the strict inequalities."""
    mmse = _to_snr(_derived_mse_mmse())
    flow = _to_snr(_derived_mse_diffc_f(flow_map_gain()))
    ancestral = _to_snr(_derived_mse_diffc_a())
    d.equal("D_F / D_MMSE", flow / mmse, e["flow_over_mmse"])
    d.equal("D_A / D_F", ancestral / flow, e["ancestral_over_flow"])
    lower, upper = e["lower_bound"], e["upper_bound"]
    # snr lam = rho^2 / (1 - rho^2) and rho = 1/(1+u) map u in (0, oo) onto snr lam in (0, oo)
    on_rho = {_SNR: S.rho**2 / (1 - S.rho**2) / _LAM}
    # sharpness first: each bound is a limit of the ratio, so no tighter constant holds
    d.limit("D_F / D_MMSE -> upper bound as snr -> 0", e["flow_over_mmse"], _SNR, 0, upper)
    d.limit("D_F / D_MMSE -> lower bound as snr -> oo", e["flow_over_mmse"], _SNR, sp.oo, lower)
    d.limit("D_A / D_F -> lower bound as snr -> 0", e["ancestral_over_flow"], _SNR, 0, lower)
    d.limit("D_A / D_F -> upper bound as snr -> oo", e["ancestral_over_flow"], _SNR, sp.oo, upper)
    for name in ("flow_over_mmse", "ancestral_over_flow"):
        ratio = d.define(f"{name} in terms of rho", None, sp.simplify(e[name].subs(on_rho)))
        in_u = sp.simplify(ratio.subs(S.rho, 1 / (1 + S.u)))
        d.positive(f"{name} > lower bound", in_u - lower)
        d.positive(f"{name} < upper bound", upper - in_u)


def _derive_mmse_attains_rd(e, d: Derivation):
    """Solves the backward-channel rate for D and compares the MMSE and D_A with D_rd at R = I(X;Z)."""
    dist = sp.Symbol("D", positive=True)
    backward = d.define(
        "backward channel X = X_hat + N(0, D): rate 1/2 ln(lam/D)", sp.Symbol("R(D)"), sp.log(_LAM / dist) / 2
    )
    solved = sp.solve(sp.Eq(backward, S.rate_nats), dist)
    d.equal("solve R(D) = R for D", solved[0] if len(solved) == 1 else sp.nan, e["mse_rd"])
    d.equal(
        "MMSE at snr equals D_rd at the rate I(X;Z)",
        _to_snr(_derived_mse_mmse()),
        e["mse_rd"].subs(S.rate_nats, _to_snr(_derived_rate_nats())),
    )
    d.equal(
        "DiffC-A at snr is 2 D_rd(I(X;Z)) (3.01 dB above the RD function at every rate)",
        _to_snr(_derived_mse_diffc_a()),
        2 * e["mse_rd"].subs(S.rate_nats, _to_snr(_derived_rate_nats())),
    )


def _derive_rdp_scalar(e, d: Derivation):
    """Optimises the correlation of a Gaussian coupling with matched marginals under I <= R."""
    corr = sp.Symbol("c", positive=True)
    ranges = {corr: (0, 1)}
    x = sp.sqrt(_LAM) * S.n_x
    x_hat = corr * x + sp.sqrt(1 - corr**2) * sp.sqrt(_LAM) * S.n_v
    d.define("Gaussian coupling with X_hat ~ N(0, lam), correlation c", sp.Symbol("X_hat"), x_hat)
    d.equal("E[X_hat^2] = lam", expect_normals(x_hat**2, _NORMALS), _LAM, ranges=ranges)
    dist = expect_normals((x - x_hat) ** 2, _NORMALS)
    d.equal("D(c) = 2 lam (1 - c)", dist, 2 * _LAM * (1 - corr), ranges=ranges)
    # X_hat = c X + sqrt(1-c^2) sqrt(lam) N: the Gaussian channel with alpha = c, sigma = sqrt((1-c^2) lam)
    rate_c = _derived_rate_nats().subs({_A: corr, _SG: sp.sqrt((1 - corr**2) * _LAM)})
    d.equal("I(X; X_hat) = -1/2 ln(1 - c^2)", rate_c, -sp.log(1 - corr**2) / 2, ranges=ranges)
    d.positive("D decreases in c: -dD/dc > 0", -sp.diff(dist, corr), ranges=ranges)
    best = sp.sqrt(1 - sp.exp(-2 * S.rate_nats))
    d.equal("the largest feasible c solves I = R", (-sp.log(1 - corr**2) / 2).subs(corr, best), S.rate_nats)
    d.equal("D at c* = sqrt(1 - exp(-2R))", dist.subs(corr, best), e["mse_rdp"])


def _derive_diffc_f_on_rdp_scalar(e, d: Derivation):
    """Checks the snr spends the rate, D_F equals D_rdp there, and D_A lies strictly above."""
    d.equal("the snr spends the rate: I(snr(R)) = R", rate_nats(_LAM, e["snr_for_rate_nats"]), S.rate_nats)
    flow = _to_snr(_derived_mse_diffc_f(flow_map_gain()))
    d.equal("D_F at snr(R) equals D_rdp(R)", flow.subs(_SNR, e["snr_for_rate_nats"]), e["mse_rdp"])
    d.equal("D_F at snr equals D_rdp(I(X;Z))", flow, e["mse_rdp"].subs(S.rate_nats, rate_nats()))
    ancestral = _to_snr(_derived_mse_diffc_a()).subs(_SNR, e["snr_for_rate_nats"])
    # R = -1/2 ln(1 - rho^2) with rho = 1/(1+u) covers R in (0, oo)
    gap = sp.simplify((ancestral - e["mse_rdp"]).subs(S.rate_nats, -sp.log(1 - S.rho**2) / 2))
    d.positive(
        "DiffC-A lies strictly above it: D_A - D_rdp > 0 (R = -1/2 ln(1 - rho^2), rho = 1/(1+u))",
        sp.simplify(gap.subs(S.rho, 1 / (1 + S.u))),
    )


def _derive_i_mmse(e, d: Derivation):
    """Checks the claimed rate and MMSE against the derived ones and differentiates the rate."""
    rate = _to_snr(_derived_rate_nats())
    mmse = _to_snr(_derived_mse_mmse())
    d.equal("claimed I(snr) equals the derived rate", e["rate_nats"], rate)
    d.equal("claimed mmse(snr) equals the derived MMSE", e["mse_mmse"], mmse)
    d.equal("d I / d snr = mmse / 2", sp.diff(e["rate_nats"], _SNR), e["mse_mmse"] / 2)


def _channel_given_x():
    """``Z = alpha x + sigma N_u`` for a fixed component value ``x``: only the channel noise is random."""
    return _A * S.x_value + _SG * S.n_u


def _mse_given_x(estimate):
    """``E[(estimate - x)^2 | X = x]`` by moments over the channel and decoder noise ``N_u``, ``N_v``."""
    return expect_normals((estimate - S.x_value) ** 2, (S.n_u, S.n_v))


def _average_over_source(expr):
    """Mean of ``expr`` (polynomial in ``x``) over ``x ~ N(0, lam)``: ``x = sqrt(lam) N_x``, by moments."""
    return expect_normals(sp.sympify(expr).subs(S.x_value, sp.sqrt(_LAM) * S.n_x), (S.n_x,))


def _derive_conditional_mse_linear_decoder(e, d: Derivation):
    """Derives each decoder's squared error given x by moments over the channel noise, and averages it over x."""
    k = S.gain
    z = d.define("channel given X = x: Z = alpha x + sigma N_u", sp.Symbol("Z"), _channel_given_x())
    _, z_joint = _source_and_channel()
    d.equal("E[(k Z/alpha - x)^2 | x] by moments, in snr", _to_snr(_mse_given_x(k * z / _A)), e["mse_linear_given_x"])
    averaged = _average_over_source(e["mse_linear_given_x"])
    d.equal(
        "averaged over x ~ N(0, lam): E[(X - k Z/alpha)^2] by joint moments", averaged, _to_snr(_mse(k * z_joint / _A))
    )
    d.equal("averaged over x: the population form (1 - k)^2 lam + k^2/snr", averaged, mse_linear_decoder())
    # the posterior mean, from completing the square (claim posterior_gaussian), is k = rho^2
    gain, variance = _derived_posterior()
    d.equal("posterior mean as a linear decoder: k = alpha g = rho^2", _to_snr(_A * gain), flow_gain() ** 2)
    d.equal("E[(E[X|Z] - x)^2 | x] by moments", _to_snr(_mse_given_x(gain * z)), e["mse_mmse_given_x"])
    d.equal("k = rho^2 in the linear form", e["mse_linear_given_x"].subs(k, flow_gain() ** 2), e["mse_mmse_given_x"])
    d.equal("averaged over x: the MMSE lam/(1 + snr lam)", _average_over_source(e["mse_mmse_given_x"]), mse_mmse())
    # the DiffC-F map sqrt(lam/(alpha^2 lam + sigma^2)) z (claim distortion_diffc_f) is k = rho
    d.equal("DiffC-F map as a linear decoder: k = rho", _to_snr(_A * flow_map_gain()), flow_gain())
    d.equal("E[(g_F Z - x)^2 | x] by moments", _to_snr(_mse_given_x(flow_map_gain() * z)), e["mse_diffc_f_given_x"])
    d.equal("k = rho in the linear form", e["mse_linear_given_x"].subs(k, flow_gain()), e["mse_diffc_f_given_x"])
    d.equal("averaged over x: D_F = 2 lam (1 - rho)", _average_over_source(e["mse_diffc_f_given_x"]), mse_diffc_f())
    # DiffC-A: the posterior mean plus independent noise N(0, Var[X|Z])
    sample = gain * z + sp.sqrt(variance) * S.n_v
    d.equal(
        "E[(X_hat - x)^2 | x], X_hat = E[X|Z] + sqrt(Var[X|Z]) N_v, by moments",
        _to_snr(_mse_given_x(sample)),
        e["mse_diffc_a_given_x"],
    )
    d.equal(
        "DiffC-A given x = posterior mean given x + lam/(1 + snr lam)",
        e["mse_diffc_a_given_x"] - e["mse_mmse_given_x"],
        posterior_variance(),
    )
    d.equal("averaged over x: D_A = 2 lam/(1 + snr lam)", _average_over_source(e["mse_diffc_a_given_x"]), mse_diffc_a())


def _derive_conditional_chain_kl(e, d: Derivation):
    """Derives the Gaussian KL from the densities by moments, puts in q(z|x) and p(z), and averages it over x."""
    m_q, m_p = sp.symbols("m_q m_p", real=True)
    v_q, v_p = sp.symbols("v_q v_p", positive=True)

    def log_density(z, mean, variance):
        return -sp.log(2 * sp.pi * variance) / 2 - (z - mean) ** 2 / (2 * variance)

    z = m_q + sp.sqrt(v_q) * S.n_u
    kl = d.define(
        "KL(N(m_q, v_q) || N(m_p, v_p)) = E_q[ln q(Z) - ln p(Z)], Z = m_q + sqrt(v_q) N_u, by moments",
        sp.Symbol("KL"),
        expect_normals(log_density(z, m_q, v_q) - log_density(z, m_p, v_p), (S.n_u,)),
    )
    d.equal(
        "the Gaussian KL formula 1/2 [ln(v_p/v_q) + (v_q + (m_q - m_p)^2)/v_p - 1]",
        kl,
        (sp.log(v_p / v_q) + (v_q + (m_q - m_p) ** 2) / v_p - 1) / 2,
    )
    final = {m_q: _A * S.x_value, v_q: _SG**2, m_p: 0, v_p: _A**2 * _LAM + _SG**2}
    kl_final = d.define(
        "q(z|x) = N(alpha x, sigma^2) against the model marginal p(z) = N(0, alpha^2 lam + sigma^2)",
        sp.Symbol("KL_x"),
        kl.subs(final),
    )
    d.equal("in terms of snr = alpha^2/sigma^2", _to_snr(kl_final), e["chain_kl_given_x"])
    vp = {_A: sp.sqrt(_SNR / (1 + _SNR)), _SG: 1 / sp.sqrt(1 + _SNR)}
    d.equal("VP schedule (alpha^2 + sigma^2 = 1, alpha^2/sigma^2 = snr)", kl_final.subs(vp), e["chain_kl_given_x"])
    averaged = _average_over_source(e["chain_kl_given_x"])
    d.equal(
        "averaged over x ~ N(0, lam): I(X;Z) = E[ln q(Z|X) - ln p(Z)] by joint moments",
        averaged,
        _to_snr(_derived_rate_nats()),
    )
    d.equal("averaged over x: the rate 1/2 ln(1 + snr lam) of claim rate_gaussian", averaged, rate_nats())


_BINARY_SNRS = (sp.Rational(1, 4), sp.Integer(2))
_BINARY_DPS = 20


def _binary_output_pdf(y, snr=S.snr):
    """Density of ``Y = sqrt(snr) X + N`` for ``X`` uniform on ``{-1, +1}`` (sympy)."""
    return (_std_normal_pdf(y - sp.sqrt(snr)) + _std_normal_pdf(y + sp.sqrt(snr))) / 2


def _binary_direct(snr_value):
    """``(I, dI/dsnr, mmse)`` for ``X`` uniform on ``{-1, +1}`` by quadrature of the definitions.

    ``I = h(Y) - h(N)``; ``dI/dsnr = -int (dp/dsnr) ln p dy`` (differentiating
    ``h(Y)`` under the integral, ``int dp/dsnr dy = 0``); ``mmse = E[(X - tanh(sqrt(snr) Y))^2]``.
    """
    pdf = _binary_output_pdf(_Y)
    p = sp.lambdify(_Y, pdf.subs(S.snr, snr_value), "mpmath")
    dp = sp.lambdify(_Y, sp.diff(pdf, S.snr).subs(S.snr, snr_value), "mpmath")
    s = mpmath.sqrt(_to_mpmath(snr_value))
    points = [-mpmath.inf, -s, 0, s, mpmath.inf]
    h_y = mpmath.quad(lambda y: -p(y) * mpmath.log(p(y)), points)
    slope = mpmath.quad(lambda y: -dp(y) * mpmath.log(p(y)), points)
    h_n = mpmath.log(2 * mpmath.pi * mpmath.e) / 2
    # E[(X - E[X|Y])^2] with E[X|Y=y] = tanh(sqrt(snr) y); by symmetry condition on X = 1, Y = s + N
    mmse = mpmath.quad(lambda n: mpmath.npdf(n) * (1 - mpmath.tanh(s * (s + n))) ** 2, [-mpmath.inf, -s, 0, mpmath.inf])
    return h_y - h_n, slope, mmse


def _to_mpmath(value):
    """A sympy number (possibly infinite) as an mpmath number."""
    if value == sp.oo:
        return mpmath.inf
    if value == -sp.oo:
        return -mpmath.inf
    return mpmath.mpf(sp.N(value, _BINARY_DPS))


def _eval_integral_expr(expr, snr_value):
    """Value of a claimed expression with one ``Integral`` over ``y``, by mpmath quadrature."""
    expr = sp.sympify(expr).subs(S.snr, snr_value)
    integrals = list(expr.atoms(sp.Integral))
    values = {}
    for integral in integrals:
        (var, lo, hi), integrand = integral.limits[0], integral.function
        f = sp.lambdify(var, integrand, "mpmath")
        points = [_to_mpmath(lo), 0, _to_mpmath(hi)] if lo == -sp.oo else [_to_mpmath(lo), _to_mpmath(hi)]
        values[integral] = sp.Float(mpmath.quad(f, points), _BINARY_DPS)
    return sp.N(expr.xreplace(values), _BINARY_DPS)


def _derive_i_mmse_binary(e, d: Derivation):
    """Compares the binary-input closed forms with quadratures of the definitions and checks I-MMSE numerically."""
    with mpmath.workdps(_BINARY_DPS):
        direct = {v: _binary_direct(v) for v in _BINARY_SNRS}
    tolerance = mpmath.mpf(10) ** -(_BINARY_DPS - 8)

    def agree(pairs_fn):
        def check():
            with mpmath.workdps(_BINARY_DPS):
                worst = max(
                    abs(mpmath.mpf(a) - mpmath.mpf(b)) / abs(mpmath.mpf(b))
                    for v in _BINARY_SNRS
                    for a, b in pairs_fn(v)
                )
            note = f"quadrature at {_BINARY_DPS} digits, snr in {[str(v) for v in _BINARY_SNRS]}: worst relative error {mpmath.nstr(worst, 3)}"
            return worst < tolerance, note

        return check

    d.numeric(
        "I = h(Y) - h(N) by quadrature equals the closed form",
        agree(lambda v: [(direct[v][0], _eval_integral_expr(e["rate_nats"], v))]),
        lhs=sp.Symbol("I"),
        rhs=e["rate_nats"],
    )
    d.numeric(
        "mmse = E[(X - tanh(sqrt(snr) Y))^2] by quadrature equals the closed form",
        agree(lambda v: [(direct[v][2], _eval_integral_expr(e["mse_mmse"], v))]),
        lhs=sp.Symbol("mmse"),
        rhs=e["mse_mmse"],
    )
    d.numeric(
        "I-MMSE from the definitions: -int (dp/dsnr) ln p dy = mmse / 2",
        agree(lambda v: [(direct[v][1], direct[v][2] / 2)]),
        lhs=sp.Derivative(sp.Symbol("I"), S.snr),
        rhs=sp.Symbol("mmse") / 2,
    )
    d.numeric(
        "I-MMSE on the closed forms (derivative under the integral)",
        agree(
            lambda v: [
                (_eval_integral_expr(sp.diff(e["rate_nats"], S.snr), v), _eval_integral_expr(e["mse_mmse"], v) / 2)
            ]
        ),
        lhs=sp.Derivative(e["rate_nats"], S.snr),
        rhs=e["mse_mmse"] / 2,
    )


def _derive_dp_frontier(e, d: Derivation):
    """Derives the MSE and W2 of linear decoders, their optimum and realistic gains, the frontier and its monotonicity."""
    _, z = _source_and_channel()
    k = S.gain
    mse = _to_snr(_mse(k * z / _A))
    d.equal("E[(X - k Z/alpha)^2]", mse, e["mse_linear"])
    stationary = sp.solve(sp.diff(mse, k), k)
    d.equal("argmin over k (MMSE decoder)", stationary[0] if len(stationary) == 1 else sp.nan, e["gain_mmse"])
    d.positive("d^2 D / dk^2 > 0", sp.diff(mse, k, 2))
    variance = _to_snr(expect_normals((k * z / _A) ** 2, _NORMALS))
    realistic = [r for r in sp.solve(sp.Eq(variance, _LAM), k) if r.is_positive]
    d.equal("E[X_hat^2] = lam gives the flow gain", realistic[0] if len(realistic) == 1 else sp.nan, e["gain_flow"])
    d.equal("D at the MMSE gain is the MMSE", mse.subs(k, e["gain_mmse"]), _to_snr(_derived_mse_mmse()))
    d.equal("D at the flow gain is D_F", mse.subs(k, e["gain_flow"]), _to_snr(_derived_mse_diffc_f(flow_map_gain())))
    c_gain = e["score_scaled_gain"]
    d.equal("score scale c = 1 gives the flow gain", c_gain.subs(S.score_scale, 1), e["gain_flow"])
    d.equal("score scale c = 2 gives the MMSE gain", c_gain.subs(S.score_scale, 2), e["gain_mmse"])
    std_hat = sp.sqrt(variance)
    d.equal(
        "W2(N(0,lam), N(0,s^2)) = sqrt(lam) - s for s <= sqrt(lam)", sp.sqrt(_LAM) - std_hat, e["perception_linear"]
    )
    d.equal("W2^2 = (sqrt(lam) - s)^2 for any k > 0", (sp.sqrt(_LAM) - std_hat) ** 2, e["w2_sq_linear"])
    star = e["perception_linear"].subs(k, e["gain_mmse"])
    d.equal(
        "every linear decoder lies on the frontier D* + (P* - P)^2",
        e["mse_dp_frontier"].subs(S.perception, e["perception_linear"]),
        mse,
    )
    d.equal(
        "P* is the perception index of the MMSE decoder",
        e["mse_dp_frontier"].subs(S.perception, star),
        _to_snr(_derived_mse_mmse()),
    )
    # on the segment k = rho^2 + (rho - rho^2) s with s = 1/(1+v) in (0, 1) and rho = 1/(1+u): D increases, P decreases
    v = sp.Symbol("v", positive=True)
    s = 1 / (1 + v)
    to_rho = {_SNR: S.rho**2 / (1 - S.rho**2) / _LAM}
    on_segment = {k: S.rho**2 + (S.rho - S.rho**2) * s}
    for label, expr in (("dD/dk > 0", sp.diff(mse, k)), ("-dP/dk > 0", -sp.diff(e["perception_linear"], k))):
        on_rho = sp.simplify(expr.subs(to_rho).subs(on_segment))
        d.positive(f"on the segment rho^2 < k < rho: {label}", sp.simplify(on_rho.subs(S.rho, 1 / (1 + S.u))))
    # for c = 1 + s and rho = 1/(1+u): ln rho^c - ln rho^2 = (1 - s) ln(1+u) > 0, ln rho - ln rho^c = s ln(1+u) > 0
    log_rho = -sp.log(1 + S.u)
    c_gain_on_u = sp.simplify(c_gain.subs(to_rho).subs(S.rho, 1 / (1 + S.u)).subs(S.score_scale, 1 + s))
    log_c_gain = sp.expand_log(sp.log(c_gain_on_u), force=True)
    d.positive("1 < c < 2: ln rho^c - ln rho^2 > 0", sp.factor(log_c_gain - 2 * log_rho))
    d.positive("1 < c < 2: ln rho - ln rho^c > 0", sp.factor(log_rho - log_c_gain))


# ---------------------------------------------------------------------------- the claims
_RHO_TEXT = "rho = sqrt(snr lam / (1 + snr lam))"
_SCALAR_DOMAIN = "lam > 0, snr > 0 (alpha, sigma > 0)"

CLAIMS = check_unique_ids(
    [
        Claim(
            id="rate_gaussian",
            kind="identity",
            statement="I(X;Z) = 1/2 ln(1 + snr lam) nats for X ~ N(0, lam), Z = alpha X + sigma U",
            domain=_SCALAR_DOMAIN,
            source=(
                "Cover & Thomas, Elements of Information Theory, 2nd ed., Sec. 9.1 "
                "(Gaussian channel); derived here from the densities"
            ),
            expressions={"rate_nats": rate_nats()},
            derive=_derive_rate_gaussian,
        ),
        Claim(
            id="gaussian_model_rate_any_source",
            kind="identity",
            statement=(
                "For X of any law with E[X] = 0, E[X^2] = lam and the moment-matched Gaussian model "
                "p_G(z) = N(0, alpha^2 lam + sigma^2): E[ln q(Z|X) - ln p_G(Z)] = 1/2 ln(1 + snr lam). "
                "Vector chains: the DiffC chain KL under the exact Gaussian oracle telescopes to "
                "ln q(z_1..z_s | x) - ln p_G(z_1..z_s), whose mean depends on the data only through its "
                "first two moments, so E[sum KL] = I_G(X; Z_s) for any data the oracle is fitted to"
            ),
            domain=_SCALAR_DOMAIN + "; m_2 = E[X^2] > 0 for the excess",
            source=(
                "derived here (cross-entropy of a Gaussian density under a law with the same second moment); "
                "the chain and vector steps by the same argument (Markov telescoping, z linear in x), not "
                "derived symbolically"
            ),
            expressions={"rate_nats": rate_nats()},
            derive=_derive_gaussian_model_rate_any_source,
        ),
        Claim(
            id="posterior_gaussian",
            kind="identity",
            statement="X | Z = z ~ N(alpha lam z / (alpha^2 lam + sigma^2), lam / (1 + snr lam))",
            domain=_SCALAR_DOMAIN,
            source="derived here (completing the square); standard Gaussian conditioning",
            expressions={"posterior_mean_gain": posterior_mean_gain(), "posterior_variance": posterior_variance()},
            derive=_derive_posterior_gaussian,
        ),
        Claim(
            id="distortion_mmse",
            kind="identity",
            statement="E[(X - E[X|Z])^2] = lam / (1 + snr lam)",
            domain=_SCALAR_DOMAIN,
            source="derived here (orthogonality principle, Gaussian moments)",
            expressions={"mse_mmse": mse_mmse()},
            derive=_derive_distortion_mmse,
        ),
        Claim(
            id="distortion_diffc_a",
            kind="identity",
            statement="DiffC-A (X_hat ~ p(x|z)): E[(X - X_hat)^2] = 2 lam / (1 + snr lam), and X_hat ~ N(0, lam)",
            domain=_SCALAR_DOMAIN,
            source="Theis et al. 2022 (arXiv 2206.08889); derived here",
            expressions={"mse_diffc_a": mse_diffc_a()},
            derive=_derive_distortion_diffc_a,
        ),
        Claim(
            id="distortion_diffc_f",
            kind="identity",
            statement=(
                f"DiffC-F (x_hat = sqrt(lam/(alpha^2 lam + sigma^2)) z): X_hat ~ N(0, "
                f"lam), E[(X - X_hat)^2] = 2 lam (1 - rho), {_RHO_TEXT}"
            ),
            domain=_SCALAR_DOMAIN,
            source="Theis et al. 2022 (arXiv 2206.08889); derived here",
            expressions={"flow_map_gain": flow_map_gain(), "flow_gain": flow_gain(), "mse_diffc_f": mse_diffc_f()},
            derive=_derive_distortion_diffc_f,
        ),
        Claim(
            id="diffc_a_is_twice_mmse",
            kind="identity",
            statement=(
                "D_A = 2 D_MMSE: for any source E[(X - X_hat)^2 | Z] = 2 Var[X | Z] when "
                "X_hat ~ p(x|z); checked in closed form for the Gaussian"
            ),
            domain="any source with finite variance (general step); Gaussian: " + _SCALAR_DOMAIN,
            source="Theis et al. 2022 (arXiv 2206.08889); cf. Blau & Michaeli 2018 (CVPR); derived here",
            expressions={"ratio": sp.Integer(2)},
            derive=_derive_diffc_a_is_twice_mmse,
        ),
        Claim(
            id="ratio_a_over_f",
            kind="identity",
            statement=f"D_A / D_F = 1 + rho exactly, {_RHO_TEXT}",
            domain=_SCALAR_DOMAIN,
            source="derived here",
            expressions={"ratio": ratio_ancestral_over_flow()},
            derive=_derive_ratio_a_over_f,
        ),
        Claim(
            id="distortion_ordering",
            kind="inequality",
            statement=(
                "D_MMSE < D_F < D_A with 1 < D_F/D_MMSE = 2/(1+rho) < 2 and 1 "
                "< D_A/D_F = 1+rho < 2; all four bounds sharp"
            ),
            domain=_SCALAR_DOMAIN,
            source="derived here",
            expressions={
                "flow_over_mmse": 2 / (1 + flow_gain()),
                "ancestral_over_flow": 1 + flow_gain(),
                "lower_bound": sp.Integer(1),
                "upper_bound": sp.Integer(2),
            },
            derive=_derive_distortion_ordering,
        ),
        Claim(
            id="mmse_attains_rd",
            kind="identity",
            statement="D_rd(R) = lam exp(-2R); the MMSE at snr equals D_rd(I(X;Z)) and D_A = 2 D_rd(I(X;Z))",
            domain=_SCALAR_DOMAIN + ", R > 0",
            source="Cover & Thomas, 2nd ed., Thm 10.3.2 (Gaussian RD function); the rest derived here",
            expressions={"mse_rd": mse_rd()},
            derive=_derive_mmse_attains_rd,
        ),
        Claim(
            id="rdp_scalar",
            kind="identity",
            statement=(
                "perfect-realism rate-distortion (common randomness) of N(0, "
                "lam): D(R) = 2 lam (1 - sqrt(1 - exp(-2R)))"
            ),
            domain="lam > 0, R > 0 nats",
            source=(
                "Blau & Michaeli 2019 (ICML), Gaussian source at perception 0; Zhang et al. 2021 (NeurIPS); "
                "the optimality of Gaussian couplings is cited, the optimum over them derived here"
            ),
            expressions={"mse_rdp": mse_rdp()},
            derive=_derive_rdp_scalar,
        ),
        Claim(
            id="diffc_f_on_rdp_scalar",
            kind="identity",
            statement=(
                "DiffC-F attains the scalar perfect-realism RD function: D_F(snr(R)) = "
                "D_rdp(R), snr(R) = (exp(2R) - 1)/lam; DiffC-A lies strictly above"
            ),
            domain="lam > 0, R > 0 nats",
            source="Theis et al. 2022 (arXiv 2206.08889); derived here",
            expressions={"mse_rdp": mse_rdp(), "snr_for_rate_nats": snr_for_rate_nats()},
            derive=_derive_diffc_f_on_rdp_scalar,
        ),
        Claim(
            id="i_mmse",
            kind="identity",
            statement=(
                "d/dsnr I(X; sqrt(snr) X + N) = mmse(snr)/2 for every input with finite variance; "
                "here proved for X ~ N(0, lam): d/dsnr 1/2 ln(1 + snr lam) = lam / (2 (1 + snr lam))"
            ),
            domain=_SCALAR_DOMAIN,
            source="Guo, Shamai & Verdu 2005, IEEE Trans. Inf. Theory 51(4):1261-1282, Thm 1 (general statement)",
            expressions={"rate_nats": rate_nats(), "mse_mmse": mse_mmse()},
            derive=_derive_i_mmse,
        ),
        Claim(
            id="i_mmse_binary",
            kind="identity",
            statement=(
                "binary input X = +-1: I = snr - E ln cosh(snr + sqrt(snr) N), mmse = "
                "1 - E tanh(snr + sqrt(snr) N), and dI/dsnr = mmse/2"
            ),
            domain="snr in {1/4, 2} (numeric check)",
            source="Guo, Shamai & Verdu 2005, IEEE Trans. Inf. Theory 51(4):1261-1282 (binary-input example)",
            expressions={"rate_nats": rate_nats_binary(), "mse_mmse": mse_mmse_binary()},
            derive=_derive_i_mmse_binary,
        ),
        Claim(
            id="dp_frontier",
            kind="identity",
            statement=(
                "linear decoders x_hat = k z/alpha, k in [rho^2, rho], trace the distortion-perception (W2) frontier "
                "D = D* + (P* - P)^2 from the MMSE (k = rho^2) to perfect realism (k = rho); the score-scaled flow gives k = rho^c, c in [1, 2]"
            ),
            domain=_SCALAR_DOMAIN + ", rho^2 <= k <= rho, 1 <= c <= 2",
            source=(
                "Freirich, Michaeli & Meir 2021 (NeurIPS), the frontier D* + "
                "((P* - P)_+)^2; derived here for the Gaussian"
            ),
            expressions={
                "mse_linear": mse_linear_decoder(),
                "gain_mmse": flow_gain() ** 2,
                "gain_flow": flow_gain(),
                "perception_linear": perception_linear_decoder(),
                "w2_sq_linear": w2_sq_linear_decoder(),
                "mse_dp_frontier": mse_dp_frontier(),
                "score_scaled_gain": score_scaled_flow_gain(),
            },
            derive=_derive_dp_frontier,
        ),
        Claim(
            id="conditional_mse_linear_decoder",
            kind="identity",
            statement=(
                "given X = x (mean over the channel noise, z/alpha = x + eps/sqrt(snr)): E[(k z/alpha - x)^2 | x] = "
                "(1 - k)^2 x^2 + k^2/snr; posterior mean (k = rho^2): (1 - rho^2)^2 x^2 + rho^4/snr; "
                "DiffC-F (k = rho): (1 - rho)^2 x^2 + rho^2/snr; "
                "DiffC-A (posterior mean plus independent N(0, lam/(1 + snr lam))): "
                "(1 - rho^2)^2 x^2 + rho^4/snr + lam/(1 + snr lam); "
                f"averaged over x ~ N(0, lam) they are the population MSEs, {_RHO_TEXT}"
            ),
            domain="x real, k > 0, " + _SCALAR_DOMAIN + "; any schedule (VP included): only snr enters",
            source=(
                "derived here (Gaussian moment algebra over the channel noise); "
                "DESIGN.md, one image, one Gaussian model"
            ),
            expressions={
                "mse_linear_given_x": mse_linear_decoder_given_x(),
                "mse_mmse_given_x": mse_mmse_given_x(),
                "mse_diffc_f_given_x": mse_diffc_f_given_x(),
                "mse_diffc_a_given_x": mse_diffc_a_given_x(),
            },
            derive=_derive_conditional_mse_linear_decoder,
        ),
        Claim(
            id="conditional_chain_kl",
            kind="identity",
            statement=(
                "given X = x: KL(N(alpha x, sigma^2) || N(0, alpha^2 lam + sigma^2)) = 1/2 [ln(1 + snr lam) + "
                "(1 + snr x^2)/(1 + snr lam) - 1] nats, with mean 1/2 ln(1 + snr lam) = I(X;Z) over x ~ N(0, lam); "
                "it is the chain's expected sum KL given x with exact reverse steps (telescoping argued, not derived)"
            ),
            domain="x real, " + _SCALAR_DOMAIN + "; VP (alpha^2 + sigma^2 = 1) or any schedule: only snr enters",
            source=(
                "derived here (Gaussian KL from the densities by moments, in snr); the telescoping of the chain's "
                "expected sum KL to KL(q(z_S|x) || p(z_S)) is argued, not derived: with exact reverse steps the "
                "p chain shares q's kernels between the final latent z_S and the noisier latents, q(z_T..z_S|x) = "
                "q(z_S|x) q(z_T..z_S+1|z_S) and p(z_T..z_S) = p(z_S) q(z_T..z_S+1|z_S), so the chain rule leaves "
                "the final KL"
            ),
            expressions={"chain_kl_given_x": chain_kl_nats_given_x()},
            derive=_derive_conditional_chain_kl,
        ),
    ]
)
