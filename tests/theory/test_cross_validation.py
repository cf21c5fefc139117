"""gaussian/ (numpy) against theory/ (sympy): the numeric twins can never drift from the ledger.

Per-component functions are compared with the lambdified sympy expression
evaluated by mpmath at 50 digits at the very same float inputs (hypothesis,
``snr * lam`` from 1e-12 to 1e12), and with the exact sympy value
(``evalf(50)``) at exact Rational inputs. The conditional forms given one
image's component value ``x`` (claims ``conditional_mse_linear_decoder`` and
``conditional_chain_kl``) are compared the same way over ``x`` as well. The vector curves of
``gaussian.curves`` are compared with exact water levels for rational spectra
and with 50-digit solutions of the isotropic and perfect-realism allocations,
and the KKT conditions of claim ``rdp_vector_kkt`` are checked at the numeric
allocation.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gaussian import components, curves, schedule
from theory import asymptotics, flow, scalar, vector
from theory import symbols as S

DPS = 50
REL = 1e-12  # per-component closed forms: a few ulp of double precision, with margin
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
LN2 = sp.log(2)

LAM, SNR, R, K, X = S.eigval, S.snr, S.rate_nats, S.gain, S.x_value
# name -> (numpy function, sympy expression, argument symbols in the numpy order)
SNR_FORMS = {
    "rate_nats": (components.rate_nats, scalar.rate_nats(), (LAM, SNR)),
    "mse_mmse": (components.mse_mmse, scalar.mse_mmse(), (LAM, SNR)),
    "mse_diffc_a": (components.mse_diffc_a, scalar.mse_diffc_a(), (LAM, SNR)),
    "flow_gain": (components.flow_gain, scalar.flow_gain(), (LAM, SNR)),
    "mse_diffc_f": (components.mse_diffc_f, scalar.mse_diffc_f(), (LAM, SNR)),
    "ratio_ancestral_over_flow": (components.ratio_ancestral_over_flow, scalar.ratio_ancestral_over_flow(), (LAM, SNR)),
}
RATE_FORMS = {
    "mse_rdp": (components.mse_rdp, scalar.mse_rdp(), (LAM, R)),
    "snr_for_rate_nats": (components.snr_for_rate_nats, scalar.snr_for_rate_nats(), (LAM, R)),
}
GAIN_FORMS = {
    "mse_linear_decoder": (components.mse_linear_decoder, scalar.mse_linear_decoder(), (LAM, SNR, K)),
}
GIVEN_X_FORMS = {
    "mse_linear_decoder_given_x": (
        components.mse_linear_decoder_given_x,
        scalar.mse_linear_decoder_given_x(),
        (X, SNR, K),
    ),
    "chain_kl_nats_given_x": (components.chain_kl_nats_given_x, scalar.chain_kl_nats_given_x(), (LAM, SNR, X)),
}


def _mp(expr, args):
    """The sympy expression as an mpmath function of ``args``."""
    return sp.lambdify(args, expr, "mpmath")


MP = {
    name: _mp(expr, args)
    for name, (_, expr, args) in {**SNR_FORMS, **RATE_FORMS, **GAIN_FORMS, **GIVEN_X_FORMS}.items()
}
MP_W2_SQ = _mp(scalar.w2_sq_linear_decoder(), (LAM, SNR, K))
MP_RHO = _mp(scalar.flow_gain(), (LAM, SNR))


def _rel_err(num, ref) -> float:
    """|num - ref| / |ref| with ``ref`` an mpmath number (50 digits)."""
    ref = mpmath.mpf(ref)
    return float(abs(mpmath.mpf(float(num)) - ref) / abs(ref))


def _at_50_digits(name, *args):
    """Theory value of ``name`` at the exact float inputs ``args``, 50 digits."""
    with mpmath.workdps(DPS):
        return MP[name](*[mpmath.mpf(float(a)) for a in args])


# ------------------------------------------------------------------ strategies
log10_x = st.floats(-12, 12)  # snr * lam from 1e-12 to 1e12
log10_lam = st.floats(-6, 6)


@st.composite
def lam_snr(draw):
    """(lam, snr) floats with snr*lam log-uniform in [1e-12, 1e12] and lam in [1e-6, 1e6]."""
    lam = 10.0 ** draw(log10_lam)
    return lam, 10.0 ** draw(log10_x) / lam


@st.composite
def lam_rate(draw):
    """(lam, R nats) with R = 1/2 ln(1 + x) for x log-uniform in [1e-12, 1e12] (R from 5e-13 to 13.8)."""
    lam = 10.0 ** draw(log10_lam)
    return lam, 0.5 * float(np.log1p(10.0 ** draw(log10_x)))


positive_fraction = st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(1000), max_denominator=1000)
real_fraction = st.fractions(min_value=Fraction(-1000), max_value=Fraction(1000), max_denominator=1000)


@st.composite
def lam_snr_x(draw):
    """(lam, snr, x): (lam, snr) as lam_snr; x = 0 or +-sqrt(lam) 10^u, u in [-8, 3] (atypically small to far out)."""
    lam, snr = draw(lam_snr())
    size = draw(st.one_of(st.just(0.0), st.floats(-8, 3).map(lambda u: 10.0**u)))
    return lam, snr, draw(st.sampled_from((-1.0, 1.0))) * float(np.sqrt(lam)) * size


# ------------------------------------------------------------------ per component, random points
@pytest.mark.parametrize("name", sorted(SNR_FORMS))
@SETTINGS
@given(point=lam_snr())
@example(point=(1.0, 1e-12))  # near equality D_A ~ D_F, rho ~ 1e-6
@example(point=(1.0, 1e12))  # near the 3 dB limit, D_F ~ D_rd
def test_snr_forms_match_theory(name, point):
    """numpy f(lam, snr) equals the sympy expression (50-digit mpmath) to 1e-12 relative."""
    lam, snr = point
    fn = SNR_FORMS[name][0]
    assert _rel_err(fn(lam, snr), _at_50_digits(name, lam, snr)) < REL


@pytest.mark.parametrize("name", sorted(RATE_FORMS))
@SETTINGS
@given(point=lam_rate())
@example(point=(1.0, 5e-13))
@example(point=(1.0, 13.8))
def test_rate_forms_match_theory(name, point):
    """numpy f(lam, R) equals the sympy expression (50-digit mpmath) to 1e-12 relative."""
    lam, rate = point
    fn = RATE_FORMS[name][0]
    assert _rel_err(fn(lam, rate), _at_50_digits(name, lam, rate)) < REL


@SETTINGS
@given(point=lam_snr(), position=st.floats(0, 1))
@example(point=(1.0, 1e12), position=1.0)
@example(point=(1.0, 1e-12), position=0.0)
def test_linear_decoder_forms_match_theory(point, position):
    """On the frontier k in [rho^2, rho]: MSE to 1e-12 relative; W2^2 to 1e-12 relative plus its conditioning.

    W2^2 = lam (1 - k/rho)^2 vanishes at k = rho, where rounding rho to a double
    perturbs 1 - k/rho by about 1e-16; the tolerance adds 1e-15 lam |1 - k/rho|.
    """
    lam, snr = point
    with mpmath.workdps(DPS):
        rho = MP_RHO(mpmath.mpf(lam), mpmath.mpf(snr))
        k = float(rho**2 + position * (rho - rho**2))
        mse_ref = MP["mse_linear_decoder"](mpmath.mpf(lam), mpmath.mpf(snr), mpmath.mpf(k))
        w2_ref = MP_W2_SQ(mpmath.mpf(lam), mpmath.mpf(snr), mpmath.mpf(k))
        slack = 1e-15 * lam * float(abs(1 - k / rho))
    assert _rel_err(components.mse_linear_decoder(lam, snr, k), mse_ref) < REL
    assert abs(float(components.w2_sq_linear_decoder(lam, snr, k)) - float(w2_ref)) <= REL * float(w2_ref) + slack


@SETTINGS
@given(point=lam_snr_x(), log10_gain=st.floats(-6, 1))
@example(point=(1.0, 1e12, 1.0), log10_gain=0.0)  # k = 1: only the noise term k^2/snr
@example(point=(1.0, 1e-12, 0.0), log10_gain=-6.0)  # x = 0
@example(point=(1e6, 1e6, -1e9), log10_gain=1.0)  # far out, k = 10
def test_mse_linear_decoder_given_x_matches_theory(point, log10_gain):
    """numpy (1 - k)^2 x^2 + k^2/snr equals the sympy expression (50-digit mpmath) to 1e-12 relative.

    A sum of two non-negative terms: no cancellation, so no slack.
    """
    _, snr, x = point
    gain = 10.0**log10_gain
    with mpmath.workdps(DPS):
        ref = MP["mse_linear_decoder_given_x"](mpmath.mpf(x), mpmath.mpf(snr), mpmath.mpf(gain))
    assert _rel_err(components.mse_linear_decoder_given_x(x, snr, gain), ref) < REL


@SETTINGS
@given(point=lam_snr_x())
@example(point=(1.0, 1e-12, 0.0))  # deepest cancellation: value ~ s^2/4 = 2.5e-25
@example(point=(1.0, 1e12, 0.0))
@example(point=(1.0, 1.0, 1.0))  # x^2 = lam: the value is the rate 1/2 ln 2
@example(point=(1e-6, 1e18, 1e3))  # far out at high snr
def test_chain_kl_given_x_matches_theory(point):
    """|numpy - sympy (50-digit mpmath)| <= 1e-12 |ref|: full relative precision, cancellation included."""
    lam, snr, x = point
    with mpmath.workdps(DPS):
        ref = MP["chain_kl_nats_given_x"](mpmath.mpf(lam), mpmath.mpf(snr), mpmath.mpf(x))
    assert float(ref) > 0  # a KL between distinct Gaussians
    err = abs(float(components.chain_kl_nats_given_x(lam, snr, x)) - float(ref))
    assert err <= REL * float(ref)


def test_chain_kl_given_x_keeps_precision_where_the_direct_form_cancels():
    """At x = 0, s = 1e-8 the direct form 1/2 [log1p(s) + (snr x^2 - s)/(1 + s)] loses more than 1e-12 relative;
    the series form of components keeps it."""
    with mpmath.workdps(DPS):
        ref = float(MP["chain_kl_nats_given_x"](mpmath.mpf(1), mpmath.mpf("1e-8"), mpmath.mpf(0)))
    s = 1e-8
    direct = 0.5 * (np.log1p(s) + (0.0 - s) / (1.0 + s))
    assert abs(direct - ref) > REL * ref
    assert abs(float(components.chain_kl_nats_given_x(1.0, 1e-8, 0.0)) - ref) <= REL * ref


@SETTINGS
@given(point=lam_snr(), log10_gain=st.floats(-6, 1))
def test_given_x_forms_at_x_squared_equal_lam_are_the_population_forms(point, log10_gain):
    """Both conditional forms are affine in x^2, so their mean over x ~ N(0, lam) is their value at x = sqrt(lam):
    mse_linear_decoder_given_x(sqrt(lam)) = mse_linear_decoder and chain_kl_nats_given_x(sqrt(lam)) = rate_nats
    (numpy against numpy, 1e-12 relative)."""
    lam, snr = point
    gain = 10.0**log10_gain
    x = np.sqrt(lam)
    mse = components.mse_linear_decoder_given_x(x, snr, gain)
    assert float(mse) == pytest.approx(float(components.mse_linear_decoder(lam, snr, gain)), rel=REL)
    kl = components.chain_kl_nats_given_x(lam, snr, x)
    rate = float(components.rate_nats(lam, snr))
    assert abs(float(kl) - rate) <= REL * rate


# ------------------------------------------------------------------ per component, exact rational points
def _exact(expr, values: dict) -> sp.Float:
    """The sympy expression at exact Rational values, to 50 digits."""
    return sp.N(expr.subs({s: sp.Rational(v.numerator, v.denominator) for s, v in values.items()}), DPS)


@pytest.mark.parametrize("name", sorted(SNR_FORMS))
@settings(max_examples=15, deadline=None, derandomize=True)
@given(lam=positive_fraction, snr=positive_fraction)
def test_snr_forms_at_rational_points(name, lam, snr):
    """At exact rationals (lam, snr) the sympy value (evalf 50) and numpy at the rounded inputs agree to 1e-12."""
    fn, expr, _ = SNR_FORMS[name]
    ref = _exact(expr, {LAM: lam, SNR: snr})
    assert abs(float(fn(float(lam), float(snr))) - float(ref)) <= REL * abs(float(ref))


@pytest.mark.parametrize("name", sorted(RATE_FORMS))
@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    lam=positive_fraction, rate=st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(10), max_denominator=1000)
)
def test_rate_forms_at_rational_points(name, lam, rate):
    """At exact rationals (lam, R) the sympy value (evalf 50) and numpy at the rounded inputs agree to 1e-12."""
    fn, expr, _ = RATE_FORMS[name]
    ref = _exact(expr, {LAM: lam, R: rate})
    assert abs(float(fn(float(lam), float(rate))) - float(ref)) <= REL * abs(float(ref))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    lam=positive_fraction,
    snr=positive_fraction,
    gain=st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(1), max_denominator=1000),
)
def test_linear_decoder_at_rational_points(lam, snr, gain):
    """MSE and W2^2 of x_hat = k z/alpha at exact rationals, against evalf(50) (W2^2 with its conditioning slack)."""
    values = {LAM: lam, SNR: snr, K: gain}
    mse_ref = _exact(scalar.mse_linear_decoder(), values)
    w2_ref = _exact(scalar.w2_sq_linear_decoder(), values)
    rho = _exact(scalar.flow_gain(), values)
    slack = 1e-15 * float(lam) * abs(1 - float(gain) / float(rho)) + 1e-30
    assert abs(
        float(components.mse_linear_decoder(float(lam), float(snr), float(gain))) - float(mse_ref)
    ) <= REL * float(mse_ref)
    w2_num = float(components.w2_sq_linear_decoder(float(lam), float(snr), float(gain)))
    assert abs(w2_num - float(w2_ref)) <= REL * float(w2_ref) + slack


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    x=real_fraction,
    snr=positive_fraction,
    gain=st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(10), max_denominator=1000),
)
@example(x=Fraction(0), snr=Fraction(1, 1000), gain=Fraction(1, 1000))
def test_mse_linear_decoder_given_x_at_rational_points(x, snr, gain):
    """(1 - k)^2 x^2 + k^2/snr at exact rationals (x, snr, k): evalf(50) and numpy at rounded inputs agree to 1e-12."""
    ref = _exact(scalar.mse_linear_decoder_given_x(), {X: x, SNR: snr, K: gain})
    num = components.mse_linear_decoder_given_x(float(x), float(snr), float(gain))
    assert abs(float(num) - float(ref)) <= REL * float(ref)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(lam=positive_fraction, snr=positive_fraction, x=real_fraction)
@example(lam=Fraction(1, 1000), snr=Fraction(1, 1000), x=Fraction(0))  # s = 1e-6 at x = 0: the cancellation
@example(lam=Fraction(4), snr=Fraction(1, 4), x=Fraction(2))  # x^2 = lam, s = 1: the rate 1/2 ln 2
def test_chain_kl_given_x_at_rational_points(lam, snr, x):
    """The chain KL given x at exact rationals (lam, snr, x): evalf(50) and numpy at the rounded inputs agree to
    1e-12 relative (the series form keeps full precision where the direct form cancels)."""
    ref = _exact(scalar.chain_kl_nats_given_x(), {LAM: lam, SNR: snr, X: x})
    num = components.chain_kl_nats_given_x(float(lam), float(snr), float(x))
    assert abs(float(num) - float(ref)) <= REL * float(ref)


def test_chain_kl_given_x_exact_value():
    """At lam = 4, snr = 1/4, x = 2 (s = 1, x^2 = lam) the sympy form is exactly 1/2 ln 2 (by hand), numpy to 2 ulp."""
    assert sp.simplify(scalar.chain_kl_nats_given_x(4, sp.Rational(1, 4), 2) - LN2 / 2) == 0
    assert float(components.chain_kl_nats_given_x(4.0, 0.25, 2.0)) == pytest.approx(
        0.5 * np.log(2), rel=2 * np.finfo(float).eps
    )


# ------------------------------------------------------------------ schedule conversions
@SETTINGS
@given(log_snr=st.floats(-30, 30))
@example(log_snr=0.0)
def test_schedule_matches_theory(log_snr):
    """VP alpha, sigma and VE sigma_ve from log_snr (and the inverses) match claim schedule_conversions.

    alpha, sigma, sigma_ve, snr: 1e-12 relative; log-SNR outputs: 1e-12 absolute (they cross 0).
    """
    with mpmath.workdps(DPS):
        snr_ref = mpmath.exp(mpmath.mpf(log_snr))
        alpha_ref = _mp(flow.vp_alpha(), (SNR,))(snr_ref)
        sigma_ref = _mp(flow.vp_sigma(), (SNR,))(snr_ref)
        sigma_ve_ref = _mp(flow.sigma_ve(), (SNR,))(snr_ref)
    alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr)
    assert _rel_err(alpha, alpha_ref) < REL and _rel_err(sigma, sigma_ref) < REL
    assert _rel_err(schedule.sigma_ve_from_log_snr(log_snr), sigma_ve_ref) < REL
    assert _rel_err(schedule.snr_from_log_snr(log_snr), snr_ref) < REL
    snr_float = float(schedule.snr_from_log_snr(log_snr))
    with mpmath.workdps(DPS):
        log_ref = _mp(flow.log_snr(), (SNR,))(mpmath.mpf(snr_float))
        log_ref_alpha_sigma = _mp(flow.log_snr(), (SNR,))(mpmath.mpf(float(alpha)) ** 2 / mpmath.mpf(float(sigma)) ** 2)
        sve = float(schedule.sigma_ve_from_log_snr(log_snr))
        log_ref_ve = _mp(flow.log_snr(), (SNR,))(1 / mpmath.mpf(sve) ** 2)
    assert abs(float(schedule.log_snr_from_snr(snr_float)) - float(log_ref)) < REL
    assert abs(float(schedule.log_snr_from_alpha_sigma(alpha, sigma)) - float(log_ref_alpha_sigma)) < REL
    assert abs(float(schedule.log_snr_from_sigma_ve(sve)) - float(log_ref_ve)) < REL


# ------------------------------------------------------------------ vector curves
rational_spectrum = st.lists(
    st.fractions(min_value=Fraction(1, 100), max_value=Fraction(100), max_denominator=100), min_size=1, max_size=5
)
rate_bits = st.fractions(min_value=Fraction(1, 100), max_value=Fraction(60), max_denominator=100)
VEC = settings(max_examples=20, deadline=None, derandomize=True)
SOLVED_REL = 1e-11  # gaussian.curves solves monotone equations to ~1e-12 relative (its docstring)


def _floats(eigvals):
    return np.array([float(v) for v in eigvals])


@VEC
@given(eigvals=rational_spectrum, bits=rate_bits)
@example(eigvals=[Fraction(4), Fraction(1), Fraction(1, 4)], bits=Fraction(4))  # theta = 2^(1/3)/8 < 1/4: all active
@example(eigvals=[Fraction(4), Fraction(1), Fraction(1, 4)], bits=Fraction(2))  # theta = 1/2: lam_3 inactive
def test_water_level_is_exact(eigvals, bits):
    """curves.water_level and mse_per_dim('rd') equal the exact water level of claim waterfilling (sympy, rational spectrum)."""
    theta = vector.water_level_exact(
        [sp.Rational(v.numerator, v.denominator) for v in eigvals], sp.Rational(bits.numerator, bits.denominator) * LN2
    )
    theta_ref = float(sp.N(theta, DPS))
    mse_ref = float(
        sp.N(
            sum(vector.mse_rd_component(sp.Rational(v.numerator, v.denominator), theta) for v in eigvals)
            / len(eigvals),
            DPS,
        )
    )
    lam = _floats(eigvals)
    assert abs(float(curves.water_level(lam, float(bits))[0]) - theta_ref) <= REL * theta_ref
    assert abs(float(curves.mse_per_dim("rd", lam, float(bits))[0]) - mse_ref) <= REL * mse_ref
    rate_total = float(
        sp.N(sum(vector.rate_rd_component(sp.Rational(v.numerator, v.denominator), theta) for v in eigvals), DPS)
    )
    assert abs(rate_total - float(bits) * np.log(2)) <= 1e-12 * rate_total  # the exact level spends the rate


def test_water_level_exact_example_is_one_half():
    """The exact instance of claim waterfilling: eigvals (4, 1, 1/4) at 2 ln 2 nats has theta = 1/2 (stated by hand)."""
    assert vector.water_level_exact([4, 1, sp.Rational(1, 4)], 2 * LN2) == sp.Rational(1, 2)
    # theta = exp((ln 4 + ln 1 - 2 R) / 2): a few logs, a sum and an exp, each within an ulp or two
    assert float(curves.water_level([4.0, 1.0, 0.25], 2.0)[0]) == pytest.approx(0.5, rel=16 * np.finfo(float).eps)


@VEC
@given(eigvals=rational_spectrum, bits=rate_bits)
def test_isotropic_schemes_match_theory(eigvals, bits):
    """snr_for_rate (and log_snr_for_rate), evaluate and mse_per_dim for mmse, diffc_a, diffc_f match the
    50-digit theory solution to 1e-11; rate_for_mse inverts them to 1e-9."""
    rate = sp.Rational(bits.numerator, bits.denominator) * LN2
    lam = _floats(eigvals)
    with mpmath.workdps(DPS):
        snr_ref = vector.snr_for_rate_total(eigvals, rate, dps=30)
        lams = [
            mpmath.mpf(float(v)) if v.denominator == 1 else mpmath.mpf(v.numerator) / v.denominator for v in eigvals
        ]
        refs = {
            name: mpmath.fsum(MP[key](lv, snr_ref) for lv in lams) / len(lams)
            for name, key in (("mmse", "mse_mmse"), ("diffc_a", "mse_diffc_a"), ("diffc_f", "mse_diffc_f"))
        }
    assert _rel_err(curves.snr_for_rate(lam, float(bits))[0], snr_ref) < SOLVED_REL
    with mpmath.workdps(DPS):
        log_snr_ref = mpmath.log(snr_ref)
    assert abs(float(curves.log_snr_for_rate(lam, float(bits))[0]) - float(log_snr_ref)) < SOLVED_REL * max(
        1.0, abs(float(log_snr_ref))
    )
    ev = curves.evaluate(lam, float(bits))
    for scheme, ref in refs.items():
        assert _rel_err(curves.mse_per_dim(scheme, lam, float(bits))[0], ref) < SOLVED_REL, scheme
        assert _rel_err(ev.mse(scheme)[0], ref) < SOLVED_REL, scheme
        # and back: the rate at which the scheme reaches that distortion
        assert float(curves.rate_for_mse(scheme, lam, float(ref))[0]) == pytest.approx(float(bits), rel=1e-9)


MP_MULTIPLIER = _mp(vector.rdp_multiplier(), (LAM, R))


@VEC
@given(eigvals=rational_spectrum, bits=rate_bits)
@example(eigvals=[Fraction(100), Fraction(1, 100)], bits=Fraction(1, 100))  # very uneven spectrum at low rate
def test_rdp_allocation_satisfies_the_kkt_conditions(eigvals, bits):
    """At curves.rdp_allocation: rates sum to R, multipliers 2 lam_i w_i/sqrt(1-w_i) are equal (1e-9),
    every component has positive rate, 1/2 ln(1 + snr_i lam_i) = R_i and D_F(snr_i) = D_rdp(R_i) (1e-12),
    and the allocation matches the 50-digit theory solution (1e-10).

    The columns of rdp_allocation follow gaussian's sorted (descending) eigenvalue order.
    """
    eigvals = sorted(eigvals, reverse=True)
    rate = sp.Rational(bits.numerator, bits.denominator) * LN2
    lam = _floats(eigvals)
    rates, snrs = (a[0] for a in curves.rdp_allocation(lam, float(bits)))
    assert (rates > 0).all()
    assert float(rates.sum()) == pytest.approx(float(bits) * np.log(2), rel=1e-12)
    with mpmath.workdps(DPS):
        mults = [MP_MULTIPLIER(mpmath.mpf(float(lv)), mpmath.mpf(float(r))) for lv, r in zip(lam, rates)]
        for lv, r, s in zip(lam, rates, snrs):
            args = (mpmath.mpf(float(lv)), mpmath.mpf(float(s)))
            assert _rel_err(r, MP["rate_nats"](*args)) < REL
            d_f = MP["mse_diffc_f"](*args)
            d_rdp = MP["mse_rdp"](mpmath.mpf(float(lv)), MP["rate_nats"](*args))
            assert float(abs(d_f - d_rdp) / d_rdp) < 1e-40  # the identity of diffc_f_on_rdp_scalar, at 50 digits
            assert _rel_err(components.mse_diffc_f(lv, s), d_rdp) < REL
        spread = float((max(mults) - min(mults)) / max(mults))
        _, rates_ref, snrs_ref = vector.rdp_allocation(eigvals, rate, dps=30)
    assert spread < 1e-9
    for r, s, r_ref, s_ref in zip(rates, snrs, rates_ref, snrs_ref):
        assert _rel_err(r, r_ref) < 1e-10 and _rel_err(s, s_ref) < 1e-10
    with mpmath.workdps(DPS):
        mse_ref = mpmath.fsum(MP["mse_rdp"](mpmath.mpf(float(lv)), r_ref) for lv, r_ref in zip(lam, rates_ref)) / len(
            lam
        )
    for scheme in ("rdp", "diffc_f_allocated"):
        assert _rel_err(curves.mse_per_dim(scheme, lam, float(bits))[0], mse_ref) < SOLVED_REL, scheme
        assert float(curves.rate_for_mse(scheme, lam, float(mse_ref))[0]) == pytest.approx(float(bits), rel=1e-9)


def test_high_rate_gap_constant_matches_theory():
    """curves.HIGH_RATE_GAP_DB is the verified 10 log10 2 dB of claim three_db_limit."""
    exact = float(sp.N(asymptotics.gap_db_ancestral_over_flow_limit(), DPS))
    assert curves.HIGH_RATE_GAP_DB == pytest.approx(exact, rel=4 * np.finfo(float).eps)  # libm log10 + a product


def test_isotropic_gap_to_rdp_matches_theory():
    """claim isotropic_rdp_suboptimal, quantitatively: for eigvals (4, 1/4) the relative excess of isotropic DiffC-F
    over rdp is positive, matches the 50-digit theory value to 2e-11, and shrinks as the rate grows (-> 0 at high rate);
    for a flat spectrum it is 0."""
    eigvals = [Fraction(4), Fraction(1, 4)]
    lam = _floats(eigvals)
    gaps = []
    for bits in (Fraction(1, 2), Fraction(4), Fraction(16)):
        rate = sp.Rational(bits.numerator, bits.denominator) * LN2
        with mpmath.workdps(DPS):
            snr = vector.snr_for_rate_total(eigvals, rate, dps=30)
            flow_ref = mpmath.fsum(MP["mse_diffc_f"](mpmath.mpf(float(v)), snr) for v in eigvals)
            _, rates_ref, _ = vector.rdp_allocation(eigvals, rate, dps=30)
            rdp_ref = mpmath.fsum(MP["mse_rdp"](mpmath.mpf(float(v)), r) for v, r in zip(eigvals, rates_ref))
            gap_ref = float(flow_ref / rdp_ref - 1)
        gap = float(
            curves.mse_per_dim("diffc_f", lam, float(bits))[0] / curves.mse_per_dim("rdp", lam, float(bits))[0] - 1
        )
        assert gap_ref > 0 and abs(gap - gap_ref) < 2e-11
        gaps.append(gap_ref)
    assert gaps[0] > gaps[1] > gaps[2]
    flat = np.array([1.0, 1.0])
    assert float(curves.mse_per_dim("diffc_f", flat, 4.0)[0]) == pytest.approx(
        float(curves.mse_per_dim("rdp", flat, 4.0)[0]), rel=1e-11
    )
