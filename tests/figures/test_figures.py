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
