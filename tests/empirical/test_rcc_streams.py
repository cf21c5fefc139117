"""The shared random streams, the float32 scan, the worker pool, the torch scan and the candidate rule.

What is promised bit for bit: the Philox words (an integer algorithm), hence the
candidate index a decoder reads and the partition; the float64 candidate values
on one machine. What is promised up to rounding: the float32 scan against
exact arithmetic, the torch scan against the NumPy scan.
"""
import math

import numpy as np
import pytest

from empirical import rcc
from empirical.rcc import gpu, index_coding, sampler
from empirical.rcc.gaussian_ratio import log_ratio_coefficients
from empirical.rcc.pfr_law import pfr_survival

_M64 = (1 << 64) - 1


def _philox_reference(counter, key):
    """Philox4x64-10 written from Salmon et al. (2011) with Python integers (independent of NumPy)."""
    c, k = list(counter), list(key)
    for r in range(10):
        if r:
            k = [(k[0] + 0x9E3779B97F4A7C15) & _M64, (k[1] + 0xBB67AE8584CAA73B) & _M64]
        p0, p1 = 0xD2E7470EE14C6C93 * c[0], 0xCA5A826395121157 * c[2]
        c = [(p1 >> 64) ^ c[1] ^ k[0], p1 & _M64, (p0 >> 64) ^ c[3] ^ k[1], p0 & _M64]
    return c


@pytest.mark.parametrize("seed,step,chunk,domain,start", [(0, 0, 0, 0, 0), (2**64 - 1, 12345, 7, 2, 13),
                                                          (99, 2**64 - 2, 2**32 - 1, 1, 4001)])
def test_words_are_philox4x64_of_the_stated_counter(seed, step, chunk, domain, start):
    """Identity: word w of stream (seed, step, chunk, domain) = Philox4x64-10((w div 4 + 1, 0, chunk, domain),
    key (seed, step))[w mod 4] -- a fixed integer function, whatever the NumPy version or machine."""
    got = sampler.words(seed, step, chunk, domain, start, 11)
    want = [_philox_reference((w // 4 + 1, 0, chunk, domain), (seed, step))[w % 4] for w in range(start, start + 11)]
    assert [int(v) for v in got] == want


def test_box_muller_candidates_follow_their_definition():
    """The float64 candidate is sqrt(-2 ln u) (cos, sin)(2 pi v), u = (a + 1/2) 2^-32, v = b 2^-32 of each word's
    low/high halves, written here with math (scalar libm): equal to float64 rounding."""
    dims = 7
    w = sampler.words(5, 6, 3, sampler.DOMAIN_CANDIDATES, 4 * 9, 4 * 9)      # candidates 9..12 (h = 4 words)
    got = sampler.normals_from_words(w, dims)
    for row in range(4):
        want = []
        for word in w[4 * row:4 * row + 4].tolist():
            a, b = word & 0xFFFFFFFF, word >> 32
            radius = math.sqrt(-2.0 * math.log((a + 0.5) * 2.0**-32))
            want += [radius * math.cos(2 * math.pi * b * 2.0**-32), radius * math.sin(2 * math.pi * b * 2.0**-32)]
        np.testing.assert_allclose(got[row], want[:dims], rtol=1e-13, atol=1e-14)
        np.testing.assert_array_equal(got[row], sampler.selected_normals(5, 6, 3, 9 + row, dims))


def _chunk(rng, dims, kl_bits, unequal=False):
    """Log-ratio coefficients of a random chunk with KL about ``kl_bits``."""
    shift = rng.normal(size=dims)
    shift *= math.sqrt(2 * math.log(2) * kl_bits) / np.linalg.norm(shift)
    q_std = np.exp(rng.normal(0, 0.05, dims)) if unequal else np.ones(dims)
    return log_ratio_coefficients(shift, q_std, np.zeros(dims), np.ones(dims))


def _exact_scores(coefficients, seed, step, chunk, n):
    """float64 scores ln T_k - ln r(z_k) of the first n candidates from the float64 candidate definition."""
    offset, linear, quadratic = coefficients
    h = sampler.words_per_candidate(linear.size)
    z = sampler.normals_from_words(sampler.words(seed, step, chunk, 0, 0, n * h), linear.size)
    log_ratio = offset.sum() + z @ linear + (z * z) @ quadratic
    arrivals = np.cumsum(sampler.arrival_gaps(seed, step, chunk, 0, n))
    return np.log(arrivals) - log_ratio


@pytest.mark.parametrize("dims,unequal", [(1, False), (6, False), (33, True), (300, False)])
def test_float32_scan_selects_the_exact_argmin(dims, unequal):
    """The float32 scan selects argmin of the float64 scores, except where the best two are within 1e-4 (rounding)."""
    rng = np.random.default_rng(dims)
    for chunk in range(12):
        coefficients = _chunk(rng, dims, rng.uniform(0.5, 5.0), unequal)
        n = 3000
        index, _ = sampler.scan_chunk(coefficients, 17, 4, chunk, n)
        exact = _exact_scores(coefficients, 17, 4, chunk, n)
        assert exact[index] - exact.min() <= 1e-4, (chunk, index, int(np.argmin(exact)))


def test_step_output_does_not_depend_on_the_number_of_workers(monkeypatch):
    """Bit-identical segments and samples for 1, 2 and 4 worker processes (each chunk is scanned by one worker);
    the pool is used however small the step (the in-process threshold is set to 0)."""
    monkeypatch.setattr(sampler, "PARALLEL_MIN_COORDINATES", 0)
    calls = []
    real = sampler._scan_group
    monkeypatch.setattr(sampler, "_pool", lambda w, real_pool=sampler._pool: calls.append(w) or real_pool(w))
    rng = np.random.default_rng(3)
    d = 600
    p_mean, p_std = rng.normal(size=d), np.exp(rng.normal(0, 0.2, d))
    q_mean = p_mean + p_std * rng.normal(0, 0.4, d)
    codes = [rcc.encode_step(q_mean, p_std, p_mean, p_std, seed=1, step=2, workers=w) for w in (1, 2, 4)]
    assert codes[0].num_chunks > 8 and calls == [2, 4] and real is sampler._scan_group
    for code in codes[1:]:
        assert code.segment == codes[0].segment
        np.testing.assert_array_equal(code.samples, codes[0].samples)


def test_torch_words_equal_numpy_words():
    """The torch Philox (16-bit limbs in int64 tensors) reproduces NumPy's words bit for bit."""
    pytest.importorskip("torch")
    chunks = [0, 5, 2**31 + 3]
    want = np.stack([sampler.words(2**63 + 11, 77, c, 2, 8, 29) for c in chunks])
    got = gpu.stream_words(2**63 + 11, 77, chunks, 2, 8, 29, device="cpu").numpy().view(np.uint64)
    np.testing.assert_array_equal(got, want)


def _torch_jobs():
    rng = np.random.default_rng(11)
    jobs = []
    for c in range(10):
        dims = int(rng.integers(1, 50))
        jobs.append((_chunk(rng, dims, rng.uniform(0.5, 6.0), unequal=c % 3 == 0), 1 << int(rng.integers(3, 12))))
    return jobs


def _check_same_selection(jobs, got, seed, step):
    want = sampler.scan_chunks(jobs, seed, step)
    for c, ((coefficients, n), a, b) in enumerate(zip(jobs, got, want)):
        if a != b:      # only a near-tie may differ
            exact = _exact_scores(coefficients, seed, step, c, n)
            assert abs(exact[a] - exact[b]) <= 1e-4, (c, a, b)
    assert np.mean(got == want) >= 0.9


def test_torch_scan_selects_what_the_numpy_scan_selects():
    """The torch scan (on the CPU here) picks the NumPy scan's index in every chunk, up to near-ties."""
    pytest.importorskip("torch")
    jobs = _torch_jobs()
    _check_same_selection(jobs, gpu.scan_chunks(jobs, 8, 9, device="cpu"), 8, 9)


def test_cuda_scan_selects_what_the_numpy_scan_selects():
    """On a CUDA device (skipped without one): same selection as the NumPy scan, up to near-ties; a step
    encoded there decodes on the CPU to the encoder's sample."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    jobs = _torch_jobs()
    _check_same_selection(jobs, gpu.scan_chunks(jobs, 8, 9, device="cuda"), 8, 9)
    rng = np.random.default_rng(5)
    d = 2000
    p_mean, std = rng.normal(size=d), np.ones(d)
    q_mean = p_mean + rng.normal(0, 0.3, d)
    code = rcc.encode_step(q_mean, std, p_mean, std, seed=3, step=1, device="cuda")
    message = rcc.decode_segment(code.segment, d)
    np.testing.assert_array_equal(rcc.decode_step(message, p_mean, std, seed=3, step=1), code.samples)


@pytest.mark.parametrize("tail_target", [0.3, 0.02, 1e-3])
def test_candidate_bits_is_the_fewest_that_meet_the_tail(tail_target):
    """Rule: L_c = min{L : P(K > 2^L) <= target} at the chunk's KL (exact law), capped at budget + padding."""
    kl = np.linspace(0.0, 8.0, 41)
    bits = rcc.candidate_bits(kl, 8, 8, tail_target)
    for d, b in zip(kl, bits):
        tail = lambda L: pfr_survival([d * math.log(2)], [float(1 << int(L))])[0, 0]  # noqa: E731
        if b < 16:
            assert tail(b) <= tail_target * (1 + 1e-6)
        if b > 0:
            assert tail(b - 1) > tail_target * (1 - 1e-6)
    assert np.all(np.diff(bits) >= 0)
    np.testing.assert_array_equal(rcc.candidate_bits(kl, 8, 8, None), np.full(kl.size, 16))


def test_bad_arguments_name_themselves():
    ones = np.ones(3)
    for kwargs, name in (({"tail_target": 0.0}, "tail_target"), ({"tail_target": 1.5}, "tail_target"),
                         ({"workers": 0}, "workers"), ({"device": "tpu"}, "device")):
        with pytest.raises(ValueError, match=name):
            rcc.encode_step(ones, ones, ones * 0, ones, seed=0, step=0, **kwargs)
    with pytest.raises(ValueError, match="q_mean"):
        rcc.encode_step(ones + 1j, ones, ones, ones, seed=0, step=0)


def test_index_tables_are_the_law_rounded_to_integers():
    """The package-data tables equal floor(P 2^32) + 1 of the recomputed law, within 1 per entry (a float64 product
    landing within an ulp of an integer may round either way on another machine), and the checksum covers them."""
    differ = 0
    for b, p in index_coding.valid_parameters():
        stored = index_coding.index_model_weights(b, p)
        computed = index_coding.computed_index_model_weights(b, p)
        assert stored.shape == computed.shape
        assert np.all(np.abs(stored - computed) <= 1.0), (b, p)
        differ += int(np.sum(stored != computed))
        assert np.all(stored >= 1.0) and np.all(stored == np.round(stored))
    assert differ <= 3
    assert index_coding.index_model_checksum(8, 8) != index_coding.index_model_checksum(8, 7)
