"""Image files in and out: PNG/JPEG (Pillow) or ``.npy``, pixels in [-1, 1], checked before any work.

::

    read_image(path)  ->  float64 [H, W, C] in [-1, 1], C = 3 (RGB) or 1 (gray);  v (0..255) -> 2 v / 255 - 1
    write_png(path, x) -> 8-bit PNG of x: round(255 (x + 1) / 2), values outside [-1, 1] clipped (the count returned)

Accepted: 8-bit grayscale (``L``) or RGB PNG and JPEG, and ``.npy`` arrays of
shape ``[H, W]`` or ``[H, W, 1 | 3]`` with values in [-1, 1]. Refused with a
one-line ``ValueError`` naming the flag and what to do: a corrupt or truncated
file, 16-bit, palette or alpha images (convert them first: nothing is
silently dropped or rescaled), images below :data:`MIN_SIDE` pixels on a side,
and images over :data:`gaussian.image_model.MAX_PIXELS` pixels (refused from
the header, before decoding, with the memory they would need). Outputs go
through a temporary file and a rename (:func:`empirical._cli.atomic_output`).
"""
from __future__ import annotations

import io

import numpy as np

from empirical import _cli

__all__ = ["read_image", "write_png", "to_uint8", "from_uint8", "IMAGE_SUFFIXES", "MIN_SIDE", "is_image_path"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MIN_SIDE = 8
"""The smallest height and width accepted (an image must hold at least one 8x8 block)."""


def is_image_path(path) -> bool:
    """Whether ``path`` names a PNG or JPEG file (by its suffix, case-insensitive)."""
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def from_uint8(pixels) -> np.ndarray:
    """8-bit values ``v`` as float64 ``2 v / 255 - 1`` in [-1, 1]."""
    return np.asarray(pixels, dtype=np.float64) * (2.0 / 255.0) - 1.0


def to_uint8(x) -> tuple:
    """``(uint8 image, number of values clipped)``: ``round(255 (x + 1) / 2)`` with ``x`` clipped to [-1, 1]."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("x: the image holds NaN or inf")
    clipped = int(np.count_nonzero((x < -1.0) | (x > 1.0)))
    return np.rint((np.clip(x, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8), clipped


def _check_shape(shape, flag: str, where: str) -> None:
    from gaussian import image_model

    height, width = int(shape[0]), int(shape[1])
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"{flag}: {where} is {height}x{width} pixels; images need at least {MIN_SIDE}x{MIN_SIDE}")
    try:
        image_model.check_size(height, width)
    except ValueError as err:
        raise ValueError(f"{flag}: {where}: {str(err).partition(': ')[2]}") from None


def _decode_pil(raw: bytes, flag: str, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            opened = Image.open(io.BytesIO(raw))
        with opened as im:
            fmt = im.format
            if fmt not in ("PNG", "JPEG"):
                raise ValueError(f"{flag}: {where} is a {fmt} image; expected PNG or JPEG")
            _check_shape((im.height, im.width), flag, where)
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                raise ValueError(f"{flag}: {where} is a {mode} (16-bit or wider) image; convert it to 8-bit "
                                 "grayscale or RGB first")
            if mode == "P":
                raise ValueError(f"{flag}: {where} is a palette image; convert it to 8-bit RGB first")
            if mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
                raise ValueError(f"{flag}: {where} has an alpha channel (transparency); remove it (or flatten it on "
                                 "a background) first")
            if mode == "1":
                raise ValueError(f"{flag}: {where} is a 1-bit image; convert it to 8-bit grayscale first")
            if mode not in ("L", "RGB"):
                raise ValueError(f"{flag}: {where} has colour mode {mode}; expected 8-bit grayscale (L) or RGB")
            im.load()
            pixels = np.asarray(im, dtype=np.uint8)
    except ValueError:
        raise
    except Image.DecompressionBombError as err:
        raise ValueError(f"{flag}: {where}: {err}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{flag}: {where} is not a readable PNG or JPEG ({reason})") from None
    return pixels if pixels.ndim == 3 else pixels[:, :, None]


def read_image(path, flag: str = "image") -> np.ndarray:
    """The image in ``path`` as float64 ``[H, W, C]`` in [-1, 1] (see the module docstring), or ValueError."""
    where = str(path)
    if is_image_path(path):
        raw = _cli.read_input(path, flag)
        return from_uint8(_decode_pil(raw, flag, where))
    if not where.lower().endswith(".npy"):
        raise ValueError(f"{flag}: {where}: expected a .png, .jpg, .jpeg or .npy file")
    x = _cli.load_npy(path, flag)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[2] not in (1, 3):
        raise ValueError(f"{flag}: {where} has shape {x.shape}; an image array is [H, W], [H, W, 1] or [H, W, 3]")
    _check_shape(x.shape, flag, where)
    if x.min() < -1.0 or x.max() > 1.0:
        raise ValueError(f"{flag}: {where} spans {x.min():.6g}..{x.max():.6g}, outside the pixel range [-1, 1] "
                         "(8-bit pixels v: 2 v / 255 - 1)")
    return np.asarray(x, dtype=np.float64)


def encode_png(x) -> tuple:
    """``(PNG bytes, values clipped)`` of an ``[H, W, C]`` image in [-1, 1] (8-bit, lossless)."""
    from PIL import Image

    pixels, clipped = to_uint8(x)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue(), clipped


def write_png(path, x) -> int:
    """Write ``x`` (``[H, W, C]`` in [-1, 1]) as an 8-bit PNG through a temporary file; return the values clipped."""
    data, clipped = encode_png(x)
    with _cli.atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return clipped
