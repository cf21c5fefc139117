"""Shared matplotlib settings, the JSON-then-plot helper of every figure, and the measured figures' curves."""
from __future__ import annotations

import json
import pathlib

SCHEME_LABELS = {
    "rd": "R(D): reverse water-filling",
    "rdp": "perfect-realism R(D)",
    "diffc_f_allocated": "DiffC-F, allocated noise",
    "diffc_f": "DiffC-F (flow)",
    "diffc_a": "DiffC-A (ancestral)",
    "mmse": "posterior mean",
}
SCHEME_STYLES = {
    "rd": dict(color="black", ls="-"),
    "rdp": dict(color="tab:purple", ls="-"),
    "diffc_f_allocated": dict(color="tab:purple", ls=(0, (1, 2)), lw=2.4),
    "diffc_f": dict(color="tab:blue", ls="-"),
    "diffc_a": dict(color="tab:red", ls="-"),
    "mmse": dict(color="tab:gray", ls="--"),
}

# decoders of the real codec (empirical.measure.sweep methods) -> the scheme whose colour and label they take
METHOD_SCHEMES = {"flow": "diffc_f", "ancestral": "diffc_a", "mmse": "mmse"}
METHOD_COLOURS = {m: SCHEME_STYLES[s]["color"] for m, s in METHOD_SCHEMES.items()}
METHOD_LABELS = {m: SCHEME_LABELS[s] for m, s in METHOD_SCHEMES.items()}


def closed_form_curves(eigvals, log_snr) -> dict:
    """Isotropic closed forms at each ``log_snr``: ``I(X; Z)`` in bits/dim and each decoder's MSE per dim."""
    import numpy as np

    from gaussian import components, schedule

    eigvals = np.asarray(eigvals, dtype=np.float64)
    snr = schedule.snr_from_log_snr(np.asarray(log_snr, dtype=np.float64))[:, None]
    return {
        "rate_bits_per_dim": (components.rate_nats(eigvals, snr).mean(axis=1) / np.log(2.0)).tolist(),
        "flow": components.mse_diffc_f(eigvals, snr).mean(axis=1).tolist(),
        "ancestral": components.mse_diffc_a(eigvals, snr).mean(axis=1).tolist(),
        "mmse": components.mse_mmse(eigvals, snr).mean(axis=1).tolist(),
    }


def pyplot():
    """matplotlib.pyplot on the Agg backend with the project's rcParams."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "figure.dpi": 100,
        "savefig.dpi": 110,
        "font.size": 9,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "legend.fontsize": 7.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    return plt


def write_json(out_dir: pathlib.Path, name: str, data: dict) -> dict:
    """Write ``name.json`` (whole or not at all) and return the data as read back (what the plot draws).

    An ``OSError`` names ``name.json``.
    """
    from gaussian._io import naming_errors, write_text_atomic

    path = pathlib.Path(out_dir) / f"{name}.json"
    with naming_errors(path):
        write_text_atomic(path, json.dumps(data, indent=1))
        return json.loads(path.read_text())


def save(fig, out_dir: pathlib.Path, name: str) -> pathlib.Path:
    """Save ``name.png`` in ``out_dir`` through a temporary file and close the figure; an ``OSError`` names the PNG."""
    from gaussian._io import atomic_path, naming_errors

    import matplotlib.pyplot as plt

    path = pathlib.Path(out_dir) / f"{name}.png"
    try:
        with naming_errors(path), atomic_path(path) as tmp:
            fig.savefig(tmp, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return path
