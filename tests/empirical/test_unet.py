"""empirical.models.unet: the skip is the stationary oracle, equivariance, checkpoints, training, the shipped model."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from empirical import data, models

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from empirical.models import learned, train, unet  # noqa: E402

TINY = {"arch": "unet", "channels": 4, "levels": 2, "num_freqs": 4, "prediction": "x", "log_snr_min": -10.0,
        "log_snr_max": 12.0}


def _random_net(config=TINY, seed=0):
    """A UNet whose output convolution is random too (not zero), so that its residual is not zero."""
    torch.manual_seed(seed)
    net = learned.UNet(config)
    with torch.no_grad():
        net.out.weight.normal_(0, 0.1)
        net.out.bias.normal_(0, 0.1)
    return net.double().eval()


@pytest.mark.parametrize("shape", [(12, 10, 3), (8, 16, 3), (9, 13, 3)])
def test_untrained_unet_is_the_stationary_oracle(shape):
    """A freshly built UNet (zero output layer) denoises exactly as the stationary oracle of the image's shape
    (relative 1e-12: DCT matrices in torch vs scipy.fft), at log-SNRs across the range, sides not multiples of 4."""
    torch.manual_seed(0)
    model = unet.UNetImageModel(learned.UNet(TINY), shape)
    oracle = models.StationaryImageOracle(shape)
    rng = np.random.default_rng(1)
    z = rng.standard_normal((3, model.dim))
    for log_snr in (-8.0, 0.0, 10.0):
        got, want = model.denoise(z, log_snr), oracle.denoise(z, log_snr)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_residual_enters_as_sqrt_pv_in_the_oracle_coefficients():
    """With a non-zero residual r (pixels), x_hat = oracle mean + from_eigen(sqrt(pv) to_eigen(r)): checked against
    the dense oracle basis (dense linear algebra) for a 8x8 image."""
    shape, log_snr = (8, 8, 3), 1.5
    net = _random_net()
    oracle = models.StationaryImageOracle(shape)
    rng = np.random.default_rng(2)
    z = rng.standard_normal((2, oracle.dim))
    got = unet.UNetImageModel(net, shape).denoise(z, log_snr)
    # the residual image as the network makes it from its two inputs
    from gaussian import schedule

    alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr)
    basis = oracle.basis
    w = (z - alpha * oracle.mean) @ basis
    lam = oracle.eigvals
    marginal = alpha**2 * lam + sigma**2
    whitened = (w / np.sqrt(marginal)) @ basis.T
    wiener = oracle.mean + (alpha * lam / marginal * w) @ basis.T
    inputs = np.concatenate([whitened.reshape(2, 8, 8, 3), wiener.reshape(2, 8, 8, 3)], axis=3)
    with torch.no_grad():
        r = net.body(torch.from_numpy(inputs).permute(0, 3, 1, 2), torch.full((2,), log_snr, dtype=torch.float64))
    r = r.permute(0, 2, 3, 1).numpy().reshape(2, -1)
    pv = lam / (1 + np.exp(log_snr) * lam)
    want = oracle.denoise(z, log_snr) + (np.sqrt(pv) * (r @ basis)) @ basis.T
    residual = np.abs(want - oracle.denoise(z, log_snr)).max()
    assert residual > 1e-3  # the residual is not zero here
    np.testing.assert_allclose(unet.UNetImageModel(net, shape, body_dtype="float64").denoise(z, log_snr), want,
                               rtol=1e-10, atol=1e-12)
    # the default float32 body: the same up to float32 rounding of the residual
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * residual)


@pytest.mark.parametrize("shift", [(4, 8), (-8, 4)])
def test_body_is_translation_equivariant_away_from_borders(shift):
    """body(roll(x)) = roll(body(x)) on pixels farther than the receptive field (at most 28 px for 2 levels: 3x3
    convolutions 1 + 2 + 2x2 + 2x4 + 2x2 + 2 + 1 = 22 px, plus pooling and upsampling offsets) plus the shift from
    every border and from the roll's seam, for shifts by multiples of 2^levels; a shift by 1 pixel is not (the
    pooling grid moves)."""
    net = _random_net()
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.standard_normal((1, 6, 96, 96)))
    ls = torch.tensor([0.5], dtype=torch.float64)
    with torch.no_grad():
        out = net.body(x, ls)
        moved = net.body(torch.roll(x, shift, dims=(2, 3)), ls)
    margin = 28 + 8
    inner = (slice(None), slice(None), slice(margin, 96 - margin), slice(margin, 96 - margin))
    np.testing.assert_allclose(moved[inner].numpy(), torch.roll(out, shift, dims=(2, 3))[inner].numpy(),
                               rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        odd = net.body(torch.roll(x, (1, 0), dims=(2, 3)), ls)
    assert np.abs((odd - torch.roll(out, (1, 0), dims=(2, 3)))[inner].numpy()).max() > 1e-6


def test_checkpoint_round_trip_and_refusals(tmp_path):
    """A saved unet loads (load_unet) with the same hash and denoises bit for bit as the model in memory;
    the MLP loader refuses it in one line naming --model unet:PATH; a unet with the MLP's loader keys is refused."""
    torch.manual_seed(0)
    net = _random_net().float()
    net.config = dict(TINY)
    path = tmp_path / "u.pt"
    digest = learned.save_checkpoint(path, net)
    loaded = unet.load_unet(path, (8, 12, 3))
    in_memory = unet.UNetImageModel(net, (8, 12, 3))
    assert loaded.weights_fingerprint == digest == in_memory.weights_fingerprint
    z = np.random.default_rng(4).standard_normal((2, loaded.dim))
    np.testing.assert_array_equal(loaded.denoise(z, 2.0), in_memory.denoise(z, 2.0))
    assert loaded.fingerprint != unet.UNetImageModel(net, (12, 8, 3)).fingerprint
    with pytest.raises(ValueError, match="unet:"):
        learned.load_checkpoint(path)
    with pytest.raises(ValueError, match="channels"):
        learned.check_config(dict(TINY, channels=0))
    with pytest.raises(ValueError, match="prediction"):
        learned.check_config(dict(TINY, prediction="eps"))


def test_photos_source_crops_come_from_their_split():
    """Crops are 32x32x3 in [-1, 1] on the 8-bit grid, a pure function of (seed, step), and every test crop is a
    window (possibly mirrored) of the test photograph."""
    src = data.photos()
    assert src.shape == (32, 32, 3) and src.dim == 3072
    a = src.sample(5, seed=1, split="test", step=2)
    np.testing.assert_array_equal(a, src.sample(5, seed=1, split="test", step=2))
    assert not np.array_equal(a, src.sample(5, seed=1, split="test", step=3))
    v = (a + 1) * 255 / 2
    assert np.abs(v - np.round(v)).max() < 1e-9 and v.min() >= 0 and v.max() <= 255
    stored = np.load(data.DATA_DIR / data.PHOTOS_FILE)
    names = [str(n) for n in stored["names"]]
    test_photo = stored[f"photo_{names.index(data.PHOTOS_TEST[0])}"].astype(np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(test_photo, (32, 32, 3)).reshape(-1, 32, 32, 3)
    for crop in np.round(v).reshape(-1, 32, 32, 3):
        hit = np.all(windows == crop, axis=(1, 2, 3)) | np.all(windows == crop[:, ::-1], axis=(1, 2, 3))
        assert hit.any()
    with pytest.raises(ValueError, match="crop"):
        data.photos(crop=500)


def test_unet_training_is_deterministic_and_refuses_other_data():
    """Same config and seed: the same checkpoint hash and losses; another seed differs. --model unet needs photos."""
    src = data.photos(crop=16)
    cfg = train.TrainConfig(model="unet", channels=4, num_freqs=4, steps=3, batch_size=4)
    a, losses_a, _ = train.train(src, cfg)
    b, losses_b, _ = train.train(src, cfg)
    c, _, _ = train.train(src, train.TrainConfig(model="unet", channels=4, num_freqs=4, steps=3, batch_size=4, seed=1))
    h = [learned.state_hash(n.config, n.state_dict()) for n in (a, b, c)]
    assert h[0] == h[1] != h[2]
    np.testing.assert_array_equal(losses_a, losses_b)
    with pytest.raises(ValueError, match="model"):
        train.train(data.patches(), cfg)
    with pytest.raises(ValueError, match="model"):
        train.train(src, train.TrainConfig(steps=1))


def test_shipped_checkpoint_matches_its_record_and_round_trips(tmp_path, capsys):
    """The shipped checkpoint is at most 8 MB, its sha256 is the recorded one, its config the recorded one, and a
    16x24 image made here round-trips through compress / decompress --model unet (the decoder's latent is the
    encoder's, float for float); a stream of the oracle is refused by --model unet."""
    from PIL import Image

    from empirical.codec import chain, compress, decompress, image

    path = unet.shipped_path()
    record = json.loads((path.parent / "unet_photos.json").read_text())
    assert path.stat().st_size <= 8 * 2**20
    config, _, digest = learned.read_checkpoint(path)
    assert digest == record["sha256"] and config == record["config"]
    assert record["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    rng = np.random.default_rng(5)
    pixels = np.clip(128 + np.cumsum(rng.integers(-20, 21, (16, 24, 3)), axis=1), 0, 255).astype(np.uint8)
    x = pixels * (2 / 255) - 1
    result, model, _ = image.encode_image_detailed(x, "unet", stop_step=4, num_steps=12)
    latent = chain.decode_latent(result.data, image.image_model_for("unet", (16, 24, 3)))
    np.testing.assert_array_equal(np.asarray(latent.z).reshape(result.z.shape), result.z)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    out = tmp_path / "p.dfrc"
    assert compress.main([str(tmp_path / "photo.png"), "--model", "unet", "--stop-step", "4", "--steps", "12",
                          "--out", str(out), "--no-progress"]) == 0
    assert b"model=unet" in out.read_bytes()[:200]
    assert decompress.main([str(out), "--model", "unet", "--method", "mean", "--out", str(tmp_path / "hat.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "hat.png")).shape == (16, 24, 3)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        decompress.main([str(out), "--model", "oracle:stationary", "--out", str(tmp_path / "x.npy")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--model unet" in err and len(err.strip().splitlines()) == 1


def test_train_cli_makes_a_loadable_unet_and_refuses_mismatched_data(tmp_path, capsys):
    """python -m empirical.train --data photos --model unet writes a checkpoint that unet:PATH loads for any image
    size; --data patches --model unet is refused in one line naming --model, exit 2, before any file is written."""
    path = tmp_path / "u.pt"
    assert train.main(["--data", "photos", "--model", "unet", "--crop", "16", "--channels", "4", "--num-freqs", "4",
                       "--steps", "2", "--batch-size", "2", "--eval-samples", "2", "--out", str(path),
                       "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "stationary-oracle" in out
    model = models.load(f"unet:{path}", shape=(10, 14, 3))
    assert model.dim == 420 and model.denoise(np.zeros(420), 0.0).shape == (1, 420)
    with pytest.raises(SystemExit) as exc:
        train.main(["--data", "patches", "--model", "unet", "--steps", "1", "--out", str(tmp_path / "v.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "--model:" in err[0]
    assert not (tmp_path / "v.pt").exists()


def test_chain_rates_of_the_oracle_meet_its_closed_form_rate():
    """For the stationary oracle, the own I-MMSE integral of chain_rates equals I_G given x (the exact chain's
    expected sum KL, gaussian.components.chain_kl_nats_given_x) within 2% (Monte Carlo: 6 crops, one draw per
    point, 129 points); the plug-in sum KL exceeds it (a left Riemann sum of a decreasing integrand) and its excess
    about halves when the steps double (first-order discretisation: ratio within 0.4..0.65)."""
    from empirical.images import denoising

    oracle = models.StationaryImageOracle((16, 16, 3))
    rng = np.random.default_rng(6)
    crops = (oracle.mean + oracle.from_eigen(np.sqrt(oracle.eigvals) * rng.standard_normal((6, oracle.dim))))
    rows = denoising.chain_rates("oracle:stationary", crops.reshape(6, 16, 16, 3), [33, 65, 129])
    last = rows[-1]
    assert abs(last.immse_bits_per_pixel / last.oracle_bits_per_pixel - 1) < 0.02
    excess = [r.excess_bits_per_pixel for r in rows]
    assert all(e > 0 for e in excess)
    assert 0.4 < excess[1] / excess[0] < 0.65 and 0.4 < excess[2] / excess[1] < 0.65
    with pytest.raises(ValueError, match="chain_steps"):
        denoising.chain_rates("oracle:stationary", crops.reshape(6, 16, 16, 3), [10, 33])
