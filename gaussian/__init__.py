"""Numerical closed forms for Gaussian sources ``N(0, Sigma)`` (numpy only).

Data flow: ``spectrum -> components -> curves -> table | figures``. The
command-line tool is ``python -m gaussian.rd``. ``theory/`` holds the symbolic
source of truth that these functions are tested against.
"""


def __getattr__(name):
    """``__version__``: the installed distribution's version, looked up on first use (keeps the import light)."""
    if name == "__version__":
        from gaussian._io import package_version

        return package_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

