"""Every claim of the ledger verifies, symbolically where promised; the CLI reports it."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys

import pytest
import sympy as sp

import theory
from theory import __main__ as cli
from theory.claims import KINDS, Claim

REQUIRED_IDS = (
    "rate_gaussian",
    "posterior_gaussian",
    "flow_map_solves_pf_ode",
    "distortion_diffc_a",
    "distortion_diffc_f",
    "distortion_mmse",
    "diffc_a_is_twice_mmse",
    "ratio_a_over_f",
    "three_db_limit",
    "flow_attains_rd_at_high_rate",
    "rdp_scalar",
    "diffc_f_on_rdp_scalar",
    "rdp_vector_kkt",
    "waterfilling",
    "i_mmse",
    "dp_frontier",
    "conditional_mse_linear_decoder",
    "conditional_chain_kl",
)
# the only claims allowed to rest on a numeric check (no symbolic route: quadrature of non-Gaussian integrals)
NUMERIC_BY_DESIGN = {"i_mmse_binary"}
ALL_IDS = [c.id for c in theory.CLAIMS]


def test_required_ids_exist():
    """The ids the issue names are all in the registry, and ids are unique."""
    assert set(REQUIRED_IDS) <= set(ALL_IDS)
    assert len(ALL_IDS) == len(set(ALL_IDS))


@pytest.mark.parametrize("claim_id", ALL_IDS)
def test_claim_verifies(claim_id, verifications):
    """Each claim verifies; every step held; symbolic unless it is numeric by design."""
    result = verifications[claim_id]
    assert result.status == "verified", result.detail
    assert all(step.ok for step in result.steps)
    checks = [s for s in result.steps if s.method != "definition"]
    assert len(checks) >= 2, "a claim must run at least two checks"
    expected = "numeric" if claim_id in NUMERIC_BY_DESIGN else "symbolic"
    assert result.method == expected, result.detail


@pytest.mark.parametrize("claim", theory.CLAIMS, ids=ALL_IDS)
def test_claim_metadata(claim):
    """Kinds are valid, statements are one line, and every claim names a domain and a source."""
    assert claim.kind in KINDS
    assert "\n" not in claim.statement and claim.statement
    assert claim.domain and claim.source
    assert all(isinstance(e, sp.Basic) for e in claim.expressions.values())


def test_get_claim_unknown_raises_value_error():
    """An unknown id is a ValueError that names the argument and the accepted ids."""
    with pytest.raises(ValueError, match="claim_id must be one of .*rate_gaussian"):
        theory.get_claim("no_such_claim")


def test_claim_rejects_bad_kind_and_id():
    """Claim validates its kind and id, and with_expressions only accepts known names."""
    ok = dict(statement="s", domain="d", source="x", expressions={"a": 1}, derive=lambda e, d: None)
    with pytest.raises(ValueError, match="kind must be one of"):
        Claim(id="fine", kind="theorem", **ok)
    with pytest.raises(ValueError, match="id must match"):
        Claim(id="Bad Id", kind="identity", **ok)
    with pytest.raises(ValueError, match="overrides must name expressions"):
        Claim(id="fine", kind="identity", **ok).with_expressions(b=2)


def test_cli_text_one_line_per_claim(capsys):
    """``--only`` (repeatable) prints one line per claim: id, kind, status, method, seconds; exit 0."""
    assert cli.main(["--only", "rdp_scalar", "--only", "i_mmse"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    fields = lines[0].split()
    assert fields[:4] == ["rdp_scalar", "identity", "verified", "symbolic"]
    assert fields[-1] == "s" and float(fields[-2]) >= 0


def test_cli_json(capsys):
    """``--format json`` gives a list of objects with id, kind, statement, status and method."""
    assert cli.main(["--format", "json", "--only", "rate_gaussian", "--only", "three_db_limit"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in records] == ["rate_gaussian", "three_db_limit"]
    for r in records:
        assert {"id", "kind", "statement", "status", "method"} <= set(r)
        assert r["status"] == "verified" and r["method"] == "symbolic"
    assert records[1]["kind"] == "limit"


def test_cli_latex(tmp_path, capsys):
    """``--latex DIR`` writes DIR/<id>.tex with an align* derivation and DIR/ledger.tex that inputs it."""
    out = tmp_path / "tex"
    assert cli.main(["--latex", str(out), "--only", "rdp_scalar"]) == 0
    capsys.readouterr()
    text = (out / "rdp_scalar.tex").read_text()
    assert r"\begin{align*}" in text and r"\end{align*}" in text
    assert "verified" in text and r"\sqrt{1 - e^{- 2 R}}" in text
    assert text.count(r"\begin{") == text.count(r"\end{")
    ledger = (out / "ledger.tex").read_text()
    assert r"\input{rdp_scalar}" in ledger and r"\begin{document}" in ledger


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only", "no_such_claim"], "unknown claim id 'no_such_claim'"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    """Bad arguments: a one-line error on stderr naming the argument, exit status 2, no traceback."""
    with pytest.raises(SystemExit) as excinfo:
        cli.main(argv)
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_cli_failing_claim_exits_1(monkeypatch, capsys):
    """A claim that fails verification is reported as failed and makes the CLI exit non-zero."""
    good = theory.get_claim("ratio_a_over_f")
    wrong = good.with_expressions(ratio=1 + theory.scalar.flow_gain() ** 2)
    monkeypatch.setattr(theory, "CLAIMS", (wrong,))
    assert cli.main([]) == 1
    line = capsys.readouterr().out.strip()
    assert line.split()[:3] == ["ratio_a_over_f", "identity", "failed"]
    assert "counterexample" in line


def test_python_dash_m_entry_point():
    """``python -m theory --only rate_gaussian`` runs as a module and exits 0."""
    proc = subprocess.run(
        [sys.executable, "-m", "theory", "--only", "rate_gaussian"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:3] == ["rate_gaussian", "identity", "verified"]


@pytest.mark.parametrize("module", ["theory", "theory.moments", "theory.vector"])
def test_doctests(module):
    """The docstring examples of the package run as written."""
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_cli_latex_into_a_file_is_rejected_before_verifying(tmp_path, capsys):
    """``--latex`` naming an existing file: one-line error naming the argument, exit 2."""
    target = tmp_path / "not_a_dir"
    target.write_text("x")
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--latex", str(target)])
    assert excinfo.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "argument --latex" in captured.err and len(captured.err.strip().splitlines()) == 1
