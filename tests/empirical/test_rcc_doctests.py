"""Run the round-trip examples in the docstrings of empirical.rcc and empirical.bitstream as doctests."""
import doctest

import pytest

from empirical.rcc import step
from empirical.rcc import bitstream


@pytest.mark.parametrize("module", [step, bitstream])
def test_docstring_examples(module):
    """Every docstring example of the module runs and prints what it shows."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
