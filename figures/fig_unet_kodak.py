"""Kodak through DiffC with the learned U-Net beside the stationary Gaussian oracle, JPEG and WebP.

``python -m figures --only unet_kodak --kodak DIR`` runs ``python -m empirical.images --images DIR --model unet
--scale 1/8 --rates 0.25,0.5,1,2 --workers 2 --examples kodim23.png`` into ``OUT/unet_kodak/`` and compares it,
image by image (``python -m empirical.images.compare``), with the stationary oracle's run of the ``kodak``
figure (``OUT/kodak/report.json``, made first if it is missing). A report already in either folder whose
settings are these (same folder of images, scale, rates, steps, seed, model, chunk cost cap) is reused rather
than measured again; delete it to measure anew. Writes ``unet_kodak.json`` and draws ``unet_kodak.png``: PSNR against real
and against ideal bits per pixel, and both realism proxies, for DiffC-F and DiffC-A with each model, JPEG and
WebP; and ``unet_kodak/<image>_unet_vs_oracle.png``: one photograph at three rates decoded by DiffC-F and
DiffC-A with each model beside JPEG at the same bits. Without ``--kodak`` the figure is skipped.
"""
from __future__ import annotations

import contextlib
import io
import json
import pathlib

from . import style

NAME = "unet_kodak"
ORACLE_DIR = "kodak"
EXAMPLE = "kodim23.png"
EXAMPLE_RATES = (0.5, 1.0, 2.0)
MODELS = {"unet": "U-Net", "oracle": "stationary oracle"}


def _argv(folder, model: str, quick: bool) -> list:
    """The ``kodak`` figure's arguments (:data:`figures.fig_kodak.QUICK_ARGS` / ``FULL_ARGS``) with ``--model``."""
    from .fig_kodak import FULL_ARGS, QUICK_ARGS

    return ["--images", str(folder), "--model", model, "--no-progress"] + (QUICK_ARGS if quick else FULL_ARGS)


def _model_key(spec) -> str:
    """A model spec as the checkpoint it names: ``unet:PATH`` of a shipped U-Net's file is that U-Net's name."""
    from empirical.models import unet

    if isinstance(spec, str) and spec.startswith("unet:"):
        path = pathlib.Path(spec[len("unet:"):]).resolve()
        for name in unet.SHIPPED:
            if path == pathlib.Path(str(unet.shipped_path(name))).resolve():
                return name
    return spec


def _same_settings(report: dict, args) -> bool:
    """Whether a stored report was made with the parsed ``args`` (the images folder compared as a resolved path, a
    shipped U-Net's file as its name; the compute cap only for real bits)."""
    from empirical.images.evaluate import _rates, _scale_factor

    s = report.get("settings", {})
    same_folder = pathlib.Path(str(s.get("images"))).resolve() == pathlib.Path(args.images).resolve()
    want = {"scale": f"1/{_scale_factor(args.scale)}", "rates": _rates(args.rates),
            "steps": args.steps, "seed": args.seed, "ideal": bool(args.ideal)}
    if not args.ideal:
        want["chunk_cost_bits"] = args.chunk_cost_bits    # a report without it was made without the cap (None)
    return (same_folder and all(s.get(k) == v for k, v in want.items())
            and _model_key(s.get("model")) == _model_key(args.model)
            and s.get("schedule", "isotropic") == args.schedule
            and (args.limit is None or s.get("num_images") == args.limit))


def _report(folder, model: str, out: pathlib.Path, quick: bool, examples, extra=()) -> dict:
    """The report of ``python -m empirical.images`` for ``model`` (and ``extra`` arguments) in ``out``: reused if
    its settings match, else measured (with ``--examples``)."""
    from empirical.images import evaluate

    argv = _argv(folder, model, quick) + list(extra) + ["--out", str(out)]
    args = evaluate.build_parser().parse_args(argv + (["--examples", examples] if examples else []))
    stored = out / "report.json"
    if stored.is_file():
        report = json.loads(stored.read_text())
        if _same_settings(report, args):
            report["settings"]["images"] = str(folder)
            return report
    with contextlib.redirect_stdout(io.StringIO()):
        return evaluate.run(args)


def make(out_dir, quick: bool = False, images=None):
    """Evaluate (or reuse) both models on the folder ``images``, write ``unet_kodak.json``, draw ``unet_kodak.png``
    and the example figure; returns the PNG path."""
    from empirical.image_files import is_image_path
    from empirical.images import compare

    if images is None:
        raise ValueError("needs --kodak DIR (a folder of photographs, e.g. the 24 Kodak PNGs)")
    folder = pathlib.Path(images)
    names = sorted(p.name for p in folder.iterdir() if is_image_path(p))
    example = EXAMPLE if EXAMPLE in names and not quick else (names[0] if names else None)
    out_dir = pathlib.Path(out_dir)
    oracle = _report(folder, "oracle:stationary", out_dir / ORACLE_DIR, quick, example)
    unet = _report(folder, "unet", out_dir / NAME, quick, example)
    data = {"unet": {k: unet[k] for k in ("settings", "methods", "reference_originals")},
            "oracle": {k: oracle[k] for k in ("settings", "methods", "reference_originals")},
            "comparison": compare.compare(unet, oracle)}
    if example is not None:
        draw_example(folder / example, out_dir, unet, oracle)
    return plot(style.write_json(out_dir, NAME, data), out_dir)


def _line_style(name: str, model: str) -> dict:
    """The plotting style of a report method, dashed for the oracle, labelled with the model."""
    from empirical.images.evaluate import _method_line

    line = _method_line(name)
    if name.startswith("diffc"):
        line["label"] += f", {MODELS[model]}"
        line["ls"] = "-" if model == "unet" else "--"
    return line


def plot(data, out_dir):
    """Draw ``unet_kodak.png`` from ``data`` (the figure's JSON, without measuring again); returns the PNG path.

    Panels: PSNR against real bpp (both models' DiffC-F and DiffC-A, JPEG, WebP), PSNR against ideal bpp (the
    chains' sum KL; DiffC-F and DiffC-A of both models), spectrum error and sliced W2 against real bpp, with the
    originals-against-originals reference."""
    plt = style.pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(15, 4.2), layout="constrained")
    panels = (("psnr-rgb", "bpp", "PSNR (dB)", "bits per pixel (file)"),
              ("psnr-rgb", "ideal-bpp", "PSNR (dB)", "ideal bits per pixel ($\\Sigma$KL)"),
              ("spectrum-error-db", "bpp", "spectrum error (dB)", "bits per pixel (file)"),
              ("sliced-w2", "bpp", "sliced $W_2$ of 8x8 patches", "bits per pixel (file)"))
    for ax, (key, x_key, ylabel, xlabel) in zip(axes, panels):
        for model in ("unet", "oracle"):
            for m in data[model]["methods"]:
                is_diffc = m["name"] in ("diffc-flow", "diffc-ancestral")
                is_baseline = m["name"] in ("jpeg", "webp") and model == "unet" and x_key == "bpp"
                if not (is_diffc or is_baseline):
                    continue  # JPEG and WebP once (they do not depend on the model), and only against real bits
                r = m["results"]
                pts = [(b, v) for b, v in zip(r[x_key], r[key]) if v is not None]
                ax.plot([b for b, _ in pts], [v for _, v in pts], marker="o", ms=3, **_line_style(m["name"], model))
        if key in ("spectrum-error-db", "sliced-w2"):
            ref = data["unet"]["reference_originals"]["spectrum_error_db" if key == "spectrum-error-db" else "sliced_w2"]
            if ref is not None:
                ax.axhline(ref, color="k", lw=0.8, ls=":", label="originals vs originals")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xlim(left=0)
    handles, labels = axes[0].get_legend_handles_labels()
    extra = axes[3].get_legend_handles_labels()
    handles, labels = handles + extra[0][-1:], labels + extra[1][-1:]
    fig.legend(handles, labels, loc="outside lower center", ncol=(len(labels) + 1) // 2)
    s = data["unet"]["settings"]
    fig.suptitle(f"{s['num_images']} photographs at {s['scale']}: DiffC with the learned U-Net (solid) and the "
                 "stationary Gaussian oracle (dashed), real bits, beside JPEG and WebP")
    return style.save(fig, out_dir, NAME)


def draw_example(path, out_dir, unet: dict, oracle: dict) -> pathlib.Path:
    """``OUT/unet_kodak/<stem>_unet_vs_oracle.png``: the photograph ``path`` at up to three rates, decoded from both
    runs' streams by DiffC-F and DiffC-A (the runs' own seeds), beside the largest JPEG of at most the U-Net's bpp."""
    from empirical import image_files
    from empirical.codec import decode_image
    from empirical.images import evaluate, metrics

    name = path.name
    settings = unet["settings"]
    images = evaluate.load_folder(path.parent, evaluate._scale_factor(settings["scale"]))
    index = [n for n, _ in images].index(name)
    pixels = images[index][1]
    x = image_files.from_uint8(pixels)
    stem = path.stem
    runs = {"unet": (unet, "unet", pathlib.Path(out_dir) / NAME), "oracle": (oracle, "oracle:stationary",
                                                                          pathlib.Path(out_dir) / ORACLE_DIR)}
    record = {key: next(r for r in rep["per_image"] if r["image"] == name) for key, (rep, _, _) in runs.items()}
    rates = [e["target_bpp"] for e in record["unet"]["rates"] if e["reachable"]]
    shown = [r for r in rates if r in EXAMPLE_RATES] or rates[-3:]
    jpeg = evaluate.jpeg_webp(pixels)["jpeg"]
    cols = [("original", None), ("flow", "unet"), ("ancestral", "unet"), ("flow", "oracle"), ("ancestral", "oracle"),
            ("jpeg", None)]
    plt = style.pyplot()
    fig, axes = plt.subplots(len(shown), len(cols), figsize=(2.3 * len(cols), 1.95 * len(shown) + 0.3), squeeze=False)
    for row, rate in zip(axes, shown):
        unet_bpp = next(e["bpp"] for e in record["unet"]["rates"] if e["target_bpp"] == rate)
        for ax, (what, model) in zip(row, cols):
            ax.set_axis_off()
            if what == "original":
                ax.imshow(pixels, interpolation="nearest")
                ax.set_title(f"original ({rate:g} bpp row)", fontsize=7)
                continue
            if what == "jpeg":
                fits = [b for b in jpeg if b[1] <= unet_bpp]
                if not fits:
                    ax.set_title(f"JPEG: none <= {unet_bpp:.2f} bpp", fontsize=7)
                    continue
                q, bpp, psnr, _, img = max(fits, key=lambda b: b[1])
                ax.imshow(img, interpolation="nearest")
                ax.set_title(f"JPEG q{q} {bpp:.2f} bpp {psnr:.1f} dB", fontsize=7)
                continue
            rep, spec, folder = runs[model]
            entry = next(e for e in record[model]["rates"] if e["target_bpp"] == rate)
            stream = (folder / "streams" / f"{stem}.dfrc").read_bytes()
            y = decode_image(stream, spec, method=what, prefix_steps=entry["steps"],
                             rng=rep["settings"]["seed"] + index)
            y8 = image_files.to_uint8(y)[0]
            psnr = metrics.psnr_db(x, image_files.from_uint8(y8))
            ax.imshow(y8, interpolation="nearest")
            tag = "F" if what == "flow" else "A"
            ax.set_title(f"{MODELS[model]} DiffC-{tag}\n{entry['bpp']:.2f} bpp {psnr:.1f} dB", fontsize=7)
    fig.tight_layout()
    target = pathlib.Path(out_dir) / NAME / f"{stem}_unet_vs_oracle.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    evaluate._save_figure(fig, target)
    return target
