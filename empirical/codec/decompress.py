"""Decompress a DiffC stream: decode the latent (any prefix of the steps) and reconstruct the sample.

    python -m empirical.decompress x.dfrc --model patches.pt --method flow --out x_flow.npy
    python -m empirical.decompress x.dfrc --model patches.pt --method ancestral --prefix-steps 20 --seed 3
    python -m empirical.decompress g.dfrc --model oracle --method flow --original g.npy
    python -m empirical.decompress photo.dfrc --model oracle:stationary --method flow --out photo_hat.png

Image streams (``python -m empirical.compress photo.png --model oracle:stationary ...``)
decode with ``--model oracle:stationary``; ``--out`` may then end in .png (8-bit:
``round(255 (x + 1) / 2)``, values outside [-1, 1] clipped and counted in the
report) or .npy (the float reconstruction), and ``--original`` may be the PNG,
JPEG or .npy image (PSNR in dB for pixels in [-1, 1], peak-to-peak 2, is printed
beside the MSE).

``--method flow`` is DiffC-F (probability-flow ODE, ``--solver`` with
``--decoder-steps`` steps), ``ancestral`` is DiffC-A (ancestral sampling with
the receiver's own ``--seed``), ``mean`` the posterior mean E[x | z]. The model
must be the one the stream was made with (its hash is in the header). For the
Gaussian oracles the header also records the data source and its parameters:
``--model oracle`` needs nothing else, and a ``--data``/``--spectrum``/... given
that differs from the stream's is refused, naming the flag. A stream cut inside
a step decodes to its complete steps (with a note on stderr).

The stream must be a regular file of at most 256 MiB (pipes and devices are
refused, not read). ``--out`` writes NumPy .npy (the name must end in .npy)
and, like ``--json``, is checked before decoding and written through a
temporary file and a rename. ``flow`` and ``ancestral`` need
``--decoder-steps`` >= 1 and ``--log-snr-end`` above the latent's log-SNR
(otherwise they would return the posterior mean: ask for ``--method mean``).
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from empirical import _cli

from . import chain, cli, schedules

FLAGS = dict(cli.MODEL_FLAGS, **{name: "--" + name.replace("_", "-") for name in (
    "method", "prefix_steps", "decoder_steps", "solver", "rng", "log_snr_end", "original", "num_steps", "out")})
FLAGS["num_steps"] = "--decoder-steps"
FLAGS["rng"] = "--seed"


def build_parser():
    """The command-line parser."""
    p = _cli.parser("python -m empirical.decompress", __doc__)
    p.add_argument("file", help="stream written by python -m empirical.compress")
    cli.add_model_arguments(p, from_stream=True)
    p.add_argument("--method", default="flow",
                   help="receiver: flow (DiffC-F), ancestral (DiffC-A), mean (E[x|z]) or dp:C, the flow with its "
                        "score scaled by C in [1, 2] (dp:1 = flow, dp:2 = mean; default: %(default)s)")
    p.add_argument("--prefix-steps", type=int, default=None, help="decode only the first N steps (default: all)")
    p.add_argument("--decoder-steps", type=int, default=None,
                   help="ODE / ancestral steps, >= 1 (default: 64 for flow, 512 for ancestral)")
    p.add_argument("--solver", choices=("euler", "heun", "rk4"), default="rk4", help="ODE solver (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="receiver's own seed for --method ancestral (default: %(default)s)")
    p.add_argument("--log-snr-end", type=float, default=None,
                   help="where the decoders stop, above the latent's log-SNR (default: model's max)")
    p.add_argument("--out", default=None,
                   help="write the reconstruction here (NumPy .npy; for an image stream also .png)")
    p.add_argument("--original", default=None,
                   help="a .npy of the original sample (for an image stream also PNG/JPEG): print the MSE")
    p.add_argument("--json", default=None, help="also write a JSON report here")
    return p


def _check_decoder_flags(args) -> None:
    """ValueError naming the flag for decoder settings that do nothing or make the decoder degenerate."""
    if args.seed < 0:
        raise ValueError(f"rng: must be a seed >= 0, got {args.seed}")
    schedules.parse_method(args.method)
    if args.method == "mean":
        for name in ("decoder_steps", "log_snr_end"):
            if getattr(args, name) is not None:
                raise ValueError(f"{name}: applies to --method flow and ancestral, not mean")
    elif args.decoder_steps is not None and args.decoder_steps < 1:
        raise ValueError(f"decoder_steps: must be >= 1 for --method {args.method}, got {args.decoder_steps} "
                         "(0 steps would return the posterior mean: use --method mean)")


def _check_log_snr_end(args, model, latent) -> None:
    """ValueError naming ``--log-snr-end`` unless the flow / ancestral decoder has room above the latent's log-SNR."""
    if args.method == "mean" or isinstance(latent.grid, schedules.RdpGrid):
        return
    end = model.log_snr_max if args.log_snr_end is None else args.log_snr_end
    if not np.isfinite(end):
        raise ValueError(f"log_snr_end: must be finite, got {end}")
    if not end > latent.log_snr:
        default = "" if args.log_snr_end is not None else " (default: the model's log_snr_max)"
        raise ValueError(f"log_snr_end: {end:g}{default} is not above the latent's log-SNR {latent.log_snr:.6g}; "
                         f"--method {args.method} would return the posterior mean (use --method mean for that)")


def _where(args, latent) -> tuple:
    """``(log-SNR for the report (a list per component for rdp), its text)``; ValueError naming the solver flags,
    which do nothing for an rdp stream."""
    if isinstance(latent.grid, schedules.RdpGrid):
        for name in ("decoder_steps", "log_snr_end"):
            if getattr(args, name) is not None:
                raise ValueError(f"{name}: an rdp stream is decoded by the oracle's exact maps (no solver steps)")
        return latent.log_snr.tolist(), (f"schedule rdp, log-SNRs {latent.log_snr.min():.4g}.."
                                         f"{latent.log_snr.max():.4g}")
    return latent.log_snr, f"log-SNR {latent.log_snr:.4g}"


def _decode(args, data, model):
    """``(latent, reconstruction)`` of the stream's requested prefix; a cut stream's warning becomes a note."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        latent = chain.decode_latent(data, model, args.prefix_steps)
    _check_log_snr_end(args, model, latent)
    x = chain.reconstruct(latent, model, args.method, decoder_steps=args.decoder_steps, solver=args.solver,
                          rng=args.seed, log_snr_end=args.log_snr_end)
    for w in caught[:1]:
        print(f"note: {w.message}", file=sys.stderr)
    return latent, x


def _run_image(args, data, header) -> dict:
    """Decode an image stream (the header's spec is ``model=SPEC``, SPEC an image model's spec)."""
    from empirical import image_files

    from .image import image_model_for, spec_for_user, spec_matches

    spec = header.model_spec.decode()[len("model="):]
    if not spec_matches(args.model, spec):
        raise ValueError(f"model: the stream is an image coded with --model {spec_for_user(spec)}; decode it with that")
    if args.data is not None:
        raise ValueError("data: does not apply to an image stream")
    shape = tuple(header.shape)
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise ValueError(f"file: the stream's shape {shape} is not an [H, W, 1 or 3] image")
    if args.out is not None and not (args.out.lower().endswith(".npy") or args.out.lower().endswith(".png")):
        raise ValueError(f"out: {args.out}: an image is written as .png or .npy")
    original = None if args.original is None else image_files.read_image(args.original, "--original")
    if original is not None and original.shape != shape:
        raise ValueError(f"original: is {'x'.join(map(str, original.shape))}, the stream's image "
                         f"{'x'.join(map(str, shape))}")
    model = image_model_for(args.model, shape)
    if chain.model_hash(model) != header.model_hash:
        raise ValueError(f"model: the stream's model hash is not that of {args.model} at the stream's image size "
                         "(another model, or another version of its parameters)")
    latent, x = _decode(args, data, model)
    log_snr, where = _where(args, latent)
    pixels = shape[0] * shape[1]
    stream_bytes = len(chain.read_header(data).prefix(latent.num_steps).to_bytes()) if latent.num_steps else None
    report = {"file": args.file, "method": args.method, "num_steps_decoded": latent.num_steps,
              "num_steps_in_stream": latent.num_steps_in_stream, "truncated": latent.truncated,
              "log_snr": log_snr, "shape": list(shape), "bytes": len(data),
              "bpp_of_prefix": None if stream_bytes is None else 8 * stream_bytes / pixels}
    line = f"decoded {latent.num_steps} of {latent.num_steps_in_stream} steps ({where}) with {args.method}"
    if stream_bytes is not None:
        line += f", {report['bpp_of_prefix']:.4f} bits/pixel"
    if args.out:
        if args.out.lower().endswith(".png"):
            report["clipped_values"] = image_files.write_png(args.out, x)
        else:
            _cli.save_npy(args.out, x)
        line += f"; wrote {args.out}"
    if original is not None:
        report["mse"] = float(np.mean((original - x) ** 2))
        report["psnr_db"] = float(10.0 * np.log10(4.0 / report["mse"])) if report["mse"] > 0 else float("inf")
        line += f"; MSE {report['mse']:.6g}, PSNR {report['psnr_db']:.2f} dB"
    print(line)
    if args.json:
        _cli.write_report(args.json, report)
    return report


def run(args) -> dict:
    """Decompress as the parsed ``args`` say; return the JSON report."""
    from .image import STATIONARY_SPEC, is_image_spec

    image_out = args.out is not None and args.out.lower().endswith(".png")
    _cli.check_outputs((args.out, "--out"), (args.json, "--json"), npy=() if image_out else ("--out",))
    _check_decoder_flags(args)
    data = _cli.read_input(args.file, "file")
    header = chain.read_header(data)
    spec = header.model_spec.decode(errors="replace")
    if spec.startswith("model=") and is_image_spec(spec[len("model="):]):
        return _run_image(args, data, header)
    if image_out:
        raise ValueError(f"out: {args.out}: this stream holds no image; its reconstruction is written as .npy "
                         f"(.png only for image streams, --model {STATIONARY_SPEC})")
    original = None if args.original is None else _cli.load_npy(args.original, "--original")
    cli.apply_stream_spec(args, chain.read_header(data).model_spec)
    model, _ = cli.model_and_source(args)
    if chain.model_hash(model) != chain.read_header(data).model_hash:
        raise ValueError(f"model: the stream was encoded with another model (hash "
                         f"{chain.read_header(data).model_hash.hex()[:16]}); --model {args.model} has "
                         f"{chain.model_hash(model).hex()[:16]}: give the checkpoint the stream was made with")
    if original is not None and original.size != model.dim:
        raise ValueError(f"original: has {original.size} numbers, the model's samples {model.dim}")
    latent, x = _decode(args, data, model)
    log_snr, where = _where(args, latent)
    report = {"file": args.file, "method": args.method, "num_steps_decoded": latent.num_steps,
              "num_steps_in_stream": latent.num_steps_in_stream, "truncated": latent.truncated,
              "log_snr": log_snr, "shape": list(x.shape), "bytes": len(data)}
    line = (f"decoded {latent.num_steps} of {latent.num_steps_in_stream} steps ({where}) "
            f"with {args.method}")
    if original is not None:
        report["mse"] = float(np.mean((original.reshape(x.shape) - x) ** 2))
    if args.out:
        _cli.save_npy(args.out, x)
        line += f"; wrote {args.out}"
    if original is not None:
        line += f"; MSE {report['mse']:.6g}"
    print(line)
    if args.json:
        _cli.write_report(args.json, report)
    return report


def main(argv=None) -> int:
    """Command-line entry point: 0 on success; bad input prints one line and exits with status 2."""
    return _cli.main(build_parser, run, FLAGS, argv)

