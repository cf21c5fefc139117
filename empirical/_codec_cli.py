"""Command-line helpers shared by ``empirical.train``, ``compress``, ``decompress`` and ``rd``.

- Errors: bad input is one line ``prog: error: --flag: ...`` and status 2; a failed
  write (disk full, file size limit: :class:`WriteError`) is one line naming the
  file and status 1.
- Inputs are read bounded: only regular files of at most :data:`MAX_INPUT_BYTES`
  (never a pipe or device, which could block or never end); ``.npy`` inputs must
  hold finite real numbers (no complex, object, text or NaN/inf entries).
- Outputs are checked for writability before any work (:func:`check_outputs`)
  and written to a temporary name, then renamed (:func:`atomic_output`): a run
  that is killed or fails leaves each output absent or as it was, never partial.
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
INPUT_STD_LIMIT = 50.0
"""A compress input of an unbounded source may lie at most this many data standard deviations from the data mean."""


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


def check_input_range(x, source, flag: str, where: str) -> None:
    """ValueError naming ``flag`` unless sample ``x`` lies in ``source``'s data range (the rule of compress --help).

    Images (a ``pixel_range``): every value inside it. Unbounded sources: every value within
    :data:`INPUT_STD_LIMIT` standard deviations (square root of the largest covariance eigenvalue) of the data mean.
    A sample of the wrong size is left to the codec's own check.
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size != source.dim:
        return
    if source.pixel_range is not None:
        lo, hi = source.pixel_range
        if x.min() < lo or x.max() > hi:
            raise ValueError(f"{flag}: the values of {where} span {x.min():.6g}..{x.max():.6g}, outside "
                             f"[{lo:g}, {hi:g}], the pixel range of {source.name}; rescale them to it "
                             f"(8-bit pixels v: 2 v / 255 - 1)")
        return
    eigvals = source.eigvals if source.eigvals is not None else np.linalg.eigvalsh(source.covariance)
    std = float(np.sqrt(max(float(np.max(eigvals)), 0.0)))
    deviation = float(np.max(np.abs(x - source.mean)))
    if deviation > INPUT_STD_LIMIT * std:
        raise ValueError(f"{flag}: {where} has a value {deviation:.3g} away from the data mean, over "
                         f"{INPUT_STD_LIMIT:g} standard deviations of {source.name} ({INPUT_STD_LIMIT:g} x {std:.3g}); "
                         "rescale it to the data's range")


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
_SPEC_TYPES = {"spectrum": str, "dim": int, "basis": str, "basis_seed": int, "num_components": int, "std": float,
               "means_seed": int}


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


def oracle_spec(args) -> str:
    """The model spec an oracle stream records: ``model=M;data=D`` and the source's non-default parameters."""
    parts = [f"model={args.model}", f"data={args.data}"]
    for name in SOURCE_PARAMETERS.get(args.data, ()):
        value = getattr(args, name)
        if value is not None and value != SOURCE_DEFAULTS[name]:
            parts.append(f"{name}={value}")
    return ";".join(parts)


def parse_spec(text: str) -> dict:
    """``{key: value}`` of a model spec written by :func:`oracle_spec` (values typed); ValueError if malformed."""
    out = {}
    for item in text.split(";") if text else ():
        key, sep, value = item.partition("=")
        if not sep or key in out or key not in ("model", "data", *_SPEC_TYPES):
            raise ValueError(f"file: the stream's model spec {text!r} is not one this decoder understands")
        try:
            out[key] = _SPEC_TYPES.get(key, str)(value)
        except ValueError:
            raise ValueError(f"file: the stream's model spec {text!r} has a bad value for {key}") from None
    return out


def apply_stream_spec(args, header_spec: bytes) -> None:
    """Fill the oracle options not given on the command line from the stream's model spec; a given option that
    differs from it is a ValueError naming the flag. For a checkpoint, check that the stream is not an oracle's."""
    spec = parse_spec(header_spec.decode("ascii"))
    is_oracle = args.model.split(":")[0] in ("oracle", "mixture-oracle")
    if not spec:
        if is_oracle:
            raise ValueError(f"model: the stream was made with a checkpoint, not --model {args.model}; "
                             "give that checkpoint (--model PATH)")
        return
    if not is_oracle:
        raise ValueError(f"model: the stream was made with the oracle '{header_spec.decode()}'; decode it with "
                         f"--model {spec['model']} (the data options come from the stream)")
    if args.model != spec["model"]:
        raise ValueError(f"model: the stream was made with --model {spec['model']}, not {args.model}")
    if args.data is not None and args.data != spec["data"]:
        raise ValueError(f"data: the stream was made with --data {spec['data']}, not {args.data}")
    args.data = spec["data"]
    for name in SOURCE_PARAMETERS.get(spec["data"], ()):
        recorded = spec.get(name, SOURCE_DEFAULTS[name])
        given = getattr(args, name)
        if given is not None and given != recorded:
            flag = "--" + name.replace("_", "-")
            shown = f"{flag} {recorded}" if name in spec else f"the default {flag} {recorded}"
            raise ValueError(f"{name}: the stream was made with {shown}, not {given}")
        setattr(args, name, recorded)
    for name in set(SOURCE_DEFAULTS) - set(SOURCE_PARAMETERS.get(spec["data"], ())):
        if getattr(args, name) is None:
            setattr(args, name, SOURCE_DEFAULTS[name])


def add_model_arguments(p: argparse.ArgumentParser, from_stream: bool = False) -> None:
    """``--model``, ``--data`` (optional for checkpoints) and the synthetic-source parameters."""
    from empirical import data as data_mod

    p.add_argument("--model", required=True,
                   help="checkpoint of python -m empirical.train, or 'oracle' / 'oracle:plugin' (Gaussian oracle of "
                        "--data) / 'mixture-oracle'")
    p.add_argument("--data", choices=data_mod.SOURCES, default=None,
                   help="data source (default for a checkpoint: the one it was trained on"
                        + ("; for an oracle: the stream's)" if from_stream else ")"))
    add_source_parameters(p, from_stream)
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
    if args.data is not None:
        source = source_from_args(args)
    else:
        recorded = model.config.get("data")
        if (not isinstance(recorded, dict) or not all(isinstance(k, str) for k in recorded)
                or not isinstance(recorded.get("name"), str)):
            raise ValueError(f"data: {args.model} records no data source; give --data")
        source = data_mod.make(**recorded)
    if source.dim != model.dim:
        raise ValueError(f"data: {source.name} has {source.dim} dims, the model {model.dim}")
    return model, source


MODEL_FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "model", "data", "spectrum", "dim", "basis", "basis_seed", "num_components", "std", "means_seed", "threads")}


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

