"""The benchmark CLI ``python -m empirical.rcc_bench``: JSON output, one-line errors, no torch."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from empirical import rcc_bench

REPO = pathlib.Path(__file__).resolve().parents[2]
SMALL = ["--kl-totals", "10,40", "--max-dims", "64", "--budget-bits", "4", "--padding-bits", "4",
         "--fidelity-trials", "30", "--fidelity-paddings", "0,3", "--fidelity-dims", "3", "--unequal-std"]


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
    assert result["throughput"]["candidates_per_s"] > 0


def test_table_report(capsys):
    """The default format is a text table with the three sections."""
    assert rcc_bench.main(SMALL) == 0
    out = capsys.readouterr().out
    assert "coded bits" in out and "fidelity" in out and "throughput" in out


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
            "import empirical.rcc, empirical.bitstream\nprint('torch' in sys.modules)")
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
