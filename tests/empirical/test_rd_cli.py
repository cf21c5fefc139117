"""python -m empirical.rd: output formats on a tiny sweep, and one-line errors with exit status 2."""
from __future__ import annotations

import csv
import io
import json

import pytest

from empirical.measure import rd

TINY = ["--data", "gaussian", "--spectrum", "powerlaw:1", "--dim", "3", "--n", "9", "--workers", "1",
        "--no-progress", "--ancestral-steps", "64", "--flow-steps", "16"]


def test_json_and_csv(capsys):
    """JSON has one point per (stop step, method), comparisons and rate gaps; CSV has the same rows."""
    assert rd.main(TINY + ["--stop-steps", "16,20", "--method", "flow,ancestral", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(p["stop_step"], p["method"]) for p in out["points"]] == [(16, "flow"), (16, "ancestral"),
                                                                     (20, "flow"), (20, "ancestral")]
    assert len(out["comparisons"]) == 4 and len(out["rate_gaps"]) == 2 and len(out["gaps_db"]) == 2
    assert rd.main(TINY + ["--stop-steps", "16,20", "--method", "flow,ancestral", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4
    assert float(rows[0]["mse"]) == pytest.approx(out["points"][0]["mse"], rel=1e-12)


def test_reference_model_table(capsys):
    """--reference-model prints the paired section; plug-in and exact oracle share the posterior mean (ratio 1)."""
    assert rd.main(TINY + ["--stop-steps", "18", "--method", "mmse", "--model", "oracle:plugin",
                           "--reference-model", "oracle"]) == 0
    text = capsys.readouterr().out
    assert "Paired with the reference model 'oracle'" in text
    row = [line for line in text.splitlines() if line.startswith("mmse") and "1.0000" in line]
    assert row, text


def test_rates_table_and_plot(capsys, tmp_path):
    """--rates picks stop steps; the table prints the three sections; --plot writes a non-empty PNG."""
    path = tmp_path / "rd.png"
    assert rd.main(TINY + ["--rates", "0.5", "--method", "mmse", "--plot", str(path)]) == 0
    text = capsys.readouterr().out
    assert "I(X;Z)" in text and "closed form" in text
    assert path.stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["rd.png"]  # written through a temporary name, then renamed


@pytest.mark.parametrize("argv, flag", [
    (["--method", "flow,sample"], "--method"),
    (["--method", "flow,,mmse"], "--method"),
    (["--rates", "50"], "--rates"),
    (["--rates", "-1"], "--rates"),
    (["--rates", "a,b"], "--rates"),
    (["--rates", "1,,2"], "--rates"),
    (["--rates", ""], "--rates"),
    (["--rates", "1,"], "--rates"),
    (["--rates", "nan"], "--rates"),
    (["--stop-steps", "40"], "--stop-steps"),
    (["--stop-steps", "5,3"], "--stop-steps"),
    (["--stop-steps", ""], "--stop-steps"),
    (["--stop-steps", "3,,5"], "--stop-steps"),
    (["--n", "1"], "--n"),
    (["--n", "abc"], "argument --n"),
    (["--workers", "0"], "--workers"),
    (["--model", "no/such/checkpoint.pt"], "--model"),
    (["--spectrum", "nonsense"], "--spectrum"),
    (["--stop-steps", "3", "--plot", "no/such/folder/rd.png"], "--plot"),
    (["--stop-steps", "3", "--plot", "rd.nosuchformat"], "--plot"),
    (["--stop-steps", "3", "--ancestral-draws", "0"], "--ancestral-draws"),
    (["--stop-steps", "3", "--flow-steps", "0"], "--flow-steps"),
    (["--stop-steps", "3", "--reference-model", "oracle"], "--reference-model"),
    (["--stop-steps", "3", "--reference-model", "no/such/checkpoint.pt"], "--reference-model"),
])
def test_errors_are_one_line_exit_2(capsys, argv, flag):
    """Bad input: exit status 2 and a single stderr line that starts with the flag the user typed
    (not an internal name such as ``n:``, ``stop_steps:`` or, for --reference-model, ``--model``)."""
    with pytest.raises(SystemExit) as exc:
        rd.main(TINY + argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"python -m empirical.rd: error: {flag}:"), err


def test_dim_only_for_gaussian(capsys):
    """--dim with a data set is rejected (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        rd.main(["--data", "patches", "--dim", "4", "--n", "4"])
    assert exc.value.code == 2
    assert "dim" in capsys.readouterr().err


def test_measured_figure_quick(tmp_path):
    """figures/fig_measured_gaussian.py at reduced size writes its JSON and a non-empty PNG."""
    pytest.importorskip("matplotlib")
    from figures import fig_measured_gaussian

    path = fig_measured_gaussian.make(tmp_path, quick=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    data = json.loads((tmp_path / "measured_gaussian.json").read_text())
    assert len(data["points"]) == 2 * 3 and len(data["gaps_db"]) == 2


def _hand_report() -> dict:
    """A report's JSON form made here: three decoders at two stop steps, with a comparison for every point."""
    points, comparisons = [], []
    for step, kl, payload in ((12, 0.5, 2.5), (20, 2.0, 5.0)):
        for k, method in enumerate(("flow", "ancestral", "mmse")):
            mse = 0.3 / (1 + k) * 2.0 ** (-kl)
            points.append({"method": method, "stop_step": step, "kl_bits_per_dim": kl, "kl_bits_per_dim_ci95": 0.05,
                           "payload_bits_per_dim": payload, "mse": mse, "mse_ci95": 0.1 * mse})
            comparisons.append({"method": method, "stop_step": step, "predicted_mse": 1.05 * mse})
    return {"points": points, "comparisons": comparisons}


def test_plot_draws_the_report_in_the_shared_style():
    """empirical.rd's figure: each decoder in its scheme's colour (gaussian.plotstyle), filled markers at the
    realised sum KL, open ones at the payload bits, x at the closed form; the legend names the decoders as the
    other plots do and covers no data."""
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgba

    from empirical.measure import plot
    from gaussian import plotstyle
    from tests.plot_checks import data_under_legends

    report = _hand_report()
    fig = plot.draw_report(report, plotstyle.pyplot())
    ax, = fig.axes
    for method in ("flow", "ancestral", "mmse"):
        mine = [p for p in report["points"] if p["method"] == method]
        lines = [ln for ln in ax.get_lines() if to_rgba(ln.get_color()) == to_rgba(plotstyle.METHOD_COLOURS[method])]
        by_kind = {(ln.get_marker(), ln.get_markerfacecolor() == "none"): ln for ln in lines}
        filled, hollow, cross = by_kind[("o", False)], by_kind[("o", True)], by_kind[("x", False)]
        assert list(filled.get_xdata()) == [p["kl_bits_per_dim"] for p in mine]
        assert list(hollow.get_xdata()) == [p["payload_bits_per_dim"] for p in mine]
        assert list(filled.get_ydata()) == list(hollow.get_ydata()) == [p["mse"] for p in mine]
        assert list(cross.get_ydata()) == pytest.approx([1.05 * p["mse"] for p in mine], rel=1e-15)
    legend, = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert [plotstyle.METHOD_LABELS[m] for m in ("flow", "ancestral", "mmse")] == texts[:3]
    assert data_under_legends(fig) == []
    plotstyle.pyplot().close(fig)
