"""Evaluate DiffC on a folder of photographs, beside JPEG, WebP and the stationary model's closed forms.

    python -m empirical.images --images DIR --scale 1/8 --rates 0.25,0.5,1,2 --workers 2 --out results/
    python -m empirical.images --images DIR --scale 1/8 --format json > kodak.json

Each PNG/JPEG of ``--images`` (sorted by name) is area-downsampled by the
integer factor of ``--scale 1/N`` (mean over N x N blocks, rounded to 8 bits:
the original the codecs see) and coded with ``--model oracle:stationary`` as
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
given x; sum KL: the per-coefficient residuals' own spread). Per decoder and
rate over the set: the realism proxies (radial power-spectrum error in dB and
sliced W2 of 8x8 patches) of the reconstructions of the even-numbered images
against the originals of the odd-numbered ones and vice versa; their
reference value is the same distance between the two halves of originals.
JPEG (Pillow, optimised Huffman tables, 4:2:0) and WebP (Pillow, method 6)
are measured at a quality sweep on the same originals, with real file sizes.

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
import pathlib
import sys

import numpy as np

from empirical import _cli

__all__ = ["build_parser", "run", "main", "downsample", "load_folder", "evaluate_image", "jpeg_webp", "summarise"]

DECODERS = ("flow", "ancestral", "mean")
JPEG_QUALITIES = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_QUALITIES = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
Z_95 = 1.959963984540054
MAX_IMAGES = 1000

FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "images", "scale", "rates", "workers", "steps", "seed", "format", "out", "plot", "limit")}


def build_parser():
    """The command-line parser."""
    p = _cli.parser("python -m empirical.images", __doc__)
    p.add_argument("--images", required=True, help="folder of PNG/JPEG photographs (e.g. Kodak)")
    p.add_argument("--scale", default="1/8", help="area-downsampling factor 1/N, N a positive integer (default: %(default)s)")
    p.add_argument("--rates", default="0.25,0.5,1,2", help="target bits per pixel, comma-separated (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, help="only the first N images (default: all)")
    p.add_argument("--steps", type=int, default=32, help="grid points of the chain (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="the streams' shared seed (default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="images coded in parallel processes (default: %(default)s)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="stdout format (default: %(default)s)")
    p.add_argument("--out", default=None, help="also write the records and report.json into this folder")
    p.add_argument("--plot", default=None, help="also draw the curves into this PNG (needs matplotlib)")
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


def _closed_forms(model, x, log_snr, kl_per_coefficient):
    """Expected squared errors (and variances) of the decoders and the sum-KL z-score, given ``x``."""
    from gaussian import components

    snr = math.exp(log_snr)
    c = model.to_eigen((x.reshape(-1) - model.mean)[None, :])[0]
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


def evaluate_image(name, pixels, rates, steps, seed):
    """Everything measured on one image: ``(record, {(decoder, rate): uint8 reconstruction})``."""
    from empirical import image_files
    from empirical.codec import decode_latent, encode_image_detailed, read_header, reconstruct

    from . import metrics

    x = image_files.from_uint8(pixels)
    pixel_count = x.shape[0] * x.shape[1]
    result, model, _ = encode_image_detailed(x, bpp=max(rates), num_steps=steps, seed=seed)
    record = {"image": name, "shape": list(x.shape), "steps_in_stream": result.num_steps_coded,
              "stream_bpp": result.coded_bits_total / pixel_count, "budget_bits": result.budget_bits, "rates": []}
    recons = {}
    for rate in rates:
        k = _prefix_steps(result, rate * pixel_count)
        if k == 0:
            record["rates"].append({"target_bpp": rate, "steps": 0, "reachable": False})
            continue
        latent = decode_latent(result.data, model, k)
        prefix_bits = 8 * len(read_header(result.data).prefix(k).to_bytes())
        kl_coeff = result.kl_bits_per_coefficient[:k].sum(axis=0)
        forms, expected_kl, kl_z = _closed_forms(model, x, latent.log_snr, kl_coeff)
        entry = {"target_bpp": rate, "steps": k, "reachable": True, "log_snr": latent.log_snr,
                 "bpp": prefix_bits / pixel_count, "ideal_bpp": float(kl_coeff.sum()) / pixel_count,
                 "kl_bits": float(kl_coeff.sum()), "kl_bits_expected": expected_kl, "kl_z": kl_z, "decoders": {}}
        for method in DECODERS:
            y = reconstruct(latent, model, method, rng=seed)
            sq = float(np.sum((y - x) ** 2))
            mean, var = forms[method]
            y8 = image_files.from_uint8(image_files.to_uint8(y)[0])
            entry["decoders"][method] = {
                "psnr_db": metrics.psnr_db(x, y8), "ms_ssim": metrics.ms_ssim(x, y8),
                "sq_err": sq, "sq_err_expected": mean, "sq_err_z": (sq - mean) / math.sqrt(var),
                "psnr_db_expected": float(10.0 * np.log10(4.0 * x.size / mean)),
            }
            recons[(method, rate)] = image_files.to_uint8(y)[0]
        record["rates"].append(entry)
    return record, recons


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


def _work(task):
    name, pixels, rates, steps, seed = task
    record, recons = evaluate_image(name, pixels, rates, steps, seed)
    return record, recons, jpeg_webp(pixels)


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


def summarise(records, recons, baselines, originals, rates) -> dict:
    """The report: CompressAI records per method, reference realism values, the closed-form check."""
    from . import metrics

    out_methods = []
    n = len(records)
    from empirical import image_files

    orig_float = [image_files.from_uint8(o) for o in originals]
    even, odd = orig_float[0::2], orig_float[1::2]
    reference = {"spectrum_error_db": metrics.spectrum_error_db(even, odd) if odd else None,
                 "sliced_w2": metrics.sliced_w2(even, odd) if odd else None}
    for method in DECODERS:
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
            res["psnr-rgb-closed-form"].append(
                float(np.mean([e["decoders"][method]["psnr_db_expected"] for e in entries])))
            spec, w2 = _realism([recons[j][(method, rate)] for j in range(n)], originals)
            res["spectrum-error-db"].append(spec)
            res["sliced-w2"].append(w2)
        label = {"flow": "DiffC-F", "ancestral": "DiffC-A", "mean": "DiffC posterior mean"}[method]
        out_methods.append({"name": f"diffc-{method}", "description": (
            f"{label}, stationary Gaussian oracle, one progressive stream per image, prefixes at the target rates; "
            "bpp: real bits of the file (header included); ideal-bpp: realised sum KL"), "results": res})
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
    check = {}
    points = [e for r in records for e in r["rates"] if e["reachable"]]
    for key in ("kl",) + DECODERS:
        zs = [e["kl_z"] if key == "kl" else e["decoders"][key]["sq_err_z"] for e in points]
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
            tag = f"{r['target-bpp'][i]:>6g}" if "target-bpp" in r else f"q{r['quality'][i]:<5d}"
            ideal = f"{r['ideal-bpp'][i]:6.3f}" if "ideal-bpp" in r else "     -"
            closed = f"{r['psnr-rgb-closed-form'][i]:8.2f}" if "psnr-rgb-closed-form" in r else "       -"
            lines.append(f"{m['name']:<15} {tag} {r['bpp'][i]:6.3f} {ideal} {r['psnr-rgb'][i]:8.2f} {closed}      "
                         f"{r['ms-ssim-rgb'][i]:7.4f} {_num(r['spectrum-error-db'][i], 11, 2)} "
                         f"{_num(r['sliced-w2'][i], 10, 4)}")
    ref = report["reference_originals"]
    lines.append(f"originals (one half against the other): spectrum {_num(ref['spectrum_error_db'], 0, 2)} dB, "
                 f"sliced W2 {_num(ref['sliced_w2'], 0, 4)}")
    for key, c in report["closed_form_check"].items():
        lines.append(f"closed form given x, {key}: {c['inside_95']}/{c['points']} points inside the 95% interval, "
                     f"mean z {c['mean_z']:+.2f}, max |z| {c['max_abs_z']:.2f}")
    return "\n".join(lines)


def _num(value, width, digits) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def _plot(report, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = (("psnr-rgb", "PSNR (dB)"), ("ms-ssim-rgb", "MS-SSIM"), ("spectrum-error-db", "spectrum error (dB)"),
            ("sliced-w2", "sliced W2 of 8x8 patches"))
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    for ax, (key, label) in zip(axes, keys):
        for m in report["methods"]:
            r = m["results"]
            ax.plot(r["bpp"], r[key], marker="o", ms=3, label=m["name"])
            if key == "psnr-rgb" and "ideal-bpp" in r and m["name"] == "diffc-flow":
                ax.plot(r["ideal-bpp"], r[key], ls="--", marker="x", ms=3, label="diffc-flow at ideal bpp")
        if key in ("spectrum-error-db", "sliced-w2"):
            ref = report["reference_originals"]["spectrum_error_db" if key == "spectrum-error-db" else "sliced_w2"]
            if ref is not None:
                ax.axhline(ref, color="k", lw=0.8, ls=":", label="originals vs originals")
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.set_xlim(0, 2.5)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    with _cli.atomic_output(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def run(args) -> dict:
    """Evaluate as the parsed ``args`` say; return the report."""
    import json

    factor = _scale_factor(args.scale)
    rates = _rates(args.rates)
    if args.workers < 1:
        raise ValueError(f"workers: must be >= 1, got {args.workers}")
    if not 2 <= args.steps <= 4096:
        raise ValueError(f"num_steps: must be in 2..4096, got {args.steps}")
    if args.out is not None:
        try:
            pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"out: cannot make the folder {args.out}: {err.strerror or err}") from None
        _cli.check_outputs((str(pathlib.Path(args.out) / "report.json"), "--out"))
    if args.plot is not None:
        _cli.check_outputs((args.plot, "--plot"))
    images = load_folder(args.images, factor, args.limit)
    tasks = [(name, pixels, rates, args.steps, args.seed) for name, pixels in images]
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), desc="images", unit="image", disable=None if args.progress else True, leave=False)
    if args.workers == 1:
        results = []
        for task in tasks:
            results.append(_work(task))
            bar.update(1)
    else:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
            results = []
            for result in pool.map(_work, tasks):
                results.append(result)
                bar.update(1)
    bar.close()
    records = [r[0] for r in results]
    recons = [r[1] for r in results]
    baselines = [r[2] for r in results]
    report = summarise(records, recons, baselines, [p for _, p in images], rates)
    report["settings"] = {"images": str(args.images), "scale": f"1/{factor}", "rates": rates, "steps": args.steps,
                          "seed": args.seed, "num_images": len(images), "model": "oracle:stationary"}
    if args.out is not None:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for m in report["methods"]:
            _cli.write_report(out / f"{m['name']}.json", m)
        _cli.write_report(out / "report.json", report)
    if args.plot is not None:
        _plot(report, args.plot)
    if args.format == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print(_table(report))
    return report


def main(argv=None) -> int:
    """Command-line entry point: 0 on success; bad input prints one line and exits with status 2."""
    return _cli.main(build_parser, run, FLAGS, argv)
