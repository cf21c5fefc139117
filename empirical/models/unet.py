"""The learned U-Net as a denoiser of ``H x W x 3`` photographs (``--model unet`` / ``unet:CHECKPOINT.pt``).

The network (:class:`empirical.models.learned.UNet`: a small convolutional
U-Net around the stationary oracle, which serves any image size) is trained by
``python -m empirical.train --data photos --model unet``; its checkpoints are
those of :mod:`empirical.models.learned` (same format, hash and checks) with
``config["arch"] == "unet"``. :class:`UNetImageModel` is the float64 numpy
:class:`~empirical.models.Denoiser` of one image shape; :func:`load_unet` reads a
checkpoint for a shape (torch is imported when a model is built). Two checkpoints ship as package data, each
recorded with its config, sha256 and training command in a ``.json`` beside it: ``--model unet``
(``empirical/data/unet_photos.pt``, the isotropic noise schedule) and ``--model unet-rdp``
(``empirical/data/unet_rdp_photos.pt``, trained on the perfect-realism path, ``--schedule rdp``);
:data:`SHIPPED` maps each spec to its file and :func:`shipped_path` finds it.
"""
from __future__ import annotations

import importlib.resources

import numpy as np

from . import base
from .oracles import _digest
from .stationary import check_image_shape

__all__ = ["UNetImageModel", "SHIPPED", "SHIPPED_SPEC", "shipped_path", "load_unet"]

ARCH = "unet"
SHIPPED_SPEC = "unet"
SHIPPED = {SHIPPED_SPEC: "unet_photos.pt", "unet-rdp": "unet_rdp_photos.pt"}
"""The shipped checkpoints by model spec (package data in ``empirical/data``)."""


def shipped_path(spec: str = SHIPPED_SPEC):
    """Path of the checkpoint shipped for ``spec`` (``"unet"``: ``empirical/data/unet_photos.pt``; ``"unet-rdp"``:
    ``empirical/data/unet_rdp_photos.pt``)."""
    if spec not in SHIPPED:
        raise ValueError(f"model: no U-Net is shipped as {spec!r}; shipped: {', '.join(map(repr, SHIPPED))}")
    return importlib.resources.files("empirical") / "data" / SHIPPED[spec]


class UNetImageModel:
    """numpy float64 :class:`empirical.models.Denoiser` of ``shape`` ``(H, W, 3)`` images around a :class:`~empirical.models.learned.UNet`.

    Flat rows ``[n, H*W*3]`` are images in C order. Coefficients (``to_eigen`` /
    ``from_eigen``, ``eigvals``) are the stationary oracle's of that shape; the
    reverse steps are those of :class:`~empirical.models.learned.LearnedDenoiser`
    (plug-in, and the oracle's posterior variance on the last step to ``x``).
    The network is rebuilt from the state dict with its convolutional body in
    ``body_dtype`` (float32 by default, the dtype it was trained in: eight times
    faster than float64 on a CPU, and its output differs from a float64 body's by
    ~1e-6 of the residual); the Gaussian skip, the oracle's transforms and the
    output are float64.
    """

    def __init__(self, net, shape, fingerprint: str | None = None, final_variance: str = "gaussian",
                 body_dtype: str = "float32"):
        import torch

        from . import learned

        height, width, channels = check_image_shape(shape)
        if channels != 3:
            raise ValueError(f"shape: the unet models RGB images (3 channels), got {channels}")
        self.shape = (height, width, 3)
        if final_variance not in ("gaussian", "zero"):
            raise ValueError(f"final_variance: expected 'gaussian' or 'zero', got {final_variance!r}")
        if body_dtype not in ("float32", "float64"):
            raise ValueError(f"body_dtype: expected 'float32' or 'float64', got {body_dtype!r}")
        self.net = learned._rebuild(net.config, net.state_dict(), getattr(torch, body_dtype)).eval()
        self.config = dict(net.config)
        self.oracle = learned.stationary_oracle(height, width)
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

    @property
    def schedule(self) -> str:
        """``"rdp"`` for a network trained on the perfect-realism path (``--schedule rdp`` streams only), else
        ``"isotropic"``."""
        from . import learned

        return learned.unet_schedule(self.config)

    def _require(self, schedule: str) -> None:
        if self.schedule != schedule:
            other = "rdp" if schedule == "isotropic" else "isotropic"
            raise ValueError(f"schedule: this unet was trained on the {other} schedule; it codes --schedule {other} "
                             f"streams only")

    def denoise(self, z, log_snr) -> np.ndarray:
        """``E[x | z]`` estimated by the network, ``[n, dim]`` float64."""
        import torch

        self._require("isotropic")
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

    # ---- an rdp network: per-coefficient log-SNRs on the perfect-realism path, the network conditioned on tau ----

    def path_log_snrs(self, tau) -> np.ndarray:
        """``[n, dim]`` per-coefficient log-SNRs of the path at ``tau`` (``gaussian.curves.rdp_path_log_snrs``)."""
        from gaussian import curves

        return curves.rdp_path_log_snrs(self.eigvals, tau)

    def path_log_snr_slope(self, tau) -> np.ndarray:
        """``[n, dim]`` ``d log_snr_i / d tau`` on the path (``gaussian.curves.rdp_path_log_snr_slope``)."""
        from gaussian import curves

        return curves.rdp_path_log_snr_slope(self.eigvals, tau)

    def path_tau(self, log_snrs) -> float:
        """The path's ``tau`` at per-coefficient ``log_snrs`` (``[dim]``, or ``[n, dim]`` with equal rows); ValueError
        naming log_snrs if they are not on this model's path (their components' ``tau`` differ by more than 1e-9)."""
        from gaussian import curves

        self._require("rdp")
        ls = self.oracle._per_component(log_snrs, 1, "log_snrs") if np.ndim(log_snrs) == 1 else np.asarray(log_snrs)
        if ls.ndim != 2 or ls.shape[1] != self.dim or not (ls == ls[:1]).all():
            raise ValueError(f"log_snrs: expected one row of {self.dim} per-coefficient log-SNRs for all latents")
        taus = curves.rdp_path_tau(self.eigvals, ls[0])
        tau = float(np.mean(taus))
        if np.ptp(taus) > 1e-9 * max(1.0, abs(tau)):
            raise ValueError(f"log_snrs: not on the perfect-realism path of this unet's image shape (the components "
                             f"give tau from {taus.min():.6g} to {taus.max():.6g})")
        return tau

    def denoise_per_component(self, z, log_snrs) -> np.ndarray:
        """``E[x | z]`` estimated by the network at per-coefficient ``log_snrs`` on its path (``[n, dim]`` float64)."""
        import torch

        z = base.as_batch(z, self.dim)
        tau = np.full(z.shape[0], self.path_tau(log_snrs))
        with torch.no_grad():
            out = self.net(torch.from_numpy(z.reshape((-1,) + self.shape)), torch.from_numpy(tau))
        return out.numpy().reshape(z.shape)

    def prior_per_component(self, log_snrs) -> base.Gaussian:
        """The stationary oracle's exact marginal at ``log_snrs`` (the network's Gaussian skip; the chain's first step)."""
        self._require("rdp")
        return self.oracle.prior_per_component(log_snrs)

    def reverse_transition_per_component(self, z_t, log_snrs_t, log_snrs_s) -> base.Gaussian:
        """Plug-in ``q(z_s | z_t, x = x_hat(z_t))`` per coefficient (eigenbasis variances); to ``x`` (``log_snrs_s``
        all ``+inf``) with variance ``pv = lam / (1 + snr_t lam)`` (``final_variance="gaussian"``) or 0."""
        z_t = base.as_batch(z_t, self.dim, "z_t")
        n = z_t.shape[0]
        x_hat = self.denoise_per_component(z_t, log_snrs_t)
        ls_t = self.oracle._per_component(log_snrs_t, n, "log_snrs_t")
        ls_s = self.oracle._per_component(log_snrs_s, n, "log_snrs_s", allow_inf=True)
        mean, var = base.q_reverse(self.to_eigen(x_hat), self.to_eigen(z_t), ls_t, ls_s)
        if self.final_variance == "gaussian":
            from gaussian import schedule

            pv = self.eigvals / (1.0 + schedule.snr_from_log_snr(ls_t) * self.eigvals)
            var = np.where(np.isinf(ls_s), pv, var)
        return base.Gaussian(self.from_eigen(mean), var)


def load_unet(path, shape) -> UNetImageModel:
    """The :class:`UNetImageModel` of ``shape`` from a unet checkpoint ``path`` (checked as every checkpoint)."""
    from . import learned

    config, state, digest = learned.read_checkpoint(path)
    if config.get("arch") != ARCH:
        raise ValueError(f"model: {path} is not a unet checkpoint (an MLP of {config['dim']} dims)")
    return UNetImageModel(learned._rebuild(config, state), shape, digest)
