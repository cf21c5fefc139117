"""The DiffC codec: data -> bytes (progressive chain of reverse-channel-coded steps) -> reconstruction.

::

    sender (knows x)                                           receiver (knows the model and the bytes)
    grid log_snr_0 < ... < log_snr_{K-1}  (uniform; header)     same grid, from the header
    step 0: q(z_0 | x) = N(alpha_0 x, sigma_0^2 I)  vs  prior p(z_0)
    step k: q(z_k | z_{k-1}, x)                     vs  p(z_k | z_{k-1})   (model.reverse_transition)
      |  in the model's basis both are diagonal Gaussians;
      |  empirical.rcc.encode_step(q, p, seed, step=k) -> segment k, sample z_k
      |  stop after step S-1: stop_step, or the first step where the
      |  cumulative KL reaches rate_bits_per_dim * dim
      v
    empirical.rcc.bitstream.Bitstream(shape, model hash, schedule descriptor, seed, budget, padding,
                                      segments 0..S-1).to_bytes()
      |
      v                                                       decode_latent(bytes, model, prefix_steps=n)
    any prefix of n <= S steps  ------------------------->    z_{n-1} at log_snr_{n-1}, bit-identical to the
                                                              sender's (same seed, same model arithmetic)
                                                                |
                                                                v  decode(..., method=)
                                                     "flow" (DiffC-F), "ancestral" (DiffC-A), "mean" (E[x|z])

Costs. ``kl_bits`` of a step is ``KL(q || p)`` of the realised step (the ideal
cost); summed over the chain it is the realised ELBO rate, whose expectation
with the Gaussian oracle's exact transitions is exactly ``I(X; Z_{log_snr_{S-1}})``
(plus ``KL(p_true(z_0) || prior)``, zero for the oracle's exact prior), and with
plug-in transitions tends to it as the grid gets finer. ``coded_bits`` is
``8 len(segment)``; the container header (magic, shape, hashes, seed, lengths,
checksums) is counted separately.

Schedule descriptor. The Bitstream has a 16-byte ``schedule_hash`` field; the
codec stores there, instead of a hash, the grid itself: ``b"VPLS"``, ``u32``
number of grid points ``K``, ``f32`` first and ``f32`` last log-SNR (little
endian). The grid endpoints are therefore float32 numbers (the encoder rounds
the requested ones to float32 and reports what it used); the grid is
``numpy.linspace`` of their float64 values.

Per-component schedules. ``schedule="rdp"`` (:mod:`empirical.codec.schedules`) codes the chain at
one log-SNR per component of the model's eigenbasis, on the perfect-realism allocation path; its
descriptor is ``b"VPRD"``, ``u32 K``, ``f32`` first and last rate (bits per dimension), and the
decoder recomputes the ``[K, dim]`` log-SNRs from the model's eigenvalues. A latent of that chain
has a ``[dim]`` vector of log-SNRs (``Latent.log_snr``) and the receivers are the oracle's exact maps.

Randomness. RCC candidates come from ``(seed, step)`` (``empirical.rcc``). The
zero-step prefix decodes to a draw of the prior from
``SeedSequence([RNG_TAG_PRIOR, seed])``; DiffC-A's own randomness is the
decoder's ``rng``.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from gaussian import schedule
from empirical import models

from . import receivers, schedules

__all__ = [
    "Grid",
    "EncodeResult",
    "Latent",
    "encode",
    "encode_detailed",
    "decode_latent",
    "decode",
    "reconstruct",
    "reconstruct_at",
    "ideal_chain_kl_bits",
    "ideal_chain",
    "ideal_chain_steps",
    "model_hash",
    "default_grid",
    "METHODS",
    "BudgetError",
    "read_header",
    "DEFAULT_MAX_BUDGET_BITS",
    "grid_from_bytes",
    "default_rdp_grid",
]

SCHEDULE_TAG = b"VPLS"
METHODS = ("flow", "ancestral", "mean")  # and "dp:C" (schedules.parse_method)
DEFAULT_DECODER_STEPS = {"flow": 64, "ancestral": 512, "mean": 0, "dp": 64}
RNG_TAG_PRIOR = 0x5A3D07  # SeedSequence purpose tag (see empirical.data)
MAX_GRID_POINTS = schedules.MAX_GRID_POINTS


@dataclasses.dataclass(frozen=True)
class Grid:
    """The chain's log-SNR grid: ``num_points`` values from ``log_snr_start`` to ``log_snr_stop`` (float32 endpoints)."""

    num_points: int
    log_snr_start: float
    log_snr_stop: float

    def __post_init__(self):
        n = schedules.check_num_points(self.num_points)
        for name in ("log_snr_start", "log_snr_stop"):
            value = getattr(self, name)
            if not np.isfinite(value) or abs(value) > 1e4:
                raise ValueError(f"{name}: must be finite with |value| <= 1e4, got {value!r}")
            object.__setattr__(self, name, float(np.float32(value)))
        object.__setattr__(self, "num_points", n)
        if n > 1 and not self.log_snr_start < self.log_snr_stop:
            raise ValueError(
                f"log_snr_start: must be < log_snr_stop (as float32), got {self.log_snr_start!r} >= {self.log_snr_stop!r}"
            )
        if n == 1 and self.log_snr_start != self.log_snr_stop:
            raise ValueError("log_snr_stop: a one-point grid needs log_snr_stop == log_snr_start")

    @property
    def log_snrs(self) -> np.ndarray:
        """``[num_points]`` float64 log-SNRs, increasing (less noise at each step)."""
        return schedules.uniform_points(self.log_snr_start, self.log_snr_stop, self.num_points)

    def to_bytes(self) -> bytes:
        """The 16-byte schedule descriptor."""
        return schedules.pack_descriptor(SCHEDULE_TAG, self.num_points, self.log_snr_start, self.log_snr_stop)

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Grid":
        """Inverse of :meth:`to_bytes`; ValueError for anything else."""
        return cls(*schedules.unpack_descriptor(raw, SCHEDULE_TAG, "grid descriptor"))


@dataclasses.dataclass(frozen=True)
class EncodeResult:
    """What :func:`encode_detailed` sent and what it cost.

    Attributes
    ----------
    data : bytes
        The stream (header and segments).
    grid : Grid or schedules.RdpGrid
        The schedule's grid (from the header).
    num_steps_coded : int
        Steps coded ``S``; the latent is at ``grid.log_snrs[S - 1]``.
    kl_bits_per_step : numpy.ndarray
        ``[S]`` realised ``KL(q || p)`` of each step, bits (ideal cost).
    coded_bits_per_step : numpy.ndarray
        ``[S]`` ``8 len(segment)`` of each step.
    header_bits : int
        ``8 x`` header bytes (``coded_bits_total - sum(coded_bits_per_step)``).
    tv_bound_per_step : numpy.ndarray
        ``[S]`` bound on the total-variation distance of the delivered step sample to ``q``.
    rcc_bound_bits_per_step : numpy.ndarray
        ``[S]`` per-chunk Li-El Gamal length bound of each step, ``sum_c (D_c + log2(D_c + 1) + 5)`` over
        its chunks' KLs ``D_c`` (``bounds.rcc_cost.li_el_gamal_length_bound_bits``): the expected segment
        length of an index code meeting it.
    z : numpy.ndarray
        The sender's final latent (data shape); the receiver decodes the same bits.
    budget_bits : int
        The RCC chunk budget (the header's; a dimension above it had a chunk of its own).
    kl_bits_per_coefficient : numpy.ndarray
        ``[S, dim]`` realised KL of each step per coordinate of the model's basis (rows sum to
        ``kl_bits_per_step``): per component, for comparisons with closed forms given ``x``.
    """

    data: bytes
    grid: Grid
    num_steps_coded: int
    kl_bits_per_step: np.ndarray
    coded_bits_per_step: np.ndarray
    header_bits: int
    tv_bound_per_step: np.ndarray
    rcc_bound_bits_per_step: np.ndarray
    z: np.ndarray
    budget_bits: int
    kl_bits_per_coefficient: np.ndarray = None

    @property
    def log_snr(self):
        """Log-SNR of the final latent (a ``[dim]`` vector along the model's basis for an ``rdp`` grid)."""
        if isinstance(self.grid, schedules.RdpGrid):
            raise AttributeError("log_snr: an rdp chain's log-SNRs depend on the model: grid.log_snrs_for(model)")
        return float(self.grid.log_snrs[self.num_steps_coded - 1])

    @property
    def kl_bits_total(self) -> float:
        """Realised chain KL in bits (the ideal cost of the coded steps)."""
        return float(np.sum(self.kl_bits_per_step))

    @property
    def coded_bits_total(self) -> int:
        """``8 len(data)``: header included."""
        return 8 * len(self.data)

    @property
    def payload_bits(self) -> int:
        """``sum(coded_bits_per_step)``: header excluded."""
        return int(np.sum(self.coded_bits_per_step))


@dataclasses.dataclass(frozen=True)
class Latent:
    """A decoded prefix: the latent ``z`` (data shape) at ``log_snr`` after ``num_steps`` steps.

    ``log_snr`` is a float for an isotropic grid and a ``[dim]`` vector (the model's basis) for an ``rdp`` grid.
    """

    z: np.ndarray
    log_snr: float
    num_steps: int
    num_steps_in_stream: int
    truncated: bool
    grid: Grid
    seed: int


def model_hash(model) -> bytes:
    """16-byte ``bitstream.content_hash`` of the model's ``fingerprint`` (what the header records)."""
    from empirical.rcc.bitstream import content_hash

    return content_hash(str(model.fingerprint).encode("ascii"))


def _flat_input(x, model) -> tuple:
    """``(x as a finite float64 [dim] vector, its shape)``, or ValueError."""
    if np.iscomplexobj(x):
        raise ValueError("x: expected real numbers, got a complex array")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("x: expected an array of numbers") from None
    if arr.ndim == 0 or arr.size != model.dim:
        raise ValueError(f"x: expected {model.dim} numbers (one sample, any shape), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("x: entries must be finite (got NaN or inf)")
    return arr.reshape(-1), tuple(int(s) for s in arr.shape)


def _check_rcc_params(budget_bits, padding_bits) -> None:
    """ValueError naming the argument unless budget and padding are valid for ``empirical.rcc``."""
    from empirical import rcc

    for name, value, (lo, hi) in (("budget_bits", budget_bits, rcc.BUDGET_BITS_RANGE),
                                  ("padding_bits", padding_bits, rcc.PADDING_BITS_RANGE)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
            raise ValueError(f"{name}: must be an integer in {lo}..{hi}, got {value!r}")
    if budget_bits + padding_bits > rcc.MAX_INDEX_BITS:
        raise ValueError(f"padding_bits: budget_bits + padding_bits must be <= {rcc.MAX_INDEX_BITS}, "
                         f"got {budget_bits} + {padding_bits}")


def grid_from_bytes(raw: bytes):
    """The schedule of a 16-byte descriptor: :class:`Grid` (``VPLS``) or :class:`schedules.RdpGrid` (``VPRD``,
    ``VPR3``)."""
    if bytes(raw[:4]) in schedules.RDP_SPACINGS.values():
        return schedules.RdpGrid.from_bytes(raw)
    return Grid.from_bytes(raw)


def _table(grid, model) -> np.ndarray:
    """The chain's log-SNRs: ``[K]`` for a :class:`Grid`, ``[K, dim]`` (model basis) for an ``RdpGrid``."""
    if isinstance(grid, schedules.RdpGrid):
        return grid.log_snrs_for(model)
    return grid.log_snrs


def population_rate_bits_per_dim(model, log_snr) -> float:
    """``I(X; Z) / dim`` in bits of a Gaussian oracle at one isotropic ``log_snr``: the expected rate of its exact
    chain up to there (``gaussian.components.rate_nats`` summed over the model's eigenvalues)."""
    from gaussian import components

    snr = schedule.snr_from_log_snr(log_snr)
    return float(np.sum(components.rate_nats(model.eigvals, snr)) / (np.log(2.0) * model.dim))


def default_rdp_grid(model, num_steps, rate_start_bits_per_dim=None, rate_stop_bits_per_dim=None, spacing="rate"):
    """The encoder's ``rdp`` grid; default last rate: the isotropic ``I(X; Z)`` at :func:`default_grid`'s last
    log-SNR; default first rate: the last over ``num_steps`` for ``spacing="rate"`` (every step then carries the
    same expected KL), over ``num_steps**3`` for ``"cbrt"`` (the points ``rate_stop (k / K)^3``, ``k = 1..K``)."""
    schedules.refuse_rdp(model)
    schedules.check_num_points(num_steps)
    stop = rate_stop_bits_per_dim
    if stop is None:
        stop = population_rate_bits_per_dim(model, default_grid(model, 2).log_snr_stop)
    start = rate_start_bits_per_dim
    if start is None:
        start = stop if num_steps == 1 else float(stop) / num_steps ** (3 if spacing == "cbrt" else 1)
    return schedules.RdpGrid(int(num_steps), start, stop, spacing)


def default_grid(model, num_steps, log_snr_start=None, log_snr_stop=None) -> Grid:
    """The encoder's grid from its arguments, defaults ``model.log_snr_min`` .. ``min(model.log_snr_max - 2, 12)``.

    The default stop leaves two log-SNR units of the model's range to the receivers
    (DiffC-A and DiffC-F both integrate from the latent up to ``model.log_snr_max``).
    """
    start = model.log_snr_min if log_snr_start is None else log_snr_start
    stop = min(model.log_snr_max - 2.0, 12.0) if log_snr_stop is None else log_snr_stop
    if num_steps == 1 and log_snr_stop is None:
        stop = start
    return Grid(num_steps, start, stop)


def _step_distributions(model, step: int, grid: np.ndarray, z_prev, x=None):
    """``(p, q)`` of chain step ``step`` for ``[n, dim]`` batches, as Gaussians in pixel coordinates (q None without x).

    ``grid`` is ``[K]`` (isotropic) or ``[K, dim]`` (per-component log-SNRs along the model's basis).
    """
    if np.ndim(grid) == 2:
        return _step_distributions_per_component(model, step, grid, z_prev, x)
    if step == 0:
        p = model.prior(grid[0])
        if x is None:
            return p, None
        alpha, sigma = schedule.alpha_sigma_from_log_snr(grid[0])
        return p, models.Gaussian(alpha * x, np.full(x.shape, sigma**2))
    p = model.reverse_transition(z_prev, grid[step - 1], grid[step])
    if x is None:
        return p, None
    mean, var = models.q_reverse(x, z_prev, grid[step - 1], grid[step])
    return p, models.Gaussian(mean, np.broadcast_to(var, x.shape))


def _step_distributions_per_component(model, step: int, table: np.ndarray, z_prev, x=None):
    """:func:`_step_distributions` at per-component log-SNRs ``table[step]`` (the model's basis)."""
    if step == 0:
        p = model.prior_per_component(table[0])
        if x is None:
            return p, None
        alpha, sigma = schedule.alpha_sigma_from_log_snr(table[0])
        mean = models.from_coefficients(model, alpha * models.to_coefficients(model, x))
        return p, models.Gaussian(mean, np.broadcast_to(sigma**2, x.shape))
    n = np.shape(z_prev)[0]
    ls_t, ls_s = np.broadcast_to(table[step - 1], (n, model.dim)), np.broadcast_to(table[step], (n, model.dim))
    p = model.reverse_transition_per_component(z_prev, ls_t, ls_s)
    if x is None:
        return p, None
    mean, var = models.q_reverse(models.to_coefficients(model, x), models.to_coefficients(model, z_prev), ls_t, ls_s)
    return p, models.Gaussian(models.from_coefficients(model, mean), var)


def _check_table(log_snrs) -> np.ndarray:
    """A ``[K]`` increasing grid or a ``[K, dim]`` per-component table (monotone in each component), or ValueError."""
    log_snrs = np.asarray(log_snrs, dtype=np.float64)
    if log_snrs.ndim == 2:
        try:
            return schedules.check_monotone(log_snrs)
        except ValueError as err:
            raise ValueError(f"log_snrs: {err}") from None
    if log_snrs.ndim != 1 or log_snrs.size == 0 or not np.isfinite(log_snrs).all() or np.any(np.diff(log_snrs) <= 0):
        raise ValueError("log_snrs: expected a non-empty, finite, increasing 1-D grid")
    return log_snrs


def ideal_chain_steps(x, model, log_snrs, rng):
    """Yield ``(step, log_snr, z, kl_bits_per_coefficient)`` of one chain for one sample ``x``, each ``z`` drawn
    exactly from ``q`` (an ideal channel simulator: no bits, no RCC); ``kl_bits_per_coefficient`` is the step's
    ``KL(q || p)`` per coordinate of the model's basis. For large samples (a full-resolution image), where the
    ``[n, K]`` batch of :func:`ideal_chain_kl_bits` is not needed and one latent at a time is."""
    x, _ = _flat_input(x, model)
    log_snrs = _check_table(log_snrs)
    z = None
    for step in range(log_snrs.shape[0]):
        p, q = _step_distributions(model, step, log_snrs, None if z is None else z[None, :], x[None, :])
        p_mean, p_std = _in_basis(p, model, x.size)
        q_mean, q_std = _in_basis(q, model, x.size)
        kl_nats = np.log(p_std / q_std) + (q_std**2 + (q_mean - p_mean) ** 2) / (2.0 * p_std**2) - 0.5
        z = models.from_coefficients(model, q_mean + q_std * rng.standard_normal(x.size))
        yield step, (float(log_snrs[step]) if log_snrs.ndim == 1 else log_snrs[step]), z, kl_nats / np.log(2.0)


def ideal_chain_kl_bits(x, model, log_snrs, rng) -> np.ndarray:
    """``[n, K]`` realised ``KL(q || p)`` of each chain step in bits (the first output of :func:`ideal_chain`)."""
    return ideal_chain(x, model, log_snrs, rng)[0]


def ideal_chain(x, model, log_snrs, rng):
    """``([n, K] realised KL(q || p) of each chain step in bits, [n, dim] final latents)``, each ``z`` drawn exactly
    from ``q``.

    The uncoded twin of :func:`encode_detailed` (same ``q`` and ``p``, no RCC):
    its row sums are Monte Carlo samples of the DiffC rate for an ideal
    channel simulator. ``x`` is ``[n, dim]``, ``log_snrs`` the increasing grid
    (``[K]``, or ``[K, dim]`` per-component log-SNRs, e.g. ``RdpGrid.log_snrs_for(model)``),
    ``rng`` a ``numpy.random.Generator``.
    """
    x = models.as_batch(x, model.dim, "x")
    log_snrs = _check_table(log_snrs)
    out = np.zeros((x.shape[0], log_snrs.shape[0]))
    z = None
    for step in range(log_snrs.shape[0]):
        p, q = _step_distributions(model, step, log_snrs, z, x)
        p_mean, p_var = models.to_coefficients(model, p.mean), np.broadcast_to(p.var, x.shape)
        q_mean, q_var = models.to_coefficients(model, q.mean), np.broadcast_to(q.var, x.shape)
        kl_nats = 0.5 * (np.log(p_var / q_var) + (q_var + (q_mean - p_mean) ** 2) / p_var - 1.0)
        out[:, step] = kl_nats.sum(axis=1) / np.log(2.0)
        z = models.from_coefficients(model, q_mean + np.sqrt(q_var) * rng.standard_normal(x.shape))
    return out, z


def _in_basis(gauss: models.Gaussian, model, dim: int):
    """``(mean, std)`` of a one-row Gaussian in the model's basis coordinates, as ``[dim]`` vectors."""
    mean = models.to_coefficients(model, gauss.mean).reshape(dim)
    std = np.sqrt(np.broadcast_to(gauss.var, (1, dim))).reshape(dim)
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and np.all(std > 0)):
        raise ValueError("model: produced a non-finite mean or a non-positive variance")
    return mean, std


class BudgetError(ValueError):
    """One dimension of a step carries more KL than one chunk may: ``max_budget_bits`` (``budget_bits`` without
    ``auto_budget``).

    ``step``, ``log_snr`` and ``kl_bits`` locate the dimension; ``budget_bits`` is the
    chunk budget, ``limit_bits`` the most one dimension may carry (``max_budget_bits``;
    the budget itself if ``auto_budget`` is off). The message names the API
    arguments; the CLI reports its own flags.
    """

    def __init__(self, step, log_snr, kl_bits, budget_bits, limit_bits, auto_budget):
        self.step, self.log_snr, self.kl_bits = step, log_snr, kl_bits
        self.budget_bits, self.limit_bits, self.auto_budget = budget_bits, limit_bits, auto_budget
        where = f"step {step} (log-SNR {log_snr:.4g}) has a dimension with {kl_bits:.4g} bits of KL"
        if auto_budget:
            text = (f"budget_bits: {where}, above max_budget_bits={limit_bits} (the most one dimension's chunk "
                    "may carry); use more steps (a finer grid), or raise max_budget_bits, at most "
                    "min(24, 30 - padding_bits) (that dimension's chunk then scans up to "
                    "2^(max_budget_bits + padding_bits) candidates)")
        else:
            text = (f"budget_bits: {where}, above budget_bits={budget_bits}; raise budget_bits, use more steps, "
                    "or allow auto_budget")
        super().__init__(text)

    def __reduce__(self):
        """Pickle by the constructor's arguments (a sweep's worker process raises it to its parent)."""
        return type(self), (self.step, self.log_snr, self.kl_bits, self.budget_bits, self.limit_bits,
                            self.auto_budget)


#: With ``auto_budget`` one dimension may carry up to this many bits (``max_budget_bits``) in a chunk of its own;
#: it costs compute only where a dimension carries that much KL (its chunk scans the candidates its tail needs).
DEFAULT_MAX_BUDGET_BITS = 22


def encode_detailed(x, model, *, num_steps: int = 32, log_snr_start=None, log_snr_stop=None, stop_step=None,
                    rate_bits_per_dim=None, max_bits_total=None, seed: int = 0, budget_bits: int = 8,
                    padding_bits: int = 8,
                    auto_budget: bool = True, max_budget_bits=None,
                    tail_target="default", chunk_cost_bits="default", workers: int = 1, device: str = "cpu",
                    progress=None, model_spec: str = "", schedule: str = "isotropic", rate_start_bits_per_dim=None,
                    rate_stop_bits_per_dim=None, rdp_spacing: str = "rate") -> EncodeResult:
    """Encode one sample ``x`` with DiffC; return the bytes and the accounting.

    Parameters
    ----------
    x : array_like
        One sample with ``model.dim`` numbers (any shape; the header records it).
    model : Denoiser
        Shared by sender and receiver.
    num_steps : int
        Grid points ``K`` (the longest chain), 1..65536.
    log_snr_start, log_snr_stop : float or None
        Grid endpoints (rounded to float32); defaults ``model.log_snr_min`` and ``min(model.log_snr_max - 2, 12)``.
    stop_step : int or None
        Code exactly this many steps (1..K).
    rate_bits_per_dim : float or None
        Stop after the first step whose cumulative realised KL reaches ``rate_bits_per_dim * dim`` bits;
        ValueError if the whole grid stays below it.
    max_bits_total : int or None
        Code the longest prefix of the grid whose whole stream (header included) has at most this many bits
        (``8 len(data)``); ValueError if not even the first step fits. Excludes ``stop_step`` and
        ``rate_bits_per_dim``.
    seed : int
        Shared seed (header), ``0 <= seed < 2^64``.
    budget_bits, padding_bits : int
        RCC chunk KL budget and the index model's range ``2^(budget + padding)`` (see ``empirical.rcc``;
        the header records both).
    auto_budget : bool
        A dimension with more KL than ``budget_bits`` in a step, up to ``max_budget_bits``, is a chunk of
        its own whose index, if beyond the index model's range, is sent with an escape (about 20-40 bits
        more than its KL; ``empirical.rcc.index_coding``); every other chunk is unchanged and nothing
        is coded twice. With False, such a dimension is a :class:`BudgetError`.
    max_budget_bits : int or None
        The most one dimension may carry with ``auto_budget``; default ``max(budget_bits, 22)`` (its
        chunk then scans up to ``2^(22 + padding)`` candidates, a few seconds), capped at
        ``min(24, 30 - padding_bits)``; beyond it, :class:`BudgetError`.
    tail_target : float, None or "default"
        Candidates per chunk (``empirical.rcc.candidate_bits``); ``"default"`` is
        ``empirical.rcc.DEFAULT_TAIL_TARGET``, ``None`` scans ``2^(budget + padding)`` in every chunk.
    chunk_cost_bits : int, None or "default"
        A chunk of two or more dimensions scans at most ``2^chunk_cost_bits`` candidate coordinates
        (``empirical.rcc.encode_step``); ``"default"`` is ``empirical.rcc.DEFAULT_CHUNK_COST_BITS``,
        ``None`` lifts the cap. The encoder's alone: the stream does not record it.
    workers : int
        CPU worker processes scanning the chunks of a step (the stream does not depend on it).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``: where the candidates are scanned (``empirical.rcc.encode_step``).
    progress : callable or None
        Called as ``progress(step, num_steps)`` after each coded step.
    model_spec : str
        ASCII text recorded in the header that tells a decoder how to rebuild ``model`` (the CLIs write
        the Gaussian oracles' data source there; empty for a checkpoint). The model hash is checked anyway.
    schedule : {"isotropic", "rdp"}
        One log-SNR for all components (the grid above), or per-component log-SNRs on the perfect-realism
        allocation path (:mod:`empirical.codec.schedules`; Gaussian oracles only).
    rate_start_bits_per_dim, rate_stop_bits_per_dim : float or None
        The ``rdp`` grid's first and last expected chain rate (rounded to float32); defaults in
        :func:`default_rdp_grid`. Only with ``schedule="rdp"``.
    rdp_spacing : {"rate", "cbrt"}
        The ``rdp`` grid's points uniform in the expected rate or in its cube root (the image codec's:
        :mod:`empirical.codec.schedules`).

    Returns
    -------
    EncodeResult
        Without ``stop_step`` and ``rate_bits_per_dim`` all ``K`` steps are coded.
    """
    from empirical import rcc

    x, shape = _flat_input(x, model)
    if schedule not in schedules.SCHEDULES:
        raise ValueError(f"schedule: expected one of {', '.join(schedules.SCHEDULES)}, got {schedule!r}")
    if schedule == "rdp":
        for name, value in (("log_snr_start", log_snr_start), ("log_snr_stop", log_snr_stop)):
            if value is not None:
                raise ValueError(f"{name}: sets the isotropic grid; with schedule 'rdp' give rate_start_bits_per_dim"
                                 " / rate_stop_bits_per_dim")
        grid = default_rdp_grid(model, num_steps, rate_start_bits_per_dim, rate_stop_bits_per_dim, rdp_spacing)
    else:
        for name, value in (("rate_start_bits_per_dim", rate_start_bits_per_dim),
                            ("rate_stop_bits_per_dim", rate_stop_bits_per_dim),
                            ("rdp_spacing", None if rdp_spacing == "rate" else rdp_spacing)):
            if value is not None:
                raise ValueError(f"{name}: sets the rdp grid; it needs schedule 'rdp'")
        grid = default_grid(model, num_steps, log_snr_start, log_snr_stop)
    if sum(v is not None for v in (stop_step, rate_bits_per_dim, max_bits_total)) > 1:
        raise ValueError("stop_step: give at most one of stop_step, rate_bits_per_dim and max_bits_total")
    if max_bits_total is not None and (isinstance(max_bits_total, bool) or not np.isfinite(max_bits_total)
                                       or not max_bits_total > 0):
        raise ValueError(f"max_bits_total: must be a finite number > 0, got {max_bits_total!r}")
    if stop_step is not None:
        if isinstance(stop_step, bool) or not isinstance(stop_step, (int, np.integer)) or not 1 <= stop_step <= grid.num_points:
            raise ValueError(f"stop_step: must be an integer in 1..{grid.num_points} (the grid size), got {stop_step!r}")
    if rate_bits_per_dim is not None and not (np.isfinite(rate_bits_per_dim) and rate_bits_per_dim > 0):
        raise ValueError(f"rate_bits_per_dim: must be finite and > 0, got {rate_bits_per_dim!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"seed: must be an integer in [0, 2^64), got {seed!r}")
    _check_rcc_params(budget_bits, padding_bits)
    largest = min(rcc.BUDGET_BITS_RANGE[1], rcc.MAX_INDEX_BITS - padding_bits)
    if max_budget_bits is None:
        max_budget_bits = min(max(int(budget_bits), DEFAULT_MAX_BUDGET_BITS), largest)
    if isinstance(max_budget_bits, bool) or not isinstance(max_budget_bits, (int, np.integer)) \
            or not budget_bits <= max_budget_bits <= largest:
        raise ValueError(f"max_budget_bits: must be an integer in {budget_bits}..{largest} (budget_bits .. "
                         f"min(24, 30 - padding_bits)), got {max_budget_bits!r}")
    if isinstance(tail_target, str) and tail_target == "default":
        tail_target = rcc.DEFAULT_TAIL_TARGET
    rcc.candidate_bits([0.0], 1, 0, tail_target)                     # validates tail_target
    if isinstance(chunk_cost_bits, str) and chunk_cost_bits == "default":
        chunk_cost_bits = rcc.DEFAULT_CHUNK_COST_BITS
    rcc.chunk_cap(chunk_cost_bits)                                   # validates chunk_cost_bits
    if not isinstance(model_spec, str) or not model_spec.isascii() or len(model_spec) > 1024:
        raise ValueError(f"model_spec: must be ASCII text of at most 1024 characters, got {model_spec!r:.80}")
    return _encode_chain(x, shape, model, grid, stop_step, rate_bits_per_dim, max_bits_total, int(seed),
                         int(budget_bits), int(padding_bits), int(max_budget_bits) if auto_budget else int(budget_bits),
                         auto_budget, tail_target=tail_target, chunk_cost_bits=chunk_cost_bits, workers=workers,
                         device=device, progress=progress, model_spec=model_spec)


def _encode_chain(x, shape, model, grid, stop_step, rate_bits_per_dim, max_bits_total, seed, budget_bits,
                  padding_bits, max_budget_bits, auto_budget, tail_target, chunk_cost_bits, workers, device, progress,
                  model_spec):
    """The chain of :func:`encode_detailed` on validated arguments; a dimension above ``max_budget_bits`` is a
    :class:`BudgetError`."""
    from bounds.rcc_cost import li_el_gamal_length_bound_bits
    from empirical import rcc
    from empirical.rcc.bitstream import Bitstream

    d = model.dim
    log_snrs = _table(grid, model)
    last = grid.num_points if stop_step is None else int(stop_step)
    target_bits = None if rate_bits_per_dim is None else float(rate_bits_per_dim) * d
    segments, kl_bits, tv, bound, kl_dims_steps = [], [], [], [], []
    spec = model_spec.encode("ascii")

    def stream_of(parts):
        return Bitstream(shape, model_hash(model), grid.to_bytes(), seed, budget_bits, padding_bits, tuple(parts),
                         model_spec=spec)

    z = None
    for step in range(last):
        p, q = _step_distributions(model, step, log_snrs, None if z is None else z[None, :], x[None, :])
        p_mean, p_std = _in_basis(p, model, d)
        q_mean, q_std = _in_basis(q, model, d)
        kl_dims = rcc.kl_bits_per_dim(q_mean, q_std, p_mean, p_std)
        if not np.all(np.isfinite(kl_dims)):
            raise ValueError(f"x: step {step} has an infinite KL: the input is too far from the model's data")
        if kl_dims.max() > max_budget_bits:
            raise BudgetError(step, float(np.max(log_snrs[step])), float(kl_dims.max()), budget_bits,
                              max_budget_bits, auto_budget)
        code = rcc.encode_step(q_mean, q_std, p_mean, p_std, seed=seed, step=step, budget_bits=budget_bits,
                               padding_bits=padding_bits, tail_target=tail_target, workers=workers, device=device,
                               max_budget_bits=max_budget_bits, chunk_cost_bits=chunk_cost_bits)
        if max_bits_total is not None and stream_of(segments + [code.segment]).num_bits() > max_bits_total:
            if not segments:
                raise ValueError(f"max_bits_total: {max_bits_total:g} bits do not hold the first step: the header "
                                 f"and step 0 take {stream_of([code.segment]).num_bits()} bits")
            break
        segments.append(code.segment)
        kl_dims_steps.append(kl_dims)
        kl_bits.append(code.kl_bits_total)
        tv.append(code.tv_bound_total)
        bound.append(float(np.sum(li_el_gamal_length_bound_bits(code.kl_bits_per_chunk))))
        z = models.from_coefficients(model, np.asarray(code.samples, dtype=np.float64))
        if progress is not None:
            progress(step + 1, last)
        if target_bits is not None and sum(kl_bits) >= target_bits:
            break
    if target_bits is not None and sum(kl_bits) < target_bits:
        where, flag = ((f"rate {grid.rate_stop_bits_per_dim:g} bits/dim", "rate_stop_bits_per_dim (--rate-stop)")
                       if isinstance(grid, schedules.RdpGrid) else
                       (f"log-SNR {grid.log_snr_stop:g}", "log_snr_stop (--log-snr-stop)"))
        raise ValueError(
            f"rate_bits_per_dim: {rate_bits_per_dim} not reached: all {grid.num_points} steps up to {where} "
            f"carry {sum(kl_bits) / d:.4g} bits/dim for this input; raise {flag} or lower the rate"
        )
    stream = stream_of(segments)
    return EncodeResult(
        data=stream.to_bytes(), grid=grid, num_steps_coded=len(segments), kl_bits_per_step=np.array(kl_bits),
        coded_bits_per_step=np.array([8 * len(s) for s in segments]), header_bits=8 * len(stream.header_bytes()),
        tv_bound_per_step=np.array(tv), rcc_bound_bits_per_step=np.array(bound), z=z.reshape(shape),
        budget_bits=budget_bits, kl_bits_per_coefficient=np.array(kl_dims_steps),
    )


def encode(x, model, **kwargs) -> bytes:
    """Encode one sample with DiffC; the bytes of :func:`encode_detailed` (same keyword arguments).

    >>> oracle = models.GaussianOracle(np.zeros(2), np.array([1.0, 0.25]), np.eye(2))
    >>> data = encode(np.array([0.3, -0.2]), oracle, num_steps=4, log_snr_start=-2, log_snr_stop=4, seed=1)
    >>> latent = decode_latent(data, oracle)
    >>> latent.num_steps, latent.log_snr, decode(data, oracle, method="flow").shape
    (4, 4.0, (2,))
    """
    return encode_detailed(x, model, **kwargs).data


def read_header(data):
    """The stream's header fields (a ``Bitstream``; its model is not checked): shape, model hash and spec, grid.

    For a decoder that must rebuild the model from ``model_spec`` before decoding.
    A stream cut inside its payload parses to its complete steps without a warning.
    """
    import warnings

    from empirical.rcc.bitstream import Bitstream

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data: expected bytes, got {type(data).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Bitstream.from_bytes(bytes(data))


def _read(data, model, prefix_steps):
    """``(Bitstream, Grid, n)``: the parsed stream checked against the model, and the steps to decode."""
    from empirical.rcc.bitstream import Bitstream

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data: expected bytes, got {type(data).__name__}")
    stream = Bitstream.from_bytes(bytes(data), model_hash=model_hash(model))
    if stream.num_dims != model.dim:
        raise ValueError(f"data: the stream holds {stream.num_dims} dims, the model has {model.dim}")
    grid = grid_from_bytes(stream.schedule_hash)
    if stream.num_steps > grid.num_points:
        raise ValueError(f"data: {stream.num_steps} steps exceed the grid's {grid.num_points} points")
    n = stream.num_steps
    if prefix_steps is not None:
        if isinstance(prefix_steps, bool) or not isinstance(prefix_steps, (int, np.integer)) or not 0 <= prefix_steps <= n:
            raise ValueError(f"prefix_steps: must be an integer in 0..{n} (the steps in the stream), got {prefix_steps!r}")
        n = int(prefix_steps)
    return stream, grid, n


def decode_latent(data, model, prefix_steps=None) -> Latent:
    """The latent ``z`` after the first ``prefix_steps`` steps of a stream (default: all present).

    Parameters
    ----------
    data : bytes
        A stream from :func:`encode`, possibly cut short (its complete steps decode).
    model : Denoiser
        Must be the encoder's model (the header's model hash is checked).
    prefix_steps : int or None
        Steps to decode, 0..(steps in the stream). Zero steps gives a draw of the prior at the
        first grid point from the header seed.

    Returns
    -------
    Latent
        ``z`` in the data's shape, bit-identical to the sender's after the same steps.
    """
    from empirical import rcc

    stream, grid, n = _read(data, model, prefix_steps)
    d = model.dim
    log_snrs = _table(grid, model)
    budget, padding = stream.budget_bits, stream.padding_bits

    def at(k):
        return float(log_snrs[k]) if log_snrs.ndim == 1 else log_snrs[k].copy()

    if n == 0:
        prior = model.prior(log_snrs[0]) if log_snrs.ndim == 1 else model.prior_per_component(log_snrs[0])
        mean, std = _in_basis(prior, model, d)
        rng = np.random.default_rng(np.random.SeedSequence([RNG_TAG_PRIOR, stream.seed]))
        z = models.from_coefficients(model, mean + std * rng.standard_normal(d))
        return Latent(z.reshape(stream.shape), at(0), 0, stream.num_steps, stream.truncated, grid, stream.seed)
    z = None
    for step in range(n):
        p, _ = _step_distributions(model, step, log_snrs, None if z is None else z[None, :])
        p_mean, p_std = _in_basis(p, model, d)
        message = rcc.decode_segment(stream.segments[step], d, budget_bits=budget, padding_bits=padding)
        w = rcc.decode_step(message, p_mean, p_std, seed=stream.seed, step=step, budget_bits=budget, padding_bits=padding)
        z = models.from_coefficients(model, np.asarray(w, dtype=np.float64))
    return Latent(z.reshape(stream.shape), at(n - 1), n, stream.num_steps, stream.truncated, grid, stream.seed)


def decode(data, model, method: str = "flow", *, prefix_steps=None, decoder_steps=None, solver: str = "rk4",
           rng=0, log_snr_end=None) -> np.ndarray:
    """Reconstruct the sample from a stream (or a prefix of it).

    Parameters
    ----------
    data : bytes
        A stream from :func:`encode`.
    model : Denoiser
        The encoder's model.
    method : {"flow", "ancestral", "mean"} or "dp:C"
        DiffC-F (:func:`empirical.codec.receivers.flow`), DiffC-A (:func:`empirical.codec.receivers.ancestral`),
        the posterior mean ``E[x | z]``, or the flow with its score scaled by ``C`` in [1, 2] (``flow`` with
        ``score_scale=C``: the distortion–perception frontier). For an ``rdp`` stream every method is the
        oracle's exact map (no solver steps): flow map, posterior draw, posterior mean, score-scaled flow map.
    prefix_steps : int or None
        Decode only the first steps (see :func:`decode_latent`).
    decoder_steps : int or None
        Steps of the ODE solver or of ancestral sampling; default :data:`DEFAULT_DECODER_STEPS`
        (64 RK4 steps; 512 ancestral steps, since plug-in ancestral sampling under-disperses by an
        amount proportional to the step, ~15% of the posterior variance at 64 steps over 12 log-SNR units).
    solver : {"euler", "heun", "rk4"}
        ODE solver of ``"flow"``.
    rng : numpy.random.Generator or int
        The receiver's own randomness for ``"ancestral"`` (an int is a seed).
    log_snr_end : float or None
        Where the decoders stop before the final step to ``x`` (default ``model.log_snr_max``).

    Returns
    -------
    numpy.ndarray
        The reconstruction, in the shape recorded in the header.
    """
    schedules.parse_method(method)
    return reconstruct(decode_latent(data, model, prefix_steps), model, method, decoder_steps=decoder_steps,
                       solver=solver, rng=rng, log_snr_end=log_snr_end)


def reconstruct(latent: Latent, model, method: str = "flow", *, decoder_steps=None, solver: str = "rk4",
                rng=0, log_snr_end=None) -> np.ndarray:
    """The reconstruction of a decoded :class:`Latent` by ``method`` (see :func:`decode`), in the header's shape."""
    z = latent.z.reshape(1, -1)
    if isinstance(latent.grid, schedules.RdpGrid):
        name, score_scale = schedules.parse_method(method)
        return _reconstruct_per_component(z, latent.log_snr, model, name, score_scale, rng,
                                          decoder_steps).reshape(latent.z.shape)
    return reconstruct_at(z, latent.log_snr, model, method, decoder_steps=decoder_steps, solver=solver, rng=rng,
                          log_snr_end=log_snr_end).reshape(latent.z.shape)


def reconstruct_at(z, log_snr: float, model, method: str = "flow", *, decoder_steps=None, solver: str = "rk4",
                   rng=0, log_snr_end=None) -> np.ndarray:
    """The codec's receivers on ``[n, dim]`` latents ``z`` at one log-SNR (what :func:`reconstruct` runs for an
    isotropic latent): ``[n, dim]`` reconstructions by ``method``."""
    name, score_scale = schedules.parse_method(method)
    if decoder_steps is None:
        decoder_steps = DEFAULT_DECODER_STEPS[name]
    if np.ndim(log_snr) == 1:  # per-component log-SNRs (an rdp latent)
        return _reconstruct_per_component(z, log_snr, model, name, score_scale, rng, decoder_steps)
    if name == "dp":
        return receivers.flow(z, log_snr, model, None, num_steps=decoder_steps, solver=solver,
                              log_snr_end=log_snr_end, score_scale=score_scale)
    if method == "flow":
        return receivers.flow(z, log_snr, model, None, num_steps=decoder_steps, solver=solver, log_snr_end=log_snr_end)
    if method == "ancestral":
        return receivers.ancestral(z, log_snr, model, rng, num_steps=decoder_steps, log_snr_end=log_snr_end)
    return model.denoise(z, log_snr)


def _reconstruct_per_component(z, log_snrs, model, name: str, score_scale, rng, decoder_steps=None) -> np.ndarray:
    """The receivers at per-component log-SNRs (``[n, dim]`` rows): an oracle's exact maps, or for a learned model
    on the perfect-realism path its receivers on that path (``decoder_steps``, default :data:`DEFAULT_DECODER_STEPS`)."""
    if not schedules.has_closed_forms(model):
        steps = DEFAULT_DECODER_STEPS[name] if decoder_steps is None else decoder_steps
        if name in ("flow", "dp"):
            return receivers.flow_on_path(z, log_snrs, model, num_steps=steps, score_scale=score_scale)
        if name == "ancestral":
            return receivers.ancestral_on_path(z, log_snrs, model, rng, num_steps=steps)
        return model.denoise_per_component(z, log_snrs)
    if name in ("flow", "dp"):
        return model.flow_map_per_component(z, log_snrs, np.inf, score_scale=score_scale)
    if name == "ancestral":
        return model.posterior_sample_per_component(z, log_snrs, receivers.as_generator(rng))
    return model.denoise_per_component(z, log_snrs)
