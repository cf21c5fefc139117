"""Distortion–perception frontier of linear decoders x_hat = k z / alpha, k in [rho^2, rho]."""
from __future__ import annotations

import numpy as np

from gaussian import components

from . import style

NAME = "dp_frontier"


def make(out_dir, quick: bool = False):
    """Write ``dp_frontier.json`` and ``dp_frontier.png``; returns the PNG path."""
    lam = 1.0
    snrs = [0.25, 1.0, 4.0, 16.0]
    num = 15 if quick else 60
    data = {"eigval": lam, "curves": []}
    for snr in snrs:
        rho = float(components.flow_gain(lam, snr))
        gains = np.linspace(rho**2, rho, num)
        data["curves"].append({
            "snr": snr, "rho": rho, "gain": gains.tolist(),
            "mse": components.mse_linear_decoder(lam, snr, gains).tolist(),
            "w2": np.sqrt(components.w2_sq_linear_decoder(lam, snr, gains)).tolist(),
        })
    data = style.write_json(out_dir, NAME, data)
    plt = style.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.6), layout="constrained")
    for c, colour in zip(data["curves"], style.sequence_colours(len(data["curves"]))):
        line, = ax.plot(c["w2"], c["mse"], color=colour, label=f"snr = {c['snr']:g}")
        ax.plot(c["w2"][0], c["mse"][0], "o", color=line.get_color())   # k = rho^2: posterior mean
        ax.plot(c["w2"][-1], c["mse"][-1], "s", color=line.get_color())  # k = rho: DiffC-F
    ax.plot([], [], "ko", label=rf"$k = \rho^2$: {style.SCHEME_LABELS['mmse']}")
    ax.plot([], [], "ks", label=rf"$k = \rho$: {style.SCHEME_LABELS['diffc_f']}, perfect realism")
    ax.set_xlabel("$W_2$ distance of the reconstruction to the data (per dimension)")
    ax.set_ylabel("MSE per dimension")
    ax.set_title(r"Scalar Gaussian (variance 1): the frontier traced by $k\,z/\alpha$")
    style.legend_below(fig, *ax.get_legend_handles_labels(), ncol=3)
    return style.save(fig, out_dir, NAME)
