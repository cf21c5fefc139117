"""Write ``empirical/data/rcc_index_tables.npz``: the integer bucket weights of the RCC index model.

One uint64 array per accepted ``(budget_bits, padding_bits)`` (key ``b{budget}p{padding}``):
``floor(P 2^32) + 1`` of the bucket probabilities of ``empirical.rcc.index_coding.index_model_probabilities``.
Storing the integers keeps the segment parse free of floats computed on the decoder's machine.

    python scripts/make_rcc_index_tables.py [--out PATH]
"""
from __future__ import annotations

import argparse
import io
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from empirical.rcc import index_coding  # noqa: E402
from gaussian._io import write_bytes_atomic  # noqa: E402


def tables():
    """``{key: uint64 weights}`` for every accepted parameter pair."""
    return {index_coding.table_key(b, p): index_coding.computed_index_model_weights(b, p).astype(np.uint64)
            for b, p in index_coding.valid_parameters()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "empirical" / "data" / index_coding.TABLES_FILE))
    args = parser.parse_args(argv)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **tables())
    write_bytes_atomic(args.out, buffer.getvalue())
    print(f"wrote {args.out} ({len(buffer.getvalue())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
