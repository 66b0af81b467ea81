"""The progress figure: accuracy per direction over the days, level, symptoms and adherence.

Rendered with pyqtgraph into an image (offscreen when there is no display). Data come from
:mod:`cervitrack.trainer.training.progress`; this module only draws.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cervitrack.trainer.clinical.scoring import THRESHOLD_DEFAULT_DEG
from cervitrack.trainer.paths import write_private_bytes
from cervitrack.trainer.training import progress

DIRECTION_STYLE = {
    "rotation_left": ((31, 119, 180), "o", "rotation left"),
    "rotation_right": ((255, 127, 14), "s", "rotation right"),
    "flexion": ((44, 160, 44), "t", "flexion"),
    "extension": ((214, 39, 40), "d", "extension"),
}


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _ensure_app():
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtGui, QtWidgets  # pinned binding, imported before pyqtgraph

    app = QtGui.QGuiApplication.instance()
    if app is None:
        return QtWidgets.QApplication([])
    if not isinstance(app, QtWidgets.QApplication):
        # Widgets in a process whose application is a plain QGuiApplication abort Qt.
        raise RuntimeError("cannot draw the progress figure: this process's Qt application has no widgets")
    return app


def progress_widget(sessions: list[dict], trials: list[dict], diary: list[dict], start: str,
                    days_per_week: int = 7, title: str = "Training progress"):
    """A pyqtgraph GraphicsLayoutWidget with the four progress panels."""
    _ensure_app()
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    win = pg.GraphicsLayoutWidget()
    win.resize(1200, 980)
    days = np.array([s["day"] for s in sessions], dtype=float)
    #: At least a week on the axis, so a new patient's first days read as days.
    last_day = max(7.0, float(days.max()) if days.size else 1.0)
    end = sessions[-1]["date"] if sessions else start
    adh = progress.adherence(sessions, start, end, days_per_week)
    head = (f"<span style='font-size:15pt'><b>{title}</b></span><br>"
            f"<span style='font-size:11pt'>{adh['checkin_days']} of {adh['planned_days']} planned days "
            f"({adh['adherence_pct']:.0f} %), current streak {_days(adh['current_streak_days'])}, "
            f"longest {_days(adh['longest_streak_days'])}</span>")
    win.addLabel(head, row=0, col=0)
    font_axis = {"font-size": "11pt"}

    def panel(row, title_text, ylabel):
        p = win.addPlot(row=row, col=0)
        p.setTitle(title_text, size="12pt")
        p.setLabel("left", ylabel, **font_axis)
        p.setLabel("bottom", "program day", **font_axis)
        p.showGrid(x=True, y=True, alpha=0.25)
        p.getAxis("left").setWidth(60)
        p.setXRange(0.5, last_day + 0.5, padding=0)
        p.getAxis("bottom").setTickSpacing(1 if last_day <= 14 else 2, 1)  # whole days
        return p

    # 1. accuracy per direction
    p1 = panel(1, "Relocation accuracy, eyes closed (absolute error per direction; lower is better)", "AE (°)")
    legend = p1.addLegend(offset=(-10, 5), labelTextSize="10pt", colCount=5)
    ae = progress.ae_by_direction(trials)
    ymax = THRESHOLD_DEFAULT_DEG + 1.0
    for d, (color, symbol, label) in DIRECTION_STYLE.items():
        series = ae.get(d, {})
        if not series:
            continue
        x = np.array(list(series), dtype=float)
        y = np.array(list(series.values()))
        ymax = max(ymax, float(y.max()) + 1.0)
        p1.plot(x, y, pen=pg.mkPen(color, width=2), symbol=symbol, symbolSize=8, symbolBrush=color,
                symbolPen=color, name=label)
    p1.plot([0.5, last_day + 0.5], [THRESHOLD_DEFAULT_DEG] * 2,
            pen=pg.mkPen((120, 120, 120), width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine),
            name=f"{THRESHOLD_DEFAULT_DEG}° screening threshold")
    p1.setYRange(0, ymax + 1.5, padding=0)
    legend.setParentItem(p1.vb)
    legend.anchor((1, 0), (1, 0), offset=(-5, 5))

    # 2. level and stops
    p2 = panel(2, "Level (1 easiest to 8); red crosses: session stopped by a stop rule", "level")
    if days.size:
        levels = np.array([s["level"] for s in sessions], dtype=float)
        p2.plot(np.append(days - 0.5, days[-1] + 0.5), levels, stepMode="center",
                pen=pg.mkPen((60, 60, 160), width=2.5), fillLevel=0, brush=(60, 60, 160, 40))
        stopped = np.array([bool(s["stopped"]) for s in sessions])
        if stopped.any():
            p2.plot(days[stopped], levels[stopped] + 0.5, pen=None, symbol="x", symbolSize=16,
                    symbolBrush=(220, 30, 30), symbolPen=pg.mkPen((220, 30, 30), width=2))
    p2.setYRange(0, 9, padding=0)
    p2.getAxis("left").setTicks([[(v, str(v)) for v in range(1, 9)]])

    # 3. symptoms
    p3 = panel(3, "Symptoms: neck pain before and after each session, headache (diary)", "0-10")
    legend3 = p3.addLegend(labelTextSize="10pt", colCount=3)
    diary_day = {e["date"]: e["headache_nrs"] for e in diary}
    if days.size:
        headache = np.array([diary_day.get(s["date"], 0) for s in sessions], dtype=float)
        bars = pg.BarGraphItem(x=days, height=headache, width=0.6, brush=(250, 190, 80, 160), pen=None)
        p3.addItem(bars)
        legend3.addItem(bars, "headache intensity")
        p3.plot(days, [s["pain_before"] for s in sessions], pen=pg.mkPen((120, 40, 160), width=2),
                symbol="o", symbolSize=6, symbolBrush=(120, 40, 160), name="pain before")
        p3.plot(days, [s["pain_after"] for s in sessions],
                pen=pg.mkPen((200, 60, 60), width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
                symbol="t", symbolSize=7, symbolBrush=(200, 60, 60), name="pain after")
    p3.setYRange(0, 10.5, padding=0)
    legend3.setParentItem(p3.vb)
    legend3.anchor((1, 0), (1, 0), offset=(-5, 5))

    # 4. adherence
    p4 = panel(4, "Adherence: days with a session (green: trained; orange: stopped or no training)", "sessions")
    if days.size:
        ok = np.array([s["n_trials"] > 0 and not s["stopped"] for s in sessions])
        p4.addItem(pg.BarGraphItem(x=days[ok], height=np.ones(ok.sum()), width=0.7, brush=(60, 160, 80), pen=None))
        if (~ok).any():
            p4.addItem(pg.BarGraphItem(x=days[~ok], height=np.ones((~ok).sum()), width=0.7,
                                       brush=(240, 150, 40), pen=None))
    p4.setYRange(0, 1.3, padding=0)
    p4.getAxis("left").setTicks([[(0, "0"), (1, "1")]])
    for row, stretch in ((1, 3), (2, 2), (3, 2), (4, 1)):
        win.ci.layout.setRowStretchFactor(row, stretch)
    return win


def save_progress_png(path: str | Path, sessions, trials, diary, start: str, days_per_week: int = 7,
                      title: str = "Training progress") -> Path:
    """Render the progress figure to a PNG file."""
    app = _ensure_app()
    win = progress_widget(sessions, trials, diary, start, days_per_week, title)
    win.show()
    app.processEvents()
    path = Path(path)
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = win.grab().save(buf, "PNG")
    win.close()
    if not ok:
        raise OSError(f"cannot render the progress figure for {path}")
    return write_private_bytes(path, bytes(buf.data().data()))  # 0600: health data
