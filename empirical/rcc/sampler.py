"""Shared randomness and the PFR scan: counter-based Philox words -> Box-Muller candidates -> the selected index.

Every random number is a pure function of integers both sides know::

    word(seed, step, chunk, domain, w) = output (w mod 4) of Philox4x64-10 with
        key = (seed, step), counter = (w div 4 + 1, 0, chunk, domain)

which is NumPy's ``Philox(key=(seed, step), counter=(w0 div 4, 0, chunk, domain))``
read from position ``w0`` on (NumPy's Philox is the Random123 algorithm, so the
words are fixed by the algorithm, not by a NumPy version, a machine or a thread
count; ``tests/empirical/test_rcc_sampler.py`` checks them against a pure-Python
Philox). Domains: 0 candidates, 1 the dimension permutation, 2 arrival times.

Candidates. A chunk of ``d`` dimensions uses ``h = ceil(d / 2)`` words per
candidate: candidate ``k`` is words ``k h .. k h + h - 1`` of its chunk's domain-0
stream. Word ``i`` of a candidate, split into its low and high 32 bits ``a``, ``b``,
gives coordinates ``2i`` and ``2i + 1`` by Box-Muller::

    u = (a + 1/2) 2^-32,   phi = 2 pi b 2^-32,   z_2i = sqrt(-2 ln u) cos(phi),   z_2i+1 = sqrt(-2 ln u) sin(phi)

(for odd ``d`` the last sine is unused). ``u`` lies in ``(0, 1)`` and the radius
reaches ``sqrt(2 ln 2^33) = 6.76``: the candidates are standard normal up to
that 32-bit resolution (mass beyond the radius 1.4e-11 per pair). The delivered
sample and the decoder use these formulas in float64 (``selected_normals``);
the encoder's scan evaluates the same formulas in float32 (``scan_chunk``), so
its scores equal the float64 ones up to float32 rounding and the selected index
can differ from exact arithmetic only where two scores tie to ~1e-6. Arrival
gaps: candidate ``k``'s ``Exp(1)`` gap is ``-ln((w >> 11) + 1/2) 2^-53)`` of word ``k``
of the domain-2 stream; arrival times are their cumulative sums (float64).

The scan (the encoder's cost) computes, per candidate, the log density ratio
``ln r = offset + sum_j linear_j z_j + quadratic_j z_j^2`` and keeps
``argmin_k ln T_k - ln r(z_k)`` over the first ``N`` candidates: PFR truncated to
``N`` (Li & El Gamal 2018; ordered random coding, Theis & Yosri 2022).
``scan_chunks`` runs chunks on a pool of worker processes (NumPy's Philox
generator holds the GIL, so threads would take turns); each chunk is scanned by
one worker with a fixed block size, so the result does not depend on the number
of workers. ``empirical.rcc.gpu`` scans the
same candidates with torch on a CUDA device.
"""
from __future__ import annotations

import math
import numpy as np

DOMAIN_CANDIDATES = 0
DOMAIN_PERMUTATION = 1
DOMAIN_ARRIVALS = 2
DOMAIN_CODEBOOK = 3
UINT64_LIMIT = 2**64
#: Words of one scan block: candidates per block = max(1, BLOCK_WORDS // h) rounded down to a multiple of 4.
BLOCK_WORDS = 1 << 15
_TWO_PI = 2.0 * math.pi
_F32_U_SCALE = np.float32(2.0**-32)
_F32_PHI_SCALE = np.float32(_TWO_PI * 2.0**-32)
_LOW32 = np.uint64(0xFFFFFFFF)


def words(seed, step, chunk, domain, start, count):
    """``count`` uint64 words of stream ``(seed, step, chunk, domain)`` from position ``start`` (see module doc)."""
    block, skip = divmod(int(start), 4)
    key = np.array([seed, step], dtype=np.uint64)
    counter = np.array([block, 0, chunk, domain], dtype=np.uint64)
    raw = np.random.Philox(key=key, counter=counter).random_raw(int(count) + skip)
    return raw[skip:]


def words_per_candidate(dims):
    """``h = ceil(dims / 2)``: Philox words per candidate of a ``dims``-dimensional chunk."""
    return (int(dims) + 1) // 2


def normals_from_words(w, dims):
    """float64 ``[len(w) // h, dims]`` Box-Muller normals of whole candidates' words (the defining formulas)."""
    w = np.asarray(w, dtype=np.uint64)
    h = words_per_candidate(dims)
    low = (w & _LOW32).astype(np.float64)
    high = (w >> np.uint64(32)).astype(np.float64)
    radius = np.sqrt(-2.0 * np.log((low + 0.5) * 2.0**-32))
    phi = (_TWO_PI * 2.0**-32) * high
    out = np.empty((w.size // h, 2 * h))
    out[:, 0::2] = (radius * np.cos(phi)).reshape(-1, h)
    out[:, 1::2] = (radius * np.sin(phi)).reshape(-1, h)
    return out[:, :dims]


def selected_normals(seed, step, chunk, index, dims, domain=DOMAIN_CANDIDATES):
    """float64 ``[dims]`` standard normals of candidate ``index`` of a chunk: what encoder and decoder deliver."""
    h = words_per_candidate(dims)
    return normals_from_words(words(seed, step, chunk, domain, int(index) * h, h), dims)[0]


def arrival_gaps(seed, step, chunk, first, count):
    """float64 ``Exp(1)`` arrival gaps of candidates ``first .. first + count - 1``."""
    w = words(seed, step, chunk, DOMAIN_ARRIVALS, first, count)
    return -np.log(((w >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53)


def dimension_permutation(seed, step, num_dims):
    """Permutation of ``range(num_dims)`` for ``(seed, step)``: stable argsort of the domain-1 words."""
    return np.argsort(words(seed, step, 0, DOMAIN_PERMUTATION, 0, num_dims), kind="stable")


def block_candidates(dims):
    """Candidates per scan block for a ``dims``-dimensional chunk (a multiple of 4, at least 4)."""
    return max(4, (BLOCK_WORDS // words_per_candidate(dims)) // 4 * 4)


def _pair_coefficients(values, h):
    """float32 ``(even, odd)`` coefficient rows of length ``h`` (the odd one zero-padded for odd dims)."""
    values = np.asarray(values, dtype=np.float64)
    even = values[0::2].astype(np.float32)
    odd = np.zeros(h, dtype=np.float32)
    odd[: values.size // 2] = values[1::2]
    return even, odd


def _polar_float32(raw, h):
    """float32 ``(radius, cos phi, sin phi)``, each ``[len(raw) // h, h]``: the Box-Muller formulas of whole
    candidates' words (``z_2i = radius cos``, ``z_2i+1 = radius sin``)."""
    pairs = raw.view(np.uint32).reshape(-1, h, 2)                   # [..., 0] low word, [..., 1] high (little endian)
    if raw.dtype.byteorder == ">":                                   # pragma: no cover - big-endian hosts
        pairs = pairs[..., ::-1]
    radius = np.sqrt(np.float32(-2.0) * np.log((pairs[..., 0].astype(np.float32) + np.float32(0.5)) * _F32_U_SCALE))
    phi = pairs[..., 1].astype(np.float32) * _F32_PHI_SCALE
    return radius, np.cos(phi), np.sin(phi)


def linear_scores(linear, seed, step, chunk, domain, first, count):
    """float32 ``[count]`` inner products ``sum_j linear_j z_kj`` of candidates ``k = first .. first + count - 1`` of
    stream ``(seed, step, chunk, domain)``, the candidates evaluated in float32 as :func:`scan_chunk` does."""
    h = words_per_candidate(np.size(linear))
    even, odd = _pair_coefficients(linear, h)
    radius, cos, sin = _polar_float32(words(seed, step, chunk, domain, int(first) * h, int(count) * h), h)
    return np.einsum("ij,ij->i", radius, cos * even + sin * odd)


def scan_chunk(coefficients, seed, step, chunk, num_candidates, checkpoints=()):
    """PFR over the first ``num_candidates`` candidates of a chunk: ``(best index, {N': best index below N'})``.

    ``coefficients = (offset, linear, quadratic)`` per dimension (float64, see
    ``gaussian_ratio.log_ratio_coefficients``); ``checkpoints`` are candidate
    counts ``N' <= num_candidates``, each mapped to the index that PFR truncated
    at ``N'`` selects (they share candidates).
    """
    offset, linear, quadratic = coefficients
    dims = int(np.size(linear))
    h = words_per_candidate(dims)
    lin_even, lin_odd = _pair_coefficients(linear, h)
    use_quadratic = bool(np.any(np.asarray(quadratic) != 0.0))
    if use_quadratic:
        quad_even, quad_odd = _pair_coefficients(quadratic, h)
    const = float(np.sum(offset))
    rows = block_candidates(dims)
    pending = sorted(int(c) for c in checkpoints)
    found = {}
    best_score, best_index, arrival_offset = np.inf, -1, 0.0
    for first in range(0, int(num_candidates), rows):
        used = min(rows, int(num_candidates) - first)
        radius, cos, sin = _polar_float32(words(seed, step, chunk, DOMAIN_CANDIDATES, first * h, used * h), h)
        log_ratio = np.einsum("ij,ij->i", radius, cos * lin_even + sin * lin_odd)
        if use_quadratic:
            log_ratio = log_ratio + np.einsum("ij,ij->i", radius * radius, cos * cos * quad_even + sin * sin * quad_odd)
        arrivals = arrival_offset + np.cumsum(arrival_gaps(seed, step, chunk, first, used))
        arrival_offset = float(arrivals[-1])
        score = np.log(arrivals) - const - log_ratio     # float64; the float32 log-ratio sum is rounded at ~1e-7
        while pending and pending[0] <= first + used:
            limit = pending.pop(0) - first
            k = int(np.argmin(score[:limit]))
            found[first + limit] = first + k if score[k] < best_score else best_index
        k = int(np.argmin(score))
        if score[k] < best_score:
            best_score, best_index = float(score[k]), first + k
    return best_index, found


#: Below this many candidate coordinates a step is scanned in the calling process (IPC would cost more).
PARALLEL_MIN_COORDINATES = 1 << 22


def _scan_group(group, seed, step):
    """``[(chunk, best index)]`` of a group ``[(chunk, coefficients, num_candidates)]`` (run in a worker process)."""
    return [(c, scan_chunk(coefficients, seed, step, c, n)[0]) for c, coefficients, n in group]


_POOLS = {}


def _shutdown_pools():
    """Stop the worker pools at interpreter exit (before module teardown)."""
    for pool in list(_POOLS.values()):
        pool.shutdown(wait=True, cancel_futures=True)
    _POOLS.clear()


def _pool(workers):
    """A persistent process pool of ``workers`` spawned scanners (NumPy's Philox holds the GIL, threads would not help)."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from empirical import _cli

    pool = _POOLS.get(workers)
    if pool is None:
        if not _POOLS:
            import atexit

            atexit.register(_shutdown_pools)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_cli.worker_init, initargs=(os.getpid(),))
        _POOLS[workers] = pool
    return pool


def scan_chunks(jobs, seed, step, workers=1):
    """Best index of each chunk, ``[len(jobs)]`` int64; ``jobs[c] = (coefficients, num_candidates)`` for chunk ``c``.

    With ``workers > 1`` the chunks are scanned by a persistent pool of
    ``workers`` processes (NumPy's Philox generator holds the GIL, so threads
    would serialise), in groups of similar cost; each chunk is scanned by the
    same function whatever the pool, so the result is the same for any number
    of workers. Steps below ``PARALLEL_MIN_COORDINATES`` candidate coordinates
    are scanned in the calling process.
    """
    out = np.empty(len(jobs), dtype=np.int64)
    cost = [np.size(job[0][1]) * job[1] for job in jobs]
    workers = int(workers)
    if workers <= 1 or len(jobs) <= 1 or sum(cost) < PARALLEL_MIN_COORDINATES:
        for c, (coefficients, n) in enumerate(jobs):
            out[c] = scan_chunk(coefficients, seed, step, c, n)[0]
        return out
    order = sorted(range(len(jobs)), key=lambda c: -cost[c])
    groups = [[] for _ in range(4 * workers)]
    loads = [0] * len(groups)
    for c in order:                                   # largest first into the lightest group
        g = loads.index(min(loads))
        groups[g].append((c, tuple(np.asarray(a, np.float64) for a in jobs[c][0]), jobs[c][1]))
        loads[g] += cost[c]
    from concurrent.futures.process import BrokenProcessPool

    groups = [g for g in groups if g]
    try:
        for results in _pool(workers).map(_scan_group, groups, [seed] * len(groups), [step] * len(groups)):
            for c, index in results:
                out[c] = index
    except BrokenProcessPool:
        # A pool that cannot start (e.g. a main script read from stdin, which spawned workers cannot re-import):
        # scan here; the result is the same.
        import warnings

        _POOLS.pop(workers, None)
        warnings.warn("empirical.rcc: worker processes could not run; scanning in this process", RuntimeWarning,
                      stacklevel=2)
        for group in groups:
            for c, index in _scan_group(group, seed, step):
                out[c] = index
    return out
