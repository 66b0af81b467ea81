"""Scene items of the wall views, as plain Qt graphics items that Qt paints in C++.

pyqtgraph's PlotCurveItem, ScatterPlotItem, TextItem and InfiniteLine compute their bounds and
paint in Python, and the scene asks every item in the repainted region for its bounds several
times per frame. On the laser wall (a trail redrawn every frame across most of the plot) these
Python calls were most of the frame: with 8 trials' marks, 1.5-2.5 ms of a 2-3 ms frame
(cProfile of 600 frames offscreen; ``bench/gui.py`` measures the frame before and after in
docs/gui.md). The items here have no Python on the paint path:

- :class:`Polyline`: a line through arrays redrawn every frame (the cursor trail, the research
  traces), a ``QGraphicsPathItem`` whose path pyqtgraph's ``arrayToQPath`` builds from the
  arrays (one numpy copy into a ``QPolygonF``);
- :func:`head_cursor`: the head's dot, of fixed size in pixels;
- :func:`marker`: a symbol of fixed size in pixels (relocation marks, the newest-mark ring);
- :func:`label`: text of fixed size in pixels anchored at its bottom-left corner;
- :func:`axis_lines`: the wall's horizontal and vertical lines through the origin.

Pens are cosmetic (1 px whatever the zoom), as everywhere in the views (:mod:`.style`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from cervitrack.trainer.gui import style

IGNORES_TRANSFORMATIONS = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations


class Polyline:
    """A polyline through (x, y) points, NaN breaking the line.

    Args:
        colour: RGB tuple.

    ``item`` is the Qt item to add to a plot; :meth:`set_data` replaces the points (x, y in the
    plot's data units, (N,) arrays each).
    """

    def __init__(self, colour) -> None:
        self.item = QtWidgets.QGraphicsPathItem()
        # Width 0: Qt's cosmetic 1 px line. QGraphicsPathItem's bounds with a pen wider than 0
        # come from stroking the whole path (QPainterPathStroker, ~2 ms for 4 000 points);
        # with width 0 they are the path's control-point rectangle.
        self.item.setPen(style.pen(colour, 0))
        self._x = np.zeros(0)
        self._y = np.zeros(0)

    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"polyline x and y must be equal-length 1-D arrays, got {x.shape} and {y.shape}")
        self._x, self._y = x, y
        finite = bool(np.isfinite(x).all() and np.isfinite(y).all())
        if len(x) < 2 or (not finite and np.isfinite(x + y).sum() < 2):
            self.item.setPath(QtGui.QPainterPath())
            return
        # All-finite data takes the fast path (one QPolygonF); NaN, before the calibration,
        # breaks the line.
        self.item.setPath(pg.arrayToQPath(x, y, connect="all" if finite else "finite",
                                          finiteCheck=not finite))

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        """The points last given (as pyqtgraph's items name it)."""
        return self._x, self._y

    def setVisible(self, visible: bool) -> None:
        self.item.setVisible(visible)

    def isVisible(self) -> bool:
        return self.item.isVisible()


def _symbol_path(symbol: str, size_px: float) -> QtGui.QPainterPath:
    h = size_px / 2.0
    path = QtGui.QPainterPath()
    if symbol == "x":
        path.moveTo(-h, -h)
        path.lineTo(h, h)
        path.moveTo(-h, h)
        path.lineTo(h, -h)
    elif symbol == "o":
        path.addEllipse(-h, -h, size_px, size_px)
    else:
        raise ValueError(f"unknown marker symbol {symbol!r}: use 'x' or 'o'")
    return path


def marker(symbol: str, size_px: float, colour, width_px: int = 1, x: float = 0.0,
           y: float = 0.0, z: float = 0.0, fill=None) -> QtWidgets.QGraphicsPathItem:
    """A marker ("x" or "o") ``size_px`` across, centred on (x, y) in data units; ``fill``:
    an RGB(A) tuple to fill an "o" with (None: not filled)."""
    item = QtWidgets.QGraphicsPathItem(_symbol_path(symbol, size_px))
    item.setFlag(IGNORES_TRANSFORMATIONS)
    item.setPen(style.pen(colour, width_px))
    if fill is not None:
        item.setBrush(QtGui.QColor(*fill))
    item.setPos(float(x), float(y))
    item.setZValue(z)
    return item


def head_cursor(large: bool = False) -> QtWidgets.QGraphicsEllipseItem:
    """The head cursor: a filled dot of fixed size in pixels (11 px radius on the patient
    display, 8 px otherwise), moved with ``setPos``, drawn above everything else."""
    r_px = 11 if large else 8
    item = QtWidgets.QGraphicsEllipseItem(-r_px, -r_px, 2 * r_px, 2 * r_px)
    item.setFlag(IGNORES_TRANSFORMATIONS)
    item.setBrush(QtGui.QColor(*style.CURSOR))
    item.setPen(style.pen((255, 255, 255)))
    item.setZValue(10)
    return item


def label(text: str, colour, x: float = 0.0, y: float = 0.0) -> QtWidgets.QGraphicsSimpleTextItem:
    """Text whose bottom-left corner is at (x, y) in data units, upright at any zoom."""
    item = QtWidgets.QGraphicsSimpleTextItem(text)
    item.setFlag(IGNORES_TRANSFORMATIONS)
    item.setBrush(QtGui.QColor(*colour))
    item.setTransform(QtGui.QTransform.fromTranslate(0.0, -item.boundingRect().height()))
    item.setPos(float(x), float(y))
    return item


def axis_lines(half: float, colour) -> list[QtWidgets.QGraphicsLineItem]:
    """The lines x = 0 and y = 0, from -half to +half (data units)."""
    items = [QtWidgets.QGraphicsLineItem(0.0, -half, 0.0, half),
             QtWidgets.QGraphicsLineItem(-half, 0.0, half, 0.0)]
    for it in items:
        it.setPen(style.pen(colour))
    return items
