"""``python -m bounds``: JSON against independent closed forms, text output, and one-line errors."""
from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bounds import report as report_module
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
    (["--source", "mixture:1,0,1;;"], "--source 'mixture:1,0,1;;': mixture has an empty component"),
    (["--source", "mixture:1,0,1;"], "empty component"),
    (["--source", "discrete:1,0.5;;2,0.5"], "empty component"),
    (["--source", "gaussian:1,"], "--source"),
    (["--source", "mixture:1,0,1e-300"], "--source 'mixture:1,0,1e-300': mixture standard deviation must be in"),
    (["--source", "laplace:1e-300"], "SCALE must be in"),
    (["--source", "uniform:1e300"], "HALFWIDTH must be in"),
    (["--source", "laplace:1,1e300"], "LOC must be within"),
    (["--source", "gaussian:1e-310"], "VAR must be in"),
    (["--source", "discrete:0,0.5;1e-300,0.5"], "at least 0.001 apart"),
    (["--source", "binary:1e-300"], "probabilities must be >= 1e-06"),
    (["--source", "pam:100000"], "--source 'pam:100000': 100000 atoms is more than the 1024"),
    (["--source", "mixture:" + ";".join(["0.001,0,1"] * 1000)], "1000 components is more than the 64"),
    (["--source", "discrete:" + ";".join(f"{k},0.0005" for k in range(2000))], "2000 atoms is more than the 1024"),
    (["--dim", "99999999999999999999"], "--dim"),
    (["--dim", "1000001"], "--dim"),
    (["--snr", "1e-300"], "--snr"),
    (["--snr", "1e300"], "--snr"),
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


def _num(x):
    return repr(float(x))


def _log_uniform(lo, hi):
    return st.floats(math.log(lo), math.log(hi)).map(math.exp)


@st.composite
def source_specs(draw):
    """--source strings of every kind of the grammar, parameters well inside the accepted ranges."""
    kind = draw(st.sampled_from(["gaussian", "laplace", "uniform", "pam", "binary", "discrete", "mixture"]))
    loc = draw(st.floats(-3.0, 3.0))
    if kind == "gaussian":
        return f"gaussian:{_num(draw(_log_uniform(1e-2, 1e2)))},{_num(loc)}"
    if kind in ("laplace", "uniform"):
        return f"{kind}:{_num(draw(_log_uniform(0.05, 20.0)))},{_num(loc)}"
    if kind == "pam":
        return f"pam:{draw(st.integers(2, 8))},{_num(draw(_log_uniform(0.1, 10.0)))}"
    if kind == "binary":
        return f"binary:{_num(draw(st.floats(0.01, 0.99)))},{_num(draw(_log_uniform(0.1, 10.0)))}"
    n = draw(st.integers(1, 4))
    raw = [draw(st.floats(0.02, 1.0)) for _ in range(n)]
    weights = [w / sum(raw) for w in raw]
    if kind == "discrete":
        atoms = sorted(draw(st.lists(st.integers(-40, 40), min_size=n, max_size=n, unique=True)))
        return "discrete:" + ";".join(f"{_num(a / 8)},{_num(w)}" for a, w in zip(atoms, weights))
    parts = [f"{_num(w)},{_num(draw(st.floats(-5.0, 5.0)))},{_num(draw(_log_uniform(0.05, 3.0)))}" for w in weights]
    return "mixture:" + ";".join(parts)


# Found by this test when the whole suite was collected: a narrow component made the mixture quantile's
# Newton iteration 2-cycle, the flow map was wrong at scattered outputs and the DiffC-F quadrature did not
# converge ("adaptive quadrature did not converge", then minutes of shrinking). The drawn examples are
# deterministic (derandomize: no example database is read or written), but Hypothesis also draws literal
# constants of the non-test modules loaded in the process, so they differ between tests/bounds alone and
# the whole suite (and change as those modules change): every one must pass, none is special.
NARROW_MIXTURE = ("mixture:0.4484128088742145,0.0,1.010050167084168;0.34076979869033647,3.021985791407136,"
                  "1.010050167084168;0.15115338089616132,-1.7830810248478008,1.0;"
                  "0.05966401153928767,-1.0873016005669935,0.05411764085425343")


@settings(max_examples=100, deadline=None, derandomize=True)
@given(spec=source_specs(), snr=_log_uniform(1e-4, 1e6))
@example(spec=NARROW_MIXTURE, snr=math.exp(0.01))
def test_every_checked_row_holds_across_sources_and_snr(spec, snr):
    """For any source of the grammar and 1e-4 <= snr <= 1e6, every identity and inequality row says holds.

    In particular mmse = 2 dI/dsnr, also where mmse is exponentially small (atoms at high snr).
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--source", spec, "--snr", repr(snr), "--format", "json"]) == 0
    rows = _rows(json.loads(out.getvalue()))
    failing = [(r["quantity"], r["bound_name"], r["value"], r["bound"]) for r in rows if r["holds"] is False]
    assert failing == []


def test_pam4_at_snr_100_identity_holds(capsys):
    """The reported case: mmse 3.6e-23 and 2 dI/dsnr agree (the Richardson derivative in snr gave 0.0)."""
    assert main(["--source", "pam:4", "--snr", "100", "--format", "json"]) == 0
    row = [r for r in _rows(json.loads(capsys.readouterr().out)) if r["kind"] == "identity"][0]
    assert 1e-23 < row["value"] < 1e-22 and row["bound"] == pytest.approx(row["value"], rel=1e-8) and row["holds"]


@pytest.mark.parametrize("spec, snr", [("laplace:1", 3.0), ("pam:4", 2.0), ("mixture:0.3,-1,0.5;0.7,1,1", 10.0),
                                       ("uniform:2,1", 0.5)])
def test_a_wrong_mmse_is_reported_as_failing(monkeypatch, spec, snr):
    """The identity row is a real check: an mmse 1% too large gives holds: no (the inequalities stay as they are)."""
    source = parse_source(spec)
    assert [r.holds for r in report_module.bounds_report(source, snr).rows if r.kind == "identity"] == [True]
    real = type(source).mmse
    monkeypatch.setattr(type(source), "mmse", lambda self, s: 1.01 * real(self, s))
    assert [r.holds for r in report_module.bounds_report(source, snr).rows if r.kind == "identity"] == [False]
