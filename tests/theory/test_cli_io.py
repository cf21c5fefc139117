"""``python -m theory``: missing extras, repeated ids, and failed writes give one line, never a traceback."""
from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from theory import __main__ as cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("missing", ["sympy", "mpmath"])
def test_missing_extra_is_one_line_naming_it(missing):
    """With sympy or mpmath unimportable (None in sys.modules), the CLI names the [theory] extra, exit 2."""
    code = (f"import sys; sys.modules[{missing!r}] = None; sys.argv = ['python -m theory', '--only', 'rate_gaussian']; "
            "import runpy; runpy.run_module('theory', run_name='__main__', alter_sys=True)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == 'python -m theory: error: needs sympy and mpmath: pip install -e ".[theory]"\n'


def test_help_needs_no_sympy():
    """--help works without the extra: the package import is light."""
    code = ("import sys; sys.modules['sympy'] = None; sys.argv = ['python -m theory', '--help']; "
            "import runpy; runpy.run_module('theory', run_name='__main__', alter_sys=True)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0 and "--latex" in proc.stdout


def test_repeated_only_runs_each_claim_once_in_order(capsys):
    """--only X --only Y --only X verifies X then Y, once each."""
    assert cli.main(["--only", "rate_gaussian", "--only", "three_db_limit", "--only", "rate_gaussian"]) == 0
    ids = [line.split()[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert ids == ["rate_gaussian", "three_db_limit"]


def test_latex_write_error_names_the_file_and_leaves_nothing_partial(tmp_path, monkeypatch, capsys):
    """A full disk at the rename: exit 1, one stderr line naming DIR/<id>.tex, no target or temporary file left."""
    out = tmp_path / "tex"

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    assert cli.main(["--latex", str(out), "--only", "rate_gaussian"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(out / "rate_gaussian.tex") in err and "no space left on device" in err
    assert list(out.iterdir()) == []


def test_latex_partial_write_leaves_no_target(tmp_path, monkeypatch, capsys):
    """A disk that fills during the write (the file would be cut short): the target never appears."""
    out = tmp_path / "tex"
    real_open = open

    class Truncating:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        return Truncating(f) if "w" in mode else f

    import gaussian._io as io_module

    monkeypatch.setattr(io_module, "open", fake_open, raising=False)
    assert cli.main(["--latex", str(out), "--only", "rate_gaussian"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out / "rate_gaussian.tex") in err
    assert list(out.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_latex_unwritable_folder_is_refused_before_verifying(tmp_path, capsys):
    """--latex under a read-only folder: exit 2 naming --latex, before any claim runs."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(SystemExit) as exc:
            cli.main(["--latex", str(ro / "tex"), "--only", "rate_gaussian"])
    finally:
        ro.chmod(0o700)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--latex" in captured.err and "not writable" in captured.err


def test_latex_under_a_file_is_refused(tmp_path, capsys):
    """--latex FILE/sub (a file where a folder must go): exit 2 naming --latex, one line."""
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(SystemExit) as exc:
        cli.main(["--latex", str(f / "sub"), "--only", "rate_gaussian"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--latex" in err
