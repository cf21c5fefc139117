"""Shannon lower bound, Gaussian upper bound (reverse water-filling) and Blau-Michaeli."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounds.decoders import sse_diffc_a_total, sse_diffc_f_total
from bounds.shannon_lower import (
    gaussian_upper_bound_mse,
    gaussian_upper_bound_nats,
    perfect_realism_mse_upper_bound,
    shannon_lower_bound_mse,
    shannon_lower_bound_nats,
    water_level,
)
from bounds.sources import Gaussian, Laplace, Product
from gaussian.components import mse_rdp
from tests.bounds.strategies import FAST_PROPERTY, PROPERTY, continuous_sources, log_uniform, products, snrs


@PROPERTY
@given(products(continuous_sources()), snrs(1e-3, 1e5))
def test_slb_below_the_rate_diffc_achieves(source, snr):
    """SLB(D) <= R(D) <= I(snr) at D = mmse and at D = D_F (data processing); slack 1e-12 * max(1, I)."""
    h, d = source.differential_entropy_nats(), source.dim
    info = source.mutual_information_nats(snr)
    slack = 1e-12 * max(1.0, info)
    assert shannon_lower_bound_nats(h, d, source.mmse(snr) / d) <= info + slack
    assert shannon_lower_bound_nats(h, d, sse_diffc_f_total(source, snr) / d) <= info + slack


@FAST_PROPERTY
@given(log_uniform(0.05, 20.0), snrs(1e-4, 1e6), st.integers(1, 3))
def test_slb_is_attained_by_iid_gaussian_at_the_mmse(variance, snr, dim):
    """Sharp constant 2 pi e: for i.i.d. N(0, v), SLB(mmse) = I(snr) to 1e-12 (pi e would miss by d/2 ln 2)."""
    source = Product.iid(Gaussian(variance), dim)
    h = source.differential_entropy_nats()
    info = source.mutual_information_nats(snr)
    assert shannon_lower_bound_nats(h, dim, source.mmse(snr) / dim) == pytest.approx(info, rel=1e-12, abs=1e-14)
    assert shannon_lower_bound_mse(h, dim, info) == pytest.approx(source.mmse(snr) / dim, rel=1e-12)


@PROPERTY
@given(products(continuous_sources()), snrs(1e-3, 1e4))
def test_ancestral_distortion_at_least_twice_slb(source, snr):
    """D_A = 2 mmse >= 2 D(I) >= 2 D_SLB(I) (mmse >= D(R) at R = I(X; E[X|Z]) <= I); relative slack 1e-12."""
    h, d = source.differential_entropy_nats(), source.dim
    info = source.mutual_information_nats(snr)
    assert sse_diffc_a_total(source, snr) / d >= 2 * shannon_lower_bound_mse(h, d, info) * (1 - 1e-12)


@FAST_PROPERTY
@given(st.lists(log_uniform(1e-3, 1e3), min_size=1, max_size=6), log_uniform(1e-4, 1e3))
def test_water_filling_against_bisection(eigvals, mse):
    """R_G(D) and D_G(R) agree with a 40-digit bisection of sum_i min(theta, lam_i) = d mse, and invert each other."""
    lam = np.array(eigvals)
    d = lam.size
    if mse >= lam.mean():
        assert gaussian_upper_bound_nats(lam, mse) == 0.0
        return
    with mp.workdps(40):
        lo, hi = mp.mpf(0), mp.mpf(max(eigvals))
        for _ in range(200):
            mid = (lo + hi) / 2
            if sum(min(mid, mp.mpf(v)) for v in eigvals) < d * mp.mpf(mse):
                lo = mid
            else:
                hi = mid
        rate = sum(mp.log(mp.mpf(v) / lo) / 2 for v in eigvals if v > lo)
    assert water_level(lam, mse) == pytest.approx(float(lo), rel=1e-12)
    assert gaussian_upper_bound_nats(lam, mse) == pytest.approx(float(rate), rel=1e-11, abs=1e-13)
    assert gaussian_upper_bound_mse(lam, float(rate)) == pytest.approx(mse, rel=1e-11)


@PROPERTY
@given(products(continuous_sources()), log_uniform(1e-4, 10.0))
def test_gaussian_upper_bound_above_slb(source, mse):
    """SLB(D) <= R(D) <= R_G(D): h(X) <= Gaussian entropy with the same variances makes SLB <= R_G (slack 1e-12)."""
    h, d = source.differential_entropy_nats(), source.dim
    assert shannon_lower_bound_nats(h, d, mse) <= gaussian_upper_bound_nats(source.variances() if isinstance(
        source, Product) else [source.variance_total()], mse) + 1e-12 * max(1.0, abs(h))


@FAST_PROPERTY
@given(log_uniform(0.1, 10.0), log_uniform(1e-8, 20.0))
def test_blau_michaeli_on_the_gaussian(variance, rate):
    """D(R) <= D_p(R) <= 2 D(R) for N(0, v) (D_p from gaussian.components.mse_rdp); the factor 2 is sharp as R -> 0."""
    d_rd = variance * math.exp(-2 * rate)
    d_p = float(mse_rdp(variance, rate))
    assert d_rd * (1 - 1e-12) <= d_p <= perfect_realism_mse_upper_bound(d_rd) * (1 + 1e-12)
    if rate <= 1e-6:  # near equality: D_p / (2 D) = 1 - sqrt(2R) + O(R)
        assert d_p / perfect_realism_mse_upper_bound(d_rd) >= 1 - 2 * math.sqrt(2 * rate)


def test_diffc_a_meets_blau_michaeli_with_equality_for_gaussian():
    """For N(0, v): D_A = 2 mmse = 2 D(I) exactly (DiffC-A sits on the Blau-Michaeli bound), to 1e-12."""
    g = Gaussian(1.7)
    for snr in (0.01, 1.0, 1e4):
        info = g.mutual_information_nats(snr)
        d_of_rate = 1.7 * math.exp(-2 * info)
        assert sse_diffc_a_total(g, snr) == pytest.approx(perfect_realism_mse_upper_bound(d_of_rate), rel=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: shannon_lower_bound_nats(None, 1, 0.1), "differential_entropy_nats"),
    (lambda: shannon_lower_bound_nats(1.0, 0, 0.1), "dim"),
    (lambda: shannon_lower_bound_nats(1.0, 1, 0.0), "mse"),
    (lambda: shannon_lower_bound_mse(1.0, 1, -1.0), "rate_nats"),
    (lambda: gaussian_upper_bound_nats([1.0, -2.0], 0.1), "eigvals"),
    (lambda: gaussian_upper_bound_mse([1.0], float("nan")), "rate_nats"),
    (lambda: perfect_realism_mse_upper_bound(-1.0), "mse_rd"),
])
def test_bad_input(call, match):
    """Bad arguments raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        call()


def test_laplace_slb_value():
    """Laplace(b) at mse m: SLB = 1 + ln 2b - 1/2 ln(2 pi e m), checked at b = 1, m = 0.01 against a hand value."""
    h = Laplace(1.0).differential_entropy_nats()
    expected = 1 + math.log(2) - 0.5 * math.log(2 * math.pi * math.e * 0.01)
    assert shannon_lower_bound_nats(h, 1, 0.01) == pytest.approx(expected, rel=1e-15)
    assert shannon_lower_bound_nats(h, 1, 0.01) == pytest.approx(2.5767937403, rel=1e-10)
