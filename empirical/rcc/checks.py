"""Argument checks shared by the RCC modules (``ValueError`` naming the argument; no other imports)."""
from __future__ import annotations

import numpy as np

from .._errors import check_int

UINT64_LIMIT = 2**64
DEFAULT_BUDGET_BITS = 8
DEFAULT_PADDING_BITS = 8
BUDGET_BITS_RANGE = (1, 24)
PADDING_BITS_RANGE = (0, 16)
MAX_INDEX_BITS = 30
MAX_NUM_DIMS = 2**32 - 1

__all__ = ["check_int", "check_params", "check_max_budget", "check_array", "check_sizes", "read_only"]


def check_params(seed, step, budget_bits, padding_bits):
    """Validated ``(seed, step, budget_bits, padding_bits)`` as Python ints."""
    seed = check_int("seed", seed, 0, UINT64_LIMIT - 1)
    step = check_int("step", step, 0, UINT64_LIMIT - 1)
    budget_bits = check_int("budget_bits", budget_bits, *BUDGET_BITS_RANGE)
    padding_bits = check_int("padding_bits", padding_bits, *PADDING_BITS_RANGE)
    if budget_bits + padding_bits > MAX_INDEX_BITS:
        raise ValueError(f"budget_bits + padding_bits must be <= {MAX_INDEX_BITS}, "
                         f"got {budget_bits} + {padding_bits}")
    return seed, step, budget_bits, padding_bits


def check_max_budget(max_budget_bits, budget_bits, padding_bits):
    """``max_budget_bits`` (``None``: ``budget_bits``) as an int in ``budget_bits .. min(24, 30 - padding_bits)``."""
    if max_budget_bits is None:
        return budget_bits
    return check_int("max_budget_bits", max_budget_bits, budget_bits,
                     min(BUDGET_BITS_RANGE[1], MAX_INDEX_BITS - padding_bits))


def check_array(name, value, shape=None, positive=False):
    """``value`` as a float64 array; ``ValueError`` naming ``name`` if non-finite, empty, misshaped or not > 0."""
    if np.iscomplexobj(value):
        raise ValueError(f"{name} must be real, got a complex array")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be an array of real numbers, got {type(value).__name__}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must have at least one element")
    if arr.size > MAX_NUM_DIMS:
        raise ValueError(f"{name} must have at most {MAX_NUM_DIMS} elements, got {arr.size}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (that of the first mean), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite everywhere")
    if positive and not np.all(arr > 0.0):
        raise ValueError(f"{name} must be > 0 everywhere, got minimum {arr.min()!r}")
    return arr


def check_sizes(chunk_sizes, num_dims, name="chunk_sizes"):
    """``chunk_sizes`` as int64 ``[m]``: positive entries summing to ``num_dims``."""
    sizes = np.asarray(chunk_sizes)
    if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError(f"{name} must be a non-empty 1-D integer array, got dtype {sizes.dtype} "
                         f"and shape {sizes.shape}")
    if np.any(sizes < 1) or int(sizes.sum()) != num_dims:
        raise ValueError(f"{name} must be >= 1 and sum to num_dims={num_dims}, "
                         f"got sum {int(sizes.sum())} and minimum {int(sizes.min())}")
    return sizes.astype(np.int64)


def read_only(arr):
    """A contiguous read-only view of ``arr``."""
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr
