"""The results view: per-direction table, scatter of the relocation errors, trend over trials.

Scores are the engine's (:mod:`cervitrack.trainer.scoring`): AE, CE (positive = overshoot),
VE (n denominator), RMSE and the mean global (3D) error, in degrees, per direction, flagged
above the screening threshold (4.5° by default, Revel et al. 1994). A flag is a screening
aid, not a diagnosis.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from cervitrack.trainer import scoring
from cervitrack.trainer.gui import style

COLUMNS = (("n", "n", "{:d}"), ("ae_deg", "AE", "{:.2f}"), ("ce_deg", "CE", "{:+.2f}"),
           ("ve_deg", "VE", "{:.2f}"), ("rmse_deg", "RMSE", "{:.2f}"),
           ("global_ae_deg", "3D AE", "{:.2f}"))


def _fmt(fmt: str, value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return fmt.format(value)


class ResultsView(QtWidgets.QWidget):
    def __init__(self, threshold_deg: float = scoring.THRESHOLD_DEFAULT_DEG, parent=None) -> None:
        super().__init__(parent)
        self.threshold_deg = threshold_deg
        self._shown_trials = -1
        layout = QtWidgets.QVBoxLayout(self)
        self.title = QtWidgets.QLabel("Results")
        self.title.setStyleSheet("font-size: 18px; font-weight: bold;")
        layout.addWidget(self.title)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS) + 1)
        self.table.setHorizontalHeaderLabels(["direction"] + [c[1] for c in COLUMNS] + ["flag"])
        self.table.setColumnCount(len(COLUMNS) + 2)
        self.table.setHorizontalHeaderLabels(["direction"] + [c[1] for c in COLUMNS] + ["flag"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.table)
        plots = QtWidgets.QHBoxLayout()
        self.scatter_plot = style.plot_widget("Relocation errors (deg)")
        self.scatter_plot.setAspectLocked(True)
        si = self.scatter_plot.getPlotItem()
        si.setLabel("bottom", "axial error, + = left (deg)")
        si.setLabel("left", "flexion error, + = chin down (deg)")
        self.scatter_plot.setXRange(-10, 10)
        self.scatter_plot.setYRange(-10, 10)
        r = threshold_deg
        circle = QtWidgets.QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
        circle.setPen(style.pen(style.RING_THRESHOLD))
        self.scatter_plot.addItem(circle)
        self.scatter = pg.ScatterPlotItem(size=9)
        self.scatter_plot.addItem(self.scatter)
        self.trend_plot = style.plot_widget("Absolute error per trial (deg)")
        ti = self.trend_plot.getPlotItem()
        ti.setLabel("bottom", "trial")
        ti.setLabel("left", "|error| (deg)")
        self.trend_plot.addItem(pg.InfiniteLine(threshold_deg, angle=0, pen=style.pen(style.RING_THRESHOLD)))
        self.legend = ti.addLegend(offset=(-5, 5))
        self.trend_curves = {}
        plots.addWidget(self.scatter_plot, 1)
        plots.addWidget(self.trend_plot, 1)
        layout.addLayout(plots, 1)
        source = scoring.THRESHOLD_SOURCES.get(threshold_deg, "configured")
        self.note = QtWidgets.QLabel(
            f"Degrees. CE > 0 overshoot, < 0 undershoot; VE uses the n denominator. Orange: the "
            f"{threshold_deg:g}° threshold ({source}). A flag is a screening aid, not a diagnosis.")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        layout.addWidget(self.note)

    def reset(self) -> None:
        self._shown_trials = -1

    def show_state(self, state: dict) -> None:
        """Fill the table and plots from a test snapshot (the feed's ``state``)."""
        trials = state.get("trials", ())
        if len(trials) == self._shown_trials:
            return
        self._shown_trials = len(trials)
        test = state.get("test") or "–"
        valid = [t for t in trials if t.get("valid") and "error_deg" in t]
        self.title.setText(f"Results: {test} · {len(valid)} valid trials"
                           + (" (finished)" if state.get("done") else ""))
        scores = state.get("scores") or {}
        self.table.setRowCount(len(scores))
        for row, (direction, sc) in enumerate(scores.items()):
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(direction.replace("_", " ")))
            for col, (key, _, fmt) in enumerate(COLUMNS, start=1):
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(_fmt(fmt, sc.get(key))))
            flagged = sc.get("flag")
            self.table.setItem(row, len(COLUMNS) + 1, QtWidgets.QTableWidgetItem(
                f"above {self.threshold_deg:g}°" if flagged else ""))
        self.table.setMinimumHeight(self.table.horizontalHeader().height() + 4
                                    + self.table.verticalHeader().length())
        if valid:
            x = [t["error_deg"]["axial"] for t in valid]
            y = [t["error_deg"]["flexion"] for t in valid]
            brushes = [pg.mkBrush(style.DIRECTION_COLOURS.get(t["direction"], style.VALID)) for t in valid]
            self.scatter.setData(x, y, brush=brushes, pen=None)
        else:
            self.scatter.setData([], [])
        by_dir: dict[str, tuple[list, list]] = {}
        for i, t in enumerate(valid, start=1):
            xs, ys = by_dir.setdefault(t["direction"], ([], []))
            xs.append(i)
            ys.append(abs(t["signed_error_deg"]))
        for direction, (xs, ys) in by_dir.items():
            curve = self.trend_curves.get(direction)
            if curve is None:
                colour = style.DIRECTION_COLOURS.get(direction, style.VALID)
                curve = self.trend_plot.plot(pen=style.pen(colour), symbol="o", symbolSize=6,
                                             symbolBrush=colour, name=direction.replace("_", " "))
                self.trend_curves[direction] = curve
            curve.setData(xs, ys)
        top = max([max(ys) for _, ys in by_dir.values()] + [self.threshold_deg * 1.5])
        self.trend_plot.setXRange(0, max(len(valid), 1) + 1)
        self.trend_plot.setYRange(0, top * 1.1)
