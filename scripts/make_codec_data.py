"""Make the offline data sets of ``empirical.data``: 8x8 photo patches and sklearn's digits.

Nothing is downloaded: the photographs ship inside scikit-image
(``skimage.data``) and scikit-learn (``sklearn.datasets.load_sample_images``),
the same eight as ``scripts/make_patch_spectrum.py`` (whose photo list and
patch extraction are reused), and the digits ship with scikit-learn
(``sklearn.datasets.load_digits``). Both are stored as uint8 so that the
package needs neither library at run time:

- ``empirical/data/patches8x8.npz``: ``train`` [NUM_TRAIN, 8, 8] and ``test``
  [NUM_TEST, 8, 8] uint8 grayscale patches (ITU-R 601 luma of the uint8 RGB
  photograph, rounded to the nearest integer; pixel value ``2 v / 255 - 1`` in
  [-1, 1]); a fixed seeded draw without replacement from all non-overlapping
  patches of the photographs, train and test disjoint.
- ``empirical/data/digits8x8.npz``: ``train_images``/``test_images`` [N, 8, 8]
  uint8 in 0..16 and ``train_labels``/``test_labels``; a fixed seeded 80/20
  split of all 1797 digits (pixel value ``v / 8 - 1`` in [-1, 1]).
- ``empirical/data/codec_data.json``: how the files were made.

Usage (needs ``pip install scikit-image scikit-learn``)::

    python scripts/make_codec_data.py
"""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_patch_spectrum import PATCH, load_photographs, patches  # noqa: E402

OUT_DIR = pathlib.Path(__file__).resolve().parent.parent / "empirical" / "data"
SPLIT_SEED = 20220617  # arXiv 2206.08889 submission date; any fixed value would do
NUM_TRAIN = 12288
NUM_TEST = 4096
DIGITS_TEST_FRACTION = 0.2


def to_gray_uint8(image):
    """8-bit grayscale image: ITU-R 601 luma of the uint8 RGB image, rounded half to even."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise SystemExit(f"expected a uint8 photograph, got {image.dtype}")
    if image.ndim == 3:
        luma = image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        image = np.rint(luma).astype(np.uint8)
    return image


def load_photographs_uint8():
    """(name, 8-bit grayscale image) for every bundled photograph, in the order of make_patch_spectrum."""
    return load_photographs(to_gray_uint8)


def make_patches():
    """Write patches8x8.npz; return its metadata."""
    photos = load_photographs_uint8()
    pool = np.concatenate([patches(image.astype(np.float64)) for _, image in photos])
    pool = pool.astype(np.uint8).reshape(-1, PATCH, PATCH)
    rng = np.random.default_rng(np.random.SeedSequence([SPLIT_SEED, 1]))
    order = rng.permutation(pool.shape[0])
    train = pool[order[:NUM_TRAIN]]
    test = pool[order[NUM_TRAIN:NUM_TRAIN + NUM_TEST]]
    np.savez_compressed(OUT_DIR / "patches8x8.npz", train=train, test=test)
    return {
        "file": "patches8x8.npz",
        "sources": [name for name, _ in photos],
        "pool_size": int(pool.shape[0]),
        "num_train": NUM_TRAIN,
        "num_test": NUM_TEST,
        "split": f"numpy default_rng(SeedSequence([{SPLIT_SEED}, 1])).permutation(pool): first "
        f"{NUM_TRAIN} train, next {NUM_TEST} test",
        "pixel": "uint8 luma v (ITU-R 601, rounded); value 2 v / 255 - 1 in [-1, 1]",
    }


def make_digits():
    """Write digits8x8.npz; return its metadata."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)
    if not np.array_equal(images, digits.images):
        raise SystemExit("digits: expected integer pixels 0..16")
    labels = digits.target.astype(np.uint8)
    rng = np.random.default_rng(np.random.SeedSequence([SPLIT_SEED, 2]))
    order = rng.permutation(images.shape[0])
    num_test = int(round(DIGITS_TEST_FRACTION * images.shape[0]))
    test_idx, train_idx = order[:num_test], order[num_test:]
    np.savez_compressed(
        OUT_DIR / "digits8x8.npz",
        train_images=images[train_idx],
        train_labels=labels[train_idx],
        test_images=images[test_idx],
        test_labels=labels[test_idx],
    )
    constant = np.flatnonzero(images.reshape(images.shape[0], -1).std(axis=0) == 0)
    return {
        "file": "digits8x8.npz",
        "source": "sklearn.datasets.load_digits (UCI optical recognition of handwritten digits, 8x8)",
        "num_train": int(train_idx.size),
        "num_test": int(test_idx.size),
        "split": f"numpy default_rng(SeedSequence([{SPLIT_SEED}, 2])).permutation(1797): first "
        f"{num_test} test, rest train",
        "pixel": "uint8 v in 0..16; value v / 8 - 1 in [-1, 1]",
        "constant_pixels_all_data": constant.tolist(),
    }


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    meta = {"made_by": "scripts/make_codec_data.py", "patches": make_patches(), "digits": make_digits()}
    (OUT_DIR / "codec_data.json").write_text(json.dumps(meta, indent=2) + "\n")
    for name in ("patches8x8.npz", "digits8x8.npz"):
        print(f"{name}: {(OUT_DIR / name).stat().st_size} bytes")
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
