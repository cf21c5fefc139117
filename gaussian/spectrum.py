"""Spectra of Gaussian sources: the eigenvalues of the covariance.

A :class:`Spectrum` holds validated eigenvalues (variances of the independent
components), sorted in descending order. Isotropic noise in pixel space is
isotropic in the eigenbasis, so every closed form in :mod:`gaussian.curves`
only needs the spectrum.

Constructors: :func:`power_law`, :func:`flat`, :func:`exponential`,
:func:`from_eigvals`, :func:`from_covariance`, :func:`from_data`,
:func:`from_npy`, :func:`patches` (the bundled natural-image 8x8 patch
spectrum) and :func:`parse` for the command line's ``--spectrum`` strings.
"""
from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

__all__ = [
    "Spectrum",
    "from_eigvals",
    "power_law",
    "flat",
    "exponential",
    "image_power_law",
    "image_model",
    "from_covariance",
    "from_data",
    "from_npy",
    "patches",
    "parse",
    "SPEC_HELP",
]

_DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
PATCHES_FILE = _DATA_DIR / "patches8x8_eigvals.npy"

SPEC_HELP = (
    "powerlaw:P (lam_k = k^-P, mean 1), flat (all 1), exp:S (lam_k = exp(-S k), mean 1), "
    "image:HxWxC[:P] (periodic image model with power (1 + |f|^2)^(-P/2), default P 2), "
    "image-model:HxWxC (the stationary model of photographs fitted to the bundled ones, C = 1 or 3; "
    "pixels in [-1, 1], not normalised), "
    "patches (natural-image 8x8 patches, 64 dims), or PATH.npy (1-D eigenvalues, a square "
    "symmetric covariance, or an N x d data matrix)"
)


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """Eigenvalues of a Gaussian source's covariance, descending, all finite and > 0.

    Attributes
    ----------
    name : str
        How the spectrum was made, e.g. ``"powerlaw:1"`` or ``"patches"``.
    eigvals : numpy.ndarray
        Shape ``[dim]``, float64, read-only, sorted descending.
    """

    name: str
    eigvals: np.ndarray

    def __post_init__(self):
        eigvals = _validated(self.eigvals, "eigvals")
        eigvals = np.sort(eigvals)[::-1].copy()
        eigvals.flags.writeable = False
        object.__setattr__(self, "eigvals", eigvals)

    @property
    def dim(self) -> int:
        """Number of components ``d``."""
        return int(self.eigvals.size)

    @property
    def mean_variance(self) -> float:
        """Mean eigenvalue: the MSE per dim of reconstructing with the mean (zero rate)."""
        return float(np.mean(self.eigvals))

    def to_dict(self) -> dict:
        """JSON-ready ``{"name", "dim", "eigvals"}``."""
        return {"name": self.name, "dim": self.dim, "eigvals": self.eigvals.tolist()}


def _validated(values, argument: str) -> np.ndarray:
    """A 1-D float64 copy of ``values``, or ValueError naming ``argument``."""
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{argument}: not an array of numbers ({err})") from None
    if arr.ndim != 1:
        raise ValueError(f"{argument}: expected a 1-D array of eigenvalues, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{argument}: needs at least one eigenvalue (dim >= 1), got none")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{argument}: eigenvalues must be finite, got {float(arr[bad][0])!r} at index {int(np.argmax(bad))}")
    if (arr <= 0).any():
        i = int(np.argmax(arr <= 0))
        raise ValueError(
            f"{argument}: eigenvalues must be > 0, got {float(arr[i])!r} at index {i} "
            "(drop zero-variance components: they cost no rate and add no distortion)"
        )
    return arr


#: Memory of the curves per dimension (spectrum, sort, grouping and the passes' work arrays; measured ~55-80).
BYTES_PER_DIM = 96
#: Largest spectrum the constructors build: 2^25 dims, about 3.2 GB at BYTES_PER_DIM.
MAX_DIM = 2**25


def _memory_text(num_bytes: float) -> str:
    """``num_bytes`` as a short human figure (``3.2 GB``, ``2.9 TB``)."""
    for unit, size in (("EB", 1e18), ("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if num_bytes >= size:
            return f"{num_bytes / size:.2g} {unit}"
    return f"{num_bytes:.0f} bytes"


def _too_big(dim: int) -> str:
    """Why ``dim`` dimensions are refused: the memory they would need against the limit."""
    return (f"{dim} dims would need about {_memory_text(float(dim) * BYTES_PER_DIM)} of memory "
            f"({BYTES_PER_DIM} bytes per dim); at most {MAX_DIM} dims ({_memory_text(MAX_DIM * BYTES_PER_DIM)})")


def _check_dim(dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim: must be an integer >= 1, got {dim!r}")
    if dim > MAX_DIM:
        raise ValueError(f"dim: {_too_big(int(dim))}")
    return int(dim)


def _mean_one(eigvals: np.ndarray) -> np.ndarray:
    return eigvals / eigvals.mean()


def from_eigvals(eigvals, name: str = "custom") -> Spectrum:
    """Spectrum from explicit eigenvalues (validated, sorted descending)."""
    return Spectrum(name, _validated(eigvals, "eigvals"))


def power_law(dim: int, exponent: float) -> Spectrum:
    """Power law ``lam_k ∝ k^-exponent`` (k = 1..dim), normalised to mean 1.

    >>> power_law(4, 1.0).eigvals.round(4).tolist()
    [1.92, 0.96, 0.64, 0.48]
    """
    dim = _check_dim(dim)
    if not np.isfinite(exponent) or exponent < 0:
        raise ValueError(f"exponent: must be finite and >= 0, got {exponent!r}")
    k = np.arange(1, dim + 1, dtype=np.float64)
    return Spectrum(f"powerlaw:{exponent:g}", _mean_one(np.exp(-exponent * np.log(k))))


def flat(dim: int) -> Spectrum:
    """Flat spectrum: every eigenvalue 1 (white source; isotropic noise is optimal)."""
    return Spectrum("flat", np.ones(_check_dim(dim)))


def exponential(dim: int, decay: float) -> Spectrum:
    """Exponential decay ``lam_k ∝ exp(-decay * k)`` (k = 1..dim), normalised to mean 1."""
    dim = _check_dim(dim)
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"decay: must be finite and >= 0, got {decay!r}")
    logs = -decay * np.arange(dim, dtype=np.float64)
    logs -= logs.max()
    return Spectrum(f"exp:{decay:g}", _mean_one(np.exp(logs)))


def image_power_law(height: int = 64, width: int = 64, channels: int = 3, exponent: float = 2.0) -> Spectrum:
    """Spectrum of a periodic stationary image model: power ``(1 + fx^2 + fy^2)^(-exponent/2)``.

    A stationary process on a ``height x width`` torus has a circulant
    covariance whose eigenvalues are its power spectrum at the DFT
    frequencies (``fx``, ``fy`` signed integers); natural images follow
    ``|f|^-2`` closely (exponent 2). Each of ``channels`` independent colour
    channels contributes a copy. Normalised to mean 1. The symmetries
    ``(+-fx, +-fy)`` and the channel copies repeat eigenvalues, which the
    curves exploit (about 24 dims per distinct value for 64x64x3).

    >>> s = image_power_law(64, 64, 3); s.dim, s.name
    (12288, 'image:64x64x3:2')
    """
    height, width, channels = _check_dim(height), _check_dim(width), _check_dim(channels)
    if height * width * channels > MAX_DIM:
        raise ValueError(f"dim: image {height}x{width}x{channels}: {_too_big(height * width * channels)}")
    if not np.isfinite(exponent) or exponent < 0:
        raise ValueError(f"exponent: must be finite and >= 0, got {exponent!r}")
    fy = np.fft.fftfreq(height, 1.0 / height)[:, None]
    fx = np.fft.fftfreq(width, 1.0 / width)[None, :]
    power = (1.0 + fx**2 + fy**2) ** (-exponent / 2.0)
    return Spectrum(f"image:{height}x{width}x{channels}:{exponent:g}", _mean_one(np.tile(power.ravel(), channels)))


def image_model(height: int, width: int, channels: int = 3) -> Spectrum:
    """Spectrum of the stationary Gaussian model of ``height x width`` photographs (``gaussian.image_model``).

    Its eigenvalues are the DCT-coefficient variances in each colour component,
    in pixel units of [-1, 1] (not normalised: the population curves are those
    of ``empirical.models.StationaryImageOracle`` on the same size).

    >>> s = image_model(64, 96, 3); s.dim, s.name
    (18432, 'image-model:64x96x3')
    """
    from . import image_model as model_mod

    height, width, channels = _check_dim(height), _check_dim(width), _check_dim(channels)
    if channels not in (1, 3):
        raise ValueError(f"channels: the image model has 1 (gray) or 3 (RGB) channels, got {channels}")
    if height * width * channels > MAX_DIM:
        raise ValueError(f"dim: image-model {height}x{width}x{channels}: {_too_big(height * width * channels)}")
    model = model_mod.load("rgb" if channels == 3 else "gray")
    return Spectrum(f"image-model:{height}x{width}x{channels}", model.variances(height, width).ravel())


def from_covariance(cov, name: str = "covariance") -> Spectrum:
    """Spectrum of a symmetric positive-definite covariance matrix."""
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] == 0:
        raise ValueError(f"cov: expected a non-empty square matrix, got shape {cov.shape}")
    if not np.isfinite(cov).all():
        raise ValueError("cov: entries must be finite")
    scale = np.abs(cov).max()
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12 * scale):
        raise ValueError("cov: matrix is not symmetric")
    eigvals = np.linalg.eigvalsh(0.5 * (cov + cov.T))
    if eigvals.min() <= 0:
        raise ValueError(
            f"cov: not positive definite ({int((eigvals <= 0).sum())} eigenvalue(s) <= 0, "
            f"smallest {eigvals.min():.3g})"
        )
    return Spectrum(name, eigvals)


def from_data(samples, name: str = "data") -> Spectrum:
    """Spectrum of the empirical covariance of ``samples`` (shape ``[N, d]``, N > d)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2:
        raise ValueError(f"samples: expected shape [N, d], got {samples.shape}")
    n, d = samples.shape
    if n <= d:
        raise ValueError(f"samples: need more samples than dimensions for a full-rank covariance, got N={n}, d={d}")
    if not np.isfinite(samples).all():
        raise ValueError("samples: entries must be finite")
    return from_covariance(np.cov(samples, rowvar=False), name=name)


def from_npy(path) -> Spectrum:
    """Spectrum from a ``.npy`` file: 1-D eigenvalues, a symmetric covariance, or an N x d data matrix."""
    path = pathlib.Path(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"spectrum: file not found: {path}") from None
    except (OSError, ValueError, EOFError):
        raise ValueError(f"spectrum: cannot read {path}: not a .npy file of numbers") from None
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"spectrum: {path} holds {arr.dtype} data, expected real numbers")
    name = path.name
    if arr.ndim == 1:
        return from_eigvals(arr, name=name)
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and np.allclose(arr, arr.T):
        return from_covariance(arr, name=name)
    if arr.ndim == 2:
        return from_data(arr, name=name)
    raise ValueError(f"spectrum: {path} has shape {arr.shape}; expected 1-D eigenvalues or a 2-D matrix")


def patches() -> Spectrum:
    """The bundled natural-image 8x8 patch spectrum (64 dims, pixels in [-1, 1]).

    Made by ``scripts/make_patch_spectrum.py`` from the photographs that ship
    with scikit-image and scikit-learn; ``gaussian/data/patches8x8_eigvals.json``
    records the sources.
    """
    return Spectrum("patches", np.load(PATCHES_FILE))


def _number(text: str, argument: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{argument}: expected a number, got {text!r}") from None
    return value


def _parse_image(arg: str, dim: int | None, kind: str = "image") -> Spectrum:
    """``HxWxC[:P]`` -> :func:`image_power_law` (``kind`` "image") or ``HxWxC`` -> :func:`image_model`."""
    shape, _, power = arg.partition(":")
    parts = shape.lower().split("x")
    form = "HxWxC[:P]" if kind == "image" else "HxWxC"
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts) or (power and kind != "image"):
        raise ValueError(f"spectrum: expected {kind}:{form} with integers H, W, C, got '{kind}:{arg}'")
    h, w, c = (int(p) for p in parts)
    if min(h, w, c) < 1:
        raise ValueError(f"spectrum: {kind}:{shape} needs H, W, C >= 1")
    if h * w * c > MAX_DIM:  # refuse before allocating anything, naming the spectrum
        raise ValueError(f"spectrum: {kind}:{shape}: {_too_big(h * w * c)}")
    if kind == "image-model":
        if c not in (1, 3):
            raise ValueError(f"spectrum: image-model:{shape} needs C = 1 (gray) or 3 (RGB)")
        spectrum = image_model(h, w, c)
    else:
        spectrum = image_power_law(h, w, c, _number(power, "spectrum") if power else 2.0)
    if dim is not None and dim != spectrum.dim:
        raise ValueError(f"dim: image:{shape} has {spectrum.dim} dims, got --dim {dim}")
    return spectrum


def parse(spec: str, dim: int | None = None) -> Spectrum:
    """Spectrum from a command-line string (see ``SPEC_HELP``); ``dim`` for the synthetic ones.

    >>> parse("powerlaw:2", dim=3).eigvals.round(4).tolist()
    [2.2041, 0.551, 0.2449]
    """
    spec = spec.strip()
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind == "patches" and not arg:
        spectrum = patches()
        if dim is not None and dim != spectrum.dim:
            raise ValueError(f"dim: the patches spectrum has {spectrum.dim} dims, got --dim {dim}")
        return spectrum
    if kind in ("powerlaw", "flat", "exp"):
        if dim is None:
            raise ValueError(f"dim: spectrum {spec!r} needs a dimension")
        if kind == "flat":
            if arg:
                raise ValueError(f"spectrum: 'flat' takes no parameter, got {spec!r}")
            return flat(dim)
        if not arg:
            raise ValueError(f"spectrum: {kind!r} needs a parameter, e.g. {kind}:1")
        value = _number(arg, "spectrum")
        return power_law(dim, value) if kind == "powerlaw" else exponential(dim, value)
    if kind in ("image", "image-model"):
        return _parse_image(arg, dim, kind)
    if spec.endswith(".npy"):
        spectrum = from_npy(spec)
        if dim is not None and dim != spectrum.dim:
            raise ValueError(f"dim: {spec} has {spectrum.dim} dims, got --dim {dim}")
        return spectrum
    raise ValueError(f"spectrum: unknown spectrum {spec!r}; expected {SPEC_HELP}")
