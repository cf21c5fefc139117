"""Noise schedules of the codec's chain: one log-SNR for every component (``isotropic``) or one per component (``rdp``).

``isotropic`` is :class:`empirical.codec.chain.Grid`: ``K`` log-SNRs, the same for
every coordinate. ``rdp`` is :class:`RdpGrid`: ``K`` points of the perfect-realism
allocation path, each a ``[dim]`` vector of log-SNRs along the model's eigenbasis,
at which DiffC-F attains the perfect-realism rate–distortion function of the
model's Gaussian at every point on the way (``gaussian.curves.rdp_log_snrs``)::

    descriptor (16 bytes, the Bitstream's schedule field)
        b"VPRD" or b"VPR3", u32 K, f32 rate_start, f32 rate_stop     (bits per dimension, little endian)
    VPRD (spacing "rate"): rates_k = numpy.linspace(rate_start, rate_stop, K)
    VPR3 (spacing "cbrt"): rates_k = numpy.linspace(cbrt(rate_start), cbrt(rate_stop), K) ** 3
                           (float64 of the float32 endpoints; last = rate_stop in both)
    log_snrs[k, i] = tau_k + ln rho_i(lam_i e^tau_k)     (gaussian.curves.rdp_log_snrs; lam_i = model.eigvals[i])

Spacing ``rate`` is uniform in the total rate: every step carries the same expected
KL, ``(rate_stop - rate_start) / (K - 1)`` bits per dimension, and step 0 (the
prior step) ``rate_start``. The path gives its first rate to the largest-variance
components, so on photographs, which sit far out in those components, the first
steps of a uniform grid put tens of bits on one coefficient (more than a chunk
may carry). Spacing ``cbrt`` (uniform in the cube root of the rate; the image
codec's) starts ``K^3`` times lower and grows the steps as ``k^2``: the
exact-chain KL of one coefficient in one step stays within a few bits of the
isotropic grid's, at three times the uniform step near the end. The decoder recomputes the log-SNRs from the model's
eigenvalues and the descriptor with the same float64 arithmetic (the monotone
Newton solve of ``gaussian.curves``, a fixed sequence of numpy operations).

Every component's log-SNR rises strictly along the path (claim
``rdp_schedule_monotone``; :func:`check_monotone` checks the computed table
and refuses any other). The allocation gives every component with ``lam_i > 0``
positive rate at any rate > 0, so no log-SNR is ``-inf`` and no floor is needed.
Components with ``lam_i = 0`` (a constant direction) carry no information at any
SNR; they follow the smallest log-SNR of the others at each point (a minimum of
increasing sequences is increasing), which costs no rate.

Models with per-component closed forms accept ``rdp`` (the Gaussian oracles,
:class:`empirical.models.oracles.EigenGaussianMethods`); the receivers are then
the oracle's exact maps: the flow map (DiffC-F, score-scaled for ``dp:C``), an
exact posterior draw (DiffC-A) and the posterior mean. So does a U-Net trained on
the path (``python -m empirical.train --model unet --schedule rdp``, conditioned on
the path's ``tau``), decoded by the receivers on the path
(:func:`empirical.codec.receivers.flow_on_path`, :func:`~empirical.codec.receivers.ancestral_on_path`).
"""
from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np

__all__ = ["SCHEDULES", "RDP_TAG", "RDP_CBRT_TAG", "RDP_SPACINGS", "RdpGrid", "check_monotone", "rdp_log_snrs_for_model", "supports_per_component",
           "has_closed_forms", "refuse_rdp",
           "parse_method", "DP_SCALE_RANGE"]

SCHEDULES = ("isotropic", "rdp")
RDP_TAG = b"VPRD"
RDP_CBRT_TAG = b"VPR3"
RDP_SPACINGS = {"rate": RDP_TAG, "cbrt": RDP_CBRT_TAG}
MAX_GRID_POINTS = 2**16
MAX_RATE_BITS_PER_DIM = 64.0
DP_SCALE_RANGE = (1.0, 2.0)


def check_num_points(n) -> int:
    """``n`` as an int if it is an integer in ``1..MAX_GRID_POINTS`` (a grid's size), else ValueError naming num_steps."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_GRID_POINTS:
        raise ValueError(f"num_steps: must be an integer in 1..{MAX_GRID_POINTS}, got {n!r}")
    return int(n)


def uniform_points(start: float, stop: float, num_points: int) -> np.ndarray:
    """``[num_points]`` float64 values uniform from ``start`` to ``stop``, the last exactly ``stop`` (a grid's points)."""
    if num_points == 1:
        return np.array([stop])
    points = np.linspace(start, stop, num_points)
    points[-1] = stop
    return points


def pack_descriptor(tag: bytes, num_points: int, start: float, stop: float) -> bytes:
    """A 16-byte schedule descriptor: the 4-byte ``tag``, ``u32`` points, ``f32`` start and stop (little endian)."""
    return tag + struct.pack("<Iff", num_points, start, stop)


def unpack_descriptor(raw: bytes, tag: bytes, what: str) -> tuple:
    """``(num_points, start, stop)`` of a 16-byte descriptor with ``tag``; ValueError naming the stream otherwise."""
    if len(raw) != 16 or raw[:4] != tag:
        raise ValueError(f"data: the stream's schedule field {bytes(raw).hex()} is not a {tag!r} {what}")
    return struct.unpack("<Iff", raw[4:])


def has_closed_forms(model) -> bool:
    """Whether ``model`` is a Gaussian oracle, whose per-component receivers are closed forms."""
    from empirical.models.oracles import EigenGaussianMethods

    return isinstance(model, EigenGaussianMethods)


def supports_per_component(model) -> bool:
    """Whether ``model`` takes ``--schedule rdp``: a Gaussian oracle (closed forms), or a learned model trained on
    the perfect-realism path (``model.schedule == "rdp"``: ``python -m empirical.train --model unet --schedule rdp``),
    decoded by the receivers on that path (:func:`empirical.codec.receivers.flow_on_path`)."""
    return has_closed_forms(model) or getattr(model, "schedule", None) == "rdp"


def refuse_rdp(model, spec: str = "") -> None:
    """ValueError naming schedule unless ``model`` takes ``--schedule rdp`` (:func:`supports_per_component`)."""
    if not supports_per_component(model):
        raise ValueError(f"schedule: 'rdp' needs a Gaussian oracle (per-component closed forms) or a unet trained "
                         f"with --schedule rdp; {spec or type(model).__name__} takes --schedule isotropic only")


def check_monotone(log_snrs) -> np.ndarray:
    """``log_snrs`` (``[K, dim]``) as float64 if finite and strictly increasing along axis 0 in every component.

    A chain step goes to less noise in every component; anything else is refused (ValueError naming ``schedule``).
    """
    arr = np.asarray(log_snrs, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"schedule: expected a [K, dim] table of log-SNRs, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("schedule: every per-component log-SNR must be finite")
    steps = np.diff(arr, axis=0)
    if steps.size and not (steps > 0).all():
        k, i = np.argwhere(~(steps > 0))[0]
        raise ValueError(f"schedule: not monotone: component {i} goes from log-SNR {arr[k, i]:.6g} at point {k} "
                         f"to {arr[k + 1, i]:.6g} at point {k + 1} (each must rise strictly)")
    return arr


def rdp_log_snrs_for_model(eigvals, rates_bits_per_dim) -> np.ndarray:
    """``[K, dim]`` per-component log-SNRs of the perfect-realism path at each rate (bits per dimension, all dims).

    Components with ``eigvals == 0`` take the smallest log-SNR of the others at each point; the table is
    checked by :func:`check_monotone`.
    """
    from gaussian import curves

    eigvals = np.asarray(eigvals, dtype=np.float64)
    rates = np.asarray(rates_bits_per_dim, dtype=np.float64)
    positive = eigvals > 0
    if not positive.any():
        raise ValueError("model: every eigenvalue is 0: there is nothing to code")
    out = np.empty((rates.size, eigvals.size))
    out[:, positive] = curves.rdp_log_snrs(eigvals[positive], rates * eigvals.size)
    out[:, ~positive] = out[:, positive].min(axis=1, keepdims=True)
    return check_monotone(out)


@dataclasses.dataclass(frozen=True)
class RdpGrid:
    """``num_points`` points of the perfect-realism path, uniform in total rate (``spacing="rate"``) or in its cube
    root (``"cbrt"``), bits/dim, float32 endpoints."""

    num_points: int
    rate_start_bits_per_dim: float
    rate_stop_bits_per_dim: float
    spacing: str = "rate"

    def __post_init__(self):
        if self.spacing not in RDP_SPACINGS:
            raise ValueError(f"rdp_spacing: expected one of {', '.join(RDP_SPACINGS)}, got {self.spacing!r}")
        n = check_num_points(self.num_points)
        for name in ("rate_start_bits_per_dim", "rate_stop_bits_per_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (np.isfinite(value) and 0 < value <= MAX_RATE_BITS_PER_DIM):
                raise ValueError(f"{name}: must be a number in (0, {MAX_RATE_BITS_PER_DIM:g}], got {value!r}")
            rounded = float(np.float32(value))
            if not rounded > 0:
                raise ValueError(f"{name}: {value!r} rounds to 0 as a float32")
            object.__setattr__(self, name, rounded)
        object.__setattr__(self, "num_points", n)
        if n > 1 and not self.rate_start_bits_per_dim < self.rate_stop_bits_per_dim:
            raise ValueError(f"rate_start_bits_per_dim: must be < rate_stop_bits_per_dim (as float32), got "
                             f"{self.rate_start_bits_per_dim!r} >= {self.rate_stop_bits_per_dim!r}")
        if n == 1 and self.rate_start_bits_per_dim != self.rate_stop_bits_per_dim:
            raise ValueError("rate_stop_bits_per_dim: a one-point grid needs rate_stop == rate_start")

    @property
    def rates_bits_per_dim(self) -> np.ndarray:
        """``[num_points]`` expected cumulative chain rates, bits per dimension, increasing."""
        if self.spacing == "rate":
            return uniform_points(self.rate_start_bits_per_dim, self.rate_stop_bits_per_dim, self.num_points)
        rates = uniform_points(np.cbrt(self.rate_start_bits_per_dim), np.cbrt(self.rate_stop_bits_per_dim),
                               self.num_points) ** 3
        rates[-1] = self.rate_stop_bits_per_dim
        return rates

    def log_snrs_for(self, model) -> np.ndarray:
        """``[num_points, dim]`` per-component log-SNRs along ``model``'s eigenbasis (ValueError naming schedule
        for a model without per-component closed forms)."""
        refuse_rdp(model)
        return rdp_log_snrs_for_model(model.eigvals, self.rates_bits_per_dim)

    def to_bytes(self) -> bytes:
        """The 16-byte schedule descriptor."""
        return pack_descriptor(RDP_SPACINGS[self.spacing], self.num_points, self.rate_start_bits_per_dim,
                               self.rate_stop_bits_per_dim)

    @classmethod
    def from_bytes(cls, raw: bytes) -> "RdpGrid":
        """Inverse of :meth:`to_bytes`; ValueError for anything else."""
        spacing = next((name for name, tag in RDP_SPACINGS.items() if bytes(raw[:4]) == tag), "rate")
        n, start, stop = unpack_descriptor(raw, RDP_SPACINGS[spacing], "descriptor")
        try:
            return cls(n, start, stop, spacing)
        except ValueError as err:
            raise ValueError(f"data: the stream's {RDP_SPACINGS[spacing]!r} descriptor is invalid ({err})") from None


def parse_method(method) -> tuple:
    """``(decoder, score_scale)`` of a decoder name: ``flow`` (1), ``ancestral``, ``mean`` or ``dp:C`` (C in [1, 2]).

    ``dp:C`` is the probability flow with its score scaled by ``C`` (claim ``score_scaled_flow``): ``x_hat = rho^C
    z / alpha`` for a Gaussian, on the distortion–perception frontier (claim ``dp_frontier``); ``dp:1`` is DiffC-F
    and ``dp:2`` the posterior mean.

    >>> parse_method("dp:1.5")
    ('dp', 1.5)
    """
    methods = ("flow", "ancestral", "mean")
    if isinstance(method, str) and method in methods:
        return method, 1.0 if method == "flow" else None
    if isinstance(method, str) and method.startswith("dp:"):
        try:
            scale = float(method[3:])
        except ValueError:
            scale = math.nan
        lo, hi = DP_SCALE_RANGE
        if not lo <= scale <= hi:
            raise ValueError(f"method: dp:C needs a number C in [{lo:g}, {hi:g}], got {method!r}")
        return "dp", scale
    raise ValueError(f"method: expected one of {', '.join(methods)} or dp:C (C in [1, 2]), got {method!r}")
