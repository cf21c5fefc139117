"""Figures of the toolkit: one module ``fig_<name>.py`` per figure, each with ``make(out_dir, quick=False)``.

``python -m figures`` regenerates all of them (headless, matplotlib's Agg).
Each figure writes the numbers it plots as JSON next to the PNG and draws
from that JSON, so the data behind every plot can be read without it.
"""


def __getattr__(name):
    """``__version__``: the installed distribution's version, looked up on first use (keeps the import light)."""
    if name == "__version__":
        from gaussian._io import package_version

        return package_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

