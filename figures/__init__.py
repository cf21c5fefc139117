"""Figures of the toolkit: one module ``fig_<name>.py`` per figure, each with ``make(out_dir, quick=False)``.

``python -m figures`` regenerates all of them (headless, matplotlib's Agg).
Each figure writes the numbers it plots as JSON next to the PNG and draws
from that JSON, so the data behind every plot can be read without it.
"""
