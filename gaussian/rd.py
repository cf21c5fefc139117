"""Closed-form rate-distortion curves of DiffC and its references for a Gaussian source.

For X ~ N(0, Sigma) with the chosen spectrum, prints the MSE per dimension of
every scheme at each rate: rd (MSE rate-distortion function, reverse
water-filling), rdp (perfect-realism RD, optimal allocation), diffc_a
(DiffC-A, posterior sampling at the isotropic SNR that spends the rate),
diffc_f (DiffC-F, probability flow, same SNR), mmse (posterior mean, same SNR)
and f_alloc (DiffC-F with per-component noise levels, attaining rdp), with the
DiffC-A over DiffC-F gap and each scheme's gap to rd in dB.

examples:
  python -m gaussian.rd --dim 64
  python -m gaussian.rd --spectrum powerlaw:2 --dim 256 --rates 0.1:8:9
  python -m gaussian.rd --spectrum flat --dim 16 --rate-bits-total 1,10,100
  python -m gaussian.rd --spectrum image:64x64x3          # ImageNet-sized 1/f^2 image model
  python -m gaussian.rd --format json > curves.json
  python -m gaussian.rd --plot curves.png
"""
from __future__ import annotations

import argparse
import math
import pathlib
import sys

import numpy as np

from . import curves as _curves
from . import spectrum as _spectrum
from . import table as _table

DEFAULT_DIM = 64
DEFAULT_RATES = "0.01:8:12"
#: Most rates of one run (the JSON rows alone take a few kB each).
MAX_RATES = 10**6

_FLAGS = {
    "dim": "--dim",
    "spectrum": "--spectrum",
    "eigvals": "--spectrum",
    "exponent": "--spectrum",
    "decay": "--spectrum",
    "cov": "--spectrum",
    "samples": "--spectrum",
    "rates": "--rates",
    "rate_bits_total": "--rate-bits-total",
    "peak": "--peak",
    "plot": "--plot",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m gaussian.rd",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dim", type=int, default=None,
                   help=f"number of dimensions (default {DEFAULT_DIM}; inferred from a .npy file)")
    p.add_argument("--spectrum", default=None,
                   help="source spectrum: " + _spectrum.SPEC_HELP +
                   " (default: patches when dim is 64, else powerlaw:1)")
    rates = p.add_mutually_exclusive_group()
    rates.add_argument("--rates", default=None, metavar="A:B:N",
                       help=f"N log-spaced rates from A to B bits per dim (default {DEFAULT_RATES})")
    rates.add_argument("--rate-bits-total", default=None, metavar="R1,R2,...",
                       help="explicit total rates in bits (>= 0), comma-separated")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="output format (default table)")
    p.add_argument("--peak", type=float, default=None,
                   help="peak-to-peak signal range for PSNR columns (e.g. 2 for pixels in [-1, 1]); off by default")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="also write a plot of MSE and gaps vs rate (imports matplotlib)")
    from ._io import add_version

    add_version(p)
    return p


def _parse_rates(text: str, dim: int) -> np.ndarray:
    """Total rates in bits from ``A:B:N`` (bits per dim, log-spaced)."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"rates: expected A:B:N, got {text!r}")
    try:
        a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise ValueError(f"rates: expected numbers A:B:N with integer N, got {text!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)) or a <= 0 or b < a:
        raise ValueError(f"rates: need 0 < A <= B (bits per dim), got {text!r}")
    if n < 1:
        raise ValueError(f"rates: N must be >= 1, got {n}")
    if n > MAX_RATES:
        raise ValueError(f"rates: N = {n} rates would need about {n * 4e3 / 1e9:.2g} GB for the output; "
                         f"at most {MAX_RATES}")
    per_dim = np.array([a]) if n == 1 else np.geomspace(a, b, n)
    with np.errstate(over="ignore"):
        total = per_dim * dim
    if not np.isfinite(total).all():
        raise ValueError(f"rates: B * dim = {b:g} * {dim} overflows float64, got {text!r}")
    return total


def _parse_totals(text: str) -> np.ndarray:
    items = [v.strip() for v in text.split(",")]
    if any(not v for v in items):
        raise ValueError(f"rate_bits_total: empty item in {text!r} (expected R1,R2,...)")
    try:
        values = np.array([float(v) for v in items], dtype=np.float64)
    except ValueError:
        raise ValueError(f"rate_bits_total: expected comma-separated numbers, got {text!r}") from None
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        raise ValueError(f"rate_bits_total: rates must be finite and >= 0, got {items[int(np.argmax(bad))]!r}")
    return values


def _resolve_spectrum(args) -> _spectrum.Spectrum:
    if args.dim is not None and args.dim < 1:
        raise ValueError(f"dim: must be an integer >= 1, got {args.dim}")
    spec = args.spectrum
    if spec is None:
        dim = DEFAULT_DIM if args.dim is None else args.dim
        spec = "patches" if dim == _spectrum.patches().dim else "powerlaw:1"
        return _spectrum.parse(spec, dim)
    needs_dim = spec.split(":")[0].lower() in ("powerlaw", "flat", "exp")
    dim = (DEFAULT_DIM if args.dim is None else args.dim) if needs_dim else args.dim
    return _spectrum.parse(spec, dim)


def _plot(path: str, curves, spectrum) -> None:
    """Write the plot to ``path`` through a temporary file (never a partial file); OSError names ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("plot: needs matplotlib (pip install -e '.[plot]')") from None
    from ._io import atomic_path, naming_errors

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    try:
        fmt = pathlib.Path(path).suffix[1:].lower() or "png"
        if fmt not in fig.canvas.get_supported_filetypes():
            raise ValueError(f"plot: unknown image format {fmt!r} of {path} (use .png, .pdf or .svg)")
        bpd = curves.rate_bits_per_dim
        for s in _curves.SCHEMES:
            ax1.plot(bpd, 10 * np.log10(curves.mse(s)), label=s, lw=1.6,
                     ls="--" if s == "diffc_f_allocated" else "-")
        ax1.set_xscale("log")
        ax1.set_xlabel("rate (bits per dimension)")
        ax1.set_ylabel("MSE per dimension (dB)")
        ax1.set_title(f"{spectrum.name}, d = {spectrum.dim}")
        ax1.legend(fontsize=8)
        ax2.plot(bpd, curves.gap_db_ancestral_over_flow, label="DiffC-A over DiffC-F")
        for s in ("diffc_f", "diffc_a", "rdp"):
            ax2.plot(bpd, curves.gap_db(s), label=f"{s} over rd")
        ax2.axhline(_curves.HIGH_RATE_GAP_DB, color="k", ls=":", lw=1, label="10 log10 2")
        ax2.set_xscale("log")
        ax2.set_xlabel("rate (bits per dimension)")
        ax2.set_ylabel("MSE ratio (dB)")
        ax2.legend(fontsize=8)
        fig.tight_layout()
        with naming_errors(path), atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=fmt)
    finally:
        plt.close(fig)


def _flag_message(err: ValueError) -> str:
    msg = str(err)
    name, sep, rest = msg.partition(":")
    if sep and name in _FLAGS:
        return f"{_FLAGS[name]}:{rest}"
    return msg


def main(argv=None) -> int:
    """Run the CLI; returns the exit status (0; 2 for bad input; 1 if the plot cannot be written)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.plot is not None:
            from ._io import check_writable

            check_writable(args.plot, "plot")  # before any work
        spectrum = _resolve_spectrum(args)
        if args.rate_bits_total is not None:
            rates = _parse_totals(args.rate_bits_total)
        else:
            rates = _parse_rates(DEFAULT_RATES if args.rates is None else args.rates, spectrum.dim)
        if args.peak is not None and not (math.isfinite(args.peak) and args.peak > 0):
            raise ValueError(f"peak: must be finite and > 0, got {args.peak}")
        result = _curves.evaluate(spectrum, rates)
        if args.format == "json":
            text = _table.to_json(result, spectrum, args.peak)
        elif args.format == "csv":
            text = _table.to_csv(result, args.peak)
        else:
            text = _table.to_table(result, spectrum, args.peak)
        if args.plot:
            try:
                _plot(args.plot, result, spectrum)
            except OSError as err:
                from ._io import describe_os_error

                print(f"{parser.prog}: error: --plot: {describe_os_error(err, args.plot)}", file=sys.stderr)
                return 1
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {_flag_message(err)}\n")
    print(text)
    return 0


if __name__ == "__main__":
    from ._io import run_cli

    run_cli(main, "python -m gaussian.rd")
