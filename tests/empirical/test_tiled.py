"""The 8x8 patch models tiled over an image: the tiled oracle against dense block-diagonal algebra built here, the
generic tiling of any patch denoiser against the exact tiled oracle, image streams through the CLIs, bad shapes.

Every image here is made by the test; none comes from the Kodak folder.
"""
from __future__ import annotations

import numpy as np
import pytest

from gaussian import schedule
from empirical import data, models
from empirical.codec import compress, decode_image, decompress, encode_image, read_header
from empirical.models.tiled import TiledPatchModel, TiledPatchOracle

Image = pytest.importorskip("PIL.Image")

SHAPE = (16, 24, 3)


@pytest.fixture(scope="module")
def patch_oracle():
    return models.GaussianOracle.from_source(data.patches())


def _dense_covariance(shape, patch_cov):
    """The block-diagonal covariance of the tiled model, by index arithmetic: pixel ``(r, c, ch)`` belongs to block
    ``(r // 8, c // 8, ch)`` at position ``8 (r % 8) + c % 8``."""
    height, width, channels = shape
    index = np.arange(height * width * channels).reshape(shape)
    cov = np.zeros((index.size, index.size))
    for ch in range(channels):
        for br in range(0, height, 8):
            for bc in range(0, width, 8):
                pixels = index[br:br + 8, bc:bc + 8, ch].reshape(-1)
                cov[np.ix_(pixels, pixels)] = patch_cov
    return cov


def test_tiled_oracle_is_the_block_diagonal_gaussian(patch_oracle):
    """Coefficients are orthonormal; basis diag(eigvals) basis^T is the block-diagonal covariance; the posterior
    mean, reverse step and flow map equal dense linear algebra on it."""
    oracle = models.load("tiled:oracle", shape=SHAPE)
    assert isinstance(oracle, TiledPatchOracle) and oracle.num_blocks == 2 * 3 * 3
    eye = np.eye(oracle.dim)
    vectors = oracle.from_eigen(eye)  # row i = basis vector i
    np.testing.assert_allclose(vectors @ vectors.T, eye, atol=1e-12)
    patch_cov = patch_oracle.basis @ np.diag(patch_oracle.eigvals) @ patch_oracle.basis.T
    cov = _dense_covariance(SHAPE, patch_cov)
    np.testing.assert_allclose(vectors.T @ np.diag(oracle.eigvals) @ vectors, cov, atol=1e-12)
    mean = np.tile(patch_oracle.mean.reshape(8, 8), (SHAPE[0] // 8, SHAPE[1] // 8))
    mean = np.repeat(mean[:, :, None], 3, axis=2).reshape(-1)
    np.testing.assert_allclose(oracle.mean, mean, atol=1e-15)

    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, oracle.dim))
    log_snr = 0.7
    alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr)
    gain = alpha * cov @ np.linalg.inv(alpha**2 * cov + sigma**2 * eye)
    want = mean + (z - alpha * mean) @ gain.T
    np.testing.assert_allclose(oracle.denoise(z, log_snr), want, atol=1e-11)
    # the exact reverse step's mean is E[z_s | z_t] of the joint Gaussian (dense), its variance the dense conditional
    log_snr_s = 2.0
    alpha_s, sigma_s = schedule.alpha_sigma_from_log_snr(log_snr_s)
    # z_t = (alpha_t / alpha_s) z_s + noise of variance sigma_t^2 - (alpha_t / alpha_s)^2 sigma_s^2
    ratio = alpha / alpha_s
    cov_ss = alpha_s**2 * cov + sigma_s**2 * eye
    cov_tt = alpha**2 * cov + sigma**2 * eye
    cross = ratio * cov_ss  # Cov(z_t, z_s)
    step = oracle.reverse_transition(z, log_snr, log_snr_s)
    want_mean = alpha_s * mean + (z - alpha * mean) @ np.linalg.solve(cov_tt, cross)
    np.testing.assert_allclose(step.mean, want_mean, atol=1e-10)
    want_cov = cov_ss - cross.T @ np.linalg.solve(cov_tt, cross)
    got_cov = vectors.T @ np.diag(step.var[0]) @ vectors
    np.testing.assert_allclose(got_cov, want_cov, atol=1e-10)


def test_generic_tiling_of_a_patch_denoiser_equals_the_exact_tiled_oracle(patch_oracle):
    """TiledPatchModel runs any 64-dim denoiser block by block; with the Gaussian patch oracle inside, its denoiser,
    reverse step and prior equal TiledPatchOracle's closed forms on the whole image."""
    exact = TiledPatchOracle(SHAPE, patch_oracle)
    generic = TiledPatchModel(SHAPE, patch_oracle)
    assert generic.dim == exact.dim and generic.fingerprint != exact.fingerprint
    rng = np.random.default_rng(1)
    z = rng.standard_normal((3, exact.dim))
    log_snr = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(generic.denoise(z, log_snr), exact.denoise(z, log_snr), atol=1e-12)
    a, b = generic.reverse_transition(z, log_snr, log_snr + 1.5), exact.reverse_transition(z, log_snr, log_snr + 1.5)
    np.testing.assert_allclose(a.mean, b.mean, atol=1e-12)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-12)
    pa, pb = generic.prior(-4.0), exact.prior(-4.0)
    np.testing.assert_allclose(pa.mean, pb.mean, atol=1e-15)
    np.testing.assert_allclose(np.broadcast_to(pa.var, pb.var.shape), pb.var, rtol=1e-12)
    np.testing.assert_allclose(generic.from_eigen(generic.to_eigen(z)), z, atol=1e-12)


def test_tiled_models_refuse_what_they_cannot_tile(patch_oracle):
    with pytest.raises(ValueError, match="divisible by 8"):
        models.load("tiled:oracle", shape=(12, 16, 3))
    with pytest.raises(ValueError, match="needs the image's shape"):
        models.load("tiled:oracle")
    small = models.GaussianOracle.from_moments(np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="64-dim"):
        TiledPatchModel(SHAPE, small)
    with pytest.raises(ValueError, match="tiled:oracle"):
        models.load("tiled:", shape=SHAPE)


def _pixels(seed=0):
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(rng.standard_normal((24, 32, 3)), axis=0), axis=1)
    smooth = (smooth - smooth.mean()) / (4 * smooth.std())
    return np.rint((np.clip(smooth, -1, 1) + 1) * 127.5).astype(np.uint8)


def test_tiled_oracle_image_stream_decodes_every_prefix_and_improves():
    """One stream over all blocks; each prefix decodes; more steps give a closer reconstruction."""
    x = _pixels() / 127.5 - 1.0
    stream = encode_image(x, "tiled:oracle", stop_step=24, num_steps=24)
    assert read_header(stream).model_spec == b"model=tiled:oracle"
    errors = [np.mean((decode_image(stream, "tiled:oracle", method="mean", prefix_steps=k) - x) ** 2)
              for k in (4, 16, 24)]
    assert errors[0] > errors[1] > errors[2]


def test_tiled_cli_round_trip_with_the_oracle_and_a_checkpoint(tmp_path, capsys):
    """compress/decompress an image with tiled:oracle and with tiled:CHECKPOINT (a tiny patch model trained here); a
    stream decoded with the other model is refused in one line naming --model."""
    pytest.importorskip("torch")
    from empirical.models import train

    ckpt = tmp_path / "p.pt"
    assert train.main(["--data", "patches", "--out", str(ckpt), "--steps", "3", "--hidden", "8", "--depth", "1",
                       "--batch-size", "16", "--eval-samples", "64", "--no-progress"]) == 0
    Image.fromarray(_pixels(2)).save(tmp_path / "photo.png")
    for spec in ("tiled:oracle", f"tiled:{ckpt}"):
        out = tmp_path / "p.dfrc"
        assert compress.main([str(tmp_path / "photo.png"), "--model", spec, "--stop-step", "6", "--steps", "12",
                              "--out", str(out), "--no-progress"]) == 0
        assert decompress.main([str(out), "--model", spec, "--method", "mean", "--out", str(tmp_path / "hat.png"),
                                "--original", str(tmp_path / "photo.png")]) == 0
        assert np.asarray(Image.open(tmp_path / "hat.png")).shape == (24, 32, 3)
        other = "oracle:stationary" if spec == "tiled:oracle" else "tiled:oracle"
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            decompress.main([str(out), "--model", other, "--out", str(tmp_path / "x.npy")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and "--model" in err and len(err.strip().splitlines()) == 1


def test_evaluation_with_the_tiled_oracle_draws_its_examples(tmp_path, capsys):
    """python -m empirical.images --model tiled:oracle: the records name the tiled model, the closed forms given x
    are checked, and the example figures decode the streams with the tiled model (not the stationary one)."""
    from empirical.images import evaluate

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(_pixels(10 + i)).save(folder / f"im{i}.png")
    assert evaluate.main(["--images", str(folder), "--scale", "1/1", "--model", "tiled:oracle", "--rates", "3,5",
                          "--steps", "16", "--out", str(tmp_path / "res"), "--examples", "im0.png",
                          "--no-progress"]) == 0
    capsys.readouterr()
    for made in ("im0_decoders.png", "im0_progressive.png"):
        assert (tmp_path / "res" / made).stat().st_size > 0
    import json

    report = json.loads((tmp_path / "res" / "report.json").read_text())
    assert report["settings"]["model"] == "tiled:oracle"
    assert "tiled" in report["methods"][0]["description"]
    assert report["closed_form_check"]["sum_kl"]["points"] > 0
