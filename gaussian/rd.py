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
  python -m gaussian.rd --plot curves.png --peak 2            # PSNR (pixels in [-1, 1]) in the table and plot
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
                   help="peak-to-peak signal range (e.g. 2 for pixels in [-1, 1]): adds PSNR columns, and the "
                        "--plot shows PSNR in dB instead of MSE in dB; off by default")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="also write a plot of each scheme's MSE in dB (PSNR in dB with --peak) and its gap to "
                        "the MSE rate-distortion function against rate (imports matplotlib)")
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


def draw_scheme_axes(ax_level, ax_gap, rate_bits_per_dim, mse_per_dim: dict, peak=None) -> None:
    """Draw every scheme of ``mse_per_dim`` (scheme -> MSE per dimension at each rate) in the shared style
    (``gaussian.plotstyle``): its MSE in dB on ``ax_level`` (PSNR in dB for the peak-to-peak range ``peak``),
    and its MSE over R(D)'s in dB on ``ax_gap`` (``None``: no gap panel)."""
    from . import plotstyle

    mse = {s: np.asarray(v, dtype=np.float64) for s, v in mse_per_dim.items()}
    for s, v in mse.items():
        level = 10.0 * np.log10(v) if peak is None else _curves.psnr_db(v, peak)
        ax_level.plot(rate_bits_per_dim, level, **plotstyle.scheme_line(s))
        if ax_gap is not None and s != "rd":
            ax_gap.plot(rate_bits_per_dim, 10.0 * np.log10(v / mse["rd"]), **plotstyle.scheme_line(s))
    ax_level.set_xscale("log")
    ax_level.set_ylabel("MSE per dimension (dB)" if peak is None else f"PSNR (dB), peak-to-peak range {peak:g}")
    if ax_gap is not None:
        ax_gap.axhline(_curves.HIGH_RATE_GAP_DB, color="black", ls=":", lw=0.8, label=plotstyle.HIGH_RATE_GAP_LABEL)
        ax_gap.set_xscale("log")
        ax_gap.set_ylabel(r"MSE over $R(D)$ (dB)")


def draw(curves, spectrum, peak=None, plt=None):
    """The ``--plot`` figure (a matplotlib ``Figure``): each scheme's MSE in dB against rate, or with ``peak``
    its PSNR in dB (left), and its MSE over the MSE rate-distortion function in dB with the DiffC-A over DiffC-F
    gap (right); one legend below both. ``plt`` defaults to ``gaussian.plotstyle.pyplot()``."""
    from . import plotstyle

    plt = plotstyle.pyplot() if plt is None else plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.9), layout="constrained")
    bpd = curves.rate_bits_per_dim
    draw_scheme_axes(ax1, ax2, bpd, {s: curves.mse(s) for s in _curves.SCHEMES}, peak)
    ax2.plot(bpd, curves.gap_db_ancestral_over_flow, color="black", ls="-.", lw=1.2,
             label=r"DiffC-A over DiffC-F, $10\,\log_{10}(D_A / D_F)$")
    ax1.set_title(f"{spectrum.name} spectrum, $d = {spectrum.dim}$")
    ax2.set_title(r"MSE over $R(D)$ of each scheme; DiffC-A over DiffC-F")
    for ax in (ax1, ax2):
        ax.set_xlabel(plotstyle.RATE_LABEL)
    handles, labels = ax1.get_legend_handles_labels()
    extra = ax2.get_legend_handles_labels()
    plotstyle.legend_below(fig, handles + extra[0][-2:], labels + extra[1][-2:], ncol=4)
    return fig


def _plot(path: str, curves, spectrum, peak=None) -> None:
    """Write :func:`draw`'s figure to ``path`` through a temporary file (never a partial file); OSError names
    ``path``."""
    try:
        from . import plotstyle

        plt = plotstyle.pyplot()
    except ImportError:
        raise ValueError("plot: needs matplotlib (pip install -e '.[plot]')") from None
    from ._io import atomic_path, naming_errors

    fig = draw(curves, spectrum, peak, plt)
    try:
        fmt = pathlib.Path(path).suffix[1:].lower() or "png"
        if fmt not in fig.canvas.get_supported_filetypes():
            raise ValueError(f"plot: unknown image format {fmt!r} of {path} (use .png, .pdf or .svg)")
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
                _plot(args.plot, result, spectrum, args.peak)
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
