"""Photographs through the codec: image files, the stationary oracle against dense algebra, the closed forms given x
against Monte Carlo, progressive image streams, --bpp, the evaluation's CompressAI records and bad image inputs.

Every image here is made by the test (seeded draws of the image model); none comes from the Kodak folder.
"""
from __future__ import annotations

import io
import json
import math
import struct
import zlib

import numpy as np
import pytest

from gaussian import components, image_model
from empirical import image_files, models
from empirical.codec import chain, compress, decompress, decode_image, encode_image, encode_image_detailed
from empirical.images import evaluate, metrics

Image = pytest.importorskip("PIL.Image")


def _photo(height, width, channels=3, seed=0) -> np.ndarray:
    """A smooth-ish seeded uint8 test image: a draw of the stationary model, quantised to 8 bits."""
    oracle = models.StationaryImageOracle((height, width, channels))
    rng = np.random.default_rng(seed)
    x = oracle.mean + oracle.from_eigen(np.sqrt(oracle.eigvals) * rng.standard_normal(oracle.dim))
    return image_files.to_uint8(np.clip(x, -1, 1).reshape(height, width, channels))[0]


def _save(path, pixels, **options):
    Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).save(path, **options)


# ---------------------------------------------------------------- image files


@pytest.mark.parametrize("shape", [(8, 8, 3), (13, 9, 3), (11, 17, 1)], ids=["rgb-8x8", "rgb-odd", "gray-odd"])
def test_png_round_trip_is_exact(tmp_path, shape):
    """PNG in -> [-1, 1] floats -> PNG out gives the same 8-bit pixels (RGB, grayscale, odd sizes)."""
    pixels = _photo(*shape, seed=3)
    _save(tmp_path / "in.png", pixels)
    x = image_files.read_image(tmp_path / "in.png")
    assert x.shape == shape and x.min() >= -1 and x.max() <= 1
    np.testing.assert_array_equal(image_files.to_uint8(x)[0], pixels)
    assert image_files.write_png(tmp_path / "out.png", x) == 0
    back = np.asarray(Image.open(tmp_path / "out.png"))
    np.testing.assert_array_equal(back.reshape(shape), pixels)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_jpeg_is_read_with_its_shape(tmp_path, mode):
    """A JPEG decodes to its size and channel count, within JPEG's error of the pixels it was made from."""
    pixels = _photo(24, 16, 3 if mode == "RGB" else 1, seed=1)
    _save(tmp_path / "in.jpg", pixels, quality=95)
    x = image_files.read_image(tmp_path / "in.jpg")
    assert x.shape == pixels.shape
    assert metrics.psnr_db(image_files.from_uint8(pixels), x) > 30


def test_write_png_clips_and_counts(tmp_path):
    """Values outside [-1, 1] are clipped in the 8-bit PNG and counted, never silently."""
    x = np.zeros((8, 8, 1))
    x[0, 0, 0], x[1, 1, 0] = 1.5, -3.0
    assert image_files.write_png(tmp_path / "c.png", x) == 2
    back = np.asarray(Image.open(tmp_path / "c.png"))
    assert back[0, 0] == 255 and back[1, 1] == 0 and back[2, 2] == 128


def _png_header_only(width, height) -> bytes:
    """A PNG claiming ``width x height`` 8-bit RGB with almost no pixel data (a header that lies about its size)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _bad_inputs(tmp_path):
    good = _photo(16, 16, 3)
    buf = io.BytesIO()
    Image.fromarray(good).save(buf, format="PNG")
    png = buf.getvalue()
    cases = {}
    (tmp_path / "corrupt.png").write_bytes(png[:40] + bytes(len(png) - 40))
    cases["corrupt"] = ("corrupt.png", "not a readable PNG or JPEG")
    (tmp_path / "truncated.png").write_bytes(png[: len(png) // 2])
    cases["truncated"] = ("truncated.png", "not a readable PNG or JPEG")
    Image.fromarray((np.arange(256, dtype=np.uint16) * 200).reshape(16, 16)).save(tmp_path / "deep.png")
    cases["16-bit"] = ("deep.png", "16-bit")
    Image.fromarray(good).convert("P").save(tmp_path / "palette.png")
    cases["palette"] = ("palette.png", "palette")
    Image.fromarray(np.dstack([good, np.full((16, 16), 200, np.uint8)])).save(tmp_path / "alpha.png")
    cases["alpha"] = ("alpha.png", "alpha")
    Image.fromarray(good[:1, :1]).save(tmp_path / "tiny.png")
    cases["1x1"] = ("tiny.png", "at least 8x8")
    (tmp_path / "huge.png").write_bytes(_png_header_only(9000, 9000))
    cases["too large"] = ("huge.png", "GiB")
    (tmp_path / "bomb.png").write_bytes(_png_header_only(20000, 20000))
    cases["decompression bomb"] = ("bomb.png", "pixels")
    return cases


def test_bad_image_files_are_refused_by_name(tmp_path):
    """Corrupt, truncated, 16-bit, palette, alpha, 1x1 and too-large images: a ValueError naming the flag and why."""
    for label, (name, words) in _bad_inputs(tmp_path).items():
        with pytest.raises(ValueError, match=words) as err:
            image_files.read_image(tmp_path / name, "image")
        assert str(err.value).startswith("image: "), label
        assert "\n" not in str(err.value), label


def test_bad_image_files_give_one_line_and_status_2_from_the_cli(tmp_path, capsys):
    """``python -m empirical.compress BAD.png ...``: exit status 2 and one line on stderr, for every bad input."""
    for label, (name, words) in _bad_inputs(tmp_path).items():
        with pytest.raises(SystemExit) as exc:
            compress.main([str(tmp_path / name), "--model", "oracle:stationary", "--bpp", "1",
                           "--out", str(tmp_path / "x.dfrc"), "--no-progress"])
        err = capsys.readouterr().err
        assert exc.value.code == 2, label
        assert err.count("\n") == 1 and "error: image:" in err and words in err, (label, err)
        assert not (tmp_path / "x.dfrc").exists()


# ---------------------------------------------------------------- the stationary oracle


def _dct_matrix(n) -> np.ndarray:
    """The orthonormal DCT-II matrix from its cosine formula (independent of scipy.fft)."""
    k, m = np.arange(n)[:, None], np.arange(n)[None, :]
    c = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * m + 1) * k / (2 * n))
    c[0] /= np.sqrt(2.0)
    return c


def _dense(shape):
    """``(mean, covariance)`` of the model on ``shape`` built densely from the formula of gaussian.image_model."""
    h, w, ch = shape
    params = image_model.load("rgb" if ch == 3 else "gray")
    fy, fx = np.arange(h) / (2.0 * h), np.arange(w) / (2.0 * w)
    var = params.amplitude * (params.cutoff**2 + fy[:, None, None] ** 2 + fx[None, :, None] ** 2) ** (-params.exponent / 2)
    # x (flattened h, w, c) -> coefficients: kron(Dh, Dw, U^T) x
    transform = np.kron(np.kron(_dct_matrix(h), _dct_matrix(w)), params.colour_basis.T)
    cov = transform.T @ np.diag(var.ravel()) @ transform
    return np.tile(params.mean, h * w), cov


def test_stationary_oracle_matches_dense_linear_algebra():
    """On an 8x6x3 image: posterior mean, exact reverse step and flow map equal their dense-matrix formulas."""
    shape = (8, 6, 3)
    oracle = models.StationaryImageOracle(shape)
    mean, cov = _dense(shape)
    d = oracle.dim
    np.testing.assert_allclose(oracle.mean, mean, rtol=0, atol=1e-15)
    basis = oracle.basis
    np.testing.assert_allclose(basis @ np.diag(oracle.eigvals) @ basis.T, cov, rtol=0, atol=1e-12 * np.abs(cov).max())
    rng = np.random.default_rng(7)
    z = rng.standard_normal((2, d))
    for log_snr in (-3.0, 0.5, 6.0):
        a = math.sqrt(1.0 / (1.0 + math.exp(-log_snr)))
        s2 = 1.0 - a * a
        gain = a * cov @ np.linalg.inv(a * a * cov + s2 * np.eye(d))
        expected = mean + (z - a * mean) @ gain.T
        np.testing.assert_allclose(oracle.denoise(z, log_snr), expected, rtol=0, atol=1e-11)
        # flow map to x: mean + cov^(1/2) (a^2 cov + s2 I)^(-1/2) (z - a mean)
        vals, vecs = np.linalg.eigh(cov)
        vals = np.clip(vals, 0, None)
        flow = vecs @ np.diag(np.sqrt(vals / (a * a * vals + s2))) @ vecs.T
        np.testing.assert_allclose(oracle.flow_map(z, log_snr), mean + (z - a * mean) @ flow.T, rtol=0, atol=1e-10)
    # exact reverse step from log-SNR 0 to 2: mean and covariance of p(z_s | z_t) for the dense Gaussian
    t, s = 0.0, 2.0
    at, as_ = math.sqrt(1 / (1 + math.exp(-t))), math.sqrt(1 / (1 + math.exp(-s)))
    st2, ss2 = 1 - at * at, 1 - as_ * as_
    # joint of (z_t, z_s): z_s = as x + ss u_s; z_t = (at/as) z_s + noise of variance st2 - (at/as)^2 ss2
    c_ss = as_ * as_ * cov + ss2 * np.eye(d)
    r = at / as_
    c_tt = r * r * c_ss + (st2 - r * r * ss2) * np.eye(d)
    c_st = r * c_ss
    k_gain = c_st @ np.linalg.inv(c_tt)
    cond_mean = as_ * mean + (z - at * mean) @ k_gain.T
    cond_cov = c_ss - k_gain @ c_st.T
    step = oracle.reverse_transition(z, t, s)
    np.testing.assert_allclose(step.mean, cond_mean, rtol=0, atol=1e-11)
    np.testing.assert_allclose(basis @ np.diag(step.var[0]) @ basis.T, cond_cov, rtol=0, atol=1e-11)


def test_stationary_oracle_refuses_what_it_cannot_model():
    with pytest.raises(ValueError, match="channels"):
        models.StationaryImageOracle((8, 8, 4))
    with pytest.raises(ValueError, match="pixels"):
        models.StationaryImageOracle((2**14, 2**13, 3))
    with pytest.raises(ValueError, match="dense basis"):
        _ = models.StationaryImageOracle((64, 64, 3)).basis


def test_image_model_spectrum_is_the_oracles():
    """gaussian.rd's --spectrum image-model:HxWxC holds exactly the oracle's eigenvalues."""
    from gaussian import spectrum

    spec = spectrum.parse("image-model:12x10x3")
    oracle = models.StationaryImageOracle((12, 10, 3))
    np.testing.assert_array_equal(spec.eigvals, np.sort(oracle.eigvals)[::-1])
    with pytest.raises(ValueError, match="C = 1"):
        spectrum.parse("image-model:12x10x2")


# ---------------------------------------------------------------- closed forms given x, by Monte Carlo


def test_sq_error_moments_given_x_by_monte_carlo():
    """Mean and variance of each decoder's squared error given x: 200,000 draws, within 5 standard errors."""
    rng = np.random.default_rng(11)
    lam, snr, x = 0.7, 3.0, 1.3
    rho = float(components.flow_gain(lam, snr))
    post = float(components.mse_mmse(lam, snr))
    n = 200_000
    noisy = x + rng.standard_normal(n) / math.sqrt(snr)
    for gain, extra in ((rho**2, 0.0), (rho, 0.0), (rho**2, post)):
        err = gain * noisy + math.sqrt(extra) * rng.standard_normal(n) - x
        mean, var = components.sq_error_moments_given_x(x, snr, gain, extra)
        sq = err**2
        assert abs(sq.mean() - mean) < 5 * math.sqrt(var / n)
        fourth = np.mean((sq - sq.mean()) ** 2)
        assert abs(fourth / var - 1) < 0.05  # the variance itself: relative error ~ 1/sqrt(n) x kurtosis


def test_image_chain_closed_forms_given_x_by_monte_carlo():
    """For one fixed 8x6x3 image, the exact chain (no RCC) averaged over 400 runs: sum KL and each decoder's squared
    error agree with the closed forms given x within 4 standard errors (the errors' own spread over the runs)."""
    shape = (8, 6, 3)
    oracle = models.StationaryImageOracle(shape)
    x = image_files.from_uint8(_photo(*shape, seed=5)).reshape(1, -1)
    grid = np.linspace(-6.0, 3.0, 10)
    n = 400
    rng = np.random.default_rng(2)
    kl = chain.ideal_chain_kl_bits(np.repeat(x, n, axis=0), oracle, grid, rng).sum(axis=1)
    c = oracle.to_eigen(x - oracle.mean)[0]
    snr = math.exp(grid[-1])
    expected_kl = components.chain_kl_nats_given_x(oracle.eigvals, snr, c).sum() / math.log(2)
    assert abs(kl.mean() - expected_kl) < 4 * kl.std() / math.sqrt(n)
    a = math.sqrt(1 / (1 + math.exp(-grid[-1])))
    z = a * x + math.sqrt(1 - a * a) * rng.standard_normal((n, oracle.dim))
    rho = components.flow_gain(oracle.eigvals, snr)
    post = components.mse_mmse(oracle.eigvals, snr)
    decoded = {"mean": oracle.denoise(z, grid[-1]), "flow": oracle.flow_map(z, grid[-1]),
               "ancestral": oracle.denoise(z, grid[-1]) + oracle.from_eigen(np.sqrt(post) * rng.standard_normal(z.shape))}
    for name, gain, extra in (("mean", rho**2, 0.0), ("flow", rho, 0.0), ("ancestral", rho**2, post)):
        sq = np.sum((decoded[name] - x) ** 2, axis=1)
        mean, var = components.sq_error_moments_given_x(c, snr, gain, extra)
        assert abs(sq.mean() - mean.sum()) < 4 * math.sqrt(var.sum() / n), name
        assert 0.8 < sq.var() / var.sum() < 1.25, name


# ---------------------------------------------------------------- image streams


def test_every_prefix_of_an_image_stream_decodes():
    """A 16x12 RGB stream: every prefix decodes to the sender's latent, and a cut stream to its complete steps."""
    pixels = _photo(16, 12, 3, seed=9)
    result, model, x = encode_image_detailed(pixels / 127.5 - 1.0, stop_step=6, num_steps=8, seed=4)
    header = chain.read_header(result.data)
    for k in range(result.num_steps_coded + 1):
        y = decode_image(result.data, prefix_steps=k, method="mean")
        assert y.shape == (16, 12, 3) and np.isfinite(y).all()
    latent = chain.decode_latent(result.data, model)
    np.testing.assert_array_equal(latent.z, result.z)
    cut = result.data[: len(result.data) - len(header.segments[-1]) // 2 - 1]
    with pytest.warns(Warning):
        partial = chain.decode_latent(cut, model)
    assert partial.num_steps == result.num_steps_coded - 1
    np.testing.assert_array_equal(partial.z, chain.decode_latent(result.data, model, result.num_steps_coded - 1).z)


def test_bpp_is_the_files_real_size():
    """--bpp B: the stream, header included, has at most B bits per pixel, and one more step would exceed it."""
    x = _photo(32, 32, 3, seed=2) / 127.5 - 1.0
    bpp = 2.0
    result, _, _ = encode_image_detailed(x, bpp=bpp, num_steps=16)
    assert 8 * len(result.data) <= bpp * 1024
    more = encode_image_detailed(x, stop_step=result.num_steps_coded + 1, num_steps=16,
                                 log_snr_stop=result.grid.log_snr_stop)[0]
    assert more.grid == result.grid
    assert 8 * len(more.data) > bpp * 1024
    with pytest.raises(ValueError, match="^bpp: 0.01 bits per pixel"):
        encode_image(x, bpp=0.01, num_steps=16)


def test_image_cli_round_trip(tmp_path, capsys):
    """compress photo.png --bpp, decompress --out hat.png: a PNG of the same size, PSNR printed."""
    pixels = _photo(16, 24, 3, seed=8)
    _save(tmp_path / "photo.png", pixels)
    assert compress.main([str(tmp_path / "photo.png"), "--model", "oracle:stationary", "--bpp", "2", "--steps", "12",
                          "--out", str(tmp_path / "p.dfrc"), "--json", str(tmp_path / "c.json"), "--no-progress"]) == 0
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["bpp"] <= 2 and report["bpp"] == 8 * (tmp_path / "p.dfrc").stat().st_size / (16 * 24)
    assert decompress.main([str(tmp_path / "p.dfrc"), "--model", "oracle:stationary", "--out", str(tmp_path / "hat.png"),
                            "--original", str(tmp_path / "photo.png")]) == 0
    out = capsys.readouterr().out
    assert "PSNR" in out
    assert np.asarray(Image.open(tmp_path / "hat.png")).shape == (16, 24, 3)
    with pytest.raises(SystemExit):
        decompress.main([str(tmp_path / "p.dfrc"), "--model", "oracle", "--out", str(tmp_path / "x.npy")])
    assert "oracle:stationary" in capsys.readouterr().err


# ---------------------------------------------------------------- metrics and the evaluation


def test_ssim_matches_scikit_image():
    """Single-scale SSIM equals scikit-image's with Wang's settings (Gaussian window 1.5, population covariance)."""
    skm = pytest.importorskip("skimage.metrics")
    a = _photo(32, 40, 1, seed=1)[:, :, 0].astype(np.float64)
    b = np.clip(a + np.random.default_rng(0).normal(0, 12, a.shape), 0, 255)
    ref = skm.structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                    data_range=255)
    ours = metrics.ssim_single(a[:, :, None] / 127.5 - 1, b[:, :, None] / 127.5 - 1)
    assert abs(ours - ref) < 1e-9
    assert metrics.ms_ssim(a[:, :, None] / 127.5 - 1, a[:, :, None] / 127.5 - 1) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ms_ssim_scales(64, 96) == 3 and metrics.ms_ssim_scales(512, 768) == 5


def test_realism_proxies_see_blur():
    """A blurred set is further from the originals than the originals' two halves are from each other."""
    from scipy.ndimage import uniform_filter

    originals = [image_files.from_uint8(_photo(32, 32, 3, seed=s)) for s in range(8)]
    blurred = [uniform_filter(x, size=(3, 3, 1)) for x in originals]
    ref_spec = metrics.spectrum_error_db(originals[0::2], originals[1::2])
    ref_w2 = metrics.sliced_w2(originals[0::2], originals[1::2])
    assert metrics.spectrum_error_db(blurred[0::2], originals[1::2]) > ref_spec + 1.0
    assert metrics.sliced_w2(blurred[0::2], originals[1::2]) > ref_w2
    assert metrics.sliced_w2(originals, originals) == 0.0


def test_evaluation_writes_compressai_records(tmp_path, capsys):
    """python -m empirical.images on two made images: CompressAI-format records that validate, and the checks."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        _save(folder / f"im{i}.png", _photo(32, 32, 3, seed=20 + i))
    assert evaluate.main(["--images", str(folder), "--scale", "1/1", "--rates", "1.5,3", "--steps", "12",
                          "--out", str(tmp_path / "res"), "--examples", "im1.png", "--no-progress"]) == 0
    for made in ("im1_decoders.png", "im1_progressive.png", "streams/im0.dfrc", "streams/im1.dfrc"):
        assert (tmp_path / "res" / made).stat().st_size > 0
    assert decode_image((tmp_path / "res" / "streams" / "im0.dfrc").read_bytes()).shape == (32, 32, 3)
    capsys.readouterr()
    names = {"diffc-flow", "diffc-ancestral", "diffc-mean", "jpeg", "webp"}
    for name in names:
        record = json.loads((tmp_path / "res" / f"{name}.json").read_text())
        assert set(record) == {"name", "description", "results"} and record["name"] == name
        assert isinstance(record["description"], str) and record["description"]
        results = record["results"]
        for key in ("bpp", "psnr-rgb", "ms-ssim-rgb"):
            assert isinstance(results[key], list) and results[key]
            assert all(isinstance(v, float) and math.isfinite(v) for v in results[key])
        assert len({len(v) for v in results.values()}) == 1
    report = json.loads((tmp_path / "res" / "report.json").read_text())
    points = report["closed_form_check"]["sum_kl"]["points"]
    assert points == sum(r["steps_in_stream"] // evaluate.CHECK_EVERY for r in report["per_image"]) > 0
    for entry in report["per_image"][0]["rates"]:
        assert entry["bpp"] <= entry["target_bpp"]
        assert entry["decoders"]["flow"]["psnr_db"] > 0


def test_ideal_evaluation_stops_where_the_expected_kl_reaches_the_rate(tmp_path, capsys):
    """--ideal: each rate point is the first step whose expected sum KL given x reaches it, labelled ideal."""
    folder = tmp_path / "photos"
    folder.mkdir()
    _save(folder / "a.png", _photo(24, 16, 3, seed=4))
    report = evaluate.run(evaluate.build_parser().parse_args(
        ["--images", str(folder), "--scale", "1/1", "--ideal", "--rates", "0.2,1", "--steps", "24", "--no-progress"]))
    capsys.readouterr()
    assert all(m["name"].endswith("-ideal") or m["name"] in ("jpeg", "webp") for m in report["methods"])
    assert "IDEAL" in report["methods"][0]["description"]
    model = models.StationaryImageOracle((24, 16, 3))
    x = image_files.from_uint8(_photo(24, 16, 3, seed=4)).reshape(-1)
    c = model.to_eigen((x - model.mean)[None, :])[0]
    for entry in report["per_image"][0]["rates"]:
        expected = components.chain_kl_nats_given_x(model.eigvals, math.exp(entry["log_snr"]), c).sum() / math.log(2)
        assert expected >= entry["target_bpp"] * 24 * 16
    assert report["closed_form_check"]["sum_kl"]["points"] == 2


@pytest.mark.parametrize("argv, words", [
    (["--scale", "1/0"], "--scale"), (["--scale", "2"], "--scale"), (["--rates", "1,,2"], "--rates"),
    (["--rates", "0"], "--rates"), (["--workers", "0"], "--workers"), (["--steps", "1"], "--steps"),
    (["--seed", "-1", "--scale", "1/1"], "--seed"), (["--examples", "a.png"], "--examples"),
    (["--examples", "b.png", "--out", "OUT", "--scale", "1/1"], "--examples"),
])
def test_evaluation_bad_flags(tmp_path, capsys, argv, words):
    folder = tmp_path / "photos"
    folder.mkdir()
    _save(folder / "a.png", _photo(16, 16, 3))
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--images", str(folder), *argv])
    assert exc.value.code == 2 and words in capsys.readouterr().err


def test_progressive_prefixes_are_spread_evenly_in_bits():
    """The strip's prefixes: for 8 sizes evenly spaced from the one-step prefix to the whole stream, the longest prefix
    that fits (recomputed here from each prefix's byte count), so the strip starts at 1 step and ends at the stream."""
    stream = encode_image(image_files.from_uint8(_photo(16, 16, 3, seed=4)), stop_step=24, num_steps=24)
    header = chain.read_header(stream)
    sizes = [len(header.prefix(k).to_bytes()) for k in range(1, 25)]
    want = set()
    for target in np.linspace(sizes[0], sizes[-1], 8):
        want.add(max(k for k in range(1, 25) if sizes[k - 1] <= target + 1e-9))
    got = evaluate.progressive_prefixes(stream)
    assert got == sorted(want) and got[0] == 1 and got[-1] == 24


def test_ideal_evaluation_under_the_rdp_schedule(tmp_path, capsys):
    """--ideal --schedule rdp: the chain follows the perfect-realism path (one log-SNR per component), the records
    say so, and on draws of the model itself the closed forms given x hold and DiffC-F's expected squared error at
    each rate point is the flow decoder's under the path's per-component SNRs (recomputed here from the rates)."""
    from gaussian import curves

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        _save(folder / f"im{i}.png", _photo(16, 24, 3, seed=40 + i))
    assert evaluate.main(["--images", str(folder), "--scale", "1/1", "--ideal", "--schedule", "rdp",
                          "--rates", "1,2", "--steps", "24", "--format", "json", "--plot", str(tmp_path / "rd.png"),
                          "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["schedule"] == "rdp" and (tmp_path / "rd.png").stat().st_size > 0
    assert {m["name"] for m in report["methods"]} >= {"diffc-flow-rdp-ideal", "diffc-mean-rdp-ideal"}
    oracle = models.StationaryImageOracle((16, 24, 3))
    for record in report["per_image"]:
        x = image_files.read_image(folder / record["image"])
        c = oracle.to_eigen((x.reshape(-1) - oracle.mean)[None, :])[0]
        for entry in record["rates"]:
            snr = np.exp(curves.rdp_log_snrs(oracle.eigvals, rate_bits_per_dim=[entry["log_snr"]])[0])
            want = components.sq_error_moments_given_x(c, snr, components.flow_gain(oracle.eigvals, snr))[0].sum()
            assert entry["decoders"]["flow"]["sq_err_expected"] == pytest.approx(want, rel=1e-9)
            assert abs(entry["kl_z"]) < 4 and abs(entry["decoders"]["flow"]["sq_err_z"]) < 4
    with pytest.raises(SystemExit):
        evaluate.main(["--images", str(folder), "--model", "unet", "--schedule", "rdp"])
    assert "--schedule" in capsys.readouterr().err


def test_rdp_image_stream_with_real_bits(tmp_path, capsys):
    """--schedule rdp with real bits: the stream's header records the rdp grid (the decoder rebuilds it), which ends
    at the isotropic grid's population rate; every decoder (dp:C too) reads it; the evaluation's records are named
    -rdp, store the path's rate as log_snr, and the closed forms given x hold at the checks (|z| < 4)."""
    from empirical.codec import decode_latent, schedules
    from empirical.codec.image import image_grid, rdp_rate_stop

    x = image_files.from_uint8(_photo(24, 32, 3, seed=50))
    result, model, _ = encode_image_detailed(x, bpp=3, num_steps=24, schedule="rdp", seed=3)
    latent = decode_latent(result.data, model)
    assert isinstance(latent.grid, schedules.RdpGrid) and latent.num_steps == result.num_steps_coded
    assert latent.grid.spacing == "cbrt"
    stop = rdp_rate_stop(model, image_grid(model, x.shape, 3, 24).log_snr_stop)
    assert latent.grid.rate_stop_bits_per_dim == pytest.approx(stop, rel=1e-6)  # float32 in the header
    assert 8 * len(result.data) <= 3 * 24 * 32
    for method in ("flow", "ancestral", "mean", "dp:1.5"):
        y = decode_image(result.data, method=method)
        assert y.shape == x.shape and np.all(np.isfinite(y))
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        _save(folder / f"im{i}.png", _photo(24, 32, 3, seed=60 + i))
    assert evaluate.main(["--images", str(folder), "--scale", "1/1", "--schedule", "rdp", "--rates", "2,3",
                          "--steps", "24", "--format", "json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {m["name"] for m in report["methods"]} >= {"diffc-flow-rdp", "diffc-ancestral-rdp", "diffc-mean-rdp"}
    for record in report["per_image"]:
        for entry in record["rates"]:
            if entry["reachable"]:
                assert 0 < entry["log_snr"] <= stop * 2  # a rate in bits per dimension, not a log-SNR vector
        for check in record["checks"]:
            assert abs(check["kl_z"]) < 4 and all(abs(z) < 4 for z in check["sq_err_z"].values())


def test_rdp_image_stream_on_the_command_line(tmp_path, capsys):
    """compress --schedule rdp for a PNG, decompress by dp:C; --rate-stop and a learned model are refused naming
    the flag (one line, status 2)."""
    png = tmp_path / "p.png"
    _save(png, _photo(24, 32, 3, seed=70))
    out = tmp_path / "p.dfrc"
    assert compress.main([str(png), "--model", "oracle:stationary", "--bpp", "3", "--schedule", "rdp", "--steps", "16",
                          "--out", str(out)]) == 0
    assert "expected rate" in capsys.readouterr().out
    assert decompress.main([str(out), "--model", "oracle:stationary", "--method", "dp:1.5", "--original", str(png),
                            "--out", str(tmp_path / "hat.png")]) == 0
    assert "schedule rdp" in capsys.readouterr().out
    for extra, flag in ((["--rate-stop", "1"], "--rate-stop"), (["--model", "unet"], "--schedule")):
        args = [str(png), "--model", "oracle:stationary", "--bpp", "2", "--schedule", "rdp",
                "--out", str(tmp_path / "q.dfrc")]
        with pytest.raises(SystemExit) as exc:
            compress.main(args + extra)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1 and flag in err, err


def test_evaluation_of_the_learned_unet_claims_no_closed_forms(tmp_path, capsys):
    """The shipped U-Net carries the oracle's eigenvalues (its skip) but is no Gaussian oracle: real-bit evaluation
    reports no closed form given x for it (no expected error, no check points); so does --ideal, which stops each
    rate at the first step whose realised sum KL reaches it (the previous step's is below it) and decodes with the
    codec's receivers."""
    pytest.importorskip("torch")
    folder = tmp_path / "photos"
    folder.mkdir()
    _save(folder / "im0.png", _photo(16, 24, 3, seed=50))
    assert evaluate.main(["--images", str(folder), "--scale", "1/1", "--model", "unet", "--rates", "3",
                          "--steps", "48", "--format", "json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    entry = report["per_image"][0]["rates"][0]
    assert entry["reachable"] and entry["decoders"]["flow"]["sq_err_expected"] is None and entry["kl_z"] is None
    assert report["closed_form_check"]["sum_kl"]["points"] == 0
    assert evaluate.main(["--images", str(folder), "--scale", "1/1", "--model", "unet", "--ideal", "--rates", "0.5,1",
                          "--steps", "24", "--format", "json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = {m["name"]: m for m in report["methods"]}
    assert {"diffc-flow-ideal", "diffc-ancestral-ideal", "diffc-mean-ideal"} <= set(names)
    assert "receivers" in names["diffc-flow-ideal"]["description"]
    assert report["closed_form_check"]["sum_kl"]["points"] == 0 and report["per_image"][0]["checks"] == []
    # the stopping rule, recomputed from the same exact chain (same seed and grid)
    from empirical.codec import ideal_chain_steps
    from empirical.codec.image import image_grid, image_model_for

    x = image_files.read_image(folder / "im0.png")
    model = image_model_for("unet", x.shape)
    grid = image_grid(model, x.shape, 1.0, 24)
    rng = np.random.default_rng(np.random.SeedSequence([0x1DEA1, 0]))
    totals = np.cumsum([kl.sum() for _, _, _, kl in ideal_chain_steps(x, model, grid.log_snrs, rng)])
    for e in report["per_image"][0]["rates"]:
        k = e["steps"]
        assert e["kl_bits"] == pytest.approx(totals[k - 1], rel=1e-9)
        assert totals[k - 1] >= e["target_bpp"] * 16 * 24 and (k == 1 or totals[k - 2] < e["target_bpp"] * 16 * 24)


def test_an_image_over_the_largest_budget_gets_a_finer_grid(monkeypatch):
    """evaluate_image codes an image whose chain needs more than the largest chunk budget (BudgetError) on a grid
    of twice the points, records it, and gives up (the error) beyond FINER_GRID_LIMIT times --steps."""
    from empirical import codec

    real = codec.encode_image_detailed
    asked = []

    def fails_below(points):
        def encode(*args, num_steps, **kwargs):
            asked.append(num_steps)
            if num_steps < points:
                raise codec.BudgetError(0, 0.0, 30.0, 8, 22, True)
            return real(*args, num_steps=num_steps, **kwargs)
        return encode

    pixels = _photo(16, 24, 3, seed=80)
    monkeypatch.setattr(codec, "encode_image_detailed", fails_below(24))
    record, _, stream = evaluate.evaluate_image("im.png", pixels, [3.0], 12, seed=0)
    assert asked == [12, 24] and record["grid_points"] == 24
    assert chain.grid_from_bytes(chain.read_header(stream).schedule_hash).num_points == 24
    asked.clear()
    monkeypatch.setattr(codec, "encode_image_detailed", fails_below(1000))
    with pytest.raises(codec.BudgetError):
        evaluate.evaluate_image("im.png", pixels, [3.0], 12, seed=0)
    assert asked == [12, 24, 48]


def test_progress_is_a_line_per_task_when_stderr_is_not_a_terminal(capsys):
    """Under a log file (stderr not a terminal, as under pytest's capture) the sweep prints one line per finished
    image instead of a silent bar; --no-progress prints nothing."""
    import argparse

    args = argparse.Namespace(progress=True, scheduler=None, workers=1)
    assert evaluate._map(abs, [-1, -2, 3], args, "images", "image") == [1, 2, 3]
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"images: {k}/3 images done" for k in (1, 2, 3)]
    args.progress = False
    evaluate._map(abs, [-1], args, "images", "image")
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(not __import__("pathlib").Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_exit_when_the_evaluation_is_terminated(tmp_path):
    """SIGTERM to a running ``python -m empirical.images --workers 2`` ends it with status 143 and leaves no worker
    running (queued images are cancelled and busy workers ended, not finished first)."""
    import sys

    from PIL import Image

    from .test_sweep import terminate_and_find_workers

    rng = np.random.default_rng(0)
    for i in range(6):
        pixels = np.clip(128 + np.cumsum(rng.integers(-9, 10, (64, 64, 3)), axis=1), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"im{i}.png")
    status, left = terminate_and_find_workers(
        [sys.executable, "-m", "empirical.images", "--images", str(tmp_path), "--scale", "1/1", "--model", "unet",
         "--ideal", "--rates", "4", "--workers", "2", "--no-progress"], settle_s=2.0)  # workers inside their first image
    assert status == 143 and not left
