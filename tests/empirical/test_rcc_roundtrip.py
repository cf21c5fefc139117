"""Bit-exact round trips of empirical.rcc, the chunk partition, segment coding and input validation."""
import hashlib
import json
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from empirical import rcc
from empirical.rcc.index_coding import index_code_length_bits
from empirical.rcc.partition import (equal_chunk_sizes, partition_code_length_bits,
                                     split_flag_code_length_bits)

REPO = pathlib.Path(__file__).resolve().parents[2]


def _pair(seed, shape, kl_per_dim=0.3, unequal=False):
    """A random diagonal pair with about ``kl_per_dim`` bits per dimension."""
    rng = np.random.default_rng(seed)
    p_mean = rng.normal(size=shape)
    p_std = np.exp(rng.normal(0, 0.3, shape))
    q_std = p_std * np.exp(rng.normal(0, 0.1, shape)) if unequal else p_std.copy()
    q_mean = p_mean + p_std * rng.normal(0, math.sqrt(2 * math.log(2) * kl_per_dim), shape)
    return q_mean, q_std, p_mean, p_std


@pytest.mark.parametrize("shape,unequal,kl_per_dim", [((7,), False, 0.3), ((3, 4, 5), False, 0.05),
                                                      ((2, 30), True, 1.0), ((1,), False, 2.0)])
def test_round_trip_bit_exact(shape, unequal, kl_per_dim):
    """Identity: decode_step(decode_segment(segment)) == StepCode.samples bit for bit, indices equal."""
    q_mean, q_std, p_mean, p_std = _pair(3, shape, kl_per_dim, unequal)
    code = rcc.encode_step(q_mean, q_std, p_mean, p_std, seed=99, step=4, budget_bits=6, padding_bits=4)
    message = rcc.decode_segment(code.segment, q_mean.size, budget_bits=6, padding_bits=4)
    samples = rcc.decode_step(message, p_mean, p_std, seed=99, step=4, budget_bits=6, padding_bits=4)
    assert samples.shape == shape and samples.dtype == np.float64
    assert samples.tobytes() == code.samples.tobytes()
    assert np.array_equal(message.indices, code.indices)
    assert np.array_equal(message.chunk_sizes, code.chunk_sizes)
    assert np.all(code.kl_bits_per_chunk <= 6.0)
    assert code.kl_bits_total == pytest.approx(rcc.kl_bits_per_dim(q_mean, q_std, p_mean, p_std).sum(), rel=1e-12)


def _kl_vectors(count):
    """Seeded per-dimension KL vectors (bits) with budgets: uniform, capped chi-square, and spiky profiles."""
    rng = np.random.default_rng(0)
    for t in range(count):
        n, budget = int(rng.integers(2, 300)), int(rng.integers(2, 12))
        if t % 3 == 0:
            kl = rng.random(n) * budget
        elif t % 3 == 1:
            kl = np.minimum(rng.chisquare(1.0, n) * rng.random() * budget / 2, budget)
        else:
            kl = np.where(rng.random(n) < 0.3, budget * rng.uniform(0.5, 1.0, n), rng.random(n) * 0.05)
        yield t, kl, budget


def test_all_partitions_occur_and_round_trip():
    """All three partition modes are chosen on some of 300 seeded KL profiles (split on most, equal and greedy on
    some); a step coded with each decodes to the encoder's partition and samples bit for bit."""
    first = {}
    for t, kl, budget in _kl_vectors(300):
        mode = rcc.choose_partition(kl, seed=t, step=0, budget_bits=budget, padding_bits=4).mode
        first.setdefault(mode, (t, kl, budget))
    assert set(first) == {"equal", "greedy", "split"}
    for mode, (t, kl, budget) in first.items():
        rng = np.random.default_rng(t)
        p_mean, p_std = rng.normal(size=kl.size), np.exp(rng.normal(0, 0.3, kl.size))
        q_mean = p_mean + p_std * np.sqrt(2 * math.log(2) * kl) * rng.choice([-1.0, 1.0], kl.size)
        code = rcc.encode_step(q_mean, p_std, p_mean, p_std, seed=t, step=0, budget_bits=budget, padding_bits=0)
        assert code.message.partition == mode
        message = rcc.decode_segment(code.segment, kl.size, budget_bits=budget, padding_bits=0)
        assert (message.partition, message.num_blocks) == (mode, code.message.num_blocks)
        assert np.array_equal(message.chunk_sizes, code.chunk_sizes)
        assert rcc.decode_step(message, p_mean, p_std, seed=t, step=0, budget_bits=budget,
                               padding_bits=0).tobytes() == code.samples.tobytes()


def test_samples_depend_on_seed_and_step_only_through_the_key():
    """Determinism: same (seed, step) -> identical StepCode bytes; another step or seed -> other samples."""
    args = _pair(5, (20,))
    a = rcc.encode_step(*args, seed=3, step=1, budget_bits=5, padding_bits=3)
    b = rcc.encode_step(*args, seed=3, step=1, budget_bits=5, padding_bits=3)
    c = rcc.encode_step(*args, seed=3, step=2, budget_bits=5, padding_bits=3)
    d = rcc.encode_step(*args, seed=4, step=1, budget_bits=5, padding_bits=3)
    assert a.segment == b.segment and a.samples.tobytes() == b.samples.tobytes()
    assert not np.array_equal(a.samples, c.samples) and not np.array_equal(a.samples, d.samples)


_CHILD = """
import hashlib, json, sys
import numpy as np
from empirical import rcc
spec = json.loads(sys.argv[1])
args = [np.array(a) for a in spec["pair"]]
code = rcc.encode_step(*args, seed=spec["seed"], step=spec["step"], budget_bits=6, padding_bits=6)
msg = rcc.decode_segment(bytes.fromhex(spec["segment"]), args[0].size, budget_bits=6, padding_bits=6)
x = rcc.decode_step(msg, args[2], args[3], seed=spec["seed"], step=spec["step"], budget_bits=6, padding_bits=6)
print(json.dumps({"segment": code.segment.hex(),
                  "encoded": hashlib.sha256(code.samples.tobytes()).hexdigest(),
                  "decoded": hashlib.sha256(x.tobytes()).hexdigest()}))
"""


@pytest.mark.parametrize("threads", ["1", "2"])
def test_round_trip_across_processes_and_thread_counts(threads):
    """Identity: a fresh process with OMP/OpenBLAS/MKL threads = 1 or 2 encodes the same segment and samples,
    and decodes this process's segment to this process's samples, bit for bit."""
    pair = _pair(21, (40,), 0.4, unequal=True)
    code = rcc.encode_step(*pair, seed=2**63 + 5, step=17, budget_bits=6, padding_bits=6)
    spec = {"pair": [a.tolist() for a in pair], "seed": 2**63 + 5, "step": 17, "segment": code.segment.hex()}
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               PYTHONPATH=str(REPO), PYTHONHASHSEED=threads)
    out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(spec)], capture_output=True, text=True,
                         env=env, cwd=REPO, check=True, timeout=120)
    got = json.loads(out.stdout)
    mine = hashlib.sha256(code.samples.tobytes()).hexdigest()
    assert got == {"segment": code.segment.hex(), "encoded": mine, "decoded": mine}


def _min_contiguous_chunks(kl, budget):
    """Fewest contiguous runs with sum <= budget, by dynamic programming (independent of the greedy rule)."""
    n = kl.size
    best = [0] + [math.inf] * n
    for end in range(1, n + 1):
        total = 0.0
        for start in range(end - 1, -1, -1):
            total += kl[start]
            if total > budget:
                break
            best[end] = min(best[end], best[start] + 1)
    return best[n]


@settings(max_examples=25, deadline=None)
@given(weights=st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=40),
       budget=st.integers(1, 6), seed=st.integers(0, 2**64 - 1))
def test_partition_fits_budget_and_greedy_is_minimal(weights, budget, seed):
    """Inequalities: every chunk KL <= budget; greedy runs are the fewest contiguous runs (DP); the equal
    partition, when chosen, uses the fewest near-equal blocks that fit (brute force over m)."""
    kl = np.array(weights) * budget * (1 - 1e-9)
    mode, num_blocks, sizes = rcc.choose_partition(kl, seed=seed, step=0, budget_bits=budget, padding_bits=2)
    dims = rcc.chunk_dims(kl.size, sizes, seed=seed, step=0)
    assert sorted(np.concatenate(dims).tolist()) == list(range(kl.size))
    assert all(kl[d].sum() <= budget for d in dims)
    permuted = kl[np.concatenate(dims)]
    if mode == "equal":
        assert np.array_equal(sizes, equal_chunk_sizes(kl.size, sizes.size))
        for m in range(max(1, math.ceil(kl.sum() / budget)), sizes.size):
            edges = np.concatenate([[0], np.cumsum(equal_chunk_sizes(kl.size, m))])
            assert max(permuted[edges[i]:edges[i + 1]].sum() for i in range(m)) > budget
    elif mode == "split":
        assert np.array_equal(sizes, _halved_blocks(permuted, num_blocks, budget * (1 - 1e-9)))
    else:
        assert mode == "greedy" and num_blocks == sizes.size
        assert sizes.size == _min_contiguous_chunks(permuted, budget * (1 - 1e-9))


@settings(max_examples=25, deadline=None)
@given(weights=st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=2, max_size=40),
       big=st.floats(0.3, 1.0), budget=st.integers(1, 4), seed=st.integers(0, 2**64 - 1))
def test_a_dimension_above_the_budget_is_a_chunk_of_its_own(weights, big, budget, seed):
    """max_budget_bits > budget: every chunk of two or more dimensions has KL <= budget_bits, a dimension above it
    (one is put there, up to max_budget_bits = 12) is a chunk of its own, and the message decodes bit for bit
    (its index, mostly beyond the index model's range 2^(budget + 2), sent with an escape)."""
    top = 12
    kl = np.array(weights) * budget * 0.9
    kl[0] = budget + big * (top - budget) * (1 - 1e-9)
    mode, num_blocks, sizes = rcc.choose_partition(kl, seed=seed, step=3, budget_bits=budget, padding_bits=2,
                                                   max_budget_bits=top)
    dims = rcc.chunk_dims(kl.size, sizes, seed=seed, step=3)
    assert sorted(np.concatenate(dims).tolist()) == list(range(kl.size))
    for d in dims:
        assert kl[d].sum() <= (top if d.size == 1 else budget)
    assert any(d.tolist() == [0] for d in dims)
    assert mode != "equal" or sizes.size == 1
    # through encode_step and back (equal stds: PFR's exact tail)
    std = np.ones(kl.size)
    q_mean = np.sqrt(2.0 * np.log(2.0) * kl)
    code = rcc.encode_step(q_mean, std, np.zeros(kl.size), std, seed=seed, step=3, budget_bits=budget,
                           padding_bits=2, max_budget_bits=top)
    assert all(k <= (top if n == 1 else budget) + 1e-6 for k, n in zip(code.kl_bits_per_chunk, code.chunk_sizes))
    message = rcc.decode_segment(code.segment, kl.size, budget_bits=budget, padding_bits=2)
    assert np.array_equal(message.indices, code.indices)
    got = rcc.decode_step(message, np.zeros(kl.size), std, seed=seed, step=3, budget_bits=budget, padding_bits=2)
    assert np.array_equal(got, code.samples)


def _over_cap(kl_sum, size, cost_bits, budget, padding, tail):
    """A chunk of ``size`` >= 2 dimensions scanning more than ``2^cost_bits`` coordinates (the tail rule's N_c)."""
    bits = int(rcc.candidate_bits([min(kl_sum, 24.0)], budget, padding, tail)[0])
    return size >= 2 and size * 2**bits > 2**cost_bits


@settings(max_examples=40, deadline=None)
@given(weights=st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=60),
       budget=st.integers(1, 6), cost_bits=st.integers(4, 14), tail=st.sampled_from([0.02, 0.2, None]),
       seed=st.integers(0, 2**64 - 1))
def test_compute_cap_holds_in_every_mode(weights, budget, cost_bits, tail, seed):
    """With a compute cap, every chunk of two or more dimensions scans at most 2^cost_bits candidate coordinates
    (size times the tail rule's 2^L_c, recomputed here by candidate_bits) and stays within the budget, in whichever
    mode is chosen; greedy runs are then the fewest contiguous runs that satisfy both (DP), and equal blocks the
    fewest near-equal blocks (brute force over m)."""
    padding = 3
    kl = np.array(weights) * budget * (1 - 1e-9)
    cap = rcc.chunk_cap(cost_bits, budget, padding, tail)
    mode, num_blocks, sizes = rcc.choose_partition(kl, seed=seed, step=2, budget_bits=budget, padding_bits=padding,
                                                   cap=cap)
    dims = rcc.chunk_dims(kl.size, sizes, seed=seed, step=2)
    assert sorted(np.concatenate(dims).tolist()) == list(range(kl.size))

    def bad(values):
        return math.fsum(values) > budget or _over_cap(math.fsum(values), len(values), cost_bits, budget, padding, tail)

    assert not any(bad(kl[d]) for d in dims)
    permuted = kl[np.concatenate(dims)]
    if mode == "greedy":
        n = kl.size
        best = [0] + [math.inf] * n
        for end in range(1, n + 1):
            for start in range(end - 1, -1, -1):
                if not bad(permuted[start:end]):
                    best[end] = min(best[end], best[start] + 1)
        assert sizes.size == best[n]
    elif mode == "equal":
        for m in range(1, sizes.size):
            edges = np.concatenate([[0], np.cumsum(equal_chunk_sizes(kl.size, m))])
            assert any(bad(permuted[edges[i]:edges[i + 1]]) for i in range(m))


def _thin_step(seed, num_dims, kl_bits_total):
    """``(q_mean, std)`` of an equal-std step whose KL is spread thinly (exponential per dimension) over ``num_dims``."""
    kl = np.random.default_rng(seed).exponential(kl_bits_total / num_dims, num_dims)
    return np.sqrt(2.0 * np.log(2.0) * kl), np.ones(num_dims)


def test_compute_cap_cuts_the_scan_of_a_thin_step_and_the_decoder_does_not_need_it():
    """A step whose 40 bits of KL are spread over 4000 dimensions: uncapped, a few wide chunks near the budget scan
    ~2^28 coordinates; with chunk_cost_bits=20 every chunk of two or more dimensions scans <= 2^20 (from its
    candidate_bits_per_chunk), the whole step far fewer, and the segment decodes bit for bit with the plain decoder."""
    n = 4000
    q_mean, std = _thin_step(11, n, 40.0)
    wide = rcc.encode_step(q_mean, std, np.zeros(n), std, seed=9, step=4, chunk_cost_bits=None)
    thin = rcc.encode_step(q_mean, std, np.zeros(n), std, seed=9, step=4, chunk_cost_bits=20)
    coordinates = thin.chunk_sizes * 2.0 ** thin.candidate_bits_per_chunk
    assert np.all(coordinates[thin.chunk_sizes >= 2] <= 2**20)
    assert thin.candidate_coordinates < wide.candidate_coordinates / 16
    assert thin.num_chunks > wide.num_chunks
    message = rcc.decode_segment(thin.segment, n)
    assert np.array_equal(message.chunk_sizes, thin.chunk_sizes)
    got = rcc.decode_step(message, np.zeros(n), std, seed=9, step=4)
    assert np.array_equal(got, thin.samples)
    with pytest.raises(ValueError, match="chunk_cost_bits"):
        rcc.encode_step(q_mean, std, np.zeros(n), std, seed=9, step=4, chunk_cost_bits=0)


def test_a_cap_that_never_binds_leaves_the_stream_as_it_is():
    """chunk_cost_bits=64 (no chunk scans 2^64 coordinates) gives the segment and samples of chunk_cost_bits=None,
    on a step where the default cap (2^25) does cut chunks."""
    n = 3000
    q_mean, std = _thin_step(12, n, 30.0)
    free = rcc.encode_step(q_mean, std, np.zeros(n), std, seed=2, step=6, chunk_cost_bits=None)
    loose = rcc.encode_step(q_mean, std, np.zeros(n), std, seed=2, step=6, chunk_cost_bits=64)
    capped = rcc.encode_step(q_mean, std, np.zeros(n), std, seed=2, step=6)
    assert loose.segment == free.segment and np.array_equal(loose.samples, free.samples)
    assert capped.num_chunks > free.num_chunks


def test_only_a_chunk_above_the_budget_changes_with_max_budget_bits():
    """Chunks within the budget scan the same candidates and pick the same indices whatever max_budget_bits is:
    a large dimension costs its own chunk only. Without max_budget_bits it is refused."""
    rng = np.random.default_rng(3)
    kl = rng.uniform(0.0, 0.5, 200)
    kl[17] = 11.0
    std = np.ones(kl.size)
    q_mean = np.sqrt(2.0 * np.log(2.0) * kl)
    with pytest.raises(ValueError, match="budget_bits=8 is below"):
        rcc.encode_step(q_mean, std, np.zeros(kl.size), std, seed=5, step=1)
    a = rcc.encode_step(q_mean, std, np.zeros(kl.size), std, seed=5, step=1, max_budget_bits=12)
    b = rcc.encode_step(q_mean, std, np.zeros(kl.size), std, seed=5, step=1, max_budget_bits=20)
    assert np.array_equal(a.chunk_sizes, b.chunk_sizes)
    small = a.kl_bits_per_chunk <= 8
    assert np.count_nonzero(~small) == 1
    assert np.array_equal(a.indices[small], b.indices[small])
    assert np.array_equal(a.candidate_bits_per_chunk[small], b.candidate_bits_per_chunk[small])
    assert a.candidate_bits_per_chunk[~small][0] > 16               # beyond 2^(budget + padding)


def test_max_budget_bits_is_checked():
    kl = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match="max_budget_bits"):
        rcc.choose_partition(kl, seed=0, step=0, budget_bits=8, padding_bits=2, max_budget_bits=7)
    with pytest.raises(ValueError, match="max_budget_bits"):
        rcc.encode_step(kl, np.ones(2), np.zeros(2), np.ones(2), seed=0, step=0, max_budget_bits=23)  # 30 - 8


def _halved_blocks(permuted, num_blocks, limit):
    """Chunk sizes of near-equal blocks halved, recursively, while a block's KL exceeds ``limit`` (plain Python)."""
    n, out = len(permuted), []

    def visit(start, size):
        if size >= 2 and math.fsum(permuted[start:start + size]) > limit:
            visit(start, size // 2)
            visit(start + size // 2, size - size // 2)
        else:
            out.append(size)

    for c in range(num_blocks):
        visit(c * n // num_blocks, (c + 1) * n // num_blocks - c * n // num_blocks)
    return np.array(out)


@pytest.mark.parametrize("ones,zeros", [(0, 5), (3, 0), (4, 7), (40, 3)])
def test_split_flag_cost_is_the_kt_probability(ones, zeros):
    """Identity: the adaptive flag code length of a sequence is -log2 of its Krichevsky-Trofimov probability
    Gamma(a + 1/2) Gamma(b + 1/2) / (pi Gamma(a + b + 1)), whatever the order of the flags."""
    from scipy.special import gammaln

    expected = -(gammaln(ones + 0.5) + gammaln(zeros + 0.5) - math.log(math.pi)
                 - gammaln(ones + zeros + 1)) / math.log(2)
    rng = np.random.default_rng(ones * 100 + zeros)
    for _ in range(3):
        flags = rng.permutation([1] * ones + [0] * zeros)
        assert split_flag_code_length_bits(flags) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_split_message_must_be_a_halving_of_its_blocks():
    """A 'split' message whose chunks no halving of its blocks gives is refused with a ValueError."""
    indices = np.zeros(3, np.int64)
    good = rcc.StepMessage(partition="split", chunk_sizes=np.array([5, 2, 3]), indices=indices, num_blocks=2)
    assert rcc.decode_segment(rcc.encode_segment(good, 10), 10).num_blocks == 2
    for sizes, blocks in (([4, 3, 3], 2), ([5, 2, 3], 3), ([3, 2, 5], 1)):
        bad = rcc.StepMessage(partition="split", chunk_sizes=np.array(sizes), indices=indices, num_blocks=blocks)
        with pytest.raises(ValueError, match="split-block partition"):
            rcc.encode_segment(bad, 10)
    with pytest.raises(ValueError, match="message.partition"):
        rcc.encode_segment(rcc.StepMessage(partition="blocks", chunk_sizes=np.array([10]),
                                           indices=np.zeros(1, np.int64)), 10)


def test_partition_depends_only_on_sent_integers():
    """The decoder's chunk_dims from (n, sizes, seed, step) equals the encoder's chunks; a budget below one
    dimension's KL is refused with a ValueError naming budget_bits."""
    kl = np.array([0.5, 3.0, 0.2, 2.9, 1.1, 0.3])
    _, _, sizes = rcc.choose_partition(kl, seed=7, step=1, budget_bits=4)
    assert sum(kl[d].sum() <= 4 for d in rcc.chunk_dims(6, sizes, seed=7, step=1)) == sizes.size
    with pytest.raises(ValueError, match="budget_bits=2"):
        rcc.choose_partition(kl, seed=7, step=1, budget_bits=2)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), budget=st.integers(1, 14), padding=st.integers(0, 10),
       mode=st.sampled_from(["equal", "greedy", "split"]))
def test_segment_round_trip_and_cost(data, budget, padding, mode):
    """Identity: decode_segment(encode_segment(m)) == m, also with indices at and beyond the index model's range
    (escapes, up to 2^30 - 1). Inequality: 8 len(segment) <= ideal code length + 8 bits (range-coder termination
    and byte rounding), ideal = partition bits + sum of index code lengths (escapes' extensions included)."""
    n = data.draw(st.integers(1, 400))
    blocks = data.draw(st.integers(1, min(n, 60)))
    if mode == "equal" or blocks == 1:
        mode, sizes = "equal", equal_chunk_sizes(n, blocks)
    elif mode == "greedy":
        cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), min_size=blocks - 1, max_size=blocks - 1)))
        sizes = np.diff(np.array([0] + cuts + [n]))
        blocks = sizes.size
    else:   # random halvings of the near-equal blocks, drawn node by node
        split_probability = data.draw(st.floats(0.0, 0.9))
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        weights = rng.random(n) * (rng.random(n) < split_probability)
        sizes = _halved_blocks(weights, blocks, 0.0)
    m = sizes.size
    top = 2 ** (budget + padding) - 1            # the escape: this index and those above carry an extension
    index = st.one_of(st.integers(0, top), st.integers(top, 2**30 - 1)) if data.draw(st.booleans()) \
        else st.integers(0, top - 1)
    indices = np.array(data.draw(st.lists(index, min_size=m, max_size=m)), dtype=np.int64)
    message = rcc.StepMessage(partition=mode, chunk_sizes=sizes, indices=indices, num_blocks=blocks)
    segment = rcc.encode_segment(message, n, budget_bits=budget, padding_bits=padding)
    back = rcc.decode_segment(segment, n, budget_bits=budget, padding_bits=padding)
    assert np.array_equal(back.indices, indices) and np.array_equal(back.chunk_sizes, sizes)
    assert back.partition == (mode if m > 1 else "equal")
    ideal = partition_code_length_bits(back.partition, sizes, n, back.num_blocks) + index_code_length_bits(
        indices, budget, padding).sum()
    assert 8 * len(segment) <= ideal + 8.0


@pytest.mark.parametrize("budget", [1, 2, 4, 8, 12, 16])
@pytest.mark.parametrize("padding", [0, 8])
def test_expected_index_cost_within_li_el_gamal_bound(budget, padding):
    """Inequality: under the shipped index model, the expected code length of a chunk's index (exact PFR law on
    [0, N), equal stds) is at most KL + log2(KL + 1) + 4 (Li & El Gamal 2018) at every KL in [0, budget]."""
    from empirical.rcc.index_coding import _expected_index_bits_table

    kl, expected = _expected_index_bits_table(budget, padding)
    assert np.all(expected <= kl + np.log2(kl + 1.0) + 4.0)


def test_coded_bits_track_predicted_bits():
    """Measured vs predicted: over 40 steps the segment bits exceed the ideal code length by < 4 bits on average
    and the ideal index cost per chunk exceeds the chunk KL by less than the Li-El Gamal slack log2(KL+1) + 4."""
    extra, over, leg = [], [], []
    for step in range(40):
        code = rcc.encode_step(*_pair(step, (50,), 0.25), seed=1, step=step, budget_bits=6, padding_bits=4)
        extra.append(code.coded_bits - code.partition_bits - code.index_bits_per_chunk.sum())
        over.append(np.mean(code.index_bits_per_chunk - code.kl_bits_per_chunk))
        leg.append(np.mean(np.log2(code.kl_bits_per_chunk + 1) + 4))
    assert np.mean(extra) < 4.0
    assert np.mean(over) < np.mean(leg)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=0, max_size=64), n=st.integers(1, 300))
def test_fuzzed_segment_never_crashes(data, n):
    """Robustness: arbitrary bytes decode to a valid StepMessage or raise BitstreamError (a ValueError), never
    another exception; a valid message (any of the three partition modes) has sizes summing to n, indices in
    range, and encodes and decodes back to itself."""
    try:
        message = rcc.decode_segment(data, n, budget_bits=8, padding_bits=4)
    except rcc.BitstreamError:
        return
    assert int(message.chunk_sizes.sum()) == n and np.all(message.chunk_sizes >= 1)
    assert np.all((message.indices >= 0) & (message.indices < 2**30))
    again = rcc.decode_segment(rcc.encode_segment(message, n, budget_bits=8, padding_bits=4), n,
                               budget_bits=8, padding_bits=4)
    assert np.array_equal(again.chunk_sizes, message.chunk_sizes)
    assert np.array_equal(again.indices, message.indices)


@pytest.mark.parametrize("kwargs,match", [
    (dict(q_std=np.array([1.0, -1.0, 1.0])), "q_std must be > 0"),
    (dict(p_mean=np.full(3, np.nan)), "p_mean must be finite"),
    (dict(p_std=np.ones(4)), "p_std must have shape"),
    (dict(seed=-1), "seed must be an integer"),
    (dict(seed=True), "seed must be an integer"),
    (dict(step=2**64), "step must be an integer"),
    (dict(budget_bits=0), "budget_bits must be an integer in \\[1, 24\\]"),
    (dict(padding_bits=17), "padding_bits must be an integer in \\[0, 16\\]"),
    (dict(budget_bits=20, padding_bits=11), "budget_bits \\+ padding_bits must be <= 30"),
    (dict(budget_bits=1), "budget_bits=1 is below the largest per-dimension KL"),
])
def test_invalid_input_names_the_argument(kwargs, match):
    """Bad input raises ValueError naming the argument and the accepted range."""
    args = dict(q_mean=np.array([0.0, 1.5, 0.2]), q_std=np.ones(3), p_mean=np.zeros(3), p_std=np.ones(3),
                seed=0, step=0, budget_bits=4, padding_bits=2)
    args.update(kwargs)
    q_mean, q_std, p_mean, p_std = (args.pop(k) for k in ("q_mean", "q_std", "p_mean", "p_std"))
    with pytest.raises(ValueError, match=match):
        rcc.encode_step(q_mean, q_std, p_mean, p_std, **args)


def test_decoder_rejects_inconsistent_messages():
    """decode_step refuses indices out of range, sizes that do not sum to n, and non-equal sizes flagged equal."""
    p_mean, p_std = np.zeros(5), np.ones(5)
    bad = [rcc.StepMessage("equal", np.array([5]), np.array([2**30])),
           rcc.StepMessage(False, np.array([2, 2]), np.array([0, 1])),
           rcc.StepMessage(True, np.array([4, 1]), np.array([0, 1]))]
    for message in bad:
        with pytest.raises(ValueError, match="message"):
            rcc.decode_step(message, p_mean, p_std, seed=0, step=0, budget_bits=5, padding_bits=5)
    with pytest.raises(ValueError, match="message must be a StepMessage"):
        rcc.decode_step(np.array([0]), p_mean, p_std, seed=0, step=0)


def test_escape_costs_its_extension_and_a_plain_segment_is_unchanged():
    """An index at or above ESC = 2^(budget + padding) - 1 is sent as ESC plus an extension (exponent uniform on
    31 values, then the bits below the leading one). ESC and ESC - 1 share the index model's last bucket and its
    low-bit count, so replacing ESC - 1 by ESC + extra costs log2 31 + max(bit_length(extra) - 1, 0) bits: that
    is what index_code_length_bits adds and what the segment grows by (to 2 bytes of range-coder rounding). The
    bytes of a message without escapes are those of the index model alone (written here without the escape pass)."""
    from empirical.rcc import index_coding, partition

    sizes = partition.equal_chunk_sizes(64, 8)
    esc = index_coding.escape_index(8, 4)
    plain = np.array([0, 3, 17, esc - 1, 2, 900, 1, 5], dtype=np.int64)
    segment = rcc.encode_segment(rcc.StepMessage("equal", sizes, plain), 64, budget_bits=8, padding_bits=4)
    writer = index_coding.SegmentWriter()
    partition.write(writer, "equal", 8, sizes, 64)
    bucket, low, low_bits = index_coding.split_index(plain, 12)
    writer.categorical(bucket, index_coding.index_model_weights(8, 4))
    writer.low_bits(low, low_bits)
    reference = index_coding.shortest_segment(
        writer.to_bytes(), lambda c: np.array_equal(rcc.decode_segment(c, 64, budget_bits=8, padding_bits=4).indices,
                                                    plain))
    assert segment == reference
    assert index_coding.split_index(np.array([esc - 1, esc]), 12)[0].tolist() == [bucket[3]] * 2
    for extra in (0, 1, 2**17 + 5, 2**30 - 1 - esc):
        indices = plain.copy()
        indices[3] = esc + extra
        seg = rcc.encode_segment(rcc.StepMessage("equal", sizes, indices), 64, budget_bits=8, padding_bits=4)
        assert np.array_equal(rcc.decode_segment(seg, 64, budget_bits=8, padding_bits=4).indices, indices)
        extension_bits = np.log2(31) + max(int(extra).bit_length() - 1, 0)
        added = index_coding.index_code_length_bits(indices, 8, 4) - index_coding.index_code_length_bits(plain, 8, 4)
        assert abs(added.sum() - extension_bits) < 1e-9
        assert abs(8 * (len(seg) - len(segment)) - extension_bits) <= 16.0
