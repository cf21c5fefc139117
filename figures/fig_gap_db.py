"""10 log10(D_A / D_F) vs rate: the ancestral-over-flow gap and its 3.01 dB high-rate limit."""
from __future__ import annotations

import numpy as np

from gaussian import curves, spectrum

from . import style

NAME = "gap_db"


def make(out_dir, quick: bool = False):
    """Write ``gap_db.json`` and ``gap_db.png``; returns the PNG path."""
    spectra = [spectrum.patches(), spectrum.power_law(64, 1.0), spectrum.power_law(64, 2.0),
               spectrum.flat(64)]
    per_dim = np.geomspace(0.003, 12.0, 25 if quick else 120)
    data = {"rate_bits_per_dim": per_dim.tolist(), "high_rate_gap_db": curves.HIGH_RATE_GAP_DB,
            "gap_db_ancestral_over_flow": {}}
    for spec in spectra:
        c = curves.evaluate(spec, per_dim * spec.dim)
        data["gap_db_ancestral_over_flow"][spec.name] = c.gap_db_ancestral_over_flow.tolist()
    data = style.write_json(out_dir, NAME, data)
    plt = style.pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    x = np.array(data["rate_bits_per_dim"])
    gaps = data["gap_db_ancestral_over_flow"]
    for (name, gap), colour in zip(gaps.items(), style.sequence_colours(len(gaps))):
        ax.plot(x, gap, color=colour, label=name)
    ax.axhline(data["high_rate_gap_db"], color="k", ls=":", lw=1, label=style.HIGH_RATE_GAP_LABEL)
    ax.set_xscale("log")
    ax.set_xlabel(style.RATE_LABEL)
    ax.set_ylabel(style.GAP_A_OVER_F_LABEL)
    ax.set_title("DiffC-A over DiffC-F at the same isotropic SNR")
    ax.legend(loc="lower right", title="spectrum (64 dims)")
    return style.save(fig, out_dir, NAME)
