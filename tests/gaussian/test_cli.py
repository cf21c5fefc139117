"""The command line ``python -m gaussian.rd``: outputs, errors, light imports."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gaussian import curves, rd, spectrum


def _run(capsys, argv):
    code = rd.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_default_table(capsys):
    code, out, _ = _run(capsys, ["--dim", "64"])
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("spectrum patches: dim 64")
    assert "A/F dB" in lines[2] and "mmse/rd dB" in lines[2]
    assert len(lines) == 3 + 12 + 1
    assert "3.0103 dB" in lines[-1]


def test_json_matches_library(capsys):
    """JSON rows carry the documented keys and the values of gaussian.curves at the same rates."""
    code, out, _ = _run(capsys, ["--spectrum", "powerlaw:1.5", "--dim", "32", "--rates", "0.1:4:5",
                                 "--format", "json", "--peak", "2"])
    assert code == 0
    doc = json.loads(out)
    assert doc["spectrum"]["name"] == "powerlaw:1.5" and doc["spectrum"]["dim"] == 32
    assert len(doc["spectrum"]["eigvals"]) == 32
    rows = doc["rows"]
    assert len(rows) == 5
    assert set(rows[0]["mse_per_dim"]) == {"rd", "rdp", "diffc_a", "diffc_f", "mmse", "diffc_f_allocated"}
    rates = np.array([r["rate_bits_total"] for r in rows])
    np.testing.assert_allclose(rates / 32, np.geomspace(0.1, 4, 5), rtol=1e-14)
    want = curves.evaluate(spectrum.power_law(32, 1.5), rates)
    for i, r in enumerate(rows):
        assert r["rate_bits_per_dim"] == pytest.approx(r["rate_bits_total"] / 32)
        assert r["snr"] == want.snr[i]
        for s in curves.SCHEMES:
            assert r["mse_per_dim"][s] == want.mse(s)[i]
            assert r["psnr_db"][s] == pytest.approx(10 * np.log10(4 / want.mse(s)[i]))


def test_csv_and_explicit_totals(capsys):
    code, out, _ = _run(capsys, ["--spectrum", "flat", "--dim", "4", "--rate-bits-total", "0,1,10",
                                 "--format", "csv"])
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split(",")[:4] == ["rate_bits_per_dim", "rate_bits_total", "snr", "mse_rd"]
    assert len(lines) == 4
    assert float(lines[1].split(",")[3]) == 1.0  # zero rate: rd = variance


def test_npy_spectrum(tmp_path, capsys):
    np.save(tmp_path / "eig.npy", np.array([3.0, 2.0, 1.0]))
    code, out, _ = _run(capsys, ["--spectrum", str(tmp_path / "eig.npy"), "--format", "json"])
    assert code == 0 and json.loads(out)["spectrum"]["dim"] == 3


def test_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "c.png"
    code, _, _ = _run(capsys, ["--dim", "16", "--plot", str(path)])
    assert code == 0 and path.stat().st_size > 1000


def _drawn(monkeypatch, tmp_path, capsys, argv):
    """Run the CLI with ``--plot`` and return the figure it drew (``rd.draw`` wrapped to keep it)."""
    figures = []
    real = rd.draw

    def keep(*args, **kwargs):
        figures.append(real(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(rd, "draw", keep)
    path = tmp_path / "c.png"
    code, _, _ = _run(capsys, argv + ["--plot", str(path)])
    assert code == 0 and path.stat().st_size > 1000 and len(figures) == 1
    return figures[0]


def _rd_line(fig):
    """(rate, level) of the MSE rate-distortion curve on the left axes of the --plot figure."""
    from gaussian import plotstyle

    line, = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == plotstyle.SCHEME_LABELS["rd"]]
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def test_plot_with_peak_shows_psnr(monkeypatch, tmp_path, capsys):
    """Flat unit spectrum, R bits/dim: R(D) is 2^(-2R), so the left axis is -20 R log10 2 dB (MSE in dB) and,
    with --peak 2, 10 log10(2^2 / 2^(-2R)) dB (PSNR); the y label says which."""
    pytest.importorskip("matplotlib")
    argv = ["--spectrum", "flat", "--dim", "4", "--rates", "0.1:6:7"]
    mse_fig = _drawn(monkeypatch, tmp_path, capsys, argv)
    psnr_fig = _drawn(monkeypatch, tmp_path, capsys, argv + ["--peak", "2"])
    rate, mse_db = _rd_line(mse_fig)
    np.testing.assert_allclose(rate, np.geomspace(0.1, 6, 7), rtol=1e-12)
    np.testing.assert_allclose(mse_db, -20 * rate * np.log10(2), rtol=0, atol=1e-9)
    rate_p, psnr = _rd_line(psnr_fig)
    np.testing.assert_allclose(rate_p, rate, rtol=0)
    np.testing.assert_allclose(psnr, 10 * np.log10(4.0) + 20 * rate * np.log10(2), rtol=0, atol=1e-9)
    assert "MSE" in mse_fig.axes[0].get_ylabel() and "PSNR" not in mse_fig.axes[0].get_ylabel()
    assert "PSNR" in psnr_fig.axes[0].get_ylabel() and "2" in psnr_fig.axes[0].get_ylabel()


def test_plot_draws_in_the_shared_style_and_its_legend_covers_no_data(monkeypatch, tmp_path, capsys):
    """Every scheme's curve carries gaussian.plotstyle's name, colour and line style on both panels; the figure
    legend lists the names and sits outside the axes."""
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D

    from gaussian import plotstyle
    from tests.plot_checks import data_under_legends

    fig = _drawn(monkeypatch, tmp_path, capsys, ["--dim", "64", "--peak", "2"])
    for ax, schemes in ((fig.axes[0], curves.SCHEMES), (fig.axes[1], [s for s in curves.SCHEMES if s != "rd"])):
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        for s in schemes:
            line, styled = lines[plotstyle.SCHEME_LABELS[s]], Line2D([], [], **plotstyle.SCHEME_STYLES[s])
            assert to_rgba(line.get_color()) == to_rgba(styled.get_color())
            assert (line.get_linestyle(), line.get_linewidth()) == (styled.get_linestyle(), styled.get_linewidth())
    legend, = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert set(plotstyle.SCHEME_LABELS.values()) <= set(texts)
    assert data_under_legends(fig) == []


@pytest.mark.parametrize(
    "argv, flag",
    [(["--dim", "0"], "--dim"), (["--dim", "-3"], "--dim"), (["--spectrum", "zipf"], "--spectrum"),
     (["--rates=-1:2:3"], "--rates"), (["--rates", "1:2"], "--rates"), (["--rates", "2:1:3"], "--rates"),
     (["--rate-bits-total", "1,-2"], "--rate-bits-total"), (["--rate-bits-total", "nan"], "--rate-bits-total"),
     (["--rate-bits-total", "a"], "--rate-bits-total"), (["--peak", "0"], "--peak"),
     (["--dim", "abc"], "--dim"), (["--format", "xml"], "--format")],
)
def test_bad_input_one_line_exit_2(capsys, argv, flag):
    with pytest.raises(SystemExit) as exc:
        rd.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err


_FLAGS = ("--dim", "--spectrum", "--rates", "--rate-bits-total", "--peak", "--plot", "--format")


@pytest.mark.parametrize(
    "argv, flag",
    [(["--rates", ""], "--rates"), (["--rate-bits-total", "1,,2"], "--rate-bits-total"),
     (["--rate-bits-total", "1,2,"], "--rate-bits-total"), (["--rate-bits-total", ""], "--rate-bits-total"),
     (["--rates", "1e300:1e307:3", "--dim", "1000"], "--rates"), (["--rates", "1:8:1000000000"], "--rates"),
     (["--dim", "99999999999999999999"], "--dim"), (["--spectrum", "powerlaw:1", "--dim", str(2**40)], "--dim"),
     (["--spectrum", "image:100000x100000x3"], "--spectrum"), (["--spectrum", "image:0x4x4"], "--spectrum"),
     (["--plot", "/nonexistent-folder/c.png"], "--plot")],
)
def test_quietly_wrong_or_huge_input_names_the_flag_typed(capsys, argv, flag):
    """Empty items, overflowing or huge sizes: exit 2, one line naming the flag given and no other flag."""
    with pytest.raises(SystemExit) as exc:
        rd.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: {flag}:" in err and "Traceback" not in err
    assert [f for f in _FLAGS if f != flag and f + ":" in err] == []


def test_huge_image_spectrum_is_refused_with_its_memory_figure(capsys):
    """image:100000x100000x3 (3e10 dims) is refused before allocating, with the memory it would need."""
    with pytest.raises(SystemExit):
        rd.main(["--spectrum", "image:100000x100000x3"])
    err = capsys.readouterr().err
    assert "30000000000 dims" in err and "2.9 TB" in err


def test_plot_write_error_names_the_file_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """A full disk when the plot is renamed into place: exit 1, one line naming the file, no file or temporary left."""
    pytest.importorskip("matplotlib")
    import errno
    import os

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    path = tmp_path / "c.png"
    code, out, err = _run(capsys, ["--dim", "16", "--plot", str(path)])
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and str(path) in err and "no space left on device" in err
    assert list(tmp_path.iterdir()) == []


def test_plot_cut_short_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    """The writer dies half-way through the PNG: the target never appears (only whole files are renamed)."""
    pytest.importorskip("matplotlib")
    import errno

    from matplotlib.figure import Figure

    def half_written(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"\x89PNG\r\n")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_written)
    path = tmp_path / "c.png"
    code, _, err = _run(capsys, ["--dim", "16", "--plot", str(path)])
    assert code == 1 and str(path) in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [np.array([1.0, -1.0]), np.array([1.0, np.nan]), np.zeros(0)])
def test_bad_npy_files(tmp_path, capsys, content):
    np.save(tmp_path / "bad.npy", content)
    with pytest.raises(SystemExit) as exc:
        rd.main(["--spectrum", str(tmp_path / "bad.npy")])
    assert exc.value.code == 2 and "--spectrum" in capsys.readouterr().err


def test_cli_imports_no_heavy_modules():
    """The default run imports neither torch, sympy nor matplotlib (nor the rest of the toolkit)."""
    code = (
        "import sys, runpy; sys.argv = ['gaussian.rd', '--dim', '64'];"
        "import io, contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        runpy.run_module('gaussian.rd', run_name='__main__')\n"
        "    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('torch', 'sympy', 'matplotlib', 'theory', 'empirical', 'scipy.optimize') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
