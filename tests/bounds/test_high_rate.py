"""High-rate asymptotics: the all-snr inequalities, and the limits with their 1/snr rates."""
from __future__ import annotations

import math

import mpmath as mp
import pytest
from hypothesis import given

from bounds.high_rate import (
    high_rate_comparison,
    high_rate_mmse_total,
    high_rate_mutual_information_nats,
    high_rate_sse_diffc_a_total,
    high_rate_sse_diffc_f_total,
)
from bounds.sources import Discrete, Gaussian, GaussianMixture, Laplace, Product, Uniform
from tests.bounds.strategies import PROPERTY, continuous_sources, products, snrs

MIXTURE = GaussianMixture((0.3, 0.7), (-2.0, 1.0), (0.5, 1.0))


def _mixture_fisher_information(mix):
    """J(X) = int p'^2 / p for a Gaussian mixture, by mpmath quadrature (24 digits)."""
    with mp.workdps(24):
        comps = [(mp.mpf(w), mp.mpf(m), mp.mpf(s)) for w, m, s in zip(mix.weights, mix.means, mix.stds)]

        def p(x):
            return mp.fsum(w * mp.npdf(x, m, s) for w, m, s in comps)

        def dp(x):
            return mp.fsum(-w * (x - m) / s ** 2 * mp.npdf(x, m, s) for w, m, s in comps)

        return float(mp.quad(lambda x: dp(x) ** 2 / p(x), [-15, -2, 1, 15]))


# (source, Fisher information J(X) from closed forms / quadrature, relative tolerance at snr = 1e6).
# Analytic densities have O(1/snr) corrections to the coefficients; Laplace's kink at 0 gives O(snr^-1/2),
# measured 1.13e-3 at 1e6 and 3.6e-3 at 1e5, hence 3e-3.
SMOOTH = [
    (Gaussian(0.5), 2.0, 1e-4),
    (Laplace(1.0), 1.0, 3e-3),          # J = 1/b^2
    (MIXTURE, None, 1e-3),
]


@PROPERTY
@given(products(continuous_sources()), snrs(1e-3, 1e6))
def test_rate_at_least_high_rate_form(source, snr):
    """I(snr) >= h(X) + d/2 ln(snr/(2 pi e)) at every snr (h(sqrt(snr) X + N) >= h(sqrt(snr) X)); slack 1e-12."""
    h, d = source.differential_entropy_nats(), source.dim
    info = source.mutual_information_nats(snr)
    assert info >= high_rate_mutual_information_nats(h, d, snr) - 1e-12 * max(1.0, abs(info))


@pytest.mark.parametrize("source, fisher, rtol", SMOOTH, ids=["gaussian", "laplace", "mixture"])
def test_smooth_sources_converge_at_rate_fisher_over_snr(source, fisher, rtol):
    """For densities with finite Fisher information J, at snr = 1e6 (coefficients to ``rtol``):

    snr (I - h - 1/2 ln(snr/2pie)) -> J/2,  snr (1 - snr mmse) -> J  (mmse = 1/snr - J/snr^2 + o),
    D_A / D_F -> 2 with |D_A/D_F - 2| <= J/snr,  I - SLB(D_F) -> 0 with <= J/snr,  I - SLB(D_A) -> 1/2 ln 2.
    """
    j = _mixture_fisher_information(source) if fisher is None else fisher
    snr = 1e6
    c = high_rate_comparison(source, snr)
    assert snr * c.information_gap_nats == pytest.approx(j / 2, rel=rtol)
    assert snr * (1 - c.snr_times_mmse_per_dim) == pytest.approx(j, rel=rtol)
    assert abs(c.ratio_ancestral_over_flow - 2) <= j / snr
    assert 0 <= c.gap_to_slb_flow_nats <= j / snr
    assert c.gap_to_slb_ancestral_nats == pytest.approx(0.5 * math.log(2), abs=j / snr)


def test_uniform_converges_at_rate_one_over_sqrt_snr():
    """Uniform (J infinite): the gaps shrink like snr^(-1/2): each falls by a factor in [8, 12] per 100x in snr."""
    source = Uniform(1.0)
    rows = [high_rate_comparison(source, s) for s in (1e2, 1e4, 1e6)]
    for key in ("information_gap_nats", "gap_to_slb_flow_nats"):
        values = [getattr(r, key) for r in rows]
        assert all(8 < a / b < 12 for a, b in zip(values, values[1:]))
    ratio_gap = [2 - r.ratio_ancestral_over_flow for r in rows]
    assert all(8 < a / b < 12 for a, b in zip(ratio_gap, ratio_gap[1:]))
    assert ratio_gap[-1] < 1e-3


def test_product_limits_scale_with_dimension():
    """For 3 i.i.d. Laplace(0.5): I - SLB(D_A) -> 3/2 ln 2 and snr mmse / d -> 1 (tolerance 1e-5 at snr 1e6)."""
    c = high_rate_comparison(Product.iid(Laplace(0.5), 3), 1e6)
    assert c.gap_to_slb_ancestral_nats == pytest.approx(1.5 * math.log(2), abs=1e-5)
    assert c.snr_times_mmse_per_dim == pytest.approx(1.0, abs=1e-5)


def test_high_rate_forms_and_bad_input():
    """The forms are 2d/snr, d/snr, d/snr; snr = 0 and sources with atoms are refused."""
    assert high_rate_sse_diffc_a_total(3, 10.0) == 0.6
    assert high_rate_sse_diffc_f_total(3, 10.0) == 0.3
    assert high_rate_mmse_total(3, 10.0) == 0.3
    with pytest.raises(ValueError, match="snr"):
        high_rate_mmse_total(1, 0.0)
    with pytest.raises(ValueError, match="atoms"):
        high_rate_comparison(Discrete.pam(2), 10.0)
    with pytest.raises(ValueError, match="differential_entropy_nats"):
        high_rate_mutual_information_nats(None, 1, 1.0)
