"""empirical.codec and its CLIs: round trips, prefixes, determinism across processes, rates and
distortions against the closed forms, bad input."""
from __future__ import annotations

import hashlib
import json
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

from empirical import codec, data, models
from empirical.codec import receivers
from gaussian import components, schedule

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAST = dict(budget_bits=8, padding_bits=2)  # 1024 candidates per chunk: fast, bit-exact, a looser TV bound
# One dimension may carry at most budget_bits per step; the Gaussian oracle of heavy-tailed data (patches,
# digits) puts > 8 bits into single eigen-directions at coarse steps, so round trips there use a larger budget.
WIDE = dict(budget_bits=14, padding_bits=0)
LN2 = np.log(2.0)


def _tiny_learned(dim, shape, seed=0, source=None):
    """A small DenoiserNet with slightly perturbed weights (not the skip alone); skip = ``source``'s Gaussian fit
    (default: a random Gaussian)."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from empirical.models import learned

    if source is None:
        mean, eigvals, basis = np.zeros(dim), np.linspace(1.0, 0.05, dim), data.haar_orthogonal(dim, seed)
    else:
        fit = models.GaussianOracle.from_source(source)
        mean, eigvals, basis = fit.mean, fit.eigvals, fit.basis
    config = {"dim": dim, "shape": list(shape), "hidden": 16, "depth": 1, "num_freqs": 4, "prediction": "x",
              "log_snr_min": -6.0, "log_snr_max": 8.0,
              "data": {"name": "digits"} if source is None else source.spec}
    torch.manual_seed(seed)
    net = learned.DenoiserNet(config, mean, eigvals, basis)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
    return net


def _learned(dim, shape, seed=0, source=None):
    from empirical.models import learned

    return learned.LearnedDenoiser(_tiny_learned(dim, shape, seed, source))


def _sources_and_models():
    """(source, model) pairs: every data source with its Gaussian oracle, a mixture oracle, a learned net."""
    out = []
    for name in data.SOURCES:
        src = data.make(name) if name != "mixture" else data.mixture(dim=6)
        out.append((src, models.GaussianOracle.from_source(src)))
    out.append((data.mixture2d(), models.MixtureOracle.from_source(data.mixture2d())))
    out.append((data.digits(), "learned"))
    return out


@pytest.mark.parametrize("source, model", _sources_and_models(),
                         ids=[f"{s.name}-{m if isinstance(m, str) else type(m).__name__}" for s, m in _sources_and_models()])
def test_round_trip_every_source(source, model):
    """encode -> decode_latent gives the sender's z bit for bit; all three receivers return finite data-shaped arrays."""
    if model == "learned":
        model = _learned(64, (8, 8), source=source)
    # digits: the train split's Gaussian fit has zero variance where test images vary (pixel 56): use a train image
    x = source.examples("train" if source.name == "digits" else "test", 1)[0].reshape(source.shape)
    result = codec.encode_detailed(x, model, num_steps=12, log_snr_start=-4, log_snr_stop=4, seed=11, **WIDE)
    latent = codec.decode_latent(result.data, model)
    assert latent.z.shape == source.shape and latent.num_steps == result.num_steps_coded == 12
    np.testing.assert_array_equal(latent.z, result.z)
    assert latent.log_snr == result.log_snr == 4.0
    for method in codec.METHODS:
        out = codec.decode(result.data, model, method, decoder_steps=8)
        assert out.shape == source.shape and np.isfinite(out).all()
    assert result.coded_bits_total == 8 * len(result.data) == result.header_bits + result.payload_bits


def test_prefixes_and_truncation():
    """Every prefix n decodes to the sender's z after n steps (= encoding with stop_step n); a stream cut inside
    a segment decodes its complete steps with a warning; Bitstream.prefix streams decode the same."""
    from empirical.rcc.bitstream import Bitstream, BitstreamTruncatedWarning

    src = data.gaussian("powerlaw:1", dim=16)
    model = models.GaussianOracle.from_source(src)
    x = src.examples("test", 1)[0]
    kw = dict(num_steps=6, log_snr_start=-2, log_snr_stop=6, seed=5, **FAST)
    full = codec.encode_detailed(x, model, **kw)
    for n in range(1, 7):
        want = codec.encode_detailed(x, model, stop_step=n, **kw)
        assert want.data == Bitstream.from_bytes(full.data).prefix(n).to_bytes()
        np.testing.assert_array_equal(codec.decode_latent(full.data, model, prefix_steps=n).z, want.z)
        np.testing.assert_array_equal(codec.decode_latent(want.data, model).z, want.z)
    lengths = Bitstream.from_bytes(full.data).segment_lengths
    assert lengths[-1] > 0
    with pytest.warns(BitstreamTruncatedWarning):
        cut = codec.decode_latent(full.data[:-1], model)
    assert cut.truncated and cut.num_steps == 5
    np.testing.assert_array_equal(cut.z, codec.decode_latent(full.data, model, prefix_steps=5).z)


def test_auto_budget_gives_a_large_dimension_a_chunk_of_its_own():
    """A coarse step needs > 2 bits in one dimension: with auto_budget that dimension is a chunk of its own (up to
    max_budget_bits), the header keeps the requested budget 2 (its index model), every step is coded once (the
    progress callback counts 1, 2, 3), the chunks are read back from the segments and the decoder gets the
    sender's latent; without auto_budget, a ValueError."""
    from empirical import rcc
    from empirical.rcc.bitstream import Bitstream

    model = models.GaussianOracle(np.zeros(3), np.array([1.0, 0.5, 0.2]), np.eye(3))
    x = np.array([0.9, -0.8, 0.5])
    kw = dict(num_steps=3, log_snr_start=-1, log_snr_stop=7, seed=4, budget_bits=2, padding_bits=4)
    calls = []
    r = codec.encode_detailed(x, model, progress=lambda step, total: calls.append((step, total)), **kw)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    stream = Bitstream.from_bytes(r.data)
    assert r.budget_bits == 2 and stream.budget_bits == 2
    big = 0
    for step, segment in enumerate(stream.segments):
        message = rcc.decode_segment(segment, 3, budget_bits=2, padding_bits=4)
        for dims in rcc.chunk_dims(3, message.chunk_sizes, seed=4, step=step):
            chunk_kl = r.kl_bits_per_coefficient[step][dims].sum()
            assert dims.size == 1 or chunk_kl <= 2 + 1e-9
            big += chunk_kl > 2
    assert big >= 1  # the dimension above the budget
    np.testing.assert_array_equal(codec.decode_latent(r.data, model).z, r.z)
    with pytest.raises(ValueError, match="above budget_bits=2"):
        codec.encode(x, model, auto_budget=False, **kw)


def test_zero_step_prefix_is_a_seeded_prior_draw():
    """Prefix 0 (zero rate): a draw of the prior at the first grid point, a pure function of the header seed."""
    model = models.GaussianOracle(np.zeros(3), np.array([1.0, 0.5, 0.2]), np.eye(3))
    a = codec.encode(np.ones(3), model, num_steps=3, log_snr_start=-1, log_snr_stop=1, seed=1, **FAST)
    b = codec.encode(np.ones(3), model, num_steps=3, log_snr_start=-1, log_snr_stop=1, seed=2, **FAST)
    za = codec.decode_latent(a, model, prefix_steps=0)
    assert za.num_steps == 0 and za.log_snr == -1.0
    np.testing.assert_array_equal(za.z, codec.decode_latent(a, model, prefix_steps=0).z)
    assert not np.array_equal(za.z, codec.decode_latent(b, model, prefix_steps=0).z)


def test_rate_target_picks_the_first_step_that_reaches_it():
    """Stop after step S with cumulative KL(S) >= R d > cumulative KL(S - 1)."""
    src = data.gaussian("powerlaw:1", dim=16)
    model = models.GaussianOracle.from_source(src)
    x = src.examples("test", 1)[0]
    for rate in (0.3, 1.0, 2.0):
        r = codec.encode_detailed(x, model, num_steps=24, rate_bits_per_dim=rate, seed=3, **FAST)
        cum = np.cumsum(r.kl_bits_per_step)
        assert cum[-1] >= rate * 16 > (cum[-2] if len(cum) > 1 else 0.0)
    with pytest.raises(ValueError, match="rate_bits_per_dim: 50.0 not reached"):
        codec.encode(x, model, num_steps=8, rate_bits_per_dim=50.0, **FAST)


@pytest.fixture(scope="module")
def oracle_encodes():
    """30 encodes of 8-dim Gaussian samples (powerlaw:1, random basis) with the exact and the plug-in oracle,
    17 grid points on [-3, 3], budget 6 and padding 6 bits, 2^12 candidates in every chunk (tail_target=None; RCC TV
    bound per encode ~1e-3 / ~1e-2)."""
    src = data.gaussian("powerlaw:1", dim=8, basis_seed=3)
    xs = src.sample(30, seed=7, split="test")
    out = {}
    for transitions in ("exact", "plugin"):
        model = models.GaussianOracle.from_source(src, transitions=transitions)
        out[transitions] = (model, [codec.encode_detailed(x, model, num_steps=17, log_snr_start=-3, log_snr_stop=3,
                                                           seed=100 + i, budget_bits=6, padding_bits=6,
                                                           tail_target=None)
                                    for i, x in enumerate(xs)])
    return src, xs, out


def _riemann_plugin_bits(lam, grid):
    """Expected plug-in chain KL in bits: I(X; Z_grid[0]) + sum over steps of 1/2 (snr_s - snr_t) sum_i lam_i / (1 + snr_t lam_i)."""
    snr = np.exp(grid)
    total = components.rate_nats(lam, snr[0]).sum()
    for t, s in zip(snr[:-1], snr[1:]):
        total += 0.5 * (s - t) * np.sum(lam / (1 + t * lam))
    return total / LN2


def test_ideal_chain_kl_is_the_mutual_information_with_exact_transitions():
    """E[sum of step KLs] = I(X; Z_3) = sum_i 1/2 ln(1 + e^3 lam_i) exactly (chain rule along the Markov chain
    X -> Z_3 -> ... -> Z_-3, exact prior), for any grid; 20000 uncoded chains, within 4 s.e. (s.e. 0.2% of I)."""
    src = data.gaussian("powerlaw:1", dim=8, basis_seed=3)
    x = src.sample(20000, seed=8, split="test")
    mi_bits = components.rate_nats(src.eigvals, np.exp(3.0)).sum() / LN2
    for num in (2, 5, 17):
        model = models.GaussianOracle.from_source(src)
        kl = codec.ideal_chain_kl_bits(x, model, np.linspace(-3.0, 3.0, num), np.random.default_rng(num)).sum(1)
        se = kl.std(ddof=1) / np.sqrt(kl.size)
        assert se < 0.005 * mi_bits
        assert abs(kl.mean() - mi_bits) < 4 * se, (num, kl.mean(), mi_bits)


def test_ideal_chain_kl_with_plugin_transitions_is_the_riemann_sum():
    """Plug-in steps: E[KL of step t -> s] = 1/2 (snr_s - snr_t) sum_i lam_i / (1 + snr_t lam_i), a left Riemann sum of
    the I-MMSE integral, so the chain costs more than I(X; Z_3) and tends to it as the grid refines (measured excess
    13.9% at 17 points, 1.6% at 129); MC within 4 s.e."""
    src = data.gaussian("powerlaw:1", dim=8, basis_seed=3)
    x = src.sample(20000, seed=8, split="test")
    model = models.GaussianOracle.from_source(src, transitions="plugin")
    mi_bits = components.rate_nats(src.eigvals, np.exp(3.0)).sum() / LN2
    excess = []
    for num in (17, 129):
        grid = np.linspace(-3.0, 3.0, num)
        kl = codec.ideal_chain_kl_bits(x, model, grid, np.random.default_rng(num)).sum(1)
        want = _riemann_plugin_bits(src.eigvals, grid)
        assert abs(kl.mean() - want) < 4 * kl.std(ddof=1) / np.sqrt(kl.size), (num, kl.mean(), want)
        excess.append(want / mi_bits - 1)
    assert excess[0] > 0.10 and 0 < excess[1] < 0.02


@pytest.mark.parametrize("transitions", ["exact", "plugin"])
def test_coded_step_kl_is_the_kl_along_the_decoded_path(oracle_encodes, transitions):
    """Each step's reported KL equals KL(q || p) recomputed from the decoded latents (z of every prefix),
    models.q_reverse and model.reverse_transition, with the KL of diagonal Gaussians written out here (rel. 1e-9);
    the coded chains' mean KL agrees with the uncoded ideal chains' within 4 combined s.e."""
    src, xs, out = oracle_encodes
    model, results = out[transitions]
    grid = np.linspace(-3.0, 3.0, 17)
    basis = model.basis
    for r, x in list(zip(results, xs))[:6]:
        zs = [codec.decode_latent(r.data, model, prefix_steps=n).z for n in range(1, 18)]
        want = []
        for k in range(17):
            if k == 0:
                alpha, sigma = schedule.alpha_sigma_from_log_snr(grid[0])
                q_mean, q_var = alpha * x, np.full(8, sigma**2)
                p = model.prior(grid[0])
            else:
                q_mean, q_var = models.q_reverse(x[None], zs[k - 1][None], grid[k - 1], grid[k])
                p = model.reverse_transition(zs[k - 1], grid[k - 1], grid[k])
            qm, pm = (np.reshape(q_mean, (1, 8)) @ basis)[0], (p.mean @ basis)[0]
            qv, pv = np.broadcast_to(q_var, (1, 8))[0], np.broadcast_to(p.var, (1, 8))[0]
            want.append(np.sum(0.5 * (np.log(pv / qv) + (qv + (qm - pm) ** 2) / pv - 1)) / LN2)
        np.testing.assert_allclose(r.kl_bits_per_step, want, rtol=1e-9, atol=1e-12)
    coded = np.array([r.kl_bits_total for r in results])
    ideal = codec.ideal_chain_kl_bits(src.sample(20000, seed=8, split="test"), model, grid,
                                      np.random.default_rng(1)).sum(1)
    se = np.sqrt(coded.var(ddof=1) / coded.size + ideal.var(ddof=1) / ideal.size)
    assert abs(coded.mean() - ideal.mean()) < 4 * se


def test_decoded_distortions_match_closed_forms(oracle_encodes):
    """With the exact oracle the decoded z is distributed as N(alpha x, sigma^2 I) given x (up to the RCC's TV bound),
    so per-dim MSEs match gaussian.components at snr = e^3: mean -> lam/(1+snr lam), DiffC-A -> twice that,
    DiffC-F -> 2 lam (1 - rho); each within 4 standard errors (and DiffC-A / mean within [1.6, 2.4])."""
    src, xs, out = oracle_encodes
    model, results = out["exact"]
    snr = np.exp(3.0)
    preds = {"mean": components.mse_mmse(src.eigvals, snr).mean(), "ancestral": components.mse_diffc_a(src.eigvals, snr).mean(),
             "flow": components.mse_diffc_f(src.eigvals, snr).mean()}
    rng = np.random.default_rng(0)
    mse = {}
    for method, pred in preds.items():
        sq = np.array([np.mean((codec.decode(r.data, model, method, decoder_steps=64, rng=rng) - x) ** 2)
                       for r, x in zip(results, xs)])
        mse[method] = sq.mean()
        assert abs(sq.mean() - pred) < 4 * sq.std(ddof=1) / np.sqrt(sq.size), (method, sq.mean(), pred)
    assert 1.6 < mse["ancestral"] / mse["mean"] < 2.4
    assert max(r.tv_bound_per_step.sum() for r in results) < 0.05   # z ~ q up to this TV distance per encode


def test_same_bytes_decode_bit_for_bit_in_another_process(tmp_path):
    """A fresh Python process decodes the same z (sha256 of its float64 bytes) for a learned model and an oracle."""
    from empirical.models.learned import save_checkpoint

    net = _tiny_learned(8, (8,), seed=2, source=data.gaussian("powerlaw:1", dim=8))
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, net)
    learned = models.load(str(ckpt))
    src = data.gaussian("powerlaw:1", dim=8)
    oracle = models.GaussianOracle.from_source(src)
    x = src.examples("test", 1)[0]
    files = {}
    for name, model in (("learned", learned), ("oracle", oracle)):
        blob = codec.encode(x, model, num_steps=11, log_snr_start=-4, log_snr_stop=4, seed=9, **FAST)
        (tmp_path / f"{name}.dfrc").write_bytes(blob)
        files[name] = hashlib.sha256(codec.decode_latent(blob, model).z.tobytes()).hexdigest()
    script = f"""
import hashlib, pathlib, torch
torch.set_num_threads(1)
from empirical import codec, data, models
p = pathlib.Path({str(tmp_path)!r})
src = data.gaussian("powerlaw:1", dim=8)
for name, model in (("learned", models.load(str(p / "m.pt"))), ("oracle", models.GaussianOracle.from_source(src))):
    z = codec.decode_latent((p / (name + ".dfrc")).read_bytes(), model).z
    print(name, hashlib.sha256(z.tobytes()).hexdigest())
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    got = dict(line.split() for line in res.stdout.strip().splitlines())
    assert got == files


def test_grid_descriptor():
    grid = codec.Grid(32, -10.0, 12.1)
    assert grid.log_snr_stop == float(np.float32(12.1)) and len(grid.to_bytes()) == 16
    assert codec.Grid.from_bytes(grid.to_bytes()) == grid
    np.testing.assert_array_equal(grid.log_snrs, receivers.log_snr_grid(-10.0, float(np.float32(12.1)), 31))
    with pytest.raises(ValueError, match="grid descriptor"):
        codec.Grid.from_bytes(b"\x00" * 16)


@pytest.fixture(scope="module")
def small_stream():
    model = models.GaussianOracle(np.zeros(4), np.array([2.0, 1.0, 0.5, 0.1]), np.eye(4))
    return model, codec.encode(np.array([0.5, -1.0, 0.3, 0.1]), model, num_steps=4, seed=1, **FAST)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x=np.zeros(5)), r"x: expected 4 numbers"),
        (dict(x=np.array([0.0, np.nan, 0.0, 0.0])), "x: entries must be finite"),
        (dict(rate_bits_per_dim=0.0), "rate_bits_per_dim: must be finite and > 0"),
        (dict(rate_bits_per_dim=float("nan")), "rate_bits_per_dim: must be finite and > 0"),
        (dict(stop_step=5), r"stop_step: must be an integer in 1..4"),
        (dict(stop_step=0), r"stop_step: must be an integer in 1..4"),
        (dict(stop_step=2, rate_bits_per_dim=1.0), "stop_step: give at most one of"),
        (dict(seed=-1), "seed:"),
        (dict(num_steps=0), "num_steps:"),
        (dict(log_snr_start=3.0, log_snr_stop=1.0), "log_snr_start: must be <"),
        (dict(budget_bits=0), "budget_bits: must be an integer in 1..24"),
        (dict(padding_bits=17), "padding_bits: must be an integer in 0..16"),
        (dict(budget_bits=1, padding_bits=0, num_steps=2, log_snr_start=-2, log_snr_stop=12, auto_budget=False),
         r"budget_bits: step 1 \(log-SNR 12\) has a dimension with .* bits of KL, above budget_bits=1"),
        (dict(budget_bits=1, padding_bits=16, num_steps=2, log_snr_start=-2, log_snr_stop=30),
         "budget_bits: step 1 .* above max_budget_bits=14"),   # 30 - padding
    ],
)
def test_encode_bad_input(small_stream, kwargs, match):
    model, _ = small_stream
    kw = dict(x=np.array([0.5, -1.0, 0.3, 0.1]), num_steps=4, **FAST)
    kw.update(kwargs)
    x = kw.pop("x")
    with pytest.raises(ValueError, match=match):
        codec.encode(x, model, **kw)


def test_decode_bad_input(small_stream):
    from empirical.rcc.bitstream import BitstreamError

    model, blob = small_stream
    other = models.GaussianOracle(np.zeros(4), np.array([2.0, 1.0, 0.5, 0.2]), np.eye(4))
    with pytest.raises(ValueError, match="model hash mismatch"):
        codec.decode(blob, other)
    with pytest.raises(BitstreamError, match="wrong magic"):
        codec.decode(b"garbage bytes here", model)
    with pytest.raises(ValueError, match=r"prefix_steps: must be an integer in 0..4"):
        codec.decode(blob, model, prefix_steps=5)
    with pytest.raises(ValueError, match="method:"):
        codec.decode(blob, model, method="sample")
    with pytest.raises(ValueError, match="data: expected bytes"):
        codec.decode("text", model)
    corrupted = bytearray(blob)
    corrupted[-1] ^= 0xFF
    with pytest.raises(BitstreamError, match="checksum"):
        codec.decode(bytes(corrupted), model)


# ----------------------------------------------------------------------------- command line


def test_cli_round_trip(tmp_path, capsys):
    from empirical.codec import compress, decompress

    f, xin, rep = tmp_path / "g.dfrc", tmp_path / "x.npy", tmp_path / "c.json"
    common = ["--model", "oracle", "--data", "gaussian", "--spectrum", "powerlaw:1", "--dim", "8"]
    assert compress.main(common + ["--index", "3", "--steps", "12", "--rate-bits-per-dim", "1", "--budget-bits", "8",
                                   "--padding-bits", "2", "--out", str(f), "--save-input", str(xin),
                                   "--json", str(rep)]) == 0
    doc = json.loads(rep.read_text())
    assert doc["kl_bits_per_dim"] >= 1.0 and doc["coded_bits_total"] == 8 * f.stat().st_size
    np.testing.assert_array_equal(np.load(xin), data.gaussian("powerlaw:1", dim=8).examples("test")[3])
    out = tmp_path / "y.npy"
    assert decompress.main([str(f)] + common + ["--method", "ancestral", "--out", str(out), "--original", str(xin),
                                                "--seed", "4"]) == 0
    text = capsys.readouterr().out
    assert "wrote" in text and "MSE" in text
    model = models.GaussianOracle.from_source(data.gaussian("powerlaw:1", dim=8))
    want = codec.decode(f.read_bytes(), model, "ancestral", rng=4)
    np.testing.assert_array_equal(np.load(out), want)
    assert decompress.main([str(f)] + common + ["--prefix-steps", "2", "--method", "mean"]) == 0
    assert "decoded 2 of" in capsys.readouterr().out


def test_cli_learned_checkpoint_knows_its_data(tmp_path, capsys):
    """A checkpoint supplies its data source (digits, shape 8x8): no --data needed; the output keeps the shape."""
    from empirical.codec import compress, decompress
    from empirical.models import learned

    ckpt, xin = tmp_path / "m.pt", tmp_path / "x.npy"
    learned.save_checkpoint(ckpt, _tiny_learned(64, (8, 8), source=data.digits()))
    np.save(xin, data.digits().examples("train", 1)[0].reshape(8, 8))
    f, out = tmp_path / "d.dfrc", tmp_path / "d.npy"
    assert compress.main(["--model", str(ckpt), "--input", str(xin), "--stop-step", "4", "--steps", "8",
                          "--log-snr-stop", "2", "--budget-bits", "14", "--padding-bits", "0", "--out", str(f)]) == 0
    assert decompress.main([str(f), "--model", str(ckpt), "--out", str(out), "--decoder-steps", "4"]) == 0
    assert np.load(out).shape == (8, 8)
    capsys.readouterr()


@pytest.mark.parametrize(
    "tool, argv, flag",
    [
        ("compress", ["--model", "oracle", "--data", "gaussian", "--rate-bits-per-dim", "-1"], "--rate-bits-per-dim:"),
        ("compress", ["--model", "oracle", "--data", "gaussian", "--stop-step", "99"], "--stop-step:"),
        ("compress", ["--model", "oracle", "--data", "gaussian", "--index", "5000"], "--index:"),
        ("compress", ["--model", "oracle", "--data", "gaussian", "--budget-bits", "0"], "--budget-bits:"),
        ("compress", ["--model", "oracle"], "--data:"),
        ("compress", ["--model", "missing.pt"], "--model:"),
        ("compress", ["--model", "oracle", "--data", "gaussian", "--input", "missing.npy"], "--input:"),
        ("decompress", ["missing.dfrc", "--model", "oracle", "--data", "gaussian"], "file: not found"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, tool, argv, flag):
    from empirical.codec import compress, decompress

    monkeypatch.chdir(tmp_path)
    main = compress.main if tool == "compress" else decompress.main
    if tool == "compress":
        argv = argv + ["--out", str(tmp_path / "o.dfrc")]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"python -m empirical.{tool}: error: {flag}"), err


def test_cli_wrong_model_and_bad_nan_input(tmp_path, capsys):
    from empirical.codec import compress, decompress

    f = tmp_path / "g.dfrc"
    assert compress.main(["--model", "oracle", "--data", "gaussian", "--spectrum", "flat", "--dim", "4", "--steps", "4",
                          "--budget-bits", "8", "--padding-bits", "2", "--out", str(f)]) == 0
    with pytest.raises(SystemExit):
        decompress.main([str(f), "--model", "oracle", "--data", "gaussian", "--spectrum", "powerlaw:1", "--dim", "4"])
    assert "--spectrum: the stream was made with --spectrum flat, not powerlaw:1" in capsys.readouterr().err
    bad = tmp_path / "nan.npy"
    np.save(bad, np.array([0.0, np.nan, 1.0, 2.0]))
    with pytest.raises(SystemExit):
        compress.main(["--model", "oracle", "--data", "gaussian", "--spectrum", "flat", "--dim", "4", "--input", str(bad),
                       "--out", str(tmp_path / "o.dfrc")])
    assert "--input: entries must be finite" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cut = tmp_path / "cut.dfrc"
        cut.write_bytes(f.read_bytes()[:-1])
        assert decompress.main([str(cut), "--model", "oracle", "--data", "gaussian", "--spectrum", "flat", "--dim", "4"]) == 0
    assert "note: stream truncated" in capsys.readouterr().err
