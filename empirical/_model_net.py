"""The learned VP diffusion denoiser in torch: network, checkpoint format, numpy wrapper.

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
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import pathlib

import numpy as np
import torch
from torch import nn

from gaussian import schedule
from empirical import models

FORMAT = "diffc-denoiser"
VERSION = 1
PREDICTIONS = ("x", "eps")


def alpha_sigma(log_snr: torch.Tensor):
    """``(alpha, sigma)`` tensors like ``log_snr`` (computed by :mod:`gaussian.schedule`, no gradient)."""
    alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr.detach().cpu().double().numpy())
    return (torch.as_tensor(alpha, dtype=log_snr.dtype), torch.as_tensor(sigma, dtype=log_snr.dtype))


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
            return default if value is None else torch.from_numpy(np.array(value, dtype=np.float64))

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
        marginal_var = alpha**2 * lam + sigma**2
        gain = alpha * lam / marginal_var
        pv = lam * sigma**2 / marginal_var
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
            weight = torch.where(pv > 0, 1.0 / torch.clamp(pv, min=torch.finfo(pv.dtype).tiny), torch.zeros_like(pv))
            return torch.mean(torch.sum(weight * (x_w - x_hat_w) ** 2, dim=1)) / d
        eps_w = eps @ self.skip_basis.to(eps.dtype)
        return torch.mean(torch.sum((eps_w - eps_hat_w) ** 2, dim=1)) / d


def state_hash(config: dict, state_dict: dict) -> str:
    """sha256 hex of the canonical JSON of ``config`` and each tensor's name, dtype, shape and bytes (sorted by name)."""
    h = hashlib.sha256()
    h.update(json.dumps(config, sort_keys=True).encode())
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        h.update(f"\x00{name}\x00{tensor.dtype}\x00{tuple(tensor.shape)}\x00".encode())
        h.update(tensor.numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(path, net: DenoiserNet) -> str:
    """Write ``net``'s config, state dict and their sha256 to ``path``; return the hash."""
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    digest = state_hash(net.config, state)
    payload = {"format": FORMAT, "version": VERSION, "config": net.config, "state_dict": state, "sha256": digest}
    torch.save(payload, pathlib.Path(path))
    return digest


def load_checkpoint(path) -> "LearnedDenoiser":
    """The :class:`LearnedDenoiser` in checkpoint ``path`` (hash verified), or ValueError."""
    path = pathlib.Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"model: checkpoint not found: {path}") from None
    except Exception as err:  # torch raises many types for a file that is not a checkpoint
        raise ValueError(f"model: cannot read {path} as a checkpoint ({type(err).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"model: {path} is not a {FORMAT} checkpoint")
    if payload.get("version") != VERSION:
        raise ValueError(f"model: {path} has checkpoint version {payload.get('version')!r}, expected {VERSION}")
    config, state = payload["config"], payload["state_dict"]
    digest = state_hash(config, state)
    if digest != payload.get("sha256"):
        raise ValueError(f"model: {path} is corrupt (sha256 {digest[:16]} != recorded {str(payload.get('sha256'))[:16]})")
    net = DenoiserNet(config)
    net.load_state_dict(state)
    return LearnedDenoiser(net, digest)


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
    """

    def __init__(self, net: DenoiserNet, fingerprint: str | None = None, final_variance: str = "gaussian"):
        if final_variance not in ("gaussian", "zero"):
            raise ValueError(f"final_variance: expected 'gaussian' or 'zero', got {final_variance!r}")
        self.net = copy.deepcopy(net).double().eval()
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
        z = models.as_batch(z, self.dim)
        ls = models._log_snr_column(log_snr, z.shape[0], "log_snr")[:, 0]
        with torch.no_grad():
            out = self.net(torch.from_numpy(z), torch.from_numpy(ls))
        return out.numpy()

    def prior(self, log_snr: float) -> models.Gaussian:
        """``N(0, I)``."""
        return models.Gaussian(np.zeros((1, self.dim)), np.ones((1, self.dim)))

    def reverse_transition(self, z_t, log_snr_t, log_snr_s) -> models.Gaussian:
        """Plug-in ``q(z_s | z_t, x = x_hat(z_t))``; to ``x`` (``log_snr_s = inf``) with the final variance of the class docstring."""
        z_t = models.as_batch(z_t, self.dim, "z_t")
        n = z_t.shape[0]
        ls_t = models._log_snr_column(log_snr_t, n, "log_snr_t")[:, 0]
        ls_s = models._log_snr_column(log_snr_s, n, "log_snr_s", allow_inf=True)[:, 0]
        mean, var = models.q_reverse(self.denoise(z_t, ls_t), z_t, ls_t, ls_s)
        var = np.broadcast_to(var, (n, self.dim)).copy()
        final = np.isinf(ls_s)
        if self.final_variance == "gaussian" and final.any():
            snr_t = schedule.snr_from_log_snr(ls_t[final])[:, None]
            var[final] = self.skip_eigvals / (1.0 + snr_t * self.skip_eigvals)
        return models.Gaussian(mean, var)
