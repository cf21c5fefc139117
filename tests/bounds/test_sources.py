"""Sources: exact I(X;Z), mmse, CDFs and flow maps against independent references."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import special

from bounds.sources import (
    Discrete,
    Gaussian,
    GaussianMixture,
    Laplace,
    Product,
    Uniform,
    _mixture_quantile,
    vp_alpha_sigma,
)
from gaussian.components import mse_diffc_f, mse_mmse, rate_nats
from tests.bounds import mp_reference as ref
from tests.bounds.strategies import (
    FAST_PROPERTY,
    PROPERTY,
    continuous_sources,
    gaussians,
    log_uniform,
    scalar_sources,
    snrs,
)

# (source, kind, params for mp_reference, snrs); mixture params use variances.
LAPLACE = (Laplace(1.0), "laplace", (1.0,))
UNIFORM = (Uniform(1.0), "uniform", (1.0,))
MIXTURE = (GaussianMixture((0.3, 0.7), (-2.0, 1.0), (0.5, 1.0)), "mixture", ((0.3, 0.7), (-2.0, 1.0), (0.25, 1.0)))
PAM4 = (Discrete.pam(4), "discrete", ((0.25,) * 4, (-3.0, -1.0, 1.0, 3.0), (0.0,) * 4))
BINARY = (Discrete.binary(0.2), "discrete", ((0.8, 0.2), (-1.0, 1.0), (0.0, 0.0)))
REFERENCE_POINTS = [
    (LAPLACE, 1e-6), (LAPLACE, 1.0), (LAPLACE, 1e6),
    ((Laplace(0.3), "laplace", (0.3,)), 0.03), ((Laplace(0.3), "laplace", (0.3,)), 1e3),
    (UNIFORM, 1e-6), (UNIFORM, 1.0), (UNIFORM, 1e6),
    ((Uniform(2.5), "uniform", (2.5,)), 0.03), ((Uniform(2.5), "uniform", (2.5,)), 30.0),
    (MIXTURE, 1e-6), (MIXTURE, 1.0), (MIXTURE, 30.0), (MIXTURE, 1e6),
    (PAM4, 1e-6), (PAM4, 1.0), (PAM4, 30.0),
    (BINARY, 0.03), (BINARY, 3.0),
]
RTOL = 1e-10  # stated accuracy of the package for 1e-6 <= snr <= 1e6


@pytest.mark.parametrize("case, snr", REFERENCE_POINTS, ids=lambda v: repr(v)[:30] if isinstance(v, tuple) else f"{v:g}")
def test_information_and_mmse_match_high_precision_reference(case, snr):
    """I(X;Z) and mmse agree with h(Y) - 1/2 ln(2 pi e) and (1 - J(Y))/snr (sympy p_Y, mpmath) to 1e-10."""
    source, kind, params = case
    info_ref, mmse_ref = ref.info_and_mmse(kind, params, source.variance_total(), snr)
    assert source.mutual_information_nats(snr) == pytest.approx(float(info_ref), rel=RTOL)
    assert source.mmse(snr) == pytest.approx(float(mmse_ref), rel=RTOL)


@pytest.mark.parametrize("snr", [30.0, 300.0, 3000.0])
def test_discrete_mmse_at_high_snr_matches_bayes_rule(snr):
    """mmse of 4-PAM where it is exp(-snr/2)-small: matches the direct Bayes-rule integral to 1e-10."""
    source = Discrete.pam(4)
    expected = ref.discrete_mmse(source.atoms, source.probs, snr)
    assert source.mmse(snr) == pytest.approx(float(expected), rel=RTOL)
    info = source.mutual_information_nats(snr)
    assert info <= math.log(4.0)
    if snr >= 300:  # H(X|Y) < 1e-30: I equals H(X) = ln 4 in floating point
        assert info == pytest.approx(math.log(4.0), rel=1e-15)


@FAST_PROPERTY
@given(gaussians(), snrs(1e-8, 1e8))
def test_gaussian_source_reproduces_closed_forms(source, snr):
    """The quadrature path for N(m, v) equals gaussian.components: rate, MMSE and DiffC-F MSE to 1e-12."""
    v = source.variance
    assert source.mutual_information_nats(snr) == pytest.approx(float(rate_nats(v, snr)), rel=1e-12)
    assert source.mmse(snr) == pytest.approx(float(mse_mmse(v, snr)), rel=1e-12)
    assert source.mse_diffc_f_total(snr) == pytest.approx(float(mse_diffc_f(v, snr)), rel=1e-12)


def test_differential_and_discrete_entropies():
    """h(X): Laplace 1 + ln 2b, uniform ln 2w, mixture vs mpmath to 1e-11; H(X) of PAM is ln M; atoms give None."""
    assert Laplace(0.7).differential_entropy_nats() == pytest.approx(1 + math.log(1.4), rel=1e-15)
    assert Uniform(0.7).differential_entropy_nats() == pytest.approx(math.log(1.4), rel=1e-15)
    mix = GaussianMixture((0.3, 0.7), (-2.0, 1.0), (0.5, 1.0))
    expected = ref.mixture_entropy(mix.weights, mix.means, mix.stds)
    assert mix.differential_entropy_nats() == pytest.approx(float(expected), rel=1e-11)
    assert Discrete.pam(5).entropy_nats() == pytest.approx(math.log(5.0), rel=1e-15)
    assert Discrete.pam(5).differential_entropy_nats() is None
    assert Product((Laplace(1.0), Discrete.pam(2))).differential_entropy_nats() is None
    assert Laplace(1.0).entropy_nats() is None


@pytest.mark.parametrize("case", [LAPLACE, UNIFORM, MIXTURE], ids=lambda c: repr(c[0])[:30])
@pytest.mark.parametrize("snr", [0.03, 1e3])
@pytest.mark.parametrize("y", [-30.0, 0.3, 4.0])
def test_output_cdf_matches_quadrature_of_density(case, snr, y):
    """ln P(Y <= y) and ln P(Y > y) agree with 24-digit quadrature of the closed-form p_Y to 1e-11 (abs in log)."""
    source, kind, params = case
    a = math.sqrt(snr)
    cdf = ref.output_cdf(kind, params, snr, y)
    with mp.workdps(30):
        log_cdf, log_sf = float(mp.log(cdf)), float(mp.log(1 - cdf))
    assert float(source._output_log_cdf(np.array([y]), a)[0]) == pytest.approx(log_cdf, rel=1e-11, abs=1e-11)
    assert float(source._output_log_cdf_upper(np.array([y]), a)[0]) == pytest.approx(log_sf, rel=1e-11, abs=1e-11)


@PROPERTY
@given(scalar_sources(), snrs(1e-2, 1e3))
def test_flow_map_is_monotone_and_pushes_output_to_source(source, snr):
    """T = F_X^{-1} o F_Z is non-decreasing, and T(Z) has the law of X: two-sample quantiles agree (n = 4000)."""
    rng = np.random.default_rng(np.random.SeedSequence([7, 0]))
    z = np.sort(source.sample_channel(source.sample(4000, rng), snr, rng))
    t = source.flow_map(z, snr)
    assert np.all(np.diff(t) >= -1e-12 * (1 + np.abs(t[1:])))
    x = source.sample(4000, rng)
    # Kolmogorov-Smirnov distance between T(Z) and X below the 1e-4-level critical value 2.07/sqrt(n/2).
    grid = np.sort(np.concatenate([t, x]))
    ks = np.max(np.abs(np.searchsorted(np.sort(t), grid, side="right") / t.size
                       - np.searchsorted(np.sort(x), grid, side="right") / x.size))
    assert ks < 2.07 / math.sqrt(2000)


def test_flow_map_of_discrete_source_switches_at_exact_quantile():
    """For binary p(+1) = 0.2, T(z) jumps to +1 exactly where P(Y <= y) = 0.8, computed by mpmath bisection."""
    source = Discrete.binary(0.2)
    snr = 4.0
    a = math.sqrt(snr)
    with mp.workdps(30):
        f = lambda y: 0.8 * mp.ncdf(y + a) + 0.2 * mp.ncdf(y - a) - mp.mpf("0.8")
        y_star = float(mp.findroot(f, 1.0))
    sigma = vp_alpha_sigma(snr)[1]
    z = np.array([y_star - 1e-9, y_star + 1e-9]) * sigma
    assert list(source.flow_map(z, snr)) == [-1.0, 1.0]


# Reported by the CLI property test (python -m bounds, snr = e^0.01): a narrow component (sd 0.054) gives
# ln F_X an inflection, Newton 2-cycled inside the bracket and T was off by up to 0.15 at scattered y,
# so the DiffC-F quadrature did not converge.
NARROW = GaussianMixture((0.4484128088742145, 0.34076979869033647, 0.15115338089616132, 0.05966401153928767),
                         (0.0, 3.021985791407136, -1.7830810248478008, -1.0873016005669935),
                         (1.010050167084168, 1.010050167084168, 1.0, 0.05411764085425343))


def test_flow_map_with_a_narrow_component_matches_bisection():
    """T(y) = F_X^{-1}(F_Y(y)) of NARROW equals a 30-digit mpmath bisection to 1e-13, also where Newton 2-cycled.

    Evaluated as the DiffC-F quadrature does (on the centred copy, at outputs ``y``); the 11 outputs
    within 1e-4 of -1.88393 include four where the old solver returned T off by 3e-8 to 0.15.
    """
    snr = math.exp(0.01)
    src = NARROW._centred()
    ys = np.concatenate([np.linspace(-1.88393 - 1e-4, -1.88393 + 1e-4, 11), np.linspace(-6.0, 8.0, 29)])
    t = src._flow_y(ys, math.sqrt(snr))
    with mp.workdps(30):
        comps = [(mp.mpf(w), mp.mpf(m), mp.mpf(s)) for w, m, s in zip(src.weights, src.means, src.stds)]
        s_mp = mp.mpf(snr)
        for y, t_y in zip(ys, t):
            u = mp.fsum(w * mp.ncdf((mp.mpf(y) - mp.sqrt(s_mp) * m) / mp.sqrt(1 + s_mp * sd * sd))
                        for w, m, sd in comps)
            lo, hi = mp.mpf(-30), mp.mpf(30)
            for _ in range(100):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if mp.fsum(w * mp.ncdf((mid - m) / sd) for w, m, sd in comps) < u else (lo, mid)
            assert t_y == pytest.approx(float(lo), rel=1e-13, abs=1e-13), y
    assert math.isfinite(NARROW.mse_diffc_f_total(snr))


@FAST_PROPERTY
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(
    st.lists(st.floats(0.02, 1.0), min_size=k, max_size=k),
    st.lists(st.floats(-5.0, 5.0), min_size=k, max_size=k),
    st.lists(log_uniform(0.01, 3.0), min_size=k, max_size=k))))
@example((list(NARROW.weights), list(NARROW.means), list(NARROW.stds)))
def test_mixture_quantile_solves_the_cdf_equation(params):
    """Backward error of F_X^{-1} at 2400 levels in both tails.

    ``|ln F(x) - ln u| <= (d ln F / dx) 1e-13 (1 + |x|) + 1e-14 |ln u|``: the root to 1e-13 where ``F``
    is not flat to float64, anything where it is (the example is the mixture whose Newton 2-cycled).
    """
    raw, means, stds = (np.asarray(v, dtype=float) for v in params)
    w, m, sd = raw / raw.sum(), means, stds
    log_level = np.concatenate([np.linspace(-700.0, -1.0, 200), np.log(np.linspace(1e-3, 0.5, 1000))])
    log_cdf = np.concatenate([log_level, np.log1p(-np.exp(log_level))])
    log_sf = np.concatenate([np.log1p(-np.exp(log_level)), log_level])
    x = _mixture_quantile(w, m, sd, log_cdf, log_sf)
    upper = log_sf < log_cdf
    sign = np.where(upper, -1.0, 1.0)
    z = (sign * x)[:, None] * np.ones_like(m) - sign[:, None] * m
    lf = special.logsumexp(np.log(w) + special.log_ndtr(z / sd), axis=1)
    slope = np.exp(special.logsumexp(np.log(w) - 0.5 * (z / sd) ** 2 - np.log(sd) - 0.5 * math.log(2 * math.pi),
                                     axis=1) - lf)
    target = np.where(upper, log_sf, log_cdf)
    assert np.all(np.abs(lf - target) <= slope * 1e-13 * (1.0 + np.abs(x)) + 1e-14 * np.abs(target))


@PROPERTY
@given(continuous_sources(), snrs(1e-2, 1e3))
def test_posterior_mean_is_the_conditional_expectation(source, snr):
    """E[(X - E[X|Z]) g(Z)] = 0 for g(z) = 1, z (orthogonality), and E[(X - E[X|Z])^2] = mmse, by MC (4.5 sigma)."""
    rng = np.random.default_rng(np.random.SeedSequence([11, 0]))
    n = 40000
    x = source.sample(n, rng)
    z = source.sample_channel(x, snr, rng)
    resid = x - source.posterior_mean(z, snr)
    for g in (np.ones_like(z), z):
        prod = resid * g
        assert abs(prod.mean()) <= 4.5 * prod.std() / math.sqrt(n)
    sq = resid ** 2
    assert abs(sq.mean() - source.mmse(snr)) <= 4.5 * sq.std() / math.sqrt(n)
    # posterior variance averages to the mmse as well
    pv = source.posterior_variance(z, snr)
    assert abs(pv.mean() - source.mmse(snr)) <= 4.5 * pv.std() / math.sqrt(n) + 1e-12 * source.mmse(snr)


def test_snr_zero_and_product_sums():
    """snr = 0 gives I = 0, mmse = Var, D_F = 2 Var; a product sums I, mmse, h over its coordinates."""
    lap, uni = Laplace(0.5), Uniform(1.5)
    assert lap.mutual_information_nats(0.0) == 0.0
    assert lap.mmse(0.0) == 0.5 and lap.mse_diffc_f_total(0.0) == 1.0
    prod = Product((lap, uni, lap))
    for s in (0.1, 10.0):
        assert prod.mutual_information_nats(s) == pytest.approx(
            2 * lap.mutual_information_nats(s) + uni.mutual_information_nats(s), rel=1e-15)
        assert prod.mmse(s) == pytest.approx(2 * lap.mmse(s) + uni.mmse(s), rel=1e-15)
        assert prod.mmse_per_dim(s) == pytest.approx(prod.mmse(s) / 3, rel=1e-15)
    assert prod.differential_entropy_nats() == pytest.approx(
        2 * lap.differential_entropy_nats() + uni.differential_entropy_nats(), rel=1e-15)
    iid = Product.iid(Discrete.pam(2), 3)
    assert iid.entropy_nats() == pytest.approx(3 * math.log(2), rel=1e-15)
    rng = np.random.default_rng(0)
    assert prod.sample(5, rng).shape == (5, 3)
    z = prod.sample_channel(prod.sample(5, rng), 1.0, rng)
    assert prod.posterior_mean(z, 1.0).shape == (5, 3)
    assert prod.flow_map(z, 1.0).shape == (5, 3)


@pytest.mark.parametrize("bad, match", [
    (lambda: Laplace(0.0), "scale"),
    (lambda: Uniform(-1.0), "halfwidth"),
    (lambda: Gaussian(float("nan")), "variance"),
    (lambda: GaussianMixture((0.5, 0.4), (0, 1), (1, 1)), "weights must sum to 1"),
    (lambda: GaussianMixture((0.5, 0.5), (0, 1), (1, 0)), "stds"),
    (lambda: Discrete((1.0, 1.0), (0.5, 0.5)), "distinct"),
    (lambda: Discrete.pam(1), "m"),
    (lambda: Discrete.binary(1.0), "p_plus"),
    (lambda: Product.iid(Laplace(1.0), 0), "dim"),
    (lambda: Laplace(1.0).mmse(-1.0), "snr"),
    (lambda: Laplace(1.0).mutual_information_nats(float("inf")), "snr"),
])
def test_bad_input_raises_value_error_naming_the_argument(bad, match):
    """Invalid parameters raise ValueError that names the argument."""
    with pytest.raises(ValueError, match=match):
        bad()


@pytest.mark.parametrize("snr", [30.0, 1e3])
def test_windowed_mixture_numerics_equal_the_full_sums(snr, monkeypatch):
    """With many atoms or components only those within reach of an output are summed (work O(W), not O(J)):
    rate, mmse, DiffC-F error, H(C|Z) and the flow map equal the full sums (dropped weights are below exp(-750))."""
    import bounds.sources as S

    def values(src, y, with_flow):
        out = [src.mutual_information_nats(snr), src.mmse(snr), src.component_posterior_entropy_nats(snr),
               src.posterior_mean(y, snr)]
        return out + [src.mse_diffc_f_total(snr), src.flow_map(y, snr)] if with_flow else out

    # (the Gaussian mixture's flow map solves against every component: not windowed, so not compared)
    sources = [(lambda: Discrete.pam(64, 1.0), True),
               (lambda: GaussianMixture(tuple([1 / 40] * 40), tuple(float(k - 20) for k in range(40)),
                                        tuple(0.01 + 0.002 * k for k in range(40))), False)]
    a = math.sqrt(snr)
    for make, with_flow in sources:
        windowed = make()
        y_out = a * np.linspace(windowed._m.min(), windowed._m.max(), 801)
        assert windowed._window(y_out, a)[1].shape[1] < windowed._m.size
        y = y_out / math.sqrt(1 + snr)   # the VP observations z = y sigma
        got = values(windowed, y, with_flow)
        monkeypatch.setattr(S, "_WINDOW_MIN_COMPONENTS", 10**9)
        full = make()
        assert full._window(y_out, a) is None
        want = values(full, y, with_flow)
        monkeypatch.undo()
        for g, w in zip(got, want):   # (posterior means near 0 differ by rounding of the atoms' scale)
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=16 * np.finfo(float).eps * np.abs(full._m).max())
        if with_flow:
            np.testing.assert_array_equal(got[-1], want[-1])


def test_discrete_flow_error_resolves_the_jumps_of_the_flow_map():
    """DiffC-F of 20-PAM at snr 0.01: the step function's jumps are break points (it was 8e-5 off without them).

    Reference: the same integrand with the jumps found by root-finding F_Y(y) = k/20 (scipy brentq), at 1e-13.
    """
    from scipy import optimize

    from bounds._numerics import integrate_adaptive, mixture_reduce

    src, snr = Discrete.pam(20), 0.01
    a = math.sqrt(snr)
    lo, hi, points = src._y_range(a)
    jumps = [optimize.brentq(lambda t, k=k: math.exp(src._output_log_cdf(np.array([t]), a)[0]) - k / 20, lo, hi,
                             xtol=1e-14) for k in range(1, 20)]

    def integrand(t):
        log_norm, _, mean, _ = mixture_reduce(*src._pieces(t, a))
        return np.exp(log_norm) * (mean - src._flow_y(t, a)) ** 2

    ref, _ = integrate_adaptive(integrand, lo, hi, list(points) + jumps, epsrel=1e-13)
    assert src.mse_diffc_f_total(snr) - src.mmse(snr) == pytest.approx(ref, rel=1e-9)
