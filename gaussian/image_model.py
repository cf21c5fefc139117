"""The stationary Gaussian image model: per-frequency variances, a colour basis, any image size.

An ``H x W x C`` image ``x`` (pixels in [-1, 1], ``C`` = 3 or 1) is modelled as
``N(mean, Sigma)`` with ``Sigma`` diagonal in a fixed orthonormal basis: the
colour basis ``U`` (3x3, orthogonal; ``[[1]]`` for grayscale) across channels,
then the orthonormal 2-D DCT-II over rows and columns::

    coefficients(x) = DCT2_ortho((x - mean) @ U)        (shape H x W x C, axes 0 and 1 transformed)
    variance of coefficient (k, l, c) = A_c (f0_c^2 + f^2)^(-P_c / 2),
    f = sqrt((k / 2H)^2 + (l / 2W)^2) cycles per pixel

A stationary process has DCT variances close to its power spectrum at the DCT
frequencies, so the same parameters serve every image size. The parameters
are fitted to photographs that ship with scikit-image and scikit-learn
(``scripts/make_image_model.py``; ``gaussian/data/image_model.json`` records
the sources and the fit), never to the Kodak evaluation set.

This module holds the formula (numpy only); :mod:`empirical.models.stationary`
builds the exact diffusion denoiser on it, ``gaussian.spectrum.image_model``
its spectrum for ``python -m gaussian.rd --spectrum image-model:HxWxC``.

>>> m = load("rgb"); m.channels, m.variances(4, 6).shape
(3, (4, 6, 3))
"""
from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

__all__ = ["ImageModel", "load", "MODEL_FILE", "MAX_PIXELS"]

MODEL_FILE = pathlib.Path(__file__).resolve().parent / "data" / "image_model.json"
MAX_PIXELS = 2**26
"""The most pixels (``H x W``) an image model is built for (64 Mpixel; a 3-channel float64 image is then 1.5 GiB)."""


@dataclasses.dataclass(frozen=True)
class ImageModel:
    """Parameters of the stationary model for ``channels`` colour channels.

    Attributes
    ----------
    kind : str
        ``"rgb"`` or ``"gray"``.
    mean : numpy.ndarray
        ``[C]`` mean pixel value per channel.
    colour_basis : numpy.ndarray
        ``[C, C]`` orthogonal; column ``c`` is colour component ``c``.
    amplitude, exponent, cutoff : numpy.ndarray
        ``[C]`` each: ``A_c``, ``P_c`` and ``f0_c`` (cycles per pixel) of the components.
    """

    kind: str
    mean: np.ndarray
    colour_basis: np.ndarray
    amplitude: np.ndarray
    exponent: np.ndarray
    cutoff: np.ndarray

    @property
    def channels(self) -> int:
        """Colour channels ``C``."""
        return int(self.mean.size)

    def variances(self, height: int, width: int) -> np.ndarray:
        """``[H, W, C]`` variances of the DCT coefficients of an ``H x W`` image (the covariance's eigenvalues)."""
        height, width = check_size(height, width)
        fy = np.arange(height) / (2.0 * height)
        fx = np.arange(width) / (2.0 * width)
        f2 = (fy[:, None] ** 2 + fx[None, :] ** 2)[:, :, None]
        return self.amplitude * (self.cutoff**2 + f2) ** (-0.5 * self.exponent)

    def to_dict(self) -> dict:
        """The parameters as JSON-ready lists (what a fingerprint hashes)."""
        return {"kind": self.kind, "mean": self.mean.tolist(), "colour_basis": self.colour_basis.tolist(),
                "amplitude": self.amplitude.tolist(), "exponent": self.exponent.tolist(),
                "cutoff": self.cutoff.tolist()}


def check_size(height, width) -> tuple:
    """``(height, width)`` as ints >= 1 with at most :data:`MAX_PIXELS` pixels, or ValueError naming the figure."""
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
    if int(height) * int(width) > MAX_PIXELS:
        raise ValueError(f"image: {height}x{width} is {int(height) * int(width)} pixels, over the {MAX_PIXELS} "
                         f"the image model allows (a 3-channel float64 copy needs "
                         f"{int(height) * int(width) * 24 / 2**30:.1f} GiB)")
    return int(height), int(width)


def load(kind: str = "rgb", path=None) -> ImageModel:
    """The bundled parameters for ``"rgb"`` (3 channels) or ``"gray"`` (1 channel)."""
    if kind not in ("rgb", "gray"):
        raise ValueError(f"kind: expected 'rgb' or 'gray', got {kind!r}")
    record = json.loads(pathlib.Path(MODEL_FILE if path is None else path).read_text())[kind]
    comps = record["components"]

    def arr(values):
        out = np.array(values, dtype=np.float64)
        out.flags.writeable = False
        return out

    return ImageModel(kind, arr(record["mean"]), arr(record["colour_basis"]),
                      arr([c["amplitude"] for c in comps]), arr([c["exponent"] for c in comps]),
                      arr([c["cutoff_cycles_per_pixel"] for c in comps]))
