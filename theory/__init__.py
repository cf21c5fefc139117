"""Symbolic ledger of the closed forms of lossy compression with Gaussian diffusion (DiffC).

Every result is a :class:`~theory.claims.Claim` with a stable id, verified by
re-deriving it in sympy (``python -m theory``). ``theory/`` is the single
source of truth: ``gaussian/`` and ``bounds/`` implement these expressions
numerically and their tests compare against them.

>>> import theory
>>> theory.get_claim("rdp_scalar").verify().status
'verified'

Importing the package is light: the ledger (and sympy) loads on first use of
``CLAIMS``, ``get_claim``, ``verify_all`` or a submodule, so that
``python -m theory`` can report a missing sympy in one line.
"""

from __future__ import annotations

import importlib

__all__ = ["CLAIMS", "Claim", "Derivation", "Step", "Verification", "get_claim", "verify_all"]

_SUBMODULES = ("asymptotics", "claims", "flow", "latex", "moments", "scalar", "symbols", "vector")


def __getattr__(name):
    """Load the ledger's names and the submodules on first use (PEP 562)."""
    if name == "__version__":
        from gaussian._io import package_version

        return package_version()
    if name in __all__:
        value = getattr(importlib.import_module("theory._ledger"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"theory.{name}")
    else:
        raise AttributeError(f"module 'theory' has no attribute {name!r}")
    globals()[name] = value
    return value
