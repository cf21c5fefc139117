"""Benchmark reverse channel coding: rate, fidelity, the generator floor, image scale, the rate-bias-compute frontier.

``python -m empirical.rcc_bench`` runs the first three sections; ``--image-scale``
and ``--frontier`` run one section each.

Rate: for each KL total, a random diagonal Gaussian pair with equal stds (the
DiffC case; ``--unequal-std`` adds pairs whose stds differ too) over
``n = min(max_dims, ceil(KL / 0.25))`` dimensions is coded with
``empirical.rcc.encode_step``; the table compares the segment bytes actually
written (no container header) with the KL, per chunk, against the
Li-El Gamal bound ``KL_c + log2(KL_c + 1) + 4`` on the index entropy and
against ``H(K_c)``, the entropy of the untruncated PFR index at the chunk's KL
(``empirical.rcc.pfr_index_entropy_bits``), and checks that ``decode_step``
reproduces the sample bit for bit.

Fidelity: one chunk of ``--fidelity-dims`` dimensions with KL ``--fidelity-kl-bits``
is coded ``--fidelity-trials`` times with ``2^(budget + padding)`` candidates per
padding; the delivered sample's projection on the mean shift, standardised
under ``q`` (exactly ``N(0, 1)`` for a perfect sampler), is compared with
``N(0, 1)``: mean shift (with its standard error) and Kolmogorov-Smirnov
distance, next to the exact truncation tail ``P(K > N)``. Padding 0 is the naive
truncated sampler.

Throughput and the floor: in one run, the normal generators a sampler could
use (NumPy's Philox, PCG64, SFC64 and MT19937 with ``standard_normal`` in float32
and float64, torch's CPU ``randn``, and this package's Philox + Box-Muller
stream), each on one core, against the sampler's candidate coordinates per
second on one core and on every core (``--workers``). The floor is the fastest
of those generators; the ratio is the sampler's share of it.

Image scale (``--image-scale``): the Gaussian oracle's chain on a 64x96x3 image
(18,432 dims, the ``1/f^2`` model at pixel variance 0.25; ``rcc.workload``), 32
steps from log-SNR -10 to where ``I(X; Z)`` reaches 2 bits per pixel, every step
coded with real bits; coded bits over the realised sum KL, time on one and on
every worker, and the z-scores of the realised sum KL and the decoders'
squared errors against their expectations given the image. Below it, the
limits of an idealised coder on the same chain (``rcc.limits``: perfectly
filled chunks, a free partition, the index at the exact PFR entropy; every
dimension in chunks of the KL it likes, or every chunk of a step alike): the
least candidate coordinates for coded rates of 1.30-1.50 bits per KL bit, and
the least rate within the run's coordinates.

Frontier (``--frontier``): coded bits / KL, the delivered projections' mean shift
and KS distance, and candidate coordinates per coded bit, for a grid of chunk
budgets and tail targets and for the reference operating point of
JeremyIV/diffc, on the same DiffC steps: steps 24, 28 and 32 of the image chain
(plug-in transitions, equal stds; ``rcc.frontier``).
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import sys
import time

import numpy as np

from .._cli import chunk_cost_bits as _chunk_cost_arg
from .._cli import tail_target as _tail_arg
from .step import DEFAULT_CHUNK_COST_BITS, DEFAULT_TAIL_TARGET

DEFAULT_KL_TOTALS = (10.0, 100.0, 1000.0, 10000.0)
QUICK_KL_TOTALS = (10.0, 100.0, 1000.0)
KL_BITS_PER_DIM = 0.25
DEFAULT_MAX_DIMS = 8192
QUICK_MAX_DIMS = 2048
DEFAULT_TRIALS = 400
QUICK_TRIALS = 150
DEFAULT_FIDELITY_PADDINGS = (0, 4, 8)
# Per-dimension KL weights are chi-square(1) draws capped at this value (keeps every dimension under the budget).
_WEIGHT_CAP = 4.0


class _Parser(argparse.ArgumentParser):
    """Argument parser that reports errors in one line and exits with status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _float_list(text):
    """Comma-separated positive floats."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"values must be finite and > 0, got {text!r}")
    return values


def _kl_list(text):
    """Comma-separated KL totals in bits, each at least 0.01 (the table divides by them)."""
    values = _float_list(text)
    if min(values) < 0.01:
        raise argparse.ArgumentTypeError(f"KL totals must be >= 0.01 bits, got {text!r}")
    return values


def _settings_list(text):
    """Comma-separated ``budget:padding:tail`` triples (tail a number in (0, 1) or ``none``)."""
    from .step import candidate_bits

    out = []
    for item in text.split(","):
        parts = item.split(":")
        try:
            budget, padding = int(parts[0]), int(parts[1])
            tail = None if parts[2].strip().lower() == "none" else float(parts[2])
            if len(parts) != 3:
                raise IndexError
            candidate_bits([0.0], budget, padding, tail)            # validates all three
        except (IndexError, ValueError) as err:
            raise argparse.ArgumentTypeError(f"expected budget:padding:tail triples, got {item!r} ({err})") from None
        out.append((budget, padding, tail))
    return out


def _int_list(text):
    """Comma-separated non-negative ints."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"values must be >= 0, got {text!r}")
    return values


def _positive_int(text):
    """An int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser():
    """The CLI's argument parser."""
    parser = _Parser(prog="python -m empirical.rcc_bench", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--quick", action="store_true",
        help=f"small run: KL totals {','.join(f'{v:g}' for v in QUICK_KL_TOTALS)}, at most {QUICK_MAX_DIMS} "
             f"dims, {QUICK_TRIALS} fidelity trials")
    add("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    add("--budget-bits", type=int, default=8, help="chunk KL budget in bits (default: 8)")
    add("--padding-bits", type=int, default=8,
        help="index range 2^(budget+padding): the most candidates a chunk may scan (default: 8)")
    add("--seed", type=int, default=0, help="seed of the pairs and of the shared randomness (default: 0)")
    add("--kl-totals", type=_kl_list, default=None,
        help=f"KL totals in bits (default: {','.join(f'{v:g}' for v in DEFAULT_KL_TOTALS)})")
    add("--max-dims", type=_positive_int, default=None,
        help=f"largest number of dimensions of a pair (default: {DEFAULT_MAX_DIMS})")
    add("--unequal-std", action="store_true", help="also code pairs whose stds differ (Renyi TV bound)")
    add("--fidelity-trials", type=_positive_int, default=None,
        help=f"coded samples per padding in the fidelity test (default: {DEFAULT_TRIALS})")
    add("--fidelity-paddings", type=_int_list, default=DEFAULT_FIDELITY_PADDINGS,
        help="paddings compared in the fidelity test; 0 is the naive sampler (default: 0,4,8)")
    add("--fidelity-kl-bits", type=float, default=None, help="KL of the fidelity chunk (default: the budget)")
    add("--fidelity-dims", type=_positive_int, default=8, help="dimensions of the fidelity chunk (default: 8)")
    add("--tail-target", type=_tail_arg, default=DEFAULT_TAIL_TARGET,
        help=f"candidates per chunk: the fewest with P(K > N) <= this at the chunk's KL, or 'none' for "
             f"2^(budget+padding) (default: {DEFAULT_TAIL_TARGET})")
    add("--chunk-cost-bits", type=_chunk_cost_arg, default=DEFAULT_CHUNK_COST_BITS,
        help=f"compute cap: a chunk of two or more dimensions scans at most 2^this candidate coordinates, or 'none' "
             f"(default: {DEFAULT_CHUNK_COST_BITS})")
    add("--workers", type=_positive_int, default=os.cpu_count() or 1,
        help="scanning worker processes for the all-core rows (default: the CPU count, %(default)s)")
    add("--device", default="cpu", help="image scale: 'cpu', 'cuda' or 'auto' (default: cpu)")
    add("--no-progress", dest="progress", action="store_false", help="no progress bars on stderr")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--image-scale", action="store_true",
                      help="only the image-scale workload (18,432 dims, 32 steps; --quick: 4,608 dims, 16 steps)")
    mode.add_argument("--frontier", action="store_true",
                      help="only the rate-bias-compute frontier with the reference operating point")
    add("--frontier-settings", type=_settings_list, default=None, metavar="B:P:T,...",
        help="frontier: code with these budget:padding:tail settings instead of the grid (tail 'none' for a fixed N)")
    add("--image-seeds", type=_int_list, default=(0,), help="image scale: chains (images) to code (default: 0)")
    add("--image-workers", type=_int_list, default=None,
        help="image scale: time each chain with these worker counts (default: 1 and --workers)")
    from gaussian._io import add_version

    add_version(parser)
    return parser


def random_pair(kl_bits_total, num_dims, seed, unequal_std=False):
    """``(q_mean, q_std, p_mean, p_std)``: a random diagonal pair with ``KL(q||p) = kl_bits_total`` bits.

    ``p_mean ~ N(0, 1)``, ``p_std = exp(N(0, 0.3^2))``; with ``unequal_std``,
    ``q_std = p_std exp(N(0, 0.1^2))``, else ``q_std = p_std``. The remaining
    KL is spread over dimensions in proportion to chi-square(1) draws capped at
    4 and put into the means, ``q_mean = p_mean + p_std d``.
    """
    from .step import kl_bits_per_dim

    rng = np.random.default_rng(np.random.SeedSequence([seed, num_dims, int(unequal_std), 51]))
    p_mean = rng.normal(size=num_dims)
    p_std = np.exp(rng.normal(0.0, 0.3, num_dims))
    q_std = p_std * np.exp(rng.normal(0.0, 0.1, num_dims)) if unequal_std else p_std.copy()
    std_kl = kl_bits_per_dim(p_mean, q_std, p_mean, p_std)
    shift_kl_total = kl_bits_total - std_kl.sum()
    if shift_kl_total <= 0:
        raise ValueError(f"kl_bits_total={kl_bits_total} is below the KL of the std mismatch "
                         f"({std_kl.sum():.3g} bits); use more bits or fewer dimensions")
    weights = np.minimum(rng.chisquare(1.0, num_dims), _WEIGHT_CAP)
    shift_kl = shift_kl_total * weights / weights.sum()
    # KL of a mean shift d (in units of p_std) on top of the std part: d^2 / (2 ln 2) bits.
    shift = rng.choice([-1.0, 1.0], num_dims) * np.sqrt(2.0 * np.log(2.0) * shift_kl)
    return p_mean + p_std * shift, q_std, p_mean, p_std


@functools.lru_cache(maxsize=8)
def _exact_pfr_overhead_table(budget_bits):
    """``(kl_bits_grid, H(K) - KL)`` of untruncated PFR on 97 KLs ``budget (i/96)^2``, dense near 0 where it is steep."""
    from .step import pfr_index_entropy_bits

    grid = budget_bits * (np.arange(97) / 96.0) ** 2
    return grid, pfr_index_entropy_bits(grid) - grid


def exact_pfr_overhead_bits(kl_bits, budget_bits):
    """``H(K) - KL`` of untruncated PFR per chunk, interpolated (within 0.01 bits for chunk KLs above 0.02 bits).

    ``rcc.pfr_index_entropy_bits`` costs ~40 ms per KL, too much for thousands of
    chunks; the curve is smooth away from ``KL = 0``.
    """
    grid, table = _exact_pfr_overhead_table(int(budget_bits))
    return np.interp(kl_bits, grid, table)


def rate_row(kl_bits_total, num_dims, seed, budget_bits, padding_bits, unequal_std, tail_target,
             chunk_cost_bits=DEFAULT_CHUNK_COST_BITS):
    """Code one random pair; a dict of measured bits, bounds, TV bound and timings."""
    from bounds.rcc_cost import li_el_gamal_entropy_bound_bits

    from .. import rcc

    q_mean, q_std, p_mean, p_std = random_pair(kl_bits_total, num_dims, seed, unequal_std)
    start = time.perf_counter()
    code = rcc.encode_step(q_mean, q_std, p_mean, p_std, seed=seed, step=0, budget_bits=budget_bits,
                           padding_bits=padding_bits, tail_target=tail_target, chunk_cost_bits=chunk_cost_bits)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    message = rcc.decode_segment(code.segment, num_dims, budget_bits=budget_bits, padding_bits=padding_bits)
    samples = rcc.decode_step(message, p_mean, p_std, seed=seed, step=0,
                              budget_bits=budget_bits, padding_bits=padding_bits)
    decode_s = time.perf_counter() - start
    kl = code.kl_bits_total
    leg = li_el_gamal_entropy_bound_bits(code.kl_bits_per_chunk)
    return {
        "std": "unequal" if unequal_std else "equal",
        "kl_bits_total": kl,
        "num_dims": num_dims,
        "kl_bits_per_dim": kl / num_dims,
        "partition": message.partition,
        "num_chunks": code.num_chunks,
        "chunk_fill": kl / (code.num_chunks * budget_bits),
        "coded_bits": code.coded_bits,
        "overhead_bits_total": code.coded_bits - kl,
        "overhead_bits_per_chunk": (code.coded_bits - kl) / code.num_chunks,
        "partition_bits": code.partition_bits,
        "partition_bits_per_chunk": code.partition_bits / code.num_chunks,
        "coded_over_kl": code.coded_bits / kl,
        "index_overhead_bits_per_chunk": float(np.mean(code.index_bits_per_chunk - code.kl_bits_per_chunk)),
        # H(K) - KL of exact (untruncated) PFR with an ideal per-chunk index code; equal stds only.
        "exact_pfr_overhead_bits_per_chunk": None if unequal_std else float(np.mean(
            exact_pfr_overhead_bits(code.kl_bits_per_chunk, budget_bits))),
        "leg_bound_overhead_bits_per_chunk": float(np.mean(leg - code.kl_bits_per_chunk)),
        "chunks_index_bits_over_leg_bound": int(np.sum(code.index_bits_per_chunk > leg)),
        "tv_bound_total": code.tv_bound_total,
        "tv_bound_max_chunk": float(code.tv_bound_per_chunk.max()),
        "tv_bound_exact": bool(np.all(code.tail_is_exact)),
        "round_trip_exact": bool(np.array_equal(samples, code.samples)
                                 and np.array_equal(message.indices, code.indices)),
        "encode_s": encode_s,
        "decode_s": decode_s,
        "candidate_coordinates": code.candidate_coordinates,
        "candidate_coordinates_per_s": code.candidate_coordinates / encode_s,
        "mean_candidate_bits": float(np.mean(code.candidate_bits_per_chunk)),
        "coded_bits_per_s": code.coded_bits / encode_s,
    }


def fidelity_rows(kl_bits, num_dims, trials, budget_bits, paddings, seed):
    """Delivered-sample statistics of one chunk per padding: mean shift, KS distance, exact tail bound."""
    from scipy import stats

    from .. import rcc
    from . import sampler
    from .gaussian_ratio import log_ratio_coefficients

    shift = np.full(num_dims, math.sqrt(2.0 * math.log(2.0) * kl_bits / num_dims))
    zeros, ones = np.zeros(num_dims), np.ones(num_dims)
    coefficients = log_ratio_coefficients(shift, ones, zeros, ones)
    direction = shift / np.linalg.norm(shift)
    counts = sorted({1 << (budget_bits + pad) for pad in paddings})
    projections = {n: np.empty(trials) for n in counts}
    start = time.perf_counter()
    for trial in range(trials):
        _, found = sampler.scan_chunk(coefficients, seed, trial, 0, counts[-1], checkpoints=counts)
        for n in counts:
            x = sampler.selected_normals(seed, trial, 0, found[n], num_dims)
            projections[n][trial] = (x - shift) @ direction
    elapsed = time.perf_counter() - start
    rows = []
    for pad in paddings:
        n = 1 << (budget_bits + pad)
        proj = projections[n]
        ks = stats.kstest(proj, "norm")
        rows.append({
            "padding_bits": pad,
            "sampler": "naive (N = 2^budget)" if pad == 0 else "padded",
            "num_candidates": n,
            "chunk_kl_bits": kl_bits,
            "trials": trials,
            "mean_shift": float(proj.mean()),
            "mean_shift_se": float(proj.std(ddof=1) / math.sqrt(trials)),
            "ks_distance": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "tv_bound": float(rcc.pfr_tail_probability(kl_bits, n)[0]),
        })
    return rows, elapsed


def _progress(total, desc, enabled):
    """A tqdm bar on stderr (or a no-op object when disabled or tqdm is missing)."""
    class _Null:
        def update(self, n=1):
            pass

        def close(self):
            pass

    if not enabled:
        return _Null()
    try:
        from tqdm import tqdm
    except ImportError:
        return _Null()
    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr, disable=None)


def _timed(fn, repeats):
    """Best wall time of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def generator_rates(count=1 << 22, repeats=5):
    """Normals per second of each candidate generator on one core: ``[(name, normals_per_s, qualifies)]``.

    ``qualifies``: its stream is a fixed function of the seed on every machine and
    thread count (NumPy's bit generators are; their ``standard_normal`` is NumPy's
    ziggurat, which NumPy may change between versions; torch's CPU ``randn`` takes a
    different code path per CPU capability, so its values change across machines).
    """
    from . import sampler

    rows = []
    for name in ("Philox", "PCG64", "SFC64", "MT19937"):
        gen = np.random.Generator(getattr(np.random, name)(0))
        for dtype in (np.float32, np.float64):
            seconds = _timed(lambda: gen.standard_normal(count, dtype=dtype), repeats)
            rows.append((f"numpy {name} standard_normal {np.dtype(dtype).name}", count / seconds, True))
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            gen = torch.Generator().manual_seed(0)
            for dtype in (torch.float32, torch.float64):
                seconds = _timed(lambda: torch.randn(count, generator=gen, dtype=dtype), repeats)
                rows.append((f"torch randn {str(dtype).split('.')[-1]} (CPU)", count / seconds, False))
        finally:
            torch.set_num_threads(threads)
    h = count // 2

    def ours():
        w = sampler.words(0, 0, 0, sampler.DOMAIN_CANDIDATES, 0, h)
        pairs = w.view(np.uint32).reshape(h, 2)
        radius = np.sqrt(np.float32(-2.0) * np.log((pairs[:, 0].astype(np.float32) + np.float32(0.5))
                                                  * np.float32(2.0**-32)))
        phi = pairs[:, 1].astype(np.float32) * np.float32(2.0 * math.pi * 2.0**-32)
        return radius * np.cos(phi), radius * np.sin(phi)

    rows.append(("this package: Philox words + Box-Muller float32", count / _timed(ours, repeats), True))
    return rows


def sampler_rate(workers=1, dims=(64, 256, 1024), bits=16, seed=0):
    """Candidate coordinates per second of ``sampler.scan_chunks`` on chunks of ``dims`` with ``2^bits`` candidates."""
    from . import sampler
    from .gaussian_ratio import log_ratio_coefficients

    rng = np.random.default_rng(seed)
    jobs = []
    for d in dims:
        for _ in range(max(1, 2 * workers)):
            shift = rng.normal(size=d) * math.sqrt(2.0 * math.log(2.0) * 6.0 / d)
            ones = np.ones(d)
            jobs.append((log_ratio_coefficients(shift, ones, np.zeros(d), ones), 1 << bits))
    coords = sum(np.size(j[0][1]) * j[1] for j in jobs)
    seconds = _timed(lambda: sampler.scan_chunks(jobs, seed, 1, workers), 2)
    return coords / seconds


def throughput(workers, quick):
    """The generator floor and the sampler's rate on one core and on ``workers`` worker processes."""
    count = 1 << (20 if quick else 22)
    rates = generator_rates(count, 3 if quick else 5)
    floor_name, floor, _ = max(rates, key=lambda r: r[1])
    qualifying = max((r for r in rates if r[2]), key=lambda r: r[1])
    bits = 14 if quick else 16
    one = sampler_rate(1, bits=bits)
    many = sampler_rate(workers, bits=bits) if workers > 1 else one
    return {
        "generators": [{"name": n, "normals_per_s": v, "qualifies": q} for n, v, q in rates],
        "floor": {"name": floor_name, "normals_per_s": floor},
        "fastest_qualifying": {"name": qualifying[0], "normals_per_s": qualifying[1]},
        "sampler_coordinates_per_s_one_core": one,
        "sampler_over_floor": one / floor,
        "workers": workers,
        "sampler_coordinates_per_s_all_workers": many,
        "speedup_all_workers": many / one,
    }


def image_scale(args):
    """The image-scale workload: one oracle chain per seed, timed on one worker and on ``--workers``."""
    from . import workload

    shape = workload.QUICK_IMAGE_SHAPE if args.quick else workload.IMAGE_SHAPE
    steps = workload.QUICK_IMAGE_NUM_STEPS if args.quick else workload.IMAGE_NUM_STEPS
    eigvals = workload.image_eigvals(*shape)
    log_snrs = workload.image_grid(eigvals, steps)
    options = dict(budget_bits=args.budget_bits, padding_bits=args.padding_bits, tail_target=args.tail_target,
                   chunk_cost_bits=args.chunk_cost_bits, device=args.device)
    rows = []
    worker_counts = args.image_workers or sorted({1, args.workers})
    bar = _progress(len(args.image_seeds) * len(worker_counts), "image-scale chains", args.progress)
    for seed in args.image_seeds:
        for workers in worker_counts:
            r = workload.measure_chain(eigvals, log_snrs, seed, workers=workers, **options)
            bar.update()
            rows.append({
                "seed": seed, "workers": workers, "dims": int(eigvals.size), "steps": steps,
                "kl_bits": r.kl_bits_total, "predicted_kl_bits": r.predicted_kl_bits, "coded_bits": r.coded_bits_total,
                "coded_over_kl": r.coded_bits_total / r.kl_bits_total, "chunks": int(r.chunks_per_step.sum()),
                "candidate_coordinates": r.candidate_coordinates, "encode_s": r.encode_s,
                "bits_per_pixel_coded": r.coded_bits_total / (eigvals.size / shape[2]),
                "z_kl": r.z_kl, "z_mse_flow": r.z_mse_flow, "z_mse_mean": r.z_mse_mean,
                "mse_flow": float(r.sq_err_flow.mean()), "expected_mse_flow": float(r.expected_sq_err_flow.mean()),
            })
    bar.close()
    return {"config": _config(args, shape=list(shape), steps=steps,
                              log_snr_start=float(log_snrs[0]), log_snr_stop=float(log_snrs[-1])), "image_scale": rows,
            "idealised": None if args.tail_target is None else idealised_limits(eigvals, log_snrs, args.tail_target, rows)}


IDEALISED_RATES = (1.30, 1.35, 1.40, 1.45, 1.50)


def idealised_limits(eigvals, log_snrs, tail_target, rows):
    """The idealised coder's rate-compute limits on the chain (``rcc.limits``), in this run's units.

    For each coded rate of ``IDEALISED_RATES`` the bracket on the least candidate coordinates, and for the
    run's mean coordinates the bracket on the least coded rate; seconds at the run's one-worker coordinate rate.
    """
    from . import limits

    kl_bits = limits.expected_kl_bits(eigvals, log_snrs)
    trades = {"free": limits.trade_off(kl_bits, tail_target),
              "one_kl_per_step": limits.trade_off(kl_bits, tail_target, one_kl_per_step=True)}
    one = [r for r in rows if r["workers"] == 1]
    per_s = (sum(r["candidate_coordinates"] for r in one) / sum(r["encode_s"] for r in one)) if one else None
    coords = float(np.mean([r["candidate_coordinates"] for r in rows]))
    out = []
    for rate in IDEALISED_RATES:
        row = {"coded_over_kl": rate}
        for name, trade in trades.items():
            try:
                lim = limits.compute_limit(trade, rate)
            except ValueError:
                row = None
                break
            row.update({f"{name}_coordinates_lower": lim.lower, f"{name}_coordinates_upper": lim.upper,
                        f"{name}_seconds_lower": None if per_s is None else lim.lower / per_s})
        if row is not None:
            out.append(row)
    result = {"tail_target": tail_target, "expected_kl_bits": trades["free"].kl_bits_total,
              "coordinates_per_s_one_worker": per_s, "compute_limits": out, "run_coordinates": coords}
    for name, trade in trades.items():
        at_run = limits.rate_limit(trade, coords)
        result.update({f"{name}_rate_lower_at_run": at_run.lower, f"{name}_rate_upper_at_run": at_run.upper})
    return result


FRONTIER_BUDGETS = (6, 8, 10, 12)
FRONTIER_TAILS = (0.3, 0.1, 0.02, 0.005)


def frontier_rows(args):
    """The frontier grid and the reference operating point on the same DiffC steps."""
    from . import frontier, workload

    shape = (32, 48, 3) if args.quick else workload.IMAGE_SHAPE
    eigvals = workload.image_eigvals(*shape)
    log_snrs = workload.image_grid(eigvals, workload.IMAGE_NUM_STEPS)
    steps = [23, 27, 31]
    mus = frontier.workload_steps(eigvals, log_snrs, args.seed, steps)
    budgets = (6, 8) if args.quick else FRONTIER_BUDGETS
    tails = (0.3, 0.1) if args.quick else FRONTIER_TAILS
    settings = args.frontier_settings or [(b, min(args.padding_bits, 30 - b, 8 + max(0, 12 - b)), t)
                                          for b in budgets for t in tails]
    bar = _progress(1 + len(settings), "frontier", args.progress)
    rows = [frontier.summarise("reference (JeremyIV/diffc)", {"budget_bits": 14, "padding_bits": 2, "tail_target": None},
                               [frontier.reference(mu, args.seed, s, args.workers) for s, mu in zip(steps, mus)])]
    bar.update()
    for budget, padding, tail in settings:
        runs = [frontier.ours(mu, args.seed, s, budget, padding, tail, args.workers, args.chunk_cost_bits)
                for s, mu in zip(steps, mus)]
        rows.append(frontier.summarise("ours", {"budget_bits": budget, "padding_bits": padding,
                                                "tail_target": tail}, runs))
        bar.update()
    bar.close()
    return {"config": _config(args, shape=list(shape), steps=steps, grid_steps=workload.IMAGE_NUM_STEPS),
            "frontier": rows}


def _config(args, **extra):
    """The run's settings and machine, for every report."""
    return {"budget_bits": args.budget_bits, "padding_bits": args.padding_bits, "tail_target": args.tail_target,
            "chunk_cost_bits": args.chunk_cost_bits, "seed": args.seed, "workers": args.workers, "device": args.device,
            "cpu": platform.processor() or platform.machine(), "numpy": np.__version__, **extra}


def run(args):
    """Run the benchmark described by parsed ``args``; returns the result dict."""
    from .. import rcc
    from .checks import check_params

    check_params(args.seed, 0, args.budget_bits, args.padding_bits)
    if args.image_scale:
        return image_scale(args)
    if args.frontier:
        return frontier_rows(args)
    kl_totals = args.kl_totals or (QUICK_KL_TOTALS if args.quick else DEFAULT_KL_TOTALS)
    max_dims = args.max_dims or (QUICK_MAX_DIMS if args.quick else DEFAULT_MAX_DIMS)
    trials = args.fidelity_trials or (QUICK_TRIALS if args.quick else DEFAULT_TRIALS)
    fidelity_kl = float(args.budget_bits) if args.fidelity_kl_bits is None else args.fidelity_kl_bits
    if not 0.0 < fidelity_kl <= min(24.0, args.budget_bits):
        raise ValueError(f"--fidelity-kl-bits must lie in (0, budget_bits={args.budget_bits}], got {fidelity_kl}")
    if max(args.fidelity_paddings) > rcc.PADDING_BITS_RANGE[1] or \
            args.budget_bits + max(args.fidelity_paddings) > rcc.MAX_INDEX_BITS:
        raise ValueError(f"--fidelity-paddings must lie in [0, {rcc.PADDING_BITS_RANGE[1]}] with budget + padding "
                         f"<= {rcc.MAX_INDEX_BITS}, got {list(args.fidelity_paddings)}")
    jobs = []
    for unequal in ((False, True) if args.unequal_std else (False,)):
        for total in kl_totals:
            num_dims = min(max_dims, max(1, math.ceil(total / KL_BITS_PER_DIM)))
            if total / num_dims > 0.5 * args.budget_bits:
                raise ValueError(f"--kl-totals: {total:g} bits over at most {max_dims} dims exceeds half the budget "
                                 f"per dimension; raise --max-dims or lower --kl-totals")
            jobs.append((total, num_dims, unequal))
    bar = _progress(len(jobs) + 2, "rcc_bench", args.progress)
    rate = []
    for total, num_dims, unequal in jobs:
        rate.append(rate_row(total, num_dims, args.seed, args.budget_bits, args.padding_bits, unequal, args.tail_target,
                             args.chunk_cost_bits))
        bar.update()
    fidelity, fidelity_s = fidelity_rows(fidelity_kl, args.fidelity_dims, trials, args.budget_bits,
                                         args.fidelity_paddings, args.seed)
    bar.update()
    floor = throughput(args.workers, args.quick)
    bar.update()
    bar.close()
    encode_s = sum(r["encode_s"] for r in rate)
    return {
        "config": _config(args, kl_totals=list(kl_totals), max_dims=max_dims, fidelity_trials=trials,
                          fidelity_paddings=list(args.fidelity_paddings), fidelity_kl_bits=fidelity_kl,
                          fidelity_dims=args.fidelity_dims,
                          coded_bits="segment bytes x 8, container header excluded"),
        "rate": rate,
        "fidelity": fidelity,
        "throughput": dict(floor, **{
            "rate_candidate_coordinates_per_s": sum(r["candidate_coordinates"] for r in rate) / encode_s,
            "coded_bits_per_s": sum(r["coded_bits"] for r in rate) / encode_s,
            "encode_s_total": encode_s,
            "decode_s_total": sum(r["decode_s"] for r in rate),
            "fidelity_s": fidelity_s,
        }),
    }


def _table(rows, columns):
    """Fixed-width text table of ``rows`` (dicts) for ``columns`` = [(header, key, format)]."""
    cells = [[h for h, _, _ in columns]] + [["-" if r[k] is None else fmt.format(r[k]) for _, k, fmt in columns]
                                            for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells)


def _cap_text(cfg):
    """The compute cap of a report's config as text: ``2^25`` or ``none``."""
    cap = cfg.get("chunk_cost_bits")
    return "none" if cap is None else f"2^{cap}"


def _format_image_scale(result):
    cfg = result["config"]
    cols = [("seed", "seed", "{}"), ("workers", "workers", "{}"), ("dims", "dims", "{}"), ("steps", "steps", "{}"),
            ("sum KL", "kl_bits", "{:.0f}"), ("I(X;Z)", "predicted_kl_bits", "{:.0f}"),
            ("coded", "coded_bits", "{}"), ("coded/KL", "coded_over_kl", "{:.3f}"),
            ("bpp", "bits_per_pixel_coded", "{:.3f}"), ("chunks", "chunks", "{}"),
            ("coords", "candidate_coordinates", "{:.3g}"), ("encode s", "encode_s", "{:.1f}"),
            ("z sumKL", "z_kl", "{:+.2f}"), ("z MSE flow", "z_mse_flow", "{:+.2f}"), ("z MSE mean", "z_mse_mean", "{:+.2f}")]
    return "\n".join([
        f"image scale: oracle chain on a {'x'.join(map(str, cfg['shape']))} 1/f^2 image, log-SNR "
        f"{cfg['log_snr_start']:g}..{cfg['log_snr_stop']:.3f}, budget {cfg['budget_bits']}, padding "
        f"{cfg['padding_bits']}, tail target {cfg['tail_target']}, chunk cost cap {_cap_text(cfg)}, "
        f"device {cfg['device']}",
        "coded = segment bits (no container header); z = (realised - expected given the image) / its std, "
        "|z| < 1.96 inside the 95% interval",
        _table(result["image_scale"], cols)] + _format_idealised(result.get("idealised")))


def _format_idealised(ideal):
    """The idealised coder's limits (``rcc.limits``) as lines of text, or none."""
    if not ideal:
        return []
    cols = [("coded/KL", "coded_over_kl", "{:.2f}")]
    for name, label in (("free", "free"), ("one_kl_per_step", "one KL/step")):
        cols += [(f"{label}: coords >=", f"{name}_coordinates_lower", "{:.3g}"),
                 ("<=", f"{name}_coordinates_upper", "{:.3g}"), ("s >=", f"{name}_seconds_lower", "{:.0f}")]
    return [
        "",
        f"idealised coder (rcc.limits: perfectly filled chunks, a free partition, the index at the exact PFR entropy "
        f"H(K), tail target {ideal['tail_target']}): least candidate coordinates for a coded rate, seconds at this "
        f"run's one-worker rate; free: every dimension in chunks of the KL it likes (a density-sorted partition), "
        f"one KL/step: every chunk of a step alike (a random permutation's partition)",
        _table(ideal["compute_limits"], cols),
        f"within this run's {ideal['run_coordinates']:.3g} coordinates the idealised coder reaches coded/KL "
        f"{ideal['free_rate_lower_at_run']:.3f}..{ideal['free_rate_upper_at_run']:.3f} (free), "
        f"{ideal['one_kl_per_step_rate_lower_at_run']:.3f}..{ideal['one_kl_per_step_rate_upper_at_run']:.3f} "
        f"(one KL per step)"]


def _format_frontier(result):
    cols = [("method", "method", "{}"), ("budget", "budget_bits", "{}"), ("padding", "padding_bits", "{}"),
            ("tail", "tail_target", "{}"), ("chunks", "chunks", "{}"), ("coded/KL", "coded_over_kl", "{:.3f}"),
            ("in our code", "coded_over_kl_package_code", "{:.3f}"),
            ("mean shift", "mean_shift", "{:+.3f}"), ("+-se", "mean_shift_se", "{:.3f}"),
            ("KS", "ks_distance", "{:.3f}"), ("coords/coded bit", "coordinates_per_coded_bit", "{:.3g}")]
    return "\n".join(["frontier: the same DiffC steps coded by each setting; mean shift and KS of the delivered "
                      "projections (N(0,1) for an exact sampler); 'in our code': the reference's indices coded as "
                      "this package codes a segment", _table(result["frontier"], cols)])


def format_table(result):
    """Human-readable report of a ``run`` result."""
    if "image_scale" in result:
        return _format_image_scale(result)
    if "frontier" in result:
        return _format_frontier(result)
    cfg = result["config"]
    rate_cols = [("std", "std", "{}"), ("KL bits", "kl_bits_total", "{:.1f}"), ("dims", "num_dims", "{}"),
                 ("part.", "partition", "{}"), ("chunks", "num_chunks", "{}"), ("fill", "chunk_fill", "{:.2f}"),
                 ("coded bits", "coded_bits", "{}"), ("coded/KL", "coded_over_kl", "{:.3f}"),
                 ("over/chunk", "overhead_bits_per_chunk", "{:.2f}"),
                 ("part./chunk", "partition_bits_per_chunk", "{:.2f}"),
                 ("idx over/chunk", "index_overhead_bits_per_chunk", "{:.2f}"),
                 ("exact-PFR H-KL", "exact_pfr_overhead_bits_per_chunk", "{:.2f}"),
                 ("LEG over/chunk", "leg_bound_overhead_bits_per_chunk", "{:.2f}"),
                 ("mean L", "mean_candidate_bits", "{:.1f}"),
                 ("TV bound", "tv_bound_total", "{:.2g}"), ("exact", "round_trip_exact", "{}"),
                 ("enc s", "encode_s", "{:.2f}")]
    fid_cols = [("padding", "padding_bits", "{}"), ("sampler", "sampler", "{}"), ("N", "num_candidates", "{}"),
                ("mean shift", "mean_shift", "{:+.3f}"), ("+-se", "mean_shift_se", "{:.3f}"),
                ("KS dist", "ks_distance", "{:.3f}"), ("KS p", "ks_pvalue", "{:.2g}"),
                ("TV bound P(K>N)", "tv_bound", "{:.2g}")]
    thr = result["throughput"]
    gen_rows = [{"name": g["name"] + ("" if g["qualifies"] else " (stream differs across machines)"),
                 "rate": g["normals_per_s"]} for g in thr["generators"]]
    return "\n".join([
        f"reverse channel coding, budget {cfg['budget_bits']} bits, index range 2^{cfg['budget_bits'] + cfg['padding_bits']}, "
        f"tail target {cfg['tail_target']} (candidates per chunk from its KL), chunk cost cap "
        f"{_cap_text(cfg)} coordinates, seed {cfg['seed']}",
        "coded bits = segment bytes x 8 (container header excluded); overheads = coded - KL; "
        "LEG = Li-El Gamal bound KL + log2(KL+1) + 4 on the index entropy, per chunk; exact-PFR H-KL = mean "
        "H(K) - KL of untruncated PFR per chunk; mean L = mean log2 of the candidates scanned per chunk",
        "",
        _table(result["rate"], rate_cols),
        "",
        f"fidelity: one chunk, {cfg['fidelity_dims']} dims, KL {cfg['fidelity_kl_bits']:g} bits, "
        f"{cfg['fidelity_trials']} trials; projection on the shift, N(0, 1) under q",
        _table(result["fidelity"], fid_cols),
        "",
        "normal generators, one core (normals/s):",
        _table(gen_rows, [("generator", "name", "{}"), ("normals/s", "rate", "{:.3g}")]),
        f"floor: {thr['floor']['normals_per_s']:.3g} normals/s ({thr['floor']['name']}); sampler "
        f"{thr['sampler_coordinates_per_s_one_core']:.3g} candidate coordinates/s on one core = "
        f"{thr['sampler_over_floor']:.2f} of the floor; {thr['sampler_coordinates_per_s_all_workers']:.3g} on "
        f"{thr['workers']} workers ({thr['speedup_all_workers']:.2f}x)",
        f"rate rows: {thr['coded_bits_per_s']:.3g} coded bits/s (encode {thr['encode_s_total']:.2f} s, decode "
        f"{thr['decode_s_total']:.2f} s; {cfg['cpu']}, numpy {cfg['numpy']})",
    ])


def main(argv=None):
    """Entry point of ``python -m empirical.rcc_bench``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = run(args)
    except ValueError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.format == "json" else format_table(result))
    return 0
