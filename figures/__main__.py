"""Regenerate every figure (headless): ``python -m figures [--out DIR] [--only NAME] [--quick]``.

examples:
  python -m figures                      # all figures into docs/figures/
  python -m figures --only gap_db --out /tmp/figs
  python -m figures --quick              # reduced resolution, for tests (about 1 min)
  python -m figures --only reconstructions --checkpoint digits=digits.pt --checkpoint patches=patches.pt \
      --out docs/figures/learned          # reconstructions by learned models (python -m empirical.train)
  python -m figures --only kodak --kodak ../shared/data/kodak   # photographs beside JPEG and WebP
  python -m figures --only unet_denoising --kodak ../shared/data/kodak   # learned U-Net vs the oracle
  python -m figures --only unet_kodak --kodak ../shared/data/kodak       # Kodak coded with the U-Net
  python -m figures --only unet_rdp --kodak ../shared/data/kodak         # the rdp U-Net against the isotropic one

The theory figures take seconds; measured_gaussian, measured_sources and
reconstructions run the real codec (about 2, 10-20 and 0.5 min on 2 cores),
rcc_frontier the reverse-channel-coding benchmark's frontier (about 8 min on
one core), rcc_limits the image-scale chain at four settings beside the
idealised coder's limits (about 4 min on one core), and they need the
[empirical] extra. kodak codes a folder of
photographs given by --kodak DIR (about 10 min on 2 cores for the 24 Kodak
images at 1/8 scale), unet_denoising the U-Net's denoising MSE on crops of
the same folder, unet_kodak the same folder coded with the U-Net (about 1.5 CPU
hours; it reuses the reports in OUT/kodak and OUT/unet_kodak when their
settings match), unet_rdp the U-Net trained on the perfect-realism path against
the isotropic one (six runs, reused from OUT when their settings match); without
--kodak they are skipped.
"""
from __future__ import annotations

import argparse
import importlib
import pathlib
import sys
import time

FIGURES = ("rd_curves", "gap_db", "allocation", "dp_frontier", "measured_gaussian", "measured_sources", "reconstructions",
           "rcc_frontier", "rcc_limits", "kodak", "rdp_codec", "unet_denoising", "unet_kodak", "unet_rdp")
MEASURED = ("measured_gaussian", "measured_sources", "reconstructions", "rcc_frontier", "rcc_limits", "kodak",
            "rdp_codec", "unet_denoising", "unet_kodak", "unet_rdp")
NEEDS_KODAK = ("kodak", "unet_denoising", "unet_kodak", "unet_rdp")  # need [empirical]
DEFAULT_OUT = pathlib.Path("docs") / "figures"


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv=None) -> int:
    """Make the selected figures; returns the exit status (0; 2 for bad input; 1 if a file cannot be written)."""
    p = _Parser(prog="python -m figures", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--only", action="append", choices=FIGURES, metavar="NAME",
                   help=f"only this figure (repeatable); one of {', '.join(FIGURES)}")
    p.add_argument("--quick", action="store_true", help="fewer points (fast; for tests)")
    p.add_argument("--checkpoint", action="append", default=[], metavar="DATA=PATH",
                   help="reconstructions: decode DATA (digits or patches) with this learned checkpoint instead "
                        "of the fitted Gaussian oracle (repeatable)")
    p.add_argument("--kodak", default=None, metavar="DIR",
                   help="kodak: the folder of photographs to code (the figure is skipped without it)")
    from gaussian._io import add_version

    add_version(p)
    args = p.parse_args(argv)
    checkpoints = {}
    for item in args.checkpoint:
        data, sep, path = item.partition("=")
        if not sep or data not in ("digits", "patches") or not path:
            p.exit(2, f"{p.prog}: error: --checkpoint: expected digits=PATH or patches=PATH, got {item!r}\n")
        if not pathlib.Path(path).is_file():
            p.exit(2, f"{p.prog}: error: --checkpoint: no such file {path!r}\n")
        checkpoints[data] = path
    selected = list(dict.fromkeys(args.only)) if args.only else list(FIGURES)  # a repeated name runs once
    if checkpoints and selected != ["reconstructions"]:
        p.exit(2, f"{p.prog}: error: --checkpoint: applies to --only reconstructions alone\n")
    if args.kodak is not None and not pathlib.Path(args.kodak).is_dir():
        p.exit(2, f"{p.prog}: error: --kodak: {args.kodak} is not a folder\n")
    for name in NEEDS_KODAK:
        if args.kodak is None and name in selected:
            if args.only:
                p.exit(2, f"{p.prog}: error: {name}: needs --kodak DIR (a folder of photographs)\n")
            selected.remove(name)
            print(f"{name:12s} skipped (needs --kodak DIR)")
    from gaussian._io import check_writable_folder, describe_os_error

    try:
        out = check_writable_folder(args.out, "--out")  # before any figure is computed
        out.mkdir(parents=True, exist_ok=True)
    except ValueError as err:
        p.exit(2, f"{p.prog}: error: {err}\n")
    except OSError as err:
        p.exit(2, f"{p.prog}: error: --out: cannot create {out} ({err.strerror or err})\n")
    for name in selected:
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"figures.fig_{name}")
            options = {"checkpoints": checkpoints} if checkpoints else {}
            if name in NEEDS_KODAK:
                options = {"images": args.kodak}
            path = module.make(out, quick=args.quick, **options)
        except ValueError as err:  # e.g. a checkpoint for other data
            p.exit(2, f"{p.prog}: error: {name}: {err}\n")
        except ImportError as err:
            extras = "plot,empirical" if name in MEASURED else "plot"
            p.exit(2, f"{p.prog}: error: {name}: needs {err.name or err} (pip install -e \".[{extras}]\")\n")
        except OSError as err:
            written = err.filename is not None and pathlib.Path(err.filename).parent == out
            what = describe_os_error(err) if written else f"{err.filename or ''} {err.strerror or err}".strip()
            print(f"{p.prog}: error: {name}: {what}", file=sys.stderr)
            return 1
        print(f"{name:12s} {path}  ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, "python -m figures")
