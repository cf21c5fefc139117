"""``python -m bounds``: JSON against independent closed forms, text output, and one-line errors."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from bounds.__main__ import main, parse_source
from bounds.sources import Discrete, GaussianMixture, Laplace, Product


def _rows(payload, snr_index=0):
    return payload["results"][snr_index]["rows"]


def test_json_for_gaussian_matches_closed_forms(capsys):
    """gaussian:2 at snr 1 and 10: I = 1/2 log2(1 + 2 snr) bits, mmse = 2/(1 + 2 snr); every checked row holds."""
    assert main(["--source", "gaussian:2", "--snr", "1", "10", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["dim"] == 1 and [r["snr"] for r in payload["results"]] == [1.0, 10.0]
    for i, snr in enumerate((1.0, 10.0)):
        rows = _rows(payload, i)
        info = [r for r in rows if r["quantity"] == "I(X;Z)"][0]
        assert info["value"] == pytest.approx(0.5 * math.log2(1 + 2 * snr), rel=1e-12)
        assert info["bound"] == pytest.approx(info["value"], rel=1e-12)   # Gaussian: bound attained
        mmse = [r for r in rows if r["quantity"] == "mmse"][0]
        assert mmse["value"] == pytest.approx(2 / (1 + 2 * snr), rel=1e-12)
        assert all(r["holds"] in (True, None) for r in rows)
        assert {r["kind"] for r in rows} == {"identity", "inequality", "limit"}


def test_text_output_and_iid_dimension(capsys):
    """Text table for laplace:1 --dim 3 has one block per snr and per-dimension values equal to the scalar ones."""
    assert main(["--source", "laplace:1", "--snr", "2", "--dim", "3", "--immse-integral"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("source laplace:1, dim 3") and "snr = 2" in out and " NO" not in out
    assert main(["--source", "laplace:1", "--snr", "2", "--dim", "3", "--format", "json"]) == 0
    rows = _rows(json.loads(capsys.readouterr().out))
    mmse = [r for r in rows if r["quantity"] == "mmse"][0]["value"]
    assert mmse == pytest.approx(Laplace(1.0).mmse(2.0), rel=1e-14)


def test_parse_source_grammar():
    """Every kind of the grammar parses to the documented source."""
    assert parse_source("laplace:0.5,1") == Laplace(0.5, 1.0)
    assert parse_source("pam:4") == Discrete.pam(4)
    assert parse_source("binary:0.3,2") == Discrete.binary(0.3, 2.0)
    assert parse_source("discrete:-1,0.25;2,0.75") == Discrete((-1.0, 2.0), (0.25, 0.75))
    assert parse_source("mixture:0.5,-1,0.5;0.5,1,2") == GaussianMixture((0.5, 0.5), (-1.0, 1.0), (0.5, 2.0))
    assert parse_source("uniform:2", dim=2) == Product.iid(parse_source("uniform:2"), 2)


@pytest.mark.parametrize("argv, needle", [
    (["--source", "foo:1"], "--source"),
    (["--source", "laplace:-1"], "scale"),
    (["--source", "mixture:0.5,0,1"], "weights must sum to 1"),
    (["--source", "pam:2.5"], "m (number of PAM levels)"),
    (["--snr", "0"], "--snr"),
    (["--snr", "nan"], "--snr"),
    (["--dim", "0"], "--dim"),
    (["--format", "xml"], "--format"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    """Bad input: exit status 2 and exactly one line on stderr naming the argument, no traceback."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_module_entry_point_runs():
    """``python -m bounds --help`` exits 0 and shows the grammar and the defaults."""
    proc = subprocess.run([sys.executable, "-m", "bounds", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "mixture:W1,M1,S1" in proc.stdout and "(default: laplace:1)" in proc.stdout
