"""A basic live view of a simulated JPE test: the laser dot on a virtual wall, the current
prompt and the trials so far. The full application is :mod:`cervitrack.trainer.gui`.

The view is a thin consumer: a QTimer advances the session by one step of simulated time per
tick (real-time pacing) and redraws.
"""

from __future__ import annotations

import numpy as np

from cervitrack.signal import kinematics

WALL_DISTANCE_CM = 90.0  # SRALab RehabMeasures and Physiotutors protocol distance


def run_live(session, max_frames: int | None = None, screenshot_path: str | None = None,
             interval_ms: int | None = None) -> int:
    """Show ``session`` (a SimSession) live until the test ends or the window closes.

    ``max_frames`` stops after that many steps; ``screenshot_path`` saves a PNG of the window
    when it stops; ``interval_ms`` overrides the real-time pacing (tests use 1 ms).
    """
    from PySide6 import QtCore, QtWidgets  # pinned binding, imported before pyqtgraph
    import pyqtgraph as pg

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    win = QtWidgets.QWidget()
    win.setWindowTitle("Cervitrack demo: joint position error test (simulated)")
    layout = QtWidgets.QHBoxLayout(win)
    wall = pg.PlotWidget(title=f"Virtual wall at {WALL_DISTANCE_CM:.0f} cm (cm, patient's view)")
    wall.setAspectLocked(True)
    wall.setXRange(-40, 40)
    wall.setYRange(-40, 40)
    wall.invertX(True)  # x_cm is positive to the patient's left; show it as the patient sees
    for r_cm in (kinematics.deg_to_cm(4.5, WALL_DISTANCE_CM), 10, 20, 30):
        circle = QtWidgets.QGraphicsEllipseItem(-r_cm, -r_cm, 2 * r_cm, 2 * r_cm)
        circle.setPen(pg.mkPen((120, 120, 120), width=1))
        wall.addItem(circle)
    trail = wall.plot(pen=pg.mkPen((80, 140, 255), width=1))
    dot = wall.plot(symbol="o", symbolSize=14, symbolBrush=(230, 40, 40), pen=None)
    marks = wall.plot(symbol="x", symbolSize=10, symbolPen=(20, 150, 20), pen=None)
    side = QtWidgets.QVBoxLayout()
    prompt = QtWidgets.QLabel("Starting…")
    prompt.setWordWrap(True)
    prompt.setStyleSheet("font-size: 18px; font-weight: bold;")
    table = QtWidgets.QLabel("")
    table.setStyleSheet("font-family: monospace;")
    side.addWidget(prompt)
    side.addWidget(table)
    side.addStretch(1)
    layout.addWidget(wall, 3)
    layout.addLayout(side, 2)
    win.resize(1000, 600)
    win.show()

    history_x, history_y, mark_x, mark_y = [], [], [], []
    frames = {"n": 0}

    def tick():
        step = session.step()
        for p in step.prompts:
            prompt.setText(p.text)
        pose = step.pose
        if pose is not None and len(pose) and pose.q_neutral_head is not None:
            pt = kinematics.laser_point(pose.q_neutral_head, WALL_DISTANCE_CM)
            history_x.extend(np.nan_to_num(pt["x_cm"]).tolist())
            history_y.extend(np.nan_to_num(pt["y_cm"]).tolist())
            del history_x[:-300], history_y[:-300]
            trail.setData(history_x, history_y)
            dot.setData(history_x[-1:], history_y[-1:])
        engine = session.engine
        if len(mark_x) < len(engine.trials):
            for tr in engine.trials[len(mark_x):]:
                err = tr.get("error_deg", {})
                mark_x.append(kinematics.deg_to_cm(err.get("axial", np.nan), WALL_DISTANCE_CM))
                mark_y.append(kinematics.deg_to_cm(-err.get("flexion", np.nan), WALL_DISTANCE_CM))
            marks.setData(mark_x, mark_y)
            rows = [f"{t['direction']:<15} {t['signed_error_deg']:+6.2f}°" if t["valid"]
                    else f"{t['direction']:<15} redo" for t in engine.trials[-12:]]
            table.setText("Relocation errors (CE sign):\n" + "\n".join(rows))
        frames["n"] += 1
        if engine.done or (max_frames is not None and frames["n"] >= max_frames):
            timer.stop()
            if screenshot_path:
                win.grab().save(str(screenshot_path))
            if max_frames is not None:
                app.quit()

    timer = QtCore.QTimer()
    timer.timeout.connect(tick)
    timer.start(int(session.step_s * 1000) if interval_ms is None else interval_ms)
    app.exec()
    return 0
