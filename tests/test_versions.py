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
