"""Every figure script runs at reduced size and writes a non-empty PNG and its JSON."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("matplotlib")

from figures import __main__ as figures_main  # noqa: E402


@pytest.mark.parametrize("name", figures_main.FIGURES)
def test_figure_writes_png_and_json(tmp_path, name, capsys):
    assert figures_main.main(["--out", str(tmp_path), "--only", name, "--quick"]) == 0
    png = tmp_path / f"{name}.png"
    assert png.stat().st_size > 5000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / f"{name}.json").read_text())
    assert data
    assert name in capsys.readouterr().out
    if name == "measured_sources":  # every source has a closed-form rate and distortion for its points
        for entry in data.values():
            assert all(g["predicted_kl_bits_per_dim"] > 0 for g in entry["rate_gaps"])
            assert len(entry["comparisons"]) == len(entry["points"]) > 0
    if name == "reconstructions":  # one stream per image: prefixes are nested, so bits grow with the prefix
        for entry in data.values():
            for image in entry["images"]:
                assert len(image["flow"]) == len(image["ancestral"]) == len(entry["spec"]["stop_steps"])
                assert image["payload_bits_per_dim"] == sorted(image["payload_bits_per_dim"])


def test_unknown_figure_is_an_error(capsys):
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "nope"])
    assert exc.value.code == 2


def test_missing_extra_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    """A measured figure without the [empirical] extra: exit 2 naming the module and the extra, no traceback."""
    def fail(name):
        raise ImportError("No module named 'constriction'", name="constriction")

    monkeypatch.setattr(figures_main.importlib, "import_module", fail)
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "reconstructions", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "constriction" in err and "[plot,empirical]" in err


@pytest.mark.parametrize("argv, word", [
    (["--checkpoint", "digits"], "digits=PATH"),
    (["--checkpoint", "faces=x.pt"], "digits=PATH"),
    (["--checkpoint", "digits=no/such/file.pt"], "no such file"),
    (["--only", "gap_db", "--checkpoint", "digits=PLACEHOLDER"], "reconstructions alone"),
])
def test_checkpoint_errors(tmp_path, capsys, argv, word):
    """--checkpoint: bad form, unknown data, missing file, or other figures: exit 2 with one line."""
    real = tmp_path / "m.pt"
    real.write_bytes(b"not a checkpoint")
    argv = [a.replace("PLACEHOLDER", str(real)) for a in argv]
    if "--only" not in argv:
        argv = ["--only", "reconstructions"] + argv
    with pytest.raises(SystemExit) as exc:
        figures_main.main(argv + ["--out", str(tmp_path), "--quick"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and word in err


def test_checkpoint_of_other_data_is_a_one_line_error(tmp_path, capsys):
    """A 3-dim learned model given for 64-dim digits: exit 2 naming the dimensions, no traceback."""
    pytest.importorskip("torch")
    from empirical import train

    ckpt = tmp_path / "g3.pt"
    assert train.main(["--data", "gaussian", "--spectrum", "flat", "--dim", "3", "--out", str(ckpt), "--steps", "2",
                       "--hidden", "8", "--depth", "1", "--batch-size", "16", "--skip-samples", "1000",
                       "--eval-samples", "200", "--no-progress"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        figures_main.main(["--only", "reconstructions", "--checkpoint", f"digits={ckpt}", "--out", str(tmp_path),
                           "--quick"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "dims" in err
