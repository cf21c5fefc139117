"""``python -m empirical.compress``: compress one sample (:mod:`empirical.codec.compress`)."""
from empirical.codec.compress import main

if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, prog="python -m empirical.compress")
