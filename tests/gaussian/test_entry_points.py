"""Every command-line entry point exits through ``gaussian._io.run_cli``: Ctrl-C, a full stdout, a closed pipe.

Each case runs the real ``python -m`` module in a subprocess (``runpy``, as ``-m`` does), with one
function patched where the test needs an event (a Ctrl-C) at a known point; nothing depends on timing.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# module, argv, and Python that makes the run raise KeyboardInterrupt part-way (after parsing)
ENTRY_POINTS = {
    "gaussian.rd": (["--dim", "4"], "import gaussian.curves as m; m.evaluate = boom"),
    "gaussian.bench": (["--repeats", "1"], "import subprocess as m; m.run = boom"),
    "bounds": (["--source", "laplace:1", "--snr", "1"], "import bounds.report as m; m.bounds_report = boom"),
    "theory": (["--only", "rate_gaussian"], "import theory.claims as m; m.Claim.verify = boom"),
    "figures": (["--only", "dp_frontier", "--quick", "--out", "OUT"],
                "import figures.fig_dp_frontier as m; m.make = boom"),
}


def _code(module, argv, patch=""):
    prelude = "def boom(*args, **kwargs):\n    raise KeyboardInterrupt\n"
    return (prelude + (patch + "\n" if patch else "") +
            f"import sys, runpy\nsys.argv = ['python -m {module}'] + {argv!r}\n"
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n")


def _argv(module, tmp_path):
    return [str(tmp_path) if a == "OUT" else a for a in ENTRY_POINTS[module][0]]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_ctrl_c_is_one_line_and_status_130(module, tmp_path):
    """KeyboardInterrupt in the middle of the work: exit status 130 and one line on stderr, no traceback."""
    if module in ("theory", "figures"):
        pytest.importorskip("sympy" if module == "theory" else "matplotlib")
    code = _code(module, _argv(module, tmp_path), ENTRY_POINTS[module][1])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == f"python -m {module}: interrupted\n"


@pytest.mark.parametrize("module", ["gaussian.rd", "bounds", "theory", "figures", "gaussian.bench"])
def test_stdout_to_dev_full_is_one_line_and_status_1(module, tmp_path):
    """``python -m gaussian.rd --dim 4 > /dev/full`` and the like: status 1 and one line on stderr."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    if module in ("theory", "figures"):
        pytest.importorskip("sympy" if module == "theory" else "matplotlib")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-c", _code(module, _argv(module, tmp_path))], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"python -m {module}: error: cannot write the output")


@pytest.mark.parametrize("module", ["gaussian.rd", "bounds"])
def test_closed_pipe_is_quiet(module, tmp_path):
    """Output into a pipe whose reader has gone (``| head`` after one line): nothing on stderr."""
    proc = subprocess.Popen([sys.executable, "-c", _code(module, _argv(module, tmp_path))], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=300) in (0, 1)
    assert err == ""
