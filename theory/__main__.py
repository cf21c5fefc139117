"""Verify the claims of the DiffC symbolic ledger: one line per claim (id, kind, status, method, seconds).

Exits 0 if every selected claim verifies, 1 if any fails, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m theory``."""
    parser = _Parser(
        prog="python -m theory", description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "--latex", metavar="DIR", default=None, help="also write each derivation as DIR/<id>.tex and DIR/ledger.tex"
    )
    parser.add_argument(
        "--only", metavar="ID", action="append", default=None, help="verify only this claim (repeatable)"
    )
    from gaussian._io import add_version

    add_version(parser)
    return parser


_MISSING_EXTRA = 'needs sympy and mpmath: pip install -e ".[theory]"'


def _load_claims(parser):
    """``theory.CLAIMS``, or a one-line exit naming the ``[theory]`` extra when sympy or mpmath is missing."""
    import theory

    try:
        return theory.CLAIMS
    except ImportError as err:
        # sympy without mpmath raises a plain ImportError whose message names mpmath
        if (err.name or "").partition(".")[0] in ("sympy", "mpmath") or (
                err.name is None and ("mpmath" in str(err) or "sympy" in str(err))):
            parser.exit(2, f"{parser.prog}: error: {_MISSING_EXTRA}\n")
        raise


def main(argv=None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from gaussian._io import check_writable_folder, describe_os_error

    parser = _parser()
    args = parser.parse_args(argv)
    if args.latex is not None:
        try:
            check_writable_folder(args.latex, "argument --latex")
        except ValueError as err:
            parser.error(str(err))
    known_claims = _load_claims(parser)  # after parsing, so --help stays fast
    known = [c.id for c in known_claims]
    only = list(dict.fromkeys(args.only)) if args.only else None  # repeated ids run once, first-mention order
    for claim_id in only or []:
        if claim_id not in known:
            parser.error(f"argument --only: unknown claim id {claim_id!r} (known: {', '.join(known)})")
    by_id = {c.id: c for c in known_claims}
    claims = [by_id[i] for i in only] if only else list(known_claims)
    results = []
    for claim in claims:
        result = claim.verify()
        results.append(result)
        if args.format == "text":
            line = (
                f"{result.claim_id:<30} {result.kind:<10} {result.status:<8} {result.method:<8} {result.seconds:6.2f} s"
            )
            if not result.verified:
                line += f"  -- {result.detail}"
            print(line, flush=True)
    if args.format == "json":
        records = [
            {
                "id": r.claim_id,
                "kind": r.kind,
                "statement": r.statement,
                "status": r.status,
                "method": r.method,
                "seconds": round(r.seconds, 4),
                "domain": c.domain,
                "source": c.source,
                "detail": r.detail,
            }
            for c, r in zip(claims, results)
        ]
        print(json.dumps(records, indent=2))
    if args.latex is not None:
        from theory.latex import write_snippets

        try:
            write_snippets(claims, results, args.latex)
        except OSError as err:
            print(f"{parser.prog}: error: --latex: {describe_os_error(err)}", file=sys.stderr)
            return 1
    return 0 if all(r.verified for r in results) else 1


if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, "python -m theory")
