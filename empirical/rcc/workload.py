"""DiffC-shaped RCC workloads: the Gaussian oracle's chain in its eigenbasis, coded step by step with real bits.

The oracle of ``N(0, diag(eigvals))`` with exact reverse transitions, written per
eigen-component (what ``codec.encode`` does after rotating into the model's
basis, without a dense ``d x d`` basis, so ``10^4``-dimensional images are cheap)::

    step 0: q = N(alpha_0 x, sigma_0^2)          p = N(0, alpha_0^2 lam + sigma_0^2)
    step k: q = N(a z + b x, v)                  p = N(a z + b m(z), v + b^2 lam / (1 + snr_t lam))

with ``(a, b, v) = _transition_coefficients(log_snr_t, log_snr_s)`` (the formula of
``empirical.models.transition_coefficients``, restated here: ``rcc`` imports nothing from
``models``) and the posterior mean ``m(z) = alpha_t lam z / (alpha_t^2 lam + sigma_t^2)``. For ``x`` drawn
from the model, the chain's expected ``sum KL`` is ``I(X; Z_S) = sum_i 1/2 ln(1 + snr_S
lam_i)`` and the final latent's decoders have the population closed forms of
``gaussian.components`` (posterior mean, DiffC-F ``sqrt(lam / (alpha^2 lam + sigma^2)) z``),
whatever the grid -- if the channel simulator delivers ``q``. Given ``x`` they are
sharper (``gaussian.components.chain_kl_nats_given_x``, ``mse_linear_decoder_given_x``):
per component the realised ``sum KL`` and squared errors are independent across
components given ``x``, so the residuals ``r_i`` (realised minus expected given
``x``) of one chain give the z-score ``sum r_i / sqrt(sum r_i^2)`` of its bias. A
truncated simulator delivers samples pulled towards ``p``; ``ChainResult`` reports
those z-scores for the realised ``sum KL`` and the DiffC-F and posterior-mean errors.

``image_eigvals`` is the workload of an RGB image: the periodic ``1/f^2`` model of
``gaussian.spectrum.image_power_law`` scaled to a pixel variance of 0.25 (pixels in
``[-1, 1]`` with a standard deviation of one half, about that of photographs).
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

IMAGE_PIXEL_VARIANCE = 0.25
IMAGE_SHAPE = (64, 96, 3)          # height, width, channels: Kodak area-downsampled by 8 (18,432 dims)
IMAGE_RATE_BITS_PER_PIXEL = 2.0    # the chain runs to the log-SNR where I(X; Z) reaches this
IMAGE_NUM_STEPS = 32
QUICK_IMAGE_SHAPE = (32, 48, 3)    # the small run of the benchmark and the figures (4,608 dims)
QUICK_IMAGE_NUM_STEPS = 16
LOG_SNR_START = -10.0


def image_eigvals(height=IMAGE_SHAPE[0], width=IMAGE_SHAPE[1], channels=IMAGE_SHAPE[2],
                  pixel_variance=IMAGE_PIXEL_VARIANCE):
    """Eigenvalues of the periodic ``1/f^2`` image model with mean ``pixel_variance`` (``height x width x channels``)."""
    from gaussian.spectrum import image_power_law

    return image_power_law(height, width, channels).eigvals * pixel_variance


def log_snr_for_rate(eigvals, rate_bits_total):
    """The log-SNR at which ``I(X; Z) = sum 1/2 log2(1 + snr lam)`` equals ``rate_bits_total`` (bisection)."""
    eigvals = np.asarray(eigvals, np.float64)

    def rate(log_snr):
        return float(np.sum(np.log1p(math.exp(log_snr) * eigvals)) / (2.0 * math.log(2.0)))

    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if rate(mid) < rate_bits_total else (lo, mid)
    return 0.5 * (lo + hi)


def image_grid(eigvals, num_steps=IMAGE_NUM_STEPS, rate_bits_per_pixel=IMAGE_RATE_BITS_PER_PIXEL, channels=3):
    """``num_steps`` log-SNRs, uniform from ``LOG_SNR_START`` to where ``I(X; Z)`` reaches the rate (bits/pixel)."""
    pixels = np.size(eigvals) // channels
    stop = log_snr_for_rate(eigvals, rate_bits_per_pixel * pixels)
    return np.linspace(LOG_SNR_START, stop, num_steps)


def _z_score(residuals):
    """``sum r / sqrt(sum r^2)``: a sum of independent zero-mean residuals divided by its estimated std."""
    residuals = np.asarray(residuals, np.float64)
    return float(residuals.sum() / math.sqrt(max(float(np.sum(residuals**2)), 1e-300)))


@dataclasses.dataclass(frozen=True)
class ChainResult:
    """One chain coded to its last grid point: what it cost and how well its latent decodes."""

    kl_bits_per_step: np.ndarray          # [S] realised KL(q||p) of each coded step
    coded_bits_per_step: np.ndarray       # [S] 8 x segment bytes
    chunks_per_step: np.ndarray           # [S]
    candidate_coordinates: int            # sum over steps and chunks of dims x candidates
    encode_s: float                       # wall time of the RCC encoder (all steps)
    kl_bits_per_dim: np.ndarray           # [d] realised sum KL of each component over the steps
    expected_kl_bits_per_dim: np.ndarray  # [d] its expectation given x (exact channel)
    sq_err_mean: np.ndarray               # [d] squared error of the posterior mean of the final latent
    sq_err_flow: np.ndarray               # [d] squared error of DiffC-F's exact flow map
    expected_sq_err_mean: np.ndarray      # [d] expectations given x
    expected_sq_err_flow: np.ndarray      # [d]
    predicted_kl_bits: float              # I(X; Z_S) in bits (population)

    @property
    def kl_bits_total(self):
        """Realised sum KL of the chain, bits."""
        return float(np.sum(self.kl_bits_per_step))

    @property
    def coded_bits_total(self):
        """Payload bits of the chain (segments, no container header)."""
        return int(np.sum(self.coded_bits_per_step))

    @property
    def z_kl(self):
        """z-score of the realised sum KL against its expectation given x."""
        return _z_score(self.kl_bits_per_dim - self.expected_kl_bits_per_dim)

    @property
    def z_mse_flow(self):
        """z-score of DiffC-F's squared error against its expectation given x."""
        return _z_score(self.sq_err_flow - self.expected_sq_err_flow)

    @property
    def z_mse_mean(self):
        """z-score of the posterior mean's squared error against its expectation given x."""
        return _z_score(self.sq_err_mean - self.expected_sq_err_mean)


def _transition_coefficients(log_snr_t, log_snr_s):
    """``(a, b, v)`` of the sender's step ``q(z_s | z_t, x) = N(a z_t + b x, v)`` for ``log_snr_s > log_snr_t``.

    The formula of ``empirical.models.transition_coefficients``, float for float (a test checks it), written
    here so that ``rcc`` imports nothing from ``models``: with ``c = -expm1(log_snr_t - log_snr_s)``,
    ``a = (alpha_s / alpha_t) exp(log_snr_t - log_snr_s)``, ``b = alpha_s c``, ``v = sigma_s^2 c``.
    Unlike the models' version it does not check its arguments (the workloads' grids are increasing).
    """
    from gaussian import schedule

    log_snr_t = np.asarray(log_snr_t, dtype=np.float64)
    log_snr_s = np.asarray(log_snr_s, dtype=np.float64)
    delta = log_snr_t - log_snr_s
    c = -np.expm1(delta)
    alpha_t, _ = schedule.alpha_sigma_from_log_snr(log_snr_t)
    alpha_s, sigma_s = schedule.alpha_sigma_from_log_snr(log_snr_s)
    return (alpha_s / alpha_t) * np.exp(delta), alpha_s * c, sigma_s**2 * c


def _step_pair(step, log_snrs, eigvals, x, z):
    """``(q_mean, q_std, p_mean, p_std)`` of chain step ``step`` in eigen-coordinates."""
    from gaussian import schedule

    if step == 0:
        alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snrs[0])
        return alpha * x, np.full(x.shape, sigma), np.zeros(x.shape), np.sqrt(alpha**2 * eigvals + sigma**2)
    t, s = log_snrs[step - 1], log_snrs[step]
    a, b, v = _transition_coefficients(t, s)
    alpha_t, sigma_t = schedule.alpha_sigma_from_log_snr(t)
    snr_t = math.exp(t)
    posterior_mean = alpha_t * eigvals * z / (alpha_t**2 * eigvals + sigma_t**2)
    q_std = np.full(x.shape, math.sqrt(v))
    p_std = np.sqrt(v + b * b * eigvals / (1.0 + snr_t * eigvals))
    return a * z + b * x, q_std, a * z + b * posterior_mean, p_std


def measure_chain(eigvals, log_snrs, seed, x_seed=None, **rcc_options):
    """Draw ``x ~ N(0, diag(eigvals))`` (seed ``x_seed``, default ``seed``) and code the oracle chain on ``log_snrs``.

    ``rcc_options`` go to ``empirical.rcc.encode_step`` (budget_bits, padding_bits,
    tail_target, workers, device). Returns a :class:`ChainResult`.
    """
    from gaussian import components, schedule

    from .step import encode_step, kl_bits_per_dim

    eigvals = np.asarray(eigvals, np.float64)
    rng = np.random.default_rng(np.random.SeedSequence([0xC4A1, seed if x_seed is None else x_seed]))
    x = rng.normal(size=eigvals.size) * np.sqrt(eigvals)
    z = None
    kl, coded, chunks, coords, elapsed = [], [], [], 0, 0.0
    kl_per_dim = np.zeros(eigvals.size)
    for step in range(len(log_snrs)):
        q_mean, q_std, p_mean, p_std = _step_pair(step, log_snrs, eigvals, x, z)
        kl_per_dim += kl_bits_per_dim(q_mean, q_std, p_mean, p_std)
        start = time.perf_counter()
        code = encode_step(q_mean, q_std, p_mean, p_std, seed=seed, step=step, **rcc_options)
        elapsed += time.perf_counter() - start
        kl.append(code.kl_bits_total)
        coded.append(code.coded_bits)
        chunks.append(code.num_chunks)
        coords += code.candidate_coordinates
        z = np.asarray(code.samples)
    log_snr = float(log_snrs[-1])
    snr = math.exp(log_snr)
    alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr)
    x_mean = alpha * eigvals * z / (alpha**2 * eigvals + sigma**2)
    x_flow = np.sqrt(eigvals / (alpha**2 * eigvals + sigma**2)) * z
    rho = components.flow_gain(eigvals, snr)
    return ChainResult(
        kl_bits_per_step=np.array(kl), coded_bits_per_step=np.array(coded), chunks_per_step=np.array(chunks),
        candidate_coordinates=int(coords), encode_s=elapsed, kl_bits_per_dim=kl_per_dim,
        expected_kl_bits_per_dim=components.chain_kl_nats_given_x(eigvals, snr, x) / math.log(2.0),
        sq_err_mean=(x_mean - x) ** 2, sq_err_flow=(x_flow - x) ** 2,
        expected_sq_err_mean=components.mse_linear_decoder_given_x(x, snr, rho**2),
        expected_sq_err_flow=components.mse_linear_decoder_given_x(x, snr, rho),
        predicted_kl_bits=float(np.sum(components.rate_nats(eigvals, snr)) / math.log(2.0)),
    )
