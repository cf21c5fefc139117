"""Benchmark reverse channel coding: coded bits vs KL, delivered-sample fidelity, CPU throughput.

Rate: for each KL total, a random diagonal Gaussian pair with equal stds (the
DiffC case; ``--unequal-std`` adds pairs whose stds differ too) over
``n = min(max_dims, ceil(KL / 0.25))`` dimensions is coded with
``empirical.rcc.encode_step``; the table compares the segment bytes actually
written (no container header) with the KL, per chunk, against the
Li-El Gamal bound ``KL_c + log2(KL_c + 1) + 4`` on the index entropy and
against ``H(K_c)``, the entropy of the untruncated PFR index at the chunk's KL
(``empirical.rcc.pfr_index_entropy_bits``: what exact PFR costs with the best
code for a chunk whose KL the decoder knows), and checks that ``decode_step``
reproduces the sample bit for bit.

Fidelity: one chunk of ``--fidelity-dims`` dimensions with KL ``--fidelity-kl-bits``
is coded ``--fidelity-trials`` times; for each padding the delivered sample's
projection on the mean shift, standardised under ``q`` (exactly ``N(0, 1)`` for
a perfect sampler), is compared with ``N(0, 1)``: mean shift (with its standard
error) and Kolmogorov-Smirnov distance, next to the exact truncation tail
``P(K > N)``, which bounds the total-variation distance. Padding 0
(``N = 2^budget``) is the naive truncated sampler.

Throughput: candidates scored per second (a candidate is a chunk-sized vector;
candidate coordinates per second counts its normals) and coded bits per second
of the encoder, on this CPU, single process.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import platform
import sys
import time

import numpy as np

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
    add("--padding-bits", type=int, default=8, help="candidates per chunk 2^(budget+padding) (default: 8)")
    add("--seed", type=int, default=0, help="seed of the pairs and of the shared randomness (default: 0)")
    add("--kl-totals", type=_float_list, default=None,
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
    return parser


def random_pair(kl_bits_total, num_dims, seed, unequal_std=False):
    """``(q_mean, q_std, p_mean, p_std)``: a random diagonal pair with ``KL(q||p) = kl_bits_total`` bits.

    ``p_mean ~ N(0, 1)``, ``p_std = exp(N(0, 0.3^2))``; with ``unequal_std``,
    ``q_std = p_std exp(N(0, 0.1^2))``, else ``q_std = p_std``. The remaining
    KL is spread over dimensions in proportion to chi-square(1) draws capped at
    4 and put into the means, ``q_mean = p_mean + p_std d``.
    """
    from .rcc import kl_bits_per_dim

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
    from .rcc import pfr_index_entropy_bits

    grid = budget_bits * (np.arange(97) / 96.0) ** 2
    return grid, pfr_index_entropy_bits(grid) - grid


def exact_pfr_overhead_bits(kl_bits, budget_bits):
    """``H(K) - KL`` of untruncated PFR per chunk, interpolated (within 0.01 bits for chunk KLs above 0.02 bits).

    ``rcc.pfr_index_entropy_bits`` costs ~40 ms per KL, too much for thousands of
    chunks; the curve is smooth away from ``KL = 0``.
    """
    grid, table = _exact_pfr_overhead_table(int(budget_bits))
    return np.interp(kl_bits, grid, table)


def rate_row(kl_bits_total, num_dims, seed, budget_bits, padding_bits, unequal_std):
    """Code one random pair; a dict of measured bits, bounds, TV bound and timings."""
    from bounds.rcc_cost import li_el_gamal_entropy_bound_bits

    from . import rcc

    q_mean, q_std, p_mean, p_std = random_pair(kl_bits_total, num_dims, seed, unequal_std)
    start = time.perf_counter()
    code = rcc.encode_step(q_mean, q_std, p_mean, p_std, seed=seed, step=0,
                           budget_bits=budget_bits, padding_bits=padding_bits)
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
        "candidates_per_s": code.num_chunks * code.num_candidates / encode_s,
        "coded_bits_per_s": code.coded_bits / encode_s,
    }


def fidelity_rows(kl_bits, num_dims, trials, budget_bits, paddings, seed):
    """Delivered-sample statistics of one chunk per padding: mean shift, KS distance, exact tail bound."""
    from scipy import stats

    from . import rcc
    from ._gaussian_ratio import log_ratio_coefficients

    shift = np.full(num_dims, math.sqrt(2.0 * math.log(2.0) * kl_bits / num_dims))
    zeros, ones = np.zeros(num_dims), np.ones(num_dims)
    coefficients = log_ratio_coefficients(shift, ones, zeros, ones)
    direction = shift / np.linalg.norm(shift)
    counts = sorted({1 << (budget_bits + pad) for pad in paddings})
    projections = {n: np.empty(trials) for n in counts}
    start = time.perf_counter()
    for trial in range(trials):
        _, found = rcc._scan_chunk(coefficients, seed, trial, 0, counts[-1], checkpoints=counts)
        for n in counts:
            x = rcc._chunk_sample(found[n], zeros, ones, seed, trial, 0)
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


def run(args):
    """Run the benchmark described by parsed ``args``; returns the result dict."""
    from . import rcc

    rcc._check_params(args.seed, 0, args.budget_bits, args.padding_bits)
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
    rate = []
    for unequal in ((False, True) if args.unequal_std else (False,)):
        for total in kl_totals:
            num_dims = min(max_dims, max(1, math.ceil(total / KL_BITS_PER_DIM)))
            if total / num_dims > 0.5 * args.budget_bits:
                raise ValueError(f"KL total {total:g} over at most {max_dims} dims exceeds half the budget per "
                                 f"dimension; raise --max-dims or lower --kl-totals")
            rate.append(rate_row(total, num_dims, args.seed, args.budget_bits, args.padding_bits, unequal))
    fidelity, fidelity_s = fidelity_rows(fidelity_kl, args.fidelity_dims, trials, args.budget_bits,
                                         args.fidelity_paddings, args.seed)
    encode_s = sum(r["encode_s"] for r in rate)
    return {
        "config": {
            "budget_bits": args.budget_bits, "padding_bits": args.padding_bits, "seed": args.seed,
            "kl_totals": list(kl_totals), "max_dims": max_dims, "fidelity_trials": trials,
            "fidelity_paddings": list(args.fidelity_paddings), "fidelity_kl_bits": fidelity_kl,
            "fidelity_dims": args.fidelity_dims, "coded_bits": "segment bytes x 8, container header excluded",
            "cpu": platform.processor() or platform.machine(), "numpy": np.__version__,
        },
        "rate": rate,
        "fidelity": fidelity,
        "throughput": {
            "candidates_per_s": sum(r["num_chunks"] for r in rate) * (1 << (args.budget_bits + args.padding_bits))
            / encode_s,
            "candidate_normals_per_s": sum(r["num_dims"] for r in rate)
            * (1 << (args.budget_bits + args.padding_bits)) / encode_s,
            "coded_bits_per_s": sum(r["coded_bits"] for r in rate) / encode_s,
            "encode_s_total": encode_s,
            "decode_s_total": sum(r["decode_s"] for r in rate),
            "fidelity_candidates_per_s": trials * (1 << (args.budget_bits + max(args.fidelity_paddings)))
            / fidelity_s,
        },
    }


def _table(rows, columns):
    """Fixed-width text table of ``rows`` (dicts) for ``columns`` = [(header, key, format)]."""
    cells = [[h for h, _, _ in columns]] + [["-" if r[k] is None else fmt.format(r[k]) for _, k, fmt in columns]
                                            for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells)


def format_table(result):
    """Human-readable report of a ``run`` result."""
    cfg = result["config"]
    rate_cols = [("std", "std", "{}"), ("KL bits", "kl_bits_total", "{:.1f}"), ("dims", "num_dims", "{}"),
                 ("part.", "partition", "{}"), ("chunks", "num_chunks", "{}"), ("fill", "chunk_fill", "{:.2f}"),
                 ("coded bits", "coded_bits", "{}"), ("coded/KL", "coded_over_kl", "{:.3f}"),
                 ("over/chunk", "overhead_bits_per_chunk", "{:.2f}"),
                 ("part./chunk", "partition_bits_per_chunk", "{:.2f}"),
                 ("idx over/chunk", "index_overhead_bits_per_chunk", "{:.2f}"),
                 ("exact-PFR H-KL", "exact_pfr_overhead_bits_per_chunk", "{:.2f}"),
                 ("LEG over/chunk", "leg_bound_overhead_bits_per_chunk", "{:.2f}"),
                 ("TV bound", "tv_bound_total", "{:.2g}"), ("exact", "round_trip_exact", "{}"),
                 ("enc s", "encode_s", "{:.2f}"), ("cand/s", "candidates_per_s", "{:.3g}")]
    fid_cols = [("padding", "padding_bits", "{}"), ("sampler", "sampler", "{}"), ("N", "num_candidates", "{}"),
                ("mean shift", "mean_shift", "{:+.3f}"), ("+-se", "mean_shift_se", "{:.3f}"),
                ("KS dist", "ks_distance", "{:.3f}"), ("KS p", "ks_pvalue", "{:.2g}"),
                ("TV bound P(K>N)", "tv_bound", "{:.2g}")]
    thr = result["throughput"]
    return "\n".join([
        f"reverse channel coding, budget {cfg['budget_bits']} bits, padding {cfg['padding_bits']} bits, "
        f"N = 2^{cfg['budget_bits'] + cfg['padding_bits']} candidates per chunk, seed {cfg['seed']}",
        "coded bits = segment bytes x 8 (container header excluded); overheads = coded - KL; "
        "LEG = Li-El Gamal bound KL + log2(KL+1) + 4 on the index entropy, per chunk; exact-PFR H-KL = mean "
        "H(K) - KL of untruncated PFR per chunk (an ideal index code knowing each chunk's KL)",
        "",
        _table(result["rate"], rate_cols),
        "",
        f"fidelity: one chunk, {cfg['fidelity_dims']} dims, KL {cfg['fidelity_kl_bits']:g} bits, "
        f"{cfg['fidelity_trials']} trials; projection on the shift, N(0, 1) under q",
        _table(result["fidelity"], fid_cols),
        "",
        f"throughput: {thr['candidates_per_s']:.3g} candidates/s ({thr['candidate_normals_per_s']:.3g} "
        f"candidate coordinates/s), {thr['coded_bits_per_s']:.3g} coded bits/s "
        f"(encode {thr['encode_s_total']:.2f} s, decode {thr['decode_s_total']:.2f} s; "
        f"{cfg['cpu']}, numpy {cfg['numpy']})",
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


if __name__ == "__main__":
    raise SystemExit(main())
