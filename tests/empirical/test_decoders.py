"""empirical.codec.receivers: flow solver accuracy and order, ancestral sampling in distribution, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from empirical import data, models
from empirical.codec import receivers
from gaussian import components, schedule


@pytest.fixture(scope="module")
def patch_oracle():
    """Oracle of the 64-dim natural-patch spectrum in a random basis, with a non-zero mean."""
    src = data.gaussian("patches", basis="random", basis_seed=1)
    mean = np.random.default_rng(0).uniform(-0.5, 0.5, 64)
    return models.GaussianOracle(mean, src.eigvals, src.basis)


def _closed_form_flow(oracle, z, log_snr):
    """x = mean + sqrt(lam / (alpha^2 lam + sigma^2)) (z - alpha mean) per eigen-component (gaussian.components)."""
    alpha, _ = schedule.alpha_sigma_from_log_snr(log_snr)
    gain = components.flow_gain(oracle.eigvals, schedule.snr_from_log_snr(log_snr)) / alpha
    return gain * ((z - alpha * oracle.mean) @ oracle.basis)


@pytest.mark.parametrize("log_snr", [-10.0, -3.0, 0.0, 5.0, 12.0])
def test_flow_matches_closed_form_map_to_1e6(patch_oracle, log_snr):
    """RK4 with 512 steps from log_snr to 30: |x_w - x_w^exact| <= 1e-6 |x_w^exact| in every eigen-component.

    Eigenvalues span 1.3e-3 .. 16.3; the last Euler step from log_snr 30 adds ~e^-30 / (2 lam) < 4e-11.
    """
    rng = np.random.default_rng(1)
    alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr)
    x = patch_oracle.mean + (rng.normal(size=(8, 64)) * np.sqrt(patch_oracle.eigvals)) @ patch_oracle.basis.T
    z = alpha * x + sigma * rng.normal(size=x.shape)
    got = receivers.flow(z, log_snr, patch_oracle, num_steps=512, solver="rk4")
    want_w = _closed_form_flow(patch_oracle, z, log_snr)
    got_w = (got - patch_oracle.mean) @ patch_oracle.basis
    assert np.max(np.abs(got_w / want_w - 1)) < 1e-6


def test_flow_solver_orders():
    """Error ratios when the step count doubles: Euler ~2, Heun ~4, RK4 ~16 (each within 15%).

    Reference: the exact flow to log_snr 16 (``flow_map``, checked in test_models) followed by the same
    final Euler step E[x | z_16], so that only the ODE error is measured.
    """
    oracle = models.GaussianOracle(np.zeros(3), np.array([4.0, 0.3, 0.02]), np.eye(3))
    z = np.array([[0.7, -0.4, 0.2]])
    want = oracle.denoise(oracle.flow_map(z, 0.0, 16.0), 16.0)

    def err(solver, n):
        got = receivers.flow(z, 0.0, oracle, num_steps=n, solver=solver, log_snr_end=16.0)
        return np.max(np.abs(got / want - 1))

    for solver, order, n in [("euler", 1, 256), ("heun", 2, 128), ("rk4", 4, 64)]:
        ratio = err(solver, n) / err(solver, 2 * n)
        assert abs(ratio / 2**order - 1) < 0.15, (solver, ratio)


def test_flow_single_vector_and_zero_steps(patch_oracle):
    """A [dim] input gives a [dim] output; zero steps is the final Euler step: E[x | z]."""
    z = np.random.default_rng(2).normal(size=64)
    out = receivers.flow(z, 3.0, patch_oracle, num_steps=8)
    assert out.shape == (64,)
    want = patch_oracle.denoise(z, 3.0)[0]
    np.testing.assert_allclose(receivers.flow(z, 3.0, patch_oracle, num_steps=0), want, rtol=1e-13, atol=1e-15)
    want = patch_oracle.denoise(z, 31.0)[0]
    np.testing.assert_allclose(receivers.flow(z, 31.0, patch_oracle, num_steps=8), want, rtol=1e-13, atol=1e-15)


def _posterior(mean, cov, z, log_snr):
    """Posterior mean and covariance of x given z, by linear solves (independent of the oracle code)."""
    alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr)
    m_z = alpha**2 * cov + sigma**2 * np.eye(len(mean))
    post_mean = mean + alpha * cov @ np.linalg.solve(m_z, z - alpha * mean)
    post_cov = cov - alpha**2 * cov @ np.linalg.solve(m_z, cov)
    return post_mean, post_cov


@pytest.mark.parametrize("num_steps", [0, 3, 40])
def test_exact_ancestral_matches_posterior_in_distribution(num_steps):
    """With exact transitions, ancestral sampling from z is exactly p(x | z) for any number of steps.

    40000 draws: sample mean within 5 standard errors, sample covariance entries within 5 standard errors
    (Wishart), and KS p > 1e-3 for each whitened coordinate against N(0, 1).
    """
    rng = np.random.default_rng(3)
    basis = data.haar_orthogonal(4, 2)
    cov = (basis * np.array([3.0, 1.0, 0.2, 0.05])) @ basis.T
    mean = rng.normal(size=4)
    oracle = models.GaussianOracle.from_moments(mean, cov)
    log_snr = 0.5
    z = rng.normal(size=4)
    n = 40_000
    x = receivers.ancestral(np.tile(z, (n, 1)), log_snr, oracle, np.random.default_rng(4), num_steps=num_steps)
    post_mean, post_cov = _posterior(mean, cov, z, log_snr)
    se_mean = np.sqrt(np.diag(post_cov) / n)
    assert np.max(np.abs(x.mean(0) - post_mean) / se_mean) < 5
    emp = np.cov(x, rowvar=False)
    se_cov = np.sqrt((np.outer(np.diag(post_cov), np.diag(post_cov)) + post_cov**2) / n)
    assert np.max(np.abs(emp - post_cov) / se_cov) < 5
    evals, evecs = np.linalg.eigh(post_cov)
    white = (x - post_mean) @ evecs / np.sqrt(evals)
    for j in range(4):
        assert stats.kstest(white[:, j], "norm").pvalue > 1e-3


def _plugin_chain_variance(lam, grid):
    """Output variance of plug-in ancestral sampling for one component (zero mean), by the exact linear recursion.

    Each step is z_s = (coef_z + coef_x g_t) z_t + sqrt(var) u with g_t = alpha_t lam / (alpha_t^2 lam + sigma_t^2);
    the last step outputs g_end z_end.
    """
    gain, var = 1.0, 0.0
    for a, b in zip(grid[:-1], grid[1:]):
        coef_z, coef_x, v = models.transition_coefficients(a, b)
        alpha, sigma = schedule.alpha_sigma_from_log_snr(a)
        m = coef_z + coef_x * alpha * lam / (alpha**2 * lam + sigma**2)
        gain, var = m * gain, m * m * var + v
    alpha, sigma = schedule.alpha_sigma_from_log_snr(grid[-1])
    g = alpha * lam / (alpha**2 * lam + sigma**2)
    return g * gain, g * g * var


def test_plugin_ancestral_variance_deficit_and_convergence():
    """Plug-in (DDPM/VDM) ancestral sampling keeps E[x | z] but under-disperses by a first-order-in-step amount.

    Sample variances of 40000 draws match the exact recursion (within 5 standard errors of a variance,
    sqrt(2/n) relative); the recursion's variance tends to the posterior variance lam / (1 + snr lam):
    ratio < 0.88 at 64 steps on [0, 20] and > 0.98 at 1024 steps, the deficit halving as steps double.
    """
    lam = np.array([4.0, 1.0, 0.1, 0.01])
    oracle = models.GaussianOracle(np.zeros(4), lam, np.eye(4), transitions="plugin", log_snr_max=20.0)
    post_var = components.mse_mmse(lam, 1.0)
    n = 40_000
    x = receivers.ancestral(np.zeros((n, 4)), 0.0, oracle, np.random.default_rng(5), num_steps=64)
    _, want_var = _plugin_chain_variance(lam, receivers.log_snr_grid(0.0, 20.0, 64))
    assert np.max(np.abs(x.var(0) / want_var - 1) / np.sqrt(2 / n)) < 5
    assert np.max(want_var / post_var) < 0.88
    deficits = [1 - _plugin_chain_variance(lam, receivers.log_snr_grid(0.0, 20.0, k))[1] / post_var for k in (512, 1024)]
    assert np.all(deficits[1] < 0.02)
    np.testing.assert_allclose(deficits[0] / deficits[1], 2.0, rtol=0.05)


def test_ancestral_is_seeded():
    oracle = models.GaussianOracle(np.zeros(3), np.ones(3), np.eye(3))
    z = np.ones((2, 3))
    a = receivers.ancestral(z, 1.0, oracle, np.random.default_rng(9), num_steps=4)
    np.testing.assert_array_equal(a, receivers.ancestral(z, 1.0, oracle, np.random.default_rng(9), num_steps=4))
    np.testing.assert_array_equal(receivers.ancestral(z, 1.0, oracle, 9, num_steps=4),
                                  receivers.ancestral(z, 1.0, oracle, 9, num_steps=4))
    assert not np.array_equal(a, receivers.ancestral(z, 1.0, oracle, np.random.default_rng(10), num_steps=4))


def test_log_snr_grid():
    grid = receivers.log_snr_grid(-10.0, 12.0, 22)
    np.testing.assert_allclose(np.diff(grid), 1.0, rtol=1e-13)
    assert grid[0] == -10.0 and grid[-1] == 12.0
    np.testing.assert_array_equal(receivers.log_snr_grid(5.0, 1.0, 10), [5.0])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda o: receivers.flow(np.zeros((1, 3)), 0.0, o), r"z: expected shape \[n, 2\]"),
        (lambda o: receivers.flow(np.array([np.nan, 0.0]), 0.0, o), "z: entries must be finite"),
        (lambda o: receivers.flow(np.zeros(2), np.nan, o), "log_snr: expected one finite number"),
        (lambda o: receivers.flow(np.zeros(2), [0.0, 1.0], o), "log_snr: expected one finite number"),
        (lambda o: receivers.flow(np.zeros(2), 0.0, o, solver="dopri"), "solver:"),
        (lambda o: receivers.flow(np.zeros(2), 0.0, o, num_steps=-1), "num_steps:"),
        (lambda o: receivers.flow(np.zeros(2), 0.0, o, num_steps=2.5), "num_steps:"),
        (lambda o: receivers.ancestral(np.zeros(2), 0.0, o, rng="seed"), "rng:"),
        (lambda o: receivers.ancestral(np.zeros(2), 0.0, o, rng=-1), "rng:"),
        (lambda o: receivers.ancestral(np.zeros(2), 0.0, o, 0, log_snr_end=np.inf), "log_snr_end:"),
    ],
)
def test_bad_input(call, match):
    oracle = models.GaussianOracle(np.zeros(2), np.ones(2), np.eye(2))
    with pytest.raises(ValueError, match=match):
        call(oracle)
