"""Measured rate-distortion of the DiffC codec (real bytes) next to the Gaussian closed forms.

Each sample is encoded once up to the largest stop step; every rate point is a
prefix of that bitstream, decoded and reconstructed by each method (flow =
DiffC-F, ancestral = DiffC-A, mmse = E[x | z]). Rates are bits per dimension;
--rates picks, for each target, the first grid step whose expected chain rate
reaches it (closed-form I(X;Z) for Gaussian data with the oracle, else the
mean ideal chain KL of 64 train samples); --stop-steps gives the steps directly.

examples:
  python -m empirical.rd --data gaussian --dim 16 --spectrum powerlaw:1 --rates 0.25,1,2,4,6 --n 200
  python -m empirical.rd --data patches --model oracle --split train --num-steps 64 --rates 0.25,1,2 --n 64
  python -m empirical.rd --data mixture2d --stop-steps 20,28 --n 64 --format json
  python -m empirical.rd --data gaussian --dim 16 --spectrum powerlaw:1 --model gauss16.pt --rates 1 --format csv
  python -m empirical.rd --data gaussian --dim 16 --spectrum powerlaw:1 --model gauss16.pt --reference-model oracle \
      --rates 1,4 --ancestral-steps 2048 --ancestral-draws 16   # paired with the exact oracle on the same latents
  python -m empirical.rd --data gaussian --dim 4 --spectrum powerlaw:1 --rates 1 --n 32 --plot rd.png --workers 2
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import pathlib

from empirical import _cli

__all__ = ["main", "run"]

DATA_CHOICES = ("gaussian", "mixture2d", "digits", "patches")
FORMATS = ("table", "csv", "json")
FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "data", "spectrum", "dim", "model", "rates", "stop_steps", "reference_model", "method",
    "n", "split", "num_steps", "log_snr_start", "log_snr_stop", "budget_bits", "padding_bits", "flow_steps",
    "ancestral_steps", "ancestral_draws", "seed", "workers", "format", "plot")}
FLAGS["methods"] = "--method"  # sweep.SweepSpec's name


def _items(text: str, argument: str) -> list:
    """The comma-separated items of ``text`` (blanks around them allowed); ValueError naming ``argument`` for an
    empty list or an empty item (``1,,2``, ``''``, a trailing comma)."""
    items = [v.strip() for v in text.split(",")]
    if not any(items):
        raise ValueError(f"{argument}: expected a comma-separated list, got {text!r}")
    if not all(items):
        raise ValueError(f"{argument}: empty item in {text!r}")
    return items


def _float_list(text: str, argument: str) -> list:
    items = _items(text, argument)
    try:
        values = [float(v) for v in items]
    except ValueError:
        raise ValueError(f"{argument}: expected comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{argument}: expected finite numbers, got {text!r}")
    return values


def _int_list(text: str, argument: str) -> list:
    items = _items(text, argument)
    try:
        return [int(v) for v in items]
    except ValueError:
        raise ValueError(f"{argument}: expected comma-separated integers, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = _cli.parser("python -m empirical.rd", __doc__)
    p.add_argument("--data", default="gaussian", choices=DATA_CHOICES, help="data source (default gaussian)")
    p.add_argument("--spectrum", default="patches", help="spectrum of --data gaussian (default patches)")
    p.add_argument("--dim", type=int, default=None, help="dimension of --data gaussian for synthetic spectra")
    p.add_argument("--model", default=None,
                   help="oracle, oracle:plugin, mixture-oracle or a checkpoint path "
                        "(default oracle; mixture-oracle for mixture2d)")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--rates", default=None, help="target rates, bits/dim, comma-separated (default 0.25,1,2)")
    rate.add_argument("--stop-steps", default=None, help="chain lengths to decode, comma-separated")
    p.add_argument("--reference-model", default=None, metavar="MODEL",
                   help="also decode the same latents with this model (e.g. oracle): paired MSE ratios")
    p.add_argument("--method", default="flow,ancestral,mmse", help="decoders (default flow,ancestral,mmse)")
    p.add_argument("--n", type=int, default=500, help="samples (default 500)")
    p.add_argument("--split", default="test", choices=("train", "test"), help="split to sample (default test)")
    p.add_argument("--num-steps", type=int, default=32, help="codec grid points (default 32)")
    p.add_argument("--log-snr-start", type=float, default=None, help="first grid log-SNR (default: the model's)")
    p.add_argument("--log-snr-stop", type=float, default=None, help="last grid log-SNR (default: the codec's)")
    p.add_argument("--budget-bits", type=int, default=8, help="RCC chunk budget (default 8)")
    p.add_argument("--padding-bits", type=int, default=8, help="RCC padding bits (default 8)")
    p.add_argument("--flow-steps", type=int, default=64, help="RK4 steps of DiffC-F (default 64)")
    p.add_argument("--ancestral-steps", type=int, default=512, help="steps of DiffC-A (default 512)")
    p.add_argument("--ancestral-draws", type=int, default=1,
                   help="DiffC-A decodes per latent, errors averaged (default 1)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default os.cpu_count())")
    p.add_argument("--format", default="table", choices=FORMATS, help="output format (default table)")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="also plot the measured MSE (95%% CIs) against the realised sum of KLs (filled) and the "
                        "payload bits (open), with the closed forms at the stopping log-SNR (x), to FILE (format "
                        "from its suffix, e.g. .png; written to a temporary name, then renamed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _check_checkpoint(spec, argument: str) -> None:
    """Load a checkpoint ``spec`` once so that its error names ``argument`` (``--reference-model``, not ``--model``)."""
    if spec is None or spec.split(":")[0] in ("oracle", "mixture-oracle"):
        return
    from empirical import models

    try:
        models.load(spec)
    except ValueError as err:
        name, sep, rest = str(err).partition(":")
        raise ValueError(f"{argument}:{rest}" if sep and name == "model" else str(err)) from None


def _spec_from_args(args):
    """``(SweepSpec, rate targets or None)`` from parsed arguments (ValueError naming the argument)."""
    from . import sweep

    data = {"name": args.data}
    if args.data == "gaussian":
        data["spectrum"] = args.spectrum
        if args.dim is not None:
            data["dim"] = args.dim
    elif args.dim is not None or args.spectrum != "patches":
        raise ValueError(f"dim: --dim and --spectrum apply only to --data gaussian, not {args.data}")
    model = args.model or ("mixture-oracle" if args.data == "mixture2d" else "oracle")
    _check_checkpoint(model, "model")
    _check_checkpoint(args.reference_model, "reference_model")
    methods = tuple(_items(args.method, "method"))
    if not methods or any(m not in sweep.METHODS for m in methods) or len(set(methods)) != len(methods):
        raise ValueError(f"method: expected distinct entries of {','.join(sweep.METHODS)}, got {args.method!r}")
    if args.num_steps is None or not 1 <= args.num_steps <= 4096:
        raise ValueError(f"num_steps: must be an integer in 1..4096, got {args.num_steps}")
    common = dict(data=data, model=model, n=args.n, methods=methods, num_steps=args.num_steps,
                  log_snr_start=args.log_snr_start, log_snr_stop=args.log_snr_stop, seed=args.seed,
                  split=args.split, budget_bits=args.budget_bits, padding_bits=args.padding_bits,
                  flow_steps=args.flow_steps, ancestral_steps=args.ancestral_steps,
                  ancestral_draws=args.ancestral_draws, reference_model=args.reference_model)
    if args.stop_steps is not None:
        return sweep.SweepSpec(stop_steps=tuple(_int_list(args.stop_steps, "stop_steps")), **common), None
    rates = _float_list("0.25,1,2" if args.rates is None else args.rates, "rates")
    probe = sweep.SweepSpec(stop_steps=(args.num_steps,), **common)
    steps = sweep.stop_steps_for_rates(rates, sweep.expected_chain_bits_per_dim(probe))
    return sweep.SweepSpec(stop_steps=steps, **common), rates


def _eigvals_for(spec):
    """Eigenvalues of the Gaussian the closed forms describe: the oracle's, or the Gaussian source's; else None."""
    from empirical import models

    from . import sweep

    source, model = sweep.build(spec)
    if isinstance(model, models.GaussianOracle):
        return model.eigvals
    if source.eigvals is not None:
        return source.eigvals
    return None


def run(args):
    """Measure and compare; returns the :class:`empirical.measure.compare.Report`."""
    from . import compare, sweep

    spec, _ = _spec_from_args(args)
    points = sweep.measure(spec, workers=args.workers, progress=not args.no_progress)
    return compare.compare(points, _eigvals_for(spec))


def _csv(report) -> str:
    """One CSV row per measured point, with its comparison columns when present."""
    buf = io.StringIO()
    rows = []
    comps = {(c.stop_step, c.method): c for c in report.comparisons}
    for p in report.points:
        row = p.to_dict()
        c = comps.get((p.stop_step, p.method))
        if c is not None:
            row.update({"predicted_mse": c.predicted_mse, "z_score": c.z_score, "within_ci95": c.within_ci95,
                        "paired_estimate_mse": c.paired_estimate_mse, "paired_estimate_ci95": c.paired_estimate_ci95,
                        "rate_matched_log_snr": c.rate_matched_log_snr,
                        "predicted_mse_at_kl_rate": c.predicted_mse_at_kl_rate,
                        "predicted_mse_at_payload_rate": c.predicted_mse_at_payload_rate})
        rows.append(row)
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def plot(report, path) -> None:
    """Write the measured MSE (95% CIs) against the realised sum of KLs and against the payload bits, with the closed
    forms at the stopping log-SNR, to ``path`` (``empirical.measure.plot.draw_report``; the shared plotting style)."""
    try:
        from gaussian import plotstyle

        plt = plotstyle.pyplot()
    except ImportError:
        raise ValueError("plot: needs matplotlib (pip install matplotlib)") from None
    from . import plot as _plot

    fig = _plot.draw_report(report.to_dict(), plt)
    try:
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def _check_plot(path) -> None:
    """ValueError naming ``--plot`` unless ``path`` can be written and its suffix is a matplotlib format."""
    if path is None:
        return
    _cli.check_outputs((path, "--plot"))
    try:
        import matplotlib
    except ImportError:
        raise ValueError("plot: needs matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = pathlib.Path(path).suffix[1:].lower()
    if suffix not in formats:
        raise ValueError(f"plot: the name must end in one of .{', .'.join(sorted(formats))}, got {path}")


def _run_and_print(args) -> None:
    """Check the arguments and ``--plot``, measure, print the report in ``--format``, write the plot."""
    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise ValueError(f"workers: must be an integer in 1..1024, got {args.workers}")
    _check_plot(args.plot)
    report = run(args)
    if args.format == "table":
        from . import compare

        out = compare.format_table(report)
    elif args.format == "csv":
        out = _csv(report)
    else:
        out = json.dumps(report.to_dict(), indent=1)
    print(out)
    if args.plot:
        with _cli.atomic_output(args.plot) as tmp:
            plot(report, str(tmp))


def main(argv=None) -> int:
    """Run the CLI; returns the exit status (2 with a one-line error naming the flag for bad input,
    1 with one line naming the file for a failed write)."""
    return _cli.main(_parser, _run_and_print, FLAGS, argv)

