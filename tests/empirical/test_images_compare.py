"""``python -m empirical.images.compare``: paired PSNR differences of two image reports at equal bits."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from empirical.images import compare


def _entry(target, bpp, ideal, psnr, expected=None):
    decoders = {}
    for i, name in enumerate(compare.DECODERS):
        exp = None if expected is None else expected[i]
        decoders[name] = {"psnr_db": psnr[i], "psnr_db_expected": exp}
    return {"target_bpp": target, "reachable": True, "bpp": bpp, "ideal_bpp": ideal, "decoders": decoders}


def _report(images, model="m"):
    """``images``: {name: [(target, bpp, ideal, (psnr flow, ancestral, mean)), ...]}."""
    per_image = [{"image": name, "rates": [_entry(*pt) for pt in pts]} for name, pts in images.items()]
    return {"settings": {"model": model, "num_images": len(images), "ideal": False}, "per_image": per_image,
            "methods": [], "reference_originals": None}


def test_interpolation_is_linear_in_log_bpp():
    pts = [(0.1, 10.0), (0.4, 16.0), (1.6, 19.0)]
    # log-midpoint of 0.1 and 0.4 is 0.2: halfway between 10 and 16
    assert compare.interpolate_psnr(pts, 0.2) == pytest.approx(13.0, abs=1e-12)
    assert compare.interpolate_psnr(pts, 0.8) == pytest.approx(17.5, abs=1e-12)
    assert compare.interpolate_psnr(pts, 0.4) == pytest.approx(16.0, abs=1e-12)
    assert compare.interpolate_psnr(pts, 0.09) is None and compare.interpolate_psnr(pts, 1.7) is None


def test_paired_difference_mean_se_and_left_out():
    """B's curve on each image is a straight line in log bpp, so the interpolation is exact: A - B is known."""
    rng = np.random.default_rng(0)
    a_images, b_images, want = {}, {}, []
    for i in range(5):
        slope, offset, shift = 3.0 + i, 20.0 + i, float(rng.normal(1.0, 0.5))
        line = lambda b: offset + slope * math.log(b)  # noqa: E731
        b_images[f"im{i}"] = [(t, t, t / 4, (line(t), line(t) - 2, line(t) + 1)) for t in (0.25, 0.5, 1.0, 2.0)]
        a_images[f"im{i}"] = [(0.5, 0.6, 0.2, (line(0.6) + shift, 0.0, 0.0)), (2.0, 2.5, 0.9, (0.0, 0.0, 0.0))]
        want.append(shift)
    rows = compare.paired_differences(_report(a_images), _report(b_images), "bpp")
    flow = {r["target_bpp"]: r for r in rows if r["decoder"] == "flow"}
    assert flow[0.5]["images"] == 5 and flow[0.5]["left_out"] == 0
    assert flow[0.5]["diff_db"] == pytest.approx(np.mean(want), abs=1e-12)
    assert flow[0.5]["se_db"] == pytest.approx(np.std(want, ddof=1) / math.sqrt(5), abs=1e-12)
    assert flow[0.5]["bpp"] == pytest.approx(0.6)
    # 2.5 bpp lies above every B point: left out, never extrapolated
    assert flow[2.0]["images"] == 0 and flow[2.0]["left_out"] == 5 and flow[2.0]["diff_db"] is None
    # at the ideal bpp (0.2 for A, B's ideal points t/4 = 0.0625..0.5): interpolated on B's ideal curve
    ideal = {r["target_bpp"]: r for r in compare.paired_differences(_report(a_images), _report(b_images), "ideal_bpp")
             if r["decoder"] == "flow"}
    assert ideal[0.5]["images"] == 5


def test_decoder_gap_and_its_closed_form():
    images = {f"im{i}": [(1.0, 1.0, 0.5, (25.0 + i, 23.0 + i, 26.0), (24.9, 23.1, 26.0))] for i in range(3)}
    (row,) = compare.decoder_gaps(_report(images))
    assert row["gap_db"] == pytest.approx(2.0) and row["se_db"] == pytest.approx(0.0, abs=1e-12)
    assert row["closed_form_gap_db"] == pytest.approx(1.8)
    no_forms = {"im0": [(1.0, 1.0, 0.5, (25.0, 23.0, 26.0))]}
    assert compare.decoder_gaps(_report(no_forms))[0]["closed_form_gap_db"] is None


def test_baselines_interpolated_at_the_mean_bpp():
    """JPEG's mean curve is a line in log bpp here, so its value at DiffC-F's mean bpp is known; WebP's sweep does
    not reach that bpp: None."""
    line = lambda b: 30.0 + 4.0 * math.log(b)  # noqa: E731
    report = _report({})
    report["methods"] = [
        {"name": "diffc-flow", "results": {"target-bpp": [1.0], "bpp": [0.9], "psnr-rgb": [24.0]}},
        {"name": "jpeg", "results": {"bpp": [2.0, 0.5, 1.0], "psnr-rgb": [line(2.0), line(0.5), line(1.0)]}},
        {"name": "webp", "results": {"bpp": [1.2, 2.0], "psnr-rgb": [30.0, 32.0]}}]
    (row,) = compare.baseline_rows(report)
    assert row["jpeg_db"] == pytest.approx(line(0.9), abs=1e-12) and row["webp_db"] is None
    assert row["psnr_db"] == 24.0 and row["bpp"] == 0.9


def test_cli_prints_and_writes_json(tmp_path):
    images = {"im0": [(0.5, 0.5, 0.2, (20.0, 18.0, 21.0)), (1.0, 1.0, 0.5, (24.0, 22.0, 25.0))]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_report(images)))
    out = tmp_path / "c.json"
    proc = subprocess.run([sys.executable, "-m", "empirical.images.compare", str(path), str(path), "--json", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "A minus B" in proc.stdout and "DiffC-F minus DiffC-A" in proc.stdout
    assert json.loads(out.read_text())["paired_real_bpp"][0]["diff_db"] == pytest.approx(0.0)


def test_cli_refuses_a_file_that_is_not_a_report(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{\"a\": 1}")
    proc = subprocess.run([sys.executable, "-m", "empirical.images.compare", str(bad), str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "not a report.json" in proc.stderr


def test_realism_rows_pair_the_same_decoder_across_schedules():
    """An rdp report's diffc-flow-rdp-ideal row is printed beside the isotropic report's diffc-flow-ideal row of the
    same target (its spectrum error and sliced W2), not beside nothing; another decoder's numbers are not used."""
    def report(suffix, spectrum, w2):
        r = _report({"im0": [(1.0, 1.0, 0.5, (24.0, 22.0, 25.0))]})
        r["methods"] = [{"name": f"diffc-{d}{suffix}-ideal",
                         "results": {"target-bpp": [1.0], "bpp": [1.0], "psnr-rgb": [24.0], "spectrum-error-db": [spectrum + i],
                                     "sliced-w2": [w2 + i]}} for i, d in enumerate(("flow", "ancestral"))]
        return r

    text = compare.format_comparison(compare.compare(report("-rdp", 0.25, 0.125), report("", 0.5, 0.375)))
    flow = next(line for line in text.splitlines() if line.startswith("diffc-flow-rdp-ideal"))
    assert flow.split()[-3:] == ["1.000", "0.50", "0.3750"]
