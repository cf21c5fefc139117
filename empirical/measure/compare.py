"""Measured points of the codec vs the closed forms of ``gaussian/``: residuals, z-scores, the rate gap.

::

    MeasuredPoint (sweep)  --mse, ci95, log_snr, kl, payload-->  compare_point(point, eigvals)
    eigvals (the Gaussian the prediction is for)  ----------->     | closed form at the codec's
                                                                   |   stopping log-SNR (what sets the MSE)
                                                                   | closed form at the rate-matched
                                                                   |   log-SNR (I(X; Z) = measured rate)
                                                                   v
                                              PointComparison: residual, z-score, within the 95% CI
    points at one stop step  -->  rate_gap(...)  ->  RateGap: I(X; Z) -> sum KL -> payload -> + header
    flow + ancestral points  -->  gap_db(...)    ->  GapDb: measured 10 log10(D_A / D_F) vs closed form

Which prediction applies. For the Gaussian oracle every decoder is linear in
``z`` plus independent Gaussian noise, so its MSE at a given log-SNR depends
only on the data's mean and covariance: the closed forms at the codec's
stopping log-SNR are exact for *any* data with the oracle's covariance (the
Gaussian source, or the train split of a data set the oracle was fitted to).
The same data have a closed-form expected rate too: the oracle's expected chain
KL is ``I_G(X; Z)`` of the moment-matched Gaussian (theory claim
``gaussian_model_rate_any_source``; ``RateGap.predicted_kl_bits_per_dim``).
The rate-matched prediction answers a different question (what the ideal
isotropic scheme achieves at the rate the codec actually spent); the two agree
only when the realised KL equals ``I(X; Z)``.

Per-dimension normalisation counts every dimension, zero-variance ones included.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .sweep import Z95, MeasuredPoint

__all__ = [
    "SCHEME_OF_METHOD",
    "PointComparison",
    "RateGap",
    "GapDb",
    "predicted_mse_at_log_snr",
    "rate_matched",
    "compare_point",
    "rate_gap",
    "gap_db",
    "compare",
    "format_table",
]

SCHEME_OF_METHOD = {"flow": "diffc_f", "ancestral": "diffc_a", "mmse": "mmse"}
HIGH_RATE_GAP_DB = 10.0 * math.log10(2.0)


@dataclasses.dataclass(frozen=True)
class PointComparison:
    """A measured MSE against its closed forms.

    Attributes
    ----------
    method, stop_step, log_snr : as in the :class:`~empirical.measure.sweep.MeasuredPoint`
    mse, mse_ci95 : float
        Measured MSE per dimension and its 95% half-width.
    predicted_mse : float
        Closed form at the codec's stopping log-SNR.
    residual : float
        ``mse - predicted_mse``.
    z_score : float
        ``residual / (mse_ci95 / 1.96)``.
    within_ci95 : bool
        ``|residual| <= mse_ci95``.
    rate_matched_log_snr : float or None
        Isotropic log-SNR at which ``I(X; Z)`` equals the measured realised KL (None at zero rate).
    predicted_mse_at_kl_rate, predicted_mse_at_payload_rate : float
        Closed form at the isotropic SNR that spends the measured KL / the measured payload bits.
    paired_estimate_mse, paired_estimate_ci95 : float or None
        With a reference model (the exact oracle) decoding the same latents: ``predicted_mse x
        mse / mse_reference`` and its 95% half-width. The reference's expected MSE is the closed form
        (an identity for the oracle), so this control-variate estimate of the model's expected MSE
        carries only the paired ratio's noise; its relative deviation from ``predicted_mse`` is
        ``ratio - 1``.
    """

    method: str
    stop_step: int
    log_snr: float
    mse: float
    mse_ci95: float
    predicted_mse: float
    residual: float
    z_score: float
    within_ci95: bool
    rate_matched_log_snr: float | None
    predicted_mse_at_kl_rate: float
    predicted_mse_at_payload_rate: float
    paired_estimate_mse: float | None = None
    paired_estimate_ci95: float | None = None


@dataclasses.dataclass(frozen=True)
class RateGap:
    """The rate decomposition at one stop step, bits per dimension: ``I(X; Z) -> sum KL -> payload -> coded``.

    Attributes
    ----------
    stop_step, log_snr : int, float
    predicted_bits_per_dim : float or None
        Closed-form ``I(X; Z)`` (None when unknown).
    kl_bits_per_dim, kl_bits_per_dim_ci95 : float
        Realised chain KL and its 95% half-width.
    model_gap_bits_per_dim : float or None
        ``kl - I(X; Z)``: what the model (and the discretised chain) costs above the ideal.
    predicted_kl_bits_per_dim : float or None
        Closed-form expected chain KL (exact Gaussian oracle on data with its moments), else None.
    kl_z_score : float or None
        ``(kl - predicted_kl) / (kl_ci95 / 1.96)``.
    payload_bits_per_dim, payload_bits_per_dim_ci95 : float
        Bits of the segments (header excluded).
    rcc_overhead_bits_per_dim : float
        ``payload - kl``: what reverse channel coding and byte alignment cost.
    rcc_bound_bits_per_dim : float
        Per-chunk Li-El Gamal bound on the payload (see :class:`~empirical.measure.sweep.MeasuredPoint`).
    within_rcc_bound : bool
        ``payload - payload_ci95 <= rcc_bound`` (the bound is on the expectation).
    header_bits_per_dim, coded_bits_per_dim : float
        Header and total bits written.
    """

    stop_step: int
    log_snr: float
    predicted_bits_per_dim: float | None
    kl_bits_per_dim: float
    kl_bits_per_dim_ci95: float
    model_gap_bits_per_dim: float | None
    predicted_kl_bits_per_dim: float | None
    kl_z_score: float | None
    payload_bits_per_dim: float
    payload_bits_per_dim_ci95: float
    rcc_overhead_bits_per_dim: float
    rcc_bound_bits_per_dim: float
    within_rcc_bound: bool
    header_bits_per_dim: float
    coded_bits_per_dim: float


@dataclasses.dataclass(frozen=True)
class GapDb:
    """``10 log10(D_A / D_F)`` measured at one stop step against the closed form at the same log-SNR.

    Attributes
    ----------
    stop_step, log_snr : int, float
    measured_gap_db : float
        From the measured DiffC-A and DiffC-F MSEs.
    measured_gap_db_ci95 : float
        Paired delta-method 95% half-width: both decoders reconstruct the same samples from the same
        ``z``, so ``ln(D_A / D_F)`` has standard error ``std(e_A / D_A - e_F / D_F) / sqrt(n)`` over the
        per-sample errors ``e``.
    predicted_gap_db : float or None
        Closed form at the stopping log-SNR (below 3.0103 dB at finite rate for a non-flat spectrum);
        None when there is no Gaussian the prediction is for.
    high_rate_limit_db : float
        ``10 log10 2``.
    """

    stop_step: int
    log_snr: float
    measured_gap_db: float
    measured_gap_db_ci95: float
    predicted_gap_db: float | None
    high_rate_limit_db: float = HIGH_RATE_GAP_DB


def _eigvals(eigvals) -> np.ndarray:
    """Validated ``[d]`` variances (finite, >= 0, at least one > 0)."""
    arr = np.asarray(eigvals, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all() or (arr < 0).any() or not (arr > 0).any():
        raise ValueError("eigvals: expected a non-empty 1-D array of finite variances >= 0, not all 0")
    return arr


def predicted_mse_at_log_snr(method: str, eigvals, log_snr: float) -> float:
    """Closed-form MSE per dimension of ``method`` (flow / ancestral / mmse) at the isotropic ``log_snr``.

    >>> predicted_mse_at_log_snr("ancestral", [1.0], 0.0), round(predicted_mse_at_log_snr("flow", [1.0], 0.0), 15)
    (1.0, 0.585786437626905)
    """
    from gaussian import components, schedule

    eigvals = _eigvals(eigvals)
    form = {"flow": components.mse_diffc_f, "ancestral": components.mse_diffc_a, "mmse": components.mse_mmse}
    if method not in form:
        raise ValueError(f"method: expected one of {tuple(form)}, got {method!r}")
    return float(np.mean(form[method](eigvals, schedule.snr_from_log_snr(log_snr))))


def rate_matched(method: str, eigvals, rate_bits_per_dim: float) -> tuple:
    """``(log_snr, mse)``: the isotropic log-SNR whose ``I(X; Z)`` is the rate, and ``method``'s MSE there.

    Per dimension counts every entry of ``eigvals``; at rate 0 the log-SNR is None.
    """
    from gaussian import curves

    eigvals = _eigvals(eigvals)
    positive = eigvals[eigvals > 0]
    total = float(rate_bits_per_dim) * eigvals.size
    if not (np.isfinite(total) and total >= 0):
        raise ValueError(f"rate_bits_per_dim: must be finite and >= 0, got {rate_bits_per_dim!r}")
    scheme = SCHEME_OF_METHOD[method]
    sse = float(curves.mse_per_dim(scheme, positive, total)[0]) * positive.size
    log_snr = None if total == 0 else float(curves.log_snr_for_rate(positive, total)[0])
    return log_snr, sse / eigvals.size


def compare_point(point: MeasuredPoint, eigvals) -> PointComparison:
    """Compare one measured point with the closed forms for ``eigvals`` (see the module docstring)."""
    predicted = predicted_mse_at_log_snr(point.method, eigvals, point.log_snr)
    residual = point.mse - predicted
    se = point.mse_ci95 / Z95
    z = residual / se if se > 0 else (0.0 if residual == 0 else math.copysign(math.inf, residual))
    ls_kl, mse_kl = rate_matched(point.method, eigvals, point.kl_bits_per_dim)
    _, mse_pay = rate_matched(point.method, eigvals, point.payload_bits_per_dim)
    paired = (None, None)
    if point.mse_ratio_to_reference is not None:
        paired = (predicted * point.mse_ratio_to_reference, predicted * point.mse_ratio_to_reference_ci95)
    return PointComparison(point.method, point.stop_step, point.log_snr, point.mse, point.mse_ci95, predicted,
                           residual, float(z), bool(abs(residual) <= point.mse_ci95), ls_kl, mse_kl, mse_pay,
                           *paired)


def rate_gap(point: MeasuredPoint) -> RateGap:
    """The rate decomposition of one measured point (every method of a stop step shares it)."""
    predicted = point.predicted_bits_per_dim
    predicted_kl = point.predicted_kl_bits_per_dim
    kl_z = None
    if predicted_kl is not None and point.kl_bits_per_dim_ci95 > 0:
        kl_z = float((point.kl_bits_per_dim - predicted_kl) / (point.kl_bits_per_dim_ci95 / Z95))
    return RateGap(
        stop_step=point.stop_step, log_snr=point.log_snr, predicted_bits_per_dim=predicted,
        kl_bits_per_dim=point.kl_bits_per_dim, kl_bits_per_dim_ci95=point.kl_bits_per_dim_ci95,
        model_gap_bits_per_dim=None if predicted is None else point.kl_bits_per_dim - predicted,
        predicted_kl_bits_per_dim=predicted_kl, kl_z_score=kl_z,
        payload_bits_per_dim=point.payload_bits_per_dim, payload_bits_per_dim_ci95=point.payload_bits_per_dim_ci95,
        rcc_overhead_bits_per_dim=point.payload_bits_per_dim - point.kl_bits_per_dim,
        rcc_bound_bits_per_dim=point.rcc_bound_bits_per_dim,
        within_rcc_bound=bool(point.payload_bits_per_dim - point.payload_bits_per_dim_ci95 <= point.rcc_bound_bits_per_dim),
        header_bits_per_dim=point.header_bits_per_dim, coded_bits_per_dim=point.coded_bits_per_dim,
    )


def gap_db(ancestral: MeasuredPoint, flow: MeasuredPoint, eigvals=None) -> GapDb:
    """Measured and closed-form ``10 log10(D_A / D_F)`` at the common stop step of two points (no closed form
    without ``eigvals``)."""
    if ancestral.method != "ancestral" or flow.method != "flow":
        raise ValueError("ancestral, flow: expected an 'ancestral' and a 'flow' point")
    if ancestral.stop_step != flow.stop_step or ancestral.log_snr != flow.log_snr:
        raise ValueError("flow: must have the ancestral point's stop step and log-SNR")
    if ancestral.n != flow.n:
        raise ValueError("flow: must have as many samples as the ancestral point")
    measured = 10.0 * math.log10(ancestral.mse / flow.mse)
    paired = np.asarray(ancestral.mse_per_sample) / ancestral.mse - np.asarray(flow.mse_per_sample) / flow.mse
    ci = (10.0 / math.log(10.0)) * Z95 * float(np.std(paired, ddof=1)) / math.sqrt(paired.size)
    predicted = None
    if eigvals is not None:
        predicted = 10.0 * math.log10(predicted_mse_at_log_snr("ancestral", eigvals, flow.log_snr)
                                      / predicted_mse_at_log_snr("flow", eigvals, flow.log_snr))
    return GapDb(flow.stop_step, flow.log_snr, measured, ci, predicted)


@dataclasses.dataclass(frozen=True)
class Report:
    """Everything :func:`compare` derives from a sweep: per-point comparisons, rate gaps, dB gaps."""

    points: tuple
    comparisons: tuple
    rate_gaps: tuple
    gaps_db: tuple

    def to_dict(self) -> dict:
        """JSON-ready dict (lists of field dicts)."""
        return {
            "points": [p.to_dict() for p in self.points],
            "comparisons": [dataclasses.asdict(c) for c in self.comparisons],
            "rate_gaps": [dataclasses.asdict(g) for g in self.rate_gaps],
            "gaps_db": [dataclasses.asdict(g) for g in self.gaps_db],
        }


def compare(points, eigvals=None) -> Report:
    """Comparisons (if ``eigvals`` is given), one rate gap per stop step, and dB gaps where both decoders ran."""
    points = tuple(points)
    comparisons = tuple(compare_point(p, eigvals) for p in points) if eigvals is not None else ()
    gaps, seen, gaps_db = [], set(), []
    for p in points:
        if p.stop_step not in seen:
            seen.add(p.stop_step)
            gaps.append(rate_gap(p))
    by_key = {(p.stop_step, p.method): p for p in points}
    for s in sorted(seen):
        if (s, "ancestral") in by_key and (s, "flow") in by_key:
            gaps_db.append(gap_db(by_key[(s, "ancestral")], by_key[(s, "flow")], eigvals))
    return Report(points, comparisons, tuple(gaps), tuple(gaps_db))


def _fmt(value, spec: str = ".4g") -> str:
    return "-" if value is None else format(value, spec)


def format_table(report: Report) -> str:
    """Plain-text tables: measured vs predicted MSE, the rate decomposition, the dB gap, realism."""
    lines = []
    if report.comparisons:
        lines.append("MSE per dim: measured (95% CI) vs closed form at the codec's stopping log-SNR, and at the "
                     "rate-matched SNR")
        lines.append(f"{'method':9s} {'step':>4s} {'log_snr':>8s} {'mse':>10s} {'ci95':>9s} {'predicted':>10s} "
                     f"{'z':>6s} {'in CI':>5s} {'rm_log_snr':>10s} {'pred@kl':>10s} {'pred@payload':>12s}")
        for c in report.comparisons:
            lines.append(f"{c.method:9s} {c.stop_step:4d} {c.log_snr:8.3f} {c.mse:10.4g} {c.mse_ci95:9.2g} "
                         f"{c.predicted_mse:10.4g} {c.z_score:6.2f} {'yes' if c.within_ci95 else 'NO':>5s} "
                         f"{_fmt(c.rate_matched_log_snr, '.3f'):>10s} {c.predicted_mse_at_kl_rate:10.4g} "
                         f"{c.predicted_mse_at_payload_rate:12.4g}")
        lines.append("")
    paired = [p for p in report.points if p.mse_ratio_to_reference is not None]
    if paired:
        estimates = {(c.stop_step, c.method): c for c in report.comparisons}
        lines.append(f"Paired with the reference model {paired[0].reference_model!r} decoding the same latents "
                     "(same decoder noise): MSE ratio model / reference (95% CI); with a closed form, the "
                     "control-variate estimate closed form x ratio")
        lines.append(f"{'method':9s} {'step':>4s} {'mse':>10s} {'mse_ref':>10s} {'ci95':>9s} {'ratio':>8s} "
                     f"{'ci95':>7s} {'estimate':>10s} {'ci95':>9s}")
        for p in paired:
            c = estimates.get((p.stop_step, p.method))
            lines.append(f"{p.method:9s} {p.stop_step:4d} {p.mse:10.4g} {p.mse_reference:10.4g} "
                         f"{p.mse_reference_ci95:9.2g} {p.mse_ratio_to_reference:8.4f} "
                         f"{p.mse_ratio_to_reference_ci95:7.4f} {_fmt(c and c.paired_estimate_mse):>10s} "
                         f"{_fmt(c and c.paired_estimate_ci95, '.2g'):>9s}")
        lines.append("")
    if not report.comparisons:
        lines.append("MSE per dim (no closed form for this data/model)")
        lines.append(f"{'method':9s} {'step':>4s} {'log_snr':>8s} {'mse':>10s} {'ci95':>9s} {'psnr_db':>8s}")
        for p in report.points:
            lines.append(f"{p.method:9s} {p.stop_step:4d} {p.log_snr:8.3f} {p.mse:10.4g} {p.mse_ci95:9.2g} "
                         f"{_fmt(p.psnr_db, '.2f'):>8s}")
        lines.append("")
    lines.append("Rate, bits per dim: I(X;Z) -> sum KL (realised) -> payload (coded, header excluded) -> coded "
                 "(header included); per-chunk RCC bound on the payload; E[KL]: closed-form expected sum KL "
                 "(exact Gaussian oracle on data with its moments), z of the realised sum KL")
    lines.append(f"{'step':>4s} {'log_snr':>8s} {'I(X;Z)':>8s} {'E[KL]':>8s} {'sum KL':>8s} {'ci95':>7s} {'z':>6s} "
                 f"{'KL-I':>8s} {'payload':>8s} {'pay-KL':>8s} {'bound':>8s} {'<=bnd':>5s} {'header':>7s} {'coded':>8s}")
    for g in report.rate_gaps:
        lines.append(f"{g.stop_step:4d} {g.log_snr:8.3f} {_fmt(g.predicted_bits_per_dim):>8s} "
                     f"{_fmt(g.predicted_kl_bits_per_dim):>8s} {g.kl_bits_per_dim:8.4g} "
                     f"{g.kl_bits_per_dim_ci95:7.2g} {_fmt(g.kl_z_score, '.2f'):>6s} "
                     f"{_fmt(g.model_gap_bits_per_dim, '.3g'):>8s} {g.payload_bits_per_dim:8.4g} "
                     f"{g.rcc_overhead_bits_per_dim:8.3g} {g.rcc_bound_bits_per_dim:8.4g} "
                     f"{'yes' if g.within_rcc_bound else 'NO':>5s} {g.header_bits_per_dim:7.3g} {g.coded_bits_per_dim:8.4g}")
    if report.gaps_db:
        lines.append("")
        lines.append("10 log10(D_A / D_F), dB: measured (95% CI) vs closed form at the same log-SNR (limit 3.0103 dB)")
        lines.append(f"{'step':>4s} {'log_snr':>8s} {'measured':>9s} {'ci95':>6s} {'predicted':>9s}")
        for g in report.gaps_db:
            lines.append(f"{g.stop_step:4d} {g.log_snr:8.3f} {g.measured_gap_db:9.3f} {g.measured_gap_db_ci95:6.3f} "
                         f"{_fmt(g.predicted_gap_db, '.3f'):>9s}")
    lines.append("")
    lines.append("Realism, per dim: Gaussian W2^2 to the data law and sliced W2^2 to an independent data sample "
                 "(floor: the same for the original samples); PSNR for images (peak = pixel range)")
    lines.append(f"{'method':9s} {'step':>4s} {'W2^2 gauss':>10s} {'floor':>9s} {'sliced W2^2':>11s} {'floor':>9s} "
                 f"{'psnr_db':>8s}")
    for p in report.points:
        lines.append(f"{p.method:9s} {p.stop_step:4d} {p.w2_sq_gauss_per_dim:10.3g} {p.w2_sq_gauss_per_dim_data:9.3g} "
                     f"{p.sliced_w2_sq_per_dim:11.3g} {p.sliced_w2_sq_per_dim_data:9.3g} {_fmt(p.psnr_db, '.2f'):>8s}")
    return "\n".join(lines)
