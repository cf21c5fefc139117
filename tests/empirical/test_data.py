"""empirical.data: shapes, seeding, exact moments, package data against its sources, bad input."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from empirical import data
from gaussian import spectrum

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", data.SOURCES)
def test_shapes_and_seeding(name):
    """Samples are [num, dim] float64, a pure function of (seed, split, step), different across steps/splits."""
    src = data.make(name)
    a = src.sample(50, seed=3)
    assert a.shape == (50, src.dim) and a.dtype == np.float64 and np.isfinite(a).all()
    assert src.dim == int(np.prod(src.shape))
    np.testing.assert_array_equal(a, data.make(**src.spec).sample(50, seed=3))
    assert not np.array_equal(a, src.sample(50, seed=4))
    assert not np.array_equal(a, src.sample(50, seed=3, step=1))
    assert not np.array_equal(a, src.sample(50, seed=3, split="test"))
    assert src.mean.shape == (src.dim,) and src.covariance.shape == (src.dim, src.dim)
    np.testing.assert_array_equal(src.covariance, src.covariance.T)
    if src.pixel_range is not None:
        lo, hi = src.pixel_range
        assert a.min() >= lo and a.max() <= hi


def test_gaussian_covariance_is_exact_and_sampled():
    """Sample covariance of 100k draws is within 5.5 standard errors of U diag(eigvals) U^T in every entry.

    Standard error of entry (i, j): sqrt((C_ii C_jj + C_ij^2) / N) (Wishart).
    """
    src = data.gaussian("powerlaw:1", dim=16, basis="random", basis_seed=5)
    np.testing.assert_allclose(src.eigvals, spectrum.power_law(16, 1.0).eigvals, rtol=1e-15)
    np.testing.assert_allclose(src.basis.T @ src.basis, np.eye(16), atol=1e-14)
    np.testing.assert_allclose(src.covariance, (src.basis * src.eigvals) @ src.basis.T, rtol=0, atol=1e-14)
    n = 100_000
    x = src.sample(n, seed=0)
    emp = x.T @ x / n  # mean is known to be 0
    c = src.covariance
    se = np.sqrt((np.outer(np.diag(c), np.diag(c)) + c**2) / n)
    assert np.max(np.abs(emp - c) / se) < 5.5


def test_gaussian_defaults_to_patch_spectrum_and_pixel_basis_is_diagonal():
    src = data.gaussian()
    assert src.dim == 64
    np.testing.assert_array_equal(src.eigvals, spectrum.patches().eigvals)
    pix = data.gaussian("flat", dim=3, basis="pixel")
    np.testing.assert_array_equal(pix.covariance, np.eye(3))


def test_haar_orthogonal_first_entry_is_uniform():
    """For Haar Q in O(3), Q_11 is uniform on [-1, 1] (Archimedes); det Q = +-1 with probability 1/2 each.

    Without the sign correction of R's diagonal, numpy's QR is not Haar; KS p-value must exceed 1e-3.
    """
    q = np.array([data.haar_orthogonal(3, seed) for seed in range(3000)])
    assert stats.kstest(q[:, 0, 0], stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3
    dets = np.linalg.det(q)
    np.testing.assert_allclose(np.abs(dets), 1.0, atol=1e-12)
    assert abs(np.mean(dets > 0) - 0.5) < 4 * np.sqrt(0.25 / 3000)


def test_mixture2d_moments_closed_form():
    """8 means on a circle of radius r with std s: mean 0, covariance (r^2/2 + s^2) I = 0.796875 I."""
    src = data.mixture2d()
    np.testing.assert_allclose(src.mean, 0.0, atol=1e-15)
    np.testing.assert_allclose(src.covariance, 0.796875 * np.eye(2), rtol=1e-14, atol=1e-15)


def test_mixture_moments_match_monte_carlo():
    """Exact mixture moments (law of total covariance) vs 200k samples: entries within 5.5 standard errors."""
    src = data.mixture(dim=5, num_components=3, std=0.3, means_seed=2)
    n = 200_000
    x = src.sample(n, seed=1)
    se_mean = np.sqrt(np.diag(src.covariance) / n)
    assert np.max(np.abs(x.mean(0) - src.mean) / se_mean) < 5.5
    # fourth moments of a mixture differ from a Gaussian's: use the empirical variance of the products
    xc = x - src.mean
    prods = xc[:, :, None] * xc[:, None, :]
    se = prods.std(axis=0) / np.sqrt(n)
    assert np.max(np.abs(prods.mean(0) - src.covariance) / se) < 5.5
    assert src.mixture.means.shape == (3, 5) and src.mixture.std == 0.3


def test_digits_package_data():
    """1438 / 359 split of the 1797 digits, pixels v/8 - 1 with v in 0..16, 3 pixels constant in all data."""
    src = data.digits()
    train, test = src.splits["train"], src.splits["test"]
    assert train.shape == (1438, 64) and test.shape == (359, 64) and src.shape == (8, 8)
    both = np.concatenate([train, test])
    v = (both + 1.0) * 8.0
    np.testing.assert_array_equal(v, np.round(v))
    assert v.min() == 0 and v.max() == 16
    np.testing.assert_array_equal(np.flatnonzero(both.std(0) == 0), [0, 32, 39])
    np.testing.assert_array_equal(np.flatnonzero(train.std(0) == 0), [0, 32, 39, 56])
    np.testing.assert_allclose(src.mean, train.mean(0), rtol=1e-14)


def test_digits_match_sklearn():
    """The stored digits are exactly sklearn's, as a multiset of (image, label) rows."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    ref = load_digits()
    with np.load(data.DATA_DIR / "digits8x8.npz") as f:
        images = np.concatenate([f["train_images"], f["test_images"]]).reshape(-1, 64).astype(int)
        labels = np.concatenate([f["train_labels"], f["test_labels"]]).astype(int)
    mine = sorted(map(tuple, np.column_stack([images, labels])))
    theirs = sorted(map(tuple, np.column_stack([ref.data.astype(int), ref.target])))
    assert mine == theirs


def test_patches_package_data():
    """12288 / 4096 patches of 8-bit luma in [-1, 1]; their covariance spectrum is that of gaussian's patches.

    The bundled spectrum comes from all 32438 patches (unrounded luma); a 12288-patch subset must give a
    trace within 3% and a top eigenvalue within 5% (sampling error of ~1-2%).
    """
    src = data.patches()
    train, test = src.splits["train"], src.splits["test"]
    assert train.shape == (12288, 64) and test.shape == (4096, 64)
    v = (train + 1.0) * 127.5
    np.testing.assert_allclose(v, np.round(v), atol=1e-9)
    assert train.min() >= -1 and train.max() <= 1
    ref = spectrum.patches().eigvals
    mine = np.sort(np.linalg.eigvalsh(src.covariance))[::-1]
    assert abs(mine.sum() / ref.sum() - 1) < 0.03
    assert abs(mine[0] / ref[0] - 1) < 0.05


def test_patches_script_reproduces_package_data():
    """scripts/make_codec_data.py's extraction gives the stored patches exactly (needs skimage and sklearn)."""
    pytest.importorskip("skimage")
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_codec_data as script
    finally:
        sys.path.pop(0)
    photos = script.load_photographs_uint8()
    pool = np.concatenate([script.patches(img.astype(np.float64)) for _, img in photos]).astype(np.uint8)
    rng = np.random.default_rng(np.random.SeedSequence([script.SPLIT_SEED, 1]))
    order = rng.permutation(pool.shape[0])
    with np.load(data.DATA_DIR / "patches8x8.npz") as f:
        np.testing.assert_array_equal(f["train"].reshape(-1, 64), pool[order[: script.NUM_TRAIN]])
        np.testing.assert_array_equal(
            f["test"].reshape(-1, 64), pool[order[script.NUM_TRAIN: script.NUM_TRAIN + script.NUM_TEST]]
        )


def test_dataset_sampling_draws_rows_of_the_split():
    src = data.digits()
    rows = {tuple(r) for r in src.splits["test"]}
    assert all(tuple(r) in rows for r in src.sample(20, seed=0, split="test"))
    np.testing.assert_array_equal(src.examples("test", 5), src.splits["test"][:5])


def test_import_is_light():
    """Importing empirical.data, models and codec (with its receivers and CLIs) does not import torch."""
    code = ("import sys, empirical.data, empirical.models, empirical.codec, empirical.codec.compress, "
            "empirical.codec.decompress; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("call, match", [
    (lambda: data.gaussian("image:100x100x3"), r"^spectrum: 'image:100x100x3' gives 30000 dims, over the limit of 4096"),
    (lambda: data.gaussian("image:100x100x3", basis="pixel"), r"^spectrum: 'image:100x100x3' gives 30000 dims"),
    (lambda: data.gaussian("image:100000x100000x3"), r"^spectrum: .* gives 30000000000 dims"),
    (lambda: data.gaussian("powerlaw:1", dim=4097), r"^dim: 4097 dims, over the limit of 4096"),
    (lambda: data.mixture(dim=10**6), r"^dim: 1000000 dims, over the limit of 4096"),
])
def test_image_sized_dense_sources_are_refused_with_an_estimate(monkeypatch, call, match):
    """Dims above 4096 are refused before any dense matrix (a 30000^2 basis or covariance got the process killed):
    the message gives the memory it would take; building one would call haar_orthogonal or numpy.eye."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a dense matrix was built")

    monkeypatch.setattr(data, "haar_orthogonal", forbidden)
    monkeypatch.setattr(data.np, "eye", forbidden)
    with pytest.raises(ValueError, match=match) as exc:
        call()
    assert " GB)" in str(exc.value)


def test_largest_dense_source_is_accepted():
    src = data.gaussian("flat", dim=data.MAX_DENSE_DIM, basis="pixel")
    assert src.dim == 4096 and src.covariance.shape == (4096, 4096)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: data.make("nope"), "data: unknown source"),
        (lambda: data.make("digits", dim=3), "data: bad parameters"),
        (lambda: data.gaussian(basis="eigen"), "basis:"),
        (lambda: data.gaussian(basis_seed=-1), "basis_seed:"),
        (lambda: data.gaussian("powerlaw:1"), "dim:"),
        (lambda: data.mixture(std=0.0), "std:"),
        (lambda: data.mixture(dim=0), "dim:"),
        (lambda: data.mixture2d().sample(-1, seed=0), "num:"),
        (lambda: data.mixture2d().sample(2, seed=0, split="val"), "split:"),
        (lambda: data.digits().examples("test", 10_000), "num:"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
