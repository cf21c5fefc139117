"""Seeded, offline data sources for the DiffC codec (numpy only).

Every source is a :class:`Source`: flat samples of ``dim`` real numbers (images
are flattened row-major; ``shape`` says how to fold them back), with its mean
and covariance, so that :class:`empirical.models.GaussianOracle` can be fitted
to it and every measurement can be compared with the closed forms of
``gaussian/``.

=============  ============================================================  =========================
name           what                                                           mean / covariance
=============  ============================================================  =========================
``gaussian``   ``N(0, U diag(eigvals) U^T)``, eigvals from a ``gaussian``     exact
               spectrum (default: the natural 8x8 patch spectrum), ``U`` a
               Haar-random orthogonal matrix (``basis="random"``) or the
               identity (``basis="pixel"``)
``mixture2d``  8 equal-weight isotropic Gaussians (std 0.125) on the circle   exact
               of radius 1.25
``mixture``    ``num_components`` equal-weight isotropic Gaussians of std     exact
               ``std`` in ``dim`` dims, means drawn ``N(0, I)`` from
               ``means_seed``
``digits``     scikit-learn's 8x8 handwritten digits, ``v / 8 - 1`` in        of the train split
               [-1, 1]; 1438 train / 359 test; pixels 0, 32 and 39 are 0
               (value -1) in all 1797 images, and pixel 56 too in the
               train split, so the covariance has 4 zero eigenvalues
``patches``    8x8 grayscale patches of the 8 photographs bundled with        of the train split
               scikit-image / scikit-learn, ``2 v / 255 - 1`` in [-1, 1];
               12288 train / 4096 test
``photos``     random ``crop x crop`` RGB crops (default 32, randomly         None (the stationary
               mirrored left-right) of the 7 colour photographs bundled with  image model of
               scikit-image / scikit-learn, area-downsampled by 4,            ``gaussian.image_model``
               ``2 v / 255 - 1`` in [-1, 1]; test split: the crops of         is its Gaussian
               ``chelsea``, train: the other 6                                reference)
=============  ============================================================  =========================

The data sets are package data (``empirical/data/*.npz``, made by
``scripts/make_codec_data.py`` and ``scripts/make_photo_data.py``); nothing is downloaded and neither scikit-image
nor scikit-learn is needed at run time.

Randomness is explicit: ``Source.sample(num, seed, split, step)`` draws from
``numpy.random.SeedSequence([RNG_TAG_SAMPLE, seed, split_id, source_id, step])``.
Every ``SeedSequence`` in ``empirical`` starts with its own purpose tag because
numpy's ``SeedSequence([a, b])`` equals ``SeedSequence([a, b, 0, 0])``: untagged
entropy lists of different purposes can collide. The synthetic
sources have disjoint train and test streams, the data sets draw rows (with
replacement) from their fixed split.

>>> src = make("mixture2d")
>>> src.dim, src.sample(3, seed=0).shape
(2, (3, 2))
"""
from __future__ import annotations

import dataclasses
import functools
import pathlib
import re
from typing import Callable

import numpy as np

__all__ = [
    "Source",
    "SOURCES",
    "IMAGE_SOURCES",
    "make",
    "gaussian",
    "mixture2d",
    "mixture",
    "digits",
    "patches",
    "photos",
    "haar_orthogonal",
]

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
SOURCES = ("gaussian", "mixture2d", "mixture", "digits", "patches")
"""The sources of flat vectors with a mean and covariance (every codec, oracle and measurement takes them)."""
IMAGE_SOURCES = ("photos",)
"""Sources of images without moments, for training the image U-Net (``python -m empirical.train --model unet``)."""
SPLITS = ("train", "test")
_SOURCE_IDS = {name: i for i, name in enumerate(SOURCES + IMAGE_SOURCES)}
_SPLIT_IDS = {"train": 0, "test": 1}
RNG_TAG_SAMPLE = 0x5A3D01  # purpose tags of the SeedSequences (see the module docstring)
RNG_TAG_HAAR = 0x5A3D02
RNG_TAG_MIXTURE = 0x5A3D03
MAX_DENSE_DIM = 4096
"""Largest ``dim`` of the ``gaussian`` and ``mixture`` sources: they hold dense ``dim x dim`` float64
matrices (covariance, basis, sampling factor; the Gaussian oracle and the codec use the dense basis,
also for ``basis="pixel"``), about ``6 * 8 * dim^2`` bytes at once (0.8 GB at 4096, 43 GB at 30000)."""
DENSE_MATRICES = 6


@dataclasses.dataclass(frozen=True)
class Mixture:
    """Equal-weight mixture of isotropic Gaussians ``N(means[k], std^2 I)``.

    Attributes
    ----------
    means : numpy.ndarray
        ``[num_components, dim]``.
    std : float
        Standard deviation of every component along every axis.
    """

    means: np.ndarray
    std: float


@dataclasses.dataclass(frozen=True)
class Source:
    """A seeded data source of flat float64 vectors.

    Attributes
    ----------
    name : str
        One of :data:`SOURCES`.
    params : dict
        The keyword arguments that rebuild it: ``make(name, **params)``.
    shape : tuple of int
        Shape of one sample before flattening, e.g. ``(8, 8)``.
    mean : numpy.ndarray or None
        ``[dim]`` mean (exact for synthetic sources, of the train split for data sets; None for ``photos``).
    covariance : numpy.ndarray or None
        ``[dim, dim]`` covariance (divisor N for data sets; None for ``photos``).
    pixel_range : tuple of float or None
        ``(lo, hi)`` for images, None for unbounded sources.
    splits : dict or None
        ``{"train": [N, dim], "test": [M, dim]}`` for data sets, None for synthetic sources.
    mixture : Mixture or None
        The exact mixture for ``mixture2d`` / ``mixture`` (exact denoisers use it).
    eigvals, basis : numpy.ndarray or None
        The exact factorisation ``covariance = basis diag(eigvals) basis^T``
        when it is known (``gaussian``), else None.
    """

    name: str
    params: dict
    shape: tuple
    mean: np.ndarray
    covariance: np.ndarray
    pixel_range: tuple | None
    splits: dict | None
    mixture: Mixture | None
    eigvals: np.ndarray | None
    basis: np.ndarray | None
    _draw: Callable = dataclasses.field(repr=False, compare=False)

    @property
    def dim(self) -> int:
        """Number of real numbers per sample."""
        return int(np.prod(self.shape))

    @property
    def spec(self) -> dict:
        """JSON-ready ``{"name", **params}`` (what checkpoints record)."""
        return {"name": self.name, **self.params}

    def sample(self, num: int, seed: int, split: str = "train", step: int = 0) -> np.ndarray:
        """``[num, dim]`` float64 i.i.d. samples: a pure function of ``(num, seed, split, step)``.

        ``step`` gives independent streams for the same seed (one per training step).
        """
        num = _nonneg_int(num, "num")
        seed = _nonneg_int(seed, "seed")
        step = _nonneg_int(step, "step")
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        entropy = [RNG_TAG_SAMPLE, seed, _SPLIT_IDS[split], _SOURCE_IDS[self.name], step]
        rng = np.random.default_rng(np.random.SeedSequence(entropy))
        if self.splits is not None:
            rows = self.splits[split]
            return rows[rng.integers(0, rows.shape[0], size=num)].copy()
        return self._draw(num, rng, split)

    def examples(self, split: str = "test", num: int | None = None) -> np.ndarray:
        """``[num, dim]`` fixed examples: the split's rows in order, or ``sample(num, seed=0, split)``."""
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        if self.splits is not None:
            rows = self.splits[split]
            if num is None:
                return rows.copy()
            num = _nonneg_int(num, "num")
            if num > rows.shape[0]:
                raise ValueError(f"num: the {split} split of {self.name} has {rows.shape[0]} rows, got {num}")
            return rows[:num].copy()
        return self.sample(1000 if num is None else num, seed=0, split=split)


def _nonneg_int(value, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{argument}: must be an integer >= 0, got {value!r}")
    return int(value)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64)
    arr.flags.writeable = False
    return arr


def haar_orthogonal(dim: int, seed: int) -> np.ndarray:
    """``[dim, dim]`` Haar-distributed orthogonal matrix from ``SeedSequence([RNG_TAG_HAAR, seed, dim])``.

    QR of a standard normal matrix with the signs of ``R``'s diagonal moved
    into ``Q`` (Mezzadri 2007), so the distribution is exactly Haar.
    """
    dim = _nonneg_int(dim, "dim")
    if dim < 1:
        raise ValueError("dim: must be >= 1, got 0")
    seed = _nonneg_int(seed, "seed")
    rng = np.random.default_rng(np.random.SeedSequence([RNG_TAG_HAAR, seed, dim]))
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _check_dense_dim(d: int, argument: str, what: str = "") -> None:
    """ValueError naming ``argument`` if ``d`` exceeds :data:`MAX_DENSE_DIM`, with the memory it would need."""
    if d > MAX_DENSE_DIM:
        gb = DENSE_MATRICES * 8 * d * d / 1e9
        raise ValueError(f"{argument}: {what}{d} dims, over the limit of {MAX_DENSE_DIM}: the source, the oracle and "
                         f"the codec hold dense {d} x {d} float64 matrices (about {DENSE_MATRICES}, {gb:.3g} GB), with "
                         "a random or a pixel basis alike (closed forms for any size: python -m gaussian.rd; an image of "
                         "any size: a PNG with --model oracle:stationary)")


def gaussian(spectrum: str = "patches", dim: int | None = None, basis: str = "random", basis_seed: int = 0) -> Source:
    """Zero-mean Gaussian ``N(0, U diag(eigvals) U^T)`` with a ``gaussian.spectrum`` spectrum.

    Parameters
    ----------
    spectrum : str
        A spectrum string of :func:`gaussian.spectrum.parse` (``patches``,
        ``powerlaw:P``, ``flat``, ``exp:S`` or a ``.npy`` path).
    dim : int or None
        Dimension for the synthetic spectra (``patches`` has 64).
    basis : {"random", "pixel"}
        ``U`` Haar-random (:func:`haar_orthogonal` with ``basis_seed``) or the identity.
    basis_seed : int
        Seed of the random basis.

    Returns
    -------
    Source
        ``mean`` zero, ``covariance = U diag(eigvals) U^T`` (eigvals descending).

    Raises
    ------
    ValueError
        Naming ``spectrum`` (or ``dim`` when given) for more than :data:`MAX_DENSE_DIM` dims,
        before any dense matrix is built.
    """
    from gaussian import spectrum as spectrum_mod

    basis_seed = _nonneg_int(basis_seed, "basis_seed")
    if not isinstance(spectrum, str):
        raise ValueError(f"spectrum: expected a spectrum string, got {spectrum!r}")
    if basis not in ("random", "pixel"):
        raise ValueError(f"basis: expected 'random' or 'pixel', got {basis!r}")
    if dim is not None:
        _check_dense_dim(_nonneg_int(dim, "dim"), "dim")
    image = re.fullmatch(r"\s*image:\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*(:.*)?", spectrum)
    if image:  # refuse before gaussian.spectrum builds its H x W frequency grid
        _check_dense_dim(int(image[1]) * int(image[2]) * int(image[3]), "spectrum", f"{spectrum!r} gives ")
    spec = spectrum_mod.parse(spectrum, dim=dim)
    d = spec.dim
    _check_dense_dim(d, "spectrum", f"{spectrum!r} gives ")
    basis_matrix = haar_orthogonal(d, basis_seed) if basis == "random" else np.eye(d)
    eigvals = spec.eigvals.copy()
    cov = (basis_matrix * eigvals) @ basis_matrix.T
    cov = 0.5 * (cov + cov.T)
    factor = basis_matrix * np.sqrt(eigvals)  # x = factor @ u, u ~ N(0, I)

    def draw(num, rng, split):
        return rng.standard_normal((num, d)) @ factor.T

    params = {"spectrum": spectrum, "dim": d, "basis": basis, "basis_seed": int(basis_seed)}
    return Source(
        "gaussian", params, (d,), _readonly(np.zeros(d)), _readonly(cov), None, None, None,
        _readonly(eigvals), _readonly(basis_matrix), draw,
    )


def _mixture_source(name: str, params: dict, means: np.ndarray, std: float) -> Source:
    """Source of the equal-weight isotropic mixture with exact moments."""
    means = np.asarray(means, dtype=np.float64)
    k, d = means.shape
    mean = means.mean(axis=0)
    centred = means - mean
    cov = centred.T @ centred / k + std**2 * np.eye(d)

    def draw(num, rng, split):
        comp = rng.integers(0, k, size=num)
        return means[comp] + std * rng.standard_normal((num, d))

    mixture = Mixture(_readonly(means), float(std))
    return Source(name, params, (d,), _readonly(mean), _readonly(cov), None, None, mixture, None, None, draw)


def mixture2d() -> Source:
    """Eight equal-weight Gaussians, std 0.125, means on the circle of radius 1.25 (angles k pi / 4)."""
    angles = np.arange(8) * (np.pi / 4)
    means = 1.25 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _mixture_source("mixture2d", {}, means, 0.125)


def mixture(dim: int = 16, num_components: int = 8, std: float = 0.25, means_seed: int = 0) -> Source:
    """Equal-weight mixture of ``num_components`` Gaussians ``N(mu_k, std^2 I)``, ``mu_k ~ N(0, I_dim)`` from ``means_seed``."""
    dim = _nonneg_int(dim, "dim")
    num_components = _nonneg_int(num_components, "num_components")
    if dim < 1:
        raise ValueError(f"dim: must be >= 1, got {dim}")
    _check_dense_dim(dim, "dim")
    if num_components < 1:
        raise ValueError(f"num_components: must be >= 1, got {num_components}")
    if not np.isfinite(std) or std <= 0:
        raise ValueError(f"std: must be finite and > 0, got {std!r}")
    means_seed = _nonneg_int(means_seed, "means_seed")
    rng = np.random.default_rng(np.random.SeedSequence([RNG_TAG_MIXTURE, means_seed, dim, num_components]))
    means = rng.standard_normal((num_components, dim))
    params = {"dim": dim, "num_components": num_components, "std": float(std), "means_seed": means_seed}
    return _mixture_source("mixture", params, means, float(std))


def _dataset_source(name: str, train: np.ndarray, test: np.ndarray, shape: tuple) -> Source:
    """Source of a fixed data set; mean and covariance (divisor N) of the train split."""
    mean = train.mean(axis=0)
    centred = train - mean
    cov = centred.T @ centred / train.shape[0]
    splits = {"train": _readonly(train), "test": _readonly(test)}

    def draw(num, rng, split):  # never called: data sets sample rows of their split
        raise AssertionError("unreachable")

    cov = _readonly(0.5 * (cov + cov.T))
    return Source(name, {}, shape, _readonly(mean), cov, (-1.0, 1.0), splits, None, None, None, draw)


@functools.lru_cache(maxsize=None)
def _load(filename: str) -> dict:
    path = DATA_DIR / filename
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:  # an installation without the package data
        raise ValueError(f"data: package data file missing: {filename} (remake it with scripts/make_codec_data.py or scripts/make_photo_data.py)") from None


def digits() -> Source:
    """scikit-learn's 8x8 digits, pixels ``v / 8 - 1`` in [-1, 1], fixed 1438 / 359 split."""
    data = _load("digits8x8.npz")
    train = data["train_images"].reshape(-1, 64).astype(np.float64) / 8.0 - 1.0
    test = data["test_images"].reshape(-1, 64).astype(np.float64) / 8.0 - 1.0
    return _dataset_source("digits", train, test, (8, 8))


def patches() -> Source:
    """8x8 grayscale photo patches, pixels ``2 v / 255 - 1`` in [-1, 1], fixed 12288 / 4096 split."""
    data = _load("patches8x8.npz")
    train = data["train"].reshape(-1, 64).astype(np.float64) * (2.0 / 255.0) - 1.0
    test = data["test"].reshape(-1, 64).astype(np.float64) * (2.0 / 255.0) - 1.0
    return _dataset_source("patches", train, test, (8, 8))


PHOTOS_FILE = "photos_rgb.npz"
PHOTOS_TEST = ("skimage.data.chelsea",)
"""The photographs whose crops form the ``photos`` test split (the others are the train split)."""


def photos(crop: int = 32) -> Source:
    """Random ``crop x crop`` RGB crops of the bundled colour photographs (downsampled by 4), pixels ``2 v / 255 - 1``.

    A crop picks a photograph of its split with probability proportional to its number of crop positions,
    a uniform position, and a left-right mirror with probability 1/2. ``mean`` and ``covariance`` are None.
    """
    crop = _nonneg_int(crop, "crop")
    data = _load(PHOTOS_FILE)
    names = [str(n) for n in data["names"]]
    images = {"train": [], "test": []}
    for k, name in enumerate(names):
        image = data[f"photo_{k}"]
        images["test" if name in PHOTOS_TEST else "train"].append(image)
    smallest = min(min(im.shape[:2]) for ims in images.values() for im in ims)
    if not 1 <= crop <= smallest:
        raise ValueError(f"crop: must be an integer in 1..{smallest} (the smallest photograph's side), got {crop}")
    positions = {split: np.array([(im.shape[0] - crop + 1) * (im.shape[1] - crop + 1) for im in ims], dtype=np.float64)
                 for split, ims in images.items()}

    def draw(num, rng, split):
        ims, weights = images[split], positions[split]
        which = rng.choice(len(ims), size=num, p=weights / weights.sum())
        out = np.empty((num, crop, crop, 3), dtype=np.float64)
        for i, k in enumerate(which):
            im = ims[k]
            top = rng.integers(0, im.shape[0] - crop + 1)
            left = rng.integers(0, im.shape[1] - crop + 1)
            patch = im[top:top + crop, left:left + crop]
            out[i] = patch[:, ::-1] if rng.random() < 0.5 else patch
        return (out * (2.0 / 255.0) - 1.0).reshape(num, -1)

    return Source("photos", {"crop": crop}, (crop, crop, 3), None, None, (-1.0, 1.0), None, None, None, None, draw)


_MAKERS = {"gaussian": gaussian, "mixture2d": mixture2d, "mixture": mixture, "digits": digits, "patches": patches,
           "photos": photos}


def make(name: str, **params) -> Source:
    """The source ``name`` (one of :data:`SOURCES` or :data:`IMAGE_SOURCES`) built with keyword ``params``.

    ``make(**source.spec)`` rebuilds ``source``; unknown names or parameters
    raise ValueError.
    """
    if name not in _MAKERS:
        raise ValueError(f"data: unknown source {name!r}; expected one of {', '.join(SOURCES + IMAGE_SOURCES)}")
    try:
        return _MAKERS[name](**params)
    except TypeError as err:
        raise ValueError(f"data: bad parameters for {name!r}: {err}") from None
