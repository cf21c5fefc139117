"""Spectrum constructors and their validation."""
from __future__ import annotations

import json

import numpy as np
import pytest

from gaussian import spectrum


def test_power_law_flat_exponential():
    s = spectrum.power_law(10, 2.0)
    k = np.arange(1, 11.0)
    np.testing.assert_allclose(s.eigvals, k**-2 / np.mean(k**-2), rtol=1e-14)
    assert spectrum.flat(5).eigvals.tolist() == [1.0] * 5
    e = spectrum.exponential(4, 0.5)
    np.testing.assert_allclose(e.eigvals[1:] / e.eigvals[:-1], np.exp(-0.5), rtol=1e-14)
    assert e.eigvals.mean() == pytest.approx(1.0, rel=1e-14)


def test_sorted_descending_and_read_only():
    s = spectrum.from_eigvals([1.0, 3.0, 2.0])
    assert s.eigvals.tolist() == [3.0, 2.0, 1.0]
    with pytest.raises(ValueError):
        s.eigvals[0] = 5.0


def test_from_covariance_and_data():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    cov = a @ a.T + 0.1 * np.eye(5)
    np.testing.assert_allclose(spectrum.from_covariance(cov).eigvals, np.sort(np.linalg.eigvalsh(cov))[::-1])
    x = rng.standard_normal((4000, 3)) * np.array([3.0, 1.0, 0.5])
    np.testing.assert_allclose(spectrum.from_data(x).eigvals, [9.0, 1.0, 0.25], rtol=0.1)
    with pytest.raises(ValueError, match="symmetric"):
        spectrum.from_covariance(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive definite"):
        spectrum.from_covariance(np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="more samples"):
        spectrum.from_data(rng.standard_normal((3, 5)))


def test_from_npy_variants(tmp_path):
    np.save(tmp_path / "e.npy", np.array([2.0, 1.0]))
    np.save(tmp_path / "c.npy", np.diag([4.0, 1.0]))
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.standard_normal((500, 3)))
    assert spectrum.from_npy(tmp_path / "e.npy").eigvals.tolist() == [2.0, 1.0]
    assert spectrum.from_npy(tmp_path / "c.npy").eigvals.tolist() == [4.0, 1.0]
    assert spectrum.from_npy(tmp_path / "x.npy").dim == 3
    (tmp_path / "bad.npy").write_text("not numpy")
    with pytest.raises(ValueError, match="not a .npy file"):
        spectrum.from_npy(tmp_path / "bad.npy")
    with pytest.raises(ValueError, match="not found"):
        spectrum.from_npy(tmp_path / "missing.npy")


def test_bundled_patch_spectrum_and_its_record():
    """The natural-patch spectrum ships with a JSON record of how it was made."""
    s = spectrum.patches()
    assert s.dim == 64 and (np.diff(s.eigvals) <= 0).all() and s.eigvals[-1] > 0
    meta = json.loads(spectrum.PATCHES_FILE.with_suffix(".json").read_text())
    assert meta["dim"] == 64 and meta["made_by"] == "scripts/make_patch_spectrum.py"
    assert meta["trace"] == pytest.approx(s.eigvals.sum(), rel=1e-12)
    # natural images: the DC component dominates and the tail decays like a power law
    assert s.eigvals[0] > 10 * s.eigvals[1]


@pytest.mark.parametrize(
    "values, match",
    [([], "at least one"), ([1.0, -2.0], "> 0"), ([1.0, np.nan], "finite"), ([np.inf], "finite"),
     ([[1.0, 2.0]], "1-D"), ([0.0, 1.0], "> 0")],
)
def test_bad_eigvals(values, match):
    with pytest.raises(ValueError, match=match):
        spectrum.from_eigvals(values)


@pytest.mark.parametrize(
    "spec, dim, match",
    [("powerlaw", 4, "parameter"), ("powerlaw:x", 4, "number"), ("powerlaw:-1", 4, "exponent"),
     ("exp:nan", 4, "decay"), ("flat:3", 4, "no parameter"), ("nope", 4, "unknown"),
     ("patches", 32, "64 dims"), ("flat", 0, "dim")],
)
def test_parse_errors(spec, dim, match):
    with pytest.raises(ValueError, match=match):
        spectrum.parse(spec, dim)


def test_image_power_law_is_the_circulant_spectrum():
    """Eigenvalues of the explicit covariance of the periodic model equal image_power_law's values.

    The covariance of a stationary process on a 6x4 torus is block circulant
    with autocovariance = inverse DFT of the power spectrum; it is built here
    entry by entry and diagonalised with eigvalsh.
    """
    h, w, p = 6, 4, 1.5
    fy = np.fft.fftfreq(h, 1.0 / h)[:, None]
    fx = np.fft.fftfreq(w, 1.0 / w)[None, :]
    power = (1 + fx**2 + fy**2) ** (-p / 2)
    acov = np.real(np.fft.ifft2(power))
    idx = [(i, j) for i in range(h) for j in range(w)]
    cov = np.array([[acov[(a - c) % h, (b - e) % w] for (c, e) in idx] for (a, b) in idx])
    eig = np.sort(np.linalg.eigvalsh(cov))[::-1]
    s = spectrum.image_power_law(h, w, 2, p)
    np.testing.assert_allclose(s.eigvals, np.repeat(eig / eig.mean(), 2), rtol=1e-10)
    assert spectrum.parse("image:6x4x2:1.5").eigvals.tolist() == s.eigvals.tolist()
    with pytest.raises(ValueError, match="HxWxC"):
        spectrum.parse("image:6x4")


def test_huge_spectra_are_refused_before_allocating():
    """More than MAX_DIM dims: a ValueError naming dim with the memory it would need (no MemoryError, no allocation)."""
    too_many = spectrum.MAX_DIM + 1
    with pytest.raises(ValueError, match=r"^dim: .* would need about .* of memory"):
        spectrum.power_law(too_many, 1.0)
    with pytest.raises(ValueError, match=r"^dim: image 100000x100000x3: 30000000000 dims"):
        spectrum.image_power_law(100000, 100000, 3)
    with pytest.raises(ValueError, match=r"^spectrum: image:100000x100000x3: .*2\.9 TB"):
        spectrum.parse("image:100000x100000x3")
    with pytest.raises(ValueError, match="^dim: "):
        spectrum.flat(10**20)
