"""Run the doctests of the ``bounds`` modules (the documented examples must stay true)."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["bounds.sources", "bounds.immse", "bounds.shannon_lower", "bounds.high_rate", "bounds.rcc_cost",
           "bounds.decoders", "bounds.report"]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    """Every listed module has doctest examples, they ran, and they pass (a module without any would pass vacuously)."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name}: no doctest example ran"
    assert result.failed == 0
