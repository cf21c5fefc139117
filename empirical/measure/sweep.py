"""Measured rate–distortion points of the real DiffC codec: bytes written, bits of KL, MSE, realism.

::

    Source.sample(n, seed, split)  --x-->  codec.encode_detailed(x, model, stop_step=max(stop_steps))
                                              |  one bitstream per sample (header + segments 0..S-1)
                                              v
               for each stop step s:  bytes[: header + sum(len(segment_k), k < s)]   (a real byte prefix)
                                              |  codec.decode_latent (truncated stream, bit-exact z_{s-1})
                                              v
               for each method:  flow (DiffC-F) | ancestral (DiffC-A) | mmse (E[x | z])  -> x_hat
                                              |
                                              v
               MeasuredPoint: coded / payload / header bits, realised sum KL, I(X; Z) if known,
                              per-chunk RCC bound, MSE +- 95% CI, PSNR, Gaussian W2^2, sliced W2^2

Every rate point of a sweep is a prefix of the same bitstream (progressive
decoding), so the points of one sweep are the RD curve of the stopping steps.

Paired statistics. With ``reference_model`` (e.g. the exact oracle) the same
decoded latents are also reconstructed by that model with the same decoder
noise, and each point carries the MSE ratio ``model / reference`` with a paired
interval; ``ancestral_draws`` averages several DiffC-A decodes per latent. The
codec's target chain ``q`` does not depend on the model, so for the exact
oracle the reference's expected MSE is the closed form.

Parallelism and determinism. Samples are split into fixed blocks of
:data:`BLOCK_SIZE` (independent of the worker count); each block is one task of
a ``concurrent.futures.ProcessPoolExecutor`` (``spawn`` start method, one
BLAS / OpenMP thread per worker, a pool even for one worker). The codec seed of sample ``i`` and the ancestral decoder's randomness
of block ``b`` at stop step ``s`` are pure functions of ``(seed, i)`` and
``(seed, b, s)`` (``numpy.random.SeedSequence`` with purpose tags), and the
blocks are reassembled in order, so the results are bit-identical for any
number of workers.

Units: every rate is bits per dimension (per real scalar); ``coded_bits_*``
are ``8 x`` bytes actually written, with the header (``coded_``) or without it
(``payload_``); ``kl_bits_*`` is the realised chain KL (the ideal cost);
``predicted_bits_*`` is the closed form ``I(X; Z)``.
"""
from __future__ import annotations

import dataclasses
import math
import os
import sys
import warnings

import numpy as np

__all__ = [
    "SweepSpec",
    "MeasuredPoint",
    "METHODS",
    "BLOCK_SIZE",
    "codec_seed",
    "EncodedPrefixes",
    "encode_prefixes",
    "gaussian_w2_sq_per_dim",
    "sliced_w2_sq_per_dim",
    "ratio_ci95",
    "predicted_rate_bits_per_dim",
    "expected_kl_eigvals",
    "stop_steps_for_rates",
    "measure",
]

METHODS = ("flow", "ancestral", "mmse")
BLOCK_SIZE = 8
Z95 = 1.959963984540054  # two-sided 95% standard normal quantile
RNG_TAG_CODEC_SEED = 0x5A3D10  # SeedSequence purpose tags (see empirical.data)
RNG_TAG_SWEEP_ANCESTRAL = 0x5A3D11
RNG_TAG_SLICED = 0x5A3D12
REFERENCE_STEP = 1  # Source.sample(step=) of the independent data sample the realism metrics compare with
NUM_PROJECTIONS = 256


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """Everything that defines a sweep, picklable for worker processes.

    Attributes
    ----------
    data : dict
        ``empirical.data.make(**data)`` arguments, e.g. ``{"name": "gaussian", "spectrum": "patches"}``.
    model : str
        ``empirical.models.load`` spec: ``"oracle"``, ``"oracle:plugin"``, ``"mixture-oracle"`` or a checkpoint path.
    n : int
        Samples (rows ``0..n-1`` of ``Source.sample(n, seed, split)``).
    stop_steps : tuple of int
        Increasing chain lengths to decode (prefixes of one bitstream per sample).
    methods : tuple of str
        Subset of :data:`METHODS`.
    num_steps : int
        Grid points ``K`` of the codec's log-SNR grid.
    log_snr_start, log_snr_stop : float or None
        Grid endpoints (codec defaults if None).
    seed : int
        Master seed (data draw, codec seeds, decoder randomness).
    split : {"train", "test"}
        Which split to sample.
    budget_bits, padding_bits : int
        RCC chunk budget and index range ``2^(budget + padding)`` (``empirical.rcc``).
    tail_target : float or None
        RCC candidates per chunk (``empirical.rcc.candidate_bits``; None: ``2^(budget + padding)``).
    flow_steps, ancestral_steps : int
        Decoder steps (RK4 steps of the flow; ancestral steps).
    ancestral_draws : int
        DiffC-A reconstructions per decoded latent (independent decoder noise); each sample's error is
        their mean, which shrinks the decoder-noise part of the MSE's interval. Realism metrics use
        the first draw.
    reference_model : str or None
        A second model spec (e.g. ``"oracle"``) that reconstructs **the same decoded latents** with the
        same decoder randomness, for paired statistics: the MSE ratio ``model / reference`` on identical
        inputs has a far smaller interval than either MSE alone. Encoding uses ``model`` only.
    """

    data: dict
    model: str
    n: int
    stop_steps: tuple
    methods: tuple = METHODS
    num_steps: int = 32
    log_snr_start: float | None = None
    log_snr_stop: float | None = None
    seed: int = 0
    split: str = "test"
    budget_bits: int = 8
    padding_bits: int = 8
    tail_target: float | None = 0.02
    flow_steps: int = 64
    ancestral_steps: int = 512
    ancestral_draws: int = 1
    reference_model: str | None = None

    def __post_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or not 2 <= self.n <= 10**6:
            raise ValueError(f"n: must be an integer in 2..1000000, got {self.n!r}")
        steps = tuple(int(s) for s in self.stop_steps)
        if not steps or any(s < 1 or s > self.num_steps for s in steps) or list(steps) != sorted(set(steps)):
            raise ValueError(f"stop_steps: must be strictly increasing integers in 1..{self.num_steps} "
                             f"(num_steps), got {self.stop_steps!r}")
        object.__setattr__(self, "stop_steps", steps)
        from empirical.rcc import candidate_bits

        candidate_bits([0.0], 1, 0, self.tail_target)       # ValueError naming tail_target if invalid
        methods = tuple(self.methods)
        if not methods or any(m not in METHODS for m in methods) or len(set(methods)) != len(methods):
            raise ValueError(f"methods: expected distinct entries of {METHODS}, got {self.methods!r}")
        object.__setattr__(self, "methods", methods)
        if self.split not in ("train", "test"):
            raise ValueError(f"split: expected 'train' or 'test', got {self.split!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed: must be an integer in [0, 2^63), got {self.seed!r}")
        if (isinstance(self.ancestral_draws, bool) or not isinstance(self.ancestral_draws, (int, np.integer))
                or not 1 <= self.ancestral_draws <= 1024):
            raise ValueError(f"ancestral_draws: must be an integer in 1..1024, got {self.ancestral_draws!r}")
        for name in ("flow_steps", "ancestral_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 100_000:
                raise ValueError(f"{name}: must be an integer in 1..100000, got {value!r}")
        if self.reference_model is not None and (not isinstance(self.reference_model, str)
                                                 or self.reference_model == self.model):
            raise ValueError(f"reference_model: must be a model spec other than model ({self.model!r}), "
                             f"got {self.reference_model!r}")


@dataclasses.dataclass(frozen=True)
class MeasuredPoint:
    """One measured rate–distortion point of the codec (all rates in bits per dimension).

    Attributes
    ----------
    data, model, method : str
        Source spec (JSON), model spec, decoder (``flow`` = DiffC-F, ``ancestral`` = DiffC-A, ``mmse`` = E[x|z]).
    stop_step : int
        Steps decoded (the prefix of the bitstream); the latent is at ``log_snr``.
    num_steps : int
        Grid points of the codec's chain.
    log_snr : float
        The codec's stopping log-SNR (grid point ``stop_step - 1``).
    n, dim : int
        Samples and dimensions per sample.
    coded_bits_per_dim : float
        Mean ``8 x`` bytes of the decoded prefix, header included.
    payload_bits_per_dim, payload_bits_per_dim_ci95 : float
        Mean ``8 x`` bytes of the prefix's segments (header excluded) and its 95% CI half-width.
    header_bits_per_dim : float
        Mean header bits (the header of the full stream, which the prefix carries).
    kl_bits_per_dim, kl_bits_per_dim_ci95 : float
        Mean realised chain ``sum KL(q || p)`` of the coded steps (the ideal cost) and its 95% CI half-width.
    predicted_bits_per_dim : float or None
        Closed-form ``I(X; Z)`` of the data at ``log_snr`` (Gaussian data, any model), else None.
    predicted_kl_bits_per_dim : float or None
        Closed-form expected chain KL (see :func:`expected_kl_eigvals`): ``I_G(X; Z)`` of the
        moment-matched Gaussian, for the exact Gaussian oracle on data with its moments; else None.
    rcc_bound_bits_per_dim : float
        Mean per-chunk Li-El Gamal length bound ``sum_c (D_c + log2(D_c + 1) + 5)`` over the prefix's
        chunks and their realised KLs ``D_c`` (``EncodeResult.rcc_bound_bits_per_step``).
    tv_bound : float
        Mean over samples of the summed per-step bounds on the total-variation distance of the
        delivered latent to the ideal ``q`` chain.
    mse, mse_ci95 : float
        Mean squared error per dimension and its 95% CI half-width (normal approximation over samples;
        for DiffC-A each sample's error is the mean over the sweep's ``ancestral_draws``).
    psnr_db : float or None
        ``10 log10(peak^2 / mse)`` for sources with a pixel range (peak = range width), else None.
    w2_sq_gauss_per_dim : float
        Squared Wasserstein-2 distance per dimension between ``N(mean, cov)`` of the reconstructions
        and the source's ``N(mean, covariance)``.
    w2_sq_gauss_per_dim_data : float
        The same for ``n`` independent data samples: the finite-``n`` floor of the estimate.
    sliced_w2_sq_per_dim : float
        Sliced squared W2 (mean over :data:`NUM_PROJECTIONS` directions) between the reconstructions and
        ``n`` independent data samples.
    sliced_w2_sq_per_dim_data : float
        The same between the original samples and the independent data samples (floor).
    mse_per_sample : numpy.ndarray
        ``[n]`` squared error per dimension of each sample (for paired statistics across methods).
    reference_model : str or None
        The sweep's ``reference_model`` (the fields below are None without one).
    mse_reference, mse_reference_ci95 : float or None
        MSE per dimension of the reference model decoding the same latents with the same method and
        decoder randomness, and its 95% half-width.
    mse_ratio_to_reference, mse_ratio_to_reference_ci95 : float or None
        ``mse / mse_reference`` and its paired 95% half-width (delta method: standard error
        ``std(e_i - r e_ref_i) / (sqrt(n) mse_reference)`` over the per-sample errors).
    """

    data: str
    model: str
    method: str
    stop_step: int
    num_steps: int
    log_snr: float
    n: int
    dim: int
    coded_bits_per_dim: float
    payload_bits_per_dim: float
    payload_bits_per_dim_ci95: float
    header_bits_per_dim: float
    kl_bits_per_dim: float
    kl_bits_per_dim_ci95: float
    predicted_bits_per_dim: float | None
    rcc_bound_bits_per_dim: float
    tv_bound: float
    mse: float
    mse_ci95: float
    psnr_db: float | None
    w2_sq_gauss_per_dim: float
    w2_sq_gauss_per_dim_data: float
    sliced_w2_sq_per_dim: float
    sliced_w2_sq_per_dim_data: float
    mse_per_sample: np.ndarray = dataclasses.field(repr=False, compare=False)  # [n] read-only, paired statistics
    predicted_kl_bits_per_dim: float | None = None
    reference_model: str | None = None
    mse_reference: float | None = None
    mse_reference_ci95: float | None = None
    mse_ratio_to_reference: float | None = None
    mse_ratio_to_reference_ci95: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict of the scalar fields (``mse_per_sample`` left out)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "mse_per_sample"}


# --------------------------------------------------------------------------------------------
# small pure functions


def codec_seed(seed: int, index: int) -> int:
    """The codec seed of sample ``index``: a 63-bit integer from ``SeedSequence([tag, seed, index])``."""
    state = np.random.SeedSequence([RNG_TAG_CODEC_SEED, int(seed), int(index)]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def mean_ci95(values) -> tuple:
    """``(mean, 95% half-width 1.96 s / sqrt(n))`` of a 1-D sample (``s`` with divisor ``n - 1``)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(Z95 * values.std(ddof=1) / math.sqrt(values.size))


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a PSD matrix (eigenvalues below zero from rounding are set to 0)."""
    eigvals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    return (vecs * np.sqrt(np.maximum(eigvals, 0.0))) @ vecs.T


def gaussian_w2_sq_per_dim(samples, mean, covariance) -> float:
    """Squared W2 per dimension between ``N`` fitted to ``samples`` and ``N(mean, covariance)``.

    ``||m1 - m0||^2 + tr(C1 + C0 - 2 (C0^1/2 C1 C0^1/2)^1/2)``, divided by the dimension;
    ``C1`` is the sample covariance with divisor ``n``.
    """
    x = np.asarray(samples, dtype=np.float64)
    m1 = x.mean(axis=0)
    c1 = np.cov(x, rowvar=False, bias=True).reshape(x.shape[1], x.shape[1])
    c0 = np.asarray(covariance, dtype=np.float64)
    root0 = _psd_sqrt(c0)
    cross = np.linalg.eigvalsh(root0 @ c1 @ root0)
    w2_sq = np.sum((m1 - np.asarray(mean)) ** 2) + np.trace(c1) + np.trace(c0) - 2.0 * np.sum(np.sqrt(np.maximum(cross, 0.0)))
    return float(max(w2_sq, 0.0) / x.shape[1])


def sliced_w2_sq_per_dim(a, b, seed: int, num_projections: int = NUM_PROJECTIONS) -> float:
    """Mean over random unit directions of the 1-D squared W2 between projections of ``a`` and ``b`` (equal sizes).

    The 1-D squared W2 between two empirical laws of ``n`` points each is the mean
    squared difference of their sorted values. For a shift ``b = a + c`` it is
    ``(c . u)^2``, whose mean over isotropic ``u`` is ``|c|^2 / dim``: a per-dimension scale.
    ``num_projections`` directions from ``SeedSequence([tag, seed])``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a {a.shape}, got {b.shape}")
    rng = np.random.default_rng(np.random.SeedSequence([RNG_TAG_SLICED, int(seed)]))
    dirs = rng.standard_normal((a.shape[1], num_projections))
    dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
    pa, pb = np.sort(a @ dirs, axis=0), np.sort(b @ dirs, axis=0)
    return float(np.mean((pa - pb) ** 2))


def ratio_ci95(values, reference) -> tuple:
    """``(mean(values) / mean(reference), 95% half-width)`` for paired samples (delta method).

    >>> r, ci = ratio_ci95([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    >>> r, ci
    (2.0, 0.0)
    """
    a = np.asarray(values, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"reference: expected as many paired values as values ({a.shape}), got {b.shape}")
    if not b.mean() > 0:
        raise ValueError("reference: the mean of the reference values must be > 0")
    ratio = float(a.mean() / b.mean())
    se = float(np.std(a - ratio * b, ddof=1)) / (math.sqrt(a.size) * float(b.mean()))
    return ratio, Z95 * se


def predicted_rate_bits_per_dim(eigvals, log_snr) -> np.ndarray:
    """Closed-form ``I(X; Z) = sum_i 1/2 log2(1 + snr lam_i) / dim`` at each ``log_snr``.

    >>> predicted_rate_bits_per_dim([3.0, 0.0], 0.0).tolist()  # (1/2 log2(1 + 3) + 0) / 2
    [0.5]
    """
    from gaussian import components, schedule

    eigvals = np.asarray(eigvals, dtype=np.float64)
    snr = schedule.snr_from_log_snr(np.atleast_1d(log_snr))[:, None]
    return components.rate_nats(eigvals, snr).mean(axis=1) / math.log(2.0)


# --------------------------------------------------------------------------------------------
# building sources and models (cached per process)

_CACHE: dict = {}


def build(spec: SweepSpec):
    """``(source, model)`` of a spec, cached per process."""
    from empirical import data, models

    key = (repr(sorted(spec.data.items())), spec.model)
    if key not in _CACHE:
        params = dict(spec.data)
        source = data.make(params.pop("name"), **params)
        model = models.load(spec.model, source)
        if model.dim != source.dim:
            raise ValueError(f"model: {spec.model!r} has {model.dim} dims, the data {source.dim}")
        _CACHE[key] = (source, model)
    return _CACHE[key]


def known_rate_eigvals(source):
    """Eigenvalues for the closed-form ``I(X; Z)`` (a property of the data): those of a Gaussian source, else None."""
    if source.name != "gaussian" or source.eigvals is None:
        return None
    return np.asarray(source.eigvals)


def expected_kl_eigvals(spec: SweepSpec, source, model):
    """Eigenvalues for the closed-form expected chain KL, or None when it has none.

    For the Gaussian oracle with exact transitions fitted to the source's moments, and data with exactly
    those moments (a Gaussian source, or the train split an oracle was fitted to, drawn with replacement),
    ``E[sum KL] = I_G(X; Z)``, the mutual information of the moment-matched Gaussian, whatever the data's
    law: the chain KL telescopes to ``log q(z_{1:s} | x) - log p_G(z_{1:s})``, the first term's mean is
    the noise entropy, and the cross-entropy of a Gaussian density depends only on the first two
    moments of the ``z``, which are those of the Gaussian model (``z`` is linear in ``x`` plus noise).
    """
    from empirical import models

    if not isinstance(model, models.GaussianOracle) or model.transitions != "exact":
        return None
    if source.name != "gaussian" and spec.split != "train":
        return None
    covariance = (model.basis * model.eigvals) @ model.basis.T
    if not (np.allclose(model.mean, source.mean, rtol=0, atol=1e-12)
            and np.allclose(covariance, source.covariance, rtol=1e-9, atol=1e-12)):
        return None
    return np.asarray(model.eigvals)


def grid_log_snrs(spec: SweepSpec, model) -> np.ndarray:
    """The codec's log-SNR grid for this spec (float32 endpoints, as the header records)."""
    from empirical import codec

    return codec.default_grid(model, spec.num_steps, spec.log_snr_start, spec.log_snr_stop).log_snrs


def stop_steps_for_rates(rates_bits_per_dim, cumulative_bits_per_dim) -> tuple:
    """Smallest chain lengths ``s`` with ``cumulative_bits_per_dim[s - 1] >= rate``, one per rate.

    ValueError naming ``rates`` when a rate is above the last grid point's rate.
    """
    cum = np.asarray(cumulative_bits_per_dim, dtype=np.float64)
    steps = []
    for rate in rates_bits_per_dim:
        if not (np.isfinite(rate) and rate > 0):
            raise ValueError(f"rates: must be finite and > 0, got {rate!r}")
        hit = np.nonzero(cum >= rate)[0]
        if hit.size == 0:
            raise ValueError(f"rates: {rate:g} bits/dim is above the grid's last point ({cum[-1]:.4g} bits/dim); "
                             "raise --log-snr-stop or --num-steps, or lower the rate")
        steps.append(int(hit[0]) + 1)
    return tuple(sorted(set(steps)))


def expected_chain_bits_per_dim(spec: SweepSpec, num_pilot: int = 64) -> np.ndarray:
    """``[K]`` expected cumulative chain rate at each grid point: closed form when known, else a pilot mean.

    Closed form (``I_G(X; Z)``, :func:`expected_kl_eigvals`) for the exact Gaussian oracle on data with its
    moments; otherwise the mean of
    :func:`empirical.codec.ideal_chain_kl_bits` on ``num_pilot`` train samples (seed ``spec.seed``).
    """
    from empirical import codec

    source, model = build(spec)
    log_snrs = grid_log_snrs(spec, model)
    eigvals = expected_kl_eigvals(spec, source, model)
    if eigvals is not None:
        return predicted_rate_bits_per_dim(eigvals, log_snrs)
    x = source.sample(num_pilot, seed=spec.seed, split="train", step=2)
    rng = np.random.default_rng(np.random.SeedSequence([RNG_TAG_CODEC_SEED, spec.seed, 2**32]))
    kl = codec.ideal_chain_kl_bits(x, model, log_snrs, rng)
    return np.cumsum(kl.mean(axis=0)) / model.dim


# --------------------------------------------------------------------------------------------
# one block of samples (the unit of parallel work)


@dataclasses.dataclass(frozen=True)
class EncodedPrefixes:
    """One sample encoded once to ``max(stop_steps)`` and decoded at every stop-step prefix (per-sample totals).

    Attributes
    ----------
    latents : numpy.ndarray
        ``[S, dim]`` decoded latent of each prefix (bit-exact ``codec.decode_latent`` of the byte prefix).
    log_snrs : numpy.ndarray
        ``[S]`` the latents' log-SNRs.
    kl_bits, payload_bits, coded_bits, bound_bits, tv_bound : numpy.ndarray
        ``[S]`` realised chain KL, segment bits, prefix bits with the header, per-chunk RCC bound and the
        summed total-variation bound (capped at 1) of each prefix (totals, not per dimension).
    header_bits : int
        Bits of the header.
    data : bytes
        The whole stream.
    """

    latents: np.ndarray
    log_snrs: np.ndarray
    kl_bits: np.ndarray
    payload_bits: np.ndarray
    coded_bits: np.ndarray
    bound_bits: np.ndarray
    tv_bound: np.ndarray
    header_bits: int
    data: bytes


def encode_prefixes(x, model, spec: SweepSpec, index: int) -> EncodedPrefixes:
    """Encode sample ``x`` (row ``index`` of the sweep: its codec seed) once and decode every stop-step prefix."""
    from empirical import codec

    steps = spec.stop_steps
    res = codec.encode_detailed(np.asarray(x), model, num_steps=spec.num_steps, log_snr_start=spec.log_snr_start,
                                log_snr_stop=spec.log_snr_stop, stop_step=steps[-1],
                                seed=codec_seed(spec.seed, index), budget_bits=spec.budget_bits,
                                padding_bits=spec.padding_bits, tail_target=spec.tail_target)
    step_bound = res.rcc_bound_bits_per_step
    out = {k: np.zeros(len(steps)) for k in ("log_snrs", "kl_bits", "payload_bits", "coded_bits", "bound_bits",
                                             "tv_bound")}
    latents = np.zeros((len(steps), model.dim))
    for j, s in enumerate(steps):
        prefix_bytes = res.header_bits // 8 + int(res.coded_bits_per_step[:s].sum()) // 8
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a cut stream warns that it is truncated: that is the point
            latent = codec.decode_latent(res.data[:prefix_bytes], model, prefix_steps=s)
        if latent.num_steps != s:
            raise RuntimeError(f"prefix of {s} steps decoded to {latent.num_steps} steps")
        latents[j] = latent.z.reshape(-1)
        out["log_snrs"][j] = latent.log_snr
        out["kl_bits"][j] = res.kl_bits_per_step[:s].sum()
        out["payload_bits"][j] = res.coded_bits_per_step[:s].sum()
        out["coded_bits"][j] = 8 * prefix_bytes
        out["bound_bits"][j] = step_bound[:s].sum()
        out["tv_bound"][j] = min(1.0, res.tv_bound_per_step[:s].sum())
    return EncodedPrefixes(latents=latents, header_bits=int(res.header_bits), data=res.data, **out)


def _measure_block(spec: SweepSpec, block: int) -> dict:
    """Encode, decode at every prefix and reconstruct the samples of one block; per-sample arrays."""
    from empirical.codec import receivers

    source, model = build(spec)
    if "torch" in sys.modules:  # a learned model: one intra-op thread in this worker process
        sys.modules["torch"].set_num_threads(1)
    x_all = source.sample(spec.n, seed=spec.seed, split=spec.split)
    lo, hi = block * BLOCK_SIZE, min(spec.n, (block + 1) * BLOCK_SIZE)
    x = x_all[lo:hi]
    b, d = hi - lo, model.dim
    steps = spec.stop_steps
    rows = [encode_prefixes(x[row], model, spec, lo + row) for row in range(b)]
    kl, payload, coded, bound, tv = (np.stack([getattr(r, name) for r in rows])
                                     for name in ("kl_bits", "payload_bits", "coded_bits", "bound_bits", "tv_bound"))
    header = np.array([r.header_bits for r in rows], dtype=np.float64)
    latents = np.stack([r.latents for r in rows], axis=1)  # [S, b, d]
    log_snrs = rows[0].log_snrs
    decoding = {"": model}
    if spec.reference_model is not None:
        decoding["reference"] = build(dataclasses.replace(spec, model=spec.reference_model, reference_model=None))[1]
    recon, errors = {}, {}
    draws = spec.ancestral_draws
    for j, s in enumerate(steps):
        z = latents[j]
        for method in spec.methods:
            for role, decoder_model in decoding.items():
                if method == "flow":
                    xh = receivers.flow(z, log_snrs[j], decoder_model, None, num_steps=spec.flow_steps, solver="rk4")
                elif method == "ancestral":  # the same noise for the model and the reference (paired)
                    rng = np.random.default_rng(np.random.SeedSequence([RNG_TAG_SWEEP_ANCESTRAL, spec.seed, block, s]))
                    xh = receivers.ancestral(np.repeat(z, draws, axis=0), log_snrs[j], decoder_model, rng,
                                            num_steps=spec.ancestral_steps)
                else:
                    xh = decoder_model.denoise(z, log_snrs[j])
                xh = np.asarray(xh, dtype=np.float64).reshape(b, -1, d)  # [b, draws (ancestral) or 1, d]
                recon[(s, method, role)] = xh[:, 0]
                errors[(s, method, role)] = np.mean((xh - x[:, None, :]) ** 2, axis=(1, 2))
    return {"kl": kl, "payload": payload, "coded": coded, "bound": bound, "tv": tv, "header": header,
            "log_snrs": log_snrs, "recon": recon, "errors": errors, "x": x}


def _run_blocks(spec: SweepSpec, workers: int, progress: bool) -> list:
    """Results of every block, in block order, computed by ``workers`` processes."""
    num_blocks = -(-spec.n // BLOCK_SIZE)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=spec.n, desc="samples", unit="sample", leave=False)
    results = [None] * num_blocks
    try:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from empirical import _cli

        # spawn, not fork (a forked child of a process whose torch / OpenMP threads ran can hang), and
        # always a pool, even of one worker, so that every block runs in the same single-threaded setting
        with ProcessPoolExecutor(max_workers=min(workers, num_blocks), initializer=_cli.worker_init, initargs=(os.getpid(),),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_measure_block, spec, i): i for i in range(num_blocks)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if bar is not None:
                    bar.update(results[futures[fut]]["x"].shape[0])
    finally:
        if bar is not None:
            bar.close()
    return results


def measure(spec: SweepSpec, workers: int | None = None, progress: bool = False) -> list:
    """Measure every (stop step, method) point of a sweep by encoding to bytes and decoding.

    Parameters
    ----------
    spec : SweepSpec
        Data, model, samples, stop steps, methods and codec settings.
    workers : int or None
        Worker processes (default ``os.cpu_count()``); results do not depend on it.
    progress : bool
        Show a tqdm progress bar over samples (on stderr).

    Returns
    -------
    list of MeasuredPoint
        Ordered by stop step, then by ``spec.methods``.
    """
    import json

    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not 1 <= workers <= 1024:
        raise ValueError(f"workers: must be an integer in 1..1024, got {workers!r}")
    source, model = build(spec)
    grid = grid_log_snrs(spec, model)  # validates the grid before any work
    if spec.reference_model is not None:
        build(dataclasses.replace(spec, model=spec.reference_model, reference_model=None))  # loads it (and checks its dims) before any work
    results = _run_blocks(spec, int(workers), progress)
    cat = {key: np.concatenate([r[key] for r in results]) for key in ("kl", "payload", "coded", "bound", "tv", "header", "x")}
    x = cat["x"]
    n, d = x.shape
    reference = source.sample(n, seed=spec.seed, split=spec.split, step=REFERENCE_STEP)
    eigvals = known_rate_eigvals(source)
    kl_eigvals = expected_kl_eigvals(spec, source, model)
    peak = None if source.pixel_range is None else float(source.pixel_range[1] - source.pixel_range[0])
    w2_data = gaussian_w2_sq_per_dim(x, source.mean, source.covariance)
    sw_data = sliced_w2_sq_per_dim(x, reference, spec.seed)
    data_label = json.dumps({"name": spec.data["name"], **{k: v for k, v in spec.data.items() if k != "name"}},
                            sort_keys=True)
    points = []
    for j, s in enumerate(spec.stop_steps):
        log_snr = float(grid[s - 1])
        kl_mean, kl_ci = mean_ci95(cat["kl"][:, j] / d)
        pay_mean, pay_ci = mean_ci95(cat["payload"][:, j] / d)
        predicted = None if eigvals is None else float(predicted_rate_bits_per_dim(eigvals, log_snr)[0])
        predicted_kl = None if kl_eigvals is None else float(predicted_rate_bits_per_dim(kl_eigvals, log_snr)[0])
        for method in spec.methods:
            xh = np.concatenate([r["recon"][(s, method, "")] for r in results])
            err = np.concatenate([r["errors"][(s, method, "")] for r in results])
            err.flags.writeable = False
            mse, mse_ci = mean_ci95(err)
            paired = {}
            if spec.reference_model is not None:
                err_ref = np.concatenate([r["errors"][(s, method, "reference")] for r in results])
                ref_mean, ref_ci = mean_ci95(err_ref)
                ratio, ratio_ci = ratio_ci95(err, err_ref)
                paired = dict(reference_model=spec.reference_model, mse_reference=ref_mean,
                              mse_reference_ci95=ref_ci, mse_ratio_to_reference=ratio,
                              mse_ratio_to_reference_ci95=ratio_ci)
            psnr = None
            if peak is not None and mse > 0:
                psnr = float(10.0 * np.log10(peak**2 / mse))
            points.append(MeasuredPoint(
                data=data_label, model=spec.model, method=method, stop_step=s, num_steps=spec.num_steps,
                log_snr=log_snr, n=n, dim=d,
                coded_bits_per_dim=float(cat["coded"][:, j].mean() / d),
                payload_bits_per_dim=pay_mean, payload_bits_per_dim_ci95=pay_ci,
                header_bits_per_dim=float(cat["header"].mean() / d),
                kl_bits_per_dim=kl_mean, kl_bits_per_dim_ci95=kl_ci,
                predicted_bits_per_dim=predicted,
                rcc_bound_bits_per_dim=float(cat["bound"][:, j].mean() / d),
                tv_bound=float(cat["tv"][:, j].mean()),
                mse=mse, mse_ci95=mse_ci, psnr_db=psnr,
                w2_sq_gauss_per_dim=gaussian_w2_sq_per_dim(xh, source.mean, source.covariance),
                w2_sq_gauss_per_dim_data=w2_data,
                sliced_w2_sq_per_dim=sliced_w2_sq_per_dim(xh, reference, spec.seed),
                sliced_w2_sq_per_dim_data=sw_data,
                mse_per_sample=err, predicted_kl_bits_per_dim=predicted_kl, **paired,
            ))
    return points
