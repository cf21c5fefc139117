"""``python -m empirical.decompress``: decode a stream and reconstruct the sample (:mod:`empirical.codec.decompress`)."""
from empirical.codec.decompress import main

if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, prog="python -m empirical.decompress")
