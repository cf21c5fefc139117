"""Measured points of a report in the toolkit's one plotting style (``gaussian.plotstyle``).

``python -m empirical.rd --plot`` and the measured figures of ``python -m figures`` draw with these; they read
a report's JSON form (``compare.Report.to_dict()``), so a figure can be redrawn from its JSON. The decoder
sets the colour (its scheme's: DiffC-F blue, DiffC-A red, posterior mean grey); the marker says what the rate
axis counts::

    filled o   MSE (95% CI) at the realised chain sum of KLs (95% CI)
    open o     the same MSE at the payload bits written (header excluded)
    x          the closed form at the stopping log-SNR (at the realised sum of KLs)

Importing this module imports nothing; matplotlib is imported by the caller.
"""
from __future__ import annotations

METHODS = ("flow", "ancestral", "mmse")


def draw_points(ax, report: dict, closed_form_markers: bool = False) -> list:
    """Draw every decoder's measured points of ``report`` on ``ax`` (filled and open markers), and with
    ``closed_form_markers`` the closed form of each point that has a comparison; returns the decoders drawn."""
    from gaussian import plotstyle

    predicted = {(c["stop_step"], c["method"]): c["predicted_mse"] for c in report.get("comparisons", ())}
    drawn = []
    for method in METHODS:
        pts = [p for p in report["points"] if p["method"] == method]
        if not pts:
            continue
        drawn.append(method)
        colour, name = plotstyle.METHOD_COLOURS[method], plotstyle.METHOD_LABELS[method]
        kl = [p["kl_bits_per_dim"] for p in pts]
        mse = [p["mse"] for p in pts]
        ax.errorbar(kl, mse, yerr=[p["mse_ci95"] for p in pts], xerr=[p["kl_bits_per_dim_ci95"] for p in pts],
                    color=colour, capsize=2, elinewidth=0.9, label=f"{name}: {plotstyle.MARKER_LABELS['kl']}",
                    **plotstyle.MARKERS["kl"])
        ax.plot([p["payload_bits_per_dim"] for p in pts], mse, color=colour,
                label=f"{name}: {plotstyle.MARKER_LABELS['payload']}", **plotstyle.MARKERS["payload"])
        known = [p for p in pts if (p["stop_step"], method) in predicted]
        if closed_form_markers and known:
            ax.plot([p["kl_bits_per_dim"] for p in known], [predicted[(p["stop_step"], method)] for p in known],
                    color=colour, label=f"{name}: {plotstyle.MARKER_LABELS['closed_form']}",
                    **plotstyle.MARKERS["closed_form"])
    return drawn


def draw_report(report: dict, plt):
    """The ``python -m empirical.rd --plot`` figure of ``report`` (``plt``: ``matplotlib.pyplot``): the measured
    MSE per dimension against rate with the closed forms at the stopping log-SNR; one legend below the axes."""
    from gaussian import plotstyle

    fig, ax = plt.subplots(figsize=(6, 4.8), layout="constrained")
    methods = draw_points(ax, report, closed_form_markers=True)
    ax.set_yscale("log")
    ax.set_xlabel(plotstyle.RATE_LABEL)
    ax.set_ylabel("MSE per dimension")
    kinds = ("kl", "payload") + (("closed_form",) if report.get("comparisons") else ())
    plotstyle.legend_below(fig, *plotstyle.legend_handles(methods, kinds), ncol=2)
    return fig
