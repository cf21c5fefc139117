"""The DDCM baseline: its stream (length, header, index packing, bad streams), its choice rule, and its rows in
``python -m empirical.images``.

Every image is made by the test (seeded draws of the stationary image model).
"""
from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from empirical import image_files, models
from empirical.codec import ddcm
from empirical.images import evaluate
from empirical.rcc import sampler

SHAPE = (8, 8, 3)


def _image(shape=SHAPE, seed=5) -> np.ndarray:
    """A seeded draw of the stationary model on ``shape``, clipped to [-1, 1]."""
    oracle = models.StationaryImageOracle(shape)
    rng = np.random.default_rng(seed)
    x = oracle.mean + oracle.from_eigen(np.sqrt(oracle.eigvals) * rng.standard_normal(oracle.dim))
    return np.clip(x, -1.0, 1.0).reshape(shape)


def _leb128_len(value: int) -> int:
    return max(1, -(-value.bit_length() // 7))


@pytest.mark.parametrize("steps, bits, seed", [(5, 3, 0), (16, 8, 200), (130, 1, 7), (3, 16, 2**40)])
def test_stream_length_is_header_plus_packed_indices(steps, bits, seed):
    """``len(data) = header + ceil(steps bits / 8)``; the header as the format says: magic and version (4 bytes), bits,
    ndim, the shape's, steps' and seed's LEB128 varints, two float32 log-SNRs, a CRC-32."""
    result = ddcm.encode_detailed(_image(), num_steps=steps, codebook_bits=bits, seed=seed)
    header = 4 + 1 + 1 + sum(_leb128_len(s) for s in SHAPE) + _leb128_len(steps) + _leb128_len(seed) + 8 + 4
    assert len(result.data) == header + math.ceil(steps * bits / 8)
    assert result.header_bits == 8 * header and result.coded_bits_total == 8 * len(result.data)
    read = ddcm.read_header(result.data)
    assert (read.shape, read.codebook_bits, read.num_steps, read.seed, read.grid) == (SHAPE, bits, steps, seed, result.grid)


def test_indices_are_packed_low_bits_first_and_decode_to_the_senders_reconstruction():
    """The payload, read bit by bit (bit i of byte j is stream bit 8 j + i; index n is bits n b .. n b + b - 1),
    holds the sender's indices exactly (the designed-in exact parse); the decoder's reconstruction equals the
    sender's to float rounding."""
    steps, bits = 12, 5
    result = ddcm.encode_detailed(_image(), num_steps=steps, codebook_bits=bits, seed=3)
    payload = result.data[result.header_bits // 8:]
    stream_bits = [(byte >> i) & 1 for byte in payload for i in range(8)]
    indices = [sum(stream_bits[n * bits + i] << i for i in range(bits)) for n in range(steps)]
    assert indices == result.indices.tolist()
    assert not any(stream_bits[steps * bits:])
    assert len(set(indices)) > 1
    y = ddcm.decode(result.data)
    assert y.shape == SHAPE
    np.testing.assert_allclose(y, result.x_hat, rtol=0, atol=1e-12)


def test_first_index_maximises_the_inner_product_in_float64():
    """Step 0: the chosen vector maximises ``<std_p c_k, T(alpha x - alpha mean)>`` over all K codebook vectors,
    the prior ``N(alpha mean, alpha^2 lam + sigma^2)`` written out here and the vectors made in float64 from their
    words (the sender scores in float32: a near-tie may go either way, so the chosen score is within 1e-5 of the best)."""
    oracle = models.StationaryImageOracle(SHAPE)
    x = _image()
    bits, seed = 8, 11
    result = ddcm.encode_detailed(x, oracle, num_steps=4, codebook_bits=bits, seed=seed)
    log_snr = result.grid.log_snrs[0]
    alpha2 = 1.0 / (1.0 + math.exp(-log_snr))
    std = np.sqrt(alpha2 * oracle.eigvals + 1.0 - alpha2)
    gap = math.sqrt(alpha2) * oracle.to_eigen((x.reshape(-1) - oracle.mean)[None, :])[0]
    h = sampler.words_per_candidate(oracle.dim)
    codebook = sampler.normals_from_words(
        sampler.words(seed, 0, 0, sampler.DOMAIN_CODEBOOK, 0, (1 << bits) * h), oracle.dim)
    scores = codebook @ (std * gap)
    assert scores[result.indices[0]] >= scores.max() - 1e-5 * np.abs(scores).max()


def test_linear_scores_are_the_float64_inner_products_to_float32_rounding():
    """``sampler.linear_scores`` (float32) against the defining float64 Box-Muller vectors, odd dims included."""
    rng = np.random.default_rng(0)
    for dims in (7, 64):
        linear = rng.standard_normal(dims)
        h = sampler.words_per_candidate(dims)
        exact = sampler.normals_from_words(sampler.words(9, 2, 0, sampler.DOMAIN_CODEBOOK, 5 * h, 40 * h), dims) @ linear
        got = sampler.linear_scores(linear, 9, 2, 0, sampler.DOMAIN_CODEBOOK, 5, 40)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, exact, rtol=0, atol=2e-5 * np.sqrt(dims) * np.abs(linear).max())


def test_ddcm_beats_random_indices_whose_error_has_a_closed_form():
    """Uniformly random indices make the chain an exact ancestral sample of the model, independent of x, so the
    output ``x_hat = E[x | z_S]`` is ``N(mean, lam - lam / (1 + snr lam))`` per basis coordinate and its squared
    error given x has mean ``sum c^2 + v`` and variance ``sum 4 c^2 v + 2 v^2`` (``c`` the centred image's
    coefficients, ``v = snr lam^2 / (1 + snr lam)``): 300 random chains agree within 4 standard errors. DDCM's
    error, averaged over 30 seeds, is below a quarter of that mean (measured: about a twelfth)."""
    oracle = models.StationaryImageOracle(SHAPE)
    x = _image()
    steps, bits = 16, 4
    grid = ddcm.ddcm_grid(oracle, SHAPE, steps, bits)
    snr = math.exp(grid.log_snrs[-1])
    c = oracle.to_eigen((x.reshape(-1) - oracle.mean)[None, :])[0]
    v = snr * oracle.eigvals**2 / (1.0 + snr * oracle.eigvals)
    mean_sq, var_sq = float(np.sum(c**2 + v)), float(np.sum(4 * c**2 * v + 2 * v**2))
    rng = np.random.default_rng(1)
    n = 300
    random_sq = [np.sum((ddcm.replay(oracle, grid, seed, bits, rng.integers(0, 1 << bits, steps)) - x.reshape(-1)) ** 2)
                 for seed in range(n)]
    assert abs(np.mean(random_sq) - mean_sq) < 4 * math.sqrt(var_sq / n)
    chosen_sq = [np.sum((ddcm.encode_detailed(x, oracle, steps, bits, seed).x_hat - x) ** 2) for seed in range(30)]
    assert np.mean(chosen_sq) < 0.25 * mean_sq


def _bad_streams(data: bytes, header_bytes: int) -> dict:
    flip = lambda raw, i: raw[:i] + bytes([raw[i] ^ 0x10]) + raw[i + 1:]  # noqa: E731
    return {
        "truncated by one byte": (data[:-1], "truncated or padded"),
        "one byte appended": (data + b"\0", "truncated or padded"),
        "cut inside the header": (data[:10], "header"),
        "empty": (b"", "not a DDCM stream"),
        "wrong magic": (b"X" + data[1:], "not a DDCM stream"),
        "other version": (data[:3] + b"\x09" + data[4:], "version"),
        "bits out of range": (data[:4] + b"\x00" + data[5:], "corrupted"),
        "payload bit flipped": (flip(data, len(data) - 1), "checksum"),
        "grid bit flipped": (flip(data, header_bytes - 6), "checksum"),
        "not bytes": ("abc", "expected bytes"),
    }


def test_bad_streams_are_one_line_value_errors():
    """Truncated, padded, corrupted streams and another model: a one-line ValueError starting ``data:``."""
    result = ddcm.encode_detailed(_image(), num_steps=9, codebook_bits=5, seed=1)
    cases = _bad_streams(result.data, result.header_bits // 8)
    cases["another model"] = (result.data, "another model")
    for label, (data, words) in cases.items():
        model = models.StationaryImageOracle(SHAPE, transitions="plugin") if label == "another model" else "oracle:stationary"
        with pytest.raises(ValueError, match=words) as err:
            ddcm.decode(data, model)
        assert str(err.value).startswith("data: ") and "\n" not in str(err.value), label


@pytest.mark.parametrize("kwargs, words", [
    ({"num_steps": 1}, "^num_steps:"), ({"codebook_bits": 0}, "^codebook_bits:"), ({"codebook_bits": 17}, "^codebook_bits:"),
    ({"seed": -1}, "^seed:"), ({"num_steps": 2.5}, "^num_steps:"),
])
def test_bad_arguments_name_themselves(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ddcm.encode(_image(), **{"num_steps": 4, "codebook_bits": 2, **kwargs})


# ---------------------------------------------------------------- python -m empirical.images --ddcm


def _folder(tmp_path, count=2, shape=(16, 24, 3)):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(count):
        pixels = image_files.to_uint8(_image(shape, seed=30 + i))[0]
        Image.fromarray(pixels).save(folder / f"im{i}.png")
    return folder


def test_evaluation_ddcm_record_has_real_bits(tmp_path, capsys):
    """``--no-diffc --ddcm 4:6,2:20``: a CompressAI-format ``ddcm`` record beside JPEG and WebP, no DiffC record
    (and a plot without one); each image's bpp is its stream's bytes (header + ceil(steps bits / 8)) over its pixels, image i coded with
    seed SEED + i, and the record's PSNR the mean of the images'."""
    pytest.importorskip("PIL")
    folder = _folder(tmp_path)
    assert evaluate.main(["--images", str(folder), "--scale", "1/1", "--no-diffc", "--ddcm", "4:6,2:20", "--seed", "3",
                          "--out", str(tmp_path / "res"), "--plot", str(tmp_path / "rd.png"), "--no-progress"]) == 0
    capsys.readouterr()
    assert (tmp_path / "rd.png").stat().st_size > 0
    report = json.loads((tmp_path / "res" / "report.json").read_text())
    assert [m["name"] for m in report["methods"]] == ["jpeg", "webp", "ddcm"]
    record = json.loads((tmp_path / "res" / "ddcm.json").read_text())
    assert set(record) == {"name", "description", "results"} and record["description"].startswith("DDCM (oracle:stationary)")
    res = record["results"]
    assert res["codebook-bits"] == [4, 2] and res["steps"] == [6, 20]
    assert len({len(v) for v in res.values()}) == 1
    for j, (bits, steps) in enumerate([(4, 6), (2, 20)]):
        rows = [r["ddcm"][j] for r in report["per_image"]]
        for i, row in enumerate(rows):
            header = 4 + 1 + 1 + 3 + 1 + 1 + 8 + 4  # 16, 24, 3, steps, seed 3 + i: one varint byte each
            assert row["seed"] == 3 + i and row["header_bytes"] == header
            assert row["bpp"] == 8 * (header + math.ceil(steps * bits / 8)) / (16 * 24)
        assert res["bpp"][j] == pytest.approx(np.mean([r["bpp"] for r in rows]), rel=1e-12)
        assert res["psnr-rgb"][j] == pytest.approx(np.mean([r["psnr_db"] for r in rows]), rel=1e-12)
        assert all(math.isfinite(res[k][j]) for k in ("ms-ssim-rgb", "spectrum-error-db", "sliced-w2"))
    assert not (tmp_path / "res" / "streams").exists()
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = evaluate.draw_report(report, plt)
    line = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}["DDCM (posterior mean)"]
    assert [float(v) for v in line.get_data()[0]] == res["bpp"] and [float(v) for v in line.get_data()[1]] == res["psnr-rgb"]
    plt.close(fig)


@pytest.mark.parametrize("value", ["8", "0:4", "17:4", "8:1", "8:4,8:4", "a:b", "8:4,", "8:70000"])
def test_evaluation_bad_ddcm_flag_exits_2_naming_it(tmp_path, capsys, value):
    folder = _folder(tmp_path, count=1)
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--images", str(folder), "--no-diffc", "--ddcm", value, "--scale", "1/1"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "error: --ddcm:" in err and err.count("\n") == 1


def test_examples_need_diffc(tmp_path, capsys):
    folder = _folder(tmp_path, count=1)
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--images", str(folder), "--no-diffc", "--scale", "1/1", "--examples", "im0.png",
                       "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "--examples" in capsys.readouterr().err


def test_header_struct_round_trip_of_the_grid():
    """The header's two float32 log-SNRs are the grid's endpoints (little endian, after the seed)."""
    result = ddcm.encode_detailed(_image(), num_steps=5, codebook_bits=2, seed=0)
    end = result.header_bits // 8 - 4
    start, stop = struct.unpack("<ff", result.data[end - 8:end])
    assert (start, stop) == (result.grid.log_snr_start, result.grid.log_snr_stop)
