"""The empirical side of the DiffC toolkit: data, models, reverse channel coding, bitstream, codec.

Submodules are imported on demand (``from empirical import rcc``); importing
this package imports nothing heavy.
"""
