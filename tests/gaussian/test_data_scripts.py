"""The package data re-made by its scripts (needs scikit-image and scikit-learn, in the [test] extra).

The scripts write into a temporary folder (``--out``); the package data is only read, never rewritten.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import pathlib

import numpy as np
import pytest

from gaussian import spectrum

ROOT = pathlib.Path(__file__).resolve().parents[2]
EMPIRICAL_DATA = ROOT / "empirical" / "data"
PACKAGE_FILES = [spectrum.PATCHES_FILE, spectrum.PATCHES_FILE.with_suffix(".json"),
                 EMPIRICAL_DATA / "patches8x8.npz", EMPIRICAL_DATA / "digits8x8.npz", EMPIRICAL_DATA / "codec_data.json",
                 EMPIRICAL_DATA / "photos_rgb.npz",
                 ROOT / "gaussian" / "data" / "image_model.json"]


def _script(name):
    pytest.importorskip("skimage")
    pytest.importorskip("sklearn")
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def _digests():
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in PACKAGE_FILES}


def test_patch_spectrum_script_reproduces_the_package_data(tmp_path, capsys):
    """make_patch_spectrum.py --out TMP gives the shipped eigenvalues up to float64 rounding, and the same record.

    Tolerance: np.cov of N = 32438 patches carries about (log2 N + 8) eps relative error per entry
    (pairwise sums, the grey conversion), so by Weyl each eigenvalue moves by at most
    ||dC||_2 <= 64 (log2 N + 8) eps lambda_max (~6e-12 here, 5e-9 of the smallest eigenvalue).
    """
    before = _digests()
    script = _script("make_patch_spectrum")
    assert script.main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    made = np.load(tmp_path / "patches8x8_eigvals.npy")
    shipped = spectrum.patches().eigvals
    meta = json.loads((tmp_path / "patches8x8_eigvals.json").read_text())
    ref = json.loads(spectrum.PATCHES_FILE.with_suffix(".json").read_text())
    eps = np.finfo(float).eps
    atol = 64 * (math.log2(meta["num_patches"]) + 8) * eps * shipped[0]
    assert made.shape == shipped.shape
    assert np.all(np.abs(made - shipped) <= atol + 8 * eps * shipped)
    assert meta.pop("trace") == pytest.approx(ref.pop("trace"), rel=0, abs=64 * atol)
    assert meta == ref
    assert _digests() == before  # the package data was not touched


def test_codec_data_script_reproduces_the_package_data(tmp_path, capsys):
    """make_codec_data.py --out TMP gives the stored uint8 patches and digits exactly, and the same record."""
    before = _digests()
    script = _script("make_codec_data")
    assert script.main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    for name in ("patches8x8.npz", "digits8x8.npz"):
        with np.load(tmp_path / name) as made, np.load(EMPIRICAL_DATA / name) as shipped:
            assert sorted(made.files) == sorted(shipped.files)
            for key in shipped.files:
                assert made[key].dtype == shipped[key].dtype
                np.testing.assert_array_equal(made[key], shipped[key])
    made_meta = json.loads((tmp_path / "codec_data.json").read_text())
    assert made_meta == json.loads((EMPIRICAL_DATA / "codec_data.json").read_text())
    assert _digests() == before


def test_photo_data_script_reproduces_the_package_data(tmp_path, capsys):
    """make_photo_data.py --out TMP gives the stored uint8 photographs exactly; each is the rounded 4x4 block mean of
    its source (checked here with integer arithmetic: |16 v - block sum| <= 8)."""
    before = _digests()
    script = _script("make_photo_data")
    assert script.main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    with np.load(tmp_path / "photos_rgb.npz") as made, np.load(EMPIRICAL_DATA / "photos_rgb.npz") as shipped:
        assert sorted(made.files) == sorted(shipped.files)
        for key in shipped.files:
            np.testing.assert_array_equal(made[key], shipped[key])
        sources = dict(script.load_photographs(convert=np.asarray))
        for k, name in enumerate(shipped["names"]):
            full = sources[str(name)][..., :3].astype(np.int64)
            small = shipped[f"photo_{k}"].astype(np.int64)
            h, w = small.shape[:2]
            sums = full[:4 * h, :4 * w].reshape(h, 4, w, 4, 3).sum(axis=(1, 3))
            assert np.abs(16 * small - sums).max() <= 8
    assert _digests() == before


def test_image_model_script_reproduces_the_package_data(tmp_path, capsys):
    """make_image_model.py --out TMP gives the shipped parameters: the same sources and tile counts, every number
    within 1e-9 relative (sums over ~10^5 pixels and a least-squares fit, float64; the f0 grid is exact)."""
    from gaussian import image_model

    before = _digests()
    script = _script("make_image_model")
    assert script.main(["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    made = json.loads((tmp_path / "image_model.json").read_text())
    shipped = json.loads(image_model.MODEL_FILE.read_text())

    def compare(a, b, where):
        if isinstance(a, dict):
            assert sorted(a) == sorted(b), where
            for key in a:
                compare(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list):
            assert len(a) == len(b), where
            for i, (u, v) in enumerate(zip(a, b)):
                compare(u, v, f"{where}[{i}]")
        elif isinstance(a, float):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
        else:
            assert a == b, where

    compare(made, shipped, "image_model")
    assert _digests() == before


def test_image_model_fit_follows_the_photographs():
    """The fitted law is within 3 dB RMS of the measured DCT power of the training tiles, per colour component,
    and the colour basis is orthogonal (what the oracle's exactness needs)."""
    from gaussian import image_model

    record = json.loads(image_model.MODEL_FILE.read_text())
    for kind in ("rgb", "gray"):
        for comp in record[kind]["components"]:
            assert 0 < comp["fit_rms_db"] < 3.0
            assert 1.0 < comp["exponent"] < 4.0
        basis = np.array(record[kind]["colour_basis"])
        np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[0]), atol=1e-12)
    assert "kodak" not in json.dumps(record).lower()  # fitted on the bundled photographs only


def test_luma_is_exact_and_ties_follow_the_stored_rule():
    """Away from ties the luma is the exact rounding of (299 r + 587 g + 114 b) / 1000; ties follow the fma rule.

    Independent check: every non-tie pixel of a random image equals np.rint of the float64 luma (any
    summation order is within 1e-12 of the exact value, and a non-tie is 1e-3 from the boundary).
    """
    script = _script("make_codec_data")
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    gray = script.to_gray_uint8(image)
    rgb = image.astype(np.int64)
    milli = rgb @ np.array([299, 587, 114])
    ties = milli % 1000 == 500
    float_luma = np.rint(rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114)
    np.testing.assert_array_equal(gray[~ties], float_luma[~ties])
    assert ties.sum() > 0
    assert np.all(np.abs(gray[ties].astype(np.int64) * 1000 - milli[ties]) == 500)   # a tie goes to one of its two neighbours
    # (r, g, b) = (10, 0, 5): 2990 + 570 = 3560 -> 3.56 -> 4 (no tie); (0, 0, 5): 0.57 -> 1
    assert script.to_gray_uint8(np.array([[[10, 0, 5], [0, 0, 5]]], dtype=np.uint8)).tolist() == [[4, 1]]


def test_test_extra_installs_the_data_libraries():
    """CI runs pip install -e ".[test]": the extra must bring scikit-image and scikit-learn, or the tests above skip."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    names = {line.split(">")[0].split("=")[0].strip() for line in cfg["options.extras_require"]["test"].split("\n")}
    assert {"scikit-image", "scikit-learn"} <= names
