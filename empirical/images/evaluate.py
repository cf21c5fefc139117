"""Evaluate DiffC on a folder of photographs, beside JPEG, WebP, DDCM and the stationary model's closed forms.

    python -m empirical.images --images DIR --scale 1/8 --rates 0.25,0.5,1,2 --workers 2 --out results/
    python -m empirical.images --images DIR --scale 1/8 --format json > kodak.json
    python -m empirical.images --images DIR --scale 1/1 --ideal --rates 0.1,0.25,0.5,1 --out full/
    python -m empirical.images --images DIR --scale 1/8 --no-diffc --ddcm 8:16,8:96,8:384 --format json

Each PNG/JPEG of ``--images`` (sorted by name) is area-downsampled by the
integer factor of ``--scale 1/N`` (mean over N x N blocks, rounded to 8 bits:
the original the codecs see) and coded with ``--model`` (default ``oracle:stationary``; ``tiled:oracle`` and
``tiled:CHECKPOINT.pt`` put an 8x8 patch model on every block, a block-transform baseline) as
**one progressive stream** up to the highest ``--rates`` value: each rate ``r``
is the longest prefix of that stream whose bytes, header included, are at most
``r`` bits per pixel (``bpp``: real bits of a file; ``ideal bpp``: the chain's
realised sum KL over the same steps). Each prefix is decoded by DiffC-F
(``flow``), DiffC-A (``ancestral``) and the posterior mean (``mean``).

Per image and rate: real and ideal bpp, PSNR and MS-SSIM of the 8-bit
reconstruction (``empirical.images.metrics``), and the check against the
closed forms given the image ``x`` (the stationary oracle's decoders are
linear): the expected squared error of each decoder and the expected sum KL
at the prefix's log-SNR, with z-scores (squared error: its exact variance
given x; sum KL: the per-coefficient residuals' own spread). The summary's
check uses steps fixed in advance (every 8th step of each stream; with
``--ideal`` the rate points, which are fixed by x): a prefix chosen by its
realised bits selects chains whose KL ran low, which biases z. Per decoder and
rate over the set: the realism proxies (radial power-spectrum error in dB and
sliced W2 of 8x8 patches) of the reconstructions of the even-numbered images
against the originals of the odd-numbered ones and vice versa; their
reference value is the same distance between the two halves of originals.
JPEG (Pillow, optimised Huffman tables, 4:2:0) and WebP (Pillow, method 6)
are measured at a quality sweep on the same originals, with real file sizes.

``--ddcm BITS:STEPS,...`` also codes every image with the DDCM baseline
(``empirical.codec.ddcm``: the model's ancestral chain whose noise at each of
STEPS steps is the best of ``2^BITS`` seeded Gaussian vectors, BITS bits a
step) on the same denoiser and seed, one stream per pair; its rows report the
real bits of the stream (header included) and the same metrics as JPEG and
WebP. ``--no-diffc`` leaves out the DiffC streams (baselines only).

``--ideal`` codes no bits (for full resolution, where the channel simulator
would take hours): the chain is sampled exactly from ``q``, each rate stops at
the first step whose realised sum KL reaches it, and the decoders are the
oracle's exact maps (for a learned model, the codec's receivers: RK4 flow and
ancestral sampling); the records are named ``diffc-*-ideal`` and say so.

Output: a table (``--format table``) or JSON (``--format json``): one
record per method in CompressAI's results format ``{"name", "description",
"results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...], ...}}``
(means over the images at each rate or quality), the reference values, the
closed-form check and every per-image number. ``--out DIR`` also writes each
record to ``DIR/<name>.json`` and the whole report to ``DIR/report.json``;
``--plot FILE.png`` draws PSNR, MS-SSIM and both realism proxies against bpp.
"""
from __future__ import annotations

import concurrent.futures
import io
import math
import multiprocessing
import os
import pathlib
import sys
import time

import numpy as np

from empirical import _cli

__all__ = ["build_parser", "run", "main", "downsample", "load_folder", "evaluate_image", "evaluate_image_ideal",
           "jpeg_webp", "ddcm_stream", "summarise", "plot_report", "draw_report"]

DECODERS = ("flow", "ancestral", "mean")
FINER_GRID_LIMIT = 4
"""An image whose chain needs more than the largest chunk budget in one step is coded again on a grid of twice the
points, up to this many times ``--steps``."""
CHECK_EVERY = 8
"""The closed forms given x are checked at every 8th step of each stream (steps fixed in advance: a prefix chosen
by its realised bits or KL would select chains whose KL ran low or high, and bias the check)."""
JPEG_QUALITIES = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_QUALITIES = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
Z_95 = 1.959963984540054
MAX_IMAGES = 1000
SCHEDULER_TIMEOUT_S = 20
"""How long ``--scheduler`` waits to connect before it gives up."""

FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "images", "scale", "rates", "workers", "steps", "seed", "format", "out", "plot", "limit", "examples", "ideal",
    "model", "scheduler", "ddcm", "schedule")}
MODEL_NAMES = {"oracle:stationary": "stationary Gaussian oracle", "tiled:oracle": "Gaussian 8x8 patch oracle, tiled",
               "unet": "learned U-Net (shipped)", "unet-rdp": "learned U-Net, perfect-realism noise (shipped)"}


def build_parser():
    """The command-line parser."""
    from empirical.rcc.step import DEFAULT_CHUNK_COST_BITS

    p = _cli.parser("python -m empirical.images", __doc__)
    p.add_argument("--images", required=True, help="folder of PNG/JPEG photographs (e.g. Kodak)")
    p.add_argument("--model", default="oracle:stationary",
                   help="the image model: oracle:stationary (default), or an 8x8 patch model on every block, "
                        "tiled:oracle (exact; the closed forms given x are checked) or tiled:CHECKPOINT.pt (a "
                        "--data patches checkpoint; no closed forms); tiled models need sides divisible by 8")
    p.add_argument("--scale", default="1/8", help="area-downsampling factor 1/N, N a positive integer (default: %(default)s)")
    p.add_argument("--rates", default="0.25,0.5,1,2", help="target bits per pixel, comma-separated (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, help="only the first N images (default: all)")
    p.add_argument("--steps", type=int, default=96, help="grid points of the chain (default: %(default)s, as compress "
                   "uses for images)")
    p.add_argument("--seed", type=int, default=0,
                   help="image i (in name order) is coded with seed SEED + i: images never share candidates or "
                        "noise, so their errors are independent (default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="images coded in parallel processes (default: %(default)s)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the images on this Dask distributed scheduler (e.g. tcp://host:8786) instead of local "
                        "processes; same per-image work and seeds, so the same numbers (needs the [distributed] extra)")
    p.add_argument("--ideal", action="store_true",
                   help="no bitstream: sample the chain exactly from q (an ideal channel simulator), stop each rate at "
                        "the first step whose sum KL reaches it (expected given x for an exact oracle, realised for a "
                        "learned model), decode with the oracle's exact maps (a learned model: the codec's "
                        "receivers); affordable at full resolution (--scale 1/1); every rate is labelled ideal")
    p.add_argument("--chunk-cost-bits", type=_cli.chunk_cost_bits, default=DEFAULT_CHUNK_COST_BITS,
                   help="the encoder's compute cap: a chunk of two or more dimensions scans at most 2^this candidate "
                        "coordinates, or 'none' (as python -m empirical.compress; default: %(default)s)")
    p.add_argument("--schedule", choices=("isotropic", "rdp"), default="isotropic",
                   help="the chain's noise schedule: one log-SNR for every component (isotropic, the default) or "
                        "the perfect-realism allocation path, one per component of an exact Gaussian oracle (rdp: "
                        "python -m empirical.compress --schedule rdp), ending at the isotropic grid's population "
                        "rate; with real bits and with --ideal")
    p.add_argument("--ddcm", default="none", metavar="BITS:STEPS,...",
                   help="DDCM baseline streams to code per image: comma-separated BITS:STEPS pairs (log2 of the "
                        "codebook size K, 1..16, and the chain's steps, 2..65536; BITS x STEPS bits plus a header "
                        "of about 24 bytes), e.g. 8:16,8:96,8:384; or none (default: %(default)s)")
    p.add_argument("--no-diffc", dest="diffc", action="store_false",
                   help="code no DiffC stream (no --rates rows, closed-form checks or streams): JPEG, WebP and the "
                        "--ddcm rows only")
    p.add_argument("--format", choices=("table", "json"), default="table", help="stdout format (default: %(default)s)")
    p.add_argument("--out", default=None, help="also write the records and report.json into this folder")
    p.add_argument("--plot", default=None, help="also draw the curves into this PNG (needs matplotlib)")
    p.add_argument("--examples", default=None,
                   help="comma-separated image file names: for each, DIR/<name>_decoders.png (every decoder at every "
                        "rate beside JPEG and WebP at the same or fewer bits) and DIR/<name>_progressive.png (DiffC-F "
                        "of 8 prefixes of the stream spread evenly in bits); needs --out DIR and matplotlib")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar on stderr")
    return p


def _scale_factor(text: str) -> int:
    num, sep, den = text.partition("/")
    if not sep or num.strip() != "1" or not den.strip().isdigit() or int(den) < 1:
        raise ValueError(f"scale: expected 1/N with N a positive integer, got {text!r}")
    return int(den)


def _rates(text: str) -> list:
    items = [t.strip() for t in text.split(",")]
    if not items or any(not t for t in items):
        raise ValueError(f"rates: expected comma-separated numbers without empty items, got {text!r}")
    try:
        rates = [float(t) for t in items]
    except ValueError:
        raise ValueError(f"rates: expected comma-separated numbers, got {text!r}") from None
    if any(not (math.isfinite(r) and 0 < r <= 24) for r in rates):
        raise ValueError(f"rates: each must be in (0, 24] bits per pixel, got {text!r}")
    if len(set(rates)) != len(rates):
        raise ValueError(f"rates: repeated value in {text!r}")
    return sorted(rates)


def _ddcm_pairs(text: str) -> list:
    """``[(codebook bits, steps)]`` of ``--ddcm`` (``none``: empty), or ValueError naming the flag."""
    from empirical.codec import ddcm

    if text.strip().lower() == "none":
        return []
    pairs = []
    for item in text.split(","):
        bits, sep, steps = item.strip().partition(":")
        if not sep or not bits.strip().isdigit() or not steps.strip().isdigit():
            raise ValueError(f"ddcm: expected comma-separated BITS:STEPS pairs of integers or none, got {text!r}")
        bits, steps = int(bits), int(steps)
        lo, hi = ddcm.CODEBOOK_BITS_RANGE
        if not lo <= bits <= hi or not 2 <= steps <= ddcm.MAX_STEPS:
            raise ValueError(f"ddcm: BITS must be in {lo}..{hi} and STEPS in 2..{ddcm.MAX_STEPS}, got {item.strip()!r}")
        if (bits, steps) in pairs:
            raise ValueError(f"ddcm: repeated pair {item.strip()!r}")
        pairs.append((bits, steps))
    return pairs


def downsample(pixels, factor: int) -> np.ndarray:
    """uint8 ``[H // f, W // f, C]``: the mean over ``f x f`` blocks (the image cropped to multiples), rounded."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if factor == 1:
        return pixels.astype(np.uint8)
    h, w = (pixels.shape[0] // factor) * factor, (pixels.shape[1] // factor) * factor
    blocks = pixels[:h, :w].astype(np.float64).reshape(h // factor, factor, w // factor, factor, -1)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def load_folder(folder, factor: int, limit=None) -> list:
    """``[(name, uint8 [H, W, C])]`` of the PNG/JPEG files in ``folder``, sorted, downsampled by ``factor``."""
    from empirical import image_files

    root = pathlib.Path(folder)
    if not root.is_dir():
        raise ValueError(f"images: {folder} is not a folder")
    paths = sorted(p for p in root.iterdir() if p.is_file() and image_files.is_image_path(p))
    if not paths:
        raise ValueError(f"images: no .png, .jpg or .jpeg file in {folder}")
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit: must be >= 1, got {limit}")
        paths = paths[:limit]
    if len(paths) > MAX_IMAGES:
        raise ValueError(f"images: {len(paths)} files, over the {MAX_IMAGES} one run takes; use --limit")
    out = []
    for path in paths:
        full = image_files.read_image(path, "images")
        pixels = np.rint((full + 1.0) * 127.5).astype(np.uint8)
        small = downsample(pixels, factor)
        if min(small.shape[:2]) < image_files.MIN_SIDE:
            raise ValueError(f"scale: {path.name} becomes {small.shape[0]}x{small.shape[1]} pixels at 1/{factor}; "
                             f"images need at least {image_files.MIN_SIDE}x{image_files.MIN_SIDE}")
        out.append((path.name, small))
    return out


def _prefix_steps(result, max_bits) -> int:
    """The most steps of the stream whose complete prefix has at most ``max_bits`` bits (0 if none)."""
    from empirical.codec import read_header

    header = read_header(result.data)
    best = 0
    for k in range(1, header.num_steps + 1):
        if 8 * len(header.prefix(k).to_bytes()) <= max_bits:
            best = k
    return best


def _has_closed_forms(model) -> bool:
    """Whether ``model`` is an exact Gaussian oracle (the stationary or the tiled one), whose decoders have closed
    forms given x; a learned model may carry the oracle's ``eigvals`` (its skip) but has none."""
    from empirical.codec.schedules import has_closed_forms

    return has_closed_forms(model)


def _centred_coefficients(model, x):
    """``x - mean`` in an exact oracle's eigen-coordinates (what the closed forms given x take); ``None`` for a model
    without closed forms."""
    return model.to_eigen((x.reshape(-1) - model.mean)[None, :])[0] if _has_closed_forms(model) else None


def _closed_forms(model, c, log_snr, kl_per_coefficient):
    """Expected squared errors (and variances) of the decoders and the sum-KL z-score, given the image's centred
    coefficients ``c`` (:func:`_centred_coefficients`); for a model without closed forms (``c`` is ``None``)
    ``({decoder: None}, None, None)``."""
    from gaussian import components

    if c is None:
        return dict.fromkeys(DECODERS), None, None

    snr = np.exp(np.asarray(log_snr, dtype=np.float64))  # one log-SNR, or one per component (rdp schedule)
    lam = model.eigvals
    rho = components.flow_gain(lam, snr)
    post = components.mse_mmse(lam, snr)
    out = {}
    for name, gain, extra in (("mean", rho**2, 0.0), ("flow", rho, 0.0), ("ancestral", rho**2, post)):
        mean, var = components.sq_error_moments_given_x(c, snr, gain, extra)
        out[name] = (float(mean.sum()), float(var.sum()))
    expected_kl = components.chain_kl_nats_given_x(lam, snr, c) / math.log(2.0)
    resid = kl_per_coefficient - expected_kl
    kl_z = float(resid.sum() / math.sqrt(max(float(np.sum(resid**2)), 1e-300)))
    return out, float(expected_kl.sum()), kl_z


def _decoded(x, y, form):
    """``(numbers, uint8 image)`` of one reconstruction ``y`` of ``x``: PSNR and MS-SSIM of its 8-bit image, its
    squared error against ``form`` = (expectation, variance) given x, with z-score and predicted PSNR."""
    from empirical import image_files

    from . import metrics

    pixels = image_files.to_uint8(y)[0]
    y8 = image_files.from_uint8(pixels)
    sq = float(np.sum((y - x) ** 2))
    out = {"psnr_db": metrics.psnr_db(x, y8), "ms_ssim": metrics.ms_ssim(x, y8), "sq_err": sq,
           "sq_err_expected": None, "sq_err_z": None, "psnr_db_expected": None}
    if form is not None:
        expected, var = form
        out.update(sq_err_expected=expected, sq_err_z=(sq - expected) / math.sqrt(var),
                   psnr_db_expected=float(10.0 * np.log10(4.0 * x.size / expected)))
    return out, pixels


def _log_snr_entry(latent):
    """What a record stores as a prefix's ``log_snr``: the grid's log-SNR (isotropic), or the ``rdp`` path's rate in
    bits per dimension at the prefix (one number instead of one log-SNR per component)."""
    from empirical.codec.schedules import RdpGrid

    if isinstance(latent.grid, RdpGrid):
        return float(latent.grid.rates_bits_per_dim[latent.num_steps - 1])
    return latent.log_snr


def evaluate_image(name, pixels, rates, steps, seed, model_spec="oracle:stationary", schedule="isotropic",
                   chunk_cost_bits="default"):
    """Everything measured on one image: ``(record, {(decoder, rate): uint8 reconstruction}, stream bytes)``.

    ``schedule="rdp"``: the stream follows the perfect-realism allocation path (``encode_image_detailed``), and the
    entries' ``log_snr`` is the path's rate in bits per dimension. An image one of whose coefficients needs more
    than the largest automatic chunk budget in one step (``codec.BudgetError``) is coded on a grid of twice the
    points, up to :data:`FINER_GRID_LIMIT` times ``steps``; the record's ``grid_points`` says which, and its
    ``encode_s`` how long the encode of the whole stream took (one process). ``chunk_cost_bits`` is the encoder's
    compute cap (``empirical.rcc.encode_step``)."""
    from empirical import image_files
    from empirical.codec import BudgetError, decode_latent, encode_image_detailed, read_header, reconstruct

    x = image_files.from_uint8(pixels)
    pixel_count = x.shape[0] * x.shape[1]
    grid_points = steps
    start = time.perf_counter()
    while True:
        try:
            result, model, _ = encode_image_detailed(x, model_spec, bpp=max(rates), num_steps=grid_points, seed=seed,
                                                     schedule=schedule, chunk_cost_bits=chunk_cost_bits)
            break
        except BudgetError:
            if grid_points >= FINER_GRID_LIMIT * steps:
                raise
            grid_points *= 2  # one coefficient needs more than the largest budget in one step: a finer grid
    encode_s = time.perf_counter() - start
    record = {"image": name, "shape": list(x.shape), "grid_points": grid_points, "steps_in_stream": result.num_steps_coded,
              "stream_bpp": result.coded_bits_total / pixel_count, "budget_bits": result.budget_bits,
              "encode_s": encode_s, "rates": []}
    recons, centred = {}, _centred_coefficients(model, x)
    for rate in rates:
        k = _prefix_steps(result, rate * pixel_count)
        if k == 0:
            record["rates"].append({"target_bpp": rate, "steps": 0, "reachable": False})
            continue
        latent = decode_latent(result.data, model, k)
        prefix_bits = 8 * len(read_header(result.data).prefix(k).to_bytes())
        kl_coeff = result.kl_bits_per_coefficient[:k].sum(axis=0)
        forms, expected_kl, kl_z = _closed_forms(model, centred, latent.log_snr, kl_coeff)
        entry = {"target_bpp": rate, "steps": k, "reachable": True, "log_snr": _log_snr_entry(latent),
                 "bpp": prefix_bits / pixel_count, "ideal_bpp": float(kl_coeff.sum()) / pixel_count,
                 "kl_bits": float(kl_coeff.sum()), "kl_bits_expected": expected_kl, "kl_z": kl_z, "decoders": {}}
        for method in DECODERS:
            entry["decoders"][method], recons[(method, rate)] = _decoded(
                x, reconstruct(latent, model, method, rng=seed), forms[method])
        record["rates"].append(entry)
    record["checks"] = []
    check_steps = range(CHECK_EVERY, result.num_steps_coded + 1, CHECK_EVERY) if centred is not None else ()
    for k in check_steps:
        latent = decode_latent(result.data, model, k)
        kl_coeff = result.kl_bits_per_coefficient[:k].sum(axis=0)
        forms, expected_kl, kl_z = _closed_forms(model, centred, latent.log_snr, kl_coeff)
        check = {"steps": k, "log_snr": _log_snr_entry(latent), "kl_z": kl_z, "sq_err_z": {}}
        for method in DECODERS:
            sq = float(np.sum((reconstruct(latent, model, method, rng=seed) - x) ** 2))
            check["sq_err_z"][method] = (sq - forms[method][0]) / math.sqrt(forms[method][1])
        record["checks"].append(check)
    return record, recons, result.data


def evaluate_image_ideal(name, pixels, rates, steps, seed, model_spec="oracle:stationary", schedule="isotropic"):
    """:func:`evaluate_image` without bits: ``(record, reconstructions, b"")``; rates are ideal (realised sum KL).

    The chain is sampled exactly (``codec.ideal_chain_steps``); rate ``r`` stops at the first step whose
    *expected* sum KL given x reaches ``r`` bits per pixel (a step fixed by x alone, so that the closed-form
    check at it is unbiased); the reported bpp is the realised sum KL there. Decoders: the oracle's exact
    flow map (DiffC-F), its
    posterior mean, and a posterior sample (DiffC-A), all in closed form (the codec's numerical receivers
    integrate the same maps; at full resolution each RK4 solve would take ~20 s). A model without closed forms
    (the learned U-Net) stops each rate at the first step whose *realised* sum KL reaches it and is decoded by the
    codec's receivers (:func:`_numerical_decoders`), with no closed-form checks.

    ``schedule="rdp"``: the chain follows the perfect-realism allocation path (``codec.default_rdp_grid``, one
    log-SNR per component, from the isotropic grid's last population rate), decoded with the oracle's
    per-component maps; the entries' ``log_snr`` is then the path's rate in bits per dimension.
    """
    from gaussian import components
    from empirical import image_files
    from empirical.codec import ideal_chain_steps
    from empirical.codec.image import image_grid, image_model_for

    x = image_files.from_uint8(pixels)
    model = image_model_for(model_spec, x.shape)
    centred = _centred_coefficients(model, x)
    exact = centred is not None
    pixel_count = x.shape[0] * x.shape[1]
    grid = image_grid(model, x.shape, max(rates), steps)
    table, flow_map, denoise = grid.log_snrs, getattr(model, "flow_map", None), model.denoise
    if schedule == "rdp":
        from empirical.codec import default_rdp_grid

        from empirical.codec.image import RDP_SPACING, rdp_rate_stop

        rdp_grid = default_rdp_grid(model, steps, rate_stop_bits_per_dim=rdp_rate_stop(model, grid.log_snr_stop),
                                    spacing=RDP_SPACING)
        table, flow_map, denoise = (rdp_grid.log_snrs_for(model), getattr(model, "flow_map_per_component", None),
                                    model.denoise_per_component)
    rng = np.random.default_rng(np.random.SeedSequence([0x1DEA1, seed]))
    decoder_rng = np.random.default_rng(np.random.SeedSequence([0x1DEA2, seed]))
    record = {"image": name, "shape": list(x.shape), "ideal": True, "rates": []}
    recons, cumulative, pending = {}, np.zeros(model.dim), sorted(rates)
    for step, log_snr, z, kl in ideal_chain_steps(x, model, table, rng):
        cumulative += kl
        if exact:
            expected_bits = float(np.sum(components.chain_kl_nats_given_x(model.eigvals, np.exp(log_snr), centred)))
            expected_bits /= math.log(2.0)
        else:  # no closed form: stop on the realised sum KL (nothing is checked against a closed form)
            expected_bits = float(cumulative.sum())
        while pending and expected_bits >= pending[0] * pixel_count:
            rate = pending.pop(0)
            forms, expected_kl, kl_z = _closed_forms(model, centred, log_snr, cumulative)
            entry = {"target_bpp": rate, "steps": step + 1, "reachable": True,
                     "log_snr": rdp_grid.rates_bits_per_dim[step] if schedule == "rdp" else log_snr,
                     "bpp": float(cumulative.sum()) / pixel_count, "ideal_bpp": float(cumulative.sum()) / pixel_count,
                     "kl_bits": float(cumulative.sum()), "kl_bits_expected": expected_kl, "kl_z": kl_z,
                     "decoders": {}}
            if exact:
                post = components.mse_mmse(model.eigvals, np.exp(log_snr))
                mean = denoise(z[None, :], log_snr)[0]
                outputs = {"mean": mean, "flow": flow_map(z[None, :], log_snr)[0],
                           "ancestral": mean + model.from_eigen(np.sqrt(post) * decoder_rng.standard_normal(model.dim))}
            else:
                outputs = _numerical_decoders(z, log_snr, model, decoder_rng)
            for method in DECODERS:
                entry["decoders"][method], recons[(method, rate)] = _decoded(
                    x, outputs[method].reshape(x.shape), forms[method])
            record["rates"].append(entry)
    for rate in pending:
        record["rates"].append({"target_bpp": rate, "steps": 0, "reachable": False})
    record["rates"].sort(key=lambda e: e["target_bpp"])
    record["checks"] = [{"steps": e["steps"], "log_snr": e["log_snr"], "kl_z": e["kl_z"],
                         "sq_err_z": {m: e["decoders"][m]["sq_err_z"] for m in DECODERS}}
                        for e in record["rates"] if e["reachable"] and exact]
    return record, recons, b""


def _numerical_decoders(z, log_snr, model, rng) -> dict:
    """``{decoder: reconstruction}`` of a latent by the codec's receivers at their defaults
    (``codec.chain.reconstruct_at``: RK4 flow, ancestral sampling, posterior mean), for a model without closed
    forms."""
    from empirical.codec.chain import reconstruct_at

    return {method: reconstruct_at(z[None, :], log_snr, model, method, rng=rng)[0] for method in DECODERS}


def _pil_image(pixels):
    from PIL import Image

    return Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)


def jpeg_webp(pixels):
    """``{codec: [(quality, bpp, psnr, ms_ssim, uint8 decoded)]}`` of JPEG and WebP at their quality sweeps."""
    from PIL import Image

    from empirical import image_files

    from . import metrics

    x = image_files.from_uint8(pixels)
    im = _pil_image(pixels)
    out = {}
    for codec, qualities, options in (("jpeg", JPEG_QUALITIES, {"format": "JPEG", "optimize": True}),
                                      ("webp", WEBP_QUALITIES, {"format": "WEBP", "method": 6})):
        rows = []
        for q in qualities:
            buf = io.BytesIO()
            im.save(buf, quality=q, **options)
            with Image.open(io.BytesIO(buf.getvalue())) as decoded:
                y = np.asarray(decoded.convert(im.mode), dtype=np.uint8)
            y = y[:, :, None] if y.ndim == 2 else y
            y8 = image_files.from_uint8(y)
            bpp = 8 * len(buf.getvalue()) / (pixels.shape[0] * pixels.shape[1])
            rows.append((q, bpp, metrics.psnr_db(x, y8), metrics.ms_ssim(x, y8), y))
        out[codec] = rows
    return out


def ddcm_stream(pixels, model_spec: str, codebook_bits: int, steps: int, seed: int):
    """``(row, uint8 reconstruction)`` of one DDCM stream of an image with the model ``model_spec``: the bytes are
    encoded, then decoded from the bytes alone; ``row`` has its real bpp (header included), PSNR and MS-SSIM of the
    8-bit reconstruction and the encoder's and decoder's wall times."""
    import time

    from empirical import image_files
    from empirical.codec import ddcm

    from . import metrics

    x = image_files.from_uint8(pixels)
    start = time.perf_counter()
    data = ddcm.encode(x, model_spec, num_steps=steps, codebook_bits=codebook_bits, seed=seed)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    y = ddcm.decode(data, model_spec)
    decode_s = time.perf_counter() - start
    recon = image_files.to_uint8(y)[0]
    y8 = image_files.from_uint8(recon)
    header = ddcm.read_header(data)
    row = {"codebook_bits": codebook_bits, "steps": steps, "seed": seed, "bytes": len(data),
           "header_bytes": header.header_bytes, "bpp": 8 * len(data) / (x.shape[0] * x.shape[1]),
           "log_snr_stop": header.grid.log_snr_stop, "psnr_db": metrics.psnr_db(x, y8),
           "ms_ssim": metrics.ms_ssim(x, y8), "encode_s": encode_s, "decode_s": decode_s}
    return row, recon


def _work(task):
    name, pixels, rates, steps, seed, ideal, model_spec, diffc, schedule, chunk_cost_bits = task
    if not diffc:
        return {"image": name, "shape": list(pixels.shape)}, {}, jpeg_webp(pixels), b""
    if ideal:
        record, recons, stream = evaluate_image_ideal(name, pixels, rates, steps, seed, model_spec, schedule)
    else:
        record, recons, stream = evaluate_image(name, pixels, rates, steps, seed, model_spec, schedule,
                                                chunk_cost_bits)
    return record, recons, jpeg_webp(pixels), stream


def _ddcm_work(task):
    """:func:`ddcm_stream` of one ``(pixels, model spec, codebook bits, steps, seed)`` (picklable for the pool)."""
    return ddcm_stream(*task)


class _LineProgress:
    """``update`` / ``close`` like a tqdm bar, printing one line per finished task to stderr (for log files)."""

    def __init__(self, total: int, desc: str, unit: str):
        self.total, self.desc, self.unit, self.done = total, desc, unit, 0
        self.start = time.perf_counter()

    def update(self, count: int = 1) -> None:
        self.done += count
        minutes = (time.perf_counter() - self.start) / 60.0
        print(f"{self.desc}: {self.done}/{self.total} {self.unit}s done, {minutes:.1f} min", file=sys.stderr,
              flush=True)

    def close(self) -> None:
        pass


def _map(fn, tasks, args, desc: str, unit: str) -> list:
    """``[fn(task) for task in tasks]`` in task order: on the Dask scheduler ``args.scheduler``, on ``args.workers``
    spawned processes if more than one, or here; with a tqdm bar (``desc``, ``unit``) unless ``--no-progress``."""
    if not tasks:
        return []
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), desc=desc, unit=unit, disable=None if args.progress else True, leave=False)
    if args.progress and bar.disable:               # stderr is not a terminal (a log file): a line per task
        bar = _LineProgress(len(tasks), desc, unit)
    if args.scheduler is not None:
        results = _run_on_dask(args.scheduler, fn, tasks, bar)
    elif args.workers == 1:
        results = []
        for task in tasks:
            results.append(fn(task))
            bar.update(1)
    else:
        ctx = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_cli.worker_init,
                                                      initargs=(os.getpid(),))
        results = []
        try:
            for result in pool.map(fn, tasks):
                results.append(result)
                bar.update(1)
        except BaseException:
            _cli.abandon_pool(pool)
            raise
        pool.shutdown()
    bar.close()
    return results


def _realism(recons, originals):
    """``(spectrum error dB, sliced W2)``: the uint8 reconstructions of the even-numbered images against the
    originals of the odd-numbered ones and vice versa, averaged; ``(None, None)`` for a single image."""
    from empirical import image_files

    from . import metrics

    if len(originals) < 2:
        return None, None
    rec = [image_files.from_uint8(r) for r in recons]
    orig = [image_files.from_uint8(o) for o in originals]

    def both_ways(fn):
        return 0.5 * (fn(rec[0::2], orig[1::2]) + fn(rec[1::2], orig[0::2]))

    return both_ways(metrics.spectrum_error_db), both_ways(metrics.sliced_w2)


def summarise(records, recons, baselines, originals, rates, ideal=False, model_spec="oracle:stationary",
              ddcm_recons=None, schedule="isotropic") -> dict:
    """The report: CompressAI records per method, reference realism values, the closed-form check.

    ``records`` without ``"rates"`` (``--no-diffc``) give no DiffC records; those with ``"ddcm"`` rows (the same
    pairs for every image) give the ``ddcm`` record, ``ddcm_recons[i][(bits, steps)]`` their uint8 images.
    """
    kind, _, path = model_spec.partition(":")
    model_name = MODEL_NAMES.get(model_spec) or (f"8x8 patch checkpoint {pathlib.Path(path).name}, tiled"
                                                 if kind == "tiled" else f"learned U-Net {pathlib.Path(path).name}")
    from . import metrics

    out_methods = []
    n = len(records)
    from empirical import image_files

    orig_float = [image_files.from_uint8(o) for o in originals]
    even, odd = orig_float[0::2], orig_float[1::2]
    reference = {"spectrum_error_db": metrics.spectrum_error_db(even, odd) if odd else None,
                 "sliced_w2": metrics.sliced_w2(even, odd) if odd else None}
    for method in DECODERS if all("rates" in r for r in records) else ():
        res = {"bpp": [], "ideal-bpp": [], "psnr-rgb": [], "ms-ssim-rgb": [], "psnr-rgb-closed-form": [],
               "spectrum-error-db": [], "sliced-w2": [], "target-bpp": []}
        for i, rate in enumerate(rates):
            entries = [r["rates"][i] for r in records]
            if not all(e["reachable"] for e in entries):
                continue
            res["target-bpp"].append(rate)
            res["bpp"].append(float(np.mean([e["bpp"] for e in entries])))
            res["ideal-bpp"].append(float(np.mean([e["ideal_bpp"] for e in entries])))
            res["psnr-rgb"].append(float(np.mean([e["decoders"][method]["psnr_db"] for e in entries])))
            res["ms-ssim-rgb"].append(float(np.mean([e["decoders"][method]["ms_ssim"] for e in entries])))
            expected = [e["decoders"][method]["psnr_db_expected"] for e in entries]
            res["psnr-rgb-closed-form"].append(None if None in expected else float(np.mean(expected)))
            spec, w2 = _realism([recons[j][(method, rate)] for j in range(n)], originals)
            res["spectrum-error-db"].append(spec)
            res["sliced-w2"].append(w2)
        label = {"flow": "DiffC-F", "ancestral": "DiffC-A", "mean": "DiffC posterior mean"}[method]
        if schedule == "rdp":
            label += ", rdp noise schedule (perfect-realism allocation path)"
        if ideal:
            decoded = ("decoded with the oracle's exact maps" if "oracle" in model_spec else
                       "decoded by the codec's receivers (RK4 flow, ancestral sampling)")
            description = (f"{label}, {model_name}, IDEAL rate: bpp is the realised sum KL of a chain "
                           f"sampled exactly from q (no bitstream), {decoded}")
        else:
            description = (f"{label}, {model_name}, one progressive stream per image, prefixes at the "
                           "target rates; bpp: real bits of the file (header included); ideal-bpp: realised sum KL")
        name = f"diffc-{method}" + ("-rdp" if schedule == "rdp" else "") + ("-ideal" if ideal else "")
        out_methods.append({"name": name, "description": description,
                            "results": res})
    for codec, label in (("jpeg", "JPEG (Pillow, optimize=True, 4:2:0)"), ("webp", "WebP (Pillow, method=6)")):
        rows = [b[codec] for b in baselines]
        res = {"quality": [], "bpp": [], "psnr-rgb": [], "ms-ssim-rgb": [], "spectrum-error-db": [], "sliced-w2": []}
        for qi in range(len(rows[0])):
            res["quality"].append(rows[0][qi][0])
            res["bpp"].append(float(np.mean([r[qi][1] for r in rows])))
            res["psnr-rgb"].append(float(np.mean([r[qi][2] for r in rows])))
            res["ms-ssim-rgb"].append(float(np.mean([r[qi][3] for r in rows])))
            spec, w2 = _realism([r[qi][4] for r in rows], originals)
            res["spectrum-error-db"].append(spec)
            res["sliced-w2"].append(w2)
        out_methods.append({"name": codec, "description": f"{label}, quality sweep, real file sizes", "results": res})
    if records and records[0].get("ddcm"):
        res = {"codebook-bits": [], "steps": [], "bpp": [], "psnr-rgb": [], "ms-ssim-rgb": [], "spectrum-error-db": [],
               "sliced-w2": []}
        for i, first in enumerate(records[0]["ddcm"]):
            rows = [r["ddcm"][i] for r in records]
            pair = (first["codebook_bits"], first["steps"])
            res["codebook-bits"].append(pair[0])
            res["steps"].append(pair[1])
            for key, field in (("bpp", "bpp"), ("psnr-rgb", "psnr_db"), ("ms-ssim-rgb", "ms_ssim")):
                res[key].append(float(np.mean([row[field] for row in rows])))
            spec, w2 = _realism([ddcm_recons[j][pair] for j in range(n)], originals)
            res["spectrum-error-db"].append(spec)
            res["sliced-w2"].append(w2)
        label = model_spec if model_spec in MODEL_NAMES else f"tiled:{pathlib.Path(model_spec[6:]).name}"
        out_methods.append({"name": "ddcm", "description": (
            f"DDCM ({label}): the model's ancestral chain whose noise at each step is the best of "
            "K = 2^codebook-bits seeded Gaussian vectors (Ohayon et al. 2025), one stream per (codebook-bits, steps); "
            "bpp: real bits of the stream (header included); reconstruction: the posterior mean at the last step"),
            "results": res})
    check = {}
    points = [c for r in records for c in r.get("checks", [])]
    for key in ("kl",) + DECODERS:
        zs = [c["kl_z"] if key == "kl" else c["sq_err_z"][key] for c in points]
        check["sum_kl" if key == "kl" else f"sq_err_{key}"] = {
            "points": len(zs), "inside_95": int(np.sum(np.abs(zs) <= Z_95)),
            "mean_z": float(np.mean(zs)) if zs else None, "max_abs_z": float(np.max(np.abs(zs))) if zs else None}
    return {"methods": out_methods, "reference_originals": reference, "closed_form_check": check,
            "per_image": records}


def _table(report) -> str:
    lines = ["method          target   bpp   ideal   PSNR dB  (closed form)  MS-SSIM  spectrum dB  sliced W2"]
    for m in report["methods"]:
        r = m["results"]
        for i in range(len(r["bpp"])):
            if "target-bpp" in r:
                tag = f"{r['target-bpp'][i]:>6g}"
            elif "codebook-bits" in r:
                tag = f"{r['codebook-bits'][i]}:{r['steps'][i]:<{4 - len(str(r['codebook-bits'][i]))}d}"
            else:
                tag = f"q{r['quality'][i]:<5d}"
            ideal = f"{r['ideal-bpp'][i]:6.3f}" if "ideal-bpp" in r else "     -"
            closed = _num(r["psnr-rgb-closed-form"][i], 8, 2) if "psnr-rgb-closed-form" in r else "       -"
            lines.append(f"{m['name']:<15} {tag} {r['bpp'][i]:6.3f} {ideal} {r['psnr-rgb'][i]:8.2f} {closed}      "
                         f"{r['ms-ssim-rgb'][i]:7.4f} {_num(r['spectrum-error-db'][i], 11, 2)} "
                         f"{_num(r['sliced-w2'][i], 10, 4)}")
    ref = report["reference_originals"]
    lines.append(f"originals (one half against the other): spectrum {_num(ref['spectrum_error_db'], 0, 2)} dB, "
                 f"sliced W2 {_num(ref['sliced_w2'], 0, 4)}")
    for key, c in report["closed_form_check"].items():
        if c["points"]:
            lines.append(f"closed form given x, {key}: {c['inside_95']}/{c['points']} checks inside the 95% interval, "
                         f"mean z {c['mean_z']:+.2f}, max |z| {c['max_abs_z']:.2f}")
    return "\n".join(lines)


def _num(value, width, digits) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


#: ``diffc-<decoder>`` names of a report -> the decoder names of ``gaussian.plotstyle`` (the posterior mean is ``mmse``)
_PLOT_METHODS = {"flow": "flow", "ancestral": "ancestral", "mean": "mmse"}


def _method_line(name: str) -> dict:
    """Label, colour and line style of a report method (``diffc-flow``, ``diffc-flow-ideal``, ``jpeg``, ...) in the
    toolkit's plotting style."""
    from gaussian import plotstyle

    decoder = name.removeprefix("diffc-").removesuffix("-ideal").removesuffix("-rdp")
    line = plotstyle.method_line(_PLOT_METHODS.get(decoder, decoder))
    if name.removesuffix("-ideal").endswith("-rdp"):
        line["label"] += ", rdp schedule"
    if name.endswith("-ideal"):
        line["label"] += ", ideal bpp"
    return line


def draw_report(report, plt):
    """A matplotlib figure of PSNR, MS-SSIM and both realism proxies against bpp for every method of a report
    (``plt``: ``matplotlib.pyplot``), in the names and colours of ``gaussian.plotstyle``; the originals' reference
    is a dotted line on the realism panels; one legend below the panels."""
    keys = (("psnr-rgb", "PSNR (dB)"), ("ms-ssim-rgb", "MS-SSIM"), ("spectrum-error-db", "spectrum error (dB)"),
            ("sliced-w2", "sliced $W_2$ of 8x8 patches"))
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.9), layout="constrained")
    for ax, (key, label) in zip(axes, keys):
        for m in report["methods"]:
            r = m["results"]
            pts = [(b, v) for b, v in zip(r["bpp"], r[key]) if v is not None]
            line = _method_line(m["name"])
            ax.plot([b for b, _ in pts], [v for _, v in pts], marker="o", ms=3, **line)
            if key == "psnr-rgb" and m["name"] == "diffc-flow":
                ax.plot(r["ideal-bpp"], r[key], ls="--", marker="x", ms=4, color=line["color"],
                        label=f"{line['label']} at its ideal bpp ($\\Sigma$KL)")
        if key in ("spectrum-error-db", "sliced-w2"):
            ref = report["reference_originals"]["spectrum_error_db" if key == "spectrum-error-db" else "sliced_w2"]
            if ref is not None:
                ax.axhline(ref, color="k", lw=0.8, ls=":", label="originals vs originals")
        ax.set_xlabel("bits per pixel (file)")
        ax.set_ylabel(label)
        ax.set_xlim(0, max(2.5, max((max(m["results"]["bpp"], default=0.0) for m in report["methods"]
                                     if m["name"].startswith("diffc")), default=0.0)))
    handles, labels = axes[0].get_legend_handles_labels()
    extra = axes[3].get_legend_handles_labels()
    handles, labels = handles + extra[0][-1:], labels + extra[1][-1:]
    fig.legend(handles, labels, loc="outside lower center", ncol=(len(labels) + 1) // 2)
    return fig


def plot_report(report, path) -> None:
    """:func:`draw_report` written to the PNG ``path`` (temporary file, then rename)."""
    from gaussian import plotstyle

    _save_figure(draw_report(report, plotstyle.pyplot()), path)


def _save_figure(fig, path) -> None:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    with _cli.atomic_output(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _example_figures(out, name, pixels, record, recons, baselines, stream, rates,
                     model_spec="oracle:stationary") -> None:
    """``<stem>_decoders.png`` and ``<stem>_progressive.png`` for one image (see ``--examples``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from empirical import image_files

    stem = pathlib.Path(name).stem
    x = image_files.from_uint8(pixels)
    shown = [e for e in record["rates"] if e["reachable"]]
    cols = ["original", "flow", "ancestral", "mean", "jpeg", "webp"]
    fig, axes = plt.subplots(len(shown), len(cols), figsize=(2.2 * len(cols), 1.9 * len(shown) + 0.3), squeeze=False)
    for row, entry in zip(axes, shown):
        rate = entry["target_bpp"]
        for ax, col in zip(row, cols):
            if col == "original":
                img, title = pixels, f"original ({rate:g} bpp row)"
            elif col in DECODERS:
                img = recons[(col, rate)]
                d = entry["decoders"][col]
                title = f"DiffC-{dict(flow='F', ancestral='A', mean='mean')[col]} {entry['bpp']:.2f} bpp {d['psnr_db']:.1f} dB"
            else:
                fits = [b for b in baselines[col] if b[1] <= entry["bpp"]]
                if not fits:
                    ax.set_axis_off()
                    ax.set_title(f"{col.upper()}: none <= {entry['bpp']:.2f} bpp", fontsize=7)
                    continue
                q, bpp, psnr, _, img = max(fits, key=lambda b: b[1])
                title = f"{col.upper()} q{q} {bpp:.2f} bpp {psnr:.1f} dB"
            ax.imshow(img[:, :, 0] if img.shape[2] == 1 else img, cmap="gray" if img.shape[2] == 1 else None,
                      vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(title, fontsize=7)
            ax.set_axis_off()
    fig.tight_layout()
    _save_figure(fig, out / f"{stem}_decoders.png")
    draw_progressive(out / f"{stem}_progressive.png", pixels, stream, model_spec, plt)


def progressive_prefixes(stream, count: int = 8) -> list:
    """Up to ``count`` prefix lengths (in steps) of ``stream`` spread evenly in bits: for each of ``count`` sizes
    evenly spaced from the one-step prefix to the whole stream, the longest prefix that fits."""
    from empirical.codec import read_header

    header = read_header(stream)
    sizes = np.array([len(header.prefix(k).to_bytes()) for k in range(1, header.num_steps + 1)])
    targets = np.linspace(sizes[0], sizes[-1], count)
    return sorted({int(np.searchsorted(sizes, t, side="right")) for t in targets})


def draw_progressive(path, pixels, stream, model_spec, plt) -> None:
    """``path``: DiffC-F decodes of prefixes of ``stream`` spread evenly in bits (:func:`progressive_prefixes`),
    each with its bpp and PSNR, and the original ``pixels``."""
    from empirical import image_files
    from empirical.codec import decode_image, read_header

    x = image_files.from_uint8(pixels)
    prefixes = progressive_prefixes(stream)
    fig, axes = plt.subplots(1, len(prefixes) + 1, figsize=(2.0 * (len(prefixes) + 1), 2.0), squeeze=False)
    pixel_count = pixels.shape[0] * pixels.shape[1]
    for ax, k in zip(axes[0], prefixes):
        y = image_files.to_uint8(decode_image(stream, model_spec, method="flow", prefix_steps=k))[0]
        bpp = 8 * len(read_header(stream).prefix(k).to_bytes()) / pixel_count
        ax.imshow(y[:, :, 0] if y.shape[2] == 1 else y, cmap="gray" if y.shape[2] == 1 else None, vmin=0, vmax=255,
                  interpolation="nearest")
        ax.set_title(f"{k} step{'' if k == 1 else 's'}, {bpp:.2f} bpp\n{_psnr_of_uint8(x, y):.1f} dB", fontsize=7)
        ax.set_axis_off()
    axes[0][-1].imshow(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels, vmin=0, vmax=255, interpolation="nearest")
    axes[0][-1].set_title("original", fontsize=7)
    axes[0][-1].set_axis_off()
    fig.tight_layout()
    _save_figure(fig, path)


def _psnr_of_uint8(x, pixels) -> float:
    """PSNR of 8-bit ``pixels`` against ``x`` in [-1, 1]."""
    from empirical import image_files

    from . import metrics

    return metrics.psnr_db(x, image_files.from_uint8(pixels))


def _run_on_dask(address, fn, tasks, bar) -> list:
    """``[fn(task) for task in tasks]`` on the Dask distributed scheduler at ``address``, in task order.

    Each image (or DDCM stream) is one Dask task running the same function as a local worker process with the same
    arguments (the image's pixels and seed), so the records do not depend on where it ran.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError("scheduler: needs Dask distributed (pip install -e '.[distributed]')") from None
    try:
        client = Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise ValueError(f"scheduler: cannot connect to {address}: {err}") from None
    try:
        futures = client.map(fn, tasks, pure=False)
        for _ in as_completed(futures):
            bar.update(1)
        return client.gather(futures)
    finally:
        client.close()


def run(args) -> dict:
    """Evaluate as the parsed ``args`` say; return the report."""
    import json

    factor = _scale_factor(args.scale)
    rates = _rates(args.rates)
    if args.workers < 1:
        raise ValueError(f"workers: must be >= 1, got {args.workers}")
    if args.scheduler is not None and args.workers != 1:
        raise ValueError("workers: the Dask scheduler's workers run the images; give --workers or --scheduler")
    if not 2 <= args.steps <= 4096:
        raise ValueError(f"steps: must be in 2..4096, got {args.steps}")
    if args.out is not None:
        try:
            pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"out: cannot make the folder {args.out}: {err.strerror or err}") from None
        _cli.check_outputs((str(pathlib.Path(args.out) / "report.json"), "--out"))
    if args.plot is not None:
        _cli.check_outputs((args.plot, "--plot"))
    examples = [] if args.examples is None else [e.strip() for e in args.examples.split(",")]
    if args.examples is not None and (args.out is None or not all(examples)):
        raise ValueError("examples: needs --out DIR and comma-separated image file names without empty items")
    if args.examples is not None and (args.ideal or not args.diffc):
        raise ValueError("examples: draws decoded DiffC streams; --ideal and --no-diffc make none")
    from empirical.codec.image import check_schedule, is_image_spec

    if is_image_spec(args.model):
        check_schedule(args.model, args.schedule)
    pairs = _ddcm_pairs(args.ddcm)
    images = load_folder(args.images, factor, args.limit)
    missing = sorted(set(examples) - {name for name, _ in images})
    if missing:
        raise ValueError(f"examples: not among the images: {', '.join(missing)}")
    if not is_image_spec(args.model):
        raise ValueError(f"model: expected oracle:stationary, unet, unet:CHECKPOINT.pt, tiled:oracle or "
                         f"tiled:CHECKPOINT.pt, got {args.model!r}")
    if not 0 <= args.seed <= 2**63:
        raise ValueError(f"seed: must be in 0..2^63, got {args.seed}")
    tasks = [(name, pixels, rates, args.steps, args.seed + i, args.ideal, args.model, args.diffc, args.schedule,
              args.chunk_cost_bits) for i, (name, pixels) in enumerate(images)]
    results = _map(_work, tasks, args, "images", "image")
    which = [(i, bits, steps) for i in range(len(images)) for bits, steps in pairs]
    ddcm_tasks = [(images[i][1], args.model, bits, steps, args.seed + i) for i, bits, steps in which]
    ddcm_results = _map(_ddcm_work, ddcm_tasks, args, "DDCM", "stream")
    ddcm_recons = [{} for _ in images]
    for (i, bits, steps), (row, recon) in zip(which, ddcm_results):
        results[i][0].setdefault("ddcm", []).append(row)
        ddcm_recons[i][(bits, steps)] = recon
    records = [r[0] for r in results]
    recons = [r[1] for r in results]
    baselines = [r[2] for r in results]
    report = summarise(records, recons, baselines, [p for _, p in images], rates, ideal=args.ideal,
                       model_spec=args.model, ddcm_recons=ddcm_recons, schedule=args.schedule)
    report["settings"] = {"images": str(args.images), "scale": f"1/{factor}", "rates": rates, "steps": args.steps,
                          "seed": args.seed, "num_images": len(images), "model": args.model,
                          "ideal": args.ideal, "schedule": args.schedule, "diffc": args.diffc,
                          "ddcm": [list(pair) for pair in pairs], "chunk_cost_bits": args.chunk_cost_bits}
    if args.out is not None:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for m in report["methods"]:
            _cli.write_report(out / f"{m['name']}.json", m)
        _cli.write_report(out / "report.json", report)
        if args.diffc and not args.ideal:
            (out / "streams").mkdir(exist_ok=True)
            for (name, _), result in zip(images, results):
                with _cli.atomic_output(out / "streams" / f"{pathlib.Path(name).stem}.dfrc") as tmp:
                    tmp.write_bytes(result[3])
        for i, (name, pixels) in enumerate(images):
            if name in examples:
                _example_figures(out, name, pixels, records[i], recons[i], baselines[i], results[i][3], rates,
                                 args.model)
    if args.plot is not None:
        plot_report(report, args.plot)
    if args.format == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print(_table(report))
    return report


def main(argv=None) -> int:
    """Command-line entry point: 0 on success; bad input prints one line and exits with status 2."""
    return _cli.main(build_parser, run, FLAGS, argv)
