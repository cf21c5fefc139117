"""Every figure script runs at reduced size and writes a non-empty PNG and its JSON."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from figures import __main__ as figures_main  # noqa: E402
from figures import style  # noqa: E402
from tests.plot_checks import data_under_legends  # noqa: E402


# ---------------------------------------------------------------------------------------------------------------
# Independent closed forms (one Gaussian component of variance lam at snr; DESIGN.md), for the plotted numbers


def _flat_snr(rate_bits_per_dim):
    """Flat unit spectrum: 1/2 log2(1 + snr) = R bits per dim."""
    return 2.0 ** (2.0 * np.asarray(rate_bits_per_dim)) - 1.0


def _mse_flow(lam, snr):
    return 2.0 * lam * (1.0 - np.sqrt(snr * lam / (1.0 + snr * lam)))


def _snr_for_mean_rate(eigvals, rate_bits_per_dim):
    """Bisection (in log snr) of mean_i 1/2 log2(1 + snr lam_i) = R."""
    lo, hi = -60.0, 60.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.mean(0.5 * np.log2(1.0 + math.exp(mid) * eigvals)) < rate_bits_per_dim:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def _line(ax, label):
    found = [line for line in ax.get_lines() if line.get_label() == label]
    assert len(found) == 1, (label, [line.get_label() for line in ax.get_lines()])
    return np.asarray(found[0].get_xdata(), dtype=float), np.asarray(found[0].get_ydata(), dtype=float)


def _marker_points(ax, colour, filled=True):
    """(x, y) of the marker-only lines of ``colour`` (filled: measured vs KL; open: vs coded bits)."""
    out = []
    for line in ax.get_lines():
        if line.get_linestyle() in ("None", "") and line.get_marker() == "o" and line.get_color() == colour:
            if (line.get_markerfacecolor() == "none") != filled:
                out += list(zip(line.get_xdata(), line.get_ydata()))
    return out


def check_rd_curves(fig, data):
    """Flat column: rd = 2^(-2R) and DiffC-A = 2 * 2^(-2R) (in dB); the over-R(D) panel shows DiffC-A at 10 log10 2."""
    top, bottom = fig.axes[2], fig.axes[5]
    assert "flat" in top.get_title()
    x, rd_db = _line(top, style.SCHEME_LABELS["rd"])
    np.testing.assert_allclose(x, data["rate_bits_per_dim"], rtol=1e-15)
    np.testing.assert_allclose(rd_db, 10 * np.log10(2.0 ** (-2 * x)), rtol=0, atol=1e-9)
    _, a_db = _line(top, style.SCHEME_LABELS["diffc_a"])
    np.testing.assert_allclose(a_db, 10 * np.log10(2 / (1 + _flat_snr(x))), rtol=0, atol=1e-9)
    for scheme, label in style.SCHEME_LABELS.items():  # every curve in the one plotting style
        line, = [ln for ln in top.get_lines() if ln.get_label() == label]
        assert line.get_color() == style.SCHEME_STYLES[scheme]["color"]
    f_over_rd = [line for line in bottom.get_lines() if line.get_color() == style.SCHEME_STYLES["diffc_f"]["color"]]
    expected = 10 * np.log10(_mse_flow(1.0, _flat_snr(x)) / 2.0 ** (-2 * x))
    np.testing.assert_allclose(f_over_rd[0].get_ydata(), expected, rtol=0, atol=1e-9)


def check_gap_db(fig, data):
    """The flat curve is 10 log10(D_A / D_F) of the scalar closed forms at snr = 2^(2R) - 1."""
    x, gap = _line(fig.axes[0], "flat")
    snr = _flat_snr(x)
    np.testing.assert_allclose(gap, 10 * np.log10((2 / (1 + snr)) / _mse_flow(1.0, snr)), rtol=0, atol=1e-9)
    assert fig.axes[0].get_lines()[-1].get_ydata()[0] == pytest.approx(10 * math.log10(2), rel=1e-15)


def check_allocation(fig, data):
    """Water-filling panel: rates sum to R d bits, active components share lam 2^(-2 R_k) = theta, the rest are off."""
    eig = np.array(data["eigvals"])
    for ax, panel in zip(fig.axes, data["panels"]):
        labels = [line.get_label() for line in ax.get_lines()]
        k, bits = _line(ax, [label for label in labels if label.startswith(style.SCHEME_LABELS["rd"])][0])
        np.testing.assert_array_equal(k, np.arange(1, eig.size + 1))
        assert bits.sum() == pytest.approx(panel["rate_bits_per_dim"] * eig.size, rel=1e-10)
        active = bits > 0
        theta = eig[active] * 2.0 ** (-2 * bits[active])
        np.testing.assert_allclose(theta, theta[0], rtol=1e-10)
        assert np.all(eig[~active] <= theta[0] * (1 + 1e-12))
        # isotropic noise: R_k = 1/2 log2(1 + snr lam_k) for one snr
        _, iso = _line(ax, [label for label in labels if label.startswith(style.SCHEME_LABELS["diffc_f"])][0])
        snr = (2.0 ** (2 * iso) - 1) / eig
        np.testing.assert_allclose(snr, snr[0], rtol=1e-9)


def check_dp_frontier(fig, data):
    """snr = 1, variance 1: the curve runs from (W2, MSE) = (1 - sqrt(1/2), 1/2) (MMSE) to (0, 2 - sqrt 2) (DiffC-F)."""
    w2, mse = _line(fig.axes[0], "snr = 1")
    rho = math.sqrt(0.5)
    assert (w2[0], mse[0]) == (pytest.approx(1 - rho, rel=1e-12), pytest.approx(0.5, rel=1e-12))
    assert (w2[-1], mse[-1]) == (pytest.approx(0.0, abs=1e-12), pytest.approx(2 - math.sqrt(2), rel=1e-12))


def check_measured_gaussian(fig, data):
    """The flow closed-form curve against power-law eigenvalues (bisected snr); the measured markers are the JSON's."""
    ax = fig.axes[0]
    eig = np.arange(1, data["spec"]["dim"] + 1, dtype=float) ** -1.0
    eig /= eig.mean()
    x, y = _line(ax, style.METHOD_LABELS["flow"])
    for i in (0, len(x) // 2, len(x) - 1):
        snr = _snr_for_mean_rate(eig, x[i])
        assert y[i] == pytest.approx(np.mean(_mse_flow(eig, snr)), rel=1e-8)
    flow_points = [(p["kl_bits_per_dim"], p["mse"]) for p in data["points"] if p["method"] == "flow"]
    assert sorted(_marker_points(ax, style.METHOD_COLOURS["flow"])) == sorted(flow_points)


def check_measured_sources(fig, data):
    """Per source: DiffC-A's curve is twice the MMSE's (D_A = 2 mmse), and the measured markers are the JSON's."""
    for ax, (name, entry) in zip(fig.axes, data.items()):
        assert name in ax.get_title()
        xa, ya = _line(ax, style.METHOD_LABELS["ancestral"])
        xm, ym = _line(ax, style.METHOD_LABELS["mmse"])
        np.testing.assert_array_equal(xa, xm)
        np.testing.assert_allclose(ya, 2 * ym, rtol=1e-12)
        for method, colour in style.METHOD_COLOURS.items():
            pts = [(p["payload_bits_per_dim"], p["mse"]) for p in entry["points"] if p["method"] == method]
            assert sorted(_marker_points(ax, colour, filled=False)) == sorted(pts) and pts


def check_reconstructions(fig, data):
    """The first panel of each source shows its first original image, reshaped, on the image's own grey scale."""
    images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    shown = {tuple(np.asarray(im.get_array()).ravel()) for im in images}
    for entry in data.values():
        first = entry["images"][0]
        original = np.reshape(first["original"], entry["spec"]["shape"][:2])
        assert tuple(original.ravel()) in shown
        decoded = np.reshape(first["flow"][-1], entry["spec"]["shape"][:2])
        assert tuple(decoded.ravel()) in shown


def check_rcc_frontier(fig, data):
    """Every panel plots the JSON's rows at their compute; the reference row's chunks are the reference rule's count
    for its KL (ceil(D) + 2m bits over m = ceil(ceil(D)/14) chunks per step, recomputed here from the step KLs)."""
    rows = data["frontier"]
    for ax, key in zip(fig.axes, ("coded_over_kl", "mean_shift", "ks_distance")):
        plotted = set()
        for line in ax.get_lines():
            xs, ys = line.get_data()
            plotted |= {(float(a), float(b)) for a, b in zip(np.atleast_1d(xs), np.atleast_1d(ys))}
        for r in rows:
            assert (float(r["coordinates_per_coded_bit"]), float(r[key])) in plotted
    ref = [r for r in rows if r["method"] != "ours"][0]
    assert ref["chunks"] >= math.ceil(ref["kl_bits"] / 14.0)
    assert ref["coded_over_kl"] == pytest.approx(ref["coded_bits"] / ref["kl_bits"], rel=1e-12)


def check_rcc_limits(fig, data):
    """The measured points are the JSON's; the idealised lines are the Pareto fronts of the JSON's Lagrangian
    minimisers; every measured chain codes above the free idealised coder's rate at its coordinates."""
    from figures import fig_rcc_limits

    ax = fig.axes[0]
    points = {(float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in ax.get_lines()
              if line.get_marker() == "o"}
    assert points == {(float(r["candidate_coordinates"]), float(r["coded_over_kl"])) for r in data["measured"]}
    fronts = {}
    for name in ("free", "one_kl_per_step"):
        xs, ys = fig_rcc_limits._pareto(data["idealised"][name]["coordinates"], data["idealised"][name]["coded_over_kl"])
        assert any(list(line.get_xdata()) == xs and list(line.get_ydata()) == ys for line in ax.get_lines())
        fronts[name] = (np.array(xs), np.array(ys))
    free_x, free_y = fronts["free"]
    for r in data["measured"]:
        reachable = free_y[free_x <= r["candidate_coordinates"]]
        assert reachable.size and r["coded_over_kl"] >= reachable.min()


def _made_photographs(folder):
    """Two 32x32 RGB PNGs drawn from the stationary image model (made here, not read from the Kodak folder)."""
    from PIL import Image

    from empirical import image_files, models

    folder.mkdir()
    oracle = models.StationaryImageOracle((32, 32, 3))
    rng = np.random.default_rng(0)
    for i in range(2):
        x = oracle.mean + oracle.from_eigen(np.sqrt(oracle.eigvals) * rng.standard_normal(oracle.dim))
        Image.fromarray(image_files.to_uint8(np.clip(x, -1, 1).reshape(32, 32, 3))[0]).save(folder / f"p{i}.png")
    return folder


# the report's method names -> the legend names of the one plotting style (the posterior mean is `mmse` there)
KODAK_LABELS = {"diffc-flow": style.METHOD_LABELS["flow"], "diffc-ancestral": style.METHOD_LABELS["ancestral"],
                "diffc-mean": style.METHOD_LABELS["mmse"], "jpeg": "JPEG", "webp": "WebP"}


def check_kodak(fig, data):
    """Each method's curve in every panel is its record's (bpp, value) pairs, under its plotting-style name and
    colour; the reference line is the JSON's."""
    from matplotlib.colors import to_rgba

    keys = ("psnr-rgb", "ms-ssim-rgb", "spectrum-error-db", "sliced-w2")
    colours = {**style.METHOD_COLOURS, "jpeg": style.BASELINE_STYLES["jpeg"]["color"],
               "webp": style.BASELINE_STYLES["webp"]["color"]}
    for ax, key in zip(fig.axes, keys):
        lines = {line.get_label(): line for line in ax.get_lines()}
        for m in data["methods"]:
            line = lines[KODAK_LABELS[m["name"]]]
            decoder = {"diffc-mean": "mmse"}.get(m["name"], m["name"].removeprefix("diffc-"))
            assert to_rgba(line.get_color()) == to_rgba(colours[decoder])
            xs, ys = line.get_data()
            if key == "psnr-rgb" and m["name"] == "diffc-flow":
                ixs, iys = lines[f"{style.METHOD_LABELS['flow']} at its ideal bpp ($\\Sigma$KL)"].get_data()
                assert [float(a) for a in ixs] == m["results"]["ideal-bpp"]
                assert [float(a) for a in iys] == m["results"]["psnr-rgb"]
            pts = [(b, v) for b, v in zip(m["results"]["bpp"], m["results"][key]) if v is not None]
            assert [float(a) for a in xs] == [b for b, _ in pts] and [float(a) for a in ys] == [v for _, v in pts]
    ref = data["reference_originals"]["sliced_w2"]
    assert float(dict((l.get_label(), l) for l in fig.axes[3].get_lines())["originals vs originals"].get_ydata()[0]) == ref
    names = {m["name"] for m in data["methods"]}
    assert set(KODAK_LABELS) == names


def check_rdp_codec(fig, data):
    """The measured points are the JSON's rows; the closed-form curves are gaussian.curves' at the JSON's rates; the
    rdp rows' DiffC-F closed form is the rdp curve (perfect realism attained) and lies at or below the isotropic one."""
    from gaussian import curves

    ax, ax_dp = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    rate = np.asarray(data["closed_form"]["rate_bits_per_dim"])
    eigvals = np.asarray(data["eigvals"])
    c = curves.evaluate(eigvals, rate_bits_per_dim=rate)
    np.testing.assert_allclose(lines[style.SCHEME_LABELS["rdp"]].get_ydata(), c.mse_rdp, rtol=1e-12)
    np.testing.assert_allclose(lines[style.SCHEME_LABELS["diffc_f"] + ", isotropic"].get_ydata(), c.mse_diffc_f,
                               rtol=1e-12)
    for r in data["rows"]:
        if r["method"] == "dp:1":
            want = curves.evaluate(eigvals, rate_bits_per_dim=r["rate_bits_per_dim"])
            if r["schedule"] == "rdp":
                assert r["predicted_mse"] == pytest.approx(float(want.mse_rdp[0]), rel=1e-9)
            else:
                assert r["predicted_mse"] == pytest.approx(float(want.mse_diffc_f[0]), rel=1e-6)
    plotted = set()
    for line in ax_dp.get_lines():
        xs, ys = line.get_data()
        plotted |= {(float(a), float(b)) for a, b in zip(np.atleast_1d(xs), np.atleast_1d(ys))}
    for r in data["rows"]:
        if r["method"] != "ancestral":
            assert (r["w2_sq_gauss_per_dim"], r["mse"]) in plotted


def check_unet_denoising(fig, data):
    """The plotted ratio at each log-SNR is the JSON's mse_model / mse_oracle (recomputed here), inside the per-image
    range; the reference lines are 1 and 1.01."""
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    (bars,) = ax.containers  # the error bars: the mean ratio line and its 2-s.e. bars
    assert bars.get_label() == "mean over images (2 paired s.e.)"
    xs, ys = bars.lines[0].get_data()
    rows = data["rows"]
    assert [float(a) for a in xs] == [r["log_snr"] for r in rows]
    np.testing.assert_allclose(ys, [r["mse_model"] / r["mse_oracle"] for r in rows], rtol=1e-12)
    assert all(r["ratio_min"] - 1e-12 <= r["ratio"] <= r["ratio_max"] + 1e-12 for r in rows)
    assert float(lines["stationary oracle"].get_ydata()[0]) == 1.0
    assert float(lines["oracle + 1%"].get_ydata()[0]) == 1.01


def check_unet_kodak(fig, data):
    """Every DiffC curve of both models is its record's (bpp, value) pairs, against real bits and (second panel)
    against ideal bits; JPEG and WebP appear against real bits; the comparison's paired differences are those
    recomputed from nothing but the two reports' per-image numbers (tested in test_images_compare.py)."""
    panels = (("psnr-rgb", "bpp"), ("psnr-rgb", "ideal-bpp"), ("spectrum-error-db", "bpp"), ("sliced-w2", "bpp"))
    models = {"unet": "U-Net", "oracle": "stationary oracle"}
    for ax, (key, x_key) in zip(fig.axes, panels):
        lines = {line.get_label(): line for line in ax.get_lines()}
        for model, tag in models.items():
            for m in data[model]["methods"]:
                if m["name"] in ("diffc-flow", "diffc-ancestral"):
                    label = f"{KODAK_LABELS[m['name']]}, {tag}"
                elif model == "unet" and x_key == "bpp" and m["name"] in ("jpeg", "webp"):
                    label = KODAK_LABELS[m["name"]]
                else:
                    continue
                xs, ys = lines.pop(label).get_data()
                pts = [(b, v) for b, v in zip(m["results"][x_key], m["results"][key]) if v is not None]
                assert [float(a) for a in xs] == [b for b, _ in pts] and [float(a) for a in ys] == [v for _, v in pts]
        assert set(lines) <= {"originals vs originals"}, lines  # nothing else is drawn
    assert data["comparison"]["a"]["model"] == "unet" and data["comparison"]["b"]["model"] == "oracle:stationary"


def check_unet_rdp(fig, data):
    """The first panel's DiffC curves are the two U-Net reports' (bpp, PSNR) points; every gain series of the second
    is its JSON rows (mean bpp, paired difference) with 1.96 standard errors as its interval."""
    curves = [(list(map(float, line.get_xdata())), list(map(float, line.get_ydata()))) for line in fig.axes[0].get_lines()]
    for key in ("rdp", "isotropic"):
        for m in data["curves"][key]:
            if m["name"].startswith("diffc-flow") or m["name"].startswith("diffc-ancestral"):
                r = m["results"]
                pts = [(b, v) for b, v in zip(r["bpp"], r["psnr-rgb"]) if v is not None]
                assert ([b for b, _ in pts], [v for _, v in pts]) in curves
    bars = fig.axes[1].containers
    assert len(bars) == 2 * len(data["gains"])
    drawn = {bar.get_label(): bar for bar in bars}
    from figures import fig_unet_rdp
    from gaussian import plotstyle

    for name, rows in data["gains"].items():
        for decoder in ("flow", "ancestral"):
            bar = drawn[f"{plotstyle.method_line(decoder)['label']}, {fig_unet_rdp.GAIN_LABELS[name]}"]
            want = sorted((r["bpp"], r["diff_db"], r["se_db"] or 0.0) for r in rows
                          if r["decoder"] == decoder and r["diff_db"] is not None)
            xs, ys = bar.lines[0].get_data()
            assert [float(v) for v in xs] == [w[0] for w in want] and [float(v) for v in ys] == [w[1] for w in want]
            segments = bar.lines[2][0].get_segments()
            np.testing.assert_allclose([seg[1][1] - seg[0][1] for seg in segments], [2 * 1.96 * w[2] for w in want],
                                       rtol=1e-9, atol=1e-12)


CHECKS = {name: globals().get(f"check_{name}") for name in figures_main.FIGURES}  # a new figure needs its check


@pytest.mark.parametrize("name", figures_main.FIGURES)
def test_figure_writes_png_and_json(tmp_path, name, capsys, monkeypatch):
    """Each figure writes a PNG and its JSON, and the plotted numbers are its JSON's and the closed forms'."""
    figures_drawn = []
    real_save = style.save

    def capture(fig, out_dir, fig_name):
        figures_drawn.append(fig)
        return real_save(fig, out_dir, fig_name)

    monkeypatch.setattr(style, "save", capture)
    extra = ["--kodak", str(_made_photographs(tmp_path / "photos"))] if name in figures_main.NEEDS_KODAK else []
    assert figures_main.main(["--out", str(tmp_path), "--only", name, "--quick", *extra]) == 0
    png = tmp_path / f"{name}.png"
    assert png.stat().st_size > 5000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / f"{name}.json").read_text())
    assert data
    assert name in capsys.readouterr().out
    assert len(figures_drawn) == 1
    assert CHECKS[name] is not None, f"no check of the plotted numbers of {name} (add check_{name})"
    CHECKS[name](figures_drawn[0], data)
    assert data_under_legends(figures_drawn[0]) == [], "a legend covers plotted data"
    if name == "measured_sources":  # every source has a closed-form rate and distortion for its points
        for entry in data.values():
            assert all(g["predicted_kl_bits_per_dim"] > 0 for g in entry["rate_gaps"])
            assert len(entry["comparisons"]) == len(entry["points"]) > 0
    if name == "reconstructions":  # one stream per image: prefixes are nested, so bits grow with the prefix
        for entry in data.values():
            for image in entry["images"]:
                assert len(image["flow"]) == len(image["ancestral"]) == len(entry["spec"]["stop_steps"])
                assert image["payload_bits_per_dim"] == sorted(image["payload_bits_per_dim"])


def test_figures_style_is_the_one_plotting_style():
    """figures.style re-exports gaussian.plotstyle (the same objects, not copies), which the CLIs' plots use."""
    from gaussian import plotstyle

    for name in ("SCHEME_LABELS", "SCHEME_STYLES", "METHOD_LABELS", "METHOD_COLOURS", "MARKERS", "RC_PARAMS",
                 "pyplot", "legend_below", "sequence_colours"):
        assert getattr(style, name) is getattr(plotstyle, name), name


def test_three_plotting_paths_name_and_colour_a_scheme_alike(tmp_path, monkeypatch):
    """DiffC-F, DiffC-A and the posterior mean have one name and one colour in python -m gaussian.rd --plot, python
    -m empirical.rd --plot, python -m empirical.images --plot and python -m figures (rd_curves)."""
    from matplotlib.colors import to_rgba

    from empirical.images import evaluate
    from empirical.measure import plot
    from gaussian import curves, rd, spectrum
    from tests.empirical.test_rd_cli import _hand_report

    def named(fig):
        """{label: colour} of the plotted lines of every axes and of every legend entry of ``fig``."""
        out = {}
        for ax in fig.axes:
            out.update({ln.get_label(): to_rgba(ln.get_color()) for ln in ax.get_lines()})
        for leg in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
            for handle, text in zip(leg.legend_handles, leg.get_texts()):
                if hasattr(handle, "get_color"):
                    out[text.get_text()] = to_rgba(handle.get_color())
        return out

    plt = style.pyplot()
    theory = rd.draw(curves.evaluate(spectrum.flat(4), [1.0, 4.0]), spectrum.flat(4), plt=plt)
    measured = plot.draw_report(_hand_report(), plt)
    bpp = {"bpp": [0.5, 1.0], "ideal-bpp": [0.4, 0.9], "psnr-rgb": [20.0, 24.0], "ms-ssim-rgb": [0.8, 0.9],
           "spectrum-error-db": [1.0, 0.5], "sliced-w2": [0.1, 0.12]}
    photos = evaluate.draw_report({"methods": [{"name": f"diffc-{m}", "results": bpp} for m in ("flow", "ancestral", "mean")],
                                   "reference_originals": {"spectrum_error_db": None, "sliced_w2": None}}, plt)
    made = []
    real_save = style.save
    monkeypatch.setattr(style, "save", lambda fig, out, name: made.append(named(fig)) or real_save(fig, out, name))
    assert figures_main.main(["--only", "rd_curves", "--quick", "--out", str(tmp_path)]) == 0
    drawn = [named(f) for f in (theory, measured, photos)] + made
    assert len(drawn) == 4
    for method, scheme in style.METHOD_SCHEMES.items():
        label, colour = style.SCHEME_LABELS[scheme], to_rgba(style.SCHEME_STYLES[scheme]["color"])
        for found in drawn:
            assert found[label] == colour, (method, label)
    for fig in (theory, measured, photos):
        plt.close(fig)


def test_the_legend_check_sees_a_covering_legend():
    """tests.plot_checks finds a line and a marker under a legend placed on them, and no error bar that is not."""
    plt = style.pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="diagonal")
    ax.plot([0.5], [0.5], "o", label="centre")
    ax.errorbar([0.05, 0.95], [0.1, 0.9], yerr=[0.05, 0.05], fmt="s", label="corners")
    ax.legend(loc="center")
    covered = {label for _, label, _ in data_under_legends(fig)}
    plt.close(fig)
    assert covered == {"diagonal", "centre"}


def test_unknown_figure_is_an_error(capsys):
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "nope"])
    assert exc.value.code == 2


def test_missing_extra_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    """A measured figure without the [empirical] extra: exit 2 naming the module and the extra, no traceback."""
    def fail(name):
        raise ImportError("No module named 'constriction'", name="constriction")

    monkeypatch.setattr(figures_main.importlib, "import_module", fail)
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "reconstructions", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "constriction" in err and "[plot,empirical]" in err


@pytest.mark.parametrize("argv, word", [
    (["--checkpoint", "digits"], "digits=PATH"),
    (["--checkpoint", "faces=x.pt"], "digits=PATH"),
    (["--checkpoint", "digits=no/such/file.pt"], "no such file"),
    (["--only", "gap_db", "--checkpoint", "digits=PLACEHOLDER"], "reconstructions alone"),
])
def test_checkpoint_errors(tmp_path, capsys, argv, word):
    """--checkpoint: bad form, unknown data, missing file, or other figures: exit 2 with one line."""
    real = tmp_path / "m.pt"
    real.write_bytes(b"not a checkpoint")
    argv = [a.replace("PLACEHOLDER", str(real)) for a in argv]
    if "--only" not in argv:
        argv = ["--only", "reconstructions"] + argv
    with pytest.raises(SystemExit) as exc:
        figures_main.main(argv + ["--out", str(tmp_path), "--quick"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and word in err


def test_checkpoint_of_other_data_is_a_one_line_error(tmp_path, capsys):
    """A 3-dim learned Gaussian model given for digits: exit 2 naming what it was trained on, no traceback."""
    pytest.importorskip("torch")
    from empirical.models import train

    ckpt = tmp_path / "g3.pt"
    assert train.main(["--data", "gaussian", "--spectrum", "flat", "--dim", "3", "--out", str(ckpt), "--steps", "2",
                       "--hidden", "8", "--depth", "1", "--batch-size", "16", "--skip-samples", "1000",
                       "--eval-samples", "200", "--no-progress"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "reconstructions", "--checkpoint", f"digits={ckpt}", "--out", str(tmp_path),
                           "--quick"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "trained on 'gaussian', not 'digits'" in err


def test_missing_plot_extra_names_it_once(monkeypatch, capsys, tmp_path):
    """A theory figure without matplotlib: the hint is pip install -e ".[plot]" (it said ".[plot,plot]")."""
    def fail(name):
        raise ImportError("No module named 'matplotlib'", name="matplotlib")

    monkeypatch.setattr(figures_main.importlib, "import_module", fail)
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "gap_db", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "matplotlib" in err and '".[plot]"' in err and "plot,plot" not in err


def test_out_that_cannot_be_a_folder_is_refused_up_front(tmp_path, capsys):
    """--out under a file: exit 2, one line naming --out, before any figure runs."""
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "gap_db", "--out", str(f / "figs")])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "--out" in captured.err


@pytest.mark.parametrize("failing", [".json", ".png"])
def test_write_error_names_the_file_and_leaves_no_partial_file(tmp_path, capsys, monkeypatch, failing):
    """A full disk when NAME.json or NAME.png is renamed into place: exit 1, one line naming that file; what exists
    is whole (the JSON parses), the failed file and every temporary are gone."""
    import errno
    import os

    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(failing):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert figures_main.main(["--only", "gap_db", "--out", str(tmp_path), "--quick"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and str(tmp_path / f"gap_db{failing}") in captured.err
    assert "no space left on device" in captured.err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ([] if failing == ".json" else ["gap_db.json"])
    if names:
        assert json.loads((tmp_path / "gap_db.json").read_text())["rate_bits_per_dim"]


def test_repeated_only_makes_the_figure_once(tmp_path, capsys):
    """--only gap_db --only dp_frontier --only gap_db makes gap_db then dp_frontier, once each."""
    assert figures_main.main(["--only", "gap_db", "--only", "dp_frontier", "--only", "gap_db", "--quick",
                              "--out", str(tmp_path)]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["gap_db", "dp_frontier"]


def test_checkpoint_for_other_data_is_refused(tmp_path, capsys):
    """--checkpoint patches=<a model trained on digits> is one line naming --checkpoint and both data sets."""
    pytest.importorskip("torch")
    from empirical.models import learned
    from tests.empirical.test_codec import _tiny_learned

    path = tmp_path / "digits.pt"
    learned.save_checkpoint(path, _tiny_learned(64, (8, 8)))           # config data: digits
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "reconstructions", "--checkpoint", f"patches={path}", "--out", str(tmp_path),
                           "--quick"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint" in err and "'digits', not 'patches'" in err
