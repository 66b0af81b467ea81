"""Colours, pens and fonts shared by the views (Qt imported lazily by the callers).

Pens are 1 px wide: thicker pens cost 3-10x more per frame in pyqtgraph
(../shared/reference/ecosystem-and-style.md §5.4).
"""

from __future__ import annotations

BACKGROUND = (250, 250, 250)
FOREGROUND = (40, 40, 40)
CURSOR = (220, 40, 40)
TRAIL = (60, 120, 230)
RING = (150, 150, 150)
RING_THRESHOLD = (230, 140, 20)
TARGET = (20, 150, 60)
TARGET_ON = (250, 200, 0)
VALID = (20, 150, 60)
INVALID = (150, 150, 150)
DIRECTION_COLOURS = {
    "rotation_left": (31, 119, 180),
    "rotation_right": (255, 127, 14),
    "flexion": (44, 160, 44),
    "extension": (214, 39, 40),
    "lateral_left": (148, 103, 189),
    "lateral_right": (140, 86, 75),
}
GROUP_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189))
AXIS_COLOURS = ((214, 39, 40), (44, 160, 44), (31, 119, 180))
SAFETY_TEXT = ("Stop at once on pain, dizziness or nausea. Cervitrack measures and trains; "
               "it does not diagnose.")


def configure_pyqtgraph() -> None:
    """Light background, dark foreground, antialiasing off (cheaper, crisp 1 px lines)."""
    import pyqtgraph as pg

    pg.setConfigOptions(background=BACKGROUND, foreground=FOREGROUND, antialias=False)


def plot_widget(title: str | None = None):
    """A PlotWidget with the mouse and menu off and fixed ranges (set by the caller)."""
    import pyqtgraph as pg

    w = pg.PlotWidget(title=title)
    w.setMenuEnabled(False)
    w.setMouseEnabled(x=False, y=False)
    w.hideButtons()
    w.getPlotItem().disableAutoRange()
    return w


def pen(colour, width: int = 1, style=None):
    import pyqtgraph as pg

    return pg.mkPen(colour, width=width) if style is None else pg.mkPen(colour, width=width, style=style)
