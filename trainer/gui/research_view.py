"""The research view: live time series of head angles, gyro and accelerometer (selectable),
with pause and zoom.

Each group is a plot of three 1 px curves over the last ``window_s`` seconds, drawn as
:class:`~cervitrack.trainer.gui.scene_items.Polyline` items (painted by Qt without Python
calls; the legend shows pyqtgraph sample curves that are not in the scene).
The time axis is "seconds before the newest sample" on a fixed range, so the axes are not
redrawn every frame (redrawing tick labels costs more than the curves). While paused the
buffers keep filling but the plots hold still, and the mouse zooms and pans (wheel, drag);
Resume returns to the live window.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.gui import scene_items, style

GROUPS = {
    "angles": ("Head angles (deg)", ("axial_deg", "flexion_deg", "lateral_deg"),
               ("axial (+ left)", "flexion (+ chin down)", "lateral (+ right)"), (-60.0, 60.0)),
    "gyro": ("Angular rate, sensor frame (deg/s)", ("gyr_x_deg_s", "gyr_y_deg_s", "gyr_z_deg_s"),
             ("x", "y", "z"), (-150.0, 150.0)),
    "acc": ("Specific force, sensor frame (m/s²)", ("acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2"),
            ("x", "y", "z"), (-12.0, 12.0)),
}


class ResearchView(QtWidgets.QWidget):
    def __init__(self, window_s: float = 10.0, parent=None) -> None:
        super().__init__(parent)
        self.window_s = window_s
        self.paused = False
        layout = QtWidgets.QVBoxLayout(self)
        bar = QtWidgets.QHBoxLayout()
        self.checks = {}
        for key, (_title, _, _, _) in GROUPS.items():
            box = QtWidgets.QCheckBox(key)
            box.setChecked(True)
            box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            box.toggled.connect(self._update_visibility)
            bar.addWidget(box)
            self.checks[key] = box
        bar.addWidget(QtWidgets.QLabel("window (s)"))
        self.window_spin = QtWidgets.QDoubleSpinBox()
        self.window_spin.setRange(1.0, 30.0)
        self.window_spin.setValue(window_s)
        self.window_spin.valueChanged.connect(self._set_window)
        bar.addWidget(self.window_spin)
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.pause_button.clicked.connect(self.toggle_pause)
        bar.addWidget(self.pause_button)
        self.hint = QtWidgets.QLabel("")
        self.hint.setStyleSheet("color: #555;")
        bar.addWidget(self.hint, 1)
        layout.addLayout(bar)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, list[pg.PlotDataItem]] = {}
        self._missing: dict[str, bool] = {}
        for key, (title, _channels, names, y_range) in GROUPS.items():
            plot = style.plot_widget(title)
            plot.setYRange(*y_range, padding=0)
            legend = plot.getPlotItem().addLegend(offset=(-5, -5), colCount=3)
            legend.setBrush(pg.mkBrush(255, 255, 255, 200))
            self.curves[key] = []
            legend.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            for colour, name in zip(style.AXIS_COLOURS, names):
                curve = scene_items.Polyline(colour)
                plot.addItem(curve.item)
                legend.addItem(pg.PlotCurveItem(pen=style.pen(colour)), name)
                self.curves[key].append(curve)
            plot.setXRange(-window_s, 0, padding=0)
            plot.getPlotItem().setLabel("bottom", "time before now (s)")
            layout.addWidget(plot, 1)
            self.plots[key] = plot
        for a, b in zip(list(self.plots.values())[1:], list(self.plots.values())[:-1]):
            a.setXLink(b)

    def _set_window(self, value: float) -> None:
        self.window_s = float(value)
        for plot in self.plots.values():
            plot.setXRange(-self.window_s, 0, padding=0)

    def _update_visibility(self) -> None:
        for key, plot in self.plots.items():
            plot.setVisible(self.checks[key].isChecked())

    def set_groups(self, groups) -> None:
        for key, box in self.checks.items():
            box.setChecked(key in groups)

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self.pause_button.setText("Resume" if self.paused else "Pause")
        self.hint.setText("Paused: wheel to zoom, drag to pan." if self.paused else "")
        for key, plot in self.plots.items():
            plot.setMouseEnabled(x=self.paused, y=self.paused)
            if not self.paused:
                plot.setXRange(-self.window_s, 0, padding=0)
                plot.setYRange(*GROUPS[key][3], padding=0)

    def refresh(self, feed, count: int) -> None:
        if self.paused:
            return
        block = feed.ring.latest(feed.samples_for(self.window_s), count)
        idx = feed.ring.index
        t_abs = block[idx["t_s"]]
        if len(t_abs) == 0 or not np.isfinite(t_abs[-1]):
            return
        t = t_abs - t_abs[-1]
        for key, (title, channels, _, _) in GROUPS.items():
            if not self.checks[key].isChecked():
                continue
            for curve, ch in zip(self.curves[key], channels):
                curve.set_data(t, block[idx[ch]])
            missing = bool(np.isnan(block[idx[channels[0]], -1]))
            if missing != self._missing.get(key):
                self._missing[key] = missing
                note = " (not sent by this device)" if key != "angles" else " (after calibration)"
                self.plots[key].setTitle(title + (note if missing else ""))
