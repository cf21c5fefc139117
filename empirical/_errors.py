"""Exception and warning classes, and the integer check, shared by the modules of ``empirical.rcc``."""

import operator

import numpy as np


def check_int(name, value, lo, hi):
    """``value`` as a Python int; ``ValueError`` naming ``name`` unless it is an integer in ``[lo, hi]``."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}") from None
    if not lo <= out <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {out}")
    return out


class BitstreamError(ValueError):
    """A stream or segment that cannot be decoded: wrong magic/version/hash, corrupted header, lengths or payload."""


class BitstreamTruncatedWarning(UserWarning):
    """The stream ends inside a segment; only the complete prefix of whole steps was decoded."""
