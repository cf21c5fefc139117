"""Numerical closed forms for Gaussian sources ``N(0, Sigma)`` (numpy only).

Data flow: ``spectrum -> components -> curves -> table | figures``. The
command-line tool is ``python -m gaussian.rd``. ``theory/`` holds the symbolic
source of truth that these functions are tested against.
"""
