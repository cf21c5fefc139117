"""Rate, bias and compute of reverse channel coding on the same DiffC steps: ours and the reference operating point.

Workload: equal-std steps of the image oracle chain (``workload``, plug-in
transitions; ``bench`` uses steps 24, 28 and 32 of 32): step ``k`` sends ``q = N(mu, I)`` under ``p = N(0, I)`` in standardised
coordinates, ``mu`` the step's mean shift in units of the step's std.

Reference operating point (JeremyIV/diffc, ``lib/diffc/rcc``): a step with
``KL = D`` bits is cut into ``m = ceil(ceil(D) / 14)`` chunks whose sizes
distribute ``ceil(D) + 2m`` bits as evenly as possible (each at most 16, i.e. at
most 14 bits of KL plus 2 padding bits); chunk ``c`` of size ``b_c`` gets
``floor(d b_c / sum b)`` randomly assigned dimensions (the last one the rest) and
``2^b_c`` candidates; its index ``k`` is coded with the truncated Zipf law
``P(k) ~ k^-s`` on ``1..2^b_c``, ``s = 1 + 1/(D_c + e^-1 ln(e + 1))`` with
``D_c = D b_c / sum b`` (bits, as that code computes it). The decoder is given
``D`` for free (that code reads it from its configuration), so only the index
code lengths are counted. The candidates are drawn from this package's streams,
so both sides pay the same per candidate coordinate. The reference's row also
gives the same indices in this package's segment (``equal`` mode: the chunk
count, then the indices under the ``(14, 2)`` index model; ``package_code_bits``):
the same samples, so the difference is the code's alone.

Bias: for every chunk, the delivered sample's projection on the chunk's shift,
``t = u . z - |mu_c|`` with ``u = mu_c / |mu_c|``, is ``N(0, 1)`` for an exact
sampler; the tables give the pooled mean of ``t`` (its standard error) and the
Kolmogorov-Smirnov distance of the pooled ``t`` to ``N(0, 1)``. Compute: candidate
coordinates drawn per coded bit.
"""
from __future__ import annotations

import math

import numpy as np

from . import sampler
from .gaussian_ratio import log_ratio_coefficients
from .step import DEFAULT_CHUNK_COST_BITS

REFERENCE_MAX_CHUNK_BITS = 16
REFERENCE_PADDING_BITS = 2


def workload_steps(eigvals, log_snrs, seed, steps):
    """Standardised mean shifts ``mu`` (one ``[d]`` array per requested step) of the plug-in oracle chain.

    The chain is run with exact samples from ``q`` (no coding), so every method
    sees the same steps.
    """
    from .workload import _step_pair

    rng = np.random.default_rng(np.random.SeedSequence([0xF207, seed]))
    x = rng.normal(size=np.size(eigvals)) * np.sqrt(eigvals)
    z, out = None, []
    for step in range(max(steps) + 1):
        q_mean, q_std, p_mean, _ = _step_pair(step, log_snrs, eigvals, x, z)
        if step in steps:
            out.append((q_mean - p_mean) / q_std)          # plug-in steps: p_std = q_std
        z = q_mean + q_std * rng.normal(size=np.size(eigvals))
    return out


def _projections(mu, dims_of, indices, seed, step):
    """Standardised projections ``t`` of the delivered chunks (``N(0, 1)`` for an exact sampler)."""
    out = []
    for c, d in enumerate(dims_of):
        shift = mu[d]
        norm = float(np.linalg.norm(shift))
        if norm == 0.0:
            continue
        z = sampler.selected_normals(seed, step, c, int(indices[c]), d.size)
        out.append(float(z @ shift) / norm - norm)
    return out


def ours(mu, seed, step, budget_bits, padding_bits, tail_target, workers=1, chunk_cost_bits=DEFAULT_CHUNK_COST_BITS):
    """This package's step coder on ``q = N(mu, I)``: ``(coded bits, KL bits, coordinates, projections)``."""
    from .step import _chunk_dims, encode_step

    ones = np.ones(mu.size)
    code = encode_step(mu, ones, np.zeros(mu.size), ones, seed=seed, step=step, budget_bits=budget_bits,
                       padding_bits=padding_bits, tail_target=tail_target, workers=workers,
                       chunk_cost_bits=chunk_cost_bits)
    dims_of = _chunk_dims(mu.size, np.asarray(code.chunk_sizes), seed, step)
    return (code.coded_bits, code.kl_bits_total, code.candidate_coordinates,
            _projections(mu, dims_of, code.indices, seed, step))


def reference_chunk_bits(kl_bits, max_chunk_bits=REFERENCE_MAX_CHUNK_BITS, padding_bits=REFERENCE_PADDING_BITS):
    """The reference's chunk sizes in bits for a step of ``kl_bits``: ``ceil(D) + 2m`` spread over ``m`` chunks."""
    n = int(math.ceil(kl_bits))
    m = max(1, int(math.ceil(n / (max_chunk_bits - padding_bits))))
    base, extra = divmod(n + padding_bits * m, m)
    return [base + 1] * extra + [base] * (m - extra)


def zipf_code_length_bits(index, exponent, num_candidates):
    """``-log2 P(k)`` of the 0-based ``index`` under the Zipf law ``k^-s`` truncated to ``1..num_candidates``."""
    k = np.arange(1, num_candidates + 1, dtype=np.float64)
    log_norm = math.log(float(np.sum(k ** -exponent)))
    return (exponent * math.log(index + 1.0) + log_norm) / math.log(2.0)


def reference(mu, seed, step, workers=1):
    """The reference operating point on ``q = N(mu, I)``: ``(coded bits, KL bits, coordinates, projections)``."""
    kl_bits = 0.5 * float(np.sum(mu * mu)) / math.log(2.0)
    sizes_bits = reference_chunk_bits(kl_bits)
    total = sum(sizes_bits)
    dims = [int(mu.size * b / total) for b in sizes_bits[:-1]]
    dims.append(mu.size - sum(dims))
    if min(dims) < 1:
        raise ValueError(f"the reference chunking needs at least one dimension per chunk ({len(dims)} chunks, "
                         f"{mu.size} dims)")
    perm = sampler.dimension_permutation(seed, step, mu.size)
    edges = np.concatenate([[0], np.cumsum(dims)])
    dims_of = [perm[edges[c]:edges[c + 1]] for c in range(len(dims))]
    ones = np.ones(mu.size)
    coefficients = log_ratio_coefficients(mu, ones, np.zeros(mu.size), ones)
    jobs = [(tuple(a[d] for a in coefficients), 1 << b) for d, b in zip(dims_of, sizes_bits)]
    indices = sampler.scan_chunks(jobs, seed, step, workers)
    coded = 0.0
    for k, b in zip(indices, sizes_bits):
        chunk_kl = kl_bits * b / total
        coded += zipf_code_length_bits(int(k), 1.0 + 1.0 / (chunk_kl + math.exp(-1.0) * math.log(math.e + 1.0)),
                                       1 << b)
    coords = int(sum(d.size * (1 << b) for d, b in zip(dims_of, sizes_bits)))
    return coded, kl_bits, coords, _projections(mu, dims_of, indices, seed, step), package_code_bits(indices, mu.size)


def package_code_bits(indices, num_dims):
    """Bits of this package's segment for the reference's chunk count and indices: ``8 len(encode_segment(...))``
    of an ``equal``-mode message under the ``(14, 2)`` index model (the decoder cuts near-equal chunks from the
    count; which dimensions form them does not change the segment)."""
    from .partition import equal_chunk_sizes
    from .step import StepMessage, encode_segment

    indices = np.asarray(indices, np.int64)
    message = StepMessage("equal", equal_chunk_sizes(num_dims, indices.size), indices)
    return 8 * len(encode_segment(message, num_dims, budget_bits=REFERENCE_MAX_CHUNK_BITS - REFERENCE_PADDING_BITS,
                                  padding_bits=REFERENCE_PADDING_BITS))


def summarise(name, settings, runs):
    """One frontier row from per-step ``(coded, kl, coordinates, projections)`` tuples."""
    from scipy import stats

    coded = sum(r[0] for r in runs)
    kl = sum(r[1] for r in runs)
    package = [(r[4], r[1]) for r in runs if len(r) > 4]         # the reference's runs: bits in this package's code
    coords = sum(r[2] for r in runs)
    t = np.concatenate([np.asarray(r[3], np.float64) for r in runs])
    return {
        "method": name, **settings,
        "kl_bits": kl, "coded_bits": coded, "coded_over_kl": coded / kl,
        "coded_over_kl_package_code": sum(b for b, _ in package) / sum(k for _, k in package) if package else None,
        "candidate_coordinates": coords, "coordinates_per_coded_bit": coords / coded,
        "chunks": int(t.size), "mean_shift": float(t.mean()), "mean_shift_se": float(t.std(ddof=1) / math.sqrt(t.size)),
        "ks_distance": float(stats.kstest(t, "norm").statistic),
    }
