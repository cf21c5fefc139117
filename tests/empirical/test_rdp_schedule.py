"""Per-component noise schedules (``--schedule rdp``) and the ``dp:C`` decoders, against independent derivations.

References: Gaussian conditioning and a quadrature of the flow's drift in 50-digit mpmath (the oracle's
per-component maps), the KKT conditions of ``theory.vector`` solved by mpmath bisection (the schedule),
Monte Carlo with stated tolerances (the chain's expected rate, the DiffC-F MSE of both schedules).
"""
import mpmath
import numpy as np
import pytest
import sympy as sp

from empirical import codec, models
from empirical.codec import schedules
from gaussian import components, curves, schedule as sched
from theory import symbols as S
from theory import vector

mpmath.mp.dps = 50


def _oracle(eigvals, seed=0, mean_scale=0.3):
    rng = np.random.default_rng(seed)
    d = len(eigvals)
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return models.GaussianOracle(mean_scale * rng.standard_normal(d), np.asarray(eigvals, dtype=float), basis)


def _mp_eigen(oracle, rows):
    """Eigen-coordinates ``basis^T v`` of vectors, in mpmath."""
    q = mpmath.matrix(oracle.basis.tolist())
    return [q.T * mpmath.matrix(list(map(float, r))) for r in rows]


def _mp_alpha_sigma(log_snr):
    a2 = 1 / (1 + mpmath.exp(-mpmath.mpf(log_snr)))
    return mpmath.sqrt(a2), mpmath.sqrt(1 - a2)


# ---------------------------------------------------------------------------- the oracle's per-component maps


def test_per_component_reverse_step_prior_and_posterior_match_gaussian_conditioning_in_mpmath():
    """p(z_s | z_t) from the joint Gaussian of (w_s, w_t) per component, at 50 digits."""
    eigvals = [2.0, 0.5, 0.07]
    oracle = _oracle(eigvals)
    rng = np.random.default_rng(1)
    z = rng.standard_normal(3)
    ls_t, ls_s = np.array([-1.3, 0.4, 2.0]), np.array([0.2, 0.9, 5.5])
    got = oracle.reverse_transition_per_component(z, ls_t, ls_s)
    got_mean = oracle.to_eigen(got.mean)[0]
    got_prior = oracle.prior_per_component(ls_t)
    got_post = oracle.to_eigen(oracle.denoise_per_component(z, ls_t))[0]
    to_x = oracle.reverse_transition_per_component(z, ls_t, np.full(3, np.inf))  # p(x | z_t)
    w, m = _mp_eigen(oracle, [z, oracle.mean])
    for i, lam in enumerate(eigvals):
        lam = mpmath.mpf(lam)
        a_t, s_t = _mp_alpha_sigma(ls_t[i])
        a_s, s_s = _mp_alpha_sigma(ls_s[i])
        v_t, v_s = a_t**2 * lam + s_t**2, a_s**2 * lam + s_s**2
        cov = a_s * a_t * lam + (a_t / a_s) * s_s**2       # w_t = (a_t / a_s) w_s + independent noise
        mean = a_s * m[i] + cov / v_t * (w[i] - a_t * m[i])
        var = v_s - cov**2 / v_t
        assert float(abs(got_mean[i] - mean) / (1 + abs(mean))) < 1e-12
        assert float(abs(got.var[0, i] - var) / var) < 1e-11
        assert float(abs(got_prior.var[0, i] - v_t) / v_t) < 1e-13
        post = m[i] + a_t * lam / v_t * (w[i] - a_t * m[i])
        assert float(abs(got_post[i] - post) / (1 + abs(post))) < 1e-12
        post_var = lam - (a_t * lam) ** 2 / v_t
        assert float(abs(to_x.var[0, i] - post_var) / post_var) < 1e-12
    np.testing.assert_allclose(oracle.to_eigen(got_prior.mean)[0],
                               [float(_mp_alpha_sigma(ls_t[i])[0] * m[i]) for i in range(3)], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("score_scale", [1.0, 1.5, 2.0])
def test_per_component_flow_map_is_the_integrated_score_scaled_drift_in_mpmath(score_scale):
    """ln((y_s - m) / (y_t - m)) = int c s / (lam + s^2) ds (the drift c (y - E[x|y]) / s in y = w/alpha,
    s = e^(-log_snr/2)), by 50-digit quadrature; to x (s_s = 0) and between two finite noise levels."""
    eigvals = [3.0, 0.4, 0.01]
    oracle = _oracle(eigvals, seed=2)
    z = np.random.default_rng(3).standard_normal(3)
    ls_t, ls_s = np.array([-0.5, 1.0, 3.0]), np.array([2.0, 2.5, 7.0])
    w, m = _mp_eigen(oracle, [z, oracle.mean])
    for target in (np.inf, ls_s):
        got = oracle.to_eigen(oracle.flow_map_per_component(z, ls_t, target, score_scale=score_scale))[0]
        for i, lam in enumerate(eigvals):
            lam, c = mpmath.mpf(lam), mpmath.mpf(score_scale)
            a_t, _ = _mp_alpha_sigma(ls_t[i])
            s_t = mpmath.exp(-mpmath.mpf(ls_t[i]) / 2)
            if np.isinf(target).all():
                a_s, s_s = mpmath.mpf(1), mpmath.mpf(0)
            else:
                a_s, s_s = _mp_alpha_sigma(target[i])[0], mpmath.exp(-mpmath.mpf(target[i]) / 2)
            log_gain = mpmath.quad(lambda s: c * s / (lam + s**2), [s_t, s_s])
            y_t = w[i] / a_t
            want = a_s * (m[i] + mpmath.exp(log_gain) * (y_t - m[i]))
            assert float(abs(got[i] - want) / (1 + abs(want))) < 1e-12


def test_score_scaled_flow_ode_matches_the_closed_form_gain():
    """receivers.flow with score_scale c (isotropic, RK4) lands on rho^c z/alpha for the oracle (c = 1: DiffC-F)."""
    oracle = _oracle([2.0, 0.3, 0.05], seed=4, mean_scale=0.0)
    z = np.random.default_rng(5).standard_normal((4, 3))
    for c in (1.0, 1.3, 2.0):
        ode = codec.receivers.flow(z, 0.5, oracle, None, num_steps=256, solver="rk4", score_scale=c)
        alpha, _ = sched.alpha_sigma_from_log_snr(0.5)
        rho = components.flow_gain(oracle.eigvals, np.exp(0.5))
        want = oracle.from_eigen(rho**c * oracle.to_eigen(z) / alpha)
        np.testing.assert_allclose(ode, want, rtol=1e-6, atol=5e-7)  # RK4, 256 steps over 29.5 log-SNR units


# ---------------------------------------------------------------------------- the schedule


def test_rdp_log_snrs_solve_the_kkt_conditions_of_theory_in_mpmath():
    """Per-component SNRs at a total rate: mu solved by bisection on sum_i R_i(mu) = R with theory.vector's
    closed forms (50 digits), then snr_i(mu); the order of the eigenvalues is kept."""
    eigvals = [0.3, 4.0, 1.1, 0.02]
    rate_fn = sp.lambdify((S.eigval, S.multiplier), vector.rdp_rate_for_multiplier(), "mpmath")
    snr_fn = sp.lambdify((S.eigval, S.multiplier), vector.rdp_snr_for_multiplier(), "mpmath")
    rates_bits = [0.05, 0.7, 3.0]
    got = curves.rdp_log_snrs(eigvals, rate_bits_per_dim=rates_bits)
    for row, r_bits in zip(got, rates_bits):
        target = mpmath.mpf(r_bits) * len(eigvals) * mpmath.log(2)
        lo, hi = mpmath.mpf("1e-30"), mpmath.mpf("1e30")
        for _ in range(400):  # total rate decreases in mu: bisection in ln mu
            mid = mpmath.sqrt(lo * hi)
            if sum(rate_fn(mpmath.mpf(lam), mid) for lam in eigvals) > target:
                lo = mid
            else:
                hi = mid
        want = [float(mpmath.log(snr_fn(mpmath.mpf(lam), lo))) for lam in eigvals]
        np.testing.assert_allclose(row, want, rtol=0, atol=1e-9)


def test_rdp_schedule_is_monotone_per_component_and_steps_stay_within_a_factor_two():
    """Each log-SNR rises along the path; between two points all components move by amounts within a factor 2
    (d ln snr_i / d tau in (1, 2), claim rdp_schedule_monotone)."""
    rng = np.random.default_rng(6)
    eigvals = np.exp(rng.uniform(-8, 3, 24))
    table = curves.rdp_log_snrs(eigvals, rate_bits_per_dim=np.linspace(0.01, 6.0, 300))
    steps = np.diff(table, axis=0)
    assert (steps > 0).all()
    ratio = steps.max(axis=1) / steps.min(axis=1)
    assert ratio.max() < 2.0


def test_a_schedule_that_is_not_monotone_is_refused():
    table = np.array([[-2.0, -1.0], [-1.0, -1.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"^schedule: not monotone: component 1"):
        schedules.check_monotone(table)
    oracle = _oracle([1.0, 0.2])
    with pytest.raises(ValueError, match=r"^log_snrs: schedule: not monotone"):
        codec.ideal_chain_kl_bits(np.zeros((2, 2)), oracle, table, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"^rate_start_bits_per_dim: must be < rate_stop"):
        schedules.RdpGrid(4, 2.0, 1.0)
    with pytest.raises(ValueError, match=r"^data: .*descriptor is invalid"):
        schedules.RdpGrid.from_bytes(schedules.RDP_TAG + np.array([4], "<u4").tobytes()
                                     + np.array([2.0, 1.0], "<f4").tobytes())


def test_zero_eigenvalue_components_follow_the_smallest_log_snr():
    table = schedules.rdp_log_snrs_for_model(np.array([1.0, 0.0, 0.1]), [0.1, 0.5, 1.0])
    np.testing.assert_array_equal(table[:, 1], table[:, [0, 2]].min(axis=1))
    assert (np.diff(table, axis=0) > 0).all()


def test_only_models_with_per_component_closed_forms_take_the_rdp_schedule():
    mixture = models.MixtureOracle(np.array([[0.0, 1.0], [1.0, 0.0]]), 0.3)
    with pytest.raises(ValueError, match=r"^schedule: 'rdp' needs a Gaussian oracle"):
        codec.encode(np.zeros(2), mixture, schedule="rdp", num_steps=2)
    with pytest.raises(ValueError, match=r"^log_snr_stop: "):
        codec.encode(np.zeros(2), _oracle([1.0, 0.5]), schedule="rdp", num_steps=2, log_snr_stop=3.0)
    with pytest.raises(ValueError, match=r"^rate_stop_bits_per_dim: "):
        codec.encode(np.zeros(2), _oracle([1.0, 0.5]), num_steps=2, rate_stop_bits_per_dim=1.0)


def test_the_cli_refuses_rdp_for_a_model_without_per_component_steps(capsys):
    from empirical.codec import compress

    with pytest.raises(SystemExit) as exc:
        compress.main(["--model", "mixture-oracle", "--data", "mixture2d", "--schedule", "rdp",
                       "--out", "never-written.dfrc", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "--schedule: 'rdp' needs a Gaussian oracle" in err[0]


# ---------------------------------------------------------------------------- the stream


def test_the_cbrt_spacing_is_uniform_in_the_cube_root_of_the_rate_and_round_trips():
    """spacing "cbrt": points rate_stop (k/K)^3 by default (k = 1..K), the last exactly rate_stop; descriptor VPR3;
    a stream with it decodes bit-exactly; an unknown spacing is refused by name."""
    oracle = _oracle([1.5, 0.6, 0.2, 0.05], seed=7)
    grid = codec.default_rdp_grid(oracle, 8, rate_stop_bits_per_dim=2.0, spacing="cbrt")
    assert grid.rate_start_bits_per_dim == pytest.approx(2.0 / 8**3, rel=1e-7)
    np.testing.assert_allclose(grid.rates_bits_per_dim, 2.0 * (np.arange(1, 9) / 8.0) ** 3, rtol=1e-6)
    assert grid.rates_bits_per_dim[-1] == 2.0
    assert grid.to_bytes()[:4] == b"VPR3" and codec.grid_from_bytes(grid.to_bytes()) == grid
    assert codec.grid_from_bytes(schedules.RdpGrid(8, 0.25, 2.0).to_bytes()).spacing == "rate"
    x = np.random.default_rng(8).standard_normal(4) * np.sqrt(oracle.eigvals) @ oracle.basis.T
    res = codec.encode_detailed(x, oracle, num_steps=8, schedule="rdp", rate_stop_bits_per_dim=2.0, seed=11,
                                rdp_spacing="cbrt")
    assert res.grid == grid
    np.testing.assert_array_equal(codec.decode_latent(res.data, oracle).z, res.z)
    with pytest.raises(ValueError, match=r"^rdp_spacing: expected one of rate, cbrt"):
        schedules.RdpGrid(4, 0.5, 1.0, "log")
    with pytest.raises(ValueError, match=r"^rdp_spacing: sets the rdp grid"):
        codec.encode(x, oracle, num_steps=4, rdp_spacing="cbrt")


def test_the_cbrt_spacing_keeps_an_outlying_coefficient_within_a_chunk():
    """The rdp path gives its first rate to the largest-variance component: a sample 6 standard deviations out
    in it puts tens of bits on that coefficient in the first step of a grid uniform in rate, and a few in any
    step of the cbrt grid (exact chain, expected KL of the step: (snr_k - snr_{k-1}) x^2 / 2 nats at most, here
    measured on one chain)."""
    oracle = _oracle([4.0] + [0.01] * 63, seed=3)
    x = 6.0 * 2.0 * oracle.basis[:, 0]
    worst = {}
    for spacing in ("rate", "cbrt"):
        grid = codec.default_rdp_grid(oracle, 48, rate_stop_bits_per_dim=1.0, spacing=spacing)
        kl = [k.max() for *_, k in codec.ideal_chain_steps(x, oracle, grid.log_snrs_for(oracle),
                                                           np.random.default_rng(0))]
        worst[spacing] = max(kl)
    assert worst["rate"] > 20.0 and worst["cbrt"] < 8.0


def test_the_header_round_trips_the_rdp_schedule_and_prefixes_decode_bit_exactly():
    oracle = _oracle([1.5, 0.6, 0.2, 0.05], seed=7)
    x = np.random.default_rng(8).standard_normal(4) * np.sqrt(oracle.eigvals) @ oracle.basis.T
    res = codec.encode_detailed(x, oracle, num_steps=6, schedule="rdp", rate_stop_bits_per_dim=1.5, seed=11)
    header = codec.read_header(res.data)
    assert header.schedule_hash[:4] == b"VPRD"
    grid = codec.grid_from_bytes(header.schedule_hash)
    assert grid == res.grid == schedules.RdpGrid(6, 0.25, 1.5)
    np.testing.assert_allclose(grid.rates_bits_per_dim, np.linspace(0.25, 1.5, 6), rtol=1e-7)
    latent = codec.decode_latent(res.data, oracle)
    np.testing.assert_array_equal(latent.z, res.z)                   # designed bit-exact
    np.testing.assert_array_equal(latent.log_snr, grid.log_snrs_for(oracle)[-1])
    prefix = codec.decode_latent(res.data, oracle, prefix_steps=3)
    np.testing.assert_array_equal(prefix.log_snr, grid.log_snrs_for(oracle)[2])
    iso = codec.encode_detailed(x, oracle, num_steps=3, seed=11)
    assert codec.read_header(iso.data).schedule_hash[:4] == b"VPLS"  # the isotropic descriptor is unchanged
    for method in ("flow", "ancestral", "mean", "dp:1.5"):
        assert codec.decode(res.data, oracle, method).shape == (4,)


# ---------------------------------------------------------------------------- Monte Carlo


def test_chain_sum_kl_equals_the_grid_rates_in_expectation():
    """E[sum KL] of the exact-oracle chain under the rdp schedule = I(X; Z) = the grid's rate at every point.
    Tolerance: 4 standard errors of the mean over 4000 chains (plus 1e-3 relative)."""
    oracle = _oracle(1.0 / np.arange(1, 17), seed=9, mean_scale=0.5)
    grid = codec.default_rdp_grid(oracle, 8, rate_stop_bits_per_dim=2.0)
    rng = np.random.default_rng(10)
    n = 4000
    x = oracle.mean + (rng.standard_normal((n, 16)) * np.sqrt(oracle.eigvals)) @ oracle.basis.T
    kl_bits, _ = codec.ideal_chain(x, oracle, grid.log_snrs_for(oracle), rng)
    cum = np.cumsum(kl_bits, axis=1) / 16
    se = cum.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(cum.mean(axis=0) - grid.rates_bits_per_dim) < 4 * se + 1e-3 * grid.rates_bits_per_dim)


def test_measured_diffc_f_mse_under_rdp_is_below_the_isotropic_one_by_the_closed_form_gap():
    """Two big and 14 small components at 0.4 bits/dim: rdp DiffC-F MSE is ~10% below isotropic at the same rate.

    Both chains (4 grid points ending at that rate, exact q draws) decode with the codec's DiffC-F (isotropic:
    the RK4 flow; rdp: the exact per-component flow map). Tolerance: each MSE within 4 standard errors of its
    closed form; the paired difference above 5 standard errors and within 4 of the closed-form gap.
    """
    eigvals = np.array([1.0, 1.0] + [1e-3] * 14)
    oracle = _oracle(eigvals, seed=12, mean_scale=0.0)
    rate = 0.4
    n = 20000
    rng = np.random.default_rng(13)
    x = (rng.standard_normal((n, 16)) * np.sqrt(eigvals)) @ oracle.basis.T
    stop = float(np.float32(curves.log_snr_for_rate(eigvals, rate_bits_per_dim=rate)[0]))
    iso = codec.Grid(4, stop - 6.0, stop)
    rdp = codec.default_rdp_grid(oracle, 4, rate_stop_bits_per_dim=rate)
    _, z_iso = codec.ideal_chain(x, oracle, iso.log_snrs, rng)
    _, z_rdp = codec.ideal_chain(x, oracle, rdp.log_snrs_for(oracle), rng)
    e_iso = np.mean((codec.receivers.flow(z_iso, iso.log_snr_stop, oracle, None, num_steps=64, solver="rk4") - x) ** 2, 1)
    e_rdp = np.mean((oracle.flow_map_per_component(z_rdp, rdp.log_snrs_for(oracle)[-1]) - x) ** 2, 1)
    curve = curves.evaluate(eigvals, rate_bits_per_dim=float(np.float32(rate)))
    want_iso = components.mse_diffc_f(eigvals, np.exp(stop)).mean()
    for err, want in ((e_iso, want_iso), (e_rdp, curve.mse_rdp[0])):
        assert abs(err.mean() - want) < 4 * err.std(ddof=1) / np.sqrt(n)
    diff = e_iso - e_rdp
    se = diff.std(ddof=1) / np.sqrt(n)
    assert diff.mean() > 5 * se
    assert abs(diff.mean() - (want_iso - curve.mse_rdp[0])) < 4 * se
    assert (want_iso - curve.mse_rdp[0]) / curve.mse_rdp[0] > 0.08
