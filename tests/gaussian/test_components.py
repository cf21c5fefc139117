"""Per-component formulas against Monte Carlo of the actual decoders (independent of any closed form)."""
from __future__ import annotations

import numpy as np
import pytest

from gaussian import components


@pytest.mark.parametrize("lam, snr", [(1.0, 0.3), (2.5, 4.0), (0.2, 50.0)])
def test_decoders_by_monte_carlo(lam, snr):
    """Sample X, Z = alpha X + sigma U and decode: empirical MSEs match within 5 standard errors.

    DiffC-A draws X_hat from the exact posterior N(mu, v); DiffC-F applies the
    flow map sqrt(lam / (alpha^2 lam + sigma^2)) z; MMSE uses the posterior mean.
    """
    n = 400_000
    rng = np.random.default_rng(20221)
    alpha = np.sqrt(snr / (1 + snr))
    sigma = np.sqrt(1 / (1 + snr))
    x = rng.normal(0, np.sqrt(lam), n)
    z = alpha * x + sigma * rng.standard_normal(n)
    post_var = lam * sigma**2 / (alpha**2 * lam + sigma**2)
    post_mean = lam * alpha / (alpha**2 * lam + sigma**2) * z
    decoders = {
        "mmse": (post_mean, components.mse_mmse(lam, snr)),
        "diffc_a": (post_mean + np.sqrt(post_var) * rng.standard_normal(n), components.mse_diffc_a(lam, snr)),
        "diffc_f": (np.sqrt(lam / (alpha**2 * lam + sigma**2)) * z, components.mse_diffc_f(lam, snr)),
    }
    for name, (x_hat, predicted) in decoders.items():
        err = (x - x_hat) ** 2
        assert abs(err.mean() - predicted) < 5 * err.std() / np.sqrt(n), name
    # perfect realism: the flow output has the data's variance
    assert np.var(decoders["diffc_f"][0]) == pytest.approx(lam, rel=0.02)


def test_linear_decoder_endpoints_and_monte_carlo():
    """k = rho^2 gives the MMSE, k = rho gives DiffC-F (with W2 = 0); a middle gain matches Monte Carlo."""
    lam, snr = 1.7, 2.0
    rho = components.flow_gain(lam, snr)
    assert components.mse_linear_decoder(lam, snr, rho**2) == pytest.approx(components.mse_mmse(lam, snr), rel=1e-14)
    assert components.mse_linear_decoder(lam, snr, rho) == pytest.approx(components.mse_diffc_f(lam, snr), rel=1e-14)
    assert components.w2_sq_linear_decoder(lam, snr, rho) == pytest.approx(0.0, abs=1e-15)
    rng = np.random.default_rng(7)
    n = 400_000
    x = rng.normal(0, np.sqrt(lam), n)
    y = x + rng.standard_normal(n) / np.sqrt(snr)  # z / alpha
    k = 0.5 * (rho + rho**2)
    err = (x - k * y) ** 2
    assert abs(err.mean() - components.mse_linear_decoder(lam, snr, k)) < 5 * err.std() / np.sqrt(n)
    w2 = (np.sqrt(lam) - np.std(k * y)) ** 2
    assert w2 == pytest.approx(components.w2_sq_linear_decoder(lam, snr, k), rel=0.05)


def test_precision_at_extremes():
    """No cancellation: high-snr D_F keeps full precision (vs the 1 - rho form at 40 digits)."""
    import mpmath as mp

    mp.mp.dps = 40
    for x in (1e-30, 1e-8, 1.0, 1e8, 1e30):
        lam = 3.0
        snr = x / lam
        rho = mp.sqrt(mp.mpf(x) / (1 + mp.mpf(x)))
        want = 2 * lam * (1 - rho)
        assert float(components.mse_diffc_f(lam, snr)) == pytest.approx(float(want), rel=1e-14)
        want_rdp = 2 * lam * (1 - mp.sqrt(1 - mp.exp(-2 * mp.mpf(50))))
        assert float(components.mse_rdp(lam, 50.0)) == pytest.approx(float(want_rdp), rel=1e-14)
