"""The results view: per-direction table with an overall row, scatter of the relocation
errors, trend over trials, and the count of redone and invalid trials with their reasons.

For the other tests the table lists the engine's scores per level or pattern and the trend
shows the run's main outcome (tracking accuracy, departures from the band, range held).

Scores are the engine's (:mod:`cervitrack.trainer.clinical.scoring`): AE, CE (positive = overshoot),
VE (n denominator), RMSE and the mean global (3D) error, in degrees, per direction, flagged
above the screening threshold (4.5° by default, Revel et al. 1994). A flag is a screening
aid, not a diagnosis.

The scatter is drawn as the wall and the report show it: x positive to the patient's right,
y positive up (an extension error, head up, is above the centre).

AE cells of JPE tests are coloured against cited cut-points (:data:`AE_BANDS`): green below
3.5° (the sensitive cut-point, Clin J Sport Med 2024, PMID 38953712), amber from 3.5° to 4.5°,
red above 4.5° (Revel et al. 1994, Arch Phys Med Rehabil 75:895-899).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from cervitrack.signal import kinematics
from cervitrack.trainer.clinical import scoring
from cervitrack.trainer.clinical.names import display_name
from cervitrack.trainer.gui import style

#: AE colour bands for JPE and THP: (upper bound deg, colour, meaning); the bounds are the
#: published cut-points of :mod:`cervitrack.trainer.clinical.scoring`.
AE_BANDS = ((scoring.THRESHOLD_SENSITIVE_DEG, "#c8f0c8", "below the sensitive cut-point"),
            (scoring.THRESHOLD_DEFAULT_DEG, "#ffe2a8", "between the cut-points"),
            (float("inf"), "#ffc4c4", "above the screening threshold"))
#: The footnote per test kind.
FOOTNOTES = {
    "jpe": ("Degrees. CE > 0 overshoot, < 0 undershoot; VE uses the n denominator. AE colours: green "
            "< {sens:g}° ({sens_src}), amber {sens:g}–{thr:g}°, red > {thr:g}° ({thr_src}). "
            "A flag is a screening aid, not a diagnosis."),
    "thp": ("Degrees. CE > 0 past the target, < 0 short of it; VE uses the n denominator. AE colours: "
            "green < {sens:g}° ({sens_src}), amber {sens:g}–{thr:g}°, red > {thr:g}° ({thr_src}). "
            "A flag is a screening aid, not a diagnosis."),
    "rom": ("Degrees: the largest active range reached per direction. No published age-matched "
            "norm is applied here: compare with the patient's own earlier sessions."),
    "butterfly": ("Tracking accuracy: AA is the mean distance between the head and the moving target "
                  "(deg); time on target, undershoot and overshoot in % of the run. No cut-off is "
                  "applied; compare with the patient's own earlier sessions."),
    "trace": ("Tracing: time per pattern (s) and departures from the band (count and size). Cut-offs "
              "for the physical laser test exist (Ernst et al. 2019, Musculoskelet Sci Pract 43:64) "
              "but this emulation is not validated against them."),
    "calibration": "Calibration only: no test results.",
}


def scatter_position_deg(error_deg: dict) -> tuple[float, float]:
    """Where a relocation error is drawn on the results scatter, deg: (x positive to the
    patient's right, y positive up), the visual angles of the laser point as on the wall
    (:func:`cervitrack.trainer.gui.wall_view.mark_position_cm`) and in the report."""
    q = kinematics.pose_from_angles_deg(error_deg["axial"], error_deg["flexion"], error_deg["lateral"])
    p = kinematics.laser_point(q, 90.0)
    return -float(p["x_deg"]), float(p["y_deg"])


def ae_colour(ae_deg) -> str | None:
    """The background colour of an AE cell (:data:`AE_BANDS`), None when not a number."""
    if ae_deg is None or not np.isfinite(ae_deg):
        return None
    return next(colour for bound, colour, _ in AE_BANDS if ae_deg <= bound)


def invalid_summary(trials) -> str:
    """"2 trials redone (moved too little ×2)" or "" when every trial was valid."""
    bad = [t for t in trials if not t.get("valid")]
    if not bad:
        return ""
    reasons: dict[str, int] = {}
    for t in bad:
        r = str(t.get("reason") or "no reason given")
        reasons[r] = reasons.get(r, 0) + 1
    text = ", ".join(f"{r} ×{n}" if n > 1 else r for r, n in reasons.items())
    return f"{len(bad)} invalid trial{'s' if len(bad) > 1 else ''} redone or dropped ({text})"

COLUMNS = (("n", "n", "{:d}"), ("ae_deg", "AE", "{:.2f}"), ("ce_deg", "CE", "{:+.2f}"),
           ("ve_deg", "VE", "{:.2f}"), ("rmse_deg", "RMSE", "{:.2f}"),
           ("global_ae_deg", "3D AE", "{:.2f}"))


def _fmt(fmt: str, value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return fmt.format(value)


#: The Results page before the first test of this window.
EMPTY_TEXT = "Results: no test yet. Run a test: its results appear here trial by trial."


class ResultsView(QtWidgets.QWidget):
    def __init__(self, threshold_deg: float = scoring.THRESHOLD_DEFAULT_DEG, parent=None) -> None:
        super().__init__(parent)
        self.threshold_deg = threshold_deg
        self._shown_trials = -1
        layout = QtWidgets.QVBoxLayout(self)
        self.title = QtWidgets.QLabel("Results")
        self.title.setObjectName("results_title")
        self.title.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.invalid_label = QtWidgets.QLabel("")
        self.invalid_label.setObjectName("results_invalid")
        self.invalid_label.setWordWrap(True)
        layout.addWidget(self.invalid_label)
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
        si.setLabel("bottom", "horizontal error, + = patient's right (deg)")
        si.setLabel("left", "vertical error, + = up (deg)")
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
        self.note = QtWidgets.QLabel(self.footnote("jpe"))
        self.note.setObjectName("results_note")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        layout.addWidget(self.note)
        self._empty = True
        self.title.setText(EMPTY_TEXT)
        for w in self._result_widgets():
            w.setVisible(False)

    def _result_widgets(self):
        return (self.table, self.scatter_plot, self.trend_plot, self.note)

    def footnote(self, kind: str | None) -> str:
        text = FOOTNOTES.get(kind or "jpe", FOOTNOTES["jpe"])
        sens = scoring.THRESHOLD_SENSITIVE_DEG
        return text.format(sens=sens, sens_src=scoring.THRESHOLD_SOURCES[sens], thr=self.threshold_deg,
                           thr_src=scoring.THRESHOLD_SOURCES.get(self.threshold_deg, "configured"))

    def reset(self) -> None:
        self._shown_trials = -1
        self._shown_done: str | None = None
        for curve in self.trend_curves.values():
            self.trend_plot.removeItem(curve)
        self.trend_curves = {}
        self.legend.clear()

    def _fill_table(self, scores: dict, kind: str | None = None, trials=()) -> None:
        """Rows: directions (or levels, patterns), then the overall row; columns: the scores'
        numeric keys, the JPE scores in their usual order first."""
        scores = dict(scores)
        overall = overall_row(scores, kind, trials, self.threshold_deg)
        if overall:
            scores["overall"] = overall
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
            head = QtWidgets.QTableWidgetItem(name.replace("_", " "))
            if name == "overall":
                font = head.font()
                font.setBold(True)
                head.setFont(font)
            self.table.setItem(row, 0, head)
            for col, key in enumerate(keys, start=1):
                value = sc.get(key)
                fmt = fmts.get(key, "{:d}" if isinstance(value, int) else "{:.2f}")
                item = QtWidgets.QTableWidgetItem(_fmt(fmt, value))
                colour = ae_colour(value) if key == "ae_deg" and kind in ("jpe", "thp") else None
                if colour is not None:
                    from PySide6 import QtGui

                    item.setBackground(QtGui.QColor(colour))
                self.table.setItem(row, col, item)
            flagged = sc.get("flag")
            self.table.setItem(row, len(keys) + 1, QtWidgets.QTableWidgetItem(
                f"above {self.threshold_deg:g}°" if flagged else ""))
        self.table.setMinimumHeight(self.table.horizontalHeader().height() + 4
                                    + self.table.verticalHeader().length())

    def show_state(self, state: dict) -> None:
        """Fill the table and plots from a test snapshot (the feed's ``state``). A snapshot of no
        test (idle, or a calibration) leaves the last test's results on show."""
        if state.get("test") in (None, "calibration"):
            return
        if self._empty:
            self._empty = False
            for w in self._result_widgets():
                w.setVisible(True)
        trials = state.get("trials", ())
        ended = "aborted" if state.get("aborted") else ("finished" if state.get("done") else "running")
        if len(trials) == self._shown_trials and ended == self._shown_done:
            return
        self._shown_trials = len(trials)
        self._shown_done = ended
        test = state.get("test") or "–"
        kind = state.get("kind")
        valid = [t for t in trials if t.get("valid")]
        name = display_name(test, state.get("title"), kind)
        unit = "trial" if kind in ("jpe", "thp", None) else "run"
        self.title.setText(f"Results: {name} · {len(valid)} valid {unit}{'' if len(valid) == 1 else 's'} ({ended})"
                           + (" · SIMULATED" if state.get("simulated") else ""))
        self.invalid_label.setText(invalid_summary(trials))
        self.note.setText(self.footnote(kind))
        self._fill_table(state.get("scores") or {}, kind, trials)
        located = [t for t in valid if "error_deg" in t]
        self.scatter_plot.setVisible(bool(located) or not valid)
        if located:
            xy = [scatter_position_deg(t["error_deg"]) for t in located]
            x = [p[0] for p in xy]
            y = [p[1] for p in xy]
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


def overall_row(scores: dict, kind: str | None, trials, threshold_deg: float) -> dict:
    """The overall row: for JPE and THP the pooled scores of every valid trial
    (:func:`cervitrack.trainer.clinical.scoring.summary_scores`, as in the result document);
    for the other tests the mean of the rows' numbers and the summed n."""
    if not scores:
        return {}
    if kind in ("jpe", "thp"):
        valid = [t for t in trials if t.get("valid") and "signed_error_deg" in t]
        signed = {d: [t["signed_error_deg"] for t in valid if t.get("direction") == d] for d in scores}
        glob = {d: [t["error_deg"]["global"] for t in valid if t.get("direction") == d] for d in scores}
        pooled = scoring.summary_scores(scores, signed, glob, threshold_deg)
        pooled.pop("flagged_directions", None)
        pooled.pop("mean_direction_ae_deg", None)
        return pooled
    values: dict[str, list[float]] = {}
    for sc in scores.values():
        for k, v in sc.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v is None:
                continue
            values.setdefault(k, []).append(float(v))
    return {k: (int(sum(v)) if k == "n" else float(np.nanmean(v))) for k, v in values.items() if v}


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
