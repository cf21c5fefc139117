"""Measurements of the real codec: rate-distortion sweeps, comparisons with the closed forms, ``python -m empirical.rd``.

::

    sweep.SweepSpec  --sweep.measure (encode to bytes, decode every prefix, reconstruct)-->  [MeasuredPoint]
    [MeasuredPoint], eigvals  --compare.compare (vs gaussian.curves / components)-->  Report
    rd: the command line around both (table, CSV, JSON, plot)
    plot: a report's JSON drawn in the toolkit's plotting style (rd --plot, the measured figures)

Importing this package imports nothing; ``sweep`` and ``compare`` import NumPy
(the codec and the models when a sweep is built).
"""
