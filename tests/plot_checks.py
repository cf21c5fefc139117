"""Checks of drawn matplotlib figures shared by the plotting tests: no legend covers plotted data."""
from __future__ import annotations

import numpy as np

#: Spacing in pixels of the points checked along a drawn line between its data points.
STEP_PX = 2.0


def _drawn_points(ax, artist_xy, transform, connected: bool) -> np.ndarray:
    """Display coordinates of the data (and, for ``connected`` lines, of their segments) inside ``ax``."""
    xy = np.asarray(artist_xy, dtype=float).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if xy.size == 0:
        return np.empty((0, 2))
    disp = transform.transform(xy)
    if connected and len(disp) > 1:
        pieces = [disp[-1:]]
        for a, b in zip(disp[:-1], disp[1:]):
            t = np.arange(0.0, 1.0, STEP_PX / max(float(np.hypot(*(b - a))), STEP_PX))[:, None]
            pieces.append(a * (1 - t) + b * t)
        disp = np.concatenate(pieces)
    return disp[_inside(ax.get_window_extent(), disp)]


def _inside(box, pts: np.ndarray) -> np.ndarray:
    """Which display points ``pts [n, 2]`` lie in the bounding box ``box`` (edges included)."""
    return (pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)


def data_under_legends(fig) -> list:
    """``[(legend title or first label, artist label, number of points)]`` of every line, marker and error bar of
    ``fig`` that is drawn under one of its legends (axes legends and figure legends), in display coordinates."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection

    if not isinstance(fig.canvas, FigureCanvasAgg):  # a figure closed by pyplot has a bare canvas
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    boxes = [(leg, leg.get_window_extent(renderer)) for leg in legends]
    found = []
    for ax in fig.axes:
        drawn = []
        for line in ax.get_lines():
            if line.get_visible():
                connected = line.get_linestyle() not in ("None", "none", "", " ")
                drawn.append((line.get_label(), _drawn_points(ax, line.get_xydata(), line.get_transform(), connected)))
        for coll in ax.collections:
            if isinstance(coll, LineCollection) and coll.get_visible():
                for seg in coll.get_segments():
                    drawn.append((coll.get_label(), _drawn_points(ax, seg, coll.get_transform(), True)))
        for label, pts in drawn:
            for leg, box in boxes:
                n = int(np.sum(_inside(box, pts)))
                if n:
                    texts = [t.get_text() for t in leg.get_texts()]
                    found.append((leg.get_title().get_text() or (texts[0] if texts else ""), label, n))
    return found
