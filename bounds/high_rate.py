"""High-rate (``snr -> inf``) asymptotics of DiffC for a general ``d``-dimensional source.

Assumptions for the limits: ``X`` has a density, finite variance and finite
differential entropy ``h(X)``; for the DiffC-F limits the density is smooth
(finite Fisher information), so that the flow map is asymptotically the
identity rescaled by ``1/alpha``. Rates in nats, squared errors summed over
coordinates.

=========================================  ==========================================  ===========
statement                                  form                                        kind
=========================================  ==========================================  ===========
``I(snr) >= h(X) + d/2 ln(snr/(2 pi e))``  ``h(sqrt(snr) X + N) >= h(sqrt(snr) X)``     inequality,
                                                                                       all snr
``I(snr) - [h(X) + d/2 ln(snr/2pie)]``     ``-> 0``                                    limit
``mmse(snr) <= d / snr``                   estimator ``Y / sqrt(snr)``                 inequality,
                                                                                       all snr
``snr * mmse(snr) / d``                    ``-> 1`` (MMSE dimension 1, Wu-Verdu 2011)  limit
``D_A = 2 mmse``                           ``~ 2 d / snr``                             limit
``D_F``                                    ``~ d / snr``                               limit
``D_A / D_F``                              ``-> 2`` (3.01 dB)                          limit
``I(snr) - SLB(D_F)``                      ``-> 0`` (DiffC-F meets the SLB)            limit
``I(snr) - SLB(D_A)``                      ``-> d/2 ln 2`` (half a bit per dim)        limit
=========================================  ==========================================  ===========
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from bounds.shannon_lower import shannon_lower_bound_nats
from bounds.sources import check_snr

__all__ = [
    "high_rate_mutual_information_nats",
    "high_rate_mmse_total",
    "high_rate_sse_diffc_a_total",
    "high_rate_sse_diffc_f_total",
    "HighRateComparison",
    "high_rate_comparison",
]


def _positive_snr(snr):
    s = check_snr(snr)
    if s == 0.0:
        raise ValueError("snr must be > 0 for the high-rate forms, got 0")
    return s


def high_rate_mutual_information_nats(differential_entropy_nats, dim, snr):
    """``h(X) + d/2 ln(snr / (2 pi e))`` nats: the high-rate form of ``I``, and a lower bound at every snr.

    For ``N(0, v)``, ``h = 1/2 ln(2 pi e v)`` and the form is ``1/2 ln(snr v)``,
    just below the exact ``1/2 ln(1 + snr v)``:

    >>> import math
    >>> h = 0.5 * math.log(2 * math.pi * math.e * 4.0)
    >>> round(high_rate_mutual_information_nats(h, 1, 25.0), 12), round(0.5 * math.log(100.0), 12)
    (2.302585092994, 2.302585092994)
    """
    if differential_entropy_nats is None:
        raise ValueError("differential_entropy_nats is None: the high-rate form needs a source with a density")
    s = _positive_snr(snr)
    return float(differential_entropy_nats) + 0.5 * int(dim) * math.log(s / (2.0 * math.pi * math.e))


def high_rate_mmse_total(dim, snr):
    """``d / snr``: the high-rate MMSE, and an upper bound at every snr (error of ``Y / sqrt(snr)``)."""
    return int(dim) / _positive_snr(snr)


def high_rate_sse_diffc_a_total(dim, snr):
    """``2 d / snr``: the high-rate DiffC-A squared error (an upper bound at every snr, as ``2 mmse``)."""
    return 2.0 * int(dim) / _positive_snr(snr)


def high_rate_sse_diffc_f_total(dim, snr):
    """``d / snr``: the high-rate DiffC-F squared error (asymptotic only)."""
    return int(dim) / _positive_snr(snr)


@dataclass(frozen=True)
class HighRateComparison:
    """Exact values next to their high-rate forms at one SNR (nats; squared errors summed)."""

    snr: float
    dim: int
    mutual_information_nats: float           # exact I(snr)
    high_rate_information_nats: float        # h + d/2 ln(snr/(2 pi e)) <= I
    information_gap_nats: float              # I - high-rate form (>= 0, -> 0)
    snr_times_mmse_per_dim: float            # snr mmse / d (<= 1, -> 1)
    sse_diffc_a_total: float                 # 2 mmse
    sse_diffc_f_total: float                 # exact flow-map squared error
    ratio_ancestral_over_flow: float         # D_A / D_F (-> 2)
    gap_to_slb_flow_nats: float              # I - SLB(D_F) (-> 0)
    gap_to_slb_ancestral_nats: float         # I - SLB(D_A) (-> d/2 ln 2)


def high_rate_comparison(source, snr):
    """``HighRateComparison`` of ``source`` at ``snr > 0`` (needs a source with a density)."""
    s = _positive_snr(snr)
    h = source.differential_entropy_nats()
    if h is None:
        raise ValueError("source has atoms: h(X) does not exist and the high-rate forms do not apply")
    d = source.dim
    info = source.mutual_information_nats(s)
    mmse = source.mmse(s)
    sse_a = 2.0 * mmse
    sse_f = source.mse_diffc_f_total(s)
    hr = high_rate_mutual_information_nats(h, d, s)
    return HighRateComparison(
        snr=s,
        dim=d,
        mutual_information_nats=info,
        high_rate_information_nats=hr,
        information_gap_nats=info - hr,
        snr_times_mmse_per_dim=s * mmse / d,
        sse_diffc_a_total=sse_a,
        sse_diffc_f_total=sse_f,
        ratio_ancestral_over_flow=sse_a / sse_f,
        gap_to_slb_flow_nats=info - shannon_lower_bound_nats(h, d, sse_f / d),
        gap_to_slb_ancestral_nats=info - shannon_lower_bound_nats(h, d, sse_a / d),
    )
