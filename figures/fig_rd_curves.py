"""MSE per dimension vs rate for every scheme, on three spectra (natural patches, power law, flat)."""
from __future__ import annotations

import numpy as np

from gaussian import curves, rd, spectrum

from . import style

NAME = "rd_curves"


def make(out_dir, quick: bool = False):
    """Write ``rd_curves.json`` and ``rd_curves.png``; returns the PNG path."""
    spectra = [spectrum.patches(), spectrum.power_law(64, 1.0), spectrum.flat(64)]
    per_dim = np.geomspace(0.01, 6.0, 20 if quick else 80)
    data = {"rate_bits_per_dim": per_dim.tolist(), "spectra": []}
    for spec in spectra:
        c = curves.evaluate(spec, per_dim * spec.dim)
        data["spectra"].append({"name": spec.name, "dim": spec.dim,
                                "mse_per_dim": {s: c.mse(s).tolist() for s in curves.SCHEMES}})
    data = style.write_json(out_dir, NAME, data)
    plt = style.pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.6), sharex=True, gridspec_kw={"height_ratios": [3, 2]},
                             layout="constrained")
    x = np.array(data["rate_bits_per_dim"])
    for col, entry in enumerate(data["spectra"]):
        top, bottom = axes[0, col], axes[1, col]
        rd.draw_scheme_axes(top, bottom, x, entry["mse_per_dim"])
        top.set_title(f"{entry['name']} spectrum, $d = {entry['dim']}$")
        bottom.set_xlabel(style.RATE_LABEL)
        if col > 0:
            top.set_ylabel("")
            bottom.set_ylabel("")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    extra = axes[1, 0].get_legend_handles_labels()
    style.legend_below(fig, handles + extra[0][-1:], labels + extra[1][-1:], ncol=4)
    fig.suptitle("Gaussian source: closed-form rate–distortion of DiffC and its references")
    return style.save(fig, out_dir, NAME)
