"""Exact rate, MMSE and DiffC distortions of a non-Gaussian source next to the general bounds.

Source grammar for --source (all numbers are floats unless noted):

  gaussian:VAR[,MEAN]          N(MEAN, VAR)
  laplace:SCALE[,LOC]          density exp(-|x-LOC|/SCALE) / (2 SCALE)
  uniform:HALFWIDTH[,CENTER]   uniform on [CENTER-HALFWIDTH, CENTER+HALFWIDTH]
  pam:M[,STEP]                 M equiprobable levels STEP*(k-(M-1)/2) (M integer >= 2, STEP default 2)
  binary:P[,AMPLITUDE]         +-AMPLITUDE with P(+AMPLITUDE) = P
  discrete:X1,P1;X2,P2;...     atoms Xk with probabilities Pk
  mixture:W1,M1,S1;W2,M2,S2;.. Gaussian mixture, weight Wk, mean Mk, standard deviation Sk

Accepted ranges (where the quadrature is checked to about 1e-9): scales (VAR^1/2,
SCALE, HALFWIDTH, STEP, AMPLITUDE, Sk) in [1e-3, 1e3]; locations (MEAN, LOC, CENTER,
Xk, Mk) within +-1e3, atoms at least 1e-3 apart; probabilities and weights >= 1e-6
(P of binary in [1e-6, 1 - 1e-6]); at most 1024 atoms and 64 mixture components (the
work grows as their square); --snr in [1e-10, 1e10]; --dim up to 1e6.

--dim D makes D i.i.d. copies. Rates are bits per dimension, distortions MSE per
dimension. Each row is an identity (=), an inequality (<=, >=) or a high-rate
limit (->); 'holds' is checked for identities (relative 1e-7) and inequalities.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

__all__ = ["main", "parse_source"]


class _OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


SCALE_RANGE = (1e-3, 1e3)
LOCATION_MAX = 1e3
ATOM_SPACING_MIN = 1e-3
WEIGHT_MIN = 1e-6
MAX_COMPONENTS = 1024
#: Gaussian mixtures: DiffC-F's quantile map solves for every output against every component (~9 s at 64).
MAX_MIXTURE_COMPONENTS = 64
MAX_DIM = 10**6
SNR_RANGE = (1e-10, 1e10)
# worst-case seconds per snr value and per (atoms or components)^2 (low snr, where every atom weighs on
# every output), measured for pam on 2 cores: pam:1024 at snr 1e-4 ~ 20 s; at snr >= 1 the work is linear
_SECONDS_PER_COMPONENT_SQUARED = 2e-5
_SECONDS_PER_MIXTURE_COMPONENT_SQUARED = 2.2e-3


def _numbers(text, name, count_min, count_max):
    parts = [t.strip() for t in text.split(",")]
    if any(not t for t in parts):
        raise ValueError(f"{name} has an empty number in {text!r}")
    if not count_min <= len(parts) <= count_max:
        raise ValueError(f"{name} expects {count_min}..{count_max} comma-separated numbers, got {text!r}")
    try:
        values = [float(t) for t in parts]
    except ValueError:
        raise ValueError(f"{name} expects numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} expects finite numbers, got {text!r}")
    return values


def parse_source(spec, dim=1):
    """Source object for a ``--source`` spec (grammar in the module docstring), ``dim`` i.i.d. copies."""
    from bounds import sources as S

    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"--source must look like KIND:PARAMS (e.g. laplace:1), got {spec!r}")
    kind, _, params = spec.partition(":")
    kind = kind.strip().lower()
    try:
        if kind == "gaussian":
            v = _numbers(params, "gaussian", 1, 2)
            src = S.Gaussian(v[0], v[1] if len(v) > 1 else 0.0)
        elif kind == "laplace":
            v = _numbers(params, "laplace", 1, 2)
            src = S.Laplace(v[0], v[1] if len(v) > 1 else 0.0)
        elif kind == "uniform":
            v = _numbers(params, "uniform", 1, 2)
            src = S.Uniform(v[0], v[1] if len(v) > 1 else 0.0)
        elif kind == "pam":
            v = _numbers(params, "pam", 1, 2)
            if v[0] == int(v[0]) and v[0] > MAX_COMPONENTS:   # refuse before building the atoms
                raise ValueError(_too_many(int(v[0]), "atoms"))
            src = S.Discrete.pam(v[0], v[1] if len(v) > 1 else 2.0)
        elif kind == "binary":
            v = _numbers(params, "binary", 1, 2)
            src = S.Discrete.binary(v[0], v[1] if len(v) > 1 else 1.0)
        elif kind in ("discrete", "mixture"):
            width = 2 if kind == "discrete" else 3
            items = params.split(";")
            if not params.strip():
                raise ValueError(f"{kind} needs at least one component, got {_short(params)}")
            if any(not c.strip() for c in items):
                raise ValueError(f"{kind} has an empty component (';;' or a trailing ';') in {_short(params)}")
            if len(items) > (MAX_MIXTURE_COMPONENTS if kind == "mixture" else MAX_COMPONENTS):
                raise ValueError(_too_many(len(items), "components" if kind == "mixture" else "atoms"))
            comps = [_numbers(c, kind, width, width) for c in items]
            cols = list(zip(*comps))
            src = S.Discrete(cols[0], cols[1]) if kind == "discrete" else S.GaussianMixture(*cols)
        else:
            raise ValueError(
                f"unknown kind {kind!r} (accepted: gaussian, laplace, uniform, pam, binary, discrete, mixture)")
        _check_ranges(kind, src)
    except ValueError as exc:
        raise ValueError(f"--source {_short(spec)}: {exc}") from None
    if isinstance(dim, bool) or int(dim) != dim or not 1 <= int(dim) <= MAX_DIM:
        raise ValueError(f"--dim must be an integer in [1, {MAX_DIM}], got {dim!r}")
    return src if int(dim) == 1 else S.Product.iid(src, int(dim))


def _too_many(count, what):
    """The refusal of a source with ``count`` atoms or components, with the time it would take."""
    if what == "components":
        limit, rate = MAX_MIXTURE_COMPONENTS, _SECONDS_PER_MIXTURE_COMPONENT_SQUARED
        why = "DiffC-F's quantile map weighs every component at every output"
    else:
        limit, rate = MAX_COMPONENTS, _SECONDS_PER_COMPONENT_SQUARED
        why = "at low snr every atom weighs on every output"
    seconds = rate * float(count) ** 2
    return (f"{count} {what} is more than the {limit} this tool handles: {why}, so the work grows as their "
            f"square (about {seconds:.2g} s per snr value on 2 cores, against ~{rate * limit ** 2:.0f} s at {limit})")


def _short(spec, limit=60):
    """``spec`` as it appears in a message: repr, cut to ``limit`` characters."""
    return repr(spec) if len(spec) <= limit else repr(spec[:limit]) + f"... ({len(spec)} characters)"


def _check_ranges(kind, src):
    """ValueError unless the parameters of ``src`` are inside the accepted ranges (module docstring)."""
    lo, hi = SCALE_RANGE

    def scale(name, value):
        if not lo <= value <= hi:
            raise ValueError(f"{kind} {name} must be in [{lo:g}, {hi:g}], got {value!r}")

    def location(name, value):
        if abs(value) > LOCATION_MAX:
            raise ValueError(f"{kind} {name} must be within +-{LOCATION_MAX:g}, got {value!r}")

    def weights(name, values):
        small = min(values)
        if small < WEIGHT_MIN:
            raise ValueError(f"{kind} {name} must be >= {WEIGHT_MIN:g}, got {small!r}")

    if kind == "gaussian":
        var = src.stds[0] ** 2
        if not lo * lo <= var <= hi * hi:
            raise ValueError(f"gaussian VAR must be in [{lo * lo:g}, {hi * hi:g}], got {var!r}")
        location("MEAN", src.means[0])
    elif kind == "laplace":
        scale("SCALE", src.scale)
        location("LOC", src.loc)
    elif kind == "uniform":
        scale("HALFWIDTH", src.halfwidth)
        location("CENTER", src.center)
    elif kind in ("pam", "binary", "discrete"):
        atoms = src.atoms
        if len(atoms) > MAX_COMPONENTS:
            raise ValueError(_too_many(len(atoms), "atoms"))
        weights("probabilities", src.probs)
        if kind != "pam":  # pam's atoms are centred multiples of STEP (at most 512 steps out)
            for x in atoms:
                location("atom", x)
        gaps = [b - a for a, b in zip(atoms[:-1], atoms[1:])]
        if gaps and min(gaps) < ATOM_SPACING_MIN:
            raise ValueError(f"{kind} atoms must be at least {ATOM_SPACING_MIN:g} apart, got a gap of {min(gaps)!r}")
        if kind == "pam":
            scale("STEP", gaps[0])
        if kind == "binary":
            scale("AMPLITUDE", atoms[1])
    elif kind == "mixture":
        if len(src.weights) > MAX_MIXTURE_COMPONENTS:
            raise ValueError(_too_many(len(src.weights), "components"))
        weights("weights", src.weights)
        for m in src.means:
            location("mean", m)
        for sd in src.stds:
            scale("standard deviation", sd)


def _snr(text):
    lo, hi = SNR_RANGE
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [{lo:g}, {hi:g}], got {text!r}") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"must be a number in [{lo:g}, {hi:g}], got {text!r}")
    return value


def _dim(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in [1, {MAX_DIM}], got {text!r}") from None
    if not 1 <= value <= MAX_DIM:
        raise argparse.ArgumentTypeError(f"must be an integer in [1, {MAX_DIM}], got {text!r}")
    return value


def _format_text(spec, dim, reports):
    lines = [f"source {spec}, dim {dim}"]
    head = f"{'quantity':<24} {'unit':<9} {'value':>15}  {'rel':<3} {'bound':>15}  {'bound is':<34} {'kind':<10} holds"
    for rep in reports:
        lines += ["", f"snr = {rep.snr:g}", head, "-" * len(head)]
        for r in rep.rows:
            holds = "-" if r.holds is None else ("yes" if r.holds else "NO")
            lines.append(f"{r.quantity:<24} {r.unit:<9} {r.value:>15.9g}  {r.relation:<3} {r.bound:>15.9g}  "
                         f"{r.bound_name:<34} {r.kind:<10} {holds}")
    return "\n".join(lines)


def _format_json(spec, dim, reports):
    from dataclasses import asdict

    return json.dumps({"source": spec, "dim": dim,
                       "results": [{"snr": r.snr, "rows": [asdict(x) for x in r.rows]} for r in reports]},
                      indent=2)


def main(argv=None):
    """Command-line entry point: ``python -m bounds --source SPEC --snr S [S ...]``; returns the exit status."""
    parser = _OneLineParser(prog="python -m bounds", description=__doc__,
                            formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, width=100))
    parser.add_argument("--source", default="laplace:1", help="source spec (grammar above) (default: %(default)s)")
    parser.add_argument("--snr", type=_snr, nargs="+", default=[1.0, 100.0],
                        help="one or more SNR values in [1e-10, 1e10] (default: %(default)s)")
    parser.add_argument("--dim", type=_dim, default=1,
                        help=f"number of i.i.d. coordinates, up to {MAX_DIM} (default: %(default)s)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: %(default)s)")
    parser.add_argument("--immse-integral", action="store_true",
                        help="add the integral form of the I-MMSE identity, I = 1/2 int mmse "
                             "(a few hundred MMSE evaluations per snr) (default: off)")
    from gaussian._io import add_version

    add_version(parser)
    args = parser.parse_args(argv)
    try:
        source = parse_source(args.source, args.dim)
    except ValueError as exc:
        parser.error(str(exc))
    from bounds.report import bounds_report

    try:
        reports = [bounds_report(source, s, with_immse_integral=args.immse_integral) for s in args.snr]
    except ArithmeticError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    out = _format_json if args.format == "json" else _format_text
    print(out(args.source, args.dim, reports))
    return 0


if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, "python -m bounds")
