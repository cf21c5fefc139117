"""One plotting style for every plot of the toolkit: scheme names, colours, line styles, markers and rcParams.

``python -m gaussian.rd --plot``, ``python -m empirical.rd --plot``, ``python -m empirical.images --plot``
and ``python -m figures`` all draw with these. Importing this module imports nothing (no numpy, no
matplotlib); :func:`pyplot`, :func:`legend_handles` and :func:`sequence_colours` import matplotlib when
they are called, so ``python -m gaussian.rd`` without ``--plot`` stays light.

The scheme names are those of the scheme table of ``docs/gaussian.md`` (a test compares them). Colour
tells the scheme (or the decoder that attains it); for measured points the marker tells what the rate
axis counts (:data:`MARKERS`).
"""
from __future__ import annotations

#: The schemes of ``gaussian.curves.SCHEMES`` -> their name in every legend.
SCHEME_LABELS = {
    "rd": "MSE rate–distortion function $R(D)$",
    "rdp": "perfect-realism RD (shared randomness)",
    "diffc_a": "DiffC-A (posterior sample)",
    "diffc_f": "DiffC-F (probability flow)",
    "mmse": "posterior mean",
    "diffc_f_allocated": "DiffC-F, allocated noise",
}
#: Scheme -> line keywords (``color``, ``ls``, ``lw``) of its closed-form curve.
SCHEME_STYLES = {
    "rd": dict(color="black", ls="-"),
    "rdp": dict(color="tab:purple", ls="-"),
    "diffc_a": dict(color="tab:red", ls="-"),
    "diffc_f": dict(color="tab:blue", ls="-"),
    "mmse": dict(color="tab:gray", ls="--"),
    "diffc_f_allocated": dict(color="tab:purple", ls=(0, (1, 2)), lw=2.4),
}

#: Decoders of the real codec (``empirical.measure.sweep.METHODS``) -> the scheme whose name, colour and line
#: they take.
METHOD_SCHEMES = {"flow": "diffc_f", "ancestral": "diffc_a", "mmse": "mmse"}
METHOD_LABELS = {m: SCHEME_LABELS[s] for m, s in METHOD_SCHEMES.items()}
METHOD_COLOURS = {m: SCHEME_STYLES[s]["color"] for m, s in METHOD_SCHEMES.items()}

#: Standard codecs and baselines beside DiffC (``empirical.images``; ``ddcm``: ``empirical.codec.ddcm``) -> name
#: and line keywords.
BASELINE_LABELS = {"jpeg": "JPEG", "webp": "WebP", "ddcm": "DDCM (posterior mean)"}
BASELINE_STYLES = {"jpeg": dict(color="tab:orange", ls="-"), "webp": dict(color="tab:green", ls="-"),
                   "ddcm": dict(color="tab:brown", ls="-")}

#: What a measured point's rate coordinate is -> marker keywords (the colour is the decoder's).
MARKERS = {
    "kl": dict(marker="o", ls="none", ms=4.5),                   # filled: at the realised sum of the chain's KLs
    "payload": dict(marker="o", ls="none", ms=5.5, mfc="none"),  # open: at the bits written, header excluded
    "closed_form": dict(marker="x", ls="none", ms=8, mew=1.5),   # the closed form at the stopping log-SNR
}
MARKER_LABELS = {
    "kl": r"measured at the realised $\Sigma$KL (95% CI)",
    "payload": "measured at the coded bits (no header)",
    "closed_form": "closed form at the stopping log-SNR",
}

#: Labels with mathematics (mathtext), shared by the plots that show them.
HIGH_RATE_GAP_LABEL = r"$10\,\log_{10} 2 = 3.0103$ dB"
GAP_A_OVER_F_LABEL = r"$10\,\log_{10}(D_A / D_F)$ (dB)"
RATE_LABEL = "rate (bits per dimension)"

RC_PARAMS = {
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend with :data:`RC_PARAMS` applied (imports matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(RC_PARAMS)
    return plt


def sequence_colours(n: int) -> list:
    """``n`` colours along viridis, for curves that differ in a parameter (spectrum, snr, budget), never a scheme's
    colour: RGBA tuples (imports matplotlib)."""
    from matplotlib import colormaps

    return [tuple(c) for c in colormaps["viridis"]([0.85 * i / max(n - 1, 1) for i in range(n)])]


def scheme_line(scheme: str) -> dict:
    """Keywords of ``scheme``'s curve for ``ax.plot``: its :data:`SCHEME_LABELS` label and :data:`SCHEME_STYLES`."""
    return dict(label=SCHEME_LABELS[scheme], **SCHEME_STYLES[scheme])


def method_line(method: str) -> dict:
    """Keywords of a decoder's or baseline codec's curve for ``ax.plot``: label, colour and line style."""
    if method in BASELINE_LABELS:
        return dict(label=BASELINE_LABELS[method], **BASELINE_STYLES[method])
    return scheme_line(METHOD_SCHEMES[method])


def legend_handles(methods=(), markers=()):
    """Legend entries without data: one line per decoder in ``methods`` (its colour and line), then one black
    marker per kind in ``markers`` (keys of :data:`MARKERS`); returns ``(handles, labels)``."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], **method_line(m)) for m in methods]
    handles += [Line2D([], [], color="black", label=MARKER_LABELS[k], **MARKERS[k]) for k in markers]
    return handles, [h.get_label() for h in handles]


def legend_below(fig, handles, labels, ncol: int, **kwargs):
    """One legend under all axes of ``fig`` (which needs ``layout="constrained"``), where it covers no data."""
    return fig.legend(handles, labels, loc="outside lower center", ncol=ncol, **kwargs)
