"""Measured DiffC-F / DiffC-A / MMSE points of the real codec (95% CIs) on the closed-form curves, Gaussian data.

Data ``N(0, Sigma)`` with the power-law spectrum ``lam_i ~ i^-1`` (16 dims; 4 with
``quick``), the exact Gaussian oracle, one bitstream per sample decoded at
several prefixes. Left: MSE against the realised chain KL (filled) and the
bytes actually written, header excluded (open), with the isotropic closed-form
curves against ``I(X; Z)``. Right: ``10 log10(D_A / D_F)`` measured vs the
closed form at the codec's stopping log-SNR.
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "measured_gaussian"


def _measure(quick: bool) -> dict:
    """Run the sweep and return the JSON-ready measurements and closed-form curves."""
    from empirical.measure import compare, sweep

    dim, n, steps = (4, 16, (16, 22)) if quick else (16, 200, (15, 18, 20, 24, 28))
    spec = sweep.SweepSpec(data={"name": "gaussian", "spectrum": "powerlaw:1", "dim": dim}, model="oracle", n=n,
                           stop_steps=steps, seed=0, ancestral_steps=64 if quick else 512,
                           flow_steps=16 if quick else 64)
    points = sweep.measure(spec, workers=1 if quick else None)
    source, _ = sweep.build(spec)
    eigvals = np.asarray(source.eigvals)
    report = compare.compare(points, eigvals)
    curves = style.closed_form_curves(eigvals, np.linspace(-4.0, 11.0, 40 if quick else 200))
    return {"spec": {"dim": dim, "n": n, "stop_steps": list(steps), "spectrum": "powerlaw:1", "model": "oracle"},
            "closed_form": curves, **report.to_dict()}


def make(out_dir, quick: bool = False):
    """Write ``measured_gaussian.json`` and ``measured_gaussian.png``; returns the PNG path."""
    return plot(style.write_json(out_dir, NAME, _measure(quick)), out_dir)


def plot(data, out_dir):
    """Draw ``measured_gaussian.png`` from the JSON; returns the PNG path."""
    from empirical.measure.plot import draw_points

    plt = style.pyplot()
    fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(8.4, 3.9), layout="constrained")
    rate = data["closed_form"]["rate_bits_per_dim"]
    for method in draw_points(ax, data):
        ax.plot(rate, data["closed_form"][method], lw=1, **style.method_line(method))
    ax.set_yscale("log")
    ax.set_xlabel(style.RATE_LABEL + r"; curves: $I(X; Z)$")
    ax.set_ylabel("MSE per dimension")
    ax.set_title(f"Gaussian data, {data['spec']['dim']} dims, oracle; $n = {data['spec']['n']}$")
    gaps = data["gaps_db"]
    ax_gap.errorbar([g["log_snr"] for g in gaps], [g["measured_gap_db"] for g in gaps],
                    yerr=[g["measured_gap_db_ci95"] for g in gaps], fmt="D", ms=4, capsize=3, color="black", zorder=3,
                    label="measured, same stream prefix (95% CI)")
    ax_gap.plot([g["log_snr"] for g in gaps], [g["predicted_gap_db"] for g in gaps], color="black",
                label=style.MARKER_LABELS["closed_form"], **style.MARKERS["closed_form"])
    ax_gap.axhline(10 * np.log10(2.0), color="black", ls=":", lw=0.8, label=style.HIGH_RATE_GAP_LABEL)
    ax_gap.set_xlabel("codec stopping log-SNR (nats)")
    ax_gap.set_ylabel(style.GAP_A_OVER_F_LABEL)
    ax_gap.set_title("DiffC-A over DiffC-F")
    handles, labels = style.legend_handles(("flow", "ancestral", "mmse"), ("kl", "payload"))
    gap_handles, gap_labels = ax_gap.get_legend_handles_labels()
    style.legend_below(fig, handles + gap_handles, labels + gap_labels, ncol=2, fontsize=9)
    return style.save(fig, out_dir, NAME)
