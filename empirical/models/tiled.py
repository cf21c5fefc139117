"""An 8x8 patch model tiled over a whole image: the block-transform baseline (``--model tiled:oracle`` / ``tiled:PATH``).

The image ``H x W x C`` (``H``, ``W`` multiples of 8) is cut into ``H/8 x W/8``
non-overlapping 8x8 blocks per colour channel, and the model treats the
``B = (H/8)(W/8) C`` blocks as independent draws of one 64-dim grayscale patch
model (every channel of an RGB image alike: colour correlations are ignored).
A block of a channel is flattened in row-major order, as ``empirical.data``
flattens its patches. Flat image rows ``[n, H*W*C]`` (C order: row, column,
channel) map to block rows ``[n*B, 64]`` by :meth:`TiledPatchModel.to_blocks`.

Coefficients (``to_eigen``) are the patch model's coefficients of each block,
block after block: ``[n, B*64]``. For the Gaussian patch oracle this is the
eigenbasis of a block-diagonal covariance, so :class:`TiledPatchOracle` is an
exact Gaussian oracle (every closed form of
:class:`~empirical.models.oracles.EigenGaussianMethods`, including the closed
forms given ``x`` that ``python -m empirical.images`` checks). For any other
64-dim patch denoiser (a learned ``--data patches`` checkpoint),
:class:`TiledPatchModel` runs it on all blocks at once. The blocks are coded
jointly (one stream, one chunk partition per step), but the model sees no
pixel outside a block: the reconstructions show block edges -- the baseline
that the stationary model (:mod:`empirical.models.stationary`) improves on.
"""
from __future__ import annotations

import numpy as np

from .base import Gaussian, as_batch, from_coefficients, to_coefficients
from .oracles import EigenGaussianMethods, GaussianOracle, _digest, _readonly
from .stationary import check_image_shape

__all__ = ["TiledPatchModel", "TiledPatchOracle", "tiled", "BLOCK", "PATCH_DIM"]

BLOCK = 8
PATCH_DIM = BLOCK * BLOCK


def _check_shape(shape):
    height, width, channels = check_image_shape(shape)
    if height % BLOCK or width % BLOCK:
        raise ValueError(f"model: a tiled 8x8 patch model needs height and width divisible by 8, got "
                         f"{height}x{width}")
    return height, width, channels


def _check_patch_model(patch_model):
    if getattr(patch_model, "dim", None) != PATCH_DIM:
        raise ValueError(f"model: a tiled patch model needs a {PATCH_DIM}-dim (8x8 grayscale) patch model, got "
                         f"{getattr(patch_model, 'dim', None)} dims")


class _Blocks:
    """Rows of an ``H x W x C`` image <-> rows of its 8x8 blocks (shared by both tiled models)."""

    def _init_blocks(self, shape):
        self.shape = _check_shape(shape)
        height, width, channels = self.shape
        self.num_blocks = (height // BLOCK) * (width // BLOCK) * channels

    @property
    def dim(self) -> int:
        """``height x width x channels``."""
        return int(np.prod(self.shape))

    def to_blocks(self, rows) -> np.ndarray:
        """Image rows ``[n, dim]`` as block rows ``[n * num_blocks, 64]`` (block order: row, column, channel)."""
        rows = np.asarray(rows, dtype=np.float64)
        height, width, channels = self.shape
        n = rows.reshape(-1, self.dim).shape[0]
        img = rows.reshape(n, height // BLOCK, BLOCK, width // BLOCK, BLOCK, channels)
        return img.transpose(0, 1, 3, 5, 2, 4).reshape(n * self.num_blocks, PATCH_DIM)

    def from_blocks(self, blocks) -> np.ndarray:
        """Inverse of :meth:`to_blocks`: block rows back to image rows ``[n, dim]``."""
        height, width, channels = self.shape
        blocks = np.asarray(blocks, dtype=np.float64)
        n = blocks.shape[0] // self.num_blocks
        img = blocks.reshape(n, height // BLOCK, width // BLOCK, channels, BLOCK, BLOCK)
        return img.transpose(0, 1, 4, 2, 5, 3).reshape(n, self.dim)

    def _per_block(self, values, n: int) -> np.ndarray:
        """A per-row scalar or ``[n]`` vector repeated for each row's blocks (``[n * num_blocks]``)."""
        return np.repeat(np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)), self.num_blocks)

    def _image_rows(self, block_rows, n: int) -> np.ndarray:
        """Block rows ``[n * B, 64]`` (or broadcastable ``[n * B, 1]``) as coefficient rows ``[n, B * 64]``."""
        block_rows = np.broadcast_to(np.asarray(block_rows, dtype=np.float64), (n * self.num_blocks, PATCH_DIM))
        return block_rows.reshape(n, self.num_blocks * PATCH_DIM)

    def to_eigen(self, rows) -> np.ndarray:
        """The patch model's coefficients of every block, ``[n, num_blocks * 64]`` (or one vector)."""
        flat = np.ndim(rows) == 1
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.dim)
        out = self._image_rows(to_coefficients(self.patch_model, self.to_blocks(rows)), rows.shape[0])
        return out[0] if flat else out

    def from_eigen(self, rows) -> np.ndarray:
        """Inverse of :meth:`to_eigen`."""
        flat = np.ndim(rows) == 1
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.dim)
        out = self.from_blocks(from_coefficients(self.patch_model, rows.reshape(-1, PATCH_DIM)))
        return out[0] if flat else out

    @property
    def basis(self):
        raise ValueError("basis: a tiled model has no dense basis; use to_eigen / from_eigen")


class TiledPatchOracle(_Blocks, EigenGaussianMethods):
    """The Gaussian patch oracle on every 8x8 block: an exact oracle of a block-diagonal Gaussian image model.

    >>> from empirical import data
    >>> oracle = TiledPatchOracle((16, 8, 3), GaussianOracle.from_source(data.patches()))
    >>> oracle.dim, oracle.num_blocks
    (384, 6)
    """

    def __init__(self, shape, patch_oracle: GaussianOracle):
        _check_patch_model(patch_oracle)
        if not isinstance(patch_oracle, GaussianOracle):
            raise ValueError("model: TiledPatchOracle needs a GaussianOracle of 8x8 patches")
        self._init_blocks(shape)
        self.patch_model = patch_oracle
        self.transitions = patch_oracle.transitions
        self.log_snr_min, self.log_snr_max = patch_oracle.log_snr_min, patch_oracle.log_snr_max
        self.eigvals = _readonly(np.tile(patch_oracle.eigvals, self.num_blocks))
        self.mean = _readonly(self.from_blocks(np.tile(patch_oracle.mean, (self.num_blocks, 1)))[0])

    @property
    def fingerprint(self) -> str:
        """sha256 of the class, the image shape and the patch oracle's fingerprint."""
        return _digest("TiledPatchOracle", list(self.shape), self.patch_model.fingerprint)


class TiledPatchModel(_Blocks):
    """Any 64-dim patch denoiser (e.g. a learned ``--data patches`` checkpoint) run on every 8x8 block."""

    def __init__(self, shape, patch_model):
        _check_patch_model(patch_model)
        self._init_blocks(shape)
        self.patch_model = patch_model
        self.log_snr_min, self.log_snr_max = patch_model.log_snr_min, patch_model.log_snr_max

    @property
    def fingerprint(self) -> str:
        """sha256 of the class, the image shape and the patch model's fingerprint."""
        return _digest("TiledPatchModel", list(self.shape), self.patch_model.fingerprint)

    def denoise(self, z, log_snr) -> np.ndarray:
        """The patch model's ``E[x | z]`` of every block."""
        z = as_batch(z, self.dim)
        out = self.patch_model.denoise(self.to_blocks(z), self._per_block(log_snr, z.shape[0]))
        return self.from_blocks(out)

    def reverse_transition(self, z_t, log_snr_t, log_snr_s) -> Gaussian:
        """The patch model's ``p(z_s | z_t)`` of every block (variances along the tiled coefficients)."""
        z_t = as_batch(z_t, self.dim, "z_t")
        n = z_t.shape[0]
        step = self.patch_model.reverse_transition(self.to_blocks(z_t), self._per_block(log_snr_t, n),
                                                   self._per_block(log_snr_s, n))
        return Gaussian(self.from_blocks(step.mean), self._image_rows(step.var, n))

    def prior(self, log_snr: float) -> Gaussian:
        """The patch model's prior on every block."""
        block = self.patch_model.prior(log_snr)
        mean = self.from_blocks(np.tile(np.asarray(block.mean, dtype=np.float64).reshape(1, PATCH_DIM),
                                        (self.num_blocks, 1)))
        var = np.tile(np.broadcast_to(np.asarray(block.var, dtype=np.float64), (1, PATCH_DIM)), (self.num_blocks, 1))
        return Gaussian(mean, var.reshape(1, -1))


def tiled(spec: str, shape):
    """The tiled model of a ``tiled:oracle`` or ``tiled:PATH`` spec for an image of ``shape`` ``(H, W, C)``.

    ``tiled:oracle`` tiles the Gaussian oracle of the ``patches`` train split (exact transitions);
    ``tiled:PATH`` a 64-dim patch checkpoint of ``python -m empirical.train --data patches``.
    """
    kind, _, inner = spec.partition(":")
    if kind != "tiled" or not inner:
        raise ValueError(f"model: expected 'tiled:oracle' or 'tiled:CHECKPOINT.pt', got {spec!r}")
    _check_shape(shape)
    if inner == "oracle":
        from empirical import data

        return TiledPatchOracle(shape, GaussianOracle.from_source(data.patches()))
    from .learned import load_checkpoint

    return TiledPatchModel(shape, load_checkpoint(inner))
