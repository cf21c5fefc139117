"""Compute the bundled "natural image 8x8 patch" spectrum from real photographs.

The photographs ship inside scikit-image (``skimage.data``) and scikit-learn
(``sklearn.datasets.load_sample_images``), so nothing is downloaded. Each is
converted to grayscale with pixels in [-1, 1]; all non-overlapping 8x8 patches
are pooled; the eigenvalues of their 64x64 covariance (per-pixel mean removed),
sorted descending, are written to ``gaussian/data/patches8x8_eigvals.npy`` with a
JSON file describing how they were made.

Usage (needs ``pip install -e ".[data]"``)::

    python scripts/make_patch_spectrum.py              # rewrites gaussian/data/
    python scripts/make_patch_spectrum.py --out DIR    # writes elsewhere (the tests compare with the package)

Both files are written to a temporary name and renamed (never a partial file).
"""
from __future__ import annotations

import argparse
import io
import json
import pathlib
import sys

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


def spectrum_and_meta():
    """Eigenvalues (descending) of the pooled patches' covariance and the JSON record of how they were made."""
    photos = load_photographs()
    data = np.concatenate([patches(image) for _, image in photos])
    cov = np.cov(data, rowvar=False)
    eigvals = np.sort(np.linalg.eigvalsh(cov))[::-1].copy()
    if eigvals[-1] <= 0:
        raise SystemExit(f"covariance is not positive definite (smallest eigenvalue {eigvals[-1]:g})")
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
    return eigvals, meta


def main(argv=None):
    """Write ``patches8x8_eigvals.npy`` and its ``.json`` into ``--out`` (default: the package's data folder)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from gaussian._io import check_writable_folder, write_bytes_atomic, write_text_atomic

    parser = argparse.ArgumentParser(prog="python scripts/make_patch_spectrum.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(OUT_DIR), help=f"output folder (default {OUT_DIR})")
    args = parser.parse_args(argv)
    try:
        out = check_writable_folder(args.out, "--out")
    except ValueError as err:
        parser.error(str(err))
    eigvals, meta = spectrum_and_meta()
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.save(buf, eigvals)
    write_bytes_atomic(out / "patches8x8_eigvals.npy", buf.getvalue())
    write_text_atomic(out / "patches8x8_eigvals.json", json.dumps(meta, indent=2) + "\n")
    print(f"{meta['num_patches']} patches from {len(meta['sources'])} photographs; "
          f"eigvals {eigvals[0]:.4g} .. {eigvals[-1]:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
