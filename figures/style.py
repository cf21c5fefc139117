"""The figures' style (re-exported from ``gaussian.plotstyle``, the one home of the toolkit's plotting style), the
JSON-then-plot helpers of every figure, and the measured figures' closed-form curves."""
from __future__ import annotations

import json
import pathlib

# the one plotting style of the toolkit (names, colours, markers, rcParams), shared with the CLIs' --plot
from gaussian.plotstyle import (  # noqa: E402,F401
    BASELINE_LABELS, BASELINE_STYLES, GAP_A_OVER_F_LABEL, HIGH_RATE_GAP_LABEL, MARKER_LABELS, MARKERS, METHOD_COLOURS,
    METHOD_LABELS, METHOD_SCHEMES, RATE_LABEL, RC_PARAMS, SCHEME_LABELS, SCHEME_STYLES, legend_below, legend_handles,
    method_line, pyplot, scheme_line, sequence_colours,
)


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
