"""Statistical tests of the channel simulator: the delivered sample is q, the index follows the PFR law.

Every test uses fixed seeds, so it is deterministic; the stated false-alarm
rate is the probability that a correct implementation would fail for a random
seed. Where the sampler is truncated, that rate also includes the coupling
bound ``trials x P(K > N)`` (the chance that any trial differs from exact PFR).
"""
import math

import numpy as np
import pytest
from scipy import stats

from empirical import rcc
from empirical.rcc import sampler
from empirical.rcc.gaussian_ratio import log_ratio_coefficients
from empirical.rcc.pfr_law import pfr_survival

ALPHA = 1e-3


def _mean_shift_chunk(kl_bits, dims):
    """Coefficients of ln r for q = N(shift, I), p = N(0, I) with KL(q||p) = kl_bits, and the shift."""
    shift = np.full(dims, math.sqrt(2.0 * math.log(2.0) * kl_bits / dims))
    ones = np.ones(dims)
    return log_ratio_coefficients(shift, ones, np.zeros(dims), ones), shift


def test_index_law_matches_simulation():
    """Identity: P(K - 1 in [2^i, 2^(i+1))) = S(2^i) - S(2^(i+1)), S(j) = E_q[(c/(1+c))^j]; chi-square
    goodness of fit at false-alarm rate 1e-3 (+ 3000 x P(K > 2^14) < 1e-4)."""
    kl_bits, dims, trials, num_candidates = 1.5, 3, 3000, 2**14
    assert trials * rcc.pfr_tail_probability(kl_bits, num_candidates)[0] < 1e-4
    coefficients, _ = _mean_shift_chunk(kl_bits, dims)
    k = np.array([sampler.scan_chunk(coefficients, 5, t, 0, num_candidates)[0] for t in range(trials)])
    edges = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, num_candidates])
    surv = pfr_survival([kl_bits * math.log(2.0)], edges)[0]
    expected = trials * (surv[:-1] - surv[1:]) / (1.0 - surv[-1])
    observed = np.histogram(k, bins=np.append(edges[:-1], num_candidates + 1))[0]
    assert expected.min() >= 5
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    assert chi2 < stats.chi2.ppf(1 - ALPHA, df=edges.size - 2), (observed, expected.round(1))


def test_truncation_tail_matches_simulation():
    """Identity (two-sided): P(K > N) = E_q[(c/(1+c))^N] for N = 1, 2, 16, 128 at KL 2 bits; the frequency of
    K_(2^13) > N must agree within 4.4 standard errors (+ P(K > 2^13) slack); false-alarm rate ~5e-5.

    The r-based expression E_q[(r/(1+r))^N] (only an upper bound) is 6 standard errors off at N = 1, so a
    tail computed with r instead of c fails this test.
    """
    kl_bits, dims, trials, scan = 2.0, 4, 3000, 2**13
    coefficients, _ = _mean_shift_chunk(kl_bits, dims)
    k = np.array([sampler.scan_chunk(coefficients, 9, t, 0, scan)[0] for t in range(trials)])
    slack = rcc.pfr_tail_probability(kl_bits, scan)[0]
    assert slack < 1e-4
    for n in (1, 2, 16, 128):
        exact = rcc.pfr_tail_probability(kl_bits, n)[0]
        freq = float(np.mean(k >= n))   # k is 0-based: K > N  <=>  k >= N
        se = math.sqrt(exact * (1 - exact) / trials)
        assert abs(freq - exact) <= 4.4 * se + slack, (n, freq, exact)
    z = np.linspace(-12, 12, 4801)
    w = np.exp(-z**2 / 2)
    w /= w.sum()
    d = kl_bits * math.log(2.0)
    r = np.exp(d + math.sqrt(2 * d) * z)
    loose = float((r / (1 + r)) @ w)
    exact1 = rcc.pfr_tail_probability(kl_bits, 1)[0]
    assert loose - exact1 > 4.4 * math.sqrt(exact1 * (1 - exact1) / trials) + slack


def test_checkpoints_equal_separate_truncated_runs():
    """Identity: PFR truncated at N' selects argmin over the first N' candidates, whether or not it scans on."""
    coefficients, _ = _mean_shift_chunk(6.0, 5)
    for step in range(5):
        _, found = sampler.scan_chunk(coefficients, 1, step, 0, 2**14, checkpoints=(3, 256, 4096, 2**14))
        for n, k in found.items():
            assert sampler.scan_chunk(coefficients, 1, step, 0, n)[0] == k


def _delivered(q_mean, q_std, p_mean, p_std, trials, budget_bits, padding_bits, tail_target=None):
    """Samples delivered by encode_step (public API) over ``trials`` steps, and the tail bounds.

    ``tail_target=None``: every chunk scans ``2^(budget + padding)`` candidates (the fixed-N sampler).
    """
    out, tails = [], []
    for step in range(trials):
        code = rcc.encode_step(q_mean, q_std, p_mean, p_std, seed=2024, step=step, budget_bits=budget_bits,
                               padding_bits=padding_bits, tail_target=tail_target)
        out.append(code.samples)
        tails.append(code.tv_bound_total)
    return np.array(out), max(tails)


def _ks_pvalues(samples, q_mean, q_std, direction):
    """KS p-values of each standardised coordinate and of the projection on ``direction`` against N(0, 1)."""
    z = (samples - q_mean) / q_std
    cols = [z[:, i] for i in range(z.shape[1])] + [z @ direction]
    return [stats.kstest(c, "norm").pvalue for c in cols]


def test_delivered_sample_is_q_equal_std():
    """Distribution identity: delivered ~ q (3 dims, KL 1.5 bits, N = 2^12). Four KS tests (each coordinate and
    the shift direction) at Bonferroni level 1e-3 / 4; false-alarm rate <= 1e-3 + 800 x 2e-6."""
    q_mean, ones, zeros = np.array([0.9, -0.5, 0.6]), np.ones(3), np.zeros(3)
    q_mean = q_mean * math.sqrt(2 * math.log(2) * 1.5 / np.sum(q_mean**2))   # KL 1.5 bits
    samples, tail = _delivered(q_mean, ones, zeros, ones, 800, 4, 8)
    assert tail < 2e-6
    pvals = _ks_pvalues(samples, q_mean, ones, q_mean / np.linalg.norm(q_mean))
    assert min(pvals) > ALPHA / len(pvals), pvals


def test_delivered_sample_is_q_unequal_std():
    """Distribution identity with q_std != p_std (Renyi-Chernoff tail bound): delivered ~ q; KS tests at
    Bonferroni level 1e-3 / 4; false-alarm rate <= 1e-3 + 800 x (reported bound)."""
    q_mean, q_std = np.array([0.5, -0.4, 0.2]), np.array([0.7, 1.2, 0.9])
    p_mean, p_std = np.array([0.1, 0.0, -0.2]), np.array([1.0, 1.1, 1.0])
    samples, tail = _delivered(q_mean, q_std, p_mean, p_std, 800, 4, 8)
    assert 800 * tail < 1e-3
    direction = (q_mean - p_mean) / np.linalg.norm(q_mean - p_mean)
    pvals = _ks_pvalues(samples, q_mean, q_std, direction)
    assert min(pvals) > ALPHA / len(pvals), pvals


def test_naive_truncation_is_detected():
    """Power check of the fidelity test: with N = 2^budget (padding 0) at KL 4 bits in one chunk the tail
    P(K > N) is large and the KS test on the shift direction rejects at level 1e-3."""
    q_mean = np.full(4, math.sqrt(2 * math.log(2) * 4.0 / 4))
    ones, zeros = np.ones(4), np.zeros(4)
    samples, tail = _delivered(q_mean, ones, zeros, ones, 400, 4, 0)
    assert tail > 0.2
    z = (samples - q_mean) @ (q_mean / np.linalg.norm(q_mean))
    assert stats.kstest(z, "norm").pvalue < ALPHA
    assert z.mean() < 0   # truncation drops high-ratio candidates: the delivered sample falls short of q


@pytest.mark.parametrize("padding_bits", [2, 6])
def test_reported_tail_bounds_measured_bias(padding_bits):
    """Inequality: KS(delivered projection, N(0,1)) <= TV(delivered, q) <= P(K > N) (coupling with exact PFR);
    the empirical KS distance may exceed it by the level-1e-3 critical value of the one-sample KS test
    (false-alarm rate 1e-3)."""
    kl_bits, dims, trials = 4.0, 4, 600
    q_mean = np.full(dims, math.sqrt(2 * math.log(2) * kl_bits / dims))
    ones, zeros = np.ones(dims), np.zeros(dims)
    samples, tail = _delivered(q_mean, ones, zeros, ones, trials, 4, padding_bits)
    z = (samples - q_mean) @ (q_mean / np.linalg.norm(q_mean))
    ks = stats.kstest(z, "norm").statistic
    critical = stats.kstwo.ppf(1 - ALPHA, trials)
    assert ks <= tail + critical
