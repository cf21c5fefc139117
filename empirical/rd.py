"""``python -m empirical.rd``: measured rate-distortion next to the closed forms (:mod:`empirical.measure.rd`)."""
from empirical.measure.rd import main

if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, prog="python -m empirical.rd")
