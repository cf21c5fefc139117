"""``python -m empirical.rcc_bench``: the reverse-channel-coding benchmark (``empirical.rcc.bench``)."""
from empirical.rcc.bench import main

if __name__ == "__main__":
    from gaussian._io import run_cli

    run_cli(main, "python -m empirical.rcc_bench")
