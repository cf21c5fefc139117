"""Compress one sample with DiffC: a progressive chain of reverse-channel-coded steps, written as bytes.

    python -m empirical.compress --model patches.pt --index 0 --rate-bits-per-dim 1 --out x.dfrc
    python -m empirical.compress --model oracle --data gaussian --stop-step 24 --steps 32 --out g.dfrc
    python -m empirical.compress --model patches.pt --input image8x8.npy --rate-bits-per-dim 2 --out y.dfrc
    python -m empirical.compress photo.png --model oracle:stationary --bpp 0.5 --out photo.dfrc

Images: a PNG or JPEG (8-bit grayscale or RGB, any size from 8x8) or an
``[H, W(, C)]`` .npy in [-1, 1] given as the first argument is coded whole,
as one stream, with ``--model oracle:stationary`` (the stationary Gaussian
model of photographs at the image's size; the decoder rebuilds it from the
header). ``--bpp B`` stops at the longest prefix of the chain whose file,
header included, has at most ``B`` bits per pixel; ``--stop-step`` codes a
fixed number of steps. The image grid ends where the model's ideal rate
reaches max(3, 2 B) bits per pixel (``--log-snr-stop`` overrides it).

The input is test example ``--index`` of the data source (``--data``; a
checkpoint defaults to the source it was trained on) or the array in
``--input`` (a .npy file with one sample). The chain has ``--steps`` grid
points, uniform in log-SNR from ``--log-snr-start`` to ``--log-snr-stop``
(defaults: the model's min, and its max minus 2 capped at 12, which leaves
the receivers room to integrate); it stops after
``--stop-step`` steps, after the first step whose cumulative realised KL
reaches ``--rate-bits-per-dim`` bits per dimension, or at the end of the grid.
Decode with ``python -m empirical.decompress``.

``--schedule rdp`` (Gaussian oracles only) codes one log-SNR per eigen-component
on the perfect-realism allocation path (``empirical.codec.schedules``): ``--steps``
points uniform in expected rate from ``--rate-start`` to ``--rate-stop`` bits per
dimension (defaults: the isotropic grid's last rate, and that over ``--steps``);
the header records the schedule, and the decoder recomputes it from the model.
For an image file (``--model oracle:stationary`` or ``tiled:oracle``) the rdp grid
ends at the isotropic image grid's population rate (``--rate-start`` and
``--rate-stop`` do not apply).

Input rule: an ``--input`` must hold finite real numbers (no complex, object
or text arrays; at most 256 MiB) in the data's range: for image sources
(digits, patches) every value inside their pixel range [-1, 1] (8-bit
pixels v rescale as 2 v / 255 - 1); for the other sources every value within
50 standard deviations (square root of the largest covariance eigenvalue)
of the data mean. Outputs (``--out``, ``--save-input``, which must end in
.npy, and ``--json``) are checked before encoding and written through a
temporary file and a rename: an interrupted run leaves them absent or as
they were.
"""
from __future__ import annotations

import numpy as np

from empirical import _cli

from . import chain, cli

FLAGS = dict(cli.MODEL_FLAGS, **{name: "--" + name.replace("_", "-") for name in (
    "index", "input", "num_steps", "log_snr_start", "log_snr_stop", "stop_step", "rate_bits_per_dim", "seed",
    "budget_bits", "padding_bits", "x", "max_budget_bits", "tail_target", "chunk_cost_bits", "workers", "device",
    "bpp", "schedule",
    "rate_start", "rate_stop")})
FLAGS["rate_start_bits_per_dim"] = "--rate-start"
FLAGS["rate_stop_bits_per_dim"] = "--rate-stop"
FLAGS["image"] = "image"
FLAGS["num_steps"] = "--steps"
FLAGS["x"] = "--input"


def codec_tail_default():
    """The codec's default tail target (``empirical.rcc.DEFAULT_TAIL_TARGET``)."""
    from empirical import rcc

    return rcc.DEFAULT_TAIL_TARGET


def build_parser():
    """The command-line parser."""
    from empirical.rcc.step import DEFAULT_CHUNK_COST_BITS

    p = _cli.parser("python -m empirical.compress", __doc__)
    p.add_argument("image", nargs="?", default=None,
                   help="an image to code whole (PNG, JPEG or an [H, W(, C)] .npy in [-1, 1]); needs --model "
                        "oracle:stationary, unet (the shipped learned U-Net) / unet:CHECKPOINT.pt, or tiled:oracle / "
                        "tiled:CHECKPOINT.pt (an 8x8 patch model on every block)")
    cli.add_model_arguments(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--index", type=int, default=0, help="test example of --data to compress (default: %(default)s)")
    src.add_argument("--input", default=None,
                     help="a .npy file holding one sample instead, in the data's range (see the input rule above)")
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("--rate-bits-per-dim", type=float, default=None,
                      help="stop when the cumulative realised KL reaches this many bits per dim")
    stop.add_argument("--stop-step", type=int, default=None, help="code exactly this many steps")
    stop.add_argument("--bpp", type=float, default=None,
                      help="images: the longest prefix whose file (header included) has at most this many bits "
                           "per pixel")
    p.add_argument("--steps", type=int, default=None,
                   help="grid points K of the chain (default: 32; 96 for an image, see empirical/codec/image.py)")
    p.add_argument("--log-snr-start", type=float, default=None, help="first (noisiest) log-SNR (default: model's min)")
    p.add_argument("--log-snr-stop", type=float, default=None, help="last log-SNR (default: min(model's max - 2, 12))")
    p.add_argument("--schedule", default="isotropic", choices=("isotropic", "rdp"),
                   help="one log-SNR for all components, or per-component on the perfect-realism path "
                        "(Gaussian oracles; default: %(default)s)")
    p.add_argument("--rate-start", type=float, default=None,
                   help="--schedule rdp: first grid point's expected rate, bits/dim (default: --rate-stop / --steps)")
    p.add_argument("--rate-stop", type=float, default=None,
                   help="--schedule rdp: last grid point's expected rate, bits/dim (default: the isotropic grid's)")
    p.add_argument("--seed", type=int, default=0, help="shared seed written to the header (default: %(default)s)")
    p.add_argument("--budget-bits", type=int, default=8,
                   help="RCC chunk KL budget, 1..24; a dimension with more KL in a step is a chunk of its own "
                        "(index sent with an escape), up to --max-budget-bits (default: %(default)s)")
    p.add_argument("--max-budget-bits", type=int, default=None,
                   help=f"the most KL one dimension may carry in a step "
                        f"(default: max(--budget-bits, {chain.DEFAULT_MAX_BUDGET_BITS}))")
    p.add_argument("--fixed-budget", action="store_true",
                   help="fail instead of giving a dimension above --budget-bits a chunk of its own")
    p.add_argument("--padding-bits", type=int, default=8,
                   help="RCC index range 2^(budget+padding), 0..16: the most candidates a chunk may scan "
                        "(default: %(default)s)")
    p.add_argument("--tail-target", type=_cli.tail_target, default=codec_tail_default(),
                   help="RCC candidates per chunk: the fewest with P(K > N) <= this at the chunk's KL, or 'none' for "
                        "2^(budget+padding) (default: %(default)s)")
    p.add_argument("--chunk-cost-bits", type=_cli.chunk_cost_bits, default=DEFAULT_CHUNK_COST_BITS,
                   help="RCC compute cap: a chunk of two or more dimensions scans at most 2^this candidate coordinates "
                        "(dimensions x candidates; steps spread thinly are cut finer), or 'none' "
                        "(default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="CPU worker processes scanning RCC candidates (default: %(default)s)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"),
                   help="where RCC candidates are scanned; 'auto' uses CUDA when torch sees it (default: %(default)s)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar on stderr")
    p.add_argument("--out", required=True, help="output file")
    p.add_argument("--save-input", default=None, help="also save the compressed sample here (a name ending in .npy)")
    p.add_argument("--json", default=None, help="also write the accounting as JSON here")
    return p


class _ProgressBar:
    """``progress(step, total)`` for the codec: a tqdm bar over the steps."""

    def __init__(self, enabled):
        self.bar = None
        self.enabled = enabled

    def __call__(self, step, total):
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc="encoding", unit="step", leave=False, disable=None)
        self.bar.n = step
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _budget_message(err) -> str:
    """A ``chain.BudgetError`` in the CLI's words (its flags, not API arguments)."""
    where = f"step {err.step} (log-SNR {err.log_snr:.4g}) has a dimension with {err.kl_bits:.4g} bits of KL"
    if err.auto_budget:
        return (f"budget_bits: {where}, above --max-budget-bits={err.limit_bits} (the most one dimension may "
                "carry); use more --steps, or raise --max-budget-bits (slower: that dimension's chunk scans up "
                "to 2^(max-budget + padding) candidates)")
    return (f"budget_bits: {where}, above --budget-bits={err.budget_bits} with --fixed-budget; raise --budget-bits, "
            "use more --steps, or drop --fixed-budget")


def _encode(args, encoder, *inputs, **options):
    """``encoder(*inputs, **options)`` with the RCC flags and a progress bar; the stream is written to ``--out``.

    Returns what the encoder returns (its ``EncodeResult``, first if a tuple); a BudgetError is a ValueError in
    the CLI's words."""
    bar = _ProgressBar(args.progress)
    try:
        out = encoder(*inputs, seed=args.seed, budget_bits=args.budget_bits, padding_bits=args.padding_bits,
                      auto_budget=not args.fixed_budget, max_budget_bits=args.max_budget_bits,
                      tail_target=args.tail_target, chunk_cost_bits=args.chunk_cost_bits, workers=args.workers,
                      device=args.device, progress=bar,
                      **options)
    except chain.BudgetError as err:
        raise ValueError(_budget_message(err)) from None
    finally:
        bar.close()
    result = out[0] if isinstance(out, tuple) else out
    with _cli.atomic_output(args.out) as tmp:
        tmp.write_bytes(result.data)
    return out


def _check_mode(args) -> bool:
    """Whether this is an image run (a positional image); ValueError naming the flag that does not fit the mode."""
    from .image import STATIONARY_SPEC, is_image_spec

    if args.image is None:
        if is_image_spec(args.model):
            raise ValueError(f"image: --model {args.model} codes an image file given as the first argument "
                             f"(python -m empirical.compress photo.png --model {args.model} --bpp 0.5 --out x.dfrc)")
        if args.bpp is not None:
            raise ValueError("bpp: applies to an image given as the first argument; use --rate-bits-per-dim or "
                             "--stop-step")
        return False
    if not is_image_spec(args.model):
        raise ValueError(f"model: an image file is coded with --model {STATIONARY_SPEC}, unet, unet:CHECKPOINT.pt, "
                         "tiled:oracle or tiled:CHECKPOINT.pt (a checkpoint alone codes samples of its own size: --input)")
    for name, default in (("input", None), ("data", None), ("rate_bits_per_dim", None)):
        if getattr(args, name) != default:
            raise ValueError(f"{name}: does not apply to an image (give the image as the first argument, and --bpp "
                             "or --stop-step)")
    if args.bpp is None and args.stop_step is None:
        raise ValueError("bpp: an image needs --bpp B (bits per pixel of the file) or --stop-step S")
    for name in ("rate_start", "rate_stop"):
        if getattr(args, name) is not None:
            raise ValueError(f"{name}: does not apply to an image (its rdp grid ends at the isotropic grid's "
                             "population rate; give --bpp or --stop-step)")
    return True


def _grid_report(result, model, schedule: str) -> tuple:
    """``(grid dict, log-SNR at the stop (a list per component for rdp), its text)`` of an encode result."""
    if schedule == "rdp":
        grid = {"schedule": "rdp", "num_points": result.grid.num_points,
                "rate_start_bits_per_dim": result.grid.rate_start_bits_per_dim,
                "rate_stop_bits_per_dim": result.grid.rate_stop_bits_per_dim}
        log_snr = result.grid.log_snrs_for(model)[result.num_steps_coded - 1]
        where_on_grid = (f"expected rate {result.grid.rates_bits_per_dim[result.num_steps_coded - 1]:.4g} bits/dim, "
                         f"log-SNRs {log_snr.min():.4g}..{log_snr.max():.4g}")
        return grid, log_snr.tolist(), where_on_grid
    grid = {"schedule": "isotropic", "num_points": result.grid.num_points,
            "log_snr_start": result.grid.log_snr_start, "log_snr_stop": result.grid.log_snr_stop}
    return grid, result.log_snr, f"log-SNR {result.log_snr:.4g}"


def _run_image(args) -> dict:
    """Compress an image file as one stream (see the module docstring)."""
    from empirical import image_files

    from .image import DEFAULT_NUM_STEPS, encode_image_detailed

    x = image_files.read_image(args.image, "image")
    result, model, x = _encode(args, encode_image_detailed, x, args.model, bpp=args.bpp,
                               stop_step=args.stop_step, log_snr_stop=args.log_snr_stop, schedule=args.schedule,
                               num_steps=DEFAULT_NUM_STEPS if args.steps is None else args.steps)
    if args.save_input:
        _cli.save_npy(args.save_input, x)
    pixels = x.shape[0] * x.shape[1]
    grid, log_snr, where_on_grid = _grid_report(result, model, args.schedule)
    report = {
        "out": args.out, "input": args.image, "shape": list(x.shape), "model": args.model, "grid": grid,
        "num_steps_coded": result.num_steps_coded, "log_snr": log_snr, "bytes": len(result.data),
        "bpp": result.coded_bits_total / pixels, "bpp_no_header": result.payload_bits / pixels,
        "ideal_bpp": result.kl_bits_total / pixels, "header_bits": result.header_bits,
        "budget_bits": result.budget_bits, "padding_bits": args.padding_bits, "tail_target": args.tail_target,
        "chunk_cost_bits": args.chunk_cost_bits, "kl_bits_per_step": result.kl_bits_per_step.tolist(),
        "coded_bits_per_step": result.coded_bits_per_step.tolist(),
    }
    print(f"wrote {args.out}: {args.image} ({x.shape[0]}x{x.shape[1]}x{x.shape[2]}), {result.num_steps_coded} of "
          f"{result.grid.num_points} steps ({where_on_grid}); {report['bpp']:.4f} bits/pixel "
          f"({len(result.data)} bytes, header {result.header_bits} bits), ideal (sum KL) {report['ideal_bpp']:.4f}")
    if args.json:
        _cli.write_report(args.json, report)
    return report


def run(args) -> dict:
    """Compress as the parsed ``args`` say; return the JSON report."""
    _cli.check_outputs((args.out, "--out"), (args.save_input, "--save-input"), (args.json, "--json"),
                             npy=("--save-input",))
    if _check_mode(args):
        return _run_image(args)
    model, source = cli.model_and_source(args)
    if args.input is not None:
        x = _cli.load_npy(args.input, "--input")
        where = args.input
        cli.check_input_range(x, source, "--input", where)
    else:
        test = source.examples("test")
        if not 0 <= args.index < test.shape[0]:
            raise ValueError(f"index: must be in 0..{test.shape[0] - 1} (the test examples of {source.name}), got {args.index}")
        x = test[args.index].reshape(source.shape)
        where = f"{source.name} test example {args.index}"
    result = _encode(args, chain.encode_detailed, x, model, num_steps=32 if args.steps is None else args.steps,
                     log_snr_start=args.log_snr_start, log_snr_stop=args.log_snr_stop, stop_step=args.stop_step,
                     rate_bits_per_dim=args.rate_bits_per_dim, schedule=args.schedule,
                     rate_start_bits_per_dim=args.rate_start, rate_stop_bits_per_dim=args.rate_stop,
                     model_spec=cli.oracle_spec(args) if args.model.split(":")[0] in ("oracle", "mixture-oracle") else "")
    if args.save_input:
        _cli.save_npy(args.save_input, np.asarray(x, dtype=np.float64))
    d = model.dim
    grid, log_snr, where_on_grid = _grid_report(result, model, args.schedule)
    report = {
        "out": args.out, "input": where, "dim": d, "grid": grid,
        "num_steps_coded": result.num_steps_coded, "log_snr": log_snr,
        "kl_bits_total": result.kl_bits_total, "kl_bits_per_dim": result.kl_bits_total / d,
        "payload_bits": result.payload_bits, "coded_bits_per_dim_no_header": result.payload_bits / d,
        "coded_bits_total": result.coded_bits_total, "coded_bits_per_dim": result.coded_bits_total / d,
        "header_bits": result.header_bits, "tv_bound_max_step": float(np.max(result.tv_bound_per_step)),
        "budget_bits": result.budget_bits, "padding_bits": args.padding_bits, "tail_target": args.tail_target,
        "chunk_cost_bits": args.chunk_cost_bits, "kl_bits_per_step": result.kl_bits_per_step.tolist(),
        "coded_bits_per_step": result.coded_bits_per_step.tolist(),
    }
    print(f"wrote {args.out}: {where}, {result.num_steps_coded} of {result.grid.num_points} steps "
          f"({where_on_grid}); KL {report['kl_bits_per_dim']:.4f} bits/dim, payload "
          f"{report['coded_bits_per_dim_no_header']:.4f} bits/dim, with header {report['coded_bits_per_dim']:.4f} bits/dim "
          f"({len(result.data)} bytes, budget {result.budget_bits} bits)")
    if args.json:
        _cli.write_report(args.json, report)
    return report


def main(argv=None) -> int:
    """Command-line entry point: 0 on success; bad input prints one line and exits with status 2."""
    return _cli.main(build_parser, run, FLAGS, argv)

