"""Denoising MSE of an image model against the stationary oracle on photographs: ``python -m empirical.images.denoising``.

    python -m empirical.images.denoising ../shared/data/kodak --model unet --scale 4 --crop 64 --json unet_kodak.json

Every photograph of the folder is area-downsampled by ``--scale``
(:func:`empirical.images.evaluate.load_folder`) and its central ``crop x crop``
window taken (pixels ``2 v / 255 - 1``). At each log-SNR (``--num-log-snrs``
points from ``--log-snr-min`` to ``--log-snr-max``) every crop gets
``--draws`` noise draws ``z = alpha x + sigma u`` (``u`` from
``SeedSequence([RNG_TAG, seed, log-SNR index, image index])``), and the model and
the stationary oracle of the crop's size denoise the same ``z``. Per log-SNR:

- ``mse_model``, ``mse_oracle``: mean squared error per pixel value;
- ``ratio = mse_model / mse_oracle`` and its paired standard error
  ``se(d) / mse_oracle``, ``d_i = mse_model_i - mse_oracle_i`` the difference on
  image ``i`` (draws averaged), ``se`` over the images;
- ``ratio_min``, ``ratio_max``: the smallest and largest per-image ratio.

With ``--chain-steps K1,K2,...`` it also reports the rate of the codec's chain
on the same crops (:func:`chain_rates`, bits per pixel, mean over the crops):
the model's expected ``sum KL`` of a ``K``-point grid (``image_grid``: from
``log_snr_min`` to the codec's default stop), its own I-MMSE integral, their
difference (the plug-in excess) and the oracle's ``I_G`` (its exact chain's
expected ``sum KL`` given ``x``, which telescopes). A plug-in step from ``t`` to
``s`` costs ``KL = 1/2 (snr_s - snr_t) ||x - x_hat(z_t)||^2`` nats (``coef_x^2 / var
= snr_s - snr_t`` in :func:`empirical.models.q_reverse`), ``z_t ~ N(alpha_t x,
sigma_t^2)`` as the chain draws it, so the expected ``sum KL`` is the first
step's ``KL(q(z_0 | x) || N(0, I))`` plus a left Riemann sum of ``1/2 mse(snr)
d snr``; the integral is the trapezoid rule in log-SNR on the finest grid (of ``1/2 mse snr``). The grids of
``K - 1`` a power of two are nested, and one noise draw per crop and point serves
every ``K``.
"""
from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np

from empirical import _cli
from gaussian import schedule
from gaussian._io import run_cli

__all__ = ["DenoisingRow", "ChainRateRow", "measure", "chain_rates", "main"]

RNG_TAG = 0x5A3D0D


@dataclasses.dataclass(frozen=True)
class DenoisingRow:
    """MSE of a model and of the oracle on the same noisy crops at one log-SNR (per pixel value)."""

    log_snr: float
    mse_model: float
    mse_oracle: float
    ratio: float  # mse_model / mse_oracle
    ratio_se: float  # paired standard error of ratio over the images
    ratio_min: float  # smallest per-image ratio
    ratio_max: float  # largest per-image ratio


def measure(model_spec: str, crops, log_snrs, draws: int = 2, seed: int = 0, progress: bool = False) -> list:
    """One :class:`DenoisingRow` per log-SNR for ``crops`` ``[n, H, W, 3]`` in [-1, 1] (same size), as the module says."""
    from empirical.codec.image import image_model_for
    from empirical.models import StationaryImageOracle

    crops = np.asarray(crops, dtype=np.float64)
    n, shape = crops.shape[0], crops.shape[1:]
    model, oracle = image_model_for(model_spec, shape), StationaryImageOracle(shape)
    x = crops.reshape(n, -1)
    rows = []
    for k, log_snr in enumerate(log_snrs):
        alpha, sigma = schedule.alpha_sigma_from_log_snr(float(log_snr))
        err_model, err_oracle = np.zeros(n), np.zeros(n)
        for d in range(draws):
            u = np.stack([np.random.default_rng(np.random.SeedSequence([RNG_TAG, seed, k, i, d])).standard_normal(x.shape[1])
                          for i in range(n)])
            z = alpha * x + sigma * u
            err_model += np.mean((model.denoise(z, log_snr) - x) ** 2, axis=1) / draws
            err_oracle += np.mean((oracle.denoise(z, log_snr) - x) ** 2, axis=1) / draws
        mse_oracle = float(err_oracle.mean())
        diff = err_model - err_oracle
        rows.append(DenoisingRow(float(log_snr), float(err_model.mean()), mse_oracle, float(err_model.mean()) / mse_oracle,
                                 float(diff.std(ddof=1) / np.sqrt(n)) / mse_oracle if n > 1 else float("nan"),
                                 float((err_model / err_oracle).min()), float((err_model / err_oracle).max())))
        if progress:
            print(f"log-SNR {log_snr:6.2f}: ratio {rows[-1].ratio:.4f} +- {rows[-1].ratio_se:.4f}", file=sys.stderr)
    return rows


@dataclasses.dataclass(frozen=True)
class ChainRateRow:
    """Expected chain rate of a ``num_steps``-point grid, bits per pixel (mean over the crops)."""

    num_steps: int
    log_snr_stop: float
    sum_kl_bits_per_pixel: float  # the model's expected sum KL (plug-in steps)
    immse_bits_per_pixel: float  # its own I-MMSE integral over the same range (plus the first step's KL)
    excess_bits_per_pixel: float  # sum_kl - immse: the plug-in (discretisation) excess
    oracle_bits_per_pixel: float  # I_G: the stationary oracle's expected sum KL given x (exact chain)


def chain_rates(model_spec: str, crops, steps, seed: int = 0) -> list:
    """One :class:`ChainRateRow` per number of grid points in ``steps`` (each ``K - 1`` a power of two dividing the
    largest ``K - 1``), for ``crops`` ``[n, H, W, 3]`` in [-1, 1] (see the module docstring)."""
    from gaussian import components
    from empirical.codec.image import image_grid, image_model_for
    from empirical.models import StationaryImageOracle

    crops = np.asarray(crops, dtype=np.float64)
    n, shape = crops.shape[0], crops.shape[1:]
    steps = sorted(int(k) for k in steps)
    finest = steps[-1] - 1
    if any(k < 2 or finest % (k - 1) or (k - 1) & (k - 2) for k in steps):
        raise ValueError(f"chain_steps: need K - 1 powers of two (nested grids), e.g. 9,17,33,65; got {steps}")
    model, oracle = image_model_for(model_spec, shape), StationaryImageOracle(shape)
    grid = image_grid(model, shape, None, steps[-1])
    log_snrs, pixels = grid.log_snrs, shape[0] * shape[1]
    x = crops.reshape(n, -1)
    sq_err = np.zeros(log_snrs.size)  # mean over crops of ||x - x_hat(z)||^2 at each point of the finest grid
    for k, log_snr in enumerate(log_snrs):
        alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr)
        u = np.stack([np.random.default_rng(np.random.SeedSequence([RNG_TAG, seed, 10**6 + k, i])).standard_normal(x.shape[1])
                      for i in range(n)])
        sq_err[k] = np.mean(np.sum((model.denoise(alpha * x + sigma * u, log_snr) - x) ** 2, axis=1))
    alpha0, sigma0 = schedule.alpha_sigma_from_log_snr(log_snrs[0])
    first_nats = 0.5 * np.mean(np.sum(sigma0**2 + alpha0**2 * x**2 - 1.0 - np.log(sigma0**2), axis=1))
    snr = np.exp(log_snrs)
    integrand = 0.5 * sq_err * snr  # d(I-MMSE)/d log_snr, smooth in log-SNR: trapezoid rule there
    immse_nats = first_nats + np.sum(np.diff(log_snrs) * 0.5 * (integrand[1:] + integrand[:-1]))
    centred = oracle.to_eigen(x - oracle.mean)
    oracle_nats = float(np.mean(np.sum(components.chain_kl_nats_given_x(oracle.eigvals, snr[-1], centred), axis=1)))
    to_bpp = 1.0 / (pixels * np.log(2.0))
    rows = []
    for k in steps:
        idx = np.arange(0, finest + 1, finest // (k - 1))
        sum_kl_nats = first_nats + 0.5 * np.sum(np.diff(snr[idx]) * sq_err[idx[:-1]])
        rows.append(ChainRateRow(k, float(log_snrs[-1]), sum_kl_nats * to_bpp, immse_nats * to_bpp,
                                 (sum_kl_nats - immse_nats) * to_bpp, oracle_nats * to_bpp))
    return rows


def central_crops(images, crop: int) -> np.ndarray:
    """``[n, crop, crop, 3]`` float64 central windows of uint8 images, pixels ``2 v / 255 - 1``."""
    out = []
    for name, pixels in images:
        h, w = pixels.shape[:2]
        if min(h, w) < crop or pixels.shape[2] != 3:
            raise ValueError(f"crop: {name} is {h}x{w}x{pixels.shape[2]}, no RGB {crop}x{crop} window")
        top, left = (h - crop) // 2, (w - crop) // 2
        out.append(pixels[top:top + crop, left:left + crop].astype(np.float64) * (2.0 / 255.0) - 1.0)
    return np.stack(out)


def format_rows(rows) -> str:
    """Text table of :class:`DenoisingRow`s."""
    lines = [f"{'log_snr':>8} {'mse_model':>11} {'mse_oracle':>11} {'ratio':>8} {'se':>7} {'min':>7} {'max':>7}"]
    lines += [f"{r.log_snr:8.2f} {r.mse_model:11.4e} {r.mse_oracle:11.4e} {r.ratio:8.4f} {r.ratio_se:7.4f} "
              f"{r.ratio_min:7.4f} {r.ratio_max:7.4f}" for r in rows]
    return "\n".join(lines)


def build_parser():
    """The command-line parser."""
    p = _cli.parser("python -m empirical.images.denoising", __doc__)
    p.add_argument("images", help="folder of PNG/JPEG photographs (e.g. ../shared/data/kodak)")
    p.add_argument("--model", default="unet", help="image model spec (default: %(default)s)")
    p.add_argument("--scale", type=int, default=4, help="area-downsampling factor (default: %(default)s)")
    p.add_argument("--crop", type=int, default=64, help="side of the central crop (default: %(default)s)")
    p.add_argument("--log-snr-min", type=float, default=-10.0, help="(default: %(default)s)")
    p.add_argument("--log-snr-max", type=float, default=12.0, help="(default: %(default)s)")
    p.add_argument("--num-log-snrs", type=int, default=23, help="(default: %(default)s)")
    p.add_argument("--draws", type=int, default=2, help="noise draws per image and log-SNR (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default: %(default)s)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    p.add_argument("--chain-steps", default=None,
                   help="also the chain's expected rate for these grid sizes, e.g. 9,17,33,65 (default: none)")
    p.add_argument("--json", help="write the table as JSON to this path")
    p.add_argument("--no-progress", action="store_true", help="no per-log-SNR lines on stderr")
    return p


def run(args) -> dict:
    """Measure as the parsed ``args`` say; return the JSON report."""
    from empirical.codec.image import is_image_spec

    from .evaluate import load_folder

    _cli.check_outputs((args.json, "--json"))
    if not is_image_spec(args.model):
        raise ValueError(f"model: expected an image model spec (unet, unet:PATH, oracle:stationary, ...), got {args.model!r}")
    for name in ("scale", "crop", "num_log_snrs", "draws"):
        if getattr(args, name) < 1:
            raise ValueError(f"{name}: must be >= 1, got {getattr(args, name)}")
    if not args.log_snr_min <= args.log_snr_max:
        raise ValueError(f"log_snr_min: must be <= --log-snr-max, got {args.log_snr_min} > {args.log_snr_max}")
    _cli.set_threads(args.threads)
    crops = central_crops(load_folder(args.images, args.scale), args.crop)
    log_snrs = np.linspace(args.log_snr_min, args.log_snr_max, args.num_log_snrs)
    start = time.process_time()
    rows = measure(args.model, crops, log_snrs, args.draws, args.seed, progress=not args.no_progress)
    cpu = time.process_time() - start
    print(format_rows(rows))
    print(f"{crops.shape[0]} crops {args.crop}x{args.crop} at 1/{args.scale}, {args.draws} draws; {cpu:.1f} CPU s")
    report = {"model": args.model, "scale": args.scale, "crop": args.crop, "num_images": int(crops.shape[0]),
              "draws": args.draws, "seed": args.seed, "cpu_seconds": cpu, "rows": [dataclasses.asdict(r) for r in rows]}
    if args.chain_steps:
        try:
            steps = [int(k) for k in args.chain_steps.split(",")]
        except ValueError:
            raise ValueError(f"chain_steps: expected comma-separated integers, got {args.chain_steps!r}") from None
        start = time.process_time()
        chain = chain_rates(args.model, crops, steps, args.seed)
        print(f"{'steps':>6} {'stop':>6} {'sum_kl_bpp':>11} {'immse_bpp':>10} {'excess_bpp':>11} {'excess':>8} "
              f"{'oracle_bpp':>11}")
        for r in chain:
            print(f"{r.num_steps:6d} {r.log_snr_stop:6.2f} {r.sum_kl_bits_per_pixel:11.4f} {r.immse_bits_per_pixel:10.4f} "
                  f"{r.excess_bits_per_pixel:11.4f} {r.excess_bits_per_pixel / r.immse_bits_per_pixel:8.2%} "
                  f"{r.oracle_bits_per_pixel:11.4f}")
        report["chain"] = [dataclasses.asdict(r) for r in chain]
        report["chain_cpu_seconds"] = time.process_time() - start
        print(f"chain rates: {report['chain_cpu_seconds']:.1f} CPU s")
    if args.json:
        _cli.write_report(args.json, report)
    return report


FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "model", "scale", "crop", "log_snr_min", "log_snr_max", "num_log_snrs", "draws", "seed", "threads", "json",
    "chain_steps")}


def main(argv=None) -> int:
    """Command-line entry point: 0 on success; bad input prints one line and exits with status 2."""
    return _cli.main(build_parser, run, FLAGS, argv)


if __name__ == "__main__":
    run_cli(main, prog="python -m empirical.images.denoising")
