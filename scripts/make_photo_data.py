"""Make ``empirical/data/photos_rgb.npz``: the colour photographs of the image model, area-downsampled by 4, uint8.

Nothing is downloaded: the photographs are the colour ones that
``scripts/make_image_model.py`` fits the stationary image model to (scikit-image
and scikit-learn ship them; ``scripts/make_patch_spectrum.py`` lists them).
Kodak is never touched: it is the held-out evaluation set. Each photograph's
uint8 RGB pixels are averaged over non-overlapping 4x4 blocks (the image
cropped to a multiple of 4, as ``make_image_model.area_downsample``) and
rounded to the nearest integer, ties to even: the block sum is an exact
integer, so the result is the same on every machine.

The file holds ``photo_<k>`` ``[H_k, W_k, 3]`` uint8 arrays and ``names`` (the
sources, in order); :func:`empirical.data.photos` takes the photographs of
:data:`TEST_PHOTOS` as the test split and the others for training.

Usage (needs ``pip install scikit-image scikit-learn``)::

    python scripts/make_photo_data.py              # rewrites empirical/data/photos_rgb.npz
    python scripts/make_photo_data.py --out DIR    # writes elsewhere (a test compares with the package)
"""
from __future__ import annotations

import argparse
import io
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_patch_spectrum import load_photographs  # noqa: E402

OUT_DIR = pathlib.Path(__file__).resolve().parent.parent / "empirical" / "data"
FACTOR = 4
FILENAME = "photos_rgb.npz"


def downsample_uint8(image, factor: int = FACTOR) -> np.ndarray:
    """Mean over ``factor x factor`` blocks of a uint8 ``[H, W, 3]`` image, rounded half to even, uint8."""
    image = np.asarray(image)[..., :3].astype(np.int64)
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    sums = image[:h, :w].reshape(h // factor, factor, w // factor, factor, 3).sum(axis=(1, 3))
    return np.rint(sums / factor**2).astype(np.uint8)  # sums / 16 is exact in float64


def photos():
    """``(names, images)``: every bundled colour photograph, downsampled."""
    out = [(name, downsample_uint8(im)) for name, im in load_photographs(convert=np.asarray)
           if im.ndim == 3 and im.shape[-1] >= 3]
    return [name for name, _ in out], [im for _, im in out]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(OUT_DIR), help="output folder (default: the package's empirical/data)")
    args = p.parse_args(argv)
    names, images = photos()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, names=np.array(names), **{f"photo_{k}": im for k, im in enumerate(images)})
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from gaussian import _io

    _io.write_bytes_atomic(out / FILENAME, buffer.getvalue())
    for name, im in zip(names, images):
        print(f"{name}: {im.shape[0]}x{im.shape[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
