"""empirical.measure.sweep: measured points of the real codec against independent closed forms, determinism
across worker counts, progressive prefixes, and the realism / bound helpers."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import scipy.linalg

from empirical import codec
from empirical.measure import sweep

LN2 = math.log(2.0)
TOL_SE = 4.0  # Monte Carlo tolerance: 4 standard errors (two-sided normal tail 6.3e-5 per check)
DATA = {"name": "gaussian", "spectrum": "powerlaw:1", "dim": 4}


def _spec(**kwargs):
    base = dict(data=DATA, model="oracle", n=64, stop_steps=(17, 21), num_steps=32, seed=3)
    base.update(kwargs)
    return sweep.SweepSpec(**base)


@pytest.fixture(scope="module")
def points():
    return sweep.measure(_spec(), workers=1)


def _eigvals():
    source, _ = sweep.build(_spec())
    return np.asarray(source.eigvals)


def _closed_form(method, eigvals, log_snr):
    """Per-dim MSE written directly from the DESIGN formulas (not via gaussian.components)."""
    snr = math.exp(log_snr)
    total = 0.0
    for lam in eigvals:
        if method == "ancestral":
            total += 2.0 * lam / (1.0 + snr * lam)
        elif method == "flow":
            total += 2.0 * lam * (1.0 - math.sqrt(snr * lam / (1.0 + snr * lam)))
        else:
            total += lam / (1.0 + snr * lam)
    return total / len(eigvals)


def test_measured_mse_matches_closed_form(points):
    """|mse - D(log_snr_stop)| <= 4 SE for DiffC-F, DiffC-A and MMSE (Gaussian data, exact oracle);
    and the wrong factor (DiffC-A taken as 1x MMSE) is rejected: it is > 4 SE away."""
    eigvals = _eigvals()
    for p in points:
        se = p.mse_ci95 / sweep.Z95
        predicted = _closed_form(p.method, eigvals, p.log_snr)
        assert abs(p.mse - predicted) <= TOL_SE * se, (p.method, p.stop_step, p.mse, predicted, se)
        if p.method == "ancestral":
            assert abs(p.mse - _closed_form("mmse", eigvals, p.log_snr)) > TOL_SE * se


def test_realised_kl_matches_mutual_information(points):
    """E[sum KL] = I(X; Z) = sum 1/2 log2(1 + snr lam) / d for the exact oracle: |kl - I| <= 4 SE."""
    eigvals = _eigvals()
    for p in points:
        info = sum(0.5 * math.log2(1.0 + math.exp(p.log_snr) * lam) for lam in eigvals) / len(eigvals)
        assert p.predicted_bits_per_dim == pytest.approx(info, rel=1e-12)
        assert abs(p.kl_bits_per_dim - info) <= TOL_SE * p.kl_bits_per_dim_ci95 / sweep.Z95


def test_bits_accounting(points):
    """coded = payload + header exactly (bytes); KL - SE <= payload <= per-chunk RCC bound (on average)."""
    for p in points:
        assert p.coded_bits_per_dim * p.dim == pytest.approx((p.payload_bits_per_dim + p.header_bits_per_dim) * p.dim,
                                                             abs=1e-9)
        assert p.payload_bits_per_dim >= p.kl_bits_per_dim - p.kl_bits_per_dim_ci95
        assert p.payload_bits_per_dim <= p.rcc_bound_bits_per_dim
    steps = sorted({p.stop_step for p in points})
    by_step = {p.stop_step: p for p in points}
    assert by_step[steps[0]].kl_bits_per_dim < by_step[steps[1]].kl_bits_per_dim


def test_determinism_across_worker_counts():
    """Worker count 1 and 2 give bit-identical points (fixed blocks, seeds from (seed, index))."""
    spec = _spec(n=sweep.BLOCK_SIZE + 3, stop_steps=(15, 19))
    one = sweep.measure(spec, workers=1)
    two = sweep.measure(spec, workers=2)
    assert [p.to_dict() for p in one] == [p.to_dict() for p in two]
    for a, b in zip(one, two):
        assert np.array_equal(a.mse_per_sample, b.mse_per_sample)


def test_prefix_equals_separate_encoding():
    """Progressive decoding: the s-step prefix of the longer stream is the latent of a stream encoded with stop_step=s."""
    spec = _spec(n=2, stop_steps=(14, 18))
    source, model = sweep.build(spec)
    x = source.sample(spec.n, seed=spec.seed, split=spec.split)[0]
    seed = sweep.codec_seed(spec.seed, 0)
    full = codec.encode_detailed(x, model, num_steps=32, stop_step=18, seed=seed)
    short = codec.encode_detailed(x, model, num_steps=32, stop_step=14, seed=seed)
    prefix = codec.decode_latent(full.data, model, prefix_steps=14)
    assert np.array_equal(prefix.z, short.z)
    assert short.kl_bits_total == pytest.approx(float(np.sum(full.kl_bits_per_step[:14])), rel=1e-12)


def test_sweep_spec_rejects_bad_input():
    """Bad arguments raise ValueError naming the argument."""
    with pytest.raises(ValueError, match="stop_steps"):
        _spec(stop_steps=(5, 5))
    with pytest.raises(ValueError, match="stop_steps"):
        _spec(stop_steps=(33,))
    with pytest.raises(ValueError, match="methods"):
        _spec(methods=("flow", "sample"))
    with pytest.raises(ValueError, match="n:"):
        _spec(n=1)
    with pytest.raises(ValueError, match="workers"):
        sweep.measure(_spec(n=2, stop_steps=(3,)), workers=0)


def test_stop_steps_for_rates():
    """The first grid point whose cumulative rate reaches each target; above the last point is an error."""
    cum = [0.1, 0.5, 1.0, 2.0]
    assert sweep.stop_steps_for_rates([0.5, 0.6, 2.0], cum) == (2, 3, 4)
    assert sweep.stop_steps_for_rates([0.05, 0.1], cum) == (1,)
    with pytest.raises(ValueError, match="rates"):
        sweep.stop_steps_for_rates([2.5], cum)
    with pytest.raises(ValueError, match="rates"):
        sweep.stop_steps_for_rates([-1.0], cum)


def test_mean_ci95_matches_statistics_module():
    """Half-width = 1.959964 * stdev / sqrt(n) (stdev with divisor n - 1)."""
    values = [0.3, 1.7, 2.2, 0.9, 1.1]
    mean, half = sweep.mean_ci95(values)
    assert mean == pytest.approx(statistics.fmean(values), rel=1e-15)
    assert half == pytest.approx(1.959963984540054 * statistics.stdev(values) / math.sqrt(5), rel=1e-13)


def test_gaussian_w2_against_scipy_sqrtm():
    """W2^2 = |m1 - m0|^2 + tr(C1 + C0 - 2 (C0^1/2 C1 C0^1/2)^1/2), checked with scipy.linalg.sqrtm."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)) @ np.array([[1.0, 0.2, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 0.4]])
    a = rng.standard_normal((3, 3))
    c0 = a @ a.T + 0.1 * np.eye(3)
    m0 = np.array([0.1, -0.2, 0.3])
    c1 = np.cov(x, rowvar=False, bias=True)
    r0 = scipy.linalg.sqrtm(c0).real
    expected = np.sum((x.mean(0) - m0) ** 2) + np.trace(c1 + c0 - 2.0 * scipy.linalg.sqrtm(r0 @ c1 @ r0).real)
    assert sweep.gaussian_w2_sq_per_dim(x, m0, c0) == pytest.approx(expected / 3, rel=1e-9)


def test_gaussian_w2_commuting_case():
    """For diagonal covariances W2^2 = sum (sqrt(a_i) - sqrt(b_i))^2 (+ mean term), sharp: 0 for equal laws."""
    rng = np.random.default_rng(1)
    z = rng.standard_normal((400, 2))
    z = (z - z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False, bias=True))).T  # exact N(0, I) moments
    x = z * np.array([2.0, 0.5])
    assert sweep.gaussian_w2_sq_per_dim(x, [0.0, 0.0], np.diag([1.0, 1.0])) == pytest.approx(
        ((2.0 - 1.0) ** 2 + (0.5 - 1.0) ** 2) / 2, rel=1e-9)
    assert sweep.gaussian_w2_sq_per_dim(x, [0.0, 0.0], np.diag([4.0, 0.25])) == pytest.approx(0.0, abs=1e-12)


def test_sliced_w2_of_a_shift():
    """Shifting b = a + c gives 1-D W2^2 = (c . u)^2 per direction; its mean over isotropic u is |c|^2 / d
    (MC over 256 directions: relative std sqrt(2 / 256) * sqrt(d / (d + 2)) ~ 0.07 for d = 3; 4 sigma)."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((30, 3))
    c = np.array([1.0, -2.0, 0.5])
    value = sweep.sliced_w2_sq_per_dim(a, a + c, seed=0)
    assert value == pytest.approx(np.sum(c**2) / 3, rel=4 * 0.07)
    assert sweep.sliced_w2_sq_per_dim(a, a.copy(), seed=0) == 0.0


def test_step_bound_between_its_per_step_limits():
    """The codec's per-step bound sum_c (D_c + log2(D_c + 1) + 5) over the chunks the decoder reads lies between
    D + 5m (every log2 term >= 0) and D + m log2(D/m + 1) + 5m (concavity: equal chunks are the worst case)."""
    from empirical import rcc
    from empirical.rcc.bitstream import Bitstream

    spec = _spec(n=2, stop_steps=(24,))
    source, model = sweep.build(spec)
    x = source.sample(2, seed=1, split="test")[0]
    res = codec.encode_detailed(x, model, num_steps=32, stop_step=24, seed=5)
    stream = Bitstream.from_bytes(res.data)
    for k, seg in enumerate(stream.segments):
        m = rcc.decode_segment(seg, model.dim, budget_bits=stream.budget_bits, padding_bits=stream.padding_bits).num_chunks
        d, bound = float(res.kl_bits_per_step[k]), float(res.rcc_bound_bits_per_step[k])
        if m == 0:
            assert bound == 0.0
            continue
        assert d + 5.0 * m - 1e-9 <= bound <= d + m * math.log2(d / m + 1.0) + 5.0 * m + 1e-9


def test_ratio_ci95_against_the_one_sample_interval():
    """With a constant reference the paired ratio interval is the one-sample t-free interval of mean(a) / c."""
    rng = np.random.default_rng(5)
    a = rng.exponential(size=200)
    ratio, ci = sweep.ratio_ci95(a, np.full(200, 2.0))
    assert ratio == pytest.approx(statistics.fmean(a) / 2.0, rel=1e-14)
    assert ci == pytest.approx(1.959963984540054 * statistics.stdev(a) / math.sqrt(200) / 2.0, rel=1e-12)
    with pytest.raises(ValueError, match="reference"):
        sweep.ratio_ci95(a, np.ones(3))
    with pytest.raises(ValueError, match="reference"):
        sweep.ratio_ci95(a, np.zeros(200))


def test_reference_model_decodes_the_same_latents():
    """oracle:plugin encodes; the exact oracle decodes the same latents: identical posterior means (ratio 1, no
    noise), RK4 flows within 1e-3, and the paired ratio's interval far narrower than either MSE's."""
    spec = _spec(model="oracle:plugin", reference_model="oracle", n=16, stop_steps=(19,), ancestral_draws=2)
    pts = {p.method: p for p in sweep.measure(spec, workers=1)}
    assert pts["mmse"].mse_ratio_to_reference == pytest.approx(1.0, abs=1e-12)
    assert pts["mmse"].mse_reference == pytest.approx(pts["mmse"].mse, rel=1e-12)
    assert pts["flow"].mse_ratio_to_reference == pytest.approx(1.0, abs=1e-3)
    assert pts["flow"].mse_ratio_to_reference_ci95 < 0.1 * pts["flow"].mse_ci95 / pts["flow"].mse
    assert all(p.reference_model == "oracle" for p in pts.values())
    plain = sweep.measure(_spec(model="oracle:plugin", n=16, stop_steps=(19,), ancestral_draws=2), workers=1)
    for p in plain:  # the reference changes nothing about the model's own measurement
        assert p.mse == pts[p.method].mse and p.mse_reference is None


def test_ancestral_draws_average_out_decoder_noise():
    """One draw is the default; 8 draws per latent keep the flow / mmse points and shrink DiffC-A's interval."""
    one = {p.method: p for p in sweep.measure(_spec(n=16, stop_steps=(15,)), workers=1)}
    same = {p.method: p for p in sweep.measure(_spec(n=16, stop_steps=(15,), ancestral_draws=1), workers=1)}
    many = {p.method: p for p in sweep.measure(_spec(n=16, stop_steps=(15,), ancestral_draws=8), workers=1)}
    assert one["ancestral"].to_dict() == same["ancestral"].to_dict()
    assert many["flow"].mse == one["flow"].mse and many["mmse"].mse == one["mmse"].mse
    assert many["ancestral"].mse_ci95 < one["ancestral"].mse_ci95


def test_reference_and_draws_reject_bad_input():
    with pytest.raises(ValueError, match="reference_model"):
        _spec(reference_model="oracle")
    with pytest.raises(ValueError, match="ancestral_draws"):
        _spec(ancestral_draws=0)


@pytest.mark.parametrize("name", ["digits", "mixture2d"])
def test_oracle_chain_kl_on_non_gaussian_data_is_the_gaussian_information(name):
    """E[sum KL] of the exact Gaussian oracle on its train split = sum_i 1/2 log2(1 + snr lam_i) (written out
    here), although the data are not Gaussian: 4000 ideal chains, 4 standard errors at four grid points."""
    spec = sweep.SweepSpec(data={"name": name}, model="oracle", n=2, stop_steps=(1,), split="train", seed=0)
    source, model = sweep.build(spec)
    eigvals = sweep.expected_kl_eigvals(spec, source, model)
    assert eigvals is not None
    grid = sweep.grid_log_snrs(spec, model)
    x = source.sample(4000, seed=11, split="train")
    kl = np.cumsum(codec.ideal_chain_kl_bits(x, model, grid, np.random.default_rng(12)), axis=1) / model.dim
    for j in (10, 16, 21, 31):
        predicted = sum(0.5 * math.log2(1.0 + math.exp(grid[j]) * lam) for lam in eigvals) / model.dim
        se = statistics.stdev(kl[:, j]) / math.sqrt(x.shape[0])
        assert abs(statistics.fmean(kl[:, j]) - predicted) < TOL_SE * se, (j, predicted)


def test_expected_kl_only_where_the_identity_holds():
    def eig(**kw):
        spec = sweep.SweepSpec(**{**dict(data={"name": "digits"}, model="oracle", n=2, stop_steps=(1,),
                                         split="train"), **kw})
        source, model = sweep.build(spec)
        return sweep.expected_kl_eigvals(spec, source, model)

    assert eig() is not None
    assert eig(split="test") is None  # the test split's moments are not the oracle's
    assert eig(model="oracle:plugin") is None  # plug-in steps cost more than I_G
    assert eig(data=DATA, split="test") is not None  # a Gaussian source: any split


def _children(pid: int) -> set:
    """PIDs whose parent is ``pid`` (Linux /proc)."""
    import pathlib

    out = set()
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def terminate_and_find_workers(argv, settle_s: float = 0.0) -> tuple:
    """Run ``argv`` in its own session, wait (60 s at most) until it has two spawned pool workers, wait ``settle_s``
    more, send it SIGTERM and wait (30 s) for it: ``(exit status, workers still alive 30 s later)``; whatever is left of
    the session is killed."""
    import os
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers = set()
        while len(workers) < 2 and time.monotonic() < deadline:  # the pool's workers (and a resource tracker)
            time.sleep(0.5)
            workers = {c for c in _children(proc.pid) if "spawn_main" in _cmdline(c)}
        assert len(workers) >= 2, f"{argv[1:3]} did not start its workers"
        time.sleep(settle_s)
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.5)
        return status, {w for w in workers if _alive(w)}
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the session, if the test failed
        except ProcessLookupError:
            pass


@pytest.mark.skipif(not __import__("pathlib").Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_exit_when_the_sweep_is_killed():
    """SIGTERM to a running sweep (not Ctrl-C, which reaches the whole group) leaves no worker running."""
    import sys

    code = ("from empirical.measure import sweep; sweep.measure(sweep.SweepSpec(data={'name': 'gaussian', "
            "'spectrum': 'powerlaw:1', 'dim': 16}, model='oracle', n=400, stop_steps=(28,)), workers=2)")
    _, left = terminate_and_find_workers([sys.executable, "-c", code])
    assert not left
