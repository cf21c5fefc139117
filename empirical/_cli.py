"""Command-line helpers shared by every CLI of ``empirical`` (train, compress, decompress, rd, rcc_bench).

- Errors: bad input is one line ``prog: error: --flag: ...`` and status 2; a failed
  write (disk full, file size limit: :class:`WriteError`) is one line naming the
  file and status 1.
- Inputs are read bounded: only regular files of at most :data:`MAX_INPUT_BYTES`
  (never a pipe or device, which could block or never end); ``.npy`` inputs must
  hold finite real numbers (no complex, object, text or NaN/inf entries).
- Outputs are checked for writability before any work (:func:`check_outputs`)
  and written to a temporary name, then renamed (:func:`atomic_output`): a run
  that is killed or fails leaves each output absent or as it was, never partial.
- The synthetic data sources' parameters (:func:`add_source_parameters`,
  :func:`source_from_args`) and ``--tail-target`` (:func:`tail_target`).

The codec CLIs' model options and stream spec are in :mod:`empirical.codec.cli`.
This module imports only ``gaussian._io`` (``empirical.data`` and torch when a
function needs them), so every stage may use it.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import io
import os
import stat
import sys

from gaussian import _io

MAX_INPUT_BYTES = 256 * 2**20
"""Largest input file (stream or ``.npy``) the CLIs read."""


class Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are one line (no usage) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def parser(prog: str, doc: str) -> Parser:
    """A :class:`Parser` with the module docstring as description (defaults shown in each help)."""
    from gaussian._io import add_version

    p = Parser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_version(p)
    return p


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
    """Shared entry point of the codec CLIs: 0 on success; bad input prints one line and exits with status 2,
    a failed file write one line naming the file and status 1 (stdout errors are left to ``gaussian._io.run_cli``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run(args)
    except ValueError as err:
        fail(parser, err, flags)
    except WriteError as err:
        sys.stdout.flush()
        parser.exit(1, f"{parser.prog}: error: {_io.describe_os_error(err)}\n")
    except OSError as err:
        if err.filename is None:  # stdout (closed pipe, /dev/full): run_cli's one line
            raise
        sys.stdout.flush()
        parser.exit(1, f"{parser.prog}: error: {err.filename}: {_reason(err)}\n")
    return 0


class WriteError(OSError):
    """An output file could not be written; ``filename`` is the output's name (not a temporary one)."""


@contextlib.contextmanager
def writing(path):
    """Re-raise an ``OSError`` of the block as a :class:`WriteError` naming ``path``."""
    try:
        yield
    except WriteError:
        raise
    except OSError as err:
        raise WriteError(err.errno or errno.EIO, err.strerror or str(err) or type(err).__name__, str(path)) from None


@contextlib.contextmanager
def atomic_output(path):
    """``gaussian._io.atomic_path(path)`` whose failures (writer or rename) are a :class:`WriteError` naming
    ``path``; no file is left behind."""
    with writing(path), _io.atomic_path(path) as tmp:
        yield tmp


def write_report(path, report: dict) -> None:
    """Write a CLI's JSON report (``--json PATH``), indented, with a final newline (temporary file, then rename)."""
    import json

    text = json.dumps(report, indent=2) + "\n"
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def check_outputs(*pairs, npy=()) -> None:
    """ValueError naming the flag unless every given ``(path, flag)`` (path None: not asked for) can be
    written and no two name the same file; the outputs whose flag is in ``npy`` must end in ``.npy``."""
    seen = {}
    for path, flag in pairs:
        if path is None:
            continue
        target = _io.check_writable(path, flag)
        if flag in npy and target.suffix != ".npy":
            raise ValueError(f"{flag}: the array is written as NumPy .npy; the name must end in .npy, got {path}")
        key = os.path.realpath(target)
        if key in seen:
            raise ValueError(f"{flag}: {path} is also the {seen[key]} file; give another name")
        seen[key] = flag


def save_npy(path, array) -> None:
    """``numpy.save`` of ``array`` to exactly ``path`` (no ``.npy`` appended), through a temporary file and a rename."""
    import numpy as np

    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)


def read_input(path, flag: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of input file ``path``: a regular file of at most ``limit`` bytes, else ValueError naming ``flag``."""
    path = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"{flag}: not found: {path}") from None
    except OSError as err:
        raise ValueError(f"{flag}: cannot read {path}: {_reason(err)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{flag}: {path} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{flag}: {path} is not a regular file (pipes and devices are not read)")
    if info.st_size > limit:
        raise ValueError(f"{flag}: {path} has {info.st_size} bytes, over the input limit of {limit} bytes")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as err:
        raise ValueError(f"{flag}: cannot read {path}: {_reason(err)}") from None
    if len(data) > limit:
        raise ValueError(f"{flag}: {path} grew past the input limit of {limit} bytes while being read")
    return data


def _reason(err: OSError) -> str:
    reason = err.strerror or str(err) or type(err).__name__
    return reason[0].lower() + reason[1:]


def load_npy(path, flag: str):
    """The array in ``.npy`` file ``path`` as float64: real numbers (bool, integer or float), all finite; else
    ValueError naming ``flag``. Complex arrays are refused (the imaginary part would be lost)."""
    import numpy as np

    data = read_input(path, flag)
    if not data.startswith(b"\x93NUMPY"):
        raise ValueError(f"{flag}: cannot read {path}: not a NumPy .npy file")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ValueError(f"{flag}: {path} holds Python objects, not numbers") from None
        raise ValueError(f"{flag}: cannot read {path} as a .npy array") from None
    except (OSError, EOFError):
        raise ValueError(f"{flag}: cannot read {path} as a .npy array") from None
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{flag}: {path} is not a single .npy array")
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(f"{flag}: {path} holds complex numbers ({arr.dtype}); expected real numbers")
    if kind not in "biuf" or arr.dtype.fields is not None:
        raise ValueError(f"{flag}: {path} holds {arr.dtype} values, not real numbers")
    if arr.size == 0:
        raise ValueError(f"{flag}: {path} holds no numbers")
    out = arr.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f"{flag}: entries must be finite (got NaN or inf) in {path}")
    return out


def worker_init(parent_pid: int) -> None:
    """Initializer of a process pool's worker: one BLAS / OpenMP / torch thread (``--workers`` processes share the
    cores; two processes of two OpenMP threads each on two cores run a U-Net several times slower than one thread
    each), and a watchdog thread that ends the worker once its parent ``parent_pid`` is gone (a killed run leaves no
    worker running)."""
    import threading

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"  # read when torch or a BLAS starts its threads (in the worker's tasks)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def abandon_pool(pool) -> None:
    """Cancel a process pool's queued tasks and end its workers now (a run that failed or was sent SIGTERM: a plain
    ``shutdown`` would first run every queued task)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def _exit_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Exit this process as soon as its parent is no longer ``parent_pid`` (it died; we were re-parented)."""
    import time

    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    os._exit(1)


def set_threads(num_threads: int) -> None:
    """``torch.set_num_threads`` after checking ``num_threads >= 1``."""
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"threads: must be an integer >= 1, got {num_threads!r}")
    import torch

    torch.set_num_threads(num_threads)


#: Defaults of the synthetic sources' parameters, and which parameters each source reads.
SOURCE_DEFAULTS = {"spectrum": "patches", "dim": None, "basis": "random", "basis_seed": 0, "num_components": 8,
                   "std": 0.25, "means_seed": 0}
SOURCE_PARAMETERS = {"gaussian": ("spectrum", "dim", "basis", "basis_seed"),
                     "mixture": ("dim", "num_components", "std", "means_seed")}


def add_source_parameters(p: argparse.ArgumentParser, from_stream: bool = False) -> None:
    """The parameters of the synthetic data sources (all optional).

    ``from_stream``: no defaults (``None``), so that a decoder can tell the flags
    given from those to take from the stream's model spec.
    """
    def default(name):
        return None if from_stream else SOURCE_DEFAULTS[name]

    def shown(name, text):
        return "(default: from the stream)" if from_stream else text

    p.add_argument("--spectrum", default=default("spectrum"), help=f"gaussian: spectrum {shown('spectrum', '(default: %(default)s)')}")
    p.add_argument("--dim", type=int, default=None,
                   help=f"gaussian: dim of a synthetic spectrum; mixture: dim {shown('dim', '(default 16)')}")
    p.add_argument("--basis", default=default("basis"), choices=("random", "pixel"),
                   help=f"gaussian: eigenbasis {shown('basis', '(default: %(default)s)')}")
    p.add_argument("--basis-seed", type=int, default=default("basis_seed"),
                   help=f"gaussian: seed of the random basis {shown('basis_seed', '(default: %(default)s)')}")
    p.add_argument("--num-components", type=int, default=default("num_components"),
                   help=f"mixture: components {shown('num_components', '(default: %(default)s)')}")
    p.add_argument("--std", type=float, default=default("std"),
                   help=f"mixture: component std {shown('std', '(default: %(default)s)')}")
    p.add_argument("--means-seed", type=int, default=default("means_seed"),
                   help=f"mixture: seed of the means {shown('means_seed', '(default: %(default)s)')}")


def source_from_args(args):
    """The data source named by ``--data`` and its parameters."""
    from empirical import data as data_mod

    if args.data == "gaussian":
        return data_mod.gaussian(args.spectrum, dim=args.dim, basis=args.basis, basis_seed=args.basis_seed)
    if args.data == "mixture":
        return data_mod.mixture(16 if args.dim is None else args.dim, args.num_components, args.std, args.means_seed)
    if args.data == "photos":
        return data_mod.photos(getattr(args, "crop", 32))
    return data_mod.make(args.data)


def chunk_cost_bits(text):
    """``--chunk-cost-bits``: an integer in 1..64, or ``none`` (no compute cap on a chunk)."""
    if text.strip().lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in 1..64 or 'none', got {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must lie in 1..64, got {text!r}")
    return value


def tail_target(text):
    """``--tail-target``: a number in (0, 1), or ``none`` (every chunk scans ``2^(budget + padding)``)."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1) or 'none', got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1), got {text!r}")
    return value
