"""gaussian.plotstyle, the one home of the plotting style: light to import, complete, and named as the docs name
the schemes."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from gaussian import curves, plotstyle

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "gaussian.md"


def test_import_is_light():
    """Importing the style imports neither matplotlib nor numpy (gaussian.rd imports it only for --plot)."""
    code = ("import sys, gaussian.plotstyle\n"
            "print(','.join(m for m in ('matplotlib', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_scheme_has_a_name_and_a_style():
    """Every scheme of gaussian.curves has a label and a line style; each decoder maps to a scheme; no two schemes
    share both colour and line style."""
    assert set(plotstyle.SCHEME_LABELS) == set(plotstyle.SCHEME_STYLES) == set(curves.SCHEMES)
    assert set(plotstyle.METHOD_SCHEMES.values()) <= set(curves.SCHEMES)
    looks = {(str(v["color"]), str(v["ls"])) for v in plotstyle.SCHEME_STYLES.values()}
    assert len(looks) == len(curves.SCHEMES)
    assert len(set(plotstyle.SCHEME_LABELS.values())) == len(curves.SCHEMES)


def _docs_scheme_names() -> dict:
    """``{json key: scheme name}`` read from the scheme table of docs/gaussian.md (first two columns)."""
    text = DOCS.read_text()
    section = text[text.index("## Schemes"):]
    section = section[:section.index("\n## ", 1)]
    out = {}
    for row in (line for line in section.splitlines() if line.startswith("| ")):
        cells = [c.strip() for c in row.strip("|").split("|")]
        key = re.match(r"`([a-z_]+)`", cells[1])  # the header row's `--format json` does not match
        if key:
            out[key.group(1)] = cells[0]
    return out


def test_scheme_names_are_the_docs_table_names():
    """The legends name each scheme as the scheme table of docs/gaussian.md does."""
    names = _docs_scheme_names()
    assert set(names) == set(curves.SCHEMES)
    assert names == plotstyle.SCHEME_LABELS


def test_method_and_baseline_lines():
    """A decoder's line is its scheme's (label, colour, style); a baseline codec has its own; unknown names fail."""
    assert plotstyle.method_line("ancestral") == plotstyle.scheme_line("diffc_a")
    assert plotstyle.method_line("mmse")["ls"] == plotstyle.SCHEME_STYLES["mmse"]["ls"]
    assert plotstyle.method_line("jpeg")["label"] == "JPEG"
    assert plotstyle.method_line("webp")["color"] not in {v["color"] for v in plotstyle.SCHEME_STYLES.values()}
    with pytest.raises(KeyError):
        plotstyle.method_line("sample")
