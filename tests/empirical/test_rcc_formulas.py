"""Closed forms behind empirical.rcc, checked against independent high-precision quadrature (mpmath).

Each check names the identity it verifies. Quadratures use 30 significant
digits; tolerances are stated relative to float64 round-off of the closed form.
"""
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from empirical import rcc
from empirical.rcc.gaussian_ratio import kl_nats_per_dim, log_ratio_coefficients, renyi_nats_per_dim
from empirical.rcc.index_coding import index_buckets, split_index
from empirical.rcc.pfr_law import geometric_means_equal_std, pfr_survival, renyi_tv_bound

mp.mp.dps = 30

finite = dict(allow_nan=False, allow_infinity=False)
means = st.floats(-3.0, 3.0, **finite)
stds = st.floats(0.2, 3.0, **finite)


def _gauss(x, mean, std):
    return mp.exp(-((x - mean) ** 2) / (2 * std**2)) / (std * mp.sqrt(2 * mp.pi))


def _quad_kl_nats(qm, qs, pm, ps):
    """``int q ln(q/p)`` by mpmath quadrature over +-40 q-stds."""
    f = lambda x: _gauss(x, qm, qs) * (mp.log(_gauss(x, qm, qs)) - mp.log(_gauss(x, pm, ps)))  # noqa: E731
    return mp.quad(f, [qm - 40 * qs, qm - 5 * qs, qm, qm + 5 * qs, qm + 40 * qs])


@settings(max_examples=10, deadline=None)
@given(qm=means, qs=stds, pm=means, ps=stds)
def test_kl_matches_quadrature(qm, qs, pm, ps):
    """Identity: KL(q||p) = ln(ps/qs) + (qs^2 + (qm-pm)^2)/(2 ps^2) - 1/2 = int q ln(q/p) (nats)."""
    got = float(kl_nats_per_dim(qm, qs, pm, ps))
    want = float(_quad_kl_nats(qm, qs, pm, ps))
    assert got == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_kl_near_equal_stds_has_no_cancellation():
    """Identity near equality: for qs = ps (1 + t), KL = t^2 - t^3/3 + O(t^4) nats with no cancellation."""
    for t in (1e-9, 1e-6, 1e-4):
        want = float(mp.log(1 / (1 + mp.mpf(t))) + (1 + mp.mpf(t)) ** 2 / 2 - mp.mpf(1) / 2)
        got = float(kl_nats_per_dim(0.0, 1.0 + t, 0.0, 1.0))
        assert got == pytest.approx(want, rel=1e-9)


@settings(max_examples=8, deadline=None)
@given(qm=means, qs=stds, pm=means, ps=stds, s=st.floats(0.05, 1.0, **finite))
def test_renyi_matches_quadrature(qm, qs, pm, ps, s):
    """Identity: D_a(q||p) = ln(int q^a p^(1-a)) / (a - 1), a = 1 + s, where finite (a ps^2 > (a-1) qs^2)."""
    a = 1.0 + s
    got = float(renyi_nats_per_dim(a, qm, qs, pm, ps))
    if a * ps**2 - (a - 1) * qs**2 <= 0:
        assert got == math.inf
        return
    f = lambda x: _gauss(x, qm, qs) ** a * _gauss(x, pm, ps) ** (1 - a)  # noqa: E731
    centre = (a * qm * ps**2 - (a - 1) * pm * qs**2) / (a * ps**2 - (a - 1) * qs**2)
    width = 40 * max(qs, ps)
    integral = mp.quad(f, [centre - width, centre - 3, centre, centre + 3, centre + width])
    want = float(mp.log(integral) / (a - 1))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-11)


def test_renyi_tends_to_kl():
    """Limit: D_a(q||p) -> KL(q||p) as a -> 1 (checked at a = 1 + 1e-7 to 1e-6 relative)."""
    args = (0.4, 0.8, -0.3, 1.3)
    assert float(renyi_nats_per_dim(1.0 + 1e-7, *args)) == pytest.approx(float(kl_nats_per_dim(*args)), rel=1e-6)


def test_log_ratio_coefficients_match_logpdf():
    """Identity: ln q(x) - ln p(x) = sum(offset + linear z + quadratic z^2) at x = p_mean + p_std z."""
    rng = np.random.default_rng(11)
    qm, pm = rng.normal(size=5), rng.normal(size=5)
    qs, ps = np.exp(rng.normal(0, 0.5, 5)), np.exp(rng.normal(0, 0.5, 5))
    offset, linear, quadratic = log_ratio_coefficients(qm, qs, pm, ps)
    for z in rng.normal(size=(4, 5)):
        x = pm + ps * z
        want = stats.norm.logpdf(x, qm, qs) - stats.norm.logpdf(x, pm, ps)
        np.testing.assert_allclose(offset + linear * z + quadratic * z * z, want, rtol=1e-12, atol=1e-12)
    assert np.all(log_ratio_coefficients(qm, ps, pm, ps)[2] == 0.0)


@pytest.mark.parametrize("kl_nats", [0.05, 1.0, 5.0])
@pytest.mark.parametrize("z", [-2.5, 0.0, 1.7])
def test_geometric_mean_closed_form(kl_nats, z):
    """Identity: c(x) = E_{X'~p}[(r(x) - r(X'))_+] = e^(D + a z) Phi(z + a) - Phi(z), a = sqrt(2D), for a
    mean shift a along one axis, x at standardised q-coordinate z (direct mpmath integral over X')."""
    a = mp.sqrt(2 * mp.mpf(kl_nats))
    r = lambda y: mp.exp(a * y - a**2 / 2)  # noqa: E731  (y: p-standardised coordinate)
    rx = r(a + z)
    phi = lambda y: mp.exp(-y * y / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
    cut = (mp.log(rx) + a**2 / 2) / a                        # r(y') < r(x) iff y' < cut
    want = mp.quad(lambda y: phi(y) * (rx - r(y)), [-mp.inf, cut])
    grid_c = geometric_means_equal_std([kl_nats])[0]
    from empirical.rcc.pfr_law import _QUAD_Z
    idx = int(np.argmin(np.abs(_QUAD_Z - z)))
    assert _QUAD_Z[idx] == pytest.approx(z, abs=1e-12)
    assert grid_c[idx] == pytest.approx(float(want), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("kl_nats,j", [(0.5, 1), (2.0, 3), (2.0, 40), (6.0, 1000), (11.0, 2**20)])
def test_survival_quadrature(kl_nats, j):
    """Identity: P(K - 1 >= j) = int phi(z) (c(z)/(1 + c(z)))^j dz; the fixed grid agrees with mpmath.quad."""
    a = mp.sqrt(2 * mp.mpf(kl_nats))

    def integrand(z):
        c = mp.exp(kl_nats + a * z) * mp.ncdf(z + a) - mp.ncdf(z)
        return mp.npdf(z) * mp.exp(-j * mp.log1p(1 / c)) if c > 0 else mp.mpf(0)

    want = mp.quad(integrand, [-12, -4, -1, 0, 1, 4, 12])
    got = pfr_survival([kl_nats], [j])[0, 0]
    assert got == pytest.approx(float(want), rel=1e-9, abs=1e-14)


def test_survival_edge_cases():
    """Identities: P(K - 1 >= 0) = 1; KL = 0 (q = p) gives K = 1 surely."""
    assert pfr_survival([0.0, 3.0], [0])[:, 0].tolist() == [1.0, 1.0]
    assert pfr_survival([0.0], [1, 5])[0].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("kl_bits", [0.25, 1.0, 1.5])
def test_index_entropy_binning_matches_direct_sum(kl_bits):
    """Identity: the binned H(K) equals -sum_j P_j log2 P_j summed term by term over j < 2^17 (the mass beyond
    2^17 is < 1e-9 at these KLs), to 1e-5 bits."""
    surv = pfr_survival([kl_bits * math.log(2.0)], np.arange(2**17 + 1))[0]
    assert surv[-1] < 1e-9
    pmf = np.maximum(surv[:-1] - surv[1:], 0.0)
    pmf = pmf[pmf > 0]
    direct = float(-(pmf * np.log2(pmf)).sum())
    assert rcc.pfr_index_entropy_bits(kl_bits)[0] == pytest.approx(direct, abs=1e-5)


def test_index_entropy_within_li_el_gamal_bound():
    """Inequality: KL < H(K) <= KL + log2(KL + 1) + 4 (Li & El Gamal 2018, Theorem 1) on equal-std chunks,
    KL = 0.25 .. 24 bits; and H(K) = 0 at KL = 0 (K = 1 surely)."""
    kl = np.arange(1, 97) / 4.0
    entropy = rcc.pfr_index_entropy_bits(kl)
    assert np.all(entropy > kl)
    assert np.all(entropy <= kl + np.log2(kl + 1.0) + 4.0)
    assert rcc.pfr_index_entropy_bits(0.0)[0] == 0.0
    with pytest.raises(ValueError, match="kl_bits"):
        rcc.pfr_index_entropy_bits(25.0)


@settings(max_examples=20, deadline=None)
@given(kl_bits=st.floats(0.1, 10.0, **finite), log2_n=st.integers(0, 24))
def test_renyi_chernoff_bound_dominates_exact_tail(kl_bits, log2_n):
    """Inequality: P(K > N) <= min_s (s/(eN))^s 2^max(s-1,0) (1 + exp(s D_{1+s})) on equal-std chunks
    (there D_{1+s} = (1+s) KL), over s in (0, 8].

    The exact tail is tested two-sided against simulation elsewhere; this bound
    is only claimed to be an upper bound (it is loose by design).
    """
    orders = 1.0 + np.concatenate([np.arange(1, 33) / 32.0, np.arange(5, 33) / 4.0])
    renyi = (orders * kl_bits * math.log(2.0))[:, None]
    bound = renyi_tv_bound(log2_n * math.log(2.0), renyi, orders)[0]
    exact = rcc.pfr_tail_probability(kl_bits, 2**log2_n)[0]
    assert exact <= bound + 1e-15


@settings(max_examples=30, deadline=None)
@given(index_bits=st.integers(1, 30), data=st.data())
def test_index_buckets_are_a_bijection(index_bits, data):
    """Identity: j = lo[bucket(j)] + low(j) with 0 <= low < 2^count, for j in [0, 2^L)."""
    j = np.array(data.draw(st.lists(st.integers(0, 2**index_bits - 1), min_size=1, max_size=20)))
    lo, rem_bits, _ = index_buckets(index_bits)
    bucket, low, count = split_index(j, index_bits)
    assert np.all(lo[bucket] + low == j)
    assert np.all((low >= 0) & (low < (1 << count)))
    assert np.all(count == rem_bits[bucket])


def test_index_buckets_tile_the_range():
    """Identity: the buckets of L = 7 partition [0, 2^7) into consecutive intervals (brute force)."""
    lo, rem_bits, _ = index_buckets(7)
    j = np.arange(128)
    bucket, _, _ = split_index(j, 7)
    assert np.all(np.diff(bucket) >= 0) and bucket[-1] == lo.size - 1
    assert np.array_equal(np.bincount(bucket), 1 << rem_bits)
