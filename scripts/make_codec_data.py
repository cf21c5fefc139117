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

    python scripts/make_codec_data.py              # rewrites empirical/data/
    python scripts/make_codec_data.py --out DIR    # writes elsewhere (the tests compare with the package)

The output is the same on every machine: the luma is an exact integer sum
(see ``to_gray_uint8``), the split a seeded permutation, and each file is
written to a temporary name and renamed (never a partial file).
"""
from __future__ import annotations

import argparse
import io
import json
import pathlib
import sys
from fractions import Fraction

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_patch_spectrum import PATCH, load_photographs, patches  # noqa: E402

OUT_DIR = pathlib.Path(__file__).resolve().parent.parent / "empirical" / "data"
SPLIT_SEED = 20220617  # arXiv 2206.08889 submission date; any fixed value would do
NUM_TRAIN = 12288
NUM_TEST = 4096
DIGITS_TEST_FRACTION = 0.2


_LUMA = (Fraction(0.299), Fraction(0.587), Fraction(0.114))  # the float64 weights, exactly


def _round_to_float64(x):
    """``x`` (a Fraction) rounded to the nearest float64, ties to even, as a Fraction."""
    return Fraction(float(x))


def _tie_rounds_up(r, g, b):
    """Whether a luma of exactly ``k + 1/2`` went up in the stored data.

    The package data was made with the float64 luma that OpenBLAS's ``dgemv``
    returned for ``rgb @ (0.299, 0.587, 0.114)``, which is
    ``fma(b, 0.114, fma(r, 0.299, g * 0.587))`` (checked on all 593 exact
    ties of the eight photographs), then ``rint``. That float lands a few ulps
    either side of ``k + 1/2``; here it is evaluated in exact rational
    arithmetic with one rounding per operation, so every machine decides the
    same way (another BLAS, or no FMA, would flip some ties).
    """
    w_r, w_g, w_b = _LUMA
    t = _round_to_float64(g * w_g)
    s = _round_to_float64(r * w_r + t)
    v = _round_to_float64(b * w_b + s)
    k = (299 * r + 587 * g + 114 * b) // 1000
    half = Fraction(2 * k + 1, 2)
    return v > half or (v == half and k % 2 == 1)


def to_gray_uint8(image):
    """8-bit grayscale image: ITU-R 601 luma of the uint8 RGB image, rounded to the nearest integer.

    ``1000 * luma = 299 r + 587 g + 114 b`` is an exact integer, so the
    rounding is exact unless the luma is exactly ``k + 1/2``; those ties are
    decided as in the stored data (``_tie_rounds_up``). Same bytes on any machine.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise SystemExit(f"expected a uint8 photograph, got {image.dtype}")
    if image.ndim == 3:
        rgb = image[..., :3].astype(np.int64)
        milli = rgb @ np.array([299, 587, 114], dtype=np.int64)
        k, rest = np.divmod(milli, 1000)
        luma = k + (rest > 500)
        for i, j in np.argwhere(rest == 500):
            r, g, b = (int(v) for v in rgb[i, j])
            luma[i, j] += _tie_rounds_up(r, g, b)
        image = luma.astype(np.uint8)
    return image


def load_photographs_uint8():
    """(name, 8-bit grayscale image) for every bundled photograph, in the order of make_patch_spectrum."""
    return load_photographs(to_gray_uint8)


def _npz_bytes(**arrays):
    """``np.savez_compressed`` of ``arrays`` into memory."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def make_patches():
    """The patch splits ``{"train", "test"}`` (uint8 [N, 8, 8]) and their metadata."""
    photos = load_photographs_uint8()
    pool = np.concatenate([patches(image.astype(np.float64)) for _, image in photos])
    pool = pool.astype(np.uint8).reshape(-1, PATCH, PATCH)
    rng = np.random.default_rng(np.random.SeedSequence([SPLIT_SEED, 1]))
    order = rng.permutation(pool.shape[0])
    train = pool[order[:NUM_TRAIN]]
    test = pool[order[NUM_TRAIN:NUM_TRAIN + NUM_TEST]]
    return {"train": train, "test": test}, {
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
    """The digit splits (images uint8 [N, 8, 8], labels uint8 [N]) and their metadata."""
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
    arrays = {
        "train_images": images[train_idx],
        "train_labels": labels[train_idx],
        "test_images": images[test_idx],
        "test_labels": labels[test_idx],
    }
    constant = np.flatnonzero(images.reshape(images.shape[0], -1).std(axis=0) == 0)
    return arrays, {
        "file": "digits8x8.npz",
        "source": "sklearn.datasets.load_digits (UCI optical recognition of handwritten digits, 8x8)",
        "num_train": int(train_idx.size),
        "num_test": int(test_idx.size),
        "split": f"numpy default_rng(SeedSequence([{SPLIT_SEED}, 2])).permutation(1797): first "
        f"{num_test} test, rest train",
        "pixel": "uint8 v in 0..16; value v / 8 - 1 in [-1, 1]",
        "constant_pixels_all_data": constant.tolist(),
    }


def main(argv=None):
    """Write the two ``.npz`` files and ``codec_data.json`` into ``--out`` (default: empirical's data folder)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from gaussian._io import check_writable_folder, write_bytes_atomic, write_text_atomic

    parser = argparse.ArgumentParser(prog="python scripts/make_codec_data.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(OUT_DIR), help=f"output folder (default {OUT_DIR})")
    args = parser.parse_args(argv)
    try:
        out = check_writable_folder(args.out, "--out")
    except ValueError as err:
        parser.error(str(err))
    patch_arrays, patch_meta = make_patches()
    digit_arrays, digit_meta = make_digits()
    meta = {"made_by": "scripts/make_codec_data.py", "patches": patch_meta, "digits": digit_meta}
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / "patches8x8.npz", _npz_bytes(**patch_arrays))
    write_bytes_atomic(out / "digits8x8.npz", _npz_bytes(**digit_arrays))
    write_text_atomic(out / "codec_data.json", json.dumps(meta, indent=2) + "\n")
    for name in ("patches8x8.npz", "digits8x8.npz"):
        print(f"{name}: {(out / name).stat().st_size} bytes")
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
