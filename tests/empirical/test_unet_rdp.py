"""A U-Net on the perfect-realism path (``--schedule rdp``): the path in tau against the theory, the untrained
network against the oracle's per-component closed forms, the receivers on the path, the codec and the refusals."""
from __future__ import annotations

import numpy as np
import pytest

from empirical import data, models
from gaussian import curves, schedule

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from empirical.codec import chain, image, receivers  # noqa: E402
from empirical.models import learned, train, unet  # noqa: E402

RDP = {"arch": "unet", "channels": 4, "levels": 2, "num_freqs": 4, "prediction": "x", "log_snr_min": -10.0,
       "log_snr_max": 12.0, "schedule": "rdp"}


def _untrained(shape, config=RDP):
    torch.manual_seed(0)
    return unet.UNetImageModel(learned.UNet(config), shape)


def _noisy(oracle, tau, n, seed):
    """``(x, z, log_snrs)``: ``n`` draws of the oracle's Gaussian and their latents at the path's ``tau``."""
    rng = np.random.default_rng(seed)
    x = oracle.mean + oracle.from_eigen(np.sqrt(oracle.eigvals) * rng.standard_normal((n, oracle.dim)))
    ls = curves.rdp_path_log_snrs(oracle.eigvals, tau)[0]
    alpha, sigma = schedule.alpha_sigma_from_log_snr(ls)
    z = oracle.from_eigen(alpha * oracle.to_eigen(x) + sigma * rng.standard_normal((n, oracle.dim)))
    return x, z, ls


def test_path_in_tau_matches_the_theory_and_the_codec_grid():
    """rdp_path_log_snrs at the tau that rdp_log_snrs solves for is that table (so one tau names the codec's grid
    points); the slope is the claim rdp_schedule_monotone's expression (sympy, mu = 2 e^-tau) and a central
    difference; rdp_path_tau inverts the path component by component."""
    import sympy as sp

    from theory import vector

    lam = np.array([30.0, 4.0, 1.0, 0.3, 1e-3, 2e-5])
    table = curves.rdp_log_snrs(lam, rate_bits_per_dim=[1e-4, 0.05, 0.7, 3.0])
    taus = curves.rdp_path_tau(lam, table)
    assert np.ptp(taus, axis=1).max() < 1e-12
    np.testing.assert_allclose(curves.rdp_path_log_snrs(lam, taus[:, 0]), table, rtol=0, atol=1e-12)
    expr = next(c for c in vector.CLAIMS if c.id == "rdp_schedule_monotone").expressions["log_snr_slope"]
    symbols = {s.name: s for s in expr.free_symbols}
    slope = sp.lambdify((symbols["lambda"], symbols["mu"]), expr, "mpmath")
    tau = np.array([-7.0, -1.5, 0.0, 2.5, 9.0])
    got = curves.rdp_path_log_snr_slope(lam, tau)
    for i, t in enumerate(tau):
        for j, v in enumerate(lam):
            assert abs(got[i, j] - float(slope(v, 2 * np.exp(-t)))) < 1e-12
    h = 1e-5
    diff = (curves.rdp_path_log_snrs(lam, tau + h) - curves.rdp_path_log_snrs(lam, tau - h)) / (2 * h)
    np.testing.assert_allclose(got, diff, rtol=1e-8)
    assert (got > 1).all() and (got < 2).all()
    with pytest.raises(ValueError, match="^eigvals"):
        curves.rdp_path_log_snrs([1.0, 0.0], 0.0)


@pytest.mark.parametrize("shape", [(12, 10, 3), (9, 13, 3)])
def test_untrained_rdp_unet_is_the_oracle_on_the_path(shape):
    """A freshly built rdp UNet (zero output layer) is the stationary oracle's per-component posterior mean at the
    path's log-SNRs (relative 1e-12), and its tau is recovered from the log-SNRs."""
    model = _untrained(shape)
    oracle = models.StationaryImageOracle(shape)
    for tau in (-6.0, 0.5, 8.0):
        _, z, ls = _noisy(oracle, tau, 3, 1)
        assert abs(model.path_tau(ls) - tau) < 1e-12 * max(1.0, abs(tau))
        want = oracle.denoise_per_component(z, ls)
        np.testing.assert_allclose(model.denoise_per_component(z, ls), want, rtol=1e-12,
                                   atol=1e-12 * np.abs(want).max())


def test_rdp_training_loss_of_the_oracle_is_one_on_gaussian_data():
    """The x-loss of the untrained rdp network (the oracle) on draws of the oracle's own Gaussian is the mean of
    (error / posterior variance) per coefficient: 1 in expectation, here 1 within 5 standard errors (64 images x
    768 coefficients of chi-square(1) / 768; SE 0.0064), if the loss's noise and the skip's posterior agree."""
    shape = (16, 16, 3)
    oracle = models.StationaryImageOracle(shape)
    torch.manual_seed(0)
    net = learned.UNet(RDP).double()
    rng = np.random.default_rng(3)
    x = oracle.mean + oracle.from_eigen(np.sqrt(oracle.eigvals) * rng.standard_normal((64, oracle.dim)))
    eps = rng.standard_normal(x.shape)
    tau = rng.uniform(-10, 12, 64)
    as_t = lambda a: torch.from_numpy(a.reshape((-1,) + shape))  # noqa: E731
    with torch.no_grad():
        loss = float(net.loss(as_t(x), as_t(eps), torch.from_numpy(tau)))
    assert abs(loss - 1.0) < 5 * np.sqrt(2 / (64 * oracle.dim))


def test_flow_on_path_is_the_oracle_flow_map():
    """flow_on_path (RK4 in tau, 64 steps) with the untrained rdp UNet against the oracle's closed-form flow map:
    score scale 2 (posterior mean) and 1.5 within 1e-4 of the signal (the ODE's error); 1 (DiffC-F) within 1e-3
    (the last step from tau_end = 12 lands on E[x|z], not on the flow's limit)."""
    shape = (8, 12, 3)
    model, oracle = _untrained(shape), models.StationaryImageOracle(shape)
    _, z, ls = _noisy(oracle, 0.3, 3, 4)
    for scale, tol in ((2.0, 1e-4), (1.5, 1e-4), (1.0, 1e-3)):
        want = oracle.flow_map_per_component(z, ls, score_scale=scale)
        got = receivers.flow_on_path(z, ls, model, num_steps=64, score_scale=scale)
        assert np.linalg.norm(got - want) / np.linalg.norm(want - oracle.mean) < tol


def test_ancestral_on_path_draws_the_oracle_posterior():
    """ancestral_on_path (512 plug-in steps) from one latent, 300 draws: their mean is the oracle's posterior mean
    (norm of the deviation within 4 standard errors) and their variance summed over the coefficients is the
    posterior's within [0.93, 1.05] (plug-in steps under-disperse by ~2.5% at 512 steps; Monte Carlo SE ~2%)."""
    shape = (8, 8, 3)
    model, oracle = _untrained(shape), models.StationaryImageOracle(shape)
    _, z, ls = _noisy(oracle, 0.3, 1, 5)
    draws = receivers.ancestral_on_path(np.repeat(z, 300, axis=0), ls, model, rng=2, num_steps=512)
    mean = oracle.denoise_per_component(z, ls)[0]
    pv = oracle.eigvals / (1 + np.exp(ls) * oracle.eigvals)
    dev = oracle.to_eigen(draws - mean)
    assert np.sqrt(np.sum(dev.mean(axis=0) ** 2 / (pv / 300))) < np.sqrt(oracle.dim) + 4
    assert 0.93 < np.sum(dev.var(axis=0)) / pv.sum() < 1.05


def test_rdp_unet_codes_rdp_streams_only(tmp_path):
    """An rdp U-Net checkpoint codes an rdp stream whose decoded latent is the encoder's, float for float, and the
    three decoders run on it; it refuses an isotropic stream, the isotropic U-Net refuses rdp, and log-SNRs off the
    path are refused by name."""
    shape = (8, 12, 3)
    torch.manual_seed(0)
    net = learned.UNet(RDP)
    with torch.no_grad():
        net.out.weight.normal_(0, 0.05)
    net.config = dict(RDP)
    path = tmp_path / "rdp.pt"
    learned.save_checkpoint(path, net)
    spec = f"unet:{path}"
    rng = np.random.default_rng(6)
    x = np.clip(np.cumsum(rng.normal(0, 0.2, shape), axis=1) / 3, -1, 1)
    result, model, _ = image.encode_image_detailed(x, spec, stop_step=6, num_steps=12, schedule="rdp")
    latent = chain.decode_latent(result.data, image.image_model_for(spec, shape))
    np.testing.assert_array_equal(np.asarray(latent.z).reshape(result.z.shape), result.z)
    for method in ("flow", "mean", "dp:1.5"):
        assert np.isfinite(chain.reconstruct(latent, model, method)).all()
    assert np.isfinite(chain.reconstruct(latent, model, "ancestral", decoder_steps=16)).all()
    with pytest.raises(ValueError, match="^schedule: this unet was trained on the rdp schedule"):
        image.encode_image_detailed(x, spec, stop_step=2, num_steps=12)
    with pytest.raises(ValueError, match="^schedule: .* codes --schedule rdp streams only"):
        image.check_schedule(spec, "isotropic")
    with pytest.raises(ValueError, match="^schedule: 'rdp' needs a Gaussian oracle"):
        image.check_schedule("unet", "rdp")
    ls = model.path_log_snrs(0.0)[0]
    with pytest.raises(ValueError, match="^log_snrs: not on the perfect-realism path"):
        model.denoise_per_component(np.zeros(model.dim), ls + np.linspace(0, 0.1, model.dim))


def test_rdp_training_records_its_schedule_and_checks_in_tau(tmp_path, capsys):
    """train --schedule rdp writes a checkpoint whose config says rdp and whose MSE check is in tau, against the
    oracle's per-component posterior mean; an isotropic config has no schedule key (the shipped checkpoint's hash
    stays); the MLP refuses --schedule rdp in one line."""
    path = tmp_path / "r.pt"
    assert train.main(["--data", "photos", "--model", "unet", "--schedule", "rdp", "--crop", "16", "--channels", "4",
                       "--num-freqs", "4", "--steps", "2", "--batch-size", "2", "--eval-samples", "2", "--out",
                       str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "     tau" in out
    config, _, _ = learned.read_checkpoint(path)
    assert config["schedule"] == "rdp"
    assert models.load(f"unet:{path}", shape=(8, 8, 3)).schedule == "rdp"
    iso = train._network_config(train.TrainConfig(model="unet"), data.photos(crop=16))
    assert "schedule" not in iso
    with pytest.raises(SystemExit) as exc:
        train.main(["--data", "patches", "--schedule", "rdp", "--steps", "1", "--out", str(tmp_path / "m.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "--schedule:" in err[0]


def test_shipped_rdp_checkpoint_matches_its_record():
    """empirical/data/unet_rdp_photos.pt: at most 8 MB, its hashes and config the recorded ones, trained on the rdp
    path, and it loads as a model that takes rdp streams only."""
    import hashlib
    import json

    path = unet.shipped_path("unet-rdp")
    record = json.loads((path.parent / "unet_rdp_photos.json").read_text())
    assert path.stat().st_size <= 8 * 2**20
    config, _, digest = learned.read_checkpoint(path)
    assert digest == record["sha256"] and config == record["config"] and config["schedule"] == "rdp"
    assert record["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    model = models.load(f"unet:{path}", shape=(8, 8, 3))
    assert model.schedule == "rdp"
    with pytest.raises(ValueError, match="^schedule"):
        model.denoise(np.zeros(model.dim), 0.0)


def test_unet_rdp_names_the_shipped_rdp_checkpoint_from_any_folder(tmp_path, monkeypatch):
    """``--model unet-rdp`` is package data, not a path: it loads outside the repository, is the same network as
    ``unet:`` of its file, its streams record the name and decode with it, and ``unet`` does not decode them."""
    monkeypatch.chdir(tmp_path)
    shape = (8, 8, 3)
    named = models.load("unet-rdp", shape=shape)
    by_path = models.load(f"unet:{unet.shipped_path('unet-rdp')}", shape=shape)
    assert named.schedule == "rdp" and named.fingerprint == by_path.fingerprint
    assert models.load("unet", shape=shape).fingerprint != named.fingerprint
    x = np.clip(np.random.default_rng(2).normal(0, 0.3, shape), -1, 1)
    data = image.encode_image(x, "unet-rdp", stop_step=4, num_steps=12, schedule="rdp")
    assert image.recorded_spec("unet-rdp") == "unet-rdp"
    assert np.isfinite(image.decode_image(data, "unet-rdp", method="mean")).all()
    with pytest.raises(ValueError, match="model"):
        image.decode_image(data, "unet", method="mean")
    with pytest.raises(ValueError, match="^schedule: unet-rdp was trained on the rdp schedule"):
        image.check_schedule("unet-rdp", "isotropic")
    with pytest.raises(ValueError, match="no U-Net is shipped as 'unet-x'"):
        unet.shipped_path("unet-x")
