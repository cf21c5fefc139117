"""Fit the stationary Gaussian image model of ``gaussian.image_model`` to the bundled photographs.

Nothing is downloaded: the photographs are the colour ones of
``scripts/make_patch_spectrum.py`` (scikit-image and scikit-learn ship them;
the grayscale model also uses ``skimage.data.camera``). Kodak is never
touched: it is the held-out evaluation set. The fit, in four stages:

1. Pixels ``2 v / 255 - 1`` in [-1, 1]. Each photograph is area-downsampled by
   every factor of ``SCALES`` (the scale of the evaluation: Kodak's 768x512
   by 8 is 96x64), then cut into non-overlapping ``TILE x TILE`` tiles.
2. Colour: the mean RGB pixel and the eigenvectors of the 3x3 pixel
   covariance over all tiles (columns sorted by variance, signs making each
   column sum positive) give the orthogonal colour basis ``U``; grayscale uses
   the ITU-R 601 luma of the same photographs and ``camera``.
3. Per colour component ``c``, the mean squared orthonormal DCT-II coefficient
   ``P_c(k, l)`` over the tiles, at frequency ``f = sqrt(k^2 + l^2) / (2 TILE)``
   cycles per pixel, ``(k, l) != (0, 0)``.
4. The smooth law ``lam_c(f) = A_c (f0_c^2 + f^2)^(-P_c / 2)`` fitted to
   ``log P_c`` by least squares (``f0_c`` on a log grid, ``log A_c`` and
   ``P_c`` linear for each), one equation per DCT coefficient.

Writes ``gaussian/data/image_model.json`` (parameters, sources, the fit's
residual in dB) through a temporary file and a rename. Usage (needs
``pip install scikit-image scikit-learn``)::

    python scripts/make_image_model.py             # rewrites gaussian/data/image_model.json
    python scripts/make_image_model.py --out DIR   # writes elsewhere (a test compares with the package)
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_patch_spectrum import load_photographs  # noqa: E402

OUT_DIR = pathlib.Path(__file__).resolve().parent.parent / "gaussian" / "data"
SCALES = (4, 8)
TILE = 32
CUTOFF_GRID = np.geomspace(1e-3, 0.2, 161)
LUMA = np.array([0.299, 0.587, 0.114])


def _unit(image) -> np.ndarray:
    """Pixels in [-1, 1], float64, shape [H, W, channels]."""
    image = np.asarray(image, dtype=np.float64) / 255.0 * 2.0 - 1.0
    return image[..., None] if image.ndim == 2 else image[..., :3]


def area_downsample(image, factor: int) -> np.ndarray:
    """Mean over ``factor x factor`` blocks (the image cropped to a multiple of ``factor``)."""
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    return image[:h, :w].reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def tiles(image, size: int = TILE) -> np.ndarray:
    """All non-overlapping ``size x size`` tiles, ``[n, size, size, channels]``."""
    rows, cols = image.shape[0] // size, image.shape[1] // size
    cut = image[:rows * size, :cols * size]
    return cut.reshape(rows, size, cols, size, -1).transpose(0, 2, 1, 3, 4).reshape(-1, size, size, image.shape[-1])


def fit_power_law(freqs, power):
    """``(A, P, f0, rms_db)`` of ``log power ~ log A - P/2 log(f0^2 + f^2)`` (least squares, f0 on a grid)."""
    y = np.log(power)
    best = None
    for f0 in CUTOFF_GRID:
        design = np.stack([np.ones_like(freqs), -0.5 * np.log(f0**2 + freqs**2)], axis=1)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        sse = float(resid @ resid)
        if best is None or sse < best[0]:
            best = (sse, float(np.exp(coef[0])), float(coef[1]), float(f0))
    sse, amplitude, exponent, f0 = best
    rms_db = 10.0 / np.log(10.0) * np.sqrt(sse / y.size)
    return amplitude, exponent, f0, float(rms_db)


def fit(images, colour: bool) -> dict:
    """The model's parameters for ``images`` (``[H, W, 3]`` in [-1, 1]); grayscale if not ``colour``."""
    from scipy.fft import dctn

    stack = [tiles(area_downsample(im if colour else (im @ LUMA)[..., None] if im.shape[-1] == 3 else im, s))
             for im in images for s in SCALES]
    stack = np.concatenate(stack)
    pixels = stack.reshape(-1, stack.shape[-1])
    mean = pixels.mean(axis=0)
    if colour:
        var, basis = np.linalg.eigh(np.cov(pixels.T))
        basis = basis[:, np.argsort(var)[::-1]]
        basis = basis * np.sign(basis.sum(axis=0))
    else:
        basis = np.ones((1, 1))
    coeffs = dctn((stack - mean) @ basis, axes=(1, 2), norm="ortho")
    power = np.mean(coeffs**2, axis=0)                      # [TILE, TILE, channels]
    k = np.arange(TILE) / (2.0 * TILE)
    freqs = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2).ravel()[1:]
    components = []
    for c in range(basis.shape[1]):
        amplitude, exponent, f0, rms_db = fit_power_law(freqs, power[..., c].ravel()[1:])
        components.append({"amplitude": amplitude, "exponent": exponent, "cutoff_cycles_per_pixel": f0,
                           "fit_rms_db": rms_db})
    return {"mean": mean.tolist(), "colour_basis": basis.tolist(), "components": components,
            "num_tiles": int(stack.shape[0])}


def model_and_meta():
    """The JSON record: ``rgb`` and ``gray`` parameter sets, and how they were made."""
    photos = load_photographs(convert=_unit)
    rgb = [(name, im) for name, im in photos if im.shape[-1] == 3]
    everything = [im for _, im in photos]
    return {
        "name": "stationary image model",
        "description": ("pixels in [-1, 1]; covariance diagonal in colour basis x orthonormal 2-D DCT-II; variance "
                        "of DCT coefficient (k, l) of an H x W image in colour component c: A_c (f0_c^2 + f^2)^(-P_c/2), "
                        "f = sqrt((k / 2H)^2 + (l / 2W)^2) cycles per pixel"),
        "made_by": "scripts/make_image_model.py",
        "scales": list(SCALES),
        "tile": TILE,
        "rgb": dict(fit([im for _, im in rgb], colour=True), sources=[name for name, _ in rgb]),
        "gray": dict(fit(everything, colour=False), sources=[name for name, _ in photos]),
    }


def main(argv=None):
    """Write ``image_model.json`` into ``--out`` (default: the package's ``gaussian/data``)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from gaussian._io import check_writable_folder, write_text_atomic

    parser = argparse.ArgumentParser(prog="python scripts/make_image_model.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(OUT_DIR), help=f"output folder (default {OUT_DIR})")
    args = parser.parse_args(argv)
    try:
        out = check_writable_folder(args.out, "--out")
    except ValueError as err:
        parser.error(str(err))
    record = model_and_meta()
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "image_model.json", json.dumps(record, indent=2) + "\n")
    for kind in ("rgb", "gray"):
        parts = [f"A {c['amplitude']:.4g} P {c['exponent']:.3f} f0 {c['cutoff_cycles_per_pixel']:.3g} "
                 f"(rms {c['fit_rms_db']:.2f} dB)" for c in record[kind]["components"]]
        print(f"{kind}: {record[kind]['num_tiles']} tiles; " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
