"""Compute the bundled "natural image 8x8 patch" spectrum from real photographs.

The photographs ship inside scikit-image (``skimage.data``) and scikit-learn
(``sklearn.datasets.load_sample_images``), so nothing is downloaded. Each is
converted to grayscale with pixels in [-1, 1]; all non-overlapping 8x8 patches
are pooled; the eigenvalues of their 64x64 covariance (per-pixel mean removed),
sorted descending, are written to ``gaussian/data/patches8x8_eigvals.npy`` with a
JSON file describing how they were made.

Usage (needs ``pip install -e ".[data]"``)::

    python scripts/make_patch_spectrum.py
"""
from __future__ import annotations

import json
import pathlib

import numpy as np

PATCH = 8
# Photographs only (no synthetic images, scans or micrographs).
SKIMAGE_PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "rocket", "stereo_motorcycle")
OUT_DIR = pathlib.Path(__file__).resolve().parent.parent / "gaussian" / "data"


def to_gray_unit(image):
    """Grayscale float image with pixels in [-1, 1] (ITU-R 601 luma for RGB)."""
    image = np.asarray(image, dtype=np.float64)
    if image.max() > 1.0:
        image = image / 255.0
    if image.ndim == 3:
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114])
    return 2.0 * image - 1.0


def patches(image, size=PATCH):
    """All non-overlapping ``size x size`` patches of a 2-D image, as rows of length size**2."""
    rows, cols = (image.shape[0] // size) * size, (image.shape[1] // size) * size
    blocks = image[:rows, :cols].reshape(rows // size, size, cols // size, size)
    return blocks.transpose(0, 2, 1, 3).reshape(-1, size * size)


def load_photographs(convert=to_gray_unit):
    """(name, ``convert(image)``) for every bundled photograph (default: grayscale in [-1, 1])."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    out = []
    for name in SKIMAGE_PHOTOS:
        image = getattr(skimage.data, name)()
        if name == "stereo_motorcycle":  # (left, right, disparity): keep the left view
            image = image[0]
        out.append((f"skimage.data.{name}", convert(image)))
    sample = load_sample_images()
    for path, image in zip(sample.filenames, sample.images):
        out.append((f"sklearn:{pathlib.Path(path).name}", convert(image)))
    return out


def main():
    photos = load_photographs()
    data = np.concatenate([patches(image) for _, image in photos])
    cov = np.cov(data, rowvar=False)
    eigvals = np.sort(np.linalg.eigvalsh(cov))[::-1].copy()
    if eigvals[-1] <= 0:
        raise SystemExit(f"covariance is not positive definite (smallest eigenvalue {eigvals[-1]:g})")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    np.save(OUT_DIR / "patches8x8_eigvals.npy", eigvals)
    meta = {
        "name": "patches",
        "description": "eigenvalues (descending) of the covariance of non-overlapping 8x8 grayscale "
        "patches, pixels in [-1, 1], per-pixel mean removed",
        "made_by": "scripts/make_patch_spectrum.py",
        "sources": [name for name, _ in photos],
        "num_patches": int(data.shape[0]),
        "dim": int(eigvals.size),
        "pixel_range": [-1.0, 1.0],
        "trace": float(eigvals.sum()),
    }
    (OUT_DIR / "patches8x8_eigvals.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{data.shape[0]} patches from {len(photos)} photographs; eigvals {eigvals[0]:.4g} .. {eigvals[-1]:.4g}")


if __name__ == "__main__":
    main()
