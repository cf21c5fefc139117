"""Kernels of ``bounds._numerics`` against mpmath at 30 digits."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from bounds import _numerics
from bounds._numerics import (
    chunked,
    divergence_integrand,
    gauss_legendre_unit,
    halfline_moments,
    integrate_adaptive,
    mixture_label_entropy,
    mixture_reduce,
)


def _mp_halfline(alpha, length):
    """Log-mass, mean, variance of exp(-alpha u - u^2/2) on [0, length] from erfc closed forms (mpmath)."""
    with mp.workdps(30):
        a = mp.mpf(alpha)
        L = mp.inf if math.isinf(length) else mp.mpf(length)

        def upper_mass(c):  # int_c^inf exp(-t^2/2) dt
            return mp.sqrt(mp.pi / 2) * mp.erfc(c / mp.sqrt(2))

        # t = alpha + u is standard normal on [alpha, alpha + L]; scale by exp(alpha^2/2).
        b = a + L
        z = upper_mass(a) - (upper_mass(b) if L != mp.inf else 0)
        e1 = mp.exp(-a * a / 2) - (mp.exp(-b * b / 2) if L != mp.inf else 0)            # int t e^{-t^2/2}
        e2 = z + a * mp.exp(-a * a / 2) - ((b * mp.exp(-b * b / 2)) if L != mp.inf else 0)  # int t^2 e^{-t^2/2}
        mean_t = e1 / z
        var_t = e2 / z - mean_t ** 2
        return mp.log(z) + a * a / 2, mean_t - a, var_t


@pytest.mark.parametrize("alpha", [0.0, 1e-6, 0.3, 1.0, 4.0, 30.0, 1e3])
@pytest.mark.parametrize("length", [1e-3, 0.5, 3.0, 20.0, math.inf])
def test_halfline_moments_match_closed_form(alpha, length):
    """log M, E[u], Var[u] of exp(-alpha u - u^2/2) on [0, L] agree with 30-digit erfc forms to 1e-12."""
    lm, mean, var = halfline_moments(alpha, length)
    ref_lm, ref_mean, ref_var = _mp_halfline(alpha, length)
    assert abs(float(lm) - float(ref_lm)) <= 1e-13 * max(1.0, abs(float(ref_lm)))
    assert float(mean) == pytest.approx(float(ref_mean), rel=1e-12)
    assert float(var) == pytest.approx(float(ref_var), rel=1e-11)


def test_halfline_moments_far_tail_and_tiny_interval():
    """Deep tail alpha = 1e6 (mass ~ 1/alpha, var ~ 1/alpha^2) and L = 1e-12 (mean L/2, var L^2/12)."""
    lm, mean, var = halfline_moments(1e6, math.inf)
    assert float(lm) == pytest.approx(-math.log(1e6) - 1e-12, rel=1e-14)  # M = 1/alpha (1 - 1/alpha^2 + ...)
    assert float(mean) == pytest.approx(1e-6 * (1 - 2e-12), rel=1e-12)
    assert float(var) == pytest.approx(1e-12 * (1 - 5e-12), rel=1e-11)
    lm, mean, var = halfline_moments(0.5, 1e-12)
    assert float(mean) == pytest.approx(0.5e-12, rel=1e-9)
    assert float(var) == pytest.approx(1e-24 / 12, rel=1e-9)
    lm, mean, var = halfline_moments(2.0, 0.0)
    assert lm == -np.inf and mean == 0.0 and var == 0.0


def test_gauss_legendre_unit_exact_for_degree_127():
    """64-point rule on [0,1] integrates t^k exactly (1/(k+1)) for k <= 127, to 4e-16."""
    t, w = gauss_legendre_unit(64)
    for k in (0, 1, 2, 31, 64, 127):
        assert abs(float(np.sum(w * t ** k)) - 1.0 / (k + 1)) <= 4e-16
    # the smallest node keeps its relative precision: t_1 = (1 - cos(pi/2 * j_0/ (n+1/2)))/2-ish, vs mpmath
    with mp.workdps(40):
        ref = mp.findroot(lambda x: mp.legendre(64, 2 * x - 1), mp.mpf(t[0]))
    assert float(t[0]) == pytest.approx(float(ref), rel=1e-14)


def test_divergence_integrand_against_mpmath():
    """p ln(p/g) - p + g is evaluated to 1e-13 relative from l = -50 to 50 (incl. |l| < 1e-8)."""
    with mp.workdps(40):
        for lg in (-3.0, -400.0):
            for l in (-50.0, -2.0, -0.5, -1e-3, -1e-9, 0.0, 1e-9, 1e-3, 0.04, 0.06, 2.0, 50.0):
                lp = lg + l
                got = float(divergence_integrand(np.array([lp]), np.array([lg]))[0])
                p, g = mp.exp(mp.mpf(lp)), mp.exp(mp.mpf(lg))
                ref = p * mp.log(p / g) - p + g
                assert got == pytest.approx(float(ref), rel=1e-13, abs=0.0)


def test_mixture_reduce_variance_without_cancellation():
    """Two far components with weights 1-1e-20, 1e-20: var = w1 w2 (m1-m2)^2 + sum w v, to 1e-14."""
    log_w = np.log(np.array([[1.0, 1e-20]]))
    means = np.array([[5.0, 7.0]])
    variances = np.array([[1e-30, 2e-30]])
    _, weights, mean, var = mixture_reduce(log_w, means, variances)
    w2 = 1e-20 / (1 + 1e-20)
    expected = (1 - w2) * w2 * 4.0 + (1 - w2) * 1e-30 + w2 * 2e-30
    assert float(var[0]) == pytest.approx(expected, rel=1e-14)


def test_integrate_adaptive_resolves_narrow_feature_and_reports_failure():
    """A unit-width bump at the end of a panel of length 1000 is found; a non-integrable spike raises."""
    f = lambda x: np.exp(-0.5 * (x - 999.0) ** 2) + 1e-3
    value, err = integrate_adaptive(f, 0.0, 1000.0, points=[998.0])
    ref = math.sqrt(2 * math.pi) * 0.5 * (1 + math.erf(1 / math.sqrt(2))) + 1.0
    assert value == pytest.approx(ref, rel=1e-12)
    with pytest.raises(ArithmeticError):
        integrate_adaptive(lambda x: 1.0 / np.abs(x - 0.3), 0.0, 1.0)


def test_mixture_reduce_matches_the_pairwise_variance_in_mpmath():
    """Mean and variance of random mixtures (and a nearly certain one, weights 1 - 1e-20 : 1e-20) vs 40-digit sums."""
    rng = np.random.default_rng(5)
    log_w = np.vstack([rng.normal(size=(4, 6)) * 3, [[0.0, -46.0, -np.inf, -3.0, -700.0, -46.0]]])
    means = rng.normal(size=(5, 6)) * 2
    variances = rng.uniform(0, 1, size=(5, 6))
    log_norm, weights, mean, var = mixture_reduce(log_w, means, variances)
    with mp.workdps(40):
        for i in range(5):
            w = [mp.e ** mp.mpf(v) if np.isfinite(v) else mp.mpf(0) for v in log_w[i]]
            total = sum(w)
            w = [x / total for x in w]
            m = sum(x * mp.mpf(v) for x, v in zip(w, means[i]))
            within = sum(x * mp.mpf(v) for x, v in zip(w, variances[i]))
            between = sum(w[a] * w[b] * (mp.mpf(means[i, a]) - mp.mpf(means[i, b])) ** 2
                          for a in range(6) for b in range(a + 1, 6))
            assert float(log_norm[i]) == pytest.approx(float(mp.log(total)), rel=1e-14, abs=1e-15)
            assert float(mean[i]) == pytest.approx(float(m), rel=1e-13, abs=1e-15)
            assert float(var[i]) == pytest.approx(float(within + between), rel=1e-13)


def test_mixture_reduce_memory_is_linear_in_the_components():
    """10 rows of 4000 components peak below 16 MB (a pairwise [J x J] difference array would need 1.3 GB)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    log_w, means = rng.normal(size=(10, 4000)), rng.normal(size=(10, 4000))
    tracemalloc.start()
    try:
        mixture_reduce(log_w, means, np.zeros_like(means))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16e6


def test_label_entropy_keeps_a_nearly_certain_label():
    """Weights (1 - e, e), e = 1e-20: H = e (1 - ln e) + O(e^2) in nats; log(1 + e) would drop the e term (4%)."""
    e = 1e-20
    _, h = mixture_label_entropy(np.array([[0.0, math.log(e / (1 - e))]]))
    expected = -(1 - e) * math.log1p(-e) - e * math.log(e)
    assert float(h[0]) == pytest.approx(expected, rel=1e-12)
    _, h3 = mixture_label_entropy(np.array([np.log([0.2, 0.3, 0.5]), [0.0, -np.inf, -np.inf]]))
    assert float(h3[0]) == pytest.approx(-(0.2 * math.log(0.2) + 0.3 * math.log(0.3) + 0.5 * math.log(0.5)), rel=1e-14)
    assert float(h3[1]) == 0.0


def test_chunked_evaluation_bounds_the_points_per_call(monkeypatch):
    """An integrand over 1000 components never sees more than POINT_BUDGET / 1000 points, and the values are the same."""
    monkeypatch.setattr(_numerics, "POINT_BUDGET", 1000 * 100)
    sizes = []

    def f(x):
        sizes.append(x.size)
        return np.sin(x)

    x = np.linspace(0, 1, 2345)
    np.testing.assert_array_equal(chunked(f, 1000)(x), np.sin(x))
    assert max(sizes) <= 100 and sum(sizes) == x.size


def test_pam64_report_runs_in_bounded_memory():
    """python -m bounds --source pam:64 took 2 GB (pam:150 8.7 GB): the report now peaks below 400 MB (traced)."""
    import tracemalloc

    from bounds.report import bounds_report
    from bounds.sources import Discrete

    tracemalloc.start()
    try:
        rep = bounds_report(Discrete.pam(64), 1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 400e6
    assert all(r.holds in (True, None) for r in rep.rows)
