"""Benchmark of the Gaussian closed forms (prints figures; never fails on speed).

1. Start-up: wall time of the whole process ``python -m gaussian.rd --dim 64``
   against ``python -c "import numpy, scipy"`` (median of interleaved runs).
2. Throughput: all six schemes at 1000 rates for d = 12288 (ImageNet
   64x64x3), on one core (BLAS and OpenMP pinned to one thread), for two
   spectra: the periodic 1/f^2 image model ``image:64x64x3`` (whose
   symmetries repeat eigenvalues) and a power law ``k^-1`` with 12288
   distinct eigenvalues (the worst case for the passes).

examples:
  python -m gaussian.bench
  python -m gaussian.bench --repeats 9 --format json
"""
from __future__ import annotations

import os

if __name__ == "__main__":  # one core: pin BLAS/OpenMP before numpy is imported
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def startup(repeats: int) -> dict:
    """Median wall seconds of the CLI process and of the numpy+scipy import baseline."""
    cli = [sys.executable, "-m", "gaussian.rd", "--dim", "64"]
    base = [sys.executable, "-c", "import numpy, scipy"]
    _wall(cli), _wall(base)  # warm the file cache
    cli_s, base_s = [], []
    for _ in range(repeats):
        cli_s.append(_wall(cli))
        base_s.append(_wall(base))
    c, b = statistics.median(cli_s), statistics.median(base_s)
    return {"cli_seconds": c, "baseline_seconds": b, "ratio": c / b}


def throughput(repeats: int, spec, num_rates: int = 1000) -> dict:
    """Best-of-``repeats`` seconds for ``curves.evaluate`` on ``spec`` at ``num_rates`` rates."""
    import numpy as np

    from . import curves

    rates = np.geomspace(0.01, 8.0, num_rates) * spec.dim
    curves.evaluate(spec, rates[:10])
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        curves.evaluate(spec, rates)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"spectrum": spec.name, "dim": spec.dim, "distinct_eigvals": int(np.unique(spec.eigvals).size),
            "num_rates": num_rates, "best_seconds": min(times), "median_seconds": statistics.median(times),
            "best_cpu_seconds": min(cpu)}


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv=None) -> int:
    """Run both benchmarks and print a short report (or JSON); writes no file."""
    p = _Parser(prog="python -m gaussian.bench", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=7, help="runs per measurement (default 7)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    from ._io import add_version

    add_version(p)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.exit(2, f"{p.prog}: error: --repeats: must be >= 1, got {args.repeats}\n")
    from . import spectrum

    specs = [spectrum.image_power_law(64, 64, 3), spectrum.power_law(12288, 1.0)]
    result = {"startup": startup(args.repeats), "throughput": [throughput(args.repeats, s) for s in specs]}
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return 0
    s = result["startup"]
    print(f"start-up: python -m gaussian.rd --dim 64 {s['cli_seconds']:.3f} s, "
          f"import numpy, scipy {s['baseline_seconds']:.3f} s, ratio {s['ratio']:.2f} (goal <= 1.3)")
    for t in result["throughput"]:
        print(f"six schemes, {t['spectrum']} (d = {t['dim']}, {t['distinct_eigvals']} distinct eigenvalues), "
              f"{t['num_rates']} rates, one core: best {t['best_seconds']:.3f} s, median {t['median_seconds']:.3f} s, "
              f"best CPU {t['best_cpu_seconds']:.3f} s (goal < 0.2 s)")
    return 0


if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, "python -m gaussian.bench")
