"""Two runs of ``python -m empirical.images`` on the same photographs, compared at equal bits.

    python -m empirical.images.compare unet/report.json oracle/report.json
    python -m empirical.images.compare unet/report.json oracle/report.json --json compare.json

The reports are the ``report.json`` files that ``python -m empirical.images ... --out DIR`` writes (the first is
called A, the second B). For every image both coded (matched by file name) and every reachable rate point of A,
the PSNR of each DiffC decoder of B is interpolated at A's bits per pixel: linearly in ``log bpp`` between the
two rate points of B on that image that bracket it (no extrapolation: a point of A outside B's range on that
image is left out, and counted). Per decoder and target rate: the mean bpp of A's points, the paired PSNR
difference A - B in dB, its standard error over the images and the number of images; once at the files' real
bits and once at the chains' realised sum KL (the ideal rate of the same streams). Realism rows pair the two
reports' records of the same decoder and target rate, whatever their noise schedules.

Per report and target rate it also gives the DiffC-F minus DiffC-A gap (mean and standard error over the
images) beside its closed form where the report has one (an exact Gaussian oracle: the mean over the images of
the difference of the two decoders' expected PSNRs given x), DiffC-F's mean PSNR beside the JPEG and WebP
quality sweeps' mean curves interpolated at its mean bpp, and the realism proxies of both reports (spectrum
error in dB and sliced W2 of 8x8 patches: set-level numbers, at each target rate).
"""
from __future__ import annotations

import math

import numpy as np

from empirical import _cli

__all__ = ["interpolate_psnr", "paired_differences", "decoder_gaps", "baseline_rows", "realism_rows", "compare",
           "build_parser", "run", "main"]

DECODERS = ("flow", "ancestral", "mean")
KEYS = ("bpp", "ideal_bpp")
_REL_TOL = 1e-9


def _points(record: dict, decoder: str, key: str) -> list:
    """Sorted ``(bpp, psnr)`` of the reachable rate points of one per-image record."""
    pts = [(float(e[key]), float(e["decoders"][decoder]["psnr_db"])) for e in record["rates"]
           if e.get("reachable") and e[key] > 0]
    return sorted(pts)


def interpolate_psnr(points, bpp: float):
    """PSNR at ``bpp`` from sorted ``(bpp, psnr)`` points, linear in ``log bpp``; ``None`` outside their range.

    >>> interpolate_psnr([(0.25, 20.0), (1.0, 26.0)], 0.5)
    23.0
    >>> interpolate_psnr([(0.25, 20.0), (1.0, 26.0)], 2.0) is None
    True
    """
    if not points or bpp <= 0:
        return None
    xs = np.log([b for b, _ in points])
    ys = np.array([p for _, p in points])
    x = math.log(bpp)
    if x < xs[0] - _REL_TOL or x > xs[-1] + _REL_TOL:
        return None
    return float(np.interp(x, xs, ys))


def _by_image(report: dict) -> dict:
    if "per_image" not in report:
        raise ValueError("reports: each must be a report.json of python -m empirical.images (no 'per_image' found)")
    return {r["image"]: r for r in report["per_image"]}


def _mean_se(values) -> tuple:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return None, None
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else None
    return float(values.mean()), se


def paired_differences(report_a: dict, report_b: dict, key: str = "bpp") -> list:
    """Rows ``{decoder, target_bpp, images, left_out, bpp, diff_db, se_db}``: A's PSNR minus B's at A's bits."""
    if key not in KEYS:
        raise ValueError(f"key: expected one of {', '.join(KEYS)}, got {key!r}")
    a, b = _by_image(report_a), _by_image(report_b)
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("reports: no image appears in both")
    rows = []
    for decoder in DECODERS:
        targets = sorted({e["target_bpp"] for name in common for e in a[name]["rates"] if e.get("reachable")})
        for target in targets:
            diffs, bpps, left_out = [], [], 0
            for name in common:
                entry = next((e for e in a[name]["rates"] if e["target_bpp"] == target and e.get("reachable")), None)
                if entry is None:
                    continue
                other = interpolate_psnr(_points(b[name], decoder, key), float(entry[key]))
                if other is None:
                    left_out += 1
                    continue
                diffs.append(entry["decoders"][decoder]["psnr_db"] - other)
                bpps.append(entry[key])
            mean, se = _mean_se(diffs)
            rows.append({"decoder": decoder, "target_bpp": target, "images": len(diffs), "left_out": left_out,
                         "bpp": float(np.mean(bpps)) if bpps else None, "diff_db": mean, "se_db": se})
    return rows


def decoder_gaps(report: dict) -> list:
    """Rows ``{target_bpp, images, bpp, gap_db, se_db, closed_form_gap_db}``: DiffC-F minus DiffC-A PSNR."""
    rows = []
    records = list(_by_image(report).values())
    targets = sorted({e["target_bpp"] for r in records for e in r["rates"] if e.get("reachable")})
    for target in targets:
        entries = [e for r in records for e in r["rates"] if e["target_bpp"] == target and e.get("reachable")]
        gaps = [e["decoders"]["flow"]["psnr_db"] - e["decoders"]["ancestral"]["psnr_db"] for e in entries]
        expected = [(e["decoders"]["flow"]["psnr_db_expected"], e["decoders"]["ancestral"]["psnr_db_expected"])
                    for e in entries]
        closed = None
        if expected and all(f is not None and a is not None for f, a in expected):
            closed = float(np.mean([f - a for f, a in expected]))
        mean, se = _mean_se(gaps)
        rows.append({"target_bpp": target, "images": len(gaps), "bpp": float(np.mean([e["bpp"] for e in entries])),
                     "gap_db": mean, "se_db": se, "closed_form_gap_db": closed})
    return rows


def realism_rows(report: dict) -> list:
    """Rows ``{method, target_bpp, bpp, spectrum_error_db, sliced_w2}`` of the DiffC records of a report."""
    rows = []
    for m in report["methods"]:
        r = m["results"]
        if "target-bpp" not in r:
            continue
        for i, target in enumerate(r["target-bpp"]):
            rows.append({"method": m["name"], "target_bpp": target, "bpp": r["bpp"][i],
                         "spectrum_error_db": r["spectrum-error-db"][i], "sliced_w2": r["sliced-w2"][i]})
    return rows


def baseline_rows(report: dict) -> list:
    """Rows ``{target_bpp, bpp, psnr_db, jpeg_db, webp_db}``: a report's mean DiffC-F PSNR at each target rate and the
    JPEG and WebP quality sweeps' mean curves (means over the images at each quality) interpolated in ``log bpp`` at
    its mean bpp (``None`` outside a sweep's range)."""
    methods = {m["name"]: m["results"] for m in report["methods"]}
    flow = next((r for name, r in methods.items() if name.startswith("diffc-flow")), None)  # also -ideal, -rdp
    if flow is None:
        return []
    rows = []
    for target, bpp, psnr in zip(flow["target-bpp"], flow["bpp"], flow["psnr-rgb"]):
        row = {"target_bpp": target, "bpp": bpp, "psnr_db": psnr}
        for codec in ("jpeg", "webp"):
            r = methods.get(codec)
            row[f"{codec}_db"] = None if r is None else interpolate_psnr(sorted(zip(r["bpp"], r["psnr-rgb"])), bpp)
        rows.append(row)
    return rows


def compare(report_a: dict, report_b: dict) -> dict:
    """Everything the command prints, as a dict (JSON-ready)."""
    def describe(report):
        s = report.get("settings", {})
        return {"model": s.get("model"), "images": s.get("num_images"), "scale": s.get("scale"),
                "ideal": s.get("ideal"), "reference_originals": report.get("reference_originals")}

    return {"a": describe(report_a), "b": describe(report_b),
            "paired_real_bpp": paired_differences(report_a, report_b, "bpp"),
            "paired_ideal_bpp": paired_differences(report_a, report_b, "ideal_bpp"),
            "gaps_a": decoder_gaps(report_a), "gaps_b": decoder_gaps(report_b),
            "baselines_a": baseline_rows(report_a), "baselines_b": baseline_rows(report_b),
            "realism_a": realism_rows(report_a), "realism_b": realism_rows(report_b)}


def _decoder_method(name: str) -> str:
    """A report's method name without its schedule (``diffc-flow-rdp-ideal`` -> ``diffc-flow-ideal``): the realism
    rows of two reports pair by decoder, bit accounting and target rate, whatever their schedules."""
    return name.replace("-rdp", "")


def _num(value, spec: str) -> str:
    return "-".rjust(len(format(0.0, spec))) if value is None else format(value, spec)


def format_comparison(result: dict) -> str:
    """The tables of :func:`compare`'s result."""
    a, b = result["a"]["model"], result["b"]["model"]
    lines = [f"A = {a}, B = {b}"]
    for key, title in (("paired_real_bpp", "real bpp (file)"), ("paired_ideal_bpp", "ideal bpp (sum KL)")):
        lines.append(f"PSNR of A minus B at A's {title}; B interpolated in log bpp on the same image")
        lines.append(f"{'decoder':<10} {'target':>6} {'bpp':>7} {'A-B dB':>7} {'se':>6} {'images':>6} {'left out':>8}")
        for r in result[key]:
            lines.append(f"{r['decoder']:<10} {r['target_bpp']:>6g} {_num(r['bpp'], '7.3f')} "
                         f"{_num(r['diff_db'], '+7.2f')} {_num(r['se_db'], '6.2f')} {r['images']:>6d} {r['left_out']:>8d}")
    for side, model in (("a", a), ("b", b)):
        lines.append(f"DiffC-F minus DiffC-A, {model}")
        lines.append(f"{'target':>6} {'bpp':>7} {'gap dB':>7} {'se':>6} {'closed form':>11}")
        for r in result[f"gaps_{side}"]:
            lines.append(f"{r['target_bpp']:>6g} {r['bpp']:7.3f} {_num(r['gap_db'], '+7.2f')} {_num(r['se_db'], '6.2f')} "
                         f"{_num(r['closed_form_gap_db'], '+11.2f')}")
        lines.append(f"DiffC-F, {model}, beside JPEG and WebP at its mean bpp (their mean curves, interpolated)")
        lines.append(f"{'target':>6} {'bpp':>7} {'DiffC-F':>8} {'JPEG':>7} {'WebP':>7}")
        for r in result[f"baselines_{side}"]:
            lines.append(f"{r['target_bpp']:>6g} {r['bpp']:7.3f} {r['psnr_db']:8.2f} {_num(r['jpeg_db'], '7.2f')} "
                         f"{_num(r['webp_db'], '7.2f')}")
    lines.append("realism proxies (lower is closer to the originals)")
    lines.append(f"{'method':<18} {'target':>6} {'bpp A':>7} {'spectrum dB A':>13} {'W2 A':>7} {'bpp B':>7} "
                 f"{'spectrum dB B':>13} {'W2 B':>7}")
    rows_b = {(_decoder_method(r["method"]), r["target_bpp"]): r for r in result["realism_b"]}
    for r in result["realism_a"]:
        o = rows_b.get((_decoder_method(r["method"]), r["target_bpp"]), {})
        lines.append(f"{r['method']:<18} {r['target_bpp']:>6g} {r['bpp']:7.3f} {_num(r['spectrum_error_db'], '13.2f')} "
                     f"{_num(r['sliced_w2'], '7.4f')} {_num(o.get('bpp'), '7.3f')} "
                     f"{_num(o.get('spectrum_error_db'), '13.2f')} {_num(o.get('sliced_w2'), '7.4f')}")
    for side in ("a", "b"):
        ref = result[side]["reference_originals"] or {}
        lines.append(f"originals vs originals ({side.upper()}): spectrum {_num(ref.get('spectrum_error_db'), '.2f')} dB, "
                     f"sliced W2 {_num(ref.get('sliced_w2'), '.4f')}")
    return "\n".join(lines)


def build_parser():
    """The command-line parser."""
    p = _cli.parser("python -m empirical.images.compare", __doc__)
    p.add_argument("a", help="report.json of the first run (A)")
    p.add_argument("b", help="report.json of the second run (B), on the same images")
    p.add_argument("--json", help="also write the comparison as JSON to this path")
    return p


def _load(path: str, flag: str) -> dict:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as err:
        raise ValueError(f"{flag}: cannot read {path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{flag}: {path} is not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(report, dict) or "per_image" not in report or "methods" not in report:
        raise ValueError(f"{flag}: {path} is not a report.json of python -m empirical.images")
    return report


def run(args) -> dict:
    """Compare as the parsed ``args`` say; print the tables and return the result."""
    _cli.check_outputs((args.json, "--json"))
    result = compare(_load(args.a, "a"), _load(args.b, "b"))
    print(format_comparison(result))
    if args.json:
        _cli.write_report(args.json, result)
    return result


FLAGS = {"json": "--json", "a": "A", "b": "B", "reports": "A, B"}


def main(argv=None) -> int:
    """Command-line entry point: 0 on success; bad input prints one line and exits with status 2."""
    return _cli.main(build_parser, run, FLAGS, argv)


if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, prog="python -m empirical.images.compare")
