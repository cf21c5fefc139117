"""Render :class:`gaussian.curves.Curves` as an aligned table, CSV or JSON."""
from __future__ import annotations

import csv
import io
import json

import numpy as np

from .curves import HIGH_RATE_GAP_DB, SCHEMES, Curves, psnr_db

__all__ = ["to_rows", "to_json", "to_csv", "to_table"]

_SHORT = {
    "rd": "rd",
    "rdp": "rdp",
    "diffc_a": "diffc_a",
    "diffc_f": "diffc_f",
    "mmse": "mmse",
    "diffc_f_allocated": "f_alloc",
}
_VS_RD = ("rdp", "diffc_f_allocated", "diffc_f", "diffc_a", "mmse")


def to_rows(curves: Curves, peak: float | None = None) -> list[dict]:
    """One JSON-ready dict per rate: rates, snr, ``mse_per_dim`` per scheme, dB gaps (and PSNR if ``peak``)."""
    rows = []
    gap_af = curves.gap_db_ancestral_over_flow
    gaps = {s: curves.gap_db(s) for s in _VS_RD}
    psnr = {s: psnr_db(curves.mse(s), peak) for s in SCHEMES} if peak is not None else None
    for i in range(curves.rate_bits_total.size):
        row = {
            "rate_bits_total": float(curves.rate_bits_total[i]),
            "rate_bits_per_dim": float(curves.rate_bits_per_dim[i]),
            "snr": float(curves.snr[i]),
            "water_level": float(curves.water_level[i]),
            "mse_per_dim": {s: float(curves.mse(s)[i]) for s in SCHEMES},
            "gap_db_ancestral_over_flow": float(gap_af[i]),
            "gap_db_to_rd": {s: float(gaps[s][i]) for s in _VS_RD},
        }
        if psnr is not None:
            row["psnr_db"] = {s: float(psnr[s][i]) for s in SCHEMES}
        rows.append(row)
    return rows


def to_json(curves: Curves, spectrum, peak: float | None = None) -> str:
    """JSON object ``{"spectrum": {name, dim, eigvals}, "rows": [...], "high_rate_gap_db"}``."""
    doc = {
        "spectrum": spectrum.to_dict(),
        "units": {"rate": "bits", "mse_per_dim": "mean squared error per dimension", "gap": "dB"},
        "high_rate_gap_db": HIGH_RATE_GAP_DB,
        "rows": to_rows(curves, peak),
    }
    if peak is not None:
        doc["units"]["psnr_db"] = f"dB, peak-to-peak {peak:g}"
    return json.dumps(doc, indent=2)


def _flat_columns(curves: Curves, peak):
    """Column names and the matrix of values shared by the CSV and the table."""
    names = ["rate_bits_per_dim", "rate_bits_total", "snr"]
    cols = [curves.rate_bits_per_dim, curves.rate_bits_total, curves.snr]
    for s in SCHEMES:
        names.append(f"mse_{s}")
        cols.append(curves.mse(s))
    names.append("gap_db_ancestral_over_flow")
    cols.append(curves.gap_db_ancestral_over_flow)
    for s in _VS_RD:
        names.append(f"gap_db_{s}_over_rd")
        cols.append(curves.gap_db(s))
    if peak is not None:
        for s in SCHEMES:
            names.append(f"psnr_db_{s}")
            cols.append(psnr_db(curves.mse(s), peak))
    return names, np.column_stack(cols)


def to_csv(curves: Curves, peak: float | None = None) -> str:
    """CSV with one row per rate (full precision, ``repr`` of floats)."""
    names, values = _flat_columns(curves, peak)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for row in values:
        writer.writerow([repr(float(v)) for v in row])
    return buf.getvalue()


def to_table(curves: Curves, spectrum, peak: float | None = None) -> str:
    """Aligned human-readable table with a header naming the spectrum and a closing high-rate line."""
    head = ["bits/dim", "snr"] + [_SHORT[s] for s in SCHEMES] + ["A/F dB"]
    head += [f"{_SHORT[s]}/rd dB" for s in _VS_RD]
    # every column is computed once (a property or gap_db per cell would make the table O(rates^2))
    rate_per_dim, snr = curves.rate_bits_per_dim, curves.snr
    mses = [curves.mse(s) for s in SCHEMES]
    gaps = [curves.gap_db_ancestral_over_flow] + [curves.gap_db(s) for s in _VS_RD]
    body = []
    for i in range(curves.rate_bits_total.size):
        cells = [f"{rate_per_dim[i]:.4g}", f"{snr[i]:.4g}"]
        cells += [f"{m[i]:.4e}" for m in mses]
        cells += [f"{g[i]:.4f}" for g in gaps]
        body.append(cells)
    widths = [max(len(h), *(len(r[j]) for r in body)) for j, h in enumerate(head)]
    lines = [
        f"spectrum {spectrum.name}: dim {spectrum.dim}, eigvals {spectrum.eigvals[0]:.4g} .. "
        f"{spectrum.eigvals[-1]:.4g}, mean variance {spectrum.mean_variance:.4g}",
        "MSE per dimension of each scheme; gaps are 10 log10 of MSE ratios",
        "  ".join(h.rjust(w) for h, w in zip(head, widths)),
    ]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in body]
    if peak is not None:
        lines.append("PSNR (dB, peak-to-peak %g): " % peak + ", ".join(
            f"{_SHORT[s]} {psnr_db(curves.mse(s), peak)[-1]:.2f}" for s in SCHEMES) + " at the highest rate")
    lines.append(
        f"high-rate limit: 10 log10(D_A / D_F) -> 10 log10 2 = {HIGH_RATE_GAP_DB:.4f} dB "
        "(approached only as snr -> inf; below it at finite rate for non-flat spectra)"
    )
    return "\n".join(lines)
