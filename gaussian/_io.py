"""Files and process exits shared by every command-line tool of the toolkit (standard library only).

- ``atomic_path(path)``: a context manager yielding a temporary name beside
  ``path`` (same folder, same suffix, so writers that pick a format from the
  suffix still work); on success it is renamed over ``path`` (``os.replace``,
  atomic on POSIX), on any error it is removed. A run killed in between leaves
  ``path`` absent or as it was, never partial.
- ``write_bytes_atomic`` / ``write_text_atomic``: the same for data in memory;
  ``naming_errors(path)`` makes an ``OSError`` of a block name ``path``.
- ``check_writable(path, flag)``: refuse an output path up front (missing
  folder, a folder in its place, no write permission), naming the flag;
  ``check_writable_folder(path, flag)`` does the same for an output folder
  (existing, or creatable under a writable parent).
- ``run_cli(main)``: the process exit of a ``main(argv) -> int``: Ctrl-C and
  SIGTERM give one line and status 130 / 143 (temporary files are removed on
  the way out), a closed pipe on stdout ends quietly, a failed write to stdout
  (e.g. ``/dev/full``) gives one line and status 1.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_text_atomic(folder / "a.txt", "hello\\n")
>>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
('hello\\n', ['a.txt'])
"""
from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import signal
import sys

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic", "check_writable", "check_writable_folder",
           "naming_errors", "run_cli", "describe_os_error"]


def describe_os_error(err: OSError, path=None) -> str:
    """One line for an ``OSError``: ``cannot write PATH: <reason>`` (``no space left on device`` and so on)."""
    reason = err.strerror or str(err) or type(err).__name__
    where = path if path is not None else err.filename
    return f"cannot write {where}: {reason[0].lower() + reason[1:] if reason else reason}" if where else reason


def _temporary_name(path: pathlib.Path) -> pathlib.Path:
    """A hidden name beside ``path`` with the same suffix: ``.NAME.tmp-PID-N.SUFFIX``."""
    _temporary_name.counter += 1
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}-{_temporary_name.counter}{path.suffix}")


_temporary_name.counter = 0


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds, else remove it.

    The caller writes the whole file to the yielded path (``torch.save``,
    ``savefig``, ``open(..., "w")``). ``OSError`` from the rename names ``path``.
    """
    path = pathlib.Path(path)
    tmp = _temporary_name(path)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(errno.ENOENT, "the writer produced no file", str(path))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def naming_errors(path):
    """Re-raise an ``OSError`` of the block with ``filename`` set to ``path`` (the target, not a temporary name)."""
    try:
        yield
    except OSError as err:
        raise OSError(err.errno, err.strerror or str(err) or type(err).__name__, str(path)) from err


def write_bytes_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a partial ``path``)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_text_atomic(path, text: str) -> None:
    """``write_bytes_atomic`` of UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))


def check_writable(path, flag: str) -> pathlib.Path:
    """``path`` as a ``Path`` if a file can be created there; ``ValueError`` naming ``flag`` otherwise."""
    path = pathlib.Path(path)
    if str(path) == "" or path.name in ("", ".", ".."):
        raise ValueError(f"{flag}: not a file name: {str(path)!r}")
    if path.is_dir():
        raise ValueError(f"{flag}: {path} is a folder, not a file")
    folder = path.parent if str(path.parent) else pathlib.Path(".")
    if not folder.is_dir():
        raise ValueError(f"{flag}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{flag}: folder {folder} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag}: {path} exists and is not writable")
    return path


def check_writable_folder(path, flag: str) -> pathlib.Path:
    """``path`` as a ``Path`` if files can be written in it (an existing writable folder, or one that
    ``mkdir(parents=True)`` can create); ``ValueError`` naming ``flag`` otherwise. Creates nothing."""
    path = pathlib.Path(path)
    if str(path) == "":
        raise ValueError(f"{flag}: not a folder name: ''")
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag}: {str(path)!r} exists and is not a directory")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{flag}: cannot create {str(path)!r}: {str(existing)!r} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "folder" if existing == path else "parent folder"
        raise ValueError(f"{flag}: {what} {str(existing)!r} is not writable")
    return path


class _Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler of ``run_cli`` (unwinds ``finally`` blocks)."""


def _raise_terminated(signum, frame):
    raise _Terminated()


#: Optional dependencies and the extra that installs each (``pip install -e ".[extra]"``).
OPTIONAL_MODULES = {"sympy": "theory", "mpmath": "theory", "matplotlib": "plot", "torch": "empirical",
                    "constriction": "empirical", "tqdm": "empirical", "PIL": "empirical", "skimage": "data",
                    "sklearn": "data"}


def run_cli(main, prog: str | None = None) -> None:
    """``sys.exit(main())`` with one-line exits for Ctrl-C (130), SIGTERM (143), stdout write errors (1) and a
    missing optional dependency (2, naming the extra that installs it)."""
    prog = prog or os.path.basename(sys.argv[0])
    with contextlib.suppress(ValueError):          # not the main thread: keep the default handler
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        status = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        _quiet_stdout()
        sys.stderr.write(f"{prog}: interrupted\n")
        sys.exit(130)
    except _Terminated:
        _quiet_stdout()
        sys.stderr.write(f"{prog}: terminated\n")
        sys.exit(143)
    except ModuleNotFoundError as err:
        root = (err.name or "").split(".")[0]
        if root not in OPTIONAL_MODULES:
            raise
        _quiet_stdout()
        sys.stderr.write(f"{prog}: error: needs {root}: pip install -e \".[{OPTIONAL_MODULES[root]}]\"\n")
        sys.exit(2)
    except BrokenPipeError:                         # e.g. piped into `head`: stop quietly
        _quiet_stdout()
        sys.exit(1)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EROFS) and err.filename is None:
            _quiet_stdout()
            sys.stderr.write(f"{prog}: error: cannot write the output: {err.strerror or err}\n")
            sys.exit(1)
        raise
    sys.exit(status)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot raise again."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


DISTRIBUTION = "diffc-toolkit"


def package_version() -> str:
    """The installed distribution's version (``setup.cfg``), or ``0+unknown`` when run from an uninstalled tree."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def add_version(parser) -> None:
    """Add ``--version`` to an ``argparse`` parser (prints ``prog version`` and exits 0)."""
    import argparse

    class Version(argparse.Action):
        def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
            super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

        def __call__(self, parser, namespace, values, option_string=None):
            sys.stdout.write(f"{parser.prog} {package_version()}\n")
            parser.exit(0)

    parser.add_argument("--version", action=Version, help="print the toolkit's version and exit")

