"""Curves of every scheme, checked against an independent 40-digit reference
(``mp_reference``: bisection from the definitions) and against the orderings
and limits the theory predicts."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussian import components, curves, spectrum
from tests.gaussian import mp_reference as ref

RTOL = 1e-10  # the accuracy target

# log10 eigenvalues spanning 1e-30 .. 1e30, a few dims (mpmath is slow)
log_eigvals = st.lists(st.floats(-30, 30), min_size=1, max_size=6)
log_rate_bits = st.floats(-6, 4)  # 1e-6 .. 1e4 bits total


def _spec(logs):
    return np.sort(10.0 ** np.asarray(logs))[::-1]


def _representable(eigvals, rate_bits):
    """Skip cases beyond the solver's range: ln(snr lam_max) must stay below curves._LOG_MAX (340)."""
    worst = rate_bits * math.log(2) * 2 / eigvals.size + abs(math.log(eigvals[-1])) + abs(math.log(eigvals[0]))
    return worst < 300


def _rel(a, b):
    return abs(float(a) / float(b) - 1.0)


@settings(max_examples=40, deadline=None)
@given(log_eigvals, log_rate_bits)
def test_isotropic_schemes_match_mpmath(logs, log_rate):
    """mmse, diffc_a, diffc_f and snr agree with a 40-digit bisection to 1e-10 relative."""
    eig, rate = _spec(logs), 10.0**log_rate
    if not _representable(eig, rate):
        return
    c = curves.evaluate(eig, [rate])
    snr = ref.isotropic_snr(eig, rate)
    mmse, mse_a, mse_f = ref.isotropic_mse(eig, rate)
    assert _rel(c.snr[0], snr) < RTOL
    assert _rel(c.mse_mmse[0], mmse) < RTOL
    assert _rel(c.mse_diffc_a[0], mse_a) < RTOL
    assert _rel(c.mse_diffc_f[0], mse_f) < RTOL


@settings(max_examples=40, deadline=None)
@given(log_eigvals, log_rate_bits)
def test_rd_matches_mpmath(logs, log_rate):
    """Reverse water-filling (closed form on each piece) agrees with bisection to 1e-10."""
    eig, rate = _spec(logs), 10.0**log_rate
    if not _representable(eig, rate):
        return
    assert _rel(curves.mse_per_dim("rd", eig, rate)[0], ref.rd_mse(eig, rate)) < RTOL


@settings(max_examples=25, deadline=None)
@given(log_eigvals, log_rate_bits)
def test_rdp_matches_mpmath(logs, log_rate):
    """Optimal perfect-realism allocation agrees with slope-equalising bisection to 1e-10."""
    eig, rate = _spec(logs), 10.0**log_rate
    if not _representable(eig, rate):
        return
    c = curves.evaluate(eig, [rate])
    want = ref.rdp_mse(eig, rate)
    assert _rel(c.mse_rdp[0], want) < RTOL
    assert _rel(curves.mse_per_dim("rdp", eig, rate)[0], want) < RTOL


def test_wide_grid_of_rates_and_spectra():
    """Sweep 1e-6..1e4 bits total on 64 eigenvalues spanning 1e-30..1e30: every scheme within 1e-10."""
    eig = np.logspace(30, -30, 64)
    rates = np.logspace(-6, 4, 11)
    c = curves.evaluate(eig, rates)
    for i, rate in enumerate(rates):
        mmse, mse_a, mse_f = ref.isotropic_mse(eig, rate)
        assert _rel(c.mse_mmse[i], mmse) < RTOL
        assert _rel(c.mse_diffc_a[i], mse_a) < RTOL
        assert _rel(c.mse_diffc_f[i], mse_f) < RTOL
        assert _rel(c.mse_rd[i], ref.rd_mse(eig, rate)) < RTOL
        assert _rel(c.mse_rdp[i], ref.rdp_mse(eig, rate)) < RTOL


def test_vectorised_evaluate_equals_per_scheme_path():
    """``evaluate`` (fused sums + Newton) equals the per-component route of ``mse_per_dim``."""
    eig = spectrum.power_law(300, 1.3).eigvals
    rates = np.geomspace(0.01, 2000.0, 40)
    c = curves.evaluate(eig, rates)
    for scheme in curves.SCHEMES:
        np.testing.assert_allclose(curves.mse_per_dim(scheme, eig, rates), c.mse(scheme), rtol=1e-12)


def test_repeated_eigenvalues_are_summed_exactly():
    """Grouping equal eigenvalues (image model: ~24 dims per value) changes nothing: same as per component."""
    spec = spectrum.image_power_law(8, 8, 3)
    assert np.unique(spec.eigvals).size < spec.dim / 4
    rates = np.geomspace(0.01, 8.0, 20) * spec.dim
    c = curves.evaluate(spec, rates)
    for scheme in curves.SCHEMES:
        np.testing.assert_allclose(curves.mse_per_dim(scheme, spec, rates), c.mse(scheme), rtol=1e-12)
    for i in (0, 19):  # and the 40-digit reference over all 192 components
        mmse, _, mse_f = ref.isotropic_mse(spec.eigvals, rates[i])
        assert _rel(c.mse_mmse[i], mmse) < RTOL and _rel(c.mse_diffc_f[i], mse_f) < RTOL


def test_rdp_allocation_satisfies_kkt_and_spends_the_rate():
    """Per-component rates sum to R, and dD_i/dR_i = -2 lam w/sqrt(1-w) is equal across i."""
    eig = spectrum.patches().eigvals
    for rate_bits in (0.5, 20.0, 300.0):
        rates, snrs = curves.rdp_allocation(eig, rate_bits)
        assert _rel(rates.sum() / math.log(2), rate_bits) < 1e-12
        assert (rates > 0).all()  # the realism allocation never switches a component off
        w = np.exp(-2 * rates[0])
        slope = 2 * eig * w / np.sqrt(-np.expm1(-2 * rates[0]))
        np.testing.assert_allclose(slope, slope[0], rtol=1e-9)
        np.testing.assert_allclose(components.rate_nats(eig, snrs[0]), rates[0], rtol=1e-12)


def test_rdp_beats_a_generic_optimiser():
    """No allocation found by SLSQP does better than rdp (and SLSQP gets within 1e-6)."""
    from scipy.optimize import minimize

    eig = np.array([3.0, 1.0, 0.2, 0.01])
    total = 2.0 * math.log(2)  # 2 bits

    def objective(r):
        return components.mse_rdp(eig, np.maximum(r, 1e-12)).mean()

    res = minimize(objective, np.full(4, total / 4), method="SLSQP", bounds=[(1e-12, None)] * 4,
                   constraints=[{"type": "eq", "fun": lambda r: r.sum() - total}], options={"ftol": 1e-14})
    best = curves.mse_per_dim("rdp", eig, 2.0)[0]
    assert best <= res.fun * (1 + 1e-12)
    assert res.fun <= best * (1 + 1e-6)


@pytest.mark.parametrize("scheme", curves.SCHEMES)
def test_rate_for_mse_inverts_mse_per_dim(scheme):
    """rate_for_mse(mse_per_dim(R)) = R up to the problem's condition number times 1e-15."""
    eig = spectrum.power_law(50, 1.5).eigvals
    rates = np.geomspace(1e-3, 1e3, 25)
    mse = curves.mse_per_dim(scheme, eig, rates)
    back = curves.rate_for_mse(scheme, eig, mse)
    # condition number |d ln R / d ln D| from a central difference
    h = 1e-4
    dlog_mse = np.log(curves.mse_per_dim(scheme, eig, rates * (1 + h)) / curves.mse_per_dim(scheme, eig, rates * (1 - h)))
    cond = np.abs(2 * h / dlog_mse)
    np.testing.assert_array_less(np.abs(back / rates - 1), 1e-14 * np.maximum(cond, 1) + 1e-12)


def test_rate_for_mse_zero_rate_region():
    """An MSE at or above the zero-rate distortion needs rate 0; mse <= 0 is an error."""
    eig = np.array([2.0, 1.0])
    assert curves.rate_for_mse("rd", eig, 1.5)[0] == 0.0
    assert curves.rate_for_mse("diffc_a", eig, 3.0)[0] == 0.0
    assert curves.rate_for_mse("diffc_a", eig, 2.9)[0] > 0.0
    with pytest.raises(ValueError, match="mse_per_dim"):
        curves.rate_for_mse("rd", eig, 0.0)


# ---------------------------------------------------------------- orderings


spectra_strategy = st.one_of(
    st.builds(spectrum.power_law, st.integers(1, 200), st.floats(0, 3)),
    st.builds(spectrum.exponential, st.integers(1, 200), st.floats(0, 0.5)),
    st.just(spectrum.patches()),
)


@settings(max_examples=60, deadline=None)
@given(spectra_strategy, st.floats(-3, 1.5))
def test_orderings(spec, log_rate_per_dim):
    """rd <= mmse;  rd <= rdp <= diffc_f <= diffc_a;  rdp <= 2 rd (Blau–Michaeli); D_A = 2 mmse."""
    rate = 10.0**log_rate_per_dim * spec.dim
    c = curves.evaluate(spec, [rate])
    tol = 1 + 1e-12
    assert c.mse_rd[0] <= c.mse_mmse[0] * tol
    assert c.mse_rd[0] <= c.mse_rdp[0] * tol
    assert c.mse_rdp[0] <= c.mse_diffc_f[0] * tol
    assert c.mse_diffc_f[0] <= c.mse_diffc_a[0] * tol
    assert c.mse_rdp[0] <= 2 * c.mse_rd[0] * tol
    assert c.mse_diffc_a[0] == pytest.approx(2 * c.mse_mmse[0], rel=1e-15)


def test_diffc_a_can_exceed_twice_rd():
    """Documented: isotropic DiffC-A is NOT within 2 rd at low rate on a non-flat spectrum.

    For the natural-patch spectrum at 0.01 bits/dim, D_A / D_rd is about 3.4 dB
    (> 10 log10 2): isotropic noise spends rate on components that
    water-filling switches off. The realism-optimal rdp stays within 2 rd.
    """
    c = curves.evaluate(spectrum.patches(), [0.01 * 64])
    assert c.gap_db("diffc_a")[0] > curves.HIGH_RATE_GAP_DB + 0.1
    assert c.gap_db("rdp")[0] < curves.HIGH_RATE_GAP_DB


@settings(max_examples=30, deadline=None)
@given(spectra_strategy)
def test_curves_decrease_and_are_convex(spec):
    """Every MSE(R) is strictly decreasing and convex on a uniform rate grid (2nd difference >= 0)."""
    rates = np.linspace(0.05, 4.0, 60) * spec.dim
    c = curves.evaluate(spec, rates)
    for scheme in curves.SCHEMES:
        mse = c.mse(scheme)
        assert (np.diff(mse) < 0).all(), scheme
        second = mse[:-2] - 2 * mse[1:-1] + mse[2:]
        assert (second >= -1e-12 * mse[1:-1]).all(), scheme


def test_flat_spectrum_isotropic_is_optimal():
    """White source: isotropic noise is optimal, so mmse == rd and diffc_f == rdp == diffc_f_allocated."""
    eig = spectrum.flat(16).eigvals
    rates = np.geomspace(1e-4, 1e3, 30)
    c = curves.evaluate(eig, rates)
    np.testing.assert_allclose(c.mse_mmse, c.mse_rd, rtol=1e-12)
    np.testing.assert_allclose(c.mse_diffc_f, c.mse_rdp, rtol=1e-12)
    np.testing.assert_allclose(curves.mse_per_dim("diffc_f_allocated", eig, rates), c.mse_rdp, rtol=1e-12)
    # and the scalar formula D = 2 (1 - sqrt(1 - w)) = 2 w / (1 + sqrt(1 - w)), w = e^{-2 R/d}
    w = np.exp(-2 * rates * math.log(2) / 16)
    np.testing.assert_allclose(c.mse_rdp, 2 * w / (1 + np.sqrt(1 - w)), rtol=1e-12)


def test_diffc_f_allocated_equals_rdp():
    """DiffC-F at the KKT noise levels attains rdp (computed through components.mse_diffc_f)."""
    for spec in (spectrum.patches(), spectrum.power_law(100, 2.0)):
        rates = np.geomspace(0.01, 10, 15) * spec.dim
        np.testing.assert_allclose(curves.mse_per_dim("diffc_f_allocated", spec, rates),
                                   curves.mse_per_dim("rdp", spec, rates), rtol=1e-12)


def test_high_rate_gap_tends_to_3db():
    """10 log10(D_A/D_F) -> 10 log10 2 = 3.0103 dB from below, and diffc_f / rd -> 1."""
    spec = spectrum.patches()
    rates = np.array([2.0, 4.0, 8.0, 16.0, 30.0]) * spec.dim
    c = curves.evaluate(spec, rates)
    gap = c.gap_db_ancestral_over_flow
    assert (np.diff(gap[:4]) > 0).all() and (gap[:4] < curves.HIGH_RATE_GAP_DB).all()
    assert gap[-1] <= curves.HIGH_RATE_GAP_DB + 1e-12
    assert curves.HIGH_RATE_GAP_DB - gap[-1] < 1e-6
    assert abs(c.gap_db("diffc_f")[-1]) < 1e-6
    # 10 * log10(2): libm's log10 (<= 1 ulp) and one product, against the correctly rounded literal
    assert curves.HIGH_RATE_GAP_DB == pytest.approx(3.010299956639812, rel=4 * np.finfo(float).eps)


def test_zero_rate():
    """At rate 0: rd = mmse = mean variance, realism schemes = twice that, snr = 0."""
    eig = np.array([4.0, 1.0, 0.25])
    c = curves.evaluate(eig, [0.0])
    assert c.snr[0] == 0.0
    for s in ("rd", "mmse"):
        assert c.mse(s)[0] == pytest.approx(eig.mean(), rel=1e-15)
    for s in ("rdp", "diffc_a", "diffc_f", "diffc_f_allocated"):
        assert c.mse(s)[0] == pytest.approx(2 * eig.mean(), rel=1e-15)


def test_water_level_and_snr_helpers():
    """water_level gives D_i = min(theta, lam_i) summing to rd; snr_for_rate spends the rate."""
    eig = spectrum.power_law(20, 1.0).eigvals
    theta = curves.water_level(eig, 10.0)[0]
    assert np.minimum(theta, eig).mean() == pytest.approx(curves.mse_per_dim("rd", eig, 10.0)[0], rel=1e-13)
    active = eig > theta
    assert 0.5 * np.log(eig[active] / theta).sum() / math.log(2) == pytest.approx(10.0, rel=1e-13)
    snr = curves.snr_for_rate(eig, 10.0)[0]
    assert components.rate_nats(eig, snr).sum() / math.log(2) == pytest.approx(10.0, rel=1e-13)


def test_psnr():
    assert curves.psnr_db(1.0, 2.0) == pytest.approx(10 * math.log10(4))
    with pytest.raises(ValueError, match="peak"):
        curves.psnr_db(1.0, 0.0)


@pytest.mark.parametrize(
    "rate, match",
    [(-1.0, "rate_bits_total"), (float("nan"), "rate_bits_total"), (float("inf"), "rate_bits_total"),
     ([[1.0]], "rate_bits_total")],
)
def test_bad_rates(rate, match):
    with pytest.raises(ValueError, match=match):
        curves.evaluate([1.0], rate)


@pytest.mark.parametrize("eig", [[], [1.0, -1.0], [1.0, float("nan")], [0.0], [[1.0]], "abc"])
def test_bad_eigvals(eig):
    with pytest.raises(ValueError, match="eigvals"):
        curves.evaluate(eig, [1.0])


def test_bad_scheme():
    with pytest.raises(ValueError, match="scheme"):
        curves.mse_per_dim("diffc_x", [1.0], 1.0)


def test_mp_reference_is_itself_right_on_a_scalar():
    """Sanity of the reference: one component, rate R nats -> rd = lam e^{-2R}, mmse likewise."""
    lam, rate_bits = 2.5, 3.0
    r = rate_bits * math.log(2)
    assert float(ref.rd_mse([lam], rate_bits)) == pytest.approx(lam * math.exp(-2 * r), rel=1e-14)
    assert float(ref.isotropic_mse([lam], rate_bits)[0]) == pytest.approx(lam * math.exp(-2 * r), rel=1e-14)
    assert float(ref.rdp_mse([lam], rate_bits)) == pytest.approx(
        2 * lam * (1 - math.sqrt(1 - math.exp(-2 * r))), rel=1e-14)
    assert mp.mp.dps >= 40


def test_rate_per_dim_keyword_and_log_snr():
    """rate_bits_per_dim * d is the same as rate_bits_total; log_snr_for_rate = ln snr_for_rate."""
    spec = spectrum.power_law(10, 1.0)
    a = curves.evaluate(spec, rate_bits_per_dim=[0.5, 2.0])
    b = curves.evaluate(spec, [5.0, 20.0])
    eps = np.finfo(float).eps
    for s in curves.SCHEMES:  # same rates (0.5 * 10 and 2 * 10 are exact): equal up to a few roundings
        np.testing.assert_allclose(a.mse(s), b.mse(s), rtol=8 * eps, atol=0)
    # ln(exp(t)) = t + delta with |delta| <= eps (exp's relative error) + eps |t| (the log's rounding)
    log_snr = curves.log_snr_for_rate(spec, [5.0, 20.0])
    assert np.all(np.abs(log_snr - np.log(b.snr)) <= 2 * eps * (1 + np.abs(log_snr)))
    assert curves.log_snr_for_rate(spec, 0.0)[0] == -np.inf
    with pytest.raises(ValueError, match="exactly one"):
        curves.evaluate(spec, [1.0], rate_bits_per_dim=[1.0])
    with pytest.raises(ValueError, match="rate_bits_per_dim"):
        curves.mse_per_dim("rd", spec, rate_bits_per_dim=-1.0)


def test_large_dim_residuals_in_extended_precision():
    """d = 12288 (the benchmark's size, fast-log path): the returned snr spends the rate and the MSEs
    match sums recomputed in 80-bit long double, to 1e-12 relative."""
    spec = spectrum.power_law(12288, 1.0)
    rates = np.geomspace(0.01, 8.0, 7) * spec.dim
    c = curves.evaluate(spec, rates)
    lam = spec.eigvals.astype(np.longdouble)
    for i, rate in enumerate(rates):
        x = np.longdouble(c.snr[i]) * lam
        spent_bits = np.sum(np.log1p(x)) / 2 / np.log(np.longdouble(2))
        assert abs(float(spent_bits / np.longdouble(rate)) - 1) < 1e-12
        mmse = np.sum(lam / (1 + x)) / lam.size
        rho = np.sqrt(x / (1 + x))
        flow = np.sum(2 * lam / ((1 + x) * (1 + rho))) / lam.size
        assert _rel(c.mse_mmse[i], mmse) < 1e-12 and _rel(c.mse_diffc_f[i], flow) < 1e-12
        # rdp: DiffC-F at the allocated snrs, recomputed in long double, spends the rate and gives mse_rdp
        _, snrs = curves.rdp_allocation(spec, rate)
        xa = np.asarray(snrs[0], dtype=np.longdouble) * lam
        assert abs(float(np.sum(np.log1p(xa)) / 2 / np.log(np.longdouble(2)) / np.longdouble(rate)) - 1) < 1e-12
        rho_a = np.sqrt(xa / (1 + xa))
        assert _rel(c.mse_rdp[i], np.sum(2 * lam / ((1 + xa) * (1 + rho_a))) / lam.size) < 1e-12
