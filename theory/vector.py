"""Vector Gaussian source ``N(0, diag(eigvals))``: reverse water-filling and the perfect-realism allocation.

Rates are in nats (totals over components). The per-component closed forms
come from :mod:`theory.scalar`. Two allocation problems:

* MSE rate-distortion: reverse water-filling, ``D_i = min(theta, lam_i)``,
  ``R_i = max(0, 1/2 ln(lam_i / theta))`` (Cover & Thomas, Thm 10.3.3).
* Perfect realism: minimise ``sum_i 2 lam_i (1 - sqrt(1 - exp(-2 R_i)))``
  subject to ``sum_i R_i = R``. The objective is separable and strictly convex;
  stationarity ``2 lam_i w_i / sqrt(1 - w_i) = mu`` (``w_i = exp(-2 R_i)``) has
  one solution per component, every component gets positive rate, and DiffC-F
  with ``snr_i = (sqrt(c_i^2 + 4) - c_i) / (2 c_i lam_i)``, ``c_i = mu / (2 lam_i)``,
  attains the optimum.
"""

from __future__ import annotations

from typing import Sequence

import mpmath
import sympy as sp

from theory import symbols as S
from theory.claims import Claim, Derivation, check_unique_ids
from theory.scalar import mse_diffc_f, mse_rdp, rate_nats

__all__ = [
    "rate_nats_total",
    "mse_rd_component",
    "rate_rd_component",
    "water_level_exact",
    "rdp_multiplier",
    "rdp_rate_for_multiplier",
    "rdp_snr_for_multiplier",
    "rdp_multiplier_isotropic",
    "rdp_log_snr_slope",
    "snr_for_rate_total",
    "rdp_allocation",
    "CLAIMS",
]

_LAM, _SNR, _R, _THETA, _MU = S.eigval, S.snr, S.rate_nats, S.water_level, S.multiplier


# ---------------------------------------------------------------------------- closed forms
def rate_nats_total(eigvals: Sequence, snr=S.snr):
    """Total rate ``sum_i 1/2 ln(1 + snr lam_i)`` in nats of isotropic noise at ``snr``."""
    return sp.Add(*[rate_nats(lam, snr) for lam in eigvals])


def mse_rd_component(eigval=S.eigval, water_level=S.water_level):
    """Reverse water-filling distortion ``min(theta, lam)`` of one component."""
    return sp.Min(water_level, eigval)


def rate_rd_component(eigval=S.eigval, water_level=S.water_level):
    """Reverse water-filling rate ``max(0, 1/2 ln(lam / theta))`` in nats of one component."""
    return sp.Max(0, sp.log(eigval / water_level) / 2)


def _check_spectrum(eigvals) -> list:
    """The eigenvalues as sympy numbers, after checking that they are positive."""
    values = [sp.nsimplify(v) if isinstance(v, float) else sp.sympify(v) for v in eigvals]
    if not values:
        raise ValueError("eigvals must hold at least one eigenvalue")
    if any(not (v.is_number and v.is_positive) for v in values):
        raise ValueError(f"eigvals must be positive numbers: got {list(eigvals)}")
    return values


def water_level_exact(eigvals: Sequence, rate_nats_total) -> sp.Expr:
    """Exact water level ``theta`` at which reverse water-filling spends ``rate_nats_total`` nats.

    Parameters
    ----------
    eigvals : sequence of numbers
        Positive eigenvalues (Rationals stay exact).
    rate_nats_total : number
        Total rate in nats, ``>= 0``.

    Returns
    -------
    sympy.Expr
        ``theta = (prod_{i<=k} lam_(i))^(1/k) exp(-2R/k)`` over the ``k`` largest
        eigenvalues, where ``k`` is the number of components above the water level.

    Examples
    --------
    >>> import sympy as sp
    >>> water_level_exact([4, 1, sp.Rational(1, 4)], 2 * sp.log(2))
    1/2
    """
    values = sorted(_check_spectrum(eigvals), reverse=True)
    rate = sp.sympify(rate_nats_total)
    if not (rate.is_number and rate.is_nonnegative):
        raise ValueError(f"rate_nats_total must be a number >= 0: got {rate_nats_total}")
    for k in range(1, len(values) + 1):
        theta = sp.simplify(sp.Mul(*values[:k]) ** sp.Rational(1, k) * sp.exp(-2 * rate / k))
        below = values[k] if k < len(values) else sp.Integer(0)
        # decide the order at 50 digits (exact transcendental comparisons may not be decidable)
        if sp.N(theta - values[k - 1], 50) <= 0 and sp.N(theta - below, 50) >= 0:
            return theta
    raise ValueError(f"no water level found for eigvals={list(eigvals)}, rate_nats_total={rate_nats_total}")


def rdp_multiplier(eigval=S.eigval, rate_nats=S.rate_nats):
    """Marginal distortion reduction ``-dD_rdp/dR = 2 lam w / sqrt(1 - w)``, ``w = exp(-2R)``."""
    w = sp.exp(-2 * rate_nats)
    return 2 * eigval * w / sp.sqrt(1 - w)


def _w_for_multiplier(eigval, multiplier):
    """``w = exp(-2R)`` solving ``2 lam w / sqrt(1 - w) = mu``: ``c (sqrt(c^2 + 4) - c) / 2`` with ``c = mu / (2 lam)``."""
    c = multiplier / (2 * eigval)
    return c * (sp.sqrt(c**2 + 4) - c) / 2


def rdp_rate_for_multiplier(eigval=S.eigval, multiplier=S.multiplier):
    """Rate ``R(mu) = -1/2 ln w(mu)`` in nats that one component gets at multiplier ``mu``."""
    return -sp.log(_w_for_multiplier(eigval, multiplier)) / 2


def rdp_snr_for_multiplier(eigval=S.eigval, multiplier=S.multiplier):
    """Per-component SNR ``(sqrt(c^2 + 4) - c) / (2 c lam)``, ``c = mu / (2 lam)``, at which DiffC-F spends ``R(mu)``."""
    c = multiplier / (2 * eigval)
    return (sp.sqrt(c**2 + 4) - c) / (2 * c * eigval)


def rdp_multiplier_isotropic(eigval=S.eigval, snr=S.snr):
    """Multiplier ``2 sqrt(lam) / sqrt(snr (1 + snr lam))`` of a component under isotropic noise at ``snr``."""
    return 2 * sp.sqrt(eigval) / sp.sqrt(snr * (1 + snr * eigval))


def rdp_log_snr_slope(eigval=S.eigval, multiplier=S.multiplier):
    """``-d ln snr_i / d ln mu = 1 + 1/sqrt(1 + 16 lam^2 / mu^2)`` along the perfect-realism path (in (1, 2))."""
    return 1 + 1 / sp.sqrt(1 + 16 * eigval**2 / multiplier**2)


def _solve_increasing(fn, target, dps: int):
    """``t`` with ``fn(t) = target`` for ``fn`` strictly increasing in ``t`` on the reals (bisection to ``dps`` digits)."""
    lo, hi = mpmath.mpf(-10), mpmath.mpf(10)
    while fn(lo) > target:
        lo -= 10
    while fn(hi) < target:
        hi += 10
    for _ in range(4 * dps + 40):  # each step halves the bracket: far below 10**-dps relative
        mid = (lo + hi) / 2
        if fn(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _spectrum_and_rate(eigvals, rate_nats_total, dps):
    """Validated eigenvalues and positive total rate as mpmath numbers at ``dps`` digits."""
    values = _check_spectrum(eigvals)
    rate = sp.sympify(rate_nats_total)
    if not (rate.is_number and rate.is_positive):
        raise ValueError(f"rate_nats_total must be a number > 0: got {rate_nats_total}")
    return [mpmath.mpf(sp.N(v, dps)) for v in values], mpmath.mpf(sp.N(rate, dps))


def snr_for_rate_total(eigvals: Sequence, rate_nats_total, dps: int = 50):
    """Isotropic SNR (mpmath number) at which ``sum_i 1/2 ln(1 + snr lam_i)`` equals ``rate_nats_total``.

    Bisection on ``ln snr`` at ``dps`` digits; the total rate increases strictly in ``snr``.
    """
    rate_fn = sp.lambdify((_LAM, _SNR), rate_nats(), "mpmath")
    with mpmath.workdps(dps + 10):
        lams, target = _spectrum_and_rate(eigvals, rate_nats_total, dps + 10)
        log_snr = _solve_increasing(lambda t: mpmath.fsum(rate_fn(lam, mpmath.exp(t)) for lam in lams), target, dps)
        return mpmath.exp(log_snr)  # keeps its dps + 10 digit precision after the context exits


def rdp_allocation(eigvals: Sequence, rate_nats_total, dps: int = 50):
    """Perfect-realism allocation at ``dps`` digits: ``(multiplier, rates_nats, snrs)`` as mpmath numbers.

    Solves ``sum_i R_i(mu) = rate_nats_total`` by bisection on ``-ln mu``
    (``R_i(mu)`` decreases strictly from ``oo`` to ``0``, claim ``rdp_vector_kkt``),
    then evaluates :func:`rdp_rate_for_multiplier` and :func:`rdp_snr_for_multiplier`.

    Parameters
    ----------
    eigvals : sequence of numbers
        Positive eigenvalues.
    rate_nats_total : number
        Total rate in nats, ``> 0``.
    dps : int
        Working precision in decimal digits.

    Returns
    -------
    tuple
        ``(mu, [R_i], [snr_i])``.
    """
    rate_fn = sp.lambdify((_LAM, _MU), rdp_rate_for_multiplier(), "mpmath")
    snr_fn = sp.lambdify((_LAM, _MU), rdp_snr_for_multiplier(), "mpmath")
    with mpmath.workdps(dps + 10):
        lams, target = _spectrum_and_rate(eigvals, rate_nats_total, dps + 10)
        neg_log_mu = _solve_increasing(lambda t: mpmath.fsum(rate_fn(lam, mpmath.exp(-t)) for lam in lams), target, dps)
        mu = mpmath.exp(-neg_log_mu)
        rates = [rate_fn(lam, mu) for lam in lams]
        snrs = [snr_fn(lam, mu) for lam in lams]
        return mu, rates, snrs  # mpf values keep their dps + 10 digit precision after the context exits


# ---------------------------------------------------------------------------- derivations
def _derive_waterfilling(e, d: Derivation):
    """Minimises the per-component Lagrangian on both branches and solves an exact three-component instance."""
    dist = sp.Symbol("D", positive=True)
    v = sp.Symbol("v", positive=True)
    lagrangian = d.define(
        "per-component Lagrangian of min sum R_i(D_i) s.t. sum D_i = D: R(D) + D / (2 theta)",
        sp.Symbol("L"),
        sp.log(_LAM / dist) / 2 + dist / (2 * _THETA),
    )
    stationary = sp.solve(sp.diff(lagrangian, dist), dist)
    d.equal("dL/dD = 0 at D = theta", stationary[0] if len(stationary) == 1 else sp.nan, _THETA)
    d.positive("d^2 L / dD^2 > 0", sp.diff(lagrangian, dist, 2))
    # lam > theta: the interior minimiser theta is feasible (D <= lam)
    above = {_LAM: _THETA * (1 + S.u)}
    d.equal("lam > theta: D = theta", e["mse_component"].subs(above), _THETA)
    d.equal(
        "lam > theta: R = 1/2 ln(lam / theta)", e["rate_component"].subs(above), (sp.log(_LAM / _THETA) / 2).subs(above)
    )
    # lam <= theta: L decreases on (0, lam], so the minimiser is the boundary D = lam (rate 0)
    below = {_THETA: _LAM * (1 + S.u)}
    d.positive(
        "lam <= theta: -dL/dD > 0 for D = lam / (1 + v) < lam",
        sp.simplify((-sp.diff(lagrangian, dist)).subs(below).subs(dist, _LAM / (1 + v))),
    )
    d.equal("lam <= theta: D = lam", e["mse_component"].subs(below), _LAM)
    d.equal("lam <= theta: R = 0", e["rate_component"].subs(below), 0)
    # an exact instance: eigvals (4, 1, 1/4) at R = 2 ln 2 nats
    lams = [sp.Integer(4), sp.Integer(1), sp.Rational(1, 4)]
    rate = 2 * sp.log(2)
    d1, d2, nu = sp.symbols("D_1 D_2 nu", positive=True)
    kkt = [
        sp.Eq(1 / (2 * d1), nu),
        sp.Eq(1 / (2 * d2), nu),
        sp.Eq(sp.log(lams[0] / d1) / 2 + sp.log(lams[1] / d2) / 2, rate),
    ]
    (solution,) = sp.solve(kkt, [d1, d2, nu], dict=True)
    theta = water_level_exact(lams, rate)
    d.equal("instance (4, 1, 1/4), R = 2 ln 2: KKT of the two active components gives theta", solution[d1], theta)
    d.equal(
        "instance: the claimed rates spend R",
        sp.Add(*[e["rate_component"].subs({_LAM: lam, _THETA: theta}) for lam in lams]),
        rate,
    )
    d.equal(
        "instance: the claimed distortions sum to 2 theta + 1/4",
        sp.Add(*[e["mse_component"].subs({_LAM: lam, _THETA: theta}) for lam in lams]),
        2 * solution[d1] + lams[2],
    )
    d.positive(
        "instance: the inactive component satisfies its KKT condition 1/(2 lam_3) - nu > 0",
        1 / (2 * lams[2]) - solution[nu],
    )


def _on_rho(expr, var):
    """Substitute ``var = -1/2 ln(1 - rho^2)`` and then ``rho = 1/(1+u)`` (covers ``var`` in ``(0, oo)``)."""
    return sp.simplify(sp.simplify(sp.sympify(expr).subs(var, -sp.log(1 - S.rho**2) / 2)).subs(S.rho, 1 / (1 + S.u)))


def _derive_rdp_vector_kkt(e, d: Derivation):
    """Checks the multiplier, strict convexity, the boundary limits, the solved stationarity and DiffC-F attainment."""
    objective = d.define("per-component objective (rdp_scalar)", sp.Symbol("D_i"), mse_rdp(_LAM, _R))
    d.equal("-dD_i/dR_i is the claimed multiplier", -sp.diff(objective, _R), e["multiplier"])
    d.positive("strictly convex: d^2 D_i / dR_i^2 > 0", _on_rho(sp.diff(objective, _R, 2), _R))
    d.limit("the multiplier diverges as R_i -> 0+: every component gets positive rate", e["multiplier"], _R, 0, sp.oo)
    d.limit("the multiplier vanishes as R_i -> oo", e["multiplier"], _R, sp.oo, 0)
    # mu = 2 lam (1 - rho^2) / rho maps rho in (0, 1) onto mu in (0, oo) one to one, so identities in rho are identities in mu
    on_mu = {_MU: 2 * _LAM * (1 - S.rho**2) / S.rho}
    d.equal(
        "R(mu) solves the stationarity condition (on mu = 2 lam (1 - rho^2)/rho)",
        e["multiplier"].subs(_R, e["rate_for_multiplier"]).subs(on_mu),
        _MU.subs(on_mu),
    )
    d.equal(
        "R(mu) = -1/2 ln(1 - rho^2) on the parameterisation mu = 2 lam (1 - rho^2)/rho",
        e["rate_for_multiplier"].subs(on_mu),
        -sp.log(1 - S.rho**2) / 2,
    )
    rate_mu = e["rate_for_multiplier"]
    d.positive(
        "R(mu) decreases strictly in mu: -dR/dmu > 0",
        sp.simplify(sp.simplify((-sp.diff(rate_mu, _MU)).subs(on_mu)).subs(S.rho, 1 / (1 + S.u))),
    )
    snr_i = e["snr_for_multiplier"]
    d.equal("DiffC-F at snr(mu) spends R(mu)", rate_nats(_LAM, snr_i), rate_mu)
    d.equal("DiffC-F at snr(mu) attains D_rdp(R(mu))", mse_diffc_f(_LAM, snr_i), mse_rdp(_LAM, rate_mu))


def _derive_isotropic(e, d: Derivation):
    """Evaluates the multiplier under isotropic noise and checks it increases with lam and equalises at high snr."""
    d.equal(
        "multiplier at R = 1/2 ln(1 + snr lam)",
        rdp_multiplier(_LAM, rate_nats(_LAM, _SNR)),
        e["multiplier_isotropic"],
    )
    d.positive(
        "d ln(multiplier) / d lam > 0: unequal eigenvalues get unequal multipliers",
        sp.simplify(sp.diff(sp.expand_log(sp.log(e["multiplier_isotropic"]), force=True), _LAM)),
    )
    lam1, lam2 = sp.symbols("lambda_1 lambda_2", positive=True)
    ratio = e["multiplier_isotropic"].subs(_LAM, lam1) / e["multiplier_isotropic"].subs(_LAM, lam2)
    d.limit("the multipliers equalise as snr -> oo (isotropic noise is optimal at high rate)", ratio, _SNR, sp.oo, 1)
    d.limit("as snr -> 0 their ratio tends to sqrt(lam_1 / lam_2)", ratio, _SNR, 0, sp.sqrt(lam1 / lam2))


def _derive_rdp_schedule_monotone(e, d: Derivation):
    """Differentiates ln snr_i(mu) and the per-component rate R_i(mu); checks the slope's sign and bounds."""
    snr_i = d.define("per-component SNR of the allocation (rdp_vector_kkt)", sp.Symbol("snr_i"), rdp_snr_for_multiplier())
    slope = -_MU * sp.diff(sp.log(snr_i), _MU)
    d.equal("-d ln snr_i / d ln mu is the claimed slope", slope, e["log_snr_slope"])
    d.positive("the slope is > 1: each snr_i decreases strictly in mu", e["log_snr_slope"] - 1)
    # mu = 2 lam (1 - rho^2) / rho maps rho in (0, 1) onto mu in (0, oo) one to one (as in rdp_vector_kkt)
    on_u = {_MU: 2 * _LAM * (1 - S.rho**2) / S.rho}

    def on_mu(expr):
        return sp.simplify(sp.simplify(sp.sympify(expr).subs(on_u)).subs(S.rho, 1 / (1 + S.u)))

    d.positive("the slope is < 2: one step in ln mu moves every log-SNR by less than twice it",
               on_mu(2 - e["log_snr_slope"]))
    d.positive("R_i decreases strictly in mu (so does sum_i R_i): -mu dR_i/dmu > 0",
               on_mu(-_MU * sp.diff(rdp_rate_for_multiplier(), _MU)))


CLAIMS = check_unique_ids(
    [
        Claim(
            id="waterfilling",
            kind="identity",
            statement=(
                "reverse water-filling: the MSE RD function of N(0, diag(lam)) has D_i = min(theta, lam_i), "
                "R_i = max(0, 1/2 ln(lam_i/theta)), sum R_i = R"
            ),
            domain="lam_i > 0, theta > 0 (any number of components: the Lagrangian separates)",
            source="Cover & Thomas, Elements of Information Theory, 2nd ed., Thm 10.3.3",
            expressions={"mse_component": mse_rd_component(), "rate_component": rate_rd_component()},
            derive=_derive_waterfilling,
        ),
        Claim(
            id="rdp_vector_kkt",
            kind="identity",
            statement=(
                "perfect-realism allocation: min sum 2 lam_i (1 - sqrt(1 - exp(-2R_i))) s.t. sum R_i = R is strictly convex with "
                "KKT 2 lam_i w_i / sqrt(1 - w_i) = mu, w_i = exp(-2R_i); R_i(mu) > 0 for all i; DiffC-F at snr_i(mu) attains it"
            ),
            domain="lam_i > 0, mu > 0, R > 0 nats",
            source=(
                "derived here; the reduction of vector perfect realism to "
                "independent components is assumed (DESIGN.md)"
            ),
            expressions={
                "multiplier": rdp_multiplier(),
                "rate_for_multiplier": rdp_rate_for_multiplier(),
                "snr_for_multiplier": rdp_snr_for_multiplier(),
            },
            derive=_derive_rdp_vector_kkt,
        ),
        Claim(
            id="isotropic_rdp_suboptimal",
            kind="inequality",
            statement=(
                "isotropic noise gives component i the multiplier 2 sqrt(lam_i)/sqrt(snr (1 + snr lam_i)), strictly increasing in lam_i: "
                "DiffC-F with one snr is perfect-realism optimal only for a flat spectrum; the ratio tends to 1 as snr -> oo"
            ),
            domain="lam_i > 0, snr > 0",
            source="derived here",
            expressions={"multiplier_isotropic": rdp_multiplier_isotropic()},
            derive=_derive_isotropic,
        ),
        Claim(
            id="rdp_schedule_monotone",
            kind="inequality",
            statement=(
                "along the perfect-realism allocation every snr_i(mu) rises strictly as the total rate rises: "
                "-d ln snr_i / d ln mu = 1 + 1/sqrt(1 + 16 lam_i^2/mu^2) in (1, 2) and sum_i R_i(mu) decreases in mu, "
                "so per-component log-SNRs on that path are a valid (monotone) forward process"
            ),
            domain="lam_i > 0, mu > 0",
            source="derived here (the codec's --schedule rdp, empirical.codec.schedules)",
            expressions={"log_snr_slope": rdp_log_snr_slope()},
            derive=_derive_rdp_schedule_monotone,
        ),
    ]
)
