"""``--version`` on every command-line tool and ``__version__`` on every package: the installed distribution's."""
import importlib
from importlib import metadata

import pytest

CLIS = ["gaussian.rd", "gaussian.bench", "bounds.__main__", "theory.__main__", "figures.__main__", "empirical.train",
        "empirical.compress", "empirical.decompress", "empirical.rd", "empirical.rcc.bench"]


def _version():
    return metadata.version("diffc-toolkit")


@pytest.mark.parametrize("module", CLIS)
def test_cli_version(module, capsys):
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("python -m ") and out.endswith(" " + _version())


@pytest.mark.parametrize("package", ["theory", "gaussian", "bounds", "empirical", "figures"])
def test_package_version(package):
    assert importlib.import_module(package).__version__ == _version()


@pytest.mark.parametrize("module,missing,extra", [("empirical.rcc_bench", "constriction", "empirical"),
                                                  ("empirical.compress", "constriction", "empirical")])
def test_missing_extra_is_one_line(module, missing, extra, tmp_path):
    """An entry point run without an optional dependency prints one line naming the extra (exit 2)."""
    import subprocess
    import sys

    args = {"empirical.rcc_bench": "['--quick', '--kl-totals', '10', '--no-progress']",
            "empirical.compress": "['--model', 'oracle', '--data', 'gaussian', '--spectrum', 'flat', '--dim', '4', "
                                  "'--steps', '2', '--out', " + repr(str(tmp_path / "x.dfrc")) + ", '--no-progress']"}[module]
    code = (f"import sys; sys.modules[{missing!r}] = None; sys.argv = ['x'] + {args}\n"
            f"import runpy; runpy.run_module({module!r}, run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().endswith(f'needs {missing}: pip install -e ".[{extra}]"'), out.stderr
    assert out.stderr.count("\n") == 1
