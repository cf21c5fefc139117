"""empirical.measure.compare: closed forms against mpmath, the rate-matched SNR, z-scores and the paired dB gap."""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from empirical.measure import compare, sweep

mpmath.mp.dps = 40
EIGVALS = np.array([2.0, 1.0, 0.25, 0.05])


def _mp_mse(method, eigvals, log_snr):
    """Per-dim MSE with 40-digit arithmetic from the DESIGN formulas."""
    snr = mpmath.e ** mpmath.mpf(log_snr)
    total = mpmath.mpf(0)
    for lam in eigvals:
        lam = mpmath.mpf(float(lam))
        if method == "ancestral":
            total += 2 * lam / (1 + snr * lam)
        elif method == "flow":
            total += 2 * lam * (1 - mpmath.sqrt(snr * lam / (1 + snr * lam)))
        else:
            total += lam / (1 + snr * lam)
    return float(total / len(eigvals))


def _point(method, mse_per_sample, stop_step=5, log_snr=1.5, kl=0.8, payload=2.0, predicted=0.79):
    err = np.asarray(mse_per_sample, dtype=float)
    mean, half = sweep.mean_ci95(err)
    return sweep.MeasuredPoint(
        data="{}", model="oracle", method=method, stop_step=stop_step, num_steps=8, log_snr=log_snr, n=err.size,
        dim=4, coded_bits_per_dim=payload + 10.0, payload_bits_per_dim=payload, payload_bits_per_dim_ci95=0.1,
        header_bits_per_dim=10.0, kl_bits_per_dim=kl, kl_bits_per_dim_ci95=0.05, predicted_bits_per_dim=predicted,
        rcc_bound_bits_per_dim=3.0, tv_bound=0.0, mse=mean, mse_ci95=half, psnr_db=None,
        w2_sq_gauss_per_dim=0.0, w2_sq_gauss_per_dim_data=0.0, sliced_w2_sq_per_dim=0.0,
        sliced_w2_sq_per_dim_data=0.0, mse_per_sample=err)


@pytest.mark.parametrize("method", ["flow", "ancestral", "mmse"])
@pytest.mark.parametrize("log_snr", [-4.0, 0.0, 3.3, 12.0])
def test_predicted_mse_matches_mpmath(method, log_snr):
    """Closed form at the stopping log-SNR equals the 40-digit evaluation to 1e-13 relative."""
    assert compare.predicted_mse_at_log_snr(method, EIGVALS, log_snr) == pytest.approx(
        _mp_mse(method, EIGVALS, log_snr), rel=1e-13)


@pytest.mark.parametrize("rate", [0.05, 0.7, 3.0])
def test_rate_matched_log_snr_spends_the_rate(rate):
    """At the rate-matched log-SNR, sum 1/2 log2(1 + snr lam) / d = rate (mpmath, 1e-10), and the MSE there is
    the closed form at that log-SNR; zero-variance dimensions count in the per-dim normalisation."""
    eigvals = np.append(EIGVALS, 0.0)
    log_snr, mse = compare.rate_matched("flow", eigvals, rate)
    snr = mpmath.e ** mpmath.mpf(log_snr)
    info = sum(mpmath.log(1 + snr * mpmath.mpf(float(lam)), 2) / 2 for lam in eigvals) / len(eigvals)
    assert float(info) == pytest.approx(rate, rel=1e-10)
    assert mse == pytest.approx(_mp_mse("flow", eigvals, log_snr), rel=1e-10)


def test_rate_matched_zero_rate():
    """At rate 0 there is no log-SNR and the MSE is the zero-rate value (2 x mean variance for DiffC-A)."""
    log_snr, mse = compare.rate_matched("ancestral", EIGVALS, 0.0)
    assert log_snr is None
    assert mse == pytest.approx(2.0 * EIGVALS.mean(), rel=1e-15)


def test_compare_point_z_score_and_interval():
    """z = (mse - predicted) / (ci95 / 1.96); within_ci95 iff |residual| <= ci95 (a case just inside and one outside)."""
    predicted = _mp_mse("flow", EIGVALS, 1.5)
    rng = np.random.default_rng(0)
    err = predicted * rng.chisquare(4, size=400) / 4
    p = _point("flow", err)
    c = compare.compare_point(p, EIGVALS)
    assert c.predicted_mse == pytest.approx(predicted, rel=1e-13)
    assert c.z_score == pytest.approx((p.mse - predicted) / (p.mse_ci95 / 1.959963984540054), rel=1e-12)
    assert c.within_ci95 == (abs(p.mse - predicted) <= p.mse_ci95)
    shifted = _point("flow", err - p.mse + predicted + 0.999 * p.mse_ci95)
    assert compare.compare_point(shifted, EIGVALS).within_ci95
    shifted = _point("flow", err - p.mse + predicted + 1.001 * p.mse_ci95)
    assert not compare.compare_point(shifted, EIGVALS).within_ci95


def test_gap_db_paired_delta_method():
    """Measured gap = 10 log10(mean e_A / mean e_F); its 95% half-width is 1.96 (10 / ln 10) sqrt(g^T S g / n)
    with g = (1 / mean e_A, -1 / mean e_F) and S the sample covariance of (e_A, e_F)."""
    rng = np.random.default_rng(1)
    base = rng.chisquare(4, size=300)
    e_f = 0.1 * base
    e_a = 0.2 * base * rng.uniform(0.8, 1.2, size=300)
    g = compare.gap_db(_point("ancestral", e_a), _point("flow", e_f), EIGVALS)
    assert g.measured_gap_db == pytest.approx(10 * math.log10(e_a.mean() / e_f.mean()), rel=1e-13)
    grad = np.array([1 / e_a.mean(), -1 / e_f.mean()])
    cov = np.cov(np.stack([e_a, e_f]))
    expected = 1.959963984540054 * 10 / math.log(10) * math.sqrt(grad @ cov @ grad / 300)
    assert g.measured_gap_db_ci95 == pytest.approx(expected, rel=1e-10)
    assert g.predicted_gap_db == pytest.approx(
        10 * math.log10(_mp_mse("ancestral", EIGVALS, 1.5) / _mp_mse("flow", EIGVALS, 1.5)), rel=1e-12)


def test_predicted_gap_below_3db_and_its_limit():
    """Closed-form gap < 10 log10 2 at finite SNR for a non-flat spectrum, and -> 3.0103 dB (to 1e-6) at log-SNR 40."""
    e = np.ones(50)
    for log_snr in (0.0, 5.0, 10.0):
        gap = 10 * math.log10(compare.predicted_mse_at_log_snr("ancestral", EIGVALS, log_snr)
                              / compare.predicted_mse_at_log_snr("flow", EIGVALS, log_snr))
        assert gap < compare.HIGH_RATE_GAP_DB
    g = compare.gap_db(_point("ancestral", 2 * e, log_snr=40.0), _point("flow", e, log_snr=40.0), EIGVALS)
    assert g.predicted_gap_db == pytest.approx(10 * math.log10(2.0), abs=1e-6)
    assert g.high_rate_limit_db == pytest.approx(3.010299956639812, rel=1e-15)


def test_rate_gap_decomposition():
    """KL - I, payload - KL and the bound flag are the differences of the measured point's fields."""
    p = _point("flow", [0.1, 0.2, 0.3], kl=0.8, payload=2.0, predicted=0.79)
    g = compare.rate_gap(p)
    assert g.model_gap_bits_per_dim == pytest.approx(0.8 - 0.79, abs=1e-15)
    assert g.rcc_overhead_bits_per_dim == pytest.approx(1.2, abs=1e-15)
    assert g.within_rcc_bound  # 2.0 - 0.1 <= 3.0
    over = dataclass_replace(p, payload_bits_per_dim=3.2)
    assert not compare.rate_gap(over).within_rcc_bound  # 3.1 > 3.0


def dataclass_replace(p, **kw):
    import dataclasses

    return dataclasses.replace(p, **kw)


def test_compare_groups_and_rejects_mismatches():
    """compare() gives one rate gap per stop step and a dB gap where both decoders ran; mismatched pairs raise."""
    e = np.linspace(0.1, 1.0, 20)
    pts = [_point("flow", e), _point("ancestral", 2 * e), _point("mmse", 0.9 * e),
           _point("flow", e, stop_step=6, log_snr=2.0)]
    report = compare.compare(pts, EIGVALS)
    assert [g.stop_step for g in report.rate_gaps] == [5, 6]
    assert [g.stop_step for g in report.gaps_db] == [5]
    assert len(report.comparisons) == 4
    assert "10 log10(D_A / D_F)" in compare.format_table(report)
    with pytest.raises(ValueError, match="flow"):
        compare.gap_db(pts[1], pts[3], EIGVALS)
    with pytest.raises(ValueError, match="eigvals"):
        compare.predicted_mse_at_log_snr("flow", [-1.0], 0.0)
    bare = compare.compare(pts)  # no closed form (a learned model on image data): measured dB gap only
    assert bare.comparisons == () and [g.stop_step for g in bare.gaps_db] == [5]
    assert bare.gaps_db[0].predicted_gap_db is None
    assert bare.gaps_db[0].measured_gap_db == pytest.approx(10 * math.log10(2.0), abs=1e-12)
    assert "10 log10(D_A / D_F)" in compare.format_table(bare)
