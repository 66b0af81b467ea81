"""The laser-wall view: a virtual wall at a configurable distance, target rings in cm and
degrees, the head cursor with a short trail, and the relocation marks of the test.

The wall is perpendicular to the neutral gaze at ``distance_cm``; the cursor is where a
head-fixed laser would hit it (:func:`cervitrack.signal.kinematics.laser_point`). The screen
shows the wall as the patient sees it: the patient's left is on the left. Ring radii are
``D·tan θ`` (laser geometry, d = D·tan θ): the 4.5° ring, the usual JPE screening threshold
(Revel et al. 1994), is 7.08 cm at 90 cm.

Blind mode (eyes-closed tests): the cursor and trail are hidden from the "move" prompt until
the trial is recorded; then the relocation mark is shown as knowledge of results.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from cervitrack.signal import kinematics
from cervitrack.trainer.clinical.prompts import DIRECTION_TEXT
from cervitrack.trainer.gui import scene_items, style

RING_DEG = (2.0, 4.5, 10.0, 20.0)
#: Prompts after which the eyes are closed (cursor hidden in blind mode).
EYES_CLOSED_PROMPTS = ("move", "return")


def mark_position_cm(error_deg: dict, distance_cm: float) -> tuple[float, float]:
    """Screen position (x to the patient's right, y up, cm) of a relocation error: where the
    laser points at the relocation, relative to the trial's reference."""
    q = kinematics.pose_from_angles_deg(error_deg["axial"], error_deg["flexion"], error_deg["lateral"])
    p = kinematics.laser_point(q, distance_cm)
    return -float(p["x_cm"]), float(p["y_cm"])


class WallView(QtWidgets.QWidget):
    """Args:
        distance_cm: wall distance, cm (90 cm in the published laser protocols).
        trail_s: cursor trail length, s.
        blind: hide the cursor during relocation in eyes-closed tests.
        large: patient-facing display (bigger text, fewer labels).
    """

    def __init__(self, distance_cm: float = 90.0, trail_s: float = 1.5, blind: bool = True,
                 large: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.distance_cm = float(distance_cm)
        self.trail_s = float(trail_s)
        self.blind = blind
        self.large = large
        self.eyes_closed_test = True
        self.phase_prompt = None
        self.trials: list[dict] = []
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.prompt, self.info, self.plot = style.wall_header_and_plot(large, "cm")
        self._ring_items: list = []
        self.trail = scene_items.Polyline(style.TRAIL)
        self.head_cursor = scene_items.head_cursor(large)
        self.legend = self.plot.getPlotItem().addLegend(offset=(8, 8))
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 220))
        self.legend.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        #: Legend samples, one per direction (not in the scene: the marks are plain Qt items).
        self.legend_samples = {
            direction: pg.ScatterPlotItem(size=12, symbol="x", pen=style.pen(colour, 2),
                                          brush=pg.mkBrush(colour))
            for direction, colour in style.DIRECTION_COLOURS.items()}
        #: The relocation marks drawn: (direction or None for invalid trials, item).
        self.marks: list[tuple[str | None, QtWidgets.QGraphicsItem]] = []
        self.closed_text = pg.TextItem("Eyes closed", color=(90, 90, 90), anchor=(0.5, 0.5))
        self.closed_text.setVisible(False)
        for it in (self.trail.item, self.head_cursor, self.closed_text):
            self.plot.addItem(it)
        self._legend_shown: set = set()
        layout.addWidget(self.prompt)
        layout.addWidget(self.info)
        layout.addWidget(self.plot, 1)
        self.set_distance_cm(self.distance_cm)

    # ------------------------------------------------------------------ settings
    def set_distance_cm(self, distance_cm: float) -> None:
        """Redraw rings and ranges for a wall at ``distance_cm``."""
        self.distance_cm = float(distance_cm)
        for it in self._ring_items:
            self.plot.removeItem(it)
        self._ring_items = []
        d = self.distance_cm
        for ring_deg in RING_DEG:
            r_cm = float(kinematics.deg_to_cm(ring_deg, d))
            colour = style.RING_THRESHOLD if ring_deg == 4.5 else style.RING
            circle = QtWidgets.QGraphicsEllipseItem(-r_cm, -r_cm, 2 * r_cm, 2 * r_cm)
            circle.setPen(style.pen(colour))
            self.plot.addItem(circle)
            label = scene_items.label(f"{ring_deg:g}° · {r_cm:.1f} cm", colour,
                                      r_cm * np.cos(np.radians(45)), r_cm * np.sin(np.radians(45)))
            self.plot.addItem(label)
            self._ring_items += [circle, label]
        half = float(kinematics.deg_to_cm(22.0, d))
        for line in scene_items.axis_lines(2 * half, style.RING):
            self.plot.addItem(line)
            self._ring_items.append(line)
        self.plot.setXRange(-half, half, padding=0)
        self.plot.setYRange(-half, half, padding=0)
        self.closed_text.setPos(0, -0.8 * half)
        self._draw_marks()

    # ------------------------------------------------------------------ events
    def reset(self, eyes_closed_test: bool = True) -> None:
        self.eyes_closed_test = eyes_closed_test
        self.trials = []
        self.phase_prompt = None
        self.info.setText("")
        self._draw_marks()

    def on_event(self, event: dict) -> None:
        kind = event.get("kind")
        if kind == "prompt":
            self.phase_prompt = event["prompt"]
            if event["prompt"] != "trial_recorded":
                self.prompt.setText(event["text"])
            if event.get("direction") in DIRECTION_TEXT:
                self.info.setText(self._trial_label(event["direction"]))
        elif kind == "trial":
            self.trials.append(event)
            self._draw_marks()
            if event.get("valid") and "signed_error_deg" in event:
                e = event["signed_error_deg"]
                word = "overshoot" if e > 0 else "undershoot"
                self.info.setText(f"Last trial ({event['direction'].replace('_', ' ')}): "
                                  f"{abs(e):.1f}° {word}")
        elif kind == "aborted":
            self.prompt.setText("Test stopped.")
            self.phase_prompt = None
        elif kind == "message":
            self.prompt.setText(event["text"])

    def _trial_label(self, direction: str) -> str:
        done = sum(1 for t in self.trials if t.get("direction") == direction and t.get("valid"))
        return f"{direction.replace('_', ' ').capitalize()} · trial {done + 1} · {DIRECTION_TEXT[direction]}"

    @property
    def cursor_hidden(self) -> bool:
        return self.blind and self.eyes_closed_test and self.phase_prompt in EYES_CLOSED_PROMPTS

    def _draw_marks(self) -> None:
        """Relocation marks, one colour per direction (legend only for directions seen);
        invalid trials in grey; the newest circled."""
        for _, item in self.marks:
            self.plot.removeItem(item)
        self.marks = []
        shown = [t for t in self.trials if "error_deg" in t and "direction" in t]
        for t in shown:
            x, y = mark_position_cm(t["error_deg"], self.distance_cm)
            direction = t["direction"] if t["valid"] else None
            colour = (style.INVALID if direction is None
                      else style.DIRECTION_COLOURS.get(direction, style.INVALID))
            self.marks.append((direction, scene_items.marker("x", 12, colour, 2, x, y, z=5)))
        if shown:
            x, y = mark_position_cm(shown[-1]["error_deg"], self.distance_cm)
            self.marks.append(("newest", scene_items.marker("o", 26, style.FOREGROUND, 1, x, y, z=5)))
        for _, item in self.marks:
            self.plot.addItem(item)
        seen = {direction for direction, _ in self.marks}
        for direction, sample in self.legend_samples.items():
            if direction in seen and direction not in self._legend_shown:
                self.legend.addItem(sample, direction.replace("_", " "))
                self._legend_shown.add(direction)
            elif direction not in seen and direction in self._legend_shown:
                self.legend.removeItem(sample)
                self._legend_shown.discard(direction)

    # ------------------------------------------------------------------ frame
    def refresh(self, feed, count: int) -> None:
        """Draw the newest samples (called by the display timer)."""
        hidden = self.cursor_hidden
        self.head_cursor.setVisible(not hidden)
        self.trail.setVisible(not hidden)
        self.closed_text.setVisible(hidden)
        if hidden:
            return
        n = feed.samples_for(self.trail_s)
        block = feed.ring.latest(n, count)
        u = block[feed.ring.index["wall_u"]]
        v = block[feed.ring.index["wall_v"]]
        x = -self.distance_cm * u
        y = self.distance_cm * v
        self.trail.set_data(x, y)
        if len(x) and np.isfinite(x[-1]) and np.isfinite(y[-1]):
            self.head_cursor.setPos(float(x[-1]), float(y[-1]))
        else:
            self.head_cursor.setVisible(False)
