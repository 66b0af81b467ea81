"""The results view: per-direction table, scatter of the relocation errors, trend over trials.

For the other tests the table lists the engine's scores per level or pattern and the trend
shows the run's main outcome (tracking accuracy, departures from the band, range held).

Scores are the engine's (:mod:`cervitrack.trainer.clinical.scoring`): AE, CE (positive = overshoot),
VE (n denominator), RMSE and the mean global (3D) error, in degrees, per direction, flagged
above the screening threshold (4.5° by default, Revel et al. 1994). A flag is a screening
aid, not a diagnosis.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.clinical import scoring
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
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS) + 2)
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
        self.threshold_line = pg.InfiniteLine(threshold_deg, angle=0, pen=style.pen(style.RING_THRESHOLD))
        self.trend_plot.addItem(self.threshold_line)
        self.legend = ti.addLegend(offset=(-5, 5))
        self.trend_curves: dict[str, pg.PlotDataItem] = {}
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
        for curve in self.trend_curves.values():
            self.trend_plot.removeItem(curve)
        self.trend_curves = {}
        self.legend.clear()

    def _fill_table(self, scores: dict, kind: str | None = None) -> None:
        """Rows: directions (or levels, patterns); columns: the scores' numeric keys, the
        JPE scores in their usual order first."""
        keys = [k for k, _, _ in COLUMNS if any(k in sc for sc in scores.values())]
        for sc in scores.values():
            keys += [k for k, v in sc.items() if k not in keys and k != "n" and not isinstance(v, (dict, list, str, bool))
                     and v is not None]
        labels = {k: label for k, label, _ in COLUMNS}
        self.table.setColumnCount(len(keys) + 2)
        self.table.setHorizontalHeaderLabels(
            [{"butterfly": "level", "trace": "pattern"}.get(kind or "", "direction")] + [labels.get(k, k.replace("_pct", " %").replace("_deg_s", " deg·s")
                               .replace("_deg", " (deg)").replace("_s", " (s)").replace("_", " "))
                    for k in keys] + ["flag"])
        self.table.setRowCount(len(scores))
        fmts = {k: fmt for k, _, fmt in COLUMNS}
        for row, (name, sc) in enumerate(scores.items()):
            self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(name.replace("_", " ")))
            for col, key in enumerate(keys, start=1):
                value = sc.get(key)
                fmt = fmts.get(key, "{:d}" if isinstance(value, int) else "{:.2f}")
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(_fmt(fmt, value)))
            flagged = sc.get("flag")
            self.table.setItem(row, len(keys) + 1, QtWidgets.QTableWidgetItem(
                f"above {self.threshold_deg:g}°" if flagged else ""))
        self.table.setMinimumHeight(self.table.horizontalHeader().height() + 4
                                    + self.table.verticalHeader().length())

    def show_state(self, state: dict) -> None:
        """Fill the table and plots from a test snapshot (the feed's ``state``)."""
        trials = state.get("trials", ())
        if len(trials) == self._shown_trials:
            return
        self._shown_trials = len(trials)
        test = state.get("test") or "–"
        valid = [t for t in trials if t.get("valid")]
        self.title.setText(f"Results: {test} · {len(valid)} valid "
                           f"{'trials' if state.get('kind') in ('jpe', 'thp', None) else 'runs'}"
                           + (" (finished)" if state.get("done") else ""))
        self._fill_table(state.get("scores") or {}, state.get("kind"))
        located = [t for t in valid if "error_deg" in t]
        self.scatter_plot.setVisible(bool(located) or not valid)
        if located:
            x = [t["error_deg"]["axial"] for t in located]
            y = [t["error_deg"]["flexion"] for t in located]
            brushes = [pg.mkBrush(style.DIRECTION_COLOURS.get(t.get("direction"), style.VALID)) for t in located]
            self.scatter.setData(x, y, brush=brushes, pen=None)
        else:
            self.scatter.setData([], [])
        outcome, label, threshold = trend_outcome(valid)
        self.trend_plot.setTitle(f"{label} per {'trial' if located else 'run'}")
        self.trend_plot.getPlotItem().setLabel("left", label)
        self.threshold_line.setVisible(threshold)
        by_group: dict[str, tuple[list, list]] = {}
        for i, t in enumerate(valid, start=1):
            value = outcome(t)
            if value is None:
                continue
            group = t.get("direction") or t.get("level") or t.get("pattern") or "all"
            xs, ys = by_group.setdefault(group, ([], []))
            xs.append(i)
            ys.append(value)
        for group, (xs, ys) in by_group.items():
            curve = self.trend_curves.get(group)
            if curve is None:
                colour = style.DIRECTION_COLOURS.get(group) or style.GROUP_COLOURS[len(self.trend_curves) % len(style.GROUP_COLOURS)]
                curve = self.trend_plot.plot(pen=style.pen(colour), symbol="o", symbolSize=6,
                                             symbolBrush=colour, name=group.replace("_", " "))
                self.trend_curves[group] = curve
            curve.setData(xs, ys)
        top = max([max(ys) for _, ys in by_group.values()] + [self.threshold_deg * 1.5 if threshold else 1.0])
        self.trend_plot.setXRange(0, max(len(valid), 1) + 1)
        self.trend_plot.setYRange(0, top * 1.1)


def trend_outcome(trials):
    """(trial → value, label, whether the JPE threshold applies) for the trend plot."""
    if any("signed_error_deg" in t for t in trials):
        return (lambda t: abs(t["signed_error_deg"]) if "signed_error_deg" in t else None,
                "|error| (deg)", True)
    for key, label in (("aa_deg", "tracking accuracy AA (deg)"), ("error_count", "departures from the band"),
                       ("held_deg", "range held (deg)"), ("max_deg", "maximum (deg)")):
        if any(key in t for t in trials):
            return (lambda t, key=key: t.get(key), label, False)
    return (lambda t: None, "outcome", False)
