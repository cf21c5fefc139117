"""Exact values next to the bounds, identities and limits of ``bounds``, for one source and SNR.

``bounds_report(source, snr)`` returns a ``BoundsReport``: one ``Row`` per
statement, each with the exact value (from quadrature; for the two sandwich
rows, the lower bound), the value of the bound
or of the other side of the identity, the relation that must hold, its kind
(``identity`` / ``inequality`` / ``limit``) and whether it holds. Rates are in
bits per dimension and distortions are MSE per dimension, as everywhere in the
public outputs; internally everything is nats and totals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from bounds.decoders import sse_diffc_a_total, sse_diffc_f_total
from bounds.high_rate import high_rate_mutual_information_nats
from bounds.immse import (
    coordinate_variances,
    gaussian_mmse_upper_bound,
    gaussian_rate_upper_bound_nats,
    mmse_from_mutual_information,
    mutual_information_from_mmse_nats,
)
from bounds.rcc_cost import li_2025_length_bound_bits, li_el_gamal_length_bound_bits
from bounds.shannon_lower import (
    gaussian_upper_bound_mse,
    gaussian_upper_bound_nats,
    perfect_realism_mse_upper_bound,
    shannon_lower_bound_mse,
    shannon_lower_bound_nats,
)
from bounds.sources import check_snr

__all__ = ["Row", "BoundsReport", "bounds_report", "IDENTITY_RTOL"]

_LN2 = math.log(2.0)
#: Relative tolerance within which a numerical identity counts as holding.
IDENTITY_RTOL = 1e-7


@dataclass(frozen=True)
class Row:
    """One statement: ``value <relation> bound`` (``relation`` in ``<=``, ``>=``, ``=``, ``->``)."""

    quantity: str
    unit: str
    value: float       # the exact quantity (or the lower side of a sandwich)
    bound_name: str
    bound: float
    relation: str
    kind: str          # identity | inequality | limit
    holds: bool | None  # None for limits (not decidable at finite snr)


@dataclass(frozen=True)
class BoundsReport:
    """All rows for one source at one SNR."""

    snr: float
    dim: int
    rows: tuple


def _holds(value, bound, relation):
    slack = IDENTITY_RTOL * max(abs(value), abs(bound), 1e-300)
    if relation == "<=":
        return bool(value <= bound + slack)
    if relation == ">=":
        return bool(value >= bound - slack)
    return bool(abs(value - bound) <= slack)


def _row(quantity, unit, value, bound_name, bound, relation, kind):
    return Row(quantity, unit, float(value), bound_name, float(bound), relation, kind,
               _holds(value, bound, relation) if kind != "limit" else None)


def bounds_report(source, snr, with_immse_integral=False):
    """``BoundsReport`` of ``source`` at ``snr > 0``; ``with_immse_integral`` adds the (slower) integral I-MMSE row.

    A Gaussian attains its Gaussian bounds; every checked row holds:

    >>> from bounds.sources import Gaussian
    >>> rep = bounds_report(Gaussian(1.0), 3.0)
    >>> row = rep.rows[0]
    >>> row.quantity, round(row.value, 12), row.relation, round(row.bound, 12)  # 1/2 log2(1 + 3) = 1 bit
    ('I(X;Z)', 1.0, '<=', 1.0)
    >>> all(r.holds in (True, None) for r in rep.rows)
    True
    """
    s = check_snr(snr)
    if s == 0.0:
        raise ValueError("snr must be > 0 for a report, got 0")
    d = source.dim
    h = source.differential_entropy_nats()
    info = source.mutual_information_nats(s)
    mmse = source.mmse(s)
    sse_a = sse_diffc_a_total(source, s)
    sse_f = sse_diffc_f_total(source, s)
    eig = coordinate_variances(source)
    bits = 1.0 / (_LN2 * d)   # nats total -> bits per dim
    rate = "bits/dim"
    mse = "mse/dim"
    rows = [
        _row("I(X;Z)", rate, info * bits, "Gaussian, same variances", gaussian_rate_upper_bound_nats(source, s) * bits,
             "<=", "inequality"),
    ]
    if with_immse_integral:
        rows.append(_row("I(X;Z)", rate, info * bits, "1/2 int_0^snr mmse",
                         mutual_information_from_mmse_nats(source, s) * bits, "=", "identity"))
    rows += [
        _row("mmse", mse, mmse / d, "2 dI/dsnr (Richardson)", mmse_from_mutual_information(source, s) / d,
             "=", "identity"),
        _row("mmse", mse, mmse / d, "Gaussian (linear MMSE)", gaussian_mmse_upper_bound(source, s) / d,
             "<=", "inequality"),
        _row("mmse", mse, mmse / d, "1/snr", 1.0 / s, "<=", "inequality"),
    ]
    if h is not None:
        # High-rate limits assume a density (they fail for atoms, whose mmse decays exponentially).
        rows += [
            _row("D_A (ancestral)", mse, sse_a / d, "2/snr", 2.0 / s, "->", "limit"),
            _row("D_F (flow)", mse, sse_f / d, "1/snr", 1.0 / s, "->", "limit"),
            _row("D_A / D_F", "ratio", sse_a / sse_f, "high-rate limit", 2.0, "->", "limit"),
            _row("I(X;Z)", rate, info * bits, "h(X) + d/2 ln(snr/2pie)",
                 high_rate_mutual_information_nats(h, d, s) * bits, ">=", "inequality"),
            _row("mmse", mse, mmse / d, "SLB at rate I", shannon_lower_bound_mse(h, d, info), ">=", "inequality"),
            _row("I(X;Z) at D_F", rate, info * bits, "SLB R(D_F)", shannon_lower_bound_nats(h, d, sse_f / d) * bits,
                 ">=", "inequality"),
            _row("I(X;Z) - SLB(D_F)", rate, (info - shannon_lower_bound_nats(h, d, sse_f / d)) * bits,
                 "high-rate limit", 0.0, "->", "limit"),
            _row("I(X;Z) - SLB(D_A)", rate, (info - shannon_lower_bound_nats(h, d, sse_a / d)) * bits,
                 "high-rate limit (1/2 bit)", 0.5, "->", "limit"),
            _row("D_A (realism, rate I)", mse, sse_a / d, "2 D_SLB(I)", 2.0 * shannon_lower_bound_mse(h, d, info),
                 ">=", "inequality"),
        ]
    if h is not None:
        d_slb = shannon_lower_bound_mse(h, d, info)
        rows += [
            # SLB(D_F) <= R(D_F) <= min(I, R_G(D_F)): DiffC-F is a code at rate I and distortion D_F.
            _row("SLB(D_F) <= R(D_F)", rate, shannon_lower_bound_nats(h, d, sse_f / d) * bits,
                 "min(I, R_G(D_F))", min(info, gaussian_upper_bound_nats(eig, sse_f / d)) * bits, "<=", "inequality"),
            # D_SLB(I) <= D(I) <= D_p(I) <= min(D_F, 2 D(I)) <= min(D_F, 2 D_G(I))  (Blau-Michaeli).
            _row("D_SLB(I) <= D_p(I)", mse, d_slb, "min(D_F, Blau-Michaeli 2 D_G(I))",
                 min(sse_f / d, perfect_realism_mse_upper_bound(gaussian_upper_bound_mse(eig, info))),
                 "<=", "inequality"),
        ]
    rows += [
        _row("RCC cost of I", rate, info * bits, "Li-El Gamal length bound",
             li_el_gamal_length_bound_bits(info / _LN2) / d, "<=", "inequality"),
        _row("RCC cost of I", rate, info * bits, "Li 2025 length bound",
             li_2025_length_bound_bits(info / _LN2) / d, "<=", "inequality"),
    ]
    return BoundsReport(snr=s, dim=d, rows=tuple(rows))
