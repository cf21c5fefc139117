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
    data = style.write_json(out_dir, NAME, _measure(quick))
    plt = style.pyplot()
    fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(10, 3.8))
    colours, labels = style.METHOD_COLOURS, style.METHOD_LABELS
    rate = data["closed_form"]["rate_bits_per_dim"]
    for method, colour in colours.items():
        ax.plot(rate, data["closed_form"][method], color=colour, lw=1, label=f"{labels[method]}, closed form")
        pts = [p for p in data["points"] if p["method"] == method]
        ax.errorbar([p["kl_bits_per_dim"] for p in pts], [p["mse"] for p in pts], yerr=[p["mse_ci95"] for p in pts],
                    fmt="o", color=colour, ms=4, capsize=2, label=f"{method}: measured vs realised sum KL")
        ax.plot([p["payload_bits_per_dim"] for p in pts], [p["mse"] for p in pts], "o", mfc="none", color=colour,
                ms=5, label=f"{method}: vs coded bits (no header)")
    ax.set_yscale("log")
    ax.set_xlabel("rate (bits per dimension)")
    ax.set_ylabel("MSE per dimension")
    ax.set_title(f"Gaussian data, {data['spec']['dim']} dims, oracle; n = {data['spec']['n']}")
    ax.legend(fontsize=6)
    gaps = data["gaps_db"]
    ax_gap.errorbar([g["log_snr"] for g in gaps], [g["measured_gap_db"] for g in gaps],
                    yerr=[g["measured_gap_db_ci95"] for g in gaps], fmt="o", capsize=3, color="k", label="measured")
    ax_gap.plot([g["log_snr"] for g in gaps], [g["predicted_gap_db"] for g in gaps], "x", ms=9, color="tab:red",
                label="closed form at the stopping log-SNR")
    ax_gap.axhline(10 * np.log10(2.0), color="k", ls=":", lw=1, label="10 log10 2 = 3.0103 dB")
    ax_gap.set_xlabel("codec stopping log-SNR (nats)")
    ax_gap.set_ylabel("10 log10(D_A / D_F) (dB)")
    ax_gap.set_title("DiffC-A over DiffC-F, same bitstream prefix")
    ax_gap.legend()
    return style.save(fig, out_dir, NAME)
