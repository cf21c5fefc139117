"""The idealised coder's rate-compute limits (``empirical.rcc.limits``) against brute force and Monte Carlo."""
import itertools
import math

import numpy as np
import pytest

from empirical import rcc
from empirical.rcc import limits, workload

TAIL = 0.02


def test_lower_envelope_is_the_minimum_of_the_lines():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 12))
        a = np.exp(rng.normal(0.0, 3.0, n))
        b = np.exp(rng.normal(0.0, 2.0, n))
        if rng.random() < 0.3:                                  # ties in slope or intercept
            b[rng.integers(n)] = b[0]
            a[rng.integers(n)] = a[0]
        lines, breaks = limits.lower_envelope(a, b)
        assert np.all(np.diff(breaks) > 0.0)
        s = np.concatenate([[0.0], np.exp(rng.normal(0.0, 4.0, 200)), breaks])
        got = a[limits.envelope_index(lines, breaks, s)] + s * b[limits.envelope_index(lines, breaks, s)]
        want = np.min(a[None, :] + s[:, None] * b[None, :], axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_coded_bits_per_kl_bit_fall_with_the_chunk_kl():
    """The premise of ``chunk_lines``: ``H(D) / D`` decreases on a 1/8-bit grid up to the largest chunk KL."""
    kl, _, _ = limits.chunk_lines(TAIL)
    grid = np.arange(1, int(kl[-1] * 8) + 1) / 8.0
    per_bit = rcc.pfr_index_entropy_bits(grid) / grid
    assert np.all(np.diff(per_bit) < 0.0)


def test_chunk_lines_are_the_largest_kls_that_meet_the_tail():
    kl, _, candidates = limits.chunk_lines(TAIL)
    for bits in (4, 10, 16, 22):
        assert rcc.pfr_tail_probability(kl[bits], int(candidates[bits]))[0] <= TAIL * (1 + 1e-9)
        assert rcc.pfr_tail_probability(kl[bits] + 0.01, int(candidates[bits]))[0] > TAIL


def _chunk_options(step_kl_bits):
    """The chunk KLs a brute force tries in a step (multiples of 1/16 bit, the largest KLs for each candidate count,
    and the step's KL, up to the step's KL): ``(coded bits per KL bit, candidates)`` of each, from the index entropy
    and ``candidate_bits``."""
    largest = limits.chunk_lines(TAIL)[0]
    grid = np.unique(np.concatenate([np.arange(1, int(step_kl_bits * 16) + 1) / 16.0, largest, [step_kl_bits]]))
    grid = grid[grid <= min(step_kl_bits, largest[-1])]
    return rcc.pfr_index_entropy_bits(grid) / grid, np.exp2(rcc.candidate_bits(grid, 24, 6, TAIL).astype(float))


def _brute_force(kl_bits_per_step, one_kl_per_step=False):
    """``[(coded bits, coordinates)]`` of every assignment of a chunk KL to every dimension (``one_kl_per_step``:
    to every step, all its dimensions alike)."""
    options = []
    for row in kl_bits_per_step:
        per_bit, n = _chunk_options(float(row.sum()))
        if one_kl_per_step:
            options.append(list(zip(row.sum() * per_bit, np.count_nonzero(row) * n)))
        else:
            options += [list(zip(k * per_bit, n)) for k in row]
    return np.array([(sum(o[0] for o in combo), sum(o[1] for o in combo)) for combo in itertools.product(*options)])


def _check_compute_limits(trade, results, rates):
    """``compute_limit`` brackets the brute-force least coordinates at each reachable rate and refuses the others;
    returns how many rates were reachable."""
    checked = 0
    for rate in rates:
        meets = results[:, 0] <= rate * trade.kl_bits_total
        if not np.any(meets):
            with pytest.raises(ValueError, match="coded_over_kl"):
                limits.compute_limit(trade, rate)
            continue
        best = results[meets, 1].min()
        lim = limits.compute_limit(trade, rate)
        assert lim.lower <= best * (1 + 1e-9) and best <= lim.upper * (1 + 1e-9)
        assert lim.upper_coded_over_kl <= rate
        checked += 1
    return checked


@pytest.mark.parametrize("kl_bits_per_step", [
    np.array([[5.0, 0.02]]),                 # one step: a dense and a sparse dimension
    np.array([[0.3, 0.0], [0.0, 3.5]]),      # two steps, the first below the smallest useful chunk
])
def test_limits_bracket_the_brute_force_optimum(kl_bits_per_step):
    trade = limits.trade_off(kl_bits_per_step, TAIL)
    assert trade.kl_bits_total == pytest.approx(kl_bits_per_step.sum())
    results = _brute_force(kl_bits_per_step)
    checked = _check_compute_limits(trade, results, (1.2, 1.4, 1.6, 2.0, 3.0))
    for coords in np.quantile(results[:, 1], [0.1, 0.5, 0.9]):
        best = results[results[:, 1] <= coords, 0].min() / trade.kl_bits_total
        lim = limits.rate_limit(trade, coords)
        assert lim.lower <= best + 1e-9 and best <= lim.upper + 1e-9 and lim.upper_coordinates <= coords
        checked += 1
    assert checked >= 4


def test_one_kl_per_step_brackets_the_brute_force_optimum():
    """Every dimension of a step in chunks of one KL: brute force over that KL per step; the free choice's lower
    bound is below the restricted optimum."""
    kl_bits_per_step = np.array([[5.0, 0.02, 0.5], [0.1, 0.0, 2.0]])
    results = _brute_force(kl_bits_per_step, one_kl_per_step=True)
    trade = limits.trade_off(kl_bits_per_step, TAIL, one_kl_per_step=True)
    rates = (1.3, 1.5, 2.0, 3.0, 5.0)
    assert _check_compute_limits(trade, results, rates) >= 2
    free = limits.trade_off(kl_bits_per_step, TAIL)
    for rate in rates:
        meets = results[:, 0] <= rate * trade.kl_bits_total
        if np.any(meets):
            assert limits.compute_limit(free, rate).lower <= results[meets, 1].min() * (1 + 1e-9)


def test_one_kl_per_step_changes_nothing_when_a_step_is_uniform():
    kl_bits_per_step = np.array([[0.4, 0.4, 0.4], [1.5, 1.5, 0.0]])
    a = limits.trade_off(kl_bits_per_step, TAIL)
    b = limits.trade_off(kl_bits_per_step, TAIL, one_kl_per_step=True)
    np.testing.assert_allclose(a.coded_bits, b.coded_bits, rtol=1e-12)
    np.testing.assert_allclose(a.coordinates, b.coordinates, rtol=1e-12)


def test_expected_kl_is_the_mean_realised_kl_of_the_chain():
    """``1/2 log2(p_std^2 / q_std^2)`` against the mean of ``kl_bits_per_dim`` over images and latents (5 SE)."""
    eigvals = np.array([4.0, 0.5, 0.01])
    log_snrs = np.linspace(-4.0, 3.0, 5)
    expected = limits.expected_kl_bits(eigvals, log_snrs)
    rng = np.random.default_rng(7)
    draws = 20000
    x = rng.normal(size=(draws, 3)) * np.sqrt(eigvals)
    from gaussian import schedule

    for step in range(len(log_snrs)):
        if step == 0:
            z = np.zeros_like(x)
        else:
            alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snrs[step - 1])
            z = alpha * x + sigma * rng.normal(size=x.shape)
        pair = [np.broadcast_to(a, x.shape) for a in workload._step_pair(step, log_snrs, eigvals, x, z)]
        kl = rcc.kl_bits_per_dim(*pair)
        se = kl.std(axis=0, ddof=1) / math.sqrt(draws)
        assert np.all(np.abs(kl.mean(axis=0) - expected[step]) < 5 * se + 1e-12)


def test_bad_inputs_are_refused_by_name():
    with pytest.raises(ValueError, match="kl_bits_per_step"):
        limits.trade_off(np.zeros((2, 3)), TAIL)
    with pytest.raises(ValueError, match="kl_bits_per_step"):
        limits.trade_off(np.array([[1.0, -0.1]]), TAIL)
    with pytest.raises(ValueError, match="tail_target"):
        limits.trade_off(np.array([[1.0, 0.1]]), None)
    trade = limits.trade_off(np.array([[1.0, 0.1]]), TAIL)
    with pytest.raises(ValueError, match="coordinates"):
        limits.rate_limit(trade, 0.5)
