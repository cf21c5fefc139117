"""Image quality and realism measures for images in [-1, 1] (``[H, W, C]`` float arrays).

- :func:`psnr_db`: ``10 log10(peak^2 / MSE)`` with the peak-to-peak range 2 of [-1, 1]
  (the same number as ``255^2 / MSE`` on 8-bit pixels).
- :func:`ms_ssim`: multi-scale SSIM (Wang, Simoncelli, Bovik 2003) on the 8-bit scale
  (``L = 255``, ``K1 = 0.01``, ``K2 = 0.03``, 11-tap Gaussian window of std 1.5, valid
  filtering, 2x2 average pooling between scales, the standard scale weights
  ``0.0448 .. 0.1333``), averaged over channels. Small images get fewer scales:
  the most for which the coarsest still holds the 11-tap window (:func:`ms_ssim_scales`),
  with the weights renormalised; a 96x64 image has 3.
- Realism proxies between two *sets* of images (a perfect-realism codec's
  reconstructions are distributed like real images):
  :func:`spectrum_error_db`, the RMS over radial frequency bins of the dB
  difference of the set-averaged radially averaged power spectra, and
  :func:`sliced_w2`, the sliced 2-Wasserstein distance between the sets'
  non-overlapping 8x8 patches. Each has a reference value: the same distance
  between two disjoint sets of originals.
"""
from __future__ import annotations

import numpy as np

__all__ = ["psnr_db", "ms_ssim", "ms_ssim_scales", "ssim_single", "radial_spectrum", "spectrum_error_db",
           "patch_vectors", "sliced_w2", "MS_SSIM_WEIGHTS"]

MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
WINDOW = 11
WINDOW_STD = 1.5
SPECTRUM_BINS = 12
PATCH = 8
SLICES = 128
QUANTILES = 256


def psnr_db(x, y) -> float:
    """PSNR in dB of ``y`` against ``x`` (pixels in [-1, 1], peak-to-peak 2); ``inf`` if equal."""
    mse = float(np.mean((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(4.0 / mse))


def _window() -> np.ndarray:
    t = np.arange(WINDOW) - (WINDOW - 1) / 2.0
    g = np.exp(-0.5 * (t / WINDOW_STD) ** 2)
    return g / g.sum()


def _filter(img) -> np.ndarray:
    """Separable 11-tap Gaussian filter, 'valid' region, of a 2-D array."""
    from scipy.signal import convolve

    g = _window()
    return convolve(convolve(img, g[:, None], mode="valid"), g[None, :], mode="valid")


def _ssim_parts(a, b):
    """``(mean SSIM, mean contrast-structure term)`` of two 2-D arrays on the 8-bit scale."""
    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    mu_a, mu_b = _filter(a), _filter(b)
    var_a = _filter(a * a) - mu_a**2
    var_b = _filter(b * b) - mu_b**2
    cov = _filter(a * b) - mu_a * mu_b
    cs = (2.0 * cov + c2) / (var_a + var_b + c2)
    lum = (2.0 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    return float(np.mean(lum * cs)), float(np.mean(cs))


def ms_ssim_scales(height: int, width: int) -> int:
    """Scales used for an image: at most 5, the coarsest at least the 11-tap window on its shorter side."""
    side, scales = min(height, width), 0
    while scales < 5 and side >= WINDOW:
        scales += 1
        side //= 2
    if scales == 0:
        raise ValueError(f"image: {height}x{width} is smaller than the {WINDOW}x{WINDOW} SSIM window")
    return scales


def _to_255(x) -> np.ndarray:
    return (np.asarray(x, np.float64) + 1.0) * 127.5


def ssim_single(x, y) -> float:
    """Single-scale SSIM (mean over channels) of images in [-1, 1], on the 8-bit scale."""
    a, b = _to_255(x), _to_255(y)
    return float(np.mean([_ssim_parts(a[..., c], b[..., c])[0] for c in range(a.shape[-1])]))


def ms_ssim(x, y) -> float:
    """MS-SSIM (see the module docstring) of ``y`` against ``x``, ``[H, W, C]`` in [-1, 1]."""
    a, b = _to_255(x), _to_255(y)
    scales = ms_ssim_scales(a.shape[0], a.shape[1])
    weights = MS_SSIM_WEIGHTS[:scales] / MS_SSIM_WEIGHTS[:scales].sum()
    values = []
    for c in range(a.shape[-1]):
        p, q = a[..., c], b[..., c]
        total = 1.0
        for s in range(scales):
            ssim, cs = _ssim_parts(p, q)
            term = ssim if s == scales - 1 else cs
            total *= max(term, 0.0) ** weights[s]
            if s < scales - 1:
                h, w = (p.shape[0] // 2) * 2, (p.shape[1] // 2) * 2
                p = p[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
                q = q[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        values.append(total)
    return float(np.mean(values))


def radial_spectrum(x) -> np.ndarray:
    """``[SPECTRUM_BINS]`` radially averaged periodogram of an image (channel mean removed, averaged over
    channels), in bins of ``|f|`` over (0, 0.5] cycles per pixel (DC and the corners beyond 0.5 left out)."""
    x = np.asarray(x, np.float64)
    h, w = x.shape[:2]
    centred = x - x.mean(axis=(0, 1))
    power = np.mean(np.abs(np.fft.fft2(centred, axes=(0, 1))) ** 2, axis=2) / (h * w)
    f = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2)
    edges = np.linspace(0.0, 0.5, SPECTRUM_BINS + 1)
    which = np.digitize(f, edges[1:], right=True)
    inside = (f > 0) & (f <= 0.5)
    sums = np.bincount(which[inside], power[inside], SPECTRUM_BINS)
    counts = np.bincount(which[inside], minlength=SPECTRUM_BINS)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def spectrum_error_db(images_a, images_b) -> float:
    """RMS over the radial bins of ``10 log10`` of the ratio of the two sets' mean radial spectra (dB).

    Bins that hold no frequency of some image (tiny images) or no power are left out.
    """
    pa = np.mean([radial_spectrum(x) for x in images_a], axis=0)
    pb = np.mean([radial_spectrum(x) for x in images_b], axis=0)
    ok = np.isfinite(pa) & np.isfinite(pb) & (pa > 0) & (pb > 0)
    if not ok.any():
        raise ValueError("images_a: no frequency bin holds power in both sets")
    return float(np.sqrt(np.mean((10.0 * np.log10(pa[ok] / pb[ok])) ** 2)))


def patch_vectors(images) -> np.ndarray:
    """All non-overlapping 8x8 patches of the images as rows of ``64 C`` numbers."""
    rows = []
    for x in images:
        x = np.asarray(x, np.float64)
        h, w = (x.shape[0] // PATCH) * PATCH, (x.shape[1] // PATCH) * PATCH
        blocks = x[:h, :w].reshape(h // PATCH, PATCH, w // PATCH, PATCH, -1).transpose(0, 2, 1, 3, 4)
        rows.append(blocks.reshape(-1, PATCH * PATCH * x.shape[2]))
    return np.concatenate(rows)


def sliced_w2(images_a, images_b, seed: int = 0) -> float:
    """Sliced 2-Wasserstein distance between the 8x8-patch distributions of two image sets.

    ``SLICES`` random unit directions (seeded); along each the squared W2 distance of the
    two empirical distributions, from their quantile functions at ``QUANTILES`` mid-levels;
    the square root of the mean over directions.
    """
    pa, pb = patch_vectors(images_a), patch_vectors(images_b)
    if pa.shape[1] != pb.shape[1]:
        raise ValueError("images_b: the two sets have different channel counts")
    rng = np.random.default_rng(np.random.SeedSequence([0x5E1C, seed]))
    dirs = rng.standard_normal((pa.shape[1], SLICES))
    dirs /= np.linalg.norm(dirs, axis=0)
    levels = (np.arange(QUANTILES) + 0.5) / QUANTILES
    qa = np.quantile(pa @ dirs, levels, axis=0)
    qb = np.quantile(pb @ dirs, levels, axis=0)
    return float(np.sqrt(np.mean((qa - qb) ** 2)))
