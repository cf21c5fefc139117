"""The empirical side of the DiffC toolkit: data, models, reverse channel coding, bitstream, codec.

Submodules are imported on demand (``from empirical import rcc``); importing
this package imports nothing heavy.
"""


def __getattr__(name):
    """``__version__``: the installed distribution's version, looked up on first use (keeps the import light)."""
    if name == "__version__":
        from gaussian._io import package_version

        return package_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

