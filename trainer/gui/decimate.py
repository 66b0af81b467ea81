"""Peak decimation of a time series for display: at most two points per pixel column.

A 10 s window at 400 Hz is 4 000 samples across ~1 100 pixel columns; drawing all of them
costs the raster engine ~3.6 segments per column that land on the same pixels. Per column the
minimum and the maximum are kept (as an oscilloscope or pyqtgraph's "peak" downsampling does),
so spikes stay visible. Our curves are plain Qt path items (:mod:`.scene_items`), so pyqtgraph's
own downsampling (a PlotDataItem feature) does not apply; this is the same idea in numpy.
"""

from __future__ import annotations

import numpy as np


def peak_decimate(t: np.ndarray, y: np.ndarray, t0: float, t1: float,
                  columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of ``y`` per pixel column of the range [t0, t1].

    Args:
        t: (N,) sample times, non-decreasing (any unit, the same as t0 and t1).
        y: (N,) values; NaN is ignored within a column, and a column of NaN gives NaN (a
            break in the line).
        t0, t1: the visible range of t; samples outside are dropped.
        columns: pixel columns of the plot across [t0, t1].

    Returns:
        (x, y) to draw: two points per non-empty column (x its first sample time, y its min
        then its max), or the visible input unchanged when it has at most two samples per
        column.
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lo, hi = np.searchsorted(t, [t0, t1], side="left")
    hi = np.searchsorted(t, t1, side="right")
    t, y = t[lo:hi], y[lo:hi]
    columns = max(1, int(columns))
    if len(t) <= 2 * columns or not t1 > t0:
        return t, y
    col = np.minimum(((t - t0) * (columns / (t1 - t0))).astype(np.int64), columns - 1)
    starts = np.flatnonzero(np.concatenate([[True], col[1:] != col[:-1]]))
    with np.errstate(invalid="ignore"):
        y_min = np.fmin.reduceat(y, starts)
        y_max = np.fmax.reduceat(y, starts)
    return np.repeat(t[starts], 2), np.column_stack([y_min, y_max]).ravel()
