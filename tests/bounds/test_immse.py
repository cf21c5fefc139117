"""I-MMSE identities and the Gaussian bounds at fixed SNR."""
from __future__ import annotations

import math

import pytest
from hypothesis import example, given

from bounds.immse import (
    gaussian_mmse_upper_bound,
    gaussian_rate_upper_bound_nats,
    immse_check,
    mmse_from_mutual_information,
    mutual_information_from_mmse_nats,
)
from bounds.sources import Discrete, Gaussian, GaussianMixture, Laplace, Product, Uniform
from tests.bounds.strategies import FAST_PROPERTY, PROPERTY, products, scalar_sources, snrs


@PROPERTY
@given(scalar_sources(), snrs(1e-4, 1e6))
def test_immse_derivative_identity(source, snr):
    """2 dI/dsnr = mmse(snr) to 1e-8 relative, also where mmse is exponentially small (atoms at high snr).

    Differences of I itself would lose every digit there (I = H(X) to rounding); the derivative keeps
    its relative precision, so no absolute slack is needed.
    """
    derivative = mmse_from_mutual_information(source, snr)
    mmse = source.mmse(snr)
    assert abs(derivative - mmse) <= 1e-8 * mmse


@pytest.mark.parametrize("source, snr", [(Discrete.pam(4), 100.0), (Discrete.binary(0.3, 2.0), 40.0),
                                         (Discrete((1.0, 2.0), (0.5, 0.5)), 100.0),
                                         (GaussianMixture((0.5, 0.5), (-3.0, 3.0), (0.1, 0.1)), 30.0)])
def test_immse_derivative_where_mmse_is_exponentially_small(source, snr):
    """mmse of 1e-23 (4-PAM at snr 100) and the like: 2 dI/dsnr matches to 1e-8 (was 0, or 2e-7 off).

    For the mixture the part of mmse beyond the within-component MMSE (identifying the component) is the
    exponentially small one.
    """
    mmse = source.mmse(snr)
    assert 0.0 < mmse - source.within_component_mmse(snr) < 1e-6 * source.variance_total()
    assert mmse_from_mutual_information(source, snr) == pytest.approx(mmse, rel=1e-8)


@pytest.mark.parametrize("source, snr", [
    (Uniform(1.0), 100.0),
    (GaussianMixture((0.3, 0.7), (-2.0, 1.0), (0.5, 1.0)), 1e3),
    (Discrete.pam(3), 3.0),
])
def test_immse_integral_identity(source, snr):
    """I(snr) = 1/2 int_0^snr mmse(t) dt to 1e-9 relative (adaptive quadrature over snr of the exact mmse)."""
    check = immse_check(source, snr)
    assert check.mutual_information_from_mmse_nats == pytest.approx(check.mutual_information_nats, rel=1e-9)
    assert check.mmse_from_derivative == pytest.approx(check.mmse, rel=1e-8)


@PROPERTY
@given(products(scalar_sources()), snrs(1e-3, 1e5))
def test_mmse_at_most_linear_mmse_and_rate_at_most_gaussian(source, snr):
    """mmse(snr) <= sum_i v_i/(1 + snr v_i) and I(snr) <= sum_i 1/2 ln(1 + snr v_i) (relative slack 1e-12)."""
    assert source.mmse(snr) <= gaussian_mmse_upper_bound(source, snr) * (1 + 1e-12)
    assert source.mutual_information_nats(snr) <= gaussian_rate_upper_bound_nats(source, snr) * (1 + 1e-12)


@FAST_PROPERTY
@given(snrs(1e-3, 1e5))
@example(0.0010000000000000002)
def test_gaussian_bounds_are_attained_and_near_gaussian_sources_are_near_equality(snr):
    """Equality for N(0, v) (to 1e-12); a mixture N(0,1)/N(0,1.0201) sits within 1e-4 of both bounds (sharp).

    Below the bounds up to the quadrature's relative accuracy (1e-12): at snr 1e-3 the mixture's mmse is
    1.5e-17 (relative) below the Gaussian one, beneath float64 resolution, and came out 1 ulp above it.
    """
    g = Product((Gaussian(0.7), Gaussian(2.0)))
    assert g.mmse(snr) == pytest.approx(gaussian_mmse_upper_bound(g, snr), rel=1e-12)
    assert g.mutual_information_nats(snr) == pytest.approx(gaussian_rate_upper_bound_nats(g, snr), rel=1e-12)
    near = GaussianMixture((0.5, 0.5), (0.0, 0.0), (1.0, 1.01))
    bound_m = gaussian_mmse_upper_bound(near, snr)
    bound_i = gaussian_rate_upper_bound_nats(near, snr)
    assert 0.9999 * bound_m <= near.mmse(snr) <= bound_m * (1 + 1e-12)
    assert 0.9999 * bound_i <= near.mutual_information_nats(snr) <= bound_i * (1 + 1e-12)


@PROPERTY
@given(products(scalar_sources()), snrs(1e-3, 1e5))
def test_mmse_at_most_d_over_snr(source, snr):
    """mmse(snr) <= d / snr: the unbiased estimator Y/sqrt(snr) has squared error d/snr."""
    assert source.mmse(snr) <= source.dim / snr * (1 + 1e-12)


def test_immse_bad_input():
    """snr = 0 and a bad rel_step are refused with a ValueError naming the argument."""
    with pytest.raises(ValueError, match="snr"):
        mmse_from_mutual_information(Laplace(1.0), 0.0)
    with pytest.raises(ValueError, match="rel_step"):
        mmse_from_mutual_information(Laplace(1.0), 1.0, rel_step=0.7)
    assert mutual_information_from_mmse_nats(Laplace(1.0), 0.0) == 0.0
    assert math.isfinite(gaussian_mmse_upper_bound(Laplace(1.0), 0.0))
