"""Verify the claims of the DiffC symbolic ledger: one line per claim (id, kind, status, method, seconds).

Exits 0 if every selected claim verifies, 1 if any fails, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
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
    return parser


def main(argv=None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    import theory  # after parsing, so --help stays fast

    known = [c.id for c in theory.CLAIMS]
    for claim_id in args.only or []:
        if claim_id not in known:
            parser.error(f"argument --only: unknown claim id {claim_id!r} (known: {', '.join(known)})")
    if args.latex is not None and os.path.exists(args.latex) and not os.path.isdir(args.latex):
        parser.error(f"argument --latex: {args.latex!r} exists and is not a directory")
    claims = [theory.get_claim(i) for i in args.only] if args.only else list(theory.CLAIMS)
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
        except OSError as error:
            parser.error(f"argument --latex: cannot write to {args.latex!r}: {error.strerror}")
    return 0 if all(r.verified for r in results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
