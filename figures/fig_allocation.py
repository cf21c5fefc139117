"""Per-component rates: reverse water-filling, the perfect-realism optimum, and isotropic noise."""
from __future__ import annotations

import math

import numpy as np

from gaussian import components, curves, spectrum

from . import style

NAME = "allocation"


def make(out_dir, quick: bool = False):
    """Write ``allocation.json`` and ``allocation.png``; returns the PNG path."""
    spec = spectrum.patches()
    per_dim = [0.1, 1.0]
    data = {"spectrum": spec.name, "eigvals": spec.eigvals.tolist(), "panels": []}
    for r in per_dim:
        total = r * spec.dim
        theta = curves.water_level(spec, total)[0]
        rd_rates = np.maximum(0.0, 0.5 * np.log(spec.eigvals / theta))
        rdp_rates = curves.rdp_allocation(spec, total)[0][0]
        iso_rates = components.rate_nats(spec.eigvals, curves.snr_for_rate(spec, total)[0])
        data["panels"].append({
            "rate_bits_per_dim": r,
            "rate_bits": {"rd": (rd_rates / math.log(2)).tolist(), "rdp": (rdp_rates / math.log(2)).tolist(),
                          "isotropic": (iso_rates / math.log(2)).tolist()},
            "mse_per_dim": {s: float(curves.mse_per_dim(s, spec, total)[0]) for s in ("rd", "rdp", "diffc_f")},
        })
    data = style.write_json(out_dir, NAME, data)
    plt = style.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    k = np.arange(1, len(data["eigvals"]) + 1)
    for ax, panel in zip(axes, data["panels"]):
        bits = panel["rate_bits"]
        mse = panel["mse_per_dim"]
        for key, scheme in (("rd", "rd"), ("rdp", "rdp"), ("isotropic", "diffc_f")):
            line = style.scheme_line(scheme)
            line["label"] += f", MSE {mse[scheme]:.3g}"
            ax.step(k, bits[key], where="mid", **line)
        ax.set_xlabel("component (eigenvalues descending)")
        ax.set_ylabel("rate (bits)")
        ax.set_title(f"{data['spectrum']} spectrum at {panel['rate_bits_per_dim']:g} bits/dim")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), title="rates per component (DiffC-F: isotropic noise)")
    return style.save(fig, out_dir, NAME)
