"""``load(spec, source)``: the one place that knows every kind of model (oracles and learned checkpoints).

::

    "oracle" | "oracle:exact" | "oracle:plugin"  + source  ->  oracles.GaussianOracle.from_source
    "mixture-oracle"                             + source  ->  oracles.MixtureOracle.from_source
    "oracle:stationary"                          + shape   ->  stationary.StationaryImageOracle (any image size)
    "tiled:oracle" | "tiled:CHECKPOINT"          + shape   ->  tiled.TiledPatchOracle / TiledPatchModel (8x8 blocks)
    "unet" | "unet-rdp" | "unet:CHECKPOINT"      + shape   ->  unet.load_unet (a shipped U-Net / a trained one, any size)
    a checkpoint path (python -m empirical.train)           ->  learned.load_checkpoint (imports torch)

``learned`` imports only ``base`` and ``stationary`` (``unet`` imports ``learned``), so the learned models and this registry do
not import each other at module level.
"""
from __future__ import annotations

from .oracles import GaussianOracle, MixtureOracle
from .unet import SHIPPED as _SHIPPED_UNETS    # names only: the unet module imports torch when a model is built

__all__ = ["load"]


def load(spec, source=None, shape=None):
    """A denoiser from a spec: a checkpoint path (learned model), ``"oracle"``, ``"mixture-oracle"`` or
    ``"oracle:stationary"``.

    ``"oracle"`` / ``"mixture-oracle"`` need ``source`` (an ``empirical.data.Source``):
    the Gaussian oracle with its mean and covariance, or the exact mixture
    denoiser. ``"oracle:plugin"`` uses plug-in reverse steps. ``"oracle:stationary"``
    needs the image ``shape`` ``(height, width, channels)``, as do ``"tiled:oracle"`` and
    ``"tiled:CHECKPOINT"`` (an 8x8 patch model on every block of the image), ``"unet"`` and ``"unet-rdp"`` (the
    shipped U-Net checkpoints, isotropic and perfect-realism noise) and ``"unet:CHECKPOINT"``.
    """
    if isinstance(spec, str) and (spec in _SHIPPED_UNETS or spec.startswith("unet:")):
        if shape is None:
            raise ValueError(f"model: {spec!r} needs the image's shape (height, width, channels)")
        from .unet import load_unet, shipped_path

        return load_unet(spec[len("unet:"):] if spec.startswith("unet:") else shipped_path(spec), tuple(shape))
    if isinstance(spec, str) and spec.startswith("tiled:"):
        if shape is None:
            raise ValueError(f"model: {spec!r} needs the image's shape (height, width, channels)")
        from .tiled import tiled

        return tiled(spec, tuple(shape))
    if spec == "oracle:stationary":
        if shape is None:
            raise ValueError("model: 'oracle:stationary' needs the image's shape (height, width, channels)")
        from .stationary import StationaryImageOracle

        return StationaryImageOracle(tuple(shape))
    if isinstance(spec, str) and spec.split(":")[0] in ("oracle", "mixture-oracle"):
        if source is None:
            raise ValueError(f"model: {spec!r} needs a data source (--data)")
        kind, _, variant = spec.partition(":")
        if kind == "mixture-oracle":
            if variant:
                raise ValueError(f"model: 'mixture-oracle' takes no variant, got {spec!r}")
            return MixtureOracle.from_source(source)
        if variant not in ("", "exact", "plugin"):
            raise ValueError(f"model: expected 'oracle', 'oracle:exact', 'oracle:plugin' or 'oracle:stationary', "
                             f"got {spec!r}")
        return GaussianOracle.from_source(source, transitions=variant or "exact")
    from .learned import load_checkpoint

    return load_checkpoint(spec)
