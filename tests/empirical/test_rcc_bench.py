"""The benchmark CLI ``python -m empirical.rcc_bench``: JSON output, one-line errors, no torch."""
import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

from empirical import rcc_bench as entry
from empirical.rcc import bench as rcc_bench
from empirical.rcc import frontier

REPO = pathlib.Path(__file__).resolve().parents[2]
SMALL = ["--kl-totals", "10,40", "--max-dims", "64", "--budget-bits", "4", "--padding-bits", "4",
         "--fidelity-trials", "30", "--fidelity-paddings", "0,3", "--fidelity-dims", "3", "--unequal-std", "--quick",
         "--no-progress", "--workers", "2"]


def test_json_report(capsys):
    """A small run: every row round-trips exactly, coded bits >= KL - 8 (a segment carries the KL up to byte
    rounding and coding luck), overheads are consistent, and the naive sampler's tail bound is the largest."""
    assert rcc_bench.main(SMALL + ["--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"config", "rate", "fidelity", "throughput"} <= set(result)
    assert len(result["rate"]) == 4
    for row in result["rate"]:
        assert row["round_trip_exact"]
        assert row["coded_bits"] >= row["kl_bits_total"] - 8
        assert row["overhead_bits_total"] == pytest.approx(row["coded_bits"] - row["kl_bits_total"])
        assert row["tv_bound_exact"] == (row["std"] == "equal")
    fid = {r["padding_bits"]: r for r in result["fidelity"]}
    assert fid[0]["tv_bound"] > fid[3]["tv_bound"] and fid[0]["sampler"].startswith("naive")
    thr = result["throughput"]
    rates = [g["normals_per_s"] for g in thr["generators"]]
    assert thr["floor"]["normals_per_s"] == max(rates) and len(rates) >= 9
    assert thr["sampler_over_floor"] == pytest.approx(thr["sampler_coordinates_per_s_one_core"] / max(rates))
    assert any(g["name"].startswith("this package") and g["qualifies"] for g in thr["generators"])


def test_table_report(capsys):
    """The default format is a text table with the three sections."""
    assert rcc_bench.main(SMALL) == 0
    out = capsys.readouterr().out
    assert "coded bits" in out and "fidelity" in out and "floor:" in out and "of the floor" in out


@pytest.mark.parametrize("argv", [
    ["--budget-bits", "0", "--kl-totals", "10"],
    ["--fidelity-kl-bits", "9", "--budget-bits", "4", "--kl-totals", "10", "--fidelity-trials", "2"],
    ["--kl-totals", "1000", "--max-dims", "10"],
])
def test_bad_values_give_one_line_error(argv, capsys):
    """Library ValueErrors become one line on stderr and exit status 2."""
    assert rcc_bench.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m empirical.rcc_bench: error:")


def test_bad_syntax_exits_2_with_one_line(capsys):
    """Argument syntax errors exit with status 2 and a single line, no usage dump or traceback."""
    with pytest.raises(SystemExit) as exc:
        rcc_bench.main(["--kl-totals", "ten"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--kl-totals" in err


def test_cli_does_not_import_torch():
    """Light imports: running the benchmark module never imports torch."""
    code = ("import sys, runpy; sys.argv = ['x', '--help']\n"
            "try:\n    runpy.run_module('empirical.rcc_bench', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "import empirical.rcc, empirical.rcc.bitstream\nprint('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_exact_pfr_column_interpolates_the_exact_entropy():
    """Identity within 0.01 bits: the benchmark's interpolated H(K) - KL equals rcc.pfr_index_entropy_bits - KL
    at chunk KLs from 0.02 bits to the budget."""
    import numpy as np

    from empirical import rcc

    kl = np.array([0.02, 0.07, 0.3, 1.1, 2.9, 5.5, 8.0])
    exact = rcc.pfr_index_entropy_bits(kl) - kl
    assert np.all(np.abs(rcc_bench.exact_pfr_overhead_bits(kl, 8) - exact) < 0.01)


def test_image_scale_report(capsys):
    """--image-scale --quick: one oracle chain on a 32x48x3 image, timed on 1 and 2 workers with the same stream."""
    assert rcc_bench.main(["--image-scale", "--quick", "--tail-target", "0.3", "--workers", "2", "--no-progress",
                           "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["image_scale"]
    assert [r["workers"] for r in rows] == [1, 2] and rows[0]["dims"] == 32 * 48 * 3
    assert rows[0]["coded_bits"] == rows[1]["coded_bits"] and rows[0]["kl_bits"] == rows[1]["kl_bits"]
    assert rows[0]["coded_over_kl"] == pytest.approx(rows[0]["coded_bits"] / rows[0]["kl_bits"])
    # the idealised coder (rcc.limits): its expected KLs sum to I(X; Z) (the chain rule), its limits are brackets,
    # and a lower rate needs more coordinates
    ideal = result["idealised"]
    assert ideal["tail_target"] == 0.3 and ideal["expected_kl_bits"] == pytest.approx(rows[0]["predicted_kl_bits"], rel=1e-9)
    limits = ideal["compute_limits"]
    assert len(limits) >= 3
    for name in ("free", "one_kl_per_step"):
        assert ideal[f"{name}_rate_lower_at_run"] <= ideal[f"{name}_rate_upper_at_run"]
        assert all(r[f"{name}_coordinates_lower"] <= r[f"{name}_coordinates_upper"] for r in limits)
        assert all(a[f"{name}_coordinates_lower"] > b[f"{name}_coordinates_lower"] for a, b in zip(limits, limits[1:]))
    # one chunk KL per step restricts the free choice: it never needs fewer coordinates
    assert all(r["one_kl_per_step_coordinates_upper"] >= r["free_coordinates_lower"] for r in limits)


def test_reference_chunk_sizes_follow_the_reference_rule():
    """ceil(D) + 2 m bits over m = ceil(ceil(D) / 14) chunks, as evenly as possible, each at most 16."""
    assert frontier.reference_chunk_bits(10.2) == [13]
    assert frontier.reference_chunk_bits(14.0) == [16]
    assert frontier.reference_chunk_bits(28.5) == [12, 12, 11]       # ceil = 29, m = 3: 35 bits
    for kl in (0.3, 7.0, 100.0, 1234.5):
        bits = frontier.reference_chunk_bits(kl)
        assert max(bits) <= 16 and max(bits) - min(bits) <= 1 and sum(bits) == math.ceil(kl) + 2 * len(bits)


def test_zipf_code_lengths_are_a_complete_code():
    """Kraft equality: sum_k 2^-len(k) = 1 for the truncated Zipf law."""
    import numpy as np

    lengths = np.array([frontier.zipf_code_length_bits(k, 1.3, 64) for k in range(64)])
    assert float(np.sum(2.0 ** -lengths)) == pytest.approx(1.0, rel=1e-12)
    assert np.all(np.diff(lengths) > 0)


def test_frontier_rows_on_a_small_step():
    """Both coders deliver one projection per chunk; heavy truncation (the reference point) shifts them below 0."""
    import numpy as np

    rng = np.random.default_rng(0)
    mu = rng.normal(size=400) * 0.35          # ~35 bits
    ref = frontier.reference(mu, 1, 2)
    ours = frontier.ours(mu, 1, 2, 8, 8, 0.02)
    assert ref[1] == pytest.approx(ours[1]) and len(ref[3]) == len(frontier.reference_chunk_bits(ref[1]))
    row = frontier.summarise("x", {}, [ref, ours])
    assert row["chunks"] == len(ref[3]) + len(ours[3]) and row["coded_over_kl"] > 0
    assert row["coded_over_kl_package_code"] == pytest.approx(ref[4] / ref[1])
    assert frontier.summarise("y", {}, [ours])["coded_over_kl_package_code"] is None


def test_reference_indices_in_the_package_code_cost_their_ideal_code_lengths():
    """``package_code_bits``: a real segment, within the range coder's few bits of the ideal code lengths."""
    import numpy as np

    from empirical.rcc import index_coding, partition

    rng = np.random.default_rng(5)
    for chunks in (1, 7, 60):
        indices = np.minimum(np.exp2(rng.uniform(8, 16, chunks)).astype(np.int64), 2**16 - 2)
        bits = frontier.package_code_bits(indices, 5000)
        ideal = (partition.mode_and_count_bits("equal", chunks, 5000) if chunks > 1 else 0.0) + float(
            np.sum(index_coding.index_code_length_bits(indices, 14, 2)))
        assert ideal - 1 <= bits <= ideal + 24


def test_tiny_kl_totals_are_refused(capsys):
    """A KL total that rounds to zero bits is refused in one line naming --kl-totals (the table divides by it)."""
    with pytest.raises(SystemExit) as exc:
        rcc_bench.main(["--kl-totals", "1e-300"])
    assert exc.value.code == 2 and "--kl-totals" in capsys.readouterr().err


def test_frontier_settings_are_parsed_and_checked(capsys):
    """--frontier-settings takes budget:padding:tail triples; a bad one is one line naming the flag."""
    assert rcc_bench._settings_list("16:8:0.3,8:12:none") == [(16, 8, 0.3), (8, 12, None)]
    with pytest.raises(SystemExit) as exc:
        rcc_bench.main(["--frontier", "--frontier-settings", "8:8:1.5"])
    assert exc.value.code == 2 and "--frontier-settings" in capsys.readouterr().err
