"""The learned U-Net's denoising MSE over the stationary oracle's on photographs, across log-SNR.

``python -m figures --only unet_denoising --kodak DIR`` runs ``python -m empirical.images.denoising DIR
--model unet --scale 4 --crop 64 --draws 2`` (the central 64x64 window of every photograph at 1/4 scale, 23
log-SNRs -10..12), writes ``unet_denoising.json`` and draws ``unet_denoising.png``: the ratio
``mse_model / mse_oracle`` with its paired standard error and the per-image range. Without ``--kodak`` the
figure is skipped (Kodak is the held-out evaluation set and is not shipped).
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from . import style

NAME = "unet_denoising"


def make(out_dir, quick: bool = False, images=None):
    """Measure the folder ``images``, write ``unet_denoising.json`` and draw ``unet_denoising.png``; returns the PNG path."""
    from empirical.images import denoising

    if images is None:
        raise ValueError("needs --kodak DIR (a folder of photographs, e.g. the 24 Kodak PNGs)")
    argv = [str(images), "--model", "unet", "--no-progress"]
    argv += ["--scale", "1", "--crop", "32", "--num-log-snrs", "5", "--draws", "1"] if quick else [
        "--scale", "4", "--crop", "64", "--draws", "2"]
    with contextlib.redirect_stdout(io.StringIO()):
        report = denoising.run(denoising.build_parser().parse_args(argv))
    return plot(style.write_json(out_dir, NAME, report), out_dir)


def plot(data, out_dir):
    """Draw ``unet_denoising.png`` from ``data`` (the JSON of ``python -m empirical.images.denoising``, without
    measuring again); returns the PNG path."""
    rows = data["rows"]
    log_snr = np.array([r["log_snr"] for r in rows])
    ratio = np.array([r["ratio"] for r in rows])
    se = np.array([r["ratio_se"] for r in rows])
    plt = style.pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    ax.fill_between(log_snr, [r["ratio_min"] for r in rows], [r["ratio_max"] for r in rows], color="0.85",
                    label="per-image range")
    ax.errorbar(log_snr, ratio, yerr=2 * se, color="C0", marker="o", ms=3, capsize=2,
                label="mean over images (2 paired s.e.)")
    ax.axhline(1.0, color="k", lw=1, label="stationary oracle")
    ax.axhline(1.01, color="k", ls=":", lw=1, label="oracle + 1%")
    ax.set_xlabel("log-SNR  ln(alpha^2 / sigma^2)  [nats]")
    ax.set_ylabel("MSE(U-Net) / MSE(oracle)  [ratio]")
    ax.set_title(f"{data['num_images']} photographs, central {data['crop']}x{data['crop']} at 1/{data['scale']}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    fig.subplots_adjust(right=0.68)
    return style.save(fig, out_dir, NAME)
