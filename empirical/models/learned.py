"""The learned VP diffusion denoisers in torch: networks (MLP, U-Net), checkpoint format, numpy wrapper.

Network (:class:`DenoiserNet`), for data with training mean ``m`` and covariance
``B diag(lam) B^T`` (the Gaussian fit, stored as buffers)::

    w     = B^T (z - alpha m)                       eigen-coordinates, [n, d]
    u     = w / sqrt(alpha^2 lam + sigma^2)          whitened input (unit variance if x were Gaussian)
    r     = MLP(u, FiLM(fourier(log_snr)))           residual, zero at initialisation
    x-prediction:   x_hat_w = g w + sqrt(pv) r,  g = alpha lam / (alpha^2 lam + sigma^2),  pv = lam / (1 + snr lam)
    eps-prediction: eps_hat_w = (w - alpha g w) / sigma + r,  x_hat_w = (w - sigma eps_hat_w) / alpha
    x_hat = m + B x_hat_w

``g w`` is the Gaussian-optimal (linear) denoiser, so an untrained network is
exactly the Gaussian oracle of the training data. Every residual block is
conditioned on log-SNR (scale and shift from a Fourier embedding).

U-Net (:class:`UNet`, ``config["arch"] == "unet"``) for RGB images of any size. For an
``H x W x 3`` image the skip is the exact posterior mean of the stationary Gaussian
image model of that size (:class:`~empirical.models.StationaryImageOracle`: mean
``m``, eigenvalues ``lam`` after the colour rotation ``U`` and the orthonormal 2-D
DCT, ``T(x) = DCT2_ortho(x @ U)``)::

    w      = T(z - alpha m)                                   coefficients, [n, H, W, 3]
    inputs = [T^-1(w / sqrt(alpha^2 lam + sigma^2)),  m + T^-1(g w)]     whitened z and the Wiener estimate (pixels)
    r      = UNet(inputs, FiLM(fourier(log_snr)))             a residual image, zero at initialisation
    x_hat  = m + T^-1(g w + sqrt(pv) T(r)),   g = alpha lam / (alpha^2 lam + sigma^2),   pv = lam / (1 + snr lam)

so an untrained network is exactly the oracle (``r = 0``) and its x-loss is the
MLP's (:func:`weighted_x_loss`, the error of every DCT coefficient in units of
``pv``). The network is fully convolutional: 3x3 convolutions with reflect
padding, ``levels`` 2x2 average-pool downsamplings (channels ``channels x (1, 2, 2,
...)``), nearest-neighbour upsampling with skip connections, one residual block
per level and side, each conditioned on log-SNR (scale and shift after a
per-pixel channel LayerNorm, from the Fourier embedding). No statistic is taken
over the image, so the body is translation-equivariant for shifts by multiples
of ``2^levels`` away from the borders; sides that are not multiples of
``2^levels`` are extended at the bottom and right by edge replication and the
output cropped. The skip and the ``sqrt(pv)`` scaling are DCT-domain filters
(symmetric boundary), equivariant only as far as their kernels are short.

A U-Net with ``config["schedule"] == "rdp"`` is trained and used on the perfect-realism
path of the stationary oracle (the codec's ``--schedule rdp``): every coefficient has
its own noise level, ``log_snr_i = tau + ln rho_i(lam_i e^tau)``
(``gaussian.curves.rdp_path_log_snrs``, which depends on ``lam_i`` and ``tau`` alone, so
one ``tau`` means the same noise in every image size). The network is conditioned on
``tau`` (its ``log_snr_min`` / ``log_snr_max`` bound ``tau``, which is in log-SNR units:
``log_snr_i -> tau`` as ``lam_i e^tau`` grows), ``alpha``, ``sigma``, ``g`` and ``pv`` above
are per coefficient, ``w = T(z) - alpha T(m)``, and training draws ``tau`` uniformly and
``z = T^-1(alpha T(x) + sigma T(eps))``.

Losses (per dimension, averaged over the batch, ``log_snr ~ U[log_snr_min, log_snr_max]``):

- x-prediction: ``sum_i (x_w - x_hat_w)_i^2 / pv_i`` (components with ``pv > 0``): the
  error in units of the Gaussian posterior variance, so that every log-SNR and
  component weighs the same (EDM-style preconditioning);
- eps-prediction: ``||eps - eps_hat||^2``, which for uniform log-SNR is VDM's
  continuous-time ELBO weighting.

Checkpoint (``torch.save`` of a dict of tensors and JSON-able values; loaded with
``weights_only=True``): ``{"format": "diffc-denoiser", "version": 1, "config",
"state_dict", "sha256"}``; ``sha256`` covers the canonical JSON of ``config``
and every tensor's name, dtype, shape and bytes, and is checked on load.

A checkpoint is data, never code: :func:`load_checkpoint` reads only a regular
file of at most :data:`MAX_MODEL_BYTES`, refuses a pickle that names anything
but tensors and plain values (it would run code), checks every config key
against its range (:func:`check_config`, which also refuses a network whose
parameters would need more than :data:`MAX_MODEL_BYTES`) and every tensor's
name, shape, dtype and finiteness before a network is built. It is written
through a temporary file and a rename (a killed save leaves the old file).

The numpy wrapper (:class:`LearnedDenoiser`) always rebuilds its float64
network from the state dict into fresh contiguous tensors, whether the network
comes from memory or from a file: a loaded model computes with the same
tensors, float for float, as the one that was saved.
"""
from __future__ import annotations

import errno
import functools
import hashlib
import json
import math
import os
import pathlib
import pickle
import re
import stat
import warnings

import numpy as np
import torch
from torch import nn

from gaussian import schedule

from . import base
from .stationary import StationaryImageOracle

FORMAT = "diffc-denoiser"
VERSION = 1
PREDICTIONS = ("x", "eps")
ARCHS = ("mlp", "unet")
"""``config["arch"]``: the MLP of this module (the default when absent) or :class:`UNet`."""
MAX_MODEL_BYTES = 2 * 2**30
"""Largest checkpoint file, and largest estimated memory of a network's tensors (float32 weights, float64
Gaussian fit, and the float64 copy :class:`LearnedDenoiser` computes with)."""
CONFIG_INT_RANGES = {"dim": (1, 65536), "hidden": (1, 8192), "depth": (0, 64), "num_freqs": (1, 256)}
"""Accepted integer range of each network size in a checkpoint's config (inclusive)."""
MAX_ABS_LOG_SNR = 1e4
"""A checkpoint's ``log_snr_min`` / ``log_snr_max`` must be finite with magnitude at most this (the codec's grid limit)."""


def alpha_sigma(log_snr: torch.Tensor):
    """``(alpha, sigma)`` tensors like ``log_snr`` (computed by :mod:`gaussian.schedule`, no gradient)."""
    alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr.detach().cpu().double().numpy())
    return (torch.as_tensor(alpha, dtype=log_snr.dtype), torch.as_tensor(sigma, dtype=log_snr.dtype))


def gaussian_parts(lam, alpha, sigma):
    """``(marginal_var, gain, pv)`` of a Gaussian with eigenvalues ``lam`` at ``(alpha, sigma)`` (tensors, broadcast):
    ``alpha^2 lam + sigma^2``, the Wiener gain ``alpha lam / marginal_var`` and the posterior variance
    ``lam sigma^2 / marginal_var``."""
    marginal_var = alpha**2 * lam + sigma**2
    return marginal_var, alpha * lam / marginal_var, lam * sigma**2 / marginal_var


def weighted_x_loss(x_w, x_hat_w, pv) -> torch.Tensor:
    """Batch mean of ``sum_i (x_w - x_hat_w)_i^2 / pv_i / d`` over the components with ``pv > 0`` (``[n, ...]`` tensors;
    ``d`` the number of components per sample)."""
    weight = torch.where(pv > 0, 1.0 / torch.clamp(pv, min=torch.finfo(pv.dtype).tiny), torch.zeros_like(pv))
    per_sample = (torch.broadcast_to(weight, x_w.shape) * (x_w - x_hat_w) ** 2).reshape(x_w.shape[0], -1)
    return torch.mean(per_sample.sum(dim=1)) / per_sample.shape[1]


class FourierEmbedding(nn.Module):
    """Log-SNR scaled to [-1, 1] on the training range, then ``[t, sin(pi k t), cos(pi k t)]``, k = 1..num_freqs."""

    def __init__(self, num_freqs: int, log_snr_min: float, log_snr_max: float):
        super().__init__()
        self.register_buffer("freqs", math.pi * torch.arange(1, num_freqs + 1, dtype=torch.float32))
        self.center = 0.5 * (log_snr_min + log_snr_max)
        self.half_range = 0.5 * (log_snr_max - log_snr_min)

    def forward(self, log_snr: torch.Tensor) -> torch.Tensor:
        t = ((log_snr - self.center) / self.half_range)[:, None]
        angles = t * self.freqs.to(t.dtype)
        return torch.cat([t, torch.sin(angles), torch.cos(angles)], dim=1)


class ResidualBlock(nn.Module):
    """``h + W2 silu(W1 silu(LN(h) (1 + scale) + shift))`` with ``(scale, shift)`` from the log-SNR embedding."""

    def __init__(self, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.film = nn.Linear(hidden, 2 * hidden)
        self.lin1 = nn.Linear(hidden, hidden)
        self.lin2 = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(emb).chunk(2, dim=1)
        a = torch.nn.functional.silu(self.norm(h) * (1 + scale) + shift)
        a = self.lin2(torch.nn.functional.silu(self.lin1(a)))
        return h + a


class DenoiserNet(nn.Module):
    """MLP denoiser with a built-in Gaussian skip; ``forward(z [n, d], log_snr [n]) -> x_hat [n, d]``."""

    def __init__(self, config: dict, mean=None, eigvals=None, basis=None):
        super().__init__()
        d, hidden = int(config["dim"]), int(config["hidden"])
        self.config = dict(config)
        self.prediction = config["prediction"]
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"prediction: expected one of {PREDICTIONS}, got {self.prediction!r}")
        # the Gaussian fit is kept in float64 (the float32 network casts it per call)
        f64 = torch.float64
        def buffer(value, default):
            # C-contiguous: a transposed (Fortran-ordered) basis from eigh would make matmuls take another path
            return default if value is None else torch.from_numpy(np.array(value, dtype=np.float64, order="C"))

        self.register_buffer("skip_mean", buffer(mean, torch.zeros(d, dtype=f64)))
        self.register_buffer("skip_eigvals", buffer(eigvals, torch.ones(d, dtype=f64)))
        self.register_buffer("skip_basis", buffer(basis, torch.eye(d, dtype=f64)))
        self.embed = FourierEmbedding(int(config["num_freqs"]), config["log_snr_min"], config["log_snr_max"])
        self.embed_mlp = nn.Sequential(
            nn.Linear(2 * int(config["num_freqs"]) + 1, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU()
        )
        self.inp = nn.Linear(d, hidden)
        self.blocks = nn.ModuleList(ResidualBlock(hidden) for _ in range(int(config["depth"])))
        self.out_norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, d)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def parts(self, z: torch.Tensor, log_snr: torch.Tensor):
        """``(w, x_hat_w, eps_hat_w, pv)``: eigen-coordinates of ``z - alpha m``, the estimates, the Gaussian posterior variance."""
        alpha, sigma = alpha_sigma(log_snr)
        alpha, sigma = alpha[:, None], sigma[:, None]
        lam = self.skip_eigvals.to(z.dtype)
        basis = self.skip_basis.to(z.dtype)
        w = (z - alpha * self.skip_mean.to(z.dtype)) @ basis
        marginal_var, gain, pv = gaussian_parts(lam, alpha, sigma)
        emb = self.embed_mlp(self.embed(log_snr))
        h = self.inp(w / torch.sqrt(marginal_var))
        for block in self.blocks:
            h = block(h, emb)
        r = self.out(torch.nn.functional.silu(self.out_norm(h)))
        if self.prediction == "x":
            x_hat_w = gain * w + torch.sqrt(pv) * r
            eps_hat_w = (w - alpha * x_hat_w) / sigma
        else:
            eps_hat_w = (w - alpha * gain * w) / sigma + r
            x_hat_w = (w - sigma * eps_hat_w) / alpha
        return w, x_hat_w, eps_hat_w, pv

    def forward(self, z: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        _, x_hat_w, _, _ = self.parts(z, log_snr)
        return self.skip_mean.to(z.dtype) + x_hat_w @ self.skip_basis.to(z.dtype).T

    def loss(self, x: torch.Tensor, eps: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of the per-dimension weighted denoising loss (see the module docstring)."""
        alpha, sigma = alpha_sigma(log_snr)
        z = alpha[:, None] * x + sigma[:, None] * eps
        _, x_hat_w, eps_hat_w, pv = self.parts(z, log_snr)
        d = x.shape[1]
        if self.prediction == "x":
            x_w = (x - self.skip_mean.to(x.dtype)) @ self.skip_basis.to(x.dtype)
            return weighted_x_loss(x_w, x_hat_w, pv)
        eps_w = eps @ self.skip_basis.to(eps.dtype)
        return torch.mean(torch.sum((eps_w - eps_hat_w) ** 2, dim=1)) / d


UNET_INT_RANGES = {"channels": (1, 512), "levels": (0, 6), "num_freqs": (1, 256)}
"""Accepted integer range of each U-Net size in a checkpoint's config (inclusive)."""
UNET_SCHEDULES = ("isotropic", "rdp")
"""A U-Net's ``config["schedule"]`` (absent: isotropic): one log-SNR for every coefficient, or the ``rdp`` path."""
EMBED_DIM = 64
IN_CHANNELS = 6
OUT_CHANNELS = 3


def widths(config: dict) -> list:
    """Channels at each level: ``channels x (1, 2, 2, ...)``, ``levels + 1`` entries."""
    c = int(config["channels"])
    return [c * min(2, 2**level) for level in range(int(config["levels"]) + 1)]


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of each pixel (no statistic over the image), without affine parameters."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        mean = h.mean(dim=1, keepdim=True)
        var = ((h - mean) ** 2).mean(dim=1, keepdim=True)
        return (h - mean) / torch.sqrt(var + 1e-5)


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect")


class ConvBlock(nn.Module):
    """``skip(h) + conv2(silu(norm(conv1(silu(norm(h) (1 + scale) + shift)))))`` with ``(scale, shift)`` from log-SNR."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.norm1, self.norm2 = ChannelNorm(), ChannelNorm()
        self.film = nn.Linear(EMBED_DIM, 2 * c_in)
        self.conv1, self.conv2 = _conv(c_in, c_out), _conv(c_out, c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        a = self.conv1(torch.nn.functional.silu(self.norm1(h) * (1 + scale) + shift))
        a = self.conv2(torch.nn.functional.silu(self.norm2(a)))
        return self.skip(h) + a


@functools.lru_cache(maxsize=32)
def stationary_oracle(height: int, width: int) -> StationaryImageOracle:
    """The :class:`~empirical.models.StationaryImageOracle` of ``height x width`` RGB images (cached)."""
    return StationaryImageOracle((height, width, 3))


def _coefficient_maps(d_h, d_w, colour):
    """``(to_eigen, from_eigen)`` of ``[n, H, W, 3]`` tensors from the DCT matrices and the colour rotation."""

    def to_eigen(x):
        return torch.einsum("kh,nhwc,lw->nklc", d_h, x @ colour, d_w)

    def from_eigen(w):
        return torch.einsum("kh,nklc,lw->nhwc", d_h, w, d_w) @ colour.T

    return to_eigen, from_eigen


@functools.lru_cache(maxsize=64)
def _dct_matrix(n: int) -> np.ndarray:
    """``[n, n]`` orthonormal DCT-II matrix ``D`` (``D @ v`` is ``scipy.fft.dct(v, norm="ortho")``)."""
    from scipy.fft import dct

    return dct(np.eye(n), type=2, norm="ortho", axis=0)


class UNet(nn.Module):
    """The U-Net denoiser with the stationary oracle as skip; ``forward(z [n, H, W, 3], log_snr [n]) -> x_hat``."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        f, ws = int(config["num_freqs"]), widths(config)
        self.embed = FourierEmbedding(f, config["log_snr_min"], config["log_snr_max"])
        self.embed_mlp = nn.Sequential(nn.Linear(2 * f + 1, EMBED_DIM), nn.SiLU(), nn.Linear(EMBED_DIM, EMBED_DIM),
                                       nn.SiLU())
        self.inp = _conv(IN_CHANNELS, ws[0])
        self.down = nn.ModuleList(ConvBlock(ws[max(i - 1, 0)], ws[i]) for i in range(len(ws)))
        self.up = nn.ModuleList(ConvBlock(ws[i + 1] + ws[i], ws[i]) for i in range(len(ws) - 1))
        self.out_norm = ChannelNorm()
        self.out = _conv(ws[0], OUT_CHANNELS)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def body(self, inputs: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """The convolutional residual ``[n, 3, H, W]`` of ``inputs`` ``[n, 6, H, W]`` (sides multiples of ``2^levels``)."""
        emb = self.embed_mlp(self.embed(log_snr))
        h = self.inp(inputs)
        skips = []
        for i, block in enumerate(self.down):
            if i:
                h = torch.nn.functional.avg_pool2d(h, 2)
            h = block(h, emb)
            skips.append(h)
        for i in reversed(range(len(self.up))):
            h = torch.nn.functional.interpolate(h, scale_factor=2, mode="nearest")
            h = self.up[i](torch.cat([h, skips[i]], dim=1), emb)
        return self.out(torch.nn.functional.silu(self.out_norm(h)))

    def _transforms(self, height: int, width: int, dtype):
        """``(D_H, D_W, U, lam [H, W, 3], m [3])`` tensors of the stationary oracle of an ``H x W`` image."""
        oracle = stationary_oracle(height, width)
        as_t = lambda a: torch.tensor(np.array(a), dtype=dtype)  # noqa: E731
        return (as_t(_dct_matrix(height)), as_t(_dct_matrix(width)), as_t(oracle._colour),
                as_t(oracle.eigvals.reshape(height, width, 3)), as_t(oracle.params.mean))

    def coefficient_maps(self, height: int, width: int, dtype):
        """``(to_eigen, from_eigen)``: the stationary oracle's orthonormal transform of ``[n, H, W, 3]`` tensors (colour
        rotation, then the 2-D DCT) and its inverse."""
        return _coefficient_maps(*self._transforms(height, width, dtype)[:3])

    def noise_levels(self, log_snr: torch.Tensor, height: int, width: int, dtype):
        """``(alpha, sigma)`` of the coefficients of ``H x W`` images at the conditioning values ``log_snr`` ``[n]``:
        ``[n, 1, 1, 1]`` (isotropic) or, for an ``rdp`` network (``log_snr`` is then ``tau``), ``[n, H, W, 3]`` at the
        path's per-coefficient log-SNRs (``gaussian.curves.rdp_path_log_snrs``; no gradient)."""
        if unet_schedule(self.config) == "rdp":
            from gaussian import curves

            tau = log_snr.detach().cpu().double().numpy()
            ls = curves.rdp_path_log_snrs(stationary_oracle(height, width).eigvals, tau)
            alpha, sigma = alpha_sigma(torch.from_numpy(ls.reshape(-1, height, width, 3)))
            return alpha.to(dtype), sigma.to(dtype)
        alpha, sigma = alpha_sigma(log_snr)
        return alpha[:, None, None, None].to(dtype), sigma[:, None, None, None].to(dtype)

    def parts(self, z: torch.Tensor, log_snr: torch.Tensor):
        """``(x_hat_w, pv, to_eigen, from_eigen, mean)`` for images ``z`` ``[n, H, W, 3]``: coefficient estimate,
        posterior variance, the oracle's transforms (as functions of ``[n, H, W, 3]`` tensors) and its mean.
        ``log_snr`` ``[n]`` is the network's conditioning: the log-SNR, or ``tau`` for an ``rdp`` network."""
        n, height, width, _ = z.shape
        d_h, d_w, colour, lam, mean = self._transforms(height, width, z.dtype)
        to_eigen, from_eigen = _coefficient_maps(d_h, d_w, colour)
        alpha, sigma = self.noise_levels(log_snr, height, width, z.dtype)
        if unet_schedule(self.config) == "rdp":
            w = to_eigen(z) - alpha * to_eigen(mean.expand(1, height, width, 3))
        else:
            w = to_eigen(z - alpha * mean)
        marginal_var, gain, pv = gaussian_parts(lam, alpha, sigma)
        skip_w = gain * w
        inputs = torch.cat([from_eigen(w / torch.sqrt(marginal_var)), mean + from_eigen(skip_w)], dim=3)
        r = self._padded_body(inputs.permute(0, 3, 1, 2), log_snr).permute(0, 2, 3, 1)
        return skip_w + torch.sqrt(pv) * to_eigen(r), pv, to_eigen, from_eigen, mean

    def _padded_body(self, inputs: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """:meth:`body` of ``inputs`` extended at the bottom and right (edge replication) to sides that are multiples of
        ``2^levels`` and at least ``2^(levels+1)``; the output cropped back. The body runs in the dtype of the
        network's weights (float32 as trained) and its output comes back in ``inputs``' dtype, so a float32 network
        fed float64 images keeps the Gaussian skip and the oracle's transforms in float64."""
        height, width = inputs.shape[2:]
        unit = 2 ** int(self.config["levels"])
        pad_h = max(-(-height // unit) * unit, 2 * unit) - height
        pad_w = max(-(-width // unit) * unit, 2 * unit) - width
        if pad_h or pad_w:
            inputs = torch.nn.functional.pad(inputs, (0, pad_w, 0, pad_h), mode="replicate")
        weights = self.out.weight.dtype      # the body runs in its weights' dtype; the Gaussian skip in z's
        out = self.body(inputs.to(weights), log_snr.to(weights))[:, :, :height, :width]
        return out.to(inputs.dtype)

    def forward(self, z: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        x_hat_w, _, _, from_eigen, mean = self.parts(z, log_snr)
        return mean + from_eigen(x_hat_w)

    def loss(self, x: torch.Tensor, eps: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of the weighted x-prediction loss (module docstring) for images ``x`` ``[n, H, W, 3]``."""
        n, height, width, _ = x.shape
        alpha, sigma = self.noise_levels(log_snr, height, width, x.dtype)
        if unet_schedule(self.config) == "rdp":  # per-coefficient noise: z = T^-1(alpha T(x) + sigma T(eps))
            to_eigen, from_eigen = self.coefficient_maps(height, width, x.dtype)
            z = from_eigen(alpha * to_eigen(x) + sigma * to_eigen(eps))
        else:
            z = alpha * x + sigma * eps
        x_hat_w, pv, to_eigen, _, mean = self.parts(z, log_snr)
        return weighted_x_loss(to_eigen(x - mean), x_hat_w, pv)


def unet_parameter_count(config: dict) -> int:
    """Number of float32 weights of :class:`UNet` for a checked ``config`` (closed form, nothing built)."""
    f, ws = int(config["num_freqs"]), widths(config)
    conv = lambda a, b: 9 * a * b + b  # noqa: E731
    block = lambda a, b: EMBED_DIM * 2 * a + 2 * a + conv(a, b) + conv(b, b) + (a * b + b if a != b else 0)  # noqa: E731
    total = (2 * f + 1) * EMBED_DIM + EMBED_DIM + EMBED_DIM * EMBED_DIM + EMBED_DIM + conv(IN_CHANNELS, ws[0])
    total += sum(block(ws[max(i - 1, 0)], ws[i]) for i in range(len(ws)))
    total += sum(block(ws[i + 1] + ws[i], ws[i]) for i in range(len(ws) - 1))
    return total + conv(ws[0], OUT_CHANNELS)


def check_unet_config(config: dict) -> dict:
    """``config`` if the U-Net keys are present, typed and in range (ValueError ``"<key>: ..."`` naming the first bad one)."""
    for key, (lo, hi) in UNET_INT_RANGES.items():
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{key}: must be an integer in {lo}..{hi}, got {value!r}")
    if config.get("prediction") != "x":
        raise ValueError(f"prediction: the unet predicts 'x', got {config.get('prediction')!r}")
    if config.get("schedule", "isotropic") not in UNET_SCHEDULES:
        raise ValueError(f"schedule: expected one of {UNET_SCHEDULES}, got {config.get('schedule')!r}")
    return config


def unet_schedule(config: dict) -> str:
    """``"rdp"`` for a U-Net trained on the perfect-realism path (conditioned on ``tau``), else ``"isotropic"``."""
    return config.get("schedule", "isotropic")


def state_hash(config: dict, state_dict: dict) -> str:
    """sha256 hex of the canonical JSON of ``config`` and each tensor's name, dtype, shape and bytes (sorted by name)."""
    h = hashlib.sha256()
    h.update(json.dumps(config, sort_keys=True).encode())
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        h.update(f"\x00{name}\x00{tensor.dtype}\x00{tuple(tensor.shape)}\x00".encode())
        h.update(tensor.numpy().tobytes())
    return h.hexdigest()


def parameter_count(config: dict) -> int:
    """Number of float32 weights of :class:`DenoiserNet` for a checked ``config`` (closed form, nothing built)."""
    d, h, depth, f = (int(config[k]) for k in ("dim", "hidden", "depth", "num_freqs"))
    embed = (2 * f + 1) * h + h + h * h + h
    block = 2 * h + (2 * h * h + 2 * h) + 2 * (h * h + h)  # LayerNorm, FiLM, lin1, lin2
    return embed + (d * h + h) + depth * block + 2 * h + (h * d + d)


def estimated_bytes(config: dict) -> int:
    """Bytes of a network's tensors: float32 weights and frequencies, float64 fit (mean, eigvals, ``dim^2`` basis),
    plus the float64 copy of all of them that :class:`LearnedDenoiser` evaluates."""
    if config.get("arch", "mlp") == "unet":  # float32 weights and their float64 copy
        return 12 * (unet_parameter_count(config) + int(config["num_freqs"]))
    d, f = int(config["dim"]), int(config["num_freqs"])
    weights, fit = parameter_count(config) + f, 2 * d + d * d
    return 4 * weights + 8 * fit + 8 * (weights + fit)


def check_config(config) -> dict:
    """``config`` if its network keys are present, typed and in range and the tensors fit in :data:`MAX_MODEL_BYTES`.

    Raises ValueError ``"<key>: ..."`` naming the first bad key (``dim``, ``hidden``, ``depth``,
    ``num_freqs``, ``prediction``, ``log_snr_min``, ``log_snr_max``); ranges in :data:`CONFIG_INT_RANGES`.
    """
    if not isinstance(config, dict):
        raise ValueError(f"config: expected a dict, got {type(config).__name__}")
    arch = config.get("arch", "mlp")
    if arch not in ARCHS:
        raise ValueError(f"arch: expected one of {ARCHS}, got {arch!r}")
    if arch == "unet":
        check_unet_config(config)
    for key, (lo, hi) in (CONFIG_INT_RANGES.items() if arch == "mlp" else ()):
        if key not in config:
            raise ValueError(f"{key}: missing")
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{key}: must be an integer in {lo}..{hi}, got {value!r}")
    if config.get("prediction") not in PREDICTIONS:
        raise ValueError(f"prediction: expected one of {PREDICTIONS}, got {config.get('prediction')!r}")
    for key in ("log_snr_min", "log_snr_max"):
        value = config.get(key)
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > MAX_ABS_LOG_SNR
                or not math.isfinite(value)):  # abs() first: math.isfinite(10**400) overflows
            raise ValueError(f"{key}: must be a finite number with |value| <= {MAX_ABS_LOG_SNR:g}, got {value!r}")
    if not config["log_snr_min"] < config["log_snr_max"]:
        raise ValueError(f"log_snr_min: must be < log_snr_max, got {config['log_snr_min']!r} >= {config['log_snr_max']!r}")
    nbytes = estimated_bytes(config)
    if arch == "unet" and nbytes > MAX_MODEL_BYTES:
        raise ValueError(f"channels: a unet with channels={config['channels']} needs about {nbytes / 2**30:.3g} GiB "
                         f"for its tensors, over the limit of {MAX_MODEL_BYTES / 2**30:.3g} GiB")
    if nbytes > MAX_MODEL_BYTES:
        d, h = config["dim"], config["hidden"]
        key = "dim" if d * d >= 4 * config["depth"] * h * h + 2 * d * h else "hidden"
        raise ValueError(f"{key}: a network with dim={d}, hidden={h}, depth={config['depth']} needs about "
                         f"{nbytes / 2**30:.3g} GiB for its tensors, over the limit of {MAX_MODEL_BYTES / 2**30:.3g} GiB")
    return config


def _skeleton(config: dict) -> "DenoiserNet":
    """The network (:class:`DenoiserNet`, or :class:`UNet` for ``arch == "unet"``) of a checked ``config`` on the
    meta device (shapes and dtypes, no memory)."""
    with torch.device("meta"):
        if config.get("arch", "mlp") == "unet":
            return UNet(config)
        return DenoiserNet(config)


def _rebuild(config: dict, state: dict, dtype=None) -> "DenoiserNet":
    """A fresh :class:`DenoiserNet` with ``state``'s values in new contiguous tensors (no random init).

    ``dtype=None`` keeps the saved dtypes (float32 weights, float64 Gaussian fit); ``torch.float64`` casts all.
    """
    net = _skeleton(config).to_empty(device="cpu")
    if dtype is not None:
        net = net.to(dtype)
    net.load_state_dict({k: v.detach().cpu() for k, v in state.items()})
    return net


def save_checkpoint(path, net: DenoiserNet) -> str:
    """Write ``net``'s config, state dict and their sha256 to ``path`` (temporary file, then rename); return the hash.

    The bytes are serialised in memory first: ``torch.save`` to a file names the
    archive after the file (here a temporary name with the process id), so the
    same checkpoint would give different file bytes; from memory they depend on
    the content only. A failed write leaves ``path`` as it was and raises
    ``OSError`` whose ``filename`` is ``path``.
    """
    import io

    from gaussian import _io

    state = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    digest = state_hash(net.config, state)
    payload = {"format": FORMAT, "version": VERSION, "config": net.config, "state_dict": state, "sha256": digest}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    try:
        _io.write_bytes_atomic(path, buffer.getvalue())
    except OSError as err:
        raise OSError(err.errno or errno.EIO, err.strerror or str(err), str(path)) from None
    return digest


def _check_file(path: pathlib.Path) -> None:
    """ValueError unless ``path`` is a readable regular file of at most :data:`MAX_MODEL_BYTES` (never a FIFO or device)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"model: checkpoint not found: {path}") from None
    except OSError as err:
        raise ValueError(f"model: cannot read {path}: {(err.strerror or str(err)).lower()}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"model: {path} is a folder, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"model: {path} is not a regular file (a pipe or device is not read)")
    if info.st_size > MAX_MODEL_BYTES:
        raise ValueError(f"model: {path} has {info.st_size} bytes, over the checkpoint limit of {MAX_MODEL_BYTES} bytes")
    if not os.access(path, os.R_OK):
        raise ValueError(f"model: cannot read {path}: permission denied")


def _read_payload(path: pathlib.Path):
    """``torch.load(weights_only=True)`` of ``path``; a pickle naming code (a global) is refused with ValueError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL (\S+)", str(err))
        if found:
            raise ValueError(f"model: refused {path}: it asks to import {found.group(1)} when loaded; a checkpoint "
                             "holds only tensors and plain values, never code") from None
        raise ValueError(f"model: cannot read {path} as a checkpoint (not a torch file of tensors and plain values)") from None
    except Exception as err:  # torch raises many types for a file that is not a checkpoint
        raise ValueError(f"model: cannot read {path} as a checkpoint ({type(err).__name__})") from None


def _check_state(state, config: dict) -> None:
    """ValueError unless ``state`` has exactly the tensors of ``config``'s network: names, shapes, dtypes, finite values."""
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ValueError("state_dict: expected a dict of named tensors")
    want = _skeleton(config).state_dict()
    missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or extra:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {extra[0]!r}"
        raise ValueError(f"state_dict: does not match the config's network ({what})")
    for name, ref in want.items():
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor) or tensor.layout != torch.strided:
            raise ValueError(f"state_dict: {name} is not a dense tensor")
        if tuple(tensor.shape) != tuple(ref.shape) or tensor.dtype != ref.dtype:
            raise ValueError(f"state_dict: {name} is {tensor.dtype} {tuple(tensor.shape)}, the config's network "
                             f"needs {ref.dtype} {tuple(ref.shape)}")
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"state_dict: {name} has NaN or inf entries")


def load_checkpoint(path) -> "LearnedDenoiser":
    """The :class:`LearnedDenoiser` in checkpoint ``path`` (checked as the module docstring says), or ValueError naming ``path``."""
    config, state, digest = read_checkpoint(path)
    if config.get("arch", "mlp") != "mlp":
        raise ValueError(f"model: {path} holds a {config['arch']} of images of any size: give it as an image model, "
                         f"--model unet:{path}")
    return LearnedDenoiser(_rebuild(config, state), digest)


def read_checkpoint(path) -> tuple:
    """``(config, state_dict, sha256)`` of checkpoint ``path``, checked as the module docstring says, or ValueError."""
    path = pathlib.Path(path)
    _check_file(path)
    payload = _read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"model: {path} is not a {FORMAT} checkpoint")
    if payload.get("version") != VERSION:
        raise ValueError(f"model: {path} has checkpoint version {payload.get('version')!r}, expected {VERSION}")
    for key in ("config", "state_dict", "sha256"):
        if key not in payload:
            raise ValueError(f"model: {path} has no {key!r} entry")
    config, state = payload["config"], payload["state_dict"]
    try:
        check_config(config)
    except ValueError as err:
        msg = str(err)
        raise ValueError(f"model: {path}: {msg if msg.startswith('config:') else 'config ' + msg}") from None
    try:
        _check_state(state, config)
    except ValueError as err:
        raise ValueError(f"model: {path}: {err}") from None
    try:
        digest = state_hash(config, state)
    except (TypeError, ValueError):
        raise ValueError(f"model: {path}: config is not plain JSON data") from None
    if digest != payload.get("sha256"):
        raise ValueError(f"model: {path} is corrupt (sha256 {digest[:16]} != recorded {str(payload.get('sha256'))[:16]})")
    return config, state, digest


class LearnedDenoiser:
    """numpy float64 :class:`empirical.models.Denoiser` around a :class:`DenoiserNet` (evaluated in float64).

    Reverse steps between noise levels are plug-in ``q(z_s | z_t, x = x_hat(z_t))``
    (isotropic). The last step to ``x`` (``log_snr_s = +inf``) is
    ``N(x_hat(z_t), B diag(pv) B^T)`` with ``pv = lam / (1 + snr_t lam)`` the
    posterior variance of the network's Gaussian fit (``final_variance="gaussian"``,
    the default: at the top of the training range the posterior of a smooth
    density is close to that, and DiffC-A needs a *sample* of ``x``), or the
    point ``x_hat`` (``final_variance="zero"``, the DDPM convention, which
    under-disperses DiffC-A by ``pv`` at the last noise level). ``basis`` is
    the fit's eigenbasis ``B``, where every step is diagonal. The prior is ``N(0, I)``.

    The float64 network is rebuilt from ``net``'s state dict into fresh contiguous
    tensors, exactly as :func:`load_checkpoint` builds it, so that a model in memory
    and the same model saved and loaded run the same arithmetic.
    """

    def __init__(self, net: DenoiserNet, fingerprint: str | None = None, final_variance: str = "gaussian"):
        if final_variance not in ("gaussian", "zero"):
            raise ValueError(f"final_variance: expected 'gaussian' or 'zero', got {final_variance!r}")
        self.net = _rebuild(net.config, net.state_dict(), torch.float64).eval()
        self.config = dict(net.config)
        self.dim = int(self.config["dim"])
        self.log_snr_min = float(self.config["log_snr_min"])
        self.log_snr_max = float(self.config["log_snr_max"])
        if fingerprint is None:
            fingerprint = state_hash(net.config, {k: v.detach().cpu() for k, v in net.state_dict().items()})
        self.fingerprint = fingerprint
        self.final_variance = final_variance
        self.basis = self.net.skip_basis.numpy().copy()
        self.skip_eigvals = self.net.skip_eigvals.numpy().copy()
        self.basis.flags.writeable = False
        self.skip_eigvals.flags.writeable = False

    def denoise(self, z, log_snr) -> np.ndarray:
        """``E[x | z]`` estimated by the network, ``[n, dim]`` float64."""
        z = base.as_batch(z, self.dim)
        ls = base._log_snr_column(log_snr, z.shape[0], "log_snr")[:, 0]
        with torch.no_grad():
            out = self.net(torch.from_numpy(z), torch.from_numpy(ls))
        return out.numpy()

    def prior(self, log_snr: float) -> base.Gaussian:
        """``N(0, I)``."""
        return base.Gaussian(np.zeros((1, self.dim)), np.ones((1, self.dim)))

    def reverse_transition(self, z_t, log_snr_t, log_snr_s) -> base.Gaussian:
        """Plug-in ``q(z_s | z_t, x = x_hat(z_t))``; to ``x`` (``log_snr_s = inf``) with the final variance of the class docstring."""
        return plugin_transition(self, z_t, log_snr_t, log_snr_s)


def plugin_transition(model, z_t, log_snr_t, log_snr_s) -> base.Gaussian:
    """``model``'s plug-in ``q(z_s | z_t, x = model.denoise(z_t))``; the step to ``x`` (``log_snr_s = inf``) has variance
    ``pv = lam / (1 + snr_t lam)`` of ``model.skip_eigvals`` along its coefficients if ``model.final_variance`` is
    ``"gaussian"``, else 0 (see :class:`LearnedDenoiser`)."""
    z_t = base.as_batch(z_t, model.dim, "z_t")
    n = z_t.shape[0]
    ls_t = base._log_snr_column(log_snr_t, n, "log_snr_t")[:, 0]
    ls_s = base._log_snr_column(log_snr_s, n, "log_snr_s", allow_inf=True)[:, 0]
    mean, var = base.q_reverse(model.denoise(z_t, ls_t), z_t, ls_t, ls_s)
    var = np.broadcast_to(var, (n, model.dim)).copy()
    final = np.isinf(ls_s)
    if model.final_variance == "gaussian" and final.any():
        snr_t = schedule.snr_from_log_snr(ls_t[final])[:, None]
        var[final] = model.skip_eigvals / (1.0 + snr_t * model.skip_eigvals)
    return base.Gaussian(mean, var)
