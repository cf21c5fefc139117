"""Decompress a DiffC stream: decode the latent (any prefix of the steps) and reconstruct the sample.

    python -m empirical.decompress x.dfrc --model patches.pt --method flow --out x_flow.npy
    python -m empirical.decompress x.dfrc --model patches.pt --method ancestral --prefix-steps 20 --seed 3
    python -m empirical.decompress g.dfrc --model oracle --data gaussian --method flow --original g.npy

``--method flow`` is DiffC-F (probability-flow ODE, ``--solver`` with
``--decoder-steps`` steps), ``ancestral`` is DiffC-A (ancestral sampling with
the receiver's own ``--seed``), ``mean`` the posterior mean E[x | z]. The model
must be the one the stream was made with (its hash is in the header); an
oracle needs the same ``--data`` as at compression. A stream cut inside a
step decodes to its complete steps (with a note on stderr).
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from empirical import _codec_cli, codec

FLAGS = dict(_codec_cli.MODEL_FLAGS, **{name: "--" + name.replace("_", "-") for name in (
    "method", "prefix_steps", "decoder_steps", "solver", "rng", "log_snr_end", "original", "num_steps")})
FLAGS["num_steps"] = "--decoder-steps"
FLAGS["rng"] = "--seed"


def build_parser():
    """The command-line parser."""
    p = _codec_cli.parser("python -m empirical.decompress", __doc__)
    p.add_argument("file", help="stream written by python -m empirical.compress")
    _codec_cli.add_model_arguments(p)
    p.add_argument("--method", choices=codec.METHODS, default="flow", help="receiver (default: %(default)s)")
    p.add_argument("--prefix-steps", type=int, default=None, help="decode only the first N steps (default: all)")
    p.add_argument("--decoder-steps", type=int, default=None,
                   help="ODE / ancestral steps (default: 64 for flow, 512 for ancestral)")
    p.add_argument("--solver", choices=("euler", "heun", "rk4"), default="rk4", help="ODE solver (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="receiver's own seed for --method ancestral (default: %(default)s)")
    p.add_argument("--log-snr-end", type=float, default=None, help="where the decoders stop (default: model's max)")
    p.add_argument("--out", default=None, help="write the reconstruction as .npy here")
    p.add_argument("--original", default=None, help="a .npy of the original sample: print the MSE")
    p.add_argument("--json", default=None, help="also write a JSON report here")
    return p


def run(args) -> dict:
    """Decompress as the parsed ``args`` say; return the JSON report."""
    model, _ = _codec_cli.model_and_source(args)
    try:
        with open(args.file, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ValueError(f"file: not found: {args.file}") from None
    if args.seed < 0:
        raise ValueError(f"rng: must be a seed >= 0, got {args.seed}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        latent = codec.decode_latent(data, model, args.prefix_steps)
    x = codec.reconstruct(latent, model, args.method, decoder_steps=args.decoder_steps, solver=args.solver,
                          rng=args.seed, log_snr_end=args.log_snr_end)
    for w in caught[:1]:
        print(f"note: {w.message}", file=sys.stderr)
    report = {"file": args.file, "method": args.method, "num_steps_decoded": latent.num_steps,
              "num_steps_in_stream": latent.num_steps_in_stream, "truncated": latent.truncated,
              "log_snr": latent.log_snr, "shape": list(x.shape), "bytes": len(data)}
    line = (f"decoded {latent.num_steps} of {latent.num_steps_in_stream} steps (log-SNR {latent.log_snr:.4g}) "
            f"with {args.method}")
    if args.out:
        np.save(args.out, x)
        line += f"; wrote {args.out}"
    if args.original:
        try:
            original = np.load(args.original, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            raise ValueError(f"original: cannot read {args.original} as a .npy array") from None
        if original.size != x.size:
            raise ValueError(f"original: has {original.size} numbers, the reconstruction {x.size}")
        report["mse"] = float(np.mean((original.reshape(x.shape) - x) ** 2))
        line += f"; MSE {report['mse']:.6g}"
    print(line)
    if args.json:
        _codec_cli.write_report(args.json, report)
    return report


def main(argv=None) -> int:
    """Command-line entry point: 0 on success; bad input prints one line and exits with status 2."""
    return _codec_cli.main(build_parser, run, FLAGS, argv)


if __name__ == "__main__":
    sys.exit(main())
