"""``python -m empirical.train``: train the learned denoiser and save a checkpoint (:mod:`empirical.models.train`)."""
from empirical.models.train import main

if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, prog="python -m empirical.train")
