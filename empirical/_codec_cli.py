"""Command-line helpers shared by ``empirical.train``, ``empirical.compress`` and ``empirical.decompress``."""
from __future__ import annotations

import argparse
import sys


class Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line (no usage) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def parser(prog: str, doc: str) -> Parser:
    """A :class:`Parser` with the module docstring as description (defaults shown in each help)."""
    return Parser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def flag_message(err: Exception, flags: dict) -> str:
    """The error text with a leading ``argument:`` replaced by its flag (``rate_bits_per_dim:`` -> ``--rate-bits-per-dim:``)."""
    msg = str(err).splitlines()[0] if str(err) else type(err).__name__
    name, sep, rest = msg.partition(":")
    if sep and name in flags:
        return f"{flags[name]}:{rest}"
    return msg


def fail(p: argparse.ArgumentParser, err: Exception, flags: dict):
    """Print ``prog: error: <one line>`` to stderr and exit with status 2."""
    sys.stdout.flush()
    p.exit(2, f"{p.prog}: error: {flag_message(err, flags)}\n")


def main(build_parser, run, flags: dict, argv=None) -> int:
    """Shared entry point of the codec CLIs: 0 on success; bad input prints one line and exits with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run(args)
    except (ValueError, OSError) as err:
        fail(parser, err, flags)
    return 0


def write_report(path, report: dict) -> None:
    """Write a CLI's JSON report (``--json PATH``), indented, with a final newline."""
    import json

    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


def set_threads(num_threads: int) -> None:
    """``torch.set_num_threads`` after checking ``num_threads >= 1``."""
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"threads: must be an integer >= 1, got {num_threads!r}")
    import torch

    torch.set_num_threads(num_threads)


def add_source_parameters(p: argparse.ArgumentParser) -> None:
    """The parameters of the synthetic data sources (all optional)."""
    p.add_argument("--spectrum", default="patches", help="gaussian: spectrum (default: %(default)s)")
    p.add_argument("--dim", type=int, default=None, help="gaussian: dim of a synthetic spectrum; mixture: dim (default 16)")
    p.add_argument("--basis", default="random", choices=("random", "pixel"), help="gaussian: eigenbasis (default: %(default)s)")
    p.add_argument("--basis-seed", type=int, default=0, help="gaussian: seed of the random basis (default: %(default)s)")
    p.add_argument("--num-components", type=int, default=8, help="mixture: components (default: %(default)s)")
    p.add_argument("--std", type=float, default=0.25, help="mixture: component std (default: %(default)s)")
    p.add_argument("--means-seed", type=int, default=0, help="mixture: seed of the means (default: %(default)s)")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--data`` (optional for checkpoints) and the synthetic-source parameters."""
    from empirical import data as data_mod

    p.add_argument("--model", required=True,
                   help="checkpoint of python -m empirical.train, or 'oracle' / 'oracle:plugin' (Gaussian oracle of "
                        "--data) / 'mixture-oracle'")
    p.add_argument("--data", choices=data_mod.SOURCES, default=None,
                   help="data source (default for a checkpoint: the one it was trained on)")
    add_source_parameters(p)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for a checkpoint (default: %(default)s)")


def source_from_args(args):
    """The data source named by ``--data`` and its parameters."""
    from empirical import data as data_mod

    if args.data == "gaussian":
        return data_mod.gaussian(args.spectrum, dim=args.dim, basis=args.basis, basis_seed=args.basis_seed)
    if args.data == "mixture":
        return data_mod.mixture(16 if args.dim is None else args.dim, args.num_components, args.std, args.means_seed)
    return data_mod.make(args.data)


def model_and_source(args):
    """``(model, source or None)`` from ``--model`` and ``--data``; a checkpoint supplies its own data source."""
    from empirical import data as data_mod
    from empirical import models

    is_oracle = args.model.split(":")[0] in ("oracle", "mixture-oracle")
    if is_oracle:
        if args.data is None:
            raise ValueError(f"data: --model {args.model} needs --data")
        source = source_from_args(args)
        return models.load(args.model, source), source
    set_threads(args.threads)
    model = models.load(args.model)
    source = source_from_args(args) if args.data is not None else data_mod.make(**model.config["data"])
    if source.dim != model.dim:
        raise ValueError(f"data: {source.name} has {source.dim} dims, the model {model.dim}")
    return model, source


MODEL_FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "model", "data", "spectrum", "dim", "basis", "basis_seed", "num_components", "std", "means_seed", "threads")}
