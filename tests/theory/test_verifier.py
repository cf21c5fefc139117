"""Tests of the verifier itself: wrong claims fail, loose constants fail, each check can fail."""

from __future__ import annotations

import pytest
import sympy as sp

import theory
from theory import claims as claims_module
from theory import symbols as S
from theory.claims import Claim, Derivation
from theory.moments import expect_normals

# every (claim, expression) pair: a wrong expression must make its claim fail
PAIRS = [(c.id, name) for c in theory.CLAIMS for name in c.expressions]


@pytest.mark.parametrize("claim_id, name", PAIRS, ids=[f"{c}:{n}" for c, n in PAIRS])
def test_perturbed_expression_fails(claim_id, name):
    """Scaling any one claimed expression by 98/97 (a 1% error) makes the claim fail.

    So every expression a claim states is actually checked against an
    independent derivation, not merely carried along.
    """
    claim = theory.get_claim(claim_id)
    wrong = claim.with_expressions(**{name: claim.expressions[name] * sp.Rational(98, 97)})
    result = wrong.verify()
    assert result.status == "failed", f"{claim_id}:{name} still verified"
    assert result.detail


@pytest.mark.parametrize("bound, value", [("upper_bound", 2), ("lower_bound", 1)])
@pytest.mark.parametrize("offset", [sp.Rational(-1, 10**6), sp.Rational(1, 10**6)])
def test_sharp_constants_of_the_ordering(bound, value, offset):
    """1 < D_F/D_MMSE, D_A/D_F < 2 with sharp constants: moving either bound by 1e-6 either way fails.

    Tightening fails because the ratio approaches the bound (the limit
    check); loosening fails because the bound is then not attained in the limit.
    """
    claim = theory.get_claim("distortion_ordering")
    result = claim.with_expressions(**{bound: value + offset}).verify()
    assert result.status == "failed"


def test_three_db_is_exactly_ten_log10_two(verifications):
    """The verified 3 dB gap is 10 log10 2 = 3.0102999566... dB; 3 dB flat fails."""
    assert verifications["three_db_limit"].status == "verified"
    claim = theory.get_claim("three_db_limit")
    assert abs(sp.N(claim.expressions["gap_db_limit"], 30) - sp.Float("3.010299956639811952137388947", 30)) < 1e-25
    assert claim.with_expressions(gap_db_limit=sp.Integer(3)).verify().status == "failed"


def test_first_order_high_rate_correction_is_one_quarter():
    """D_F/D_rd = 1 + exp(-2R)/4 + ...: coefficients 1/3 and 1/5 fail, as does 1/(4 snr lam) -> 1/(2 snr lam)."""
    claim = theory.get_claim("flow_attains_rd_at_high_rate")
    for coeff in (sp.Rational(1, 3), sp.Rational(1, 5)):
        assert claim.with_expressions(first_order_rate=coeff * sp.exp(-2 * S.rate_nats)).verify().status == "failed"
    assert claim.with_expressions(first_order_snr=1 / (2 * S.snr * S.eigval)).verify().status == "failed"


def test_wrong_flow_map_fails_even_though_it_solves_the_ode():
    """sqrt(lam/(alpha^2 lam + sigma^2)) times a constant also solves the linear ODE; the endpoint check rejects it."""
    claim = theory.get_claim("flow_map_solves_pf_ode")
    result = claim.with_expressions(flow_map_gain=2 * claim.expressions["flow_map_gain"]).verify()
    assert result.status == "failed" and "endpoint" in result.detail


def test_mmse_gain_in_place_of_flow_gain_fails():
    """Using the posterior mean rho^2 z/alpha as the DiffC-F map fails (it does not preserve the variance)."""
    claim = theory.get_claim("distortion_diffc_f")
    mmse_map = S.alpha * S.eigval / (S.alpha**2 * S.eigval + S.sigma**2)
    result = claim.with_expressions(flow_map_gain=mmse_map).verify()
    assert result.status == "failed" and "realism" in result.detail


def test_conditional_forms_reject_swapped_gains_and_missing_noise():
    """Given x: the DiffC-F form (k = rho) as the posterior mean's, the MMSE form as DiffC-A's (its decoder noise
    dropped) and the population MSE in place of the conditional one (x^2 -> lam) each fail."""
    claim = theory.get_claim("conditional_mse_linear_decoder")
    e = claim.expressions
    for name, wrong in (
        ("mse_mmse_given_x", e["mse_diffc_f_given_x"]),
        ("mse_diffc_a_given_x", e["mse_mmse_given_x"]),
        ("mse_linear_given_x", e["mse_linear_given_x"].subs(S.x_value, sp.sqrt(S.eigval))),
    ):
        result = claim.with_expressions(**{name: wrong}).verify()
        assert result.status == "failed" and "counterexample" in result.detail, name


def test_conditional_chain_kl_rejects_the_rate_and_the_reversed_kl():
    """Given x the chain's KL is not the rate 1/2 ln(1 + snr lam) (that is only its mean over x), nor the reversed
    KL(p(z) || q(z|x)) = 1/2 [-ln(1 + snr lam) + snr lam + snr x^2]; both fail, as does dropping the - 1."""
    claim = theory.get_claim("conditional_chain_kl")
    s_lam = S.snr * S.eigval
    reversed_kl = (-sp.log(1 + s_lam) + s_lam + S.snr * S.x_value**2) / 2
    no_minus_one = claim.expressions["chain_kl_given_x"] + sp.Rational(1, 2)
    for wrong in (theory.scalar.rate_nats(), reversed_kl, no_minus_one):
        result = claim.with_expressions(chain_kl_given_x=wrong).verify()
        assert result.status == "failed" and "counterexample" in result.detail


# ------------------------------------------------------------------ the individual checks


def _run(derive) -> "claims_module.Verification":
    return Claim(
        id="probe", kind="identity", statement="s", domain="d", source="test", expressions={"x": 0}, derive=derive
    ).verify()


def test_equal_proves_a_true_identity_symbolically():
    """sqrt(snr^2 lam^2) = snr lam for positive symbols closes symbolically."""
    result = _run(lambda e, d: d.equal("t", sp.sqrt(S.snr**2 * S.eigval**2), S.snr * S.eigval))
    assert result.status == "verified" and result.method == "symbolic"


def test_equal_rejects_a_near_miss_with_a_counterexample():
    """1/2 ln(1 + snr lam) vs 1/2 ln(1 + snr lam) + 1e-15 fails: the screen works at 30 digits."""
    claimed = sp.log(1 + S.snr * S.eigval) / 2 + sp.Rational(1, 10**15)
    result = _run(lambda e, d: d.equal("t", sp.log(1 + S.snr * S.eigval) / 2, claimed))
    assert result.status == "failed" and "counterexample" in result.detail


def test_equal_numeric_fallback_is_labelled(monkeypatch):
    """If sympy cannot close a true identity, the 50-digit fallback verifies it and says so (method numeric)."""
    monkeypatch.setattr(claims_module, "_reduces_to_zero", lambda diff: False)
    result = _run(lambda e, d: d.equal("t", sp.sqrt(S.snr**2), S.snr))
    assert result.status == "verified" and result.method == "numeric"
    assert "sympy could not reduce" in result.detail


def test_equal_without_numeric_route_fails_when_sympy_cannot_close(monkeypatch):
    """An identity in undefined functions that sympy cannot reduce is failed, not guessed."""
    monkeypatch.setattr(claims_module, "_reduces_to_zero", lambda diff: False)
    result = _run(lambda e, d: d.equal("t", (S.alpha_t**2 - 1) / (S.alpha_t - 1), S.alpha_t + 1))
    assert result.status == "failed" and "could not reduce" in result.detail


def test_positive_proves_and_refutes():
    """2 - (1 + rho) > 0 on rho = 1/(1+u) proves; 199/100 - (1 + rho) > 0 is refuted (rho near 1 for small u)."""
    rho = 1 / (1 + S.u)
    assert _run(lambda e, d: d.positive("t", 2 - (1 + rho))).status == "verified"
    result = _run(
        lambda e, d: d.positive("t", sp.Rational(199, 100) - (1 + rho), ranges={S.u: (0, sp.Rational(1, 50))})
    )
    assert result.status == "failed" and "counterexample" in result.detail


def test_limit_and_series_checks_fail_on_wrong_values():
    """lim_{snr->oo} (1 + rho) = 2 holds, = 199/100 fails; series 1 + w/4 holds, 1 + w/3 fails."""
    rho = sp.sqrt(S.snr * S.eigval / (1 + S.snr * S.eigval))
    assert _run(lambda e, d: d.limit("t", 1 + rho, S.snr, sp.oo, 2)).status == "verified"
    assert _run(lambda e, d: d.limit("t", 1 + rho, S.snr, sp.oo, sp.Rational(199, 100))).status == "failed"
    ratio = 2 / (1 + sp.sqrt(1 - S.w))
    assert _run(lambda e, d: d.series("t", ratio, S.w, 2, 1 + S.w / 4)).status == "verified"
    assert _run(lambda e, d: d.series("t", ratio, S.w, 2, 1 + S.w / 3)).status == "failed"


def test_a_stub_cannot_verify():
    """A claim whose derivation runs no check fails ('no checks were run'); one that raises fails with the error."""
    result = _run(lambda e, d: d.define("only a definition", None, 1))
    assert result.status == "failed" and "no checks" in result.detail

    def boom(e, d):
        raise ZeroDivisionError("bad step")

    result = _run(boom)
    assert result.status == "failed" and "ZeroDivisionError" in result.detail


def test_fail_fast_stops_at_the_first_failing_check():
    """After a failing check, later checks do not run and the detail names the failing step."""

    def derive(e, d):
        d.equal("good", S.snr, S.snr)
        d.equal("bad step", S.snr, 2 * S.snr)
        d.equal("never reached", S.snr, S.snr)

    result = _run(derive)
    assert result.detail.startswith("bad step")
    assert [s.text for s in result.steps] == ["good", "bad step"]


def test_random_points_are_seeded_by_claim_id():
    """The same claim id draws the same sample points (reproducible counterexamples)."""
    pts = [Derivation._sample({S.snr, S.eigval}, {}, Derivation("x")._rng()) for _ in range(2)]
    assert pts[0] == pts[1]
    other = Derivation._sample({S.snr, S.eigval}, {}, Derivation("y")._rng())
    assert other != pts[0]


def test_expect_normals_against_integration():
    """E[N^6] = 15 and E[(a + N_1 N_2)^2] = a^2 + 1, compared with sympy integration of the density."""
    n = sp.Symbol("n", real=True)
    density = sp.exp(-(n**2) / 2) / sp.sqrt(2 * sp.pi)
    assert expect_normals(S.n_x**6, [S.n_x]) == sp.integrate(n**6 * density, (n, -sp.oo, sp.oo)) == 15
    a = sp.Symbol("a")
    assert sp.expand(expect_normals((a + S.n_x * S.n_u) ** 2, [S.n_x, S.n_u]) - a**2 - 1) == 0
    with pytest.raises(ValueError, match="normals"):
        expect_normals(a, [])
