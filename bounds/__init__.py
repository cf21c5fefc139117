"""Results for general (non-Gaussian) sources under the DiffC Gaussian channel.

Modules (numpy/scipy only; nothing heavy is imported here):

- ``sources``: Gaussian, GaussianMixture, Laplace, Uniform, Discrete (PAM, binary)
  and ``Product`` sources with numerically exact ``I(X;Z)``, ``mmse(snr)``,
  posteriors and the exact probability-flow map;
- ``immse``: the I-MMSE identities and the Gaussian bounds at a given SNR;
- ``decoders``: DiffC-A (``2 mmse``) and DiffC-F distortions, Monte Carlo decoders;
- ``shannon_lower``: Shannon lower bound, Gaussian upper bound, Blau-Michaeli;
- ``high_rate``: ``snr -> inf`` forms and the exact-vs-asymptotic comparison;
- ``rcc_cost``: channel-simulation cost bounds (bits) and exact index costs;
- ``report`` and ``python -m bounds``: everything side by side.
"""


def __getattr__(name):
    """``__version__``: the installed distribution's version, looked up on first use (keeps the import light)."""
    if name == "__version__":
        from gaussian._io import package_version

        return package_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

