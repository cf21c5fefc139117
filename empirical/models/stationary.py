"""The exact denoiser of the stationary Gaussian image model, for images of any size (``--model oracle:stationary``).

The model (:mod:`gaussian.image_model`, one home for its formula) is
``N(mean, Sigma)`` on ``H x W x C`` images with ``Sigma`` diagonal after the
orthonormal change of coordinates::

    to_eigen(x)   = DCT2_ortho(x @ U)            (C x C colour basis U, DCT over rows and columns)
    from_eigen(w) = IDCT2_ortho(w) @ U^T

Both are ``O(d log d)`` (``scipy.fft``), so no ``d x d`` matrix is ever built:
a 96x64 RGB image (18,432 dims) costs a few hundred microseconds per transform.
Every closed form -- posterior mean and variance, exact reverse transitions,
the prior, the exact flow map -- is that of :class:`~empirical.models.GaussianOracle`
(shared through :class:`~empirical.models.oracles.EigenGaussianMethods`), with
the eigenvalues ``model.variances(H, W)``. Flat rows ``[n, H*W*C]`` are images
in C order (row, column, channel), as ``numpy.reshape`` gives them.

``basis`` builds the dense matrix for small images only (tests compare it with
dense linear algebra); the codec uses ``to_eigen`` / ``from_eigen``.
"""
from __future__ import annotations

import numpy as np

from gaussian import image_model

from .oracles import EigenGaussianMethods, _digest, _readonly

__all__ = ["StationaryImageOracle", "DENSE_BASIS_MAX_DIM", "check_image_shape"]

DENSE_BASIS_MAX_DIM = 4096
"""``StationaryImageOracle.basis`` refuses images with more dims (a dense basis is for tests)."""


def check_image_shape(shape) -> tuple:
    """``(height, width, channels)`` of an image model's ``shape``, or ValueError: a 3-tuple, sides as
    :func:`gaussian.image_model.check_size` allows, 1 (gray) or 3 (RGB) channels."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ValueError(f"shape: expected (height, width, channels), got {shape!r}")
    height, width = image_model.check_size(shape[0], shape[1])
    channels = shape[2]
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ValueError(f"shape: the image model has 1 (gray) or 3 (RGB) channels, got {channels!r}")
    return height, width, int(channels)


class StationaryImageOracle(EigenGaussianMethods):
    """Exact denoiser of the stationary Gaussian model of ``height x width x channels`` photographs.

    Parameters
    ----------
    shape : tuple
        ``(height, width, channels)`` with ``channels`` 3 (RGB) or 1 (gray).
    params : gaussian.image_model.ImageModel or None
        The model's parameters; default the bundled ones for the channel count.
    transitions : {"exact", "plugin"}
        As for :class:`~empirical.models.GaussianOracle`.
    log_snr_min, log_snr_max : float
        The range the codec and decoders use.

    Examples
    --------
    >>> oracle = StationaryImageOracle((4, 6, 3))
    >>> x = np.zeros((1, oracle.dim))
    >>> bool(np.allclose(oracle.from_eigen(oracle.to_eigen(x + 0.5)), 0.5))
    True
    """

    def __init__(self, shape, params=None, transitions: str = "exact", log_snr_min: float = -10.0,
                 log_snr_max: float = 30.0):
        height, width, channels = check_image_shape(shape)
        if params is None:
            params = image_model.load("rgb" if channels == 3 else "gray")
        if params.channels != channels:
            raise ValueError(f"params: {params.kind} parameters have {params.channels} channels, the image {channels}")
        if transitions not in ("exact", "plugin"):
            raise ValueError(f"transitions: expected 'exact' or 'plugin', got {transitions!r}")
        if not (np.isfinite(log_snr_min) and np.isfinite(log_snr_max) and log_snr_min < log_snr_max):
            raise ValueError(f"log_snr_min, log_snr_max: need finite log_snr_min < log_snr_max, got "
                             f"{log_snr_min}, {log_snr_max}")
        self.shape = (height, width, int(channels))
        self.params = params
        self.transitions = transitions
        self.log_snr_min, self.log_snr_max = float(log_snr_min), float(log_snr_max)
        self.eigvals = _readonly(params.variances(height, width).reshape(-1))
        self.mean = _readonly(np.broadcast_to(params.mean, self.shape).reshape(-1))
        self._colour = np.ascontiguousarray(params.colour_basis, dtype=np.float64)

    @property
    def dim(self) -> int:
        """``height x width x channels``."""
        return int(self.eigvals.size)

    @property
    def fingerprint(self) -> str:
        """sha256 of the class, shape, parameters, transitions and range."""
        return _digest("StationaryImageOracle", list(self.shape), self.params.to_dict(), self.transitions,
                       [self.log_snr_min, self.log_snr_max])

    def _images(self, rows):
        rows = np.asarray(rows, dtype=np.float64)
        if rows.shape[-1] != self.dim:
            raise ValueError(f"z: expected rows of {self.dim} numbers, got shape {rows.shape}")
        return rows.reshape(rows.shape[:-1] + self.shape)

    def to_eigen(self, rows) -> np.ndarray:
        """Coefficients ``DCT2_ortho(x @ U)`` of rows ``[n, dim]`` (or one ``[dim]`` vector), same shape."""
        from scipy.fft import dctn

        images = self._images(rows)
        lead = images.ndim - 3
        out = dctn(images @ self._colour, type=2, axes=(lead, lead + 1), norm="ortho")
        return out.reshape(np.shape(rows))

    def from_eigen(self, rows) -> np.ndarray:
        """Pixels ``IDCT2_ortho(w) @ U^T`` of coefficient rows (inverse of :meth:`to_eigen`)."""
        from scipy.fft import idctn

        images = self._images(rows)
        lead = images.ndim - 3
        out = idctn(images, type=2, axes=(lead, lead + 1), norm="ortho") @ self._colour.T
        return out.reshape(np.shape(rows))

    @property
    def basis(self) -> np.ndarray:
        """The dense ``[dim, dim]`` orthogonal basis (column ``i`` is eigenvector ``i``), for small images only."""
        if self.dim > DENSE_BASIS_MAX_DIM:
            raise ValueError(f"basis: a dense basis of {self.dim} dims is not built (at most {DENSE_BASIS_MAX_DIM}); "
                             "use to_eigen / from_eigen")
        return self.from_eigen(np.eye(self.dim)).T
