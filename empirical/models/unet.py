"""A learned denoiser of RGB photographs of any size: a small convolutional U-Net around the stationary oracle.

For an ``H x W x 3`` image the skip is the exact posterior mean of the
stationary Gaussian image model of that size (:class:`~empirical.models.StationaryImageOracle`:
mean ``m``, eigenvalues ``lam`` after the colour rotation ``U`` and the
orthonormal 2-D DCT, ``T(x) = DCT2_ortho(x @ U)``)::

    w      = T(z - alpha m)                                   coefficients, [n, H, W, 3]
    inputs = [T^-1(w / sqrt(alpha^2 lam + sigma^2)),  m + T^-1(g w)]     whitened z and the Wiener estimate (pixels)
    r      = UNet(inputs, FiLM(fourier(log_snr)))             a residual image, zero at initialisation
    x_hat  = m + T^-1(g w + sqrt(pv) T(r)),   g = alpha lam / (alpha^2 lam + sigma^2),   pv = lam / (1 + snr lam)

so an untrained network is exactly the oracle (``r = 0``), and the loss is
the MLP's (:func:`~empirical.models.learned.weighted_x_loss`): the squared
error of every DCT coefficient in units of its Gaussian posterior variance
``pv`` (x-prediction with per-component weighting, summed over coefficients
and divided by their number). The Gaussian algebra is
:func:`~empirical.models.learned.gaussian_parts`; ``lam``, ``m`` and ``U``
are the stationary oracle's (its DCT matrices are built once per image size).

The U-Net (:class:`UNet`) is fully convolutional: 3x3 convolutions with
reflect padding, ``levels`` 2x2 average-pool downsamplings (channels
``channels x (1, 2, 2, ...)``), nearest-neighbour upsampling with skip
connections, one residual block per level and side. Every block is
conditioned on log-SNR (scale and shift of a per-pixel channel LayerNorm from
the Fourier embedding of :class:`~empirical.models.learned.FourierEmbedding`).
No statistic is taken over the image, so the body is translation-equivariant
for shifts by multiples of ``2^levels`` away from the borders; an image whose
sides are not multiples of ``2^levels`` is extended at the bottom and right
by edge replication and the output cropped. The skip and the ``sqrt(pv)``
scaling are DCT-domain filters (symmetric boundary), equivariant only as far
as their kernels are short.

Checkpoints are those of :mod:`empirical.models.learned` (same format, hash and
checks) with ``config["arch"] == "unet"``; :class:`UNetImageModel` is the
float64 numpy :class:`~empirical.models.Denoiser` of one image shape.
"""
from __future__ import annotations

import functools
import importlib.resources

import numpy as np
import torch
from torch import nn

from . import base
from .learned import FourierEmbedding, alpha_sigma, gaussian_parts, weighted_x_loss
from .oracles import _digest
from .stationary import StationaryImageOracle, check_image_shape

__all__ = ["UNet", "UNetImageModel", "SHIPPED_SPEC", "shipped_path", "load_unet", "UNET_INT_RANGES"]

ARCH = "unet"
SHIPPED_SPEC = "unet"
SHIPPED_FILE = "unet_photos.pt"
UNET_INT_RANGES = {"channels": (1, 512), "levels": (0, 6), "num_freqs": (1, 256)}
"""Accepted integer range of each U-Net size in a checkpoint's config (inclusive)."""
EMBED_DIM = 64
IN_CHANNELS = 6
OUT_CHANNELS = 3


def shipped_path():
    """Path of the shipped checkpoint (package data ``empirical/data/unet_photos.pt``)."""
    return importlib.resources.files("empirical") / "data" / SHIPPED_FILE


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
def _oracle(height: int, width: int) -> StationaryImageOracle:
    return StationaryImageOracle((height, width, 3))


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
        oracle = _oracle(height, width)
        as_t = lambda a: torch.tensor(np.array(a), dtype=dtype)  # noqa: E731
        return (as_t(_dct_matrix(height)), as_t(_dct_matrix(width)), as_t(oracle._colour),
                as_t(oracle.eigvals.reshape(height, width, 3)), as_t(oracle.params.mean))

    def parts(self, z: torch.Tensor, log_snr: torch.Tensor):
        """``(x_hat_w, pv, to_eigen, from_eigen, mean)`` for images ``z`` ``[n, H, W, 3]``: coefficient estimate,
        posterior variance, the oracle's transforms (as functions of ``[n, H, W, 3]`` tensors) and its mean."""
        n, height, width, _ = z.shape
        d_h, d_w, colour, lam, mean = self._transforms(height, width, z.dtype)

        def to_eigen(x):
            return torch.einsum("kh,nhwc,lw->nklc", d_h, x @ colour, d_w)

        def from_eigen(w):
            return torch.einsum("kh,nklc,lw->nhwc", d_h, w, d_w) @ colour.T

        alpha, sigma = alpha_sigma(log_snr)
        alpha, sigma = alpha[:, None, None, None], sigma[:, None, None, None]
        w = to_eigen(z - alpha * mean)
        marginal_var, gain, pv = gaussian_parts(lam, alpha, sigma)
        skip_w = gain * w
        inputs = torch.cat([from_eigen(w / torch.sqrt(marginal_var)), mean + from_eigen(skip_w)], dim=3)
        r = self._padded_body(inputs.permute(0, 3, 1, 2), log_snr).permute(0, 2, 3, 1)
        return skip_w + torch.sqrt(pv) * to_eigen(r), pv, to_eigen, from_eigen, mean

    def _padded_body(self, inputs: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """:meth:`body` of ``inputs`` extended at the bottom and right (edge replication) to sides that are multiples of
        ``2^levels`` and at least ``2^(levels+1)``; the output cropped back."""
        height, width = inputs.shape[2:]
        unit = 2 ** int(self.config["levels"])
        pad_h = max(-(-height // unit) * unit, 2 * unit) - height
        pad_w = max(-(-width // unit) * unit, 2 * unit) - width
        if pad_h or pad_w:
            inputs = torch.nn.functional.pad(inputs, (0, pad_w, 0, pad_h), mode="replicate")
        return self.body(inputs, log_snr)[:, :, :height, :width]

    def forward(self, z: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        x_hat_w, _, _, from_eigen, mean = self.parts(z, log_snr)
        return mean + from_eigen(x_hat_w)

    def loss(self, x: torch.Tensor, eps: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of the weighted x-prediction loss (module docstring) for images ``x`` ``[n, H, W, 3]``."""
        alpha, sigma = alpha_sigma(log_snr)
        z = alpha[:, None, None, None] * x + sigma[:, None, None, None] * eps
        x_hat_w, pv, to_eigen, _, mean = self.parts(z, log_snr)
        return weighted_x_loss(to_eigen(x - mean), x_hat_w, pv)


def parameter_count(config: dict) -> int:
    """Number of float32 weights of :class:`UNet` for a checked ``config`` (closed form, nothing built)."""
    f, ws = int(config["num_freqs"]), widths(config)
    conv = lambda a, b: 9 * a * b + b  # noqa: E731
    block = lambda a, b: EMBED_DIM * 2 * a + 2 * a + conv(a, b) + conv(b, b) + (a * b + b if a != b else 0)  # noqa: E731
    total = (2 * f + 1) * EMBED_DIM + EMBED_DIM + EMBED_DIM * EMBED_DIM + EMBED_DIM + conv(IN_CHANNELS, ws[0])
    total += sum(block(ws[max(i - 1, 0)], ws[i]) for i in range(len(ws)))
    total += sum(block(ws[i + 1] + ws[i], ws[i]) for i in range(len(ws) - 1))
    return total + conv(ws[0], OUT_CHANNELS)


def check_config(config: dict) -> dict:
    """``config`` if the U-Net keys are present, typed and in range (ValueError ``"<key>: ..."`` naming the first bad one)."""
    for key, (lo, hi) in UNET_INT_RANGES.items():
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{key}: must be an integer in {lo}..{hi}, got {value!r}")
    if config.get("prediction") != "x":
        raise ValueError(f"prediction: the unet predicts 'x', got {config.get('prediction')!r}")
    return config


class UNetImageModel:
    """numpy float64 :class:`empirical.models.Denoiser` of ``shape`` ``(H, W, 3)`` images around a :class:`UNet`.

    Flat rows ``[n, H*W*3]`` are images in C order. Coefficients (``to_eigen`` /
    ``from_eigen``, ``eigvals``) are the stationary oracle's of that shape; the
    reverse steps are those of :class:`~empirical.models.learned.LearnedDenoiser`
    (plug-in, and the oracle's posterior variance on the last step to ``x``).
    The network is rebuilt in float64 from the state dict, as a loaded checkpoint is.
    """

    def __init__(self, net: UNet, shape, fingerprint: str | None = None, final_variance: str = "gaussian"):
        from . import learned

        height, width, channels = check_image_shape(shape)
        if channels != 3:
            raise ValueError(f"shape: the unet models RGB images (3 channels), got {channels}")
        self.shape = (height, width, 3)
        if final_variance not in ("gaussian", "zero"):
            raise ValueError(f"final_variance: expected 'gaussian' or 'zero', got {final_variance!r}")
        self.net = learned._rebuild(net.config, net.state_dict(), torch.float64).eval()
        self.config = dict(net.config)
        self.oracle = _oracle(height, width)
        self.dim = self.oracle.dim
        self.eigvals = self.oracle.eigvals
        self.skip_eigvals = self.eigvals
        self.log_snr_min = float(self.config["log_snr_min"])
        self.log_snr_max = float(self.config["log_snr_max"])
        if fingerprint is None:
            fingerprint = learned.state_hash(net.config, {k: v.detach().cpu() for k, v in net.state_dict().items()})
        self.weights_fingerprint = fingerprint
        self.final_variance = final_variance

    @property
    def fingerprint(self) -> str:
        """sha256 of the class, the image shape and the checkpoint's hash."""
        return _digest("UNetImageModel", list(self.shape), self.weights_fingerprint)

    def to_eigen(self, rows):
        """The stationary oracle's coefficients (:meth:`StationaryImageOracle.to_eigen`)."""
        return self.oracle.to_eigen(rows)

    def from_eigen(self, rows):
        """Inverse of :meth:`to_eigen`."""
        return self.oracle.from_eigen(rows)

    @property
    def basis(self):
        return self.oracle.basis

    def denoise(self, z, log_snr) -> np.ndarray:
        """``E[x | z]`` estimated by the network, ``[n, dim]`` float64."""
        z = base.as_batch(z, self.dim)
        ls = base._log_snr_column(log_snr, z.shape[0], "log_snr")[:, 0]
        with torch.no_grad():
            out = self.net(torch.from_numpy(z.reshape((-1,) + self.shape)), torch.from_numpy(ls))
        return out.numpy().reshape(z.shape)

    def prior(self, log_snr: float) -> base.Gaussian:
        """``N(0, I)``."""
        return base.Gaussian(np.zeros((1, self.dim)), np.ones((1, self.dim)))

    def reverse_transition(self, z_t, log_snr_t, log_snr_s) -> base.Gaussian:
        """Plug-in ``q(z_s | z_t, x = x_hat(z_t))`` (see :meth:`LearnedDenoiser.reverse_transition`)."""
        from . import learned

        return learned.plugin_transition(self, z_t, log_snr_t, log_snr_s)


def load_unet(path, shape) -> UNetImageModel:
    """The :class:`UNetImageModel` of ``shape`` from a unet checkpoint ``path`` (checked as every checkpoint)."""
    from . import learned

    config, state, digest = learned.read_checkpoint(path)
    if config.get("arch") != ARCH:
        raise ValueError(f"model: {path} is not a unet checkpoint (an MLP of {config['dim']} dims)")
    return UNetImageModel(learned._rebuild(config, state), shape, digest)
