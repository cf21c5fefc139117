"""The empirical side of the DiffC toolkit: data, models, reverse channel coding, codec, measurements.

Data flows one way, each stage importing only the ones before it::

    data.py     seeded sources (Gaussian with a spectrum, mixtures, digits, patches)
      |  x
      v
    models/     what predicts x from z: the Denoiser interface, the Gaussian and mixture oracles,
      |         the learned torch net and its training (python -m empirical.train)
      v
    codec/      x -> bytes -> x_hat: the chain of steps, the receivers (DiffC-F, DiffC-A),
      |         python -m empirical.compress / .decompress
      |    rcc/     one step's reverse channel coding and the stream container (python -m empirical.rcc_bench);
      |             it needs neither models nor codec
      v
    measure/    sweeps of real bytes, comparisons with the closed forms of gaussian/ (python -m empirical.rd)

``_errors`` (argument checks, ``BitstreamError``) and ``_cli`` (the helpers of
every command line) are shared by all stages. ``compress``, ``decompress``,
``train``, ``rd`` and ``rcc_bench`` at this level are only the ``python -m``
entry points. Submodules are imported on demand (``from empirical import rcc``);
importing this package imports nothing heavy.
"""


def __getattr__(name):
    """``__version__``: the installed distribution's version, looked up on first use (keeps the import light)."""
    if name == "__version__":
        from gaussian._io import package_version

        return package_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
