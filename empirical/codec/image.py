"""Whole images through the DiffC codec: one stream per image, every step codes all pixels jointly.

::

    encode_image(photo.png | [H, W, C] array in [-1, 1], "oracle:stationary", bpp=0.5) -> bytes
    decode_image(bytes, "oracle:stationary", method="flow", prefix_steps=None)         -> [H, W, C] in [-1, 1]

The model is a spec or a denoiser. ``"oracle:stationary"`` (the default) is
:class:`empirical.models.StationaryImageOracle` of the image's own size;
``"unet"`` the shipped learned U-Net (:mod:`empirical.models.unet`; ``"unet-rdp"`` the one shipped for
``--schedule rdp``; ``"unet:CHECKPOINT.pt"`` one trained with ``python -m empirical.train --data photos --model
unet``), any size;
``"tiled:oracle"`` and ``"tiled:CHECKPOINT.pt"`` an 8x8 patch model on every
block (:mod:`empirical.models.tiled`, a block-transform baseline; height and
width multiples of 8). The decoder makes the model again from the stream
header's shape (the header records the spec). A denoiser object must have
``dim = H W C``.

``bpp`` is in real bits per pixel of the bytes returned, header included: the
encoder codes the longest prefix of the chain whose stream fits
``bpp x H x W`` bits (``chain.encode_detailed(max_bits_total=...)``).
``stop_step`` codes a fixed number of steps instead. The default grid
(:func:`image_grid`) has 96 points, uniform in log-SNR from the model's
``log_snr_min`` to where the stationary model's ideal rate
``I(X; Z) = sum 1/2 log2(1 + snr lam)`` reaches :data:`GRID_RATE_FACTOR` x
``bpp`` bits per pixel (at least :data:`GRID_MIN_BITS_PER_PIXEL`): real bits
exceed the ideal ones by the RCC overhead (about 1.5x at the default
settings) and photographs vary, so the grid reaches past the target.

Why 96 points: one coefficient of one step may carry at most the RCC chunk
budget (8 bits by default; a larger one is tried automatically, at a cost
exponential in it). Photographs hold coefficients far out in the model's
tails (saturated colours), whose KL concentrates in a few steps: over the 24
Kodak images at 1/8 scale up to about 2 bits per pixel, the largest KL of one
coefficient in one step is 22.1, 11.3 and 7.6 bits with 32, 64 and 96 points
(ideal chain, seed 0). With 96 every image fits the default budget; the cost
is about one header byte per coded step (the segment lengths).
"""
from __future__ import annotations

import math

import numpy as np

from gaussian import image_model
from empirical.models.unet import SHIPPED as SHIPPED_UNETS

from . import chain

__all__ = ["encode_image", "encode_image_detailed", "decode_image", "image_grid", "grid_to_rate", "image_model_for",
           "is_image_spec", "STATIONARY_SPEC", "GRID_RATE_FACTOR", "GRID_MIN_BITS_PER_PIXEL", "DEFAULT_NUM_STEPS"]

STATIONARY_SPEC = "oracle:stationary"
GRID_RATE_FACTOR = 2.0
GRID_MIN_BITS_PER_PIXEL = 3.0
DEFAULT_NUM_STEPS = 96
#: ``--schedule rdp`` grids for images are uniform in the cube root of the rate (``schedules.RdpGrid``): a grid
#: uniform in rate puts tens of bits on one coefficient of a photograph in its first steps.
RDP_SPACING = "cbrt"


FIXED_IMAGE_SPECS = (STATIONARY_SPEC, *SHIPPED_UNETS, "tiled:oracle")
"""Image model specs that name one model (the header records them as they are)."""
CHECKPOINT_KINDS = ("tiled", "unet")
"""``KIND:CHECKPOINT.pt`` specs: the header records ``KIND:*`` (the path is the user's business; the model hash in
the header identifies the checkpoint)."""


def is_image_spec(spec) -> bool:
    """Whether ``spec`` names a model of whole images: ``oracle:stationary``, ``tiled:oracle``, ``tiled:PATH``,
    ``unet`` / ``unet-rdp`` (the shipped U-Nets) or ``unet:PATH``."""
    return isinstance(spec, str) and (spec in FIXED_IMAGE_SPECS or spec.partition(":")[0] in CHECKPOINT_KINDS)


def recorded_spec(spec: str) -> str:
    """The spec an image stream's header records for the model spec ``spec`` (``KIND:*`` for a checkpoint)."""
    kind = spec.partition(":")[0]
    return spec if spec in FIXED_IMAGE_SPECS or kind not in CHECKPOINT_KINDS else f"{kind}:*"


def spec_for_user(recorded: str) -> str:
    """How to name the ``--model`` of a stream whose header records ``recorded``."""
    kind, _, rest = recorded.partition(":")
    return f"{kind}:CHECKPOINT.pt (the checkpoint it was coded with)" if rest == "*" else recorded


def spec_matches(given: str, recorded: str) -> bool:
    """Whether ``--model given`` can decode a stream whose header records ``recorded``."""
    return recorded_spec(given) == recorded


def image_model_for(model, shape):
    """The denoiser for an image of ``shape`` ``(H, W, C)``: ``model`` itself, or the one its spec names."""
    from empirical import models

    if isinstance(model, str):
        if not is_image_spec(model):
            raise ValueError(f"model: images are coded with {STATIONARY_SPEC!r}, 'unet', 'unet-rdp', 'unet:CHECKPOINT.pt', "
                             f"'tiled:oracle', 'tiled:CHECKPOINT.pt' or a denoiser object of the image's size, got {model!r}")
        return models.load(model, shape=shape)
    dim = int(np.prod(shape))
    if getattr(model, "dim", None) != dim:
        raise ValueError(f"model: has {getattr(model, 'dim', None)} dims, the {'x'.join(map(str, shape))} image {dim}")
    return model


def _as_image(image) -> np.ndarray:
    from empirical import image_files

    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        return image_files.read_image(image, "image")
    if np.iscomplexobj(image):
        raise ValueError("image: expected real numbers, got a complex array")
    try:
        x = np.asarray(image, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("image: expected an array of numbers or a file name") from None
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[2] not in (1, 3):
        raise ValueError(f"image: expected shape [H, W], [H, W, 1] or [H, W, 3], got {np.shape(image)}")
    if min(x.shape[:2]) < image_files.MIN_SIDE:
        raise ValueError(f"image: {x.shape[0]}x{x.shape[1]} pixels; images need at least "
                         f"{image_files.MIN_SIDE}x{image_files.MIN_SIDE}")
    image_model.check_size(x.shape[0], x.shape[1])
    if not np.isfinite(x).all():
        raise ValueError("image: entries must be finite (got NaN or inf)")
    if x.min() < -1.0 or x.max() > 1.0:
        raise ValueError(f"image: values span {x.min():.6g}..{x.max():.6g}, outside the pixel range [-1, 1] "
                         "(8-bit pixels v: 2 v / 255 - 1)")
    return x


def image_grid(model, shape, bpp=None, num_steps: int = DEFAULT_NUM_STEPS) -> chain.Grid:
    """The default grid for an image of ``shape`` (see the module docstring); capped at ``model.log_snr_max - 2``."""
    target = max(GRID_MIN_BITS_PER_PIXEL, GRID_RATE_FACTOR * (0.0 if bpp is None else float(bpp)))
    return grid_to_rate(model, shape, target, num_steps)


def grid_to_rate(model, shape, rate_bits_per_pixel, num_steps: int) -> chain.Grid:
    """``num_steps`` points uniform in log-SNR from ``model.log_snr_min`` to where the stationary model's population
    rate ``I(X; Z)`` reaches ``rate_bits_per_pixel``, capped at ``model.log_snr_max - 2``."""
    pixels = int(shape[0]) * int(shape[1])
    eigvals = getattr(model, "eigvals", None)
    if eigvals is None:
        eigvals = image_model.load("rgb" if shape[2] == 3 else "gray").variances(shape[0], shape[1]).ravel()
    from empirical.rcc.workload import log_snr_for_rate

    stop = min(log_snr_for_rate(eigvals, rate_bits_per_pixel * pixels), model.log_snr_max - 2.0)
    return chain.default_grid(model, num_steps, model.log_snr_min, stop)


def encode_image_detailed(image, model=STATIONARY_SPEC, *, bpp=None, stop_step=None, num_steps=DEFAULT_NUM_STEPS,
                          log_snr_stop=None, seed: int = 0, **options) -> tuple:
    """``(chain.EncodeResult, model, x)`` of :func:`encode_image` (the accounting, the denoiser, the pixels coded)."""
    x = _as_image(image)
    denoiser = image_model_for(model, x.shape)
    if (bpp is None) == (stop_step is None):
        raise ValueError("bpp: give exactly one of bpp and stop_step")
    if bpp is not None and not (isinstance(bpp, (int, float, np.floating)) and np.isfinite(bpp) and bpp > 0):
        raise ValueError(f"bpp: must be a finite number > 0, got {bpp!r}")
    grid = image_grid(denoiser, x.shape, bpp, num_steps)
    stop = grid.log_snr_stop if log_snr_stop is None else log_snr_stop
    schedule = options.pop("schedule", "isotropic")
    if schedule == "rdp":
        grid_options = {"schedule": "rdp", "rate_stop_bits_per_dim": rdp_rate_stop(denoiser, stop, model),
                        "rdp_spacing": RDP_SPACING}
    else:
        grid_options = {"schedule": schedule, "log_snr_start": grid.log_snr_start, "log_snr_stop": stop}
    pixels = x.shape[0] * x.shape[1]
    spec = recorded_spec(model) if isinstance(model, str) else options.pop("model_spec", "")
    try:
        result = chain.encode_detailed(
            x, denoiser, num_steps=num_steps, stop_step=stop_step,
            max_bits_total=None if bpp is None else math.floor(float(bpp) * pixels), seed=seed,
            model_spec=f"model={spec}" if spec else "", **grid_options, **options)
    except ValueError as err:
        if not str(err).startswith("max_bits_total:"):
            raise
        raise ValueError(f"bpp: {bpp:g} bits per pixel ({math.floor(float(bpp) * pixels)} bits for "
                         f"{x.shape[0]}x{x.shape[1]} pixels) do not hold the header and the first step: "
                         f"{str(err).rpartition('take ')[2]}") from None
    return result, denoiser, x


def rdp_rate_stop(model, log_snr_stop, spec="") -> float:
    """The ``rdp`` image grid's last rate (bits per dimension): the model's population rate ``I(X; Z)`` at the
    isotropic grid's stop ``log_snr_stop``, so that both schedules end at the same expected chain rate (the rdp
    grid, :data:`RDP_SPACING`, then starts at that rate over the cube of the number of steps:
    :func:`empirical.codec.default_rdp_grid`)."""
    from .schedules import refuse_rdp

    refuse_rdp(model, spec)
    return chain.population_rate_bits_per_dim(model, log_snr_stop)


def check_schedule(spec: str, schedule: str) -> None:
    """ValueError naming schedule unless the image model ``spec`` codes ``schedule`` streams: ``rdp`` needs an
    exact oracle or a unet trained with ``--schedule rdp``, which codes ``rdp`` streams only (checked on a small
    image; a checkpoint is read)."""
    from .schedules import refuse_rdp

    model = image_model_for(spec, (8, 8, 3))
    if schedule == "rdp":
        refuse_rdp(model, spec)
    elif getattr(model, "schedule", "isotropic") == "rdp":
        raise ValueError(f"schedule: {spec} was trained on the rdp schedule; it codes --schedule rdp streams only")


def encode_image(image, model=STATIONARY_SPEC, *, bpp=None, stop_step=None, **options) -> bytes:
    """One image (a PNG/JPEG/.npy path, or an ``[H, W(, C)]`` array in [-1, 1]) as a DiffC stream.

    Exactly one of ``bpp`` (real bits per pixel of the returned bytes, header included) and ``stop_step``.
    ``options`` go to :func:`empirical.codec.encode_detailed` (``seed``, ``budget_bits``, ``workers``, ...).

    >>> x = np.zeros((8, 8, 3))
    >>> data = encode_image(x, stop_step=2, num_steps=8)
    >>> decode_image(data, method="mean").shape
    (8, 8, 3)
    """
    return encode_image_detailed(image, model, bpp=bpp, stop_step=stop_step, **options)[0].data


def decode_image(data, model=STATIONARY_SPEC, method: str = "flow", *, prefix_steps=None, **options) -> np.ndarray:
    """The ``[H, W, C]`` reconstruction (float64, not clipped) of an image stream or a prefix of its steps.

    ``model`` is the spec or denoiser the encoder used (a spec's model is rebuilt from the header's shape);
    ``options`` go to :func:`empirical.codec.reconstruct` (``decoder_steps``, ``rng``, ...).
    """
    header = chain.read_header(data)
    shape = tuple(header.shape)
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise ValueError(f"data: the stream holds a sample of shape {shape}, not an [H, W, 1 or 3] image")
    denoiser = image_model_for(model, shape)
    latent = chain.decode_latent(data, denoiser, prefix_steps)
    return chain.reconstruct(latent, denoiser, method, **options)
