"""``python -m empirical.images``: evaluate DiffC on a folder of photographs (:mod:`empirical.images.evaluate`)."""
from empirical.images.evaluate import main

if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, prog="python -m empirical.images")
