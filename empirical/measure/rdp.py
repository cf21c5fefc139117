"""The codec under both noise schedules on Gaussian data: measured rate, DiffC-F / DiffC-A / ``dp:C`` MSE and realism
next to the closed-form ``rdp`` curve and the distortion–perception frontier.

::

    x ~ N(0, U diag(lam) U^T)   (empirical.data gaussian, test split; the exact oracle)
      rdp:        one stream, RdpGrid(K, R/K, R) (uniform in rate); stops at the grid points nearest above --rates
      isotropic:  one stream per stop, K log-SNRs ending where I(X; Z) = that stop's rate (same expected rate)
      -> bytes -> decode_latent -> flow (DiffC-F), ancestral (DiffC-A), dp:C (score-scaled flow)

Per (schedule, stop, decoder): realised sum KL and MSE with 95% intervals, the Gaussian W2^2 per
dimension of the reconstructions to the data law (realism), and the closed forms: ``rdp`` / isotropic
DiffC-F, DiffC-A, ``x_hat = rho^C z / alpha`` (``gaussian.components.mse_linear_decoder`` and
``w2_sq_linear_decoder``). Per stop, the paired ratio ``D_F(isotropic) / D_F(rdp)`` on the same samples
against the closed-form gap. The isotropic streams use the RK4 flow (64 steps) and 512 ancestral steps;
the rdp streams the oracle's exact maps. ``--tail-target`` is the channel simulator's per-chunk truncation tail
(``empirical.rcc.candidate_bits``; default 0.02): a smaller one scans more candidates and lowers its bias.

example:
  python -m empirical.measure.rdp --spectrum powerlaw:1 --dim 16 --rates 0.25,0.5,1,2 --num-steps 16 --n 1000
"""
from __future__ import annotations

import argparse
import math
import os
import warnings

import numpy as np

from empirical import _cli

__all__ = ["main", "measure", "format_table"]

FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "spectrum", "dim", "rates", "num_steps", "n", "dp", "seed", "workers", "json", "block", "tail_target")}
BLOCK = 25


def _parser():
    p = _cli.parser("python -m empirical.measure.rdp", __doc__)
    p.add_argument("--spectrum", default="powerlaw:1", help="spectrum of the Gaussian data (default powerlaw:1)")
    p.add_argument("--dim", type=int, default=16, help="dimensions (default 16)")
    p.add_argument("--rates", default="0.25,0.5,1,2", help="target rates, bits/dim (default 0.25,0.5,1,2)")
    p.add_argument("--num-steps", type=int, default=16, help="grid points of each schedule (default 16)")
    p.add_argument("--n", type=int, default=1000, help="samples (default 1000)")
    p.add_argument("--dp", default="1.25,1.5,1.75,2", help="score scales C of the dp:C decoders (default 1.25,1.5,1.75,2)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--tail-target", type=float, default=None,
                   help="the channel simulator's per-chunk truncation tail P(K > N), in (0, 1) (default 0.02)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default os.cpu_count())")
    p.add_argument("--json", default=None, help="also write the results as JSON here")
    p.add_argument("--no-progress", action="store_true", help="accepted for symmetry; nothing is drawn")
    return p


def _floats(text, argument, lo, hi):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{argument}: expected comma-separated numbers, got {text!r}") from None
    if not values or not all(lo <= v <= hi for v in values) or values != sorted(set(values)):
        raise ValueError(f"{argument}: expected increasing numbers in [{lo:g}, {hi:g}], got {text!r}")
    return values


def _setup(spec):
    """``(source, oracle, rdp grid, rdp stop steps, isotropic grids)`` of a spec (deterministic)."""
    from empirical import codec, data, models
    from gaussian import curves

    source = data.make("gaussian", spectrum=spec["spectrum"], dim=spec["dim"])
    oracle = models.GaussianOracle.from_source(source)
    k, rates = spec["num_steps"], spec["rates"]
    grid = codec.default_rdp_grid(oracle, k, rate_stop_bits_per_dim=rates[-1])
    grid_rates = grid.rates_bits_per_dim
    stops = sorted({int(np.nonzero(grid_rates >= r * (1 - 1e-6))[0][0]) + 1 for r in rates})
    iso = []
    for s in stops:
        stop = float(curves.log_snr_for_rate(oracle.eigvals, rate_bits_per_dim=grid_rates[s - 1])[0])
        iso.append(codec.Grid(k, min(oracle.log_snr_min, stop - 1.0), stop))
    return source, oracle, grid, stops, iso


def _block(spec, block):
    """Per-sample KL, payload and reconstructions of one block of samples (worker process)."""
    from empirical import codec
    from empirical.codec import receivers
    from empirical.measure.sweep import codec_seed

    source, oracle, grid, stops, iso = _setup(spec)
    x_all = source.sample(spec["n"], seed=spec["seed"], split="test")
    lo, hi = block * BLOCK, min(spec["n"], (block + 1) * BLOCK)
    x = x_all[lo:hi]
    scales = [1.0] + spec["dp"]
    out = {"x": x}
    lat = {("rdp", s): [] for s in stops} | {("isotropic", s): [] for s in stops}
    kl = {key: [] for key in lat}
    pay = {key: [] for key in lat}
    for row in range(x.shape[0]):
        seed = codec_seed(spec["seed"], lo + row)
        res = codec.encode_detailed(x[row], oracle, num_steps=grid.num_points, schedule="rdp",
                                    rate_start_bits_per_dim=grid.rate_start_bits_per_dim,
                                    rate_stop_bits_per_dim=grid.rate_stop_bits_per_dim, stop_step=stops[-1], seed=seed,
                                    tail_target=spec.get("tail_target", "default"))
        for s in stops:
            nbytes = res.header_bits // 8 + int(res.coded_bits_per_step[:s].sum()) // 8
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a cut stream warns that it is truncated: that is the point
                lat[("rdp", s)].append(codec.decode_latent(res.data[:nbytes], oracle, prefix_steps=s).z)
            kl[("rdp", s)].append(res.kl_bits_per_step[:s].sum())
            pay[("rdp", s)].append(res.coded_bits_per_step[:s].sum())
        for s, g in zip(stops, iso):
            r = codec.encode_detailed(x[row], oracle, num_steps=g.num_points, log_snr_start=g.log_snr_start,
                                      log_snr_stop=g.log_snr_stop, seed=seed, tail_target=spec.get("tail_target", "default"))
            lat[("isotropic", s)].append(codec.decode_latent(r.data, oracle).z)
            kl[("isotropic", s)].append(r.kl_bits_total)
            pay[("isotropic", s)].append(r.payload_bits)
    table = grid.log_snrs_for(oracle)
    rng = np.random.default_rng(np.random.SeedSequence([0x5A3D20, spec["seed"], block]))
    for (schedule, s), zs in lat.items():
        z = np.stack(zs)
        rec = {}
        if schedule == "rdp":
            ls = table[s - 1]
            for c in scales:
                rec[f"dp:{c:g}"] = oracle.flow_map_per_component(z, ls, np.inf, score_scale=c)
            rec["ancestral"] = oracle.posterior_sample_per_component(z, ls, rng)
        else:
            ls = iso[stops.index(s)].log_snr_stop
            for c in scales:
                rec[f"dp:{c:g}"] = receivers.flow(z, ls, oracle, None, num_steps=64, solver="rk4", score_scale=c)
            rec["ancestral"] = receivers.ancestral(z, ls, oracle, rng, num_steps=512)
        out[(schedule, s)] = {"kl": np.array(kl[(schedule, s)]), "payload": np.array(pay[(schedule, s)]), "rec": rec}
    return out


def measure(spec, workers=None) -> dict:
    """Run the measurement (see the module docstring); a JSON-ready dict of rows and gaps."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from gaussian import components, curves, schedule as sched

    from .sweep import gaussian_w2_sq_per_dim, mean_ci95, ratio_ci95

    source, oracle, grid, stops, iso = _setup(spec)
    num_blocks = -(-spec["n"] // BLOCK)
    workers = min(workers or os.cpu_count() or 1, num_blocks)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        blocks = list(pool.map(_block, [spec] * num_blocks, range(num_blocks)))
    x = np.concatenate([b["x"] for b in blocks])
    d, lam = oracle.dim, oracle.eigvals
    covariance = (oracle.basis * lam) @ oracle.basis.T
    table = grid.log_snrs_for(oracle)
    rows, gaps = [], []
    for s in stops:
        rate = float(grid.rates_bits_per_dim[s - 1])
        errs = {}
        for schedule in ("rdp", "isotropic"):
            snr = (np.exp(table[s - 1]) if schedule == "rdp"
                   else np.full(d, sched.snr_from_log_snr(iso[stops.index(s)].log_snr_stop)))
            rho = components.flow_gain(lam, snr)
            kl_mean, kl_ci = mean_ci95(np.concatenate([b[(schedule, s)]["kl"] for b in blocks]) / d)
            pay_mean, _ = mean_ci95(np.concatenate([b[(schedule, s)]["payload"] for b in blocks]) / d)
            predicted_rate = float(components.rate_nats(lam, snr).sum() / (d * math.log(2.0)))
            for method in blocks[0][(schedule, s)]["rec"]:
                xh = np.concatenate([b[(schedule, s)]["rec"][method] for b in blocks])
                err = np.mean((xh - x) ** 2, axis=1)
                errs[(schedule, method)] = err
                mse, mse_ci = mean_ci95(err)
                if method == "ancestral":
                    want_mse, want_w2 = float(components.mse_diffc_a(lam, snr).mean()), 0.0
                else:
                    gain = rho ** float(method[3:])
                    want_mse = float(components.mse_linear_decoder(lam, snr, gain).mean())
                    want_w2 = float(components.w2_sq_linear_decoder(lam, snr, gain).mean())
                rows.append(dict(schedule=schedule, stop_step=s, rate_bits_per_dim=rate,
                                 predicted_bits_per_dim=predicted_rate, kl_bits_per_dim=kl_mean,
                                 kl_bits_per_dim_ci95=kl_ci, payload_bits_per_dim=pay_mean, method=method,
                                 mse=mse, mse_ci95=mse_ci, predicted_mse=want_mse,
                                 within_ci95=bool(abs(mse - want_mse) <= mse_ci),
                                 w2_sq_gauss_per_dim=gaussian_w2_sq_per_dim(xh, source.mean, covariance),
                                 predicted_w2_sq_per_dim=want_w2))
        curve = curves.evaluate(lam, rate_bits_per_dim=rate)
        ratio, ratio_ci = ratio_ci95(errs[("isotropic", "dp:1")], errs[("rdp", "dp:1")])
        gaps.append(dict(stop_step=s, rate_bits_per_dim=rate, mse_rd=float(curve.mse_rd[0]),
                         mse_rdp=float(curve.mse_rdp[0]), mse_diffc_f=float(curve.mse_diffc_f[0]),
                         ratio=ratio, ratio_ci95=ratio_ci,
                         predicted_ratio=float(curve.mse_diffc_f[0] / curve.mse_rdp[0])))
    w2_data = gaussian_w2_sq_per_dim(x, source.mean, covariance)
    return {"spec": spec, "eigvals": lam.tolist(), "w2_sq_gauss_per_dim_data": w2_data, "rows": rows, "gaps": gaps}


def format_table(result) -> str:
    """Markdown tables: per point, and the isotropic/rdp DiffC-F ratio per stop."""
    lines = ["| schedule | rate | ΣKL ± 95% | decoder | MSE ± 95% | closed form | in CI | W2² meas. / closed |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        name = {"dp:1": "flow (dp:1)", "ancestral": "ancestral"}.get(r["method"], r["method"])
        lines.append(f"| {r['schedule']} | {r['rate_bits_per_dim']:.4g} | {r['kl_bits_per_dim']:.4f} ± "
                     f"{r['kl_bits_per_dim_ci95']:.4f} | {name} | {r['mse']:.4g} ± {r['mse_ci95']:.2g} | "
                     f"{r['predicted_mse']:.4g} | {'yes' if r['within_ci95'] else 'no'} | "
                     f"{r['w2_sq_gauss_per_dim']:.3g} / {r['predicted_w2_sq_per_dim']:.3g} |")
    lines += ["", f"W2² of {result['spec']['n']} data samples themselves (the estimate's floor): "
              f"{result['w2_sq_gauss_per_dim_data']:.3g}", "",
              "| rate | D_rd | D_rdp | D_F isotropic | D_F iso / D_F rdp measured (paired 95%) | closed form |",
              "|---|---|---|---|---|---|"]
    for g in result["gaps"]:
        lines.append(f"| {g['rate_bits_per_dim']:.4g} | {g['mse_rd']:.4g} | {g['mse_rdp']:.4g} | {g['mse_diffc_f']:.4g} "
                     f"| {g['ratio']:.4f} ± {g['ratio_ci95']:.4f} | {g['predicted_ratio']:.4f} |")
    return "\n".join(lines)


def _run(args) -> None:
    if args.json:
        _cli.check_outputs((args.json, "--json"))
    if not 2 <= args.dim <= 256:
        raise ValueError(f"dim: must be an integer in 2..256, got {args.dim}")
    if not 1 <= args.num_steps <= 4096:
        raise ValueError(f"num_steps: must be an integer in 1..4096, got {args.num_steps}")
    if not 2 <= args.n <= 10**6:
        raise ValueError(f"n: must be an integer in 2..1000000, got {args.n}")
    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise ValueError(f"workers: must be an integer in 1..1024, got {args.workers}")
    if not 0 <= args.seed < 2**63:
        raise ValueError(f"seed: must be an integer in [0, 2^63), got {args.seed}")
    spec = {"spectrum": args.spectrum, "dim": args.dim, "rates": _floats(args.rates, "rates", 1e-6, 64.0),
            "num_steps": args.num_steps, "n": args.n, "dp": _floats(args.dp, "dp", 1.0, 2.0), "seed": args.seed}
    spec["dp"] = [c for c in spec["dp"] if c != 1.0]
    if args.tail_target is not None:
        if not 0.0 < args.tail_target < 1.0:
            raise ValueError(f"tail_target: must lie in (0, 1), got {args.tail_target}")
        spec["tail_target"] = args.tail_target
    _setup(spec)  # validates the spectrum and the grid before any work
    result = measure(spec, args.workers)
    print(format_table(result))
    if args.json:
        _cli.write_report(args.json, result)


def main(argv=None) -> int:
    """Run the CLI; 2 with a one-line error naming the flag for bad input."""
    return _cli.main(_parser, _run, FLAGS, argv)


if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, prog="python -m empirical.measure.rdp")
