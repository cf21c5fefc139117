"""empirical.models: oracles against independent derivations; the learned model's interface contract."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from empirical import data, models
from gaussian import components, schedule

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from empirical.models import learned  # noqa: E402

log_snrs = st.floats(min_value=-12.0, max_value=14.0, allow_nan=False)


def _random_gaussian(dim, seed, zero_eigvals=0):
    """(mean, covariance, eigvals) of a random Gaussian, optionally singular."""
    rng = np.random.default_rng(seed)
    eigvals = np.exp(rng.uniform(-5, 2, dim))
    eigvals[:zero_eigvals] = 0.0
    basis = data.haar_orthogonal(dim, seed)
    return rng.normal(size=dim), (basis * eigvals) @ basis.T, eigvals


def _alpha_sigma(log_snr):
    return schedule.alpha_sigma_from_log_snr(log_snr)


@settings(max_examples=25, deadline=None)
@given(log_snrs)
def test_oracle_posterior_matches_matrix_formula(log_snr):
    """E[x|z] = m + alpha C (alpha^2 C + sigma^2 I)^-1 (z - alpha m); Cov[x|z] = C - alpha^2 C (alpha^2 C + sigma^2 I)^-1 C.

    Checked against linear solves in pixel coordinates (no eigendecomposition), relative 1e-9.
    """
    mean, cov, _ = _random_gaussian(6, 1)
    oracle = models.GaussianOracle.from_moments(mean, cov)
    alpha, sigma = _alpha_sigma(log_snr)
    z = np.random.default_rng(2).normal(size=(3, 6))
    m_z = alpha**2 * cov + sigma**2 * np.eye(6)
    want = mean + (alpha * cov @ np.linalg.solve(m_z, (z - alpha * mean).T)).T
    got = oracle.denoise(z, log_snr)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
    post_cov = cov - alpha**2 * cov @ np.linalg.solve(m_z, cov)
    np.testing.assert_allclose(oracle.mmse_per_dim(log_snr)[0], np.trace(post_cov) / 6, rtol=1e-8)


def test_transition_coefficients_match_mpmath_conditioning():
    """q(z_s | z_t, x) from 50-digit Gaussian conditioning of (z_s, z_t) given x, relative 1e-12.

    Given x: z_s = alpha_s x + sigma_s u_s, z_t = (alpha_t/alpha_s) z_s + sqrt(sigma_t^2 - (alpha_t/alpha_s)^2 sigma_s^2) u.
    """
    mp.mp.dps = 50
    for ls_t, ls_s in [(-10.0, -9.9), (0.0, 1e-6), (-3.0, 12.0), (5.0, 5.5), (11.9, 12.0)]:
        a_t, a_s = mp.sqrt(1 / (1 + mp.e ** (-ls_t))), mp.sqrt(1 / (1 + mp.e ** (-ls_s)))
        s_t2, s_s2 = 1 / (1 + mp.e ** ls_t), 1 / (1 + mp.e ** ls_s)
        a_ts = a_t / a_s
        var_ts = s_t2 - a_ts**2 * s_s2
        # (z_s, z_t) | x: means (a_s x, a_t x), Var z_s = s_s2, Cov = a_ts s_s2, Var z_t = s_t2
        coef_z = a_ts * s_s2 / s_t2
        coef_x = a_s - coef_z * a_t
        var = s_s2 - (a_ts * s_s2) ** 2 / s_t2
        assert var_ts > 0
        got = models.transition_coefficients(ls_t, ls_s)
        for g, w in zip(got, (coef_z, coef_x, var)):
            assert abs(float(g) / float(w) - 1) < 1e-12, (ls_t, ls_s, float(g), float(w))


def test_transition_to_infinity_is_x():
    coef_z, coef_x, var = models.transition_coefficients(3.0, np.inf)
    assert (coef_z, coef_x, var) == (0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="log_snr_s"):
        models.transition_coefficients(3.0, 3.0)


@pytest.mark.parametrize("ls_t, ls_s", [(-8.0, -7.0), (0.0, 0.5), (4.0, 9.0), (2.0, np.inf)])
def test_exact_reverse_transition_is_true_conditional(ls_t, ls_s):
    """Oracle p(z_s | z_t) = conditional of the joint Gaussian (z_s, z_t), per eigen-component of variance lam.

    Var z = alpha^2 lam + sigma^2, Cov(z_s, z_t) = alpha_s alpha_t lam + (alpha_t/alpha_s) sigma_s^2 (rel. 1e-10).
    """
    mean, cov, eigvals = _random_gaussian(5, 3)
    oracle = models.GaussianOracle.from_moments(mean, cov)
    lam = oracle.eigvals
    a_t, s_t = _alpha_sigma(ls_t)
    a_s, s_s = _alpha_sigma(ls_s)
    var_t = a_t**2 * lam + s_t**2
    var_s = a_s**2 * lam + s_s**2
    cross = a_s * a_t * lam + (a_t / a_s) * s_s**2
    z_t = np.random.default_rng(4).normal(size=(2, 5))
    w_t = (z_t - a_t * mean) @ oracle.basis
    want_mean_w = a_s * (mean @ oracle.basis) + cross / var_t * w_t
    want_var = var_s - cross**2 / var_t
    got = oracle.reverse_transition(z_t, ls_t, ls_s)
    np.testing.assert_allclose(got.mean @ oracle.basis, want_mean_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.var, np.broadcast_to(want_var, (2, 5)), rtol=1e-10, atol=1e-300)
    plugin = models.GaussianOracle.from_moments(mean, cov, transitions="plugin").reverse_transition(z_t, ls_t, ls_s)
    np.testing.assert_array_equal(plugin.mean, got.mean)
    _, _, var_q = models.transition_coefficients(ls_t, ls_s)
    np.testing.assert_allclose(plugin.var, var_q, rtol=1e-15)
    assert np.all(got.var > plugin.var) if np.isfinite(ls_s) else np.all(got.var > 0)


def test_prior_is_exact_marginal():
    mean, cov, _ = _random_gaussian(4, 5)
    oracle = models.GaussianOracle.from_moments(mean, cov)
    alpha, sigma = _alpha_sigma(-2.0)
    prior = oracle.prior(-2.0)
    want = np.linalg.eigvalsh(alpha**2 * cov + sigma**2 * np.eye(4))[::-1]
    np.testing.assert_allclose(prior.var[0] if prior.var.ndim == 2 else prior.var, want, rtol=1e-12)
    np.testing.assert_allclose(prior.mean[0], alpha * mean, rtol=1e-15)


@settings(max_examples=20, deadline=None)
@given(log_snrs, log_snrs)
def test_flow_map_closed_form_and_marginals(ls_a, ls_b):
    """Flow map to x is sqrt(lam / (alpha^2 lam + sigma^2)) per eigen-component (= flow_gain / alpha, gaussian.components);
    the map between two levels is linear M with M Var(z_t) M^T = Var(z_s) (it transports marginals), rel. 1e-9."""
    ls_t, ls_s = min(ls_a, ls_b), max(ls_a, ls_b)
    mean, cov, _ = _random_gaussian(4, 6)
    oracle = models.GaussianOracle.from_moments(mean, cov)
    alpha, sigma = _alpha_sigma(ls_t)
    z = np.random.default_rng(7).normal(size=(4, 4))
    gain = components.flow_gain(oracle.eigvals, np.exp(ls_t)) / alpha
    want = mean + ((z - alpha * mean) @ oracle.basis * gain) @ oracle.basis.T
    np.testing.assert_allclose(oracle.flow_map(z, ls_t), want, rtol=1e-9, atol=1e-12)
    # linear part of the map between levels, from the images of the unit vectors
    a_s, s_s = _alpha_sigma(ls_s)
    shift = oracle.flow_map(alpha * mean, ls_t, ls_s)
    np.testing.assert_allclose(shift[0], a_s * mean, rtol=1e-12, atol=1e-14)
    m = (oracle.flow_map(alpha * mean + np.eye(4), ls_t, ls_s) - shift).T
    var_t = alpha**2 * cov + sigma**2 * np.eye(4)
    var_s = a_s**2 * cov + s_s**2 * np.eye(4)
    np.testing.assert_allclose(m @ var_t @ m.T, var_s, rtol=1e-8, atol=1e-9 * np.abs(var_s).max())


def test_singular_covariance_gives_zero_eigvals_and_finite_outputs():
    """Digits (4 constant train pixels): 4 eigenvalues exactly 0; denoising keeps those directions at the mean."""
    oracle = models.GaussianOracle.from_source(data.digits())
    assert int(np.sum(oracle.eigvals == 0)) == 4
    z = np.random.default_rng(0).normal(size=(3, 64))
    for ls in (-10.0, 0.0, 12.0):
        out = oracle.denoise(z, ls)
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out[:, [0, 32, 39, 56]], -1.0, atol=1e-6)
        t = oracle.reverse_transition(z, ls, ls + 1)
        assert np.isfinite(t.mean).all() and np.all(t.var > 0)
    with pytest.raises(ValueError, match="not positive semi-definite"):
        models.GaussianOracle.from_moments(np.zeros(2), np.diag([1.0, -0.1]))


def test_mixture_oracle_matches_quadrature():
    """E[x|z] of a 1-D mixture by adaptive quadrature of x p(x) N(z; alpha x, sigma^2), relative 1e-8."""
    means, std = np.array([[-1.5], [0.3], [2.0]]), 0.4
    oracle = models.MixtureOracle(means, std)
    for ls, z in [(-3.0, 0.1), (0.0, 1.2), (2.0, -0.7), (6.0, 1.9)]:
        alpha, sigma = _alpha_sigma(ls)

        def prior(x):
            return np.mean([np.exp(-0.5 * ((x - m) / std) ** 2) for m in means[:, 0]])

        def lik(x):
            return np.exp(-0.5 * ((z - alpha * x) / sigma) ** 2)

        pts = list(means[:, 0]) + [z / alpha]
        num = integrate.quad(lambda x: x * prior(x) * lik(x), -8, 8, points=pts, epsabs=0, epsrel=1e-12, limit=500)[0]
        den = integrate.quad(lambda x: prior(x) * lik(x), -8, 8, points=pts, epsabs=0, epsrel=1e-12, limit=500)[0]
        got = oracle.denoise(np.array([[z]]), ls)[0, 0]
        assert got == pytest.approx(num / den, rel=1e-8)


def test_mixture_oracle_beats_linear_on_mixture2d():
    """On mixture2d at log_snr 3 the exact posterior mean has < 0.6 of the linear (Gaussian) MSE (measured: 0.51)."""
    src = data.mixture2d()
    x = src.sample(4000, seed=0, split="test")
    alpha, sigma = _alpha_sigma(3.0)
    z = alpha * x + sigma * np.random.default_rng(1).normal(size=x.shape)
    mse_mix = np.mean((models.MixtureOracle.from_source(src).denoise(z, 3.0) - x) ** 2)
    mse_lin = np.mean((models.GaussianOracle.from_source(src).denoise(z, 3.0) - x) ** 2)
    assert mse_mix < 0.6 * mse_lin


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda o: o.denoise(np.zeros((2, 3)), 0.0), r"z: expected shape \[n, 4\]"),
        (lambda o: o.denoise(np.full((1, 4), np.nan), 0.0), "z: entries must be finite"),
        (lambda o: o.denoise(np.zeros((1, 4)), np.nan), "log_snr: must be finite"),
        (lambda o: o.denoise(np.zeros((2, 4)), [0.0, 1.0, 2.0]), "log_snr: expected a scalar"),
        (lambda o: o.reverse_transition(np.zeros((1, 4)), 1.0, 0.5), "log_snr_s: must be > log_snr_t"),
    ],
)
def test_oracle_bad_input(call, match):
    oracle = models.GaussianOracle.from_moments(np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match=match):
        call(oracle)


def test_oracle_constructor_validation_and_fingerprint():
    with pytest.raises(ValueError, match="transitions"):
        models.GaussianOracle.from_moments(np.zeros(2), np.eye(2), transitions="ddim")
    with pytest.raises(ValueError, match="basis"):
        models.GaussianOracle(np.zeros(2), np.ones(2), np.ones((2, 2)))
    a = models.GaussianOracle.from_moments(np.zeros(2), np.eye(2))
    b = models.GaussianOracle.from_moments(np.zeros(2), np.diag([1.0, 1.0 + 1e-15]))
    c = models.GaussianOracle.from_moments(np.zeros(2), np.eye(2), transitions="plugin")
    assert a.fingerprint == models.GaussianOracle.from_moments(np.zeros(2), np.eye(2)).fingerprint
    assert len({a.fingerprint, b.fingerprint, c.fingerprint}) == 3


# ----------------------------------------------------------------------------- learned model


def _tiny_net(prediction="x", seed=0, dim=6):
    mean, cov, _ = _random_gaussian(dim, 8, zero_eigvals=1)
    eigvals, basis = models.base._eig_from_covariance(cov)
    config = {"dim": dim, "hidden": 16, "depth": 2, "num_freqs": 4, "prediction": prediction,
              "log_snr_min": -10.0, "log_snr_max": 12.0}
    torch.manual_seed(seed)
    return learned.DenoiserNet(config, mean, eigvals, basis)


def _perturb(net, scale=0.05, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return net


@pytest.mark.parametrize("prediction", ["x", "eps"])
def test_untrained_net_is_the_gaussian_oracle_of_its_skip(prediction):
    """Zero-initialised output: the network equals the Gaussian oracle of its skip (mean, eigvals, basis), rel. 1e-10."""
    net = _tiny_net(prediction)
    model = learned.LearnedDenoiser(net)
    oracle = models.GaussianOracle(net.skip_mean.numpy(), net.skip_eigvals.numpy(), net.skip_basis.numpy())
    z = np.random.default_rng(0).normal(size=(5, 6))
    for ls in (-10.0, -1.0, 3.0, 12.0):
        want = oracle.denoise(z, ls)
        np.testing.assert_allclose(model.denoise(z, ls), want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_learned_interface_contract(tmp_path):
    """Shapes, dtype, determinism, batch independence, plug-in steps, N(0, I) prior, errors, checkpoint hash."""
    net = _perturb(_tiny_net())
    model = learned.LearnedDenoiser(net)
    rng = np.random.default_rng(3)
    z = rng.normal(size=(7, 6))
    out = model.denoise(z, 0.5)
    assert out.shape == (7, 6) and out.dtype == np.float64 and np.isfinite(out).all()
    np.testing.assert_array_equal(out, model.denoise(z, 0.5))
    np.testing.assert_allclose(model.denoise(z[2], 0.5)[0], out[2], rtol=1e-12, atol=1e-14)
    per_row = model.denoise(z, np.full(7, 0.5))
    np.testing.assert_allclose(per_row, out, rtol=1e-12, atol=1e-14)
    step = model.reverse_transition(z, 0.5, 1.5)
    mean_q, var_q = models.q_reverse(out, z, 0.5, 1.5)
    np.testing.assert_allclose(step.mean, mean_q, rtol=1e-13)
    np.testing.assert_allclose(step.var, np.broadcast_to(var_q, (7, 6)), rtol=1e-15)
    # last step to x: N(x_hat, B diag(lam / (1 + snr lam)) B^T) of the skip's Gaussian fit
    final = model.reverse_transition(z, 0.5, np.inf)
    np.testing.assert_allclose(final.mean, out, rtol=1e-13)
    lam = net.skip_eigvals.numpy()
    np.testing.assert_allclose(final.var, np.broadcast_to(lam / (1 + np.exp(0.5) * lam), (7, 6)), rtol=1e-13)
    assert final.var[0, -1] == 0.0  # the zero-variance direction of the fit stays a point mass
    zero = learned.LearnedDenoiser(net, final_variance="zero").reverse_transition(z, 0.5, np.inf)
    np.testing.assert_array_equal(zero.var, 0.0)
    prior = model.prior(-10.0)
    np.testing.assert_array_equal(prior.mean, 0.0)
    np.testing.assert_array_equal(prior.var, 1.0)
    np.testing.assert_array_equal(model.basis, net.skip_basis.numpy())
    np.testing.assert_allclose(model.basis.T @ model.basis, np.eye(6), atol=1e-13)
    for bad, match in [(np.zeros((2, 5)), "z: expected shape"), (np.full((1, 6), np.inf), "z: entries must be finite")]:
        with pytest.raises(ValueError, match=match):
            model.denoise(bad, 0.0)
    path = tmp_path / "m.pt"
    digest = learned.save_checkpoint(path, net)
    loaded = models.load(str(path))
    assert loaded.fingerprint == digest == model.fingerprint
    # same tensors (test below), so only a different float64 summation order could differ: a few ulps
    # (8.9e-16 seen on another machine); 1024 ulps of the output scale is 2.3e-13, while a float32
    # round trip of any weight or of the Gaussian fit moves outputs by ~1e-7
    tol = 1024 * np.finfo(np.float64).eps * max(1.0, float(np.abs(out).max()))
    np.testing.assert_allclose(loaded.denoise(z, 0.5), out, rtol=0, atol=tol)


def test_in_memory_and_loaded_models_hold_the_same_contiguous_float64_tensors(tmp_path):
    """The float64 network of LearnedDenoiser(net) and of the saved-and-loaded checkpoint: same names, values
    (exact conversions of the saved float32 / float64 data, no arithmetic), shapes and strides, all contiguous.

    The Gaussian fit's basis comes from eigh in Fortran order; kept as a transposed view, the in-memory
    network multiplied by a non-contiguous matrix and the loaded one by a contiguous one.
    """
    net = _perturb(_tiny_net())
    assert all(t.is_contiguous() for t in net.state_dict().values())
    path = tmp_path / "m.pt"
    learned.save_checkpoint(path, net)
    mine, loaded = learned.LearnedDenoiser(net).net.state_dict(), models.load(str(path)).net.state_dict()
    assert list(mine) == list(loaded) == list(net.state_dict())
    for name, tensor in mine.items():
        other = loaded[name]
        assert tensor.dtype == other.dtype == torch.float64, name
        assert tensor.is_contiguous() and other.is_contiguous(), name
        assert tensor.stride() == other.stride(), name
        assert torch.equal(tensor, other), name
        assert torch.equal(tensor, net.state_dict()[name].double()), name


def test_checkpoint_tampering_and_garbage_are_rejected(tmp_path):
    net = _tiny_net()
    path = tmp_path / "m.pt"
    learned.save_checkpoint(path, net)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["out.bias"][0] += 1e-3
    torch.save(payload, tmp_path / "tampered.pt")
    with pytest.raises(ValueError, match="corrupt"):
        models.load(str(tmp_path / "tampered.pt"))
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read"):
        models.load(str(tmp_path / "garbage.pt"))
    with pytest.raises(ValueError, match="not found"):
        models.load(str(tmp_path / "missing.pt"))
    with pytest.raises(ValueError, match="needs a data source"):
        models.load("oracle")


def test_losses_are_the_documented_weighted_errors():
    """x-prediction loss = mean_n sum_i (x_w - x_hat_w)_i^2 / pv_i / d over pv > 0; eps loss = mean ||eps - eps_hat||^2 / d."""
    for prediction in ("x", "eps"):
        net = _perturb(_tiny_net(prediction)).double()
        g = torch.Generator().manual_seed(0)
        x = torch.randn(9, 6, generator=g, dtype=torch.float64)
        eps = torch.randn(9, 6, generator=g, dtype=torch.float64)
        ls = torch.linspace(-9.0, 11.0, 9, dtype=torch.float64)
        alpha, sigma = (torch.as_tensor(v) for v in schedule.alpha_sigma_from_log_snr(ls.numpy()))
        z = alpha[:, None] * x + sigma[:, None] * eps
        x_hat = net(z, ls)
        basis, lam = net.skip_basis, net.skip_eigvals
        if prediction == "x":
            pv = lam * sigma[:, None] ** 2 / (alpha[:, None] ** 2 * lam + sigma[:, None] ** 2)
            err = ((x - x_hat) @ basis) ** 2
            want = torch.mean(torch.sum(torch.where(pv > 0, err / torch.where(pv > 0, pv, 1.0), 0.0), 1)) / 6
        else:
            eps_hat = (z - alpha[:, None] * x_hat) / sigma[:, None]
            want = torch.mean(torch.sum((eps - eps_hat) ** 2, 1)) / 6
        got = net.loss(x, eps, ls)
        assert float(got.detach()) == pytest.approx(float(want.detach()), rel=1e-9)
