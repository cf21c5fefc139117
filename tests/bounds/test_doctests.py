"""Run the doctests of the ``bounds`` modules (the documented examples must stay true)."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["bounds.sources", "bounds.immse", "bounds.shannon_lower", "bounds.high_rate", "bounds.rcc_cost",
           "bounds.decoders", "bounds.report"]


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    """Every doctest example in the module passes."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
