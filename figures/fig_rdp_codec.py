"""The codec under both noise schedules on Gaussian data (``python -m empirical.measure.rdp``), on the closed forms.

Data ``N(0, Sigma)`` with the power-law spectrum ``lam_i ~ i^-2`` (16 dims, 4500
samples; 4 dims and 40 samples with ``quick``), the exact oracle, real bytes.
Left: MSE against the realised chain KL for DiffC-F and DiffC-A under the ``rdp``
schedule (filled) and the isotropic one (open), on the closed-form ``rd``,
``rdp``, isotropic DiffC-F and DiffC-A curves and DiffC-A under the ``rdp``
schedule. Right: the distortion–perception plane (Gaussian W2^2 of the
reconstructions against MSE) at each stop: the closed-form frontier of the
``rdp`` schedule's noise levels (``x_hat = k z / alpha``, ``k`` from ``rho^2`` to
``rho``) and the measured ``dp:C`` points of both schedules.
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "rdp_codec"


def _measure(quick: bool) -> dict:
    from empirical.measure import rdp

    spec = ({"spectrum": "powerlaw:2", "dim": 4, "rates": [0.25, 1.0], "num_steps": 4, "n": 40,
             "dp": [1.5, 2.0], "seed": 0} if quick else
            {"spectrum": "powerlaw:2", "dim": 16, "rates": [0.1, 0.25, 0.5, 1.0], "num_steps": 20, "n": 4500,
             "dp": [1.25, 1.5, 1.75, 2.0], "seed": 0})
    result = rdp.measure(spec, workers=1 if quick else None)
    result["closed_form"] = _closed_form(np.asarray(result["eigvals"]), result, quick)
    return result


def _closed_form(eigvals, result, quick) -> dict:
    """Curves against the rate (bits/dim) and the frontier at each stop of the rdp schedule."""
    from gaussian import components, curves

    top = max(r["rate_bits_per_dim"] for r in result["rows"]) * 1.2
    rate = np.linspace(0.02, top, 30 if quick else 120)
    c = curves.evaluate(eigvals, rate_bits_per_dim=rate)
    snr_rdp = np.exp(curves.rdp_log_snrs(eigvals, rate_bits_per_dim=rate))
    out = {"rate_bits_per_dim": rate.tolist(), "rd": c.mse_rd.tolist(), "rdp": c.mse_rdp.tolist(),
           "diffc_f": c.mse_diffc_f.tolist(), "diffc_a": c.mse_diffc_a.tolist(),
           "diffc_a_rdp_schedule": components.mse_diffc_a(eigvals, snr_rdp).mean(axis=1).tolist(), "frontier": []}
    for g in result["gaps"]:
        snr = np.exp(curves.rdp_log_snrs(eigvals, rate_bits_per_dim=g["rate_bits_per_dim"])[0])
        rho = components.flow_gain(eigvals, snr)
        t = np.linspace(0.0, 1.0, 40)[:, None]
        gain = rho**2 + t * (rho - rho**2)
        out["frontier"].append({"rate_bits_per_dim": g["rate_bits_per_dim"],
                                "mse": components.mse_linear_decoder(eigvals, snr, gain).mean(axis=1).tolist(),
                                "w2_sq": components.w2_sq_linear_decoder(eigvals, snr, gain).mean(axis=1).tolist()})
    return out


def make(out_dir, quick: bool = False):
    """Write ``rdp_codec.json`` and ``rdp_codec.png``; returns the PNG path."""
    return plot(style.write_json(out_dir, NAME, _measure(quick)), out_dir)


def plot(data, out_dir):
    """Draw ``rdp_codec.png`` from the figure's JSON ``data`` (no measurement); returns the PNG path."""
    cf = data["closed_form"]
    plt = style.pyplot()
    fig, (ax, ax_dp) = plt.subplots(1, 2, figsize=(10, 5.2), layout="constrained")
    for key in ("rd", "rdp", "diffc_f", "diffc_a"):
        ax.plot(cf["rate_bits_per_dim"], cf[key], lw=1, label=f"{style.SCHEME_LABELS[key]}"
                + (", isotropic" if key.startswith("diffc") else ""), **style.SCHEME_STYLES[key])
    ax.plot(cf["rate_bits_per_dim"], cf["diffc_a_rdp_schedule"], color=style.METHOD_COLOURS["ancestral"], ls=":",
            lw=1.2, label="DiffC-A, rdp schedule")
    for method, colour in (("dp:1", style.METHOD_COLOURS["flow"]), ("ancestral", style.METHOD_COLOURS["ancestral"])):
        for schedule, face in (("rdp", None), ("isotropic", "none")):
            pts = [r for r in data["rows"] if r["method"] == method and r["schedule"] == schedule]
            name = "DiffC-F" if method == "dp:1" else "DiffC-A"
            ax.errorbar([p["kl_bits_per_dim"] for p in pts], [p["mse"] for p in pts],
                        yerr=[p["mse_ci95"] for p in pts], fmt="o", ms=4, capsize=2, color=colour,
                        mfc=face or colour, label=f"{name} measured, {schedule}")
    ax.set_yscale("log")
    ax.set_xlabel("realised sum KL (bits per dimension)")
    ax.set_ylabel("MSE per dimension")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=7)
    colours = style.sequence_colours(len(cf["frontier"]))
    for i, front in enumerate(cf["frontier"]):
        colour = colours[i]
        ax_dp.plot(front["w2_sq"], front["mse"], color=colour, lw=1,
                   label=f"frontier at {front['rate_bits_per_dim']:.3g} bits/dim (rdp noise)")
        for schedule, marker in (("rdp", "o"), ("isotropic", "s")):
            pts = [r for r in data["rows"] if r["schedule"] == schedule and r["method"] != "ancestral"
                   and r["rate_bits_per_dim"] == front["rate_bits_per_dim"]]
            ax_dp.plot([p["w2_sq_gauss_per_dim"] for p in pts], [p["mse"] for p in pts], marker, color=colour,
                       mfc=colour if schedule == "rdp" else "none", ms=4, ls="none",
                       label=f"dp:C measured, {schedule}" if i == 0 else None)
    ax_dp.axvline(data["w2_sq_gauss_per_dim_data"], color="gray", ls="--", lw=0.8,
                  label="W2² of the data samples (estimate floor)")
    ax_dp.set_yscale("log")
    ax_dp.set_xlabel("Gaussian W2² to the data law, per dimension")
    ax_dp.set_ylabel("MSE per dimension")
    ax_dp.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=7)
    return style.save(fig, out_dir, NAME)
