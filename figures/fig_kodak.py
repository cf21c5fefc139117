"""Kodak (or any folder of photographs) through DiffC with the stationary Gaussian oracle, beside JPEG and WebP.

``python -m figures --only kodak --kodak DIR`` runs ``python -m empirical.images --images DIR --scale 1/8
--rates 0.25,0.5,1,2 --workers 2 --examples kodim23.png`` (about 10 min on 2 cores) with its records,
streams and example figures in ``OUT/kodak/``, writes the report as ``kodak.json`` and draws ``kodak.png``:
PSNR, MS-SSIM and both realism proxies against real bits per pixel. Without ``--kodak`` the figure is
skipped: the images are not shipped (Kodak is the held-out evaluation set).
"""
from __future__ import annotations

import contextlib
import io
import pathlib

from . import style

NAME = "kodak"
EXAMPLE = "kodim23.png"
QUICK_ARGS = ["--limit", "2", "--scale", "1/1", "--rates", "1,2", "--steps", "48"]
"""``--quick`` settings (also those of ``unet_kodak``, which reuses this figure's report): 48 steps keep every
step of the U-Net's chain within the default chunk budget on small photographs (24 steps raise it to 13-15 bits)."""
FULL_ARGS = ["--scale", "1/8", "--rates", "0.25,0.5,1,2", "--workers", "2"]


def make(out_dir, quick: bool = False, images=None):
    """Evaluate the folder ``images``, write ``kodak.json`` and draw ``kodak.png``; returns the PNG path."""
    from empirical.image_files import is_image_path
    from empirical.images import evaluate

    if images is None:
        raise ValueError("needs --kodak DIR (a folder of photographs, e.g. the 24 Kodak PNGs)")
    folder = pathlib.Path(images)
    names = sorted(p.name for p in folder.iterdir() if is_image_path(p))
    argv = ["--images", str(folder), "--out", str(pathlib.Path(out_dir) / NAME), "--no-progress"]
    argv += QUICK_ARGS if quick else FULL_ARGS
    example = EXAMPLE if EXAMPLE in names and not quick else (names[0] if names else None)
    if example is not None:
        argv += ["--examples", example]
    with contextlib.redirect_stdout(io.StringIO()):
        report = evaluate.run(evaluate.build_parser().parse_args(argv))
    data = {key: report[key] for key in ("settings", "methods", "reference_originals", "closed_form_check")}
    return plot(style.write_json(out_dir, NAME, data), out_dir)


def plot(data, out_dir):
    """Draw ``kodak.png`` from the JSON (``empirical.images.evaluate.draw_report``); returns the PNG path."""
    from empirical.images.evaluate import draw_report

    fig = draw_report(data, style.pyplot())
    settings = data["settings"]
    fig.suptitle(f"{settings['num_images']} photographs at {settings['scale']}: DiffC (stationary Gaussian oracle, "
                 "real bits) beside JPEG and WebP")
    return style.save(fig, out_dir, NAME)
