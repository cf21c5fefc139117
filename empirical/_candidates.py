"""Shared randomness of the RCC step: counter-based Philox streams keyed by (seed, step, chunk, block).

Every random number the decoder needs is a pure function of integers it knows:

    key     = (seed, step)                       Philox 128-bit key
    counter = (0, 0, block, 4 * chunk + domain)  Philox 256-bit start counter

``domain`` 0 holds candidate blocks, domain 1 the dimension permutation. A
candidate block of chunk ``c`` with ``d`` dimensions has ``block_rows(d)`` rows;
candidate ``k`` (0-based) is row ``k % rows`` of block ``k // rows``, a row of
``d`` standard normals from ``Generator.standard_normal((rows, d))`` (float64,
C order). The encoder then draws ``rows`` standard exponentials from the same
generator for the arrival times; the decoder never needs them. Nothing depends
on Python's ``hash()``, a global RNG or the number of threads. Streams are
bit-exact for a given NumPy version (``Generator.standard_normal`` is NumPy's
ziggurat; NumPy does not promise that stream across versions).
"""
from __future__ import annotations

import numpy as np

DOMAIN_CANDIDATES = 0
DOMAIN_PERMUTATION = 1
UINT64_LIMIT = 2**64


def block_rows(chunk_dims):
    """Rows per candidate block for a chunk of ``chunk_dims`` dimensions: ``2^clip(15 - ceil(log2 d), 8, 14)``."""
    d = int(chunk_dims)
    return 1 << max(8, min(14, 15 - (d - 1).bit_length()))


def _generator(seed, step, chunk, block, domain):
    """NumPy ``Generator`` on the Philox stream keyed ``(seed, step)``, counter ``(0, 0, block, 4 chunk + domain)``."""
    key = np.array([seed, step], dtype=np.uint64)
    counter = np.array([0, 0, block, 4 * chunk + domain], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key, counter=counter))


def candidate_block(seed, step, chunk, block, chunk_dims, with_arrivals=False):
    """Standard-normal candidate block ``[rows, chunk_dims]``, and the ``[rows]`` exponential arrival gaps if asked."""
    gen = _generator(seed, step, chunk, block, DOMAIN_CANDIDATES)
    normals = gen.standard_normal((block_rows(chunk_dims), chunk_dims))
    if not with_arrivals:
        return normals
    return normals, gen.standard_exponential(normals.shape[0])


def dimension_permutation(seed, step, num_dims):
    """Permutation of ``range(num_dims)`` for ``(seed, step)``: stable argsort of Philox raw 64-bit words."""
    raw = _generator(seed, step, 0, 0, DOMAIN_PERMUTATION).bit_generator.random_raw(num_dims)
    return np.argsort(raw, kind="stable")
