"""The PFR scan of ``empirical.rcc.sampler`` in torch, for a CUDA device: the same candidates, the same selection.

The Philox4x64-10 words are computed with integer tensor arithmetic (64-bit
products from 16-bit limbs, so nothing overflows), bit-identical to NumPy's
``Philox`` on any device; the Box-Muller candidates and the scores are then
evaluated in float32 on the device, so they equal the CPU scan's up to float
rounding and the selected index can differ only where two scores tie to ~1e-6.
Only indices come back: the encoder takes the delivered sample from
``sampler.selected_normals`` on the CPU, as the decoder does, so a stream
encoded on a GPU decodes on any CPU.

Chunks of one step are scanned together, grouped by their words per candidate
and candidate count, in slabs of at most ``SLAB_WORDS`` words. On CUDA the
word generator and the scoring run through ``torch.compile`` when it works
(one fused kernel each); otherwise, and on the CPU (used by the tests), eagerly.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .sampler import DOMAIN_ARRIVALS, DOMAIN_CANDIDATES, words_per_candidate

PHILOX_M0 = 0xD2E7470EE14C6C93
PHILOX_M1 = 0xCA5A826395121157
PHILOX_W0 = 0x9E3779B97F4A7C15
PHILOX_W1 = 0xBB67AE8584CAA73B
PHILOX_ROUNDS = 10
SLAB_WORDS = 1 << 25
_MASK16 = 0xFFFF
_MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1


def _signed(value):
    """A uint64 bit pattern as the Python int that torch.int64 stores for it."""
    value &= _MASK64
    return value - (1 << 64) if value >> 63 else value


def _limbs(tensor):
    """The four 16-bit limbs (low first) of int64 tensors holding uint64 bit patterns."""
    return [(tensor >> (16 * i)) & _MASK16 for i in range(4)]


def _join(limbs):
    """int64 bit pattern from four 16-bit limbs (low first)."""
    return limbs[0] | (limbs[1] << 16) | (limbs[2] << 32) | (limbs[3] << 48)


def _mulhilo(tensor, constant):
    """``(hi, lo)`` 64-bit halves of the 128-bit product of uint64 patterns ``tensor`` and a Python int ``constant``."""
    a = _limbs(tensor)
    b = [(constant >> (16 * i)) & _MASK16 for i in range(4)]
    columns = []
    for k in range(7):
        terms = [a[i] * b[k - i] for i in range(max(0, k - 3), min(3, k) + 1) if b[k - i]]
        columns.append(sum(terms[1:], terms[0]) if terms else None)
    out, carry = [], None
    for k in range(8):
        total = columns[k] if k < 7 else None
        if carry is not None:
            total = carry if total is None else total + carry
        if total is None:
            out.append(tensor.new_zeros(()))
            carry = None
            continue
        out.append(total & _MASK16)
        carry = total >> 16
    return _join(out[4:]), _join(out[:4])


def _round_keys(key):
    """The ten round keys of Philox4x64-10 for ``key = (seed, step)``: two lists of int64 bit patterns."""
    k0, k1 = int(key[0]) & _MASK64, int(key[1]) & _MASK64
    first, second = [], []
    for _ in range(PHILOX_ROUNDS):
        first.append(_signed(k0))
        second.append(_signed(k1))
        k0, k1 = (k0 + PHILOX_W0) & _MASK64, (k1 + PHILOX_W1) & _MASK64
    return first, second


def _philox_core(c0, c2, c3, k0, k1):
    """Ten Philox4x64 rounds on int64 counter tensors (``c1 = 0``) with round keys ``k0``, ``k1`` (``[10]`` tensors)."""
    import torch

    c1 = torch.zeros_like(c0)
    for r in range(PHILOX_ROUNDS):
        hi0, lo0 = _mulhilo(c0, PHILOX_M0)
        hi1, lo1 = _mulhilo(c2, PHILOX_M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0[r], lo1, hi0 ^ c3 ^ k1[r], lo0
    return torch.stack([c0, c1, c2, c3], dim=-1)


def philox_words(key, counter0, counter2, counter3, core=None):
    """Philox4x64-10 of counters ``(counter0 + 1, 0, counter2, counter3)``: ``[..., 4]`` int64 bit patterns.

    ``counter0`` is an int64 tensor (the 4-word block index, NumPy's counter
    before its increment); ``counter2``, ``counter3`` tensors or ints; ``key`` the
    pair ``(seed, step)`` of Python ints. Word ``j`` of the last axis is output
    ``j`` of the block, as ``numpy.random.Philox(...).random_raw`` returns it.
    ``core`` replaces ``_philox_core`` (e.g. its compiled version).
    """
    import torch

    c2 = counter2 if torch.is_tensor(counter2) else torch.full_like(counter0, _signed(int(counter2)))
    c3 = counter3 if torch.is_tensor(counter3) else torch.full_like(counter0, _signed(int(counter3)))
    c0, c2, c3 = torch.broadcast_tensors(counter0 + 1, c2, c3)
    first, second = _round_keys(key)
    k0 = torch.tensor(first, dtype=torch.int64, device=c0.device)
    k1 = torch.tensor(second, dtype=torch.int64, device=c0.device)
    return (core or _philox_core)(c0.contiguous(), c2.contiguous(), c3.contiguous(), k0, k1)


def stream_words(seed, step, chunks, domain, start, count, device="cpu"):
    """``[len(chunks), count]`` int64 words ``start .. start + count - 1`` of each chunk's stream (``start % 4 == 0``)."""
    import torch

    if start % 4:
        raise ValueError("start must be a multiple of 4")
    chunks = torch.as_tensor(np.asarray(chunks, dtype=np.int64), device=device)
    blocks = -(-int(count) // 4)
    counter0 = torch.arange(start // 4, start // 4 + blocks, device=device, dtype=torch.int64)
    out = philox_words((seed, step), counter0[None, :], chunks[:, None], domain)
    return out.reshape(chunks.numel(), 4 * blocks)[:, :count]


def _box_muller_scores(w, lin_even, lin_odd, quad_even, quad_odd):
    """float32 ``[G, N]`` log-ratio sums of candidates from their ``[G, N, h]`` words and ``[G, 1, h]`` coefficients."""
    import torch

    low = (w & _MASK32).to(torch.float32)
    high = ((w >> 32) & _MASK32).to(torch.float32)
    radius = torch.sqrt(-2.0 * torch.log((low + 0.5) * 2.0**-32))
    phi = high * (2.0 * math.pi * 2.0**-32)
    cos, sin = torch.cos(phi), torch.sin(phi)
    out = (radius * (cos * lin_even + sin * lin_odd)).sum(dim=-1)
    if quad_even is not None:
        out = out + (radius * radius * (cos * cos * quad_even + sin * sin * quad_odd)).sum(dim=-1)
    return out


@functools.lru_cache(maxsize=4)
def _kernels(device_type, compiled):
    """``(scores, philox core)``: ``torch.compile``d when asked (CUDA), else the eager functions."""
    if not compiled:
        return _box_muller_scores, _philox_core
    import torch

    return torch.compile(_box_muller_scores), torch.compile(_philox_core)


def _pairs(values, h):
    """float64 ``(even, odd)`` rows of length ``h`` (odd zero-padded)."""
    even = np.zeros(h)
    odd = np.zeros(h)
    even[: (values.size + 1) // 2] = values[0::2]
    odd[: values.size // 2] = values[1::2]
    return even, odd


def scan_chunks(jobs, seed, step, device="cuda", compiled=None):
    """Best index of each chunk (``[len(jobs)]`` int64), as ``sampler.scan_chunks`` computes it, on ``device``.

    ``jobs[c] = ((offset, linear, quadratic), num_candidates)`` for chunk ``c``.
    ``compiled``: use ``torch.compile`` (default: on CUDA; a failed compilation
    falls back to the eager functions, which compute the same values).
    """
    import torch

    device = torch.device(device)
    if compiled is None:
        compiled = device.type == "cuda"
    scores_fn, core = _kernels(device.type, bool(compiled))

    def words_fn(key, counter0, counter2, counter3):
        return philox_words(key, counter0, counter2, counter3, core=core)
    out = np.empty(len(jobs), dtype=np.int64)
    groups = {}
    for c, ((_, linear, _), n) in enumerate(jobs):
        groups.setdefault((words_per_candidate(np.size(linear)), int(n)), []).append(c)
    for (h, n), members in groups.items():
        per_chunk = n * h
        batch = max(1, SLAB_WORDS // max(per_chunk, 1))
        for first in range(0, len(members), batch):
            chunk_ids = members[first:first + batch]
            try:
                out[chunk_ids] = _scan_group(jobs, chunk_ids, h, n, seed, step, device, scores_fn, words_fn)
            except Exception:  # noqa: BLE001 - a compiler failure: the eager path computes the same values
                if scores_fn is _box_muller_scores:
                    raise
                scores_fn, core = _kernels(device.type, False)
                out[chunk_ids] = _scan_group(jobs, chunk_ids, h, n, seed, step, device, scores_fn, words_fn)
    return out


def _scan_group(jobs, chunk_ids, h, n, seed, step, device, scores_fn, words_fn):
    """Best indices of chunks with ``h`` words per candidate and ``n`` candidates, scanned together."""
    import torch

    coeff = np.stack([np.concatenate(_pairs(np.asarray(jobs[c][0][1], np.float64), h)) for c in chunk_ids])
    quad = np.stack([np.concatenate(_pairs(np.asarray(jobs[c][0][2], np.float64), h)) for c in chunk_ids])
    const = torch.as_tensor([float(np.sum(jobs[c][0][0])) for c in chunk_ids], dtype=torch.float64, device=device)
    lin = torch.as_tensor(coeff, dtype=torch.float32, device=device)[:, None, :]
    use_quad = bool(np.any(quad != 0.0))
    q = torch.as_tensor(quad, dtype=torch.float32, device=device)[:, None, :] if use_quad else None
    chunks = torch.as_tensor(np.asarray(chunk_ids, dtype=np.int64), device=device)
    total = n * h
    blocks = -(-total // 4)
    counter0 = torch.arange(blocks, device=device, dtype=torch.int64)
    w = words_fn((seed, step), counter0[None, :], chunks[:, None], DOMAIN_CANDIDATES)
    w = w.reshape(len(chunk_ids), 4 * blocks)[:, :total].reshape(len(chunk_ids), n, h)
    log_ratio = scores_fn(w, lin[..., :h], lin[..., h:], None if q is None else q[..., :h],
                          None if q is None else q[..., h:])
    del w
    a_blocks = -(-n // 4)
    counter0 = torch.arange(a_blocks, device=device, dtype=torch.int64)
    gaps_words = words_fn((seed, step), counter0[None, :], chunks[:, None], DOMAIN_ARRIVALS)
    gaps_words = gaps_words.reshape(len(chunk_ids), 4 * a_blocks)[:, :n]
    gaps = -torch.log((((gaps_words >> 11) & ((1 << 53) - 1)).to(torch.float64) + 0.5) * 2.0**-53)
    score = torch.log(torch.cumsum(gaps, dim=1)) - const[:, None] - log_ratio.to(torch.float64)
    return torch.argmin(score, dim=1).cpu().numpy()
