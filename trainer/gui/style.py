"""Colours, pens and fonts shared by the views (Qt imported lazily by the callers).

Pens are 1 px wide: thicker pens cost 3-10x more per frame in pyqtgraph
(pyqtgraph's performance documentation).
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


def simulated_banner(text: str, name: str, font_px: int):
    """The red SIMULATED banner (hidden until the simulator is the device)."""
    from PySide6 import QtCore, QtWidgets

    banner = QtWidgets.QLabel(text)
    banner.setObjectName(name)
    banner.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    banner.setStyleSheet(f"background: #b00000; color: white; font-weight: bold; font-size: {font_px}px; "
                         "padding: 4px;")
    banner.setVisible(False)
    return banner


def plot_widget(title: str | None = None):
    """A PlotWidget with the mouse and menu off and fixed ranges (set by the caller)."""
    import pyqtgraph as pg

    w = pg.PlotWidget(title=title)
    w.setMenuEnabled(False)
    w.setMouseEnabled(x=False, y=False)
    w.hideButtons()
    w.getPlotItem().disableAutoRange()
    return w


def wall_header_and_plot(large: bool, unit: str):
    """The prompt label, info label and wall plot shared by the laser-wall views.

    Args:
        large: the patient-facing display (bigger text, no axes).
        unit: axis unit shown to the therapist, "cm" or "degrees".

    Returns:
        (prompt QLabel, info QLabel, PlotWidget with locked aspect and labelled axes).
    """
    from PySide6 import QtCore, QtWidgets

    prompt = QtWidgets.QLabel("Press Start to begin.")
    prompt.setWordWrap(True)
    prompt.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    size = 34 if large else 20
    prompt.setStyleSheet(f"font-size: {size}px; font-weight: bold; padding: 4px;")
    # Room for two lines: a long prompt wraps instead of being cut off.
    prompt.setMinimumHeight(int(2.6 * size) + 8)
    info = QtWidgets.QLabel("")
    info.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    info.setStyleSheet(f"font-size: {22 if large else 14}px;")
    plot = plot_widget()
    plot.setAspectLocked(True)
    item = plot.getPlotItem()
    item.setLabel("bottom", f"← patient's left · {unit} · patient's right →")
    item.setLabel("left", f"down · {unit} · up")
    if large:
        item.hideAxis("bottom")
        item.hideAxis("left")
    return prompt, info, plot


def pen(colour, width: int = 1, style=None):
    import pyqtgraph as pg

    return pg.mkPen(colour, width=width) if style is None else pg.mkPen(colour, width=width, style=style)
