"""Views for the tests with a target on the wall: Butterfly-style tracking and pattern tracing.

Both draw in degrees of visual angle on the wall (as the engines score), the screen's x to the
patient's right; the cursor is the head laser relative to the run's reference (see
:mod:`cervitrack.trainer.gui.feed`), with a short trail.

- :class:`ButterflyView`: the run's whole path (faint), the target moving along it with the
  on-target radius, highlighted while the cursor is within it; a countdown before the start.
- :class:`TracingView`: the pattern with its band (the band's full width, drawn to scale), the
  start point, and the cursor.

The target paths come from :mod:`cervitrack.trainer.clinical.trajectories`, rebuilt from the spec each
"track" / "trace_start" prompt carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from cervitrack.trainer.gui import scene_items, style

if TYPE_CHECKING:
    from cervitrack.trainer.clinical.trajectories import TracePattern, TrackingTrajectory

#: Items redrawn only when a run starts are cached as pixmaps (no Python paint per frame).
CACHED = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache


class _DegreeWall(QtWidgets.QWidget):
    """Common layout: prompt, info line, a fixed-range plot in degrees, cursor and trail."""

    HALF_RANGE_DEG = 20.0

    def __init__(self, trail_s: float = 1.5, large: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.trail_s = float(trail_s)
        self.large = large
        self.blind = False
        self.settings: dict = {}
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.prompt, self.info, self.plot = style.wall_header_and_plot(large, "degrees")
        h = self.HALF_RANGE_DEG
        self.plot.setXRange(-h, h, padding=0)
        self.plot.setYRange(-0.6 * h, 0.6 * h, padding=0)
        for line in scene_items.axis_lines(1e3, style.RING):
            self.plot.addItem(line)
        self.trail = scene_items.Polyline(style.TRAIL)
        self.head_cursor = scene_items.head_cursor(large)
        self.plot.addItem(self.trail.item)
        self.plot.addItem(self.head_cursor)
        layout.addWidget(self.prompt)
        layout.addWidget(self.info)
        layout.addWidget(self.plot, 1)

    def reset(self, eyes_closed_test: bool = False) -> None:
        self.info.setText("")

    def set_settings(self, settings: dict) -> None:
        self.settings = dict(settings)

    def on_event(self, event: dict) -> None:
        if event.get("kind") == "prompt" and event["prompt"] != "trial_recorded":
            self.prompt.setText(event["text"])
        elif event.get("kind") == "aborted":
            self.prompt.setText("Test stopped.")

    def _cursor_deg(self, feed, count: int):
        """(t_s, x_deg to the patient's right, y_deg up) of the trail samples."""
        block = feed.ring.latest(feed.samples_for(self.trail_s), count)
        idx = feed.ring.index
        x = -np.degrees(np.arctan(block[idx["wall_u"]]))
        y = np.degrees(np.arctan(block[idx["wall_v"]]))
        return block[idx["t_s"]], x, y

    def _draw_cursor(self, x, y) -> bool:
        self.trail.set_data(x, y)
        ok = bool(len(x) and np.isfinite(x[-1]) and np.isfinite(y[-1]))
        self.head_cursor.setVisible(ok)
        if ok:
            self.head_cursor.setPos(float(x[-1]), float(y[-1]))
        return ok


class ButterflyView(_DegreeWall):
    """The tracking view (see the module docstring)."""

    def __init__(self, trail_s: float = 1.0, large: bool = False, parent=None) -> None:
        super().__init__(trail_s, large, parent)
        self.path = pg.PlotCurveItem(pen=style.pen((170, 200, 170)))
        self.path.setCacheMode(CACHED)  # redrawn only when a run starts
        self.plot.addItem(self.path)
        self.path.setZValue(-1)
        self.target = QtWidgets.QGraphicsEllipseItem(-1, -1, 2, 2)
        self.target.setPen(style.pen(style.TARGET))
        self.target.setZValue(5)
        self.plot.addItem(self.target)
        self.countdown = pg.TextItem("", color=(60, 60, 60), anchor=(0.5, 1.2))
        self.plot.addItem(self.countdown)
        self.trajectory: TrackingTrajectory | None = None
        self.t_start_s = np.nan
        self.on_target = False
        self._set_radius(2.0)

    def _set_radius(self, radius_deg: float) -> None:
        self.radius_deg = float(radius_deg)
        r = self.radius_deg
        self.target.setRect(-r, -r, 2 * r, 2 * r)

    def set_settings(self, settings: dict) -> None:
        super().set_settings(settings)
        self._set_radius(settings.get("radius_deg", 2.0))

    def reset(self, eyes_closed_test: bool = False) -> None:
        super().reset()
        self.trajectory = None
        self.path.setData([], [])
        self.countdown.setText("")

    def on_event(self, event: dict) -> None:
        super().on_event(event)
        if event.get("kind") == "prompt" and event["prompt"] == "track" and event.get("target"):
            from cervitrack.trainer.clinical.trajectories import TrackingTrajectory

            spec = event["target"]
            trajectory = TrackingTrajectory.from_spec(spec)
            self.trajectory = trajectory
            self.t_start_s = float(spec["t_start_s"])
            tau = np.linspace(0.0, trajectory.duration_s, 600)
            p = trajectory.position_deg(tau)
            self.path.setData(-p[:, 0], p[:, 1])
            half = max(6.0, 1.3 * float(np.abs(p).max()) + self.radius_deg)
            self.plot.setXRange(-half, half, padding=0)
            self.plot.setYRange(-0.6 * half, 0.6 * half, padding=0)
            self.info.setText(f"{spec['level'].capitalize()} level, run {spec['repetition'] + 1} · "
                              f"the target ({self.radius_deg:g}° radius) turns yellow while the dot is on it")
        elif event.get("kind") == "prompt" and event["prompt"] in ("recenter", "done"):
            self.trajectory = None
            self.path.setData([], [])
            self.countdown.setText("")
        elif event.get("kind") == "trial" and "aa_deg" in event:
            aa, on = event.get("aa_deg"), event.get("time_on_target_pct")
            if event.get("valid") and aa is not None:
                self.info.setText(f"{event['level'].capitalize()} run {event['repetition'] + 1}: "
                                  f"accuracy {aa:.1f}°, on target {on:.0f}% of the time")

    def target_at(self, t_s: float) -> np.ndarray:
        """Target position (x to the patient's right, y up), deg, at sample time t_s."""
        if self.trajectory is None or not np.isfinite(t_s):
            return np.zeros(2)
        p = self.trajectory.position_deg([t_s - self.t_start_s])[0]
        return np.array([-p[0], p[1]])

    def refresh(self, feed, count: int) -> None:
        t, x, y = self._cursor_deg(feed, count)
        shown = self._draw_cursor(x, y)
        now = float(t[-1]) if len(t) else np.nan
        target = self.target_at(now)
        self.target.setPos(float(target[0]), float(target[1]))
        remaining = self.t_start_s - now if self.trajectory is not None else np.nan
        self.countdown.setText(f"starts in {np.ceil(remaining):.0f} s" if remaining > 0 else "")
        self.countdown.setPos(float(target[0]), float(target[1]) + self.radius_deg)
        on = bool(shown and self.trajectory is not None
                  and np.hypot(x[-1] - target[0], y[-1] - target[1]) <= self.radius_deg)
        if on != self.on_target:
            self.on_target = on
            colour = style.TARGET_ON if on else style.TARGET
            self.target.setBrush(pg.mkBrush(*colour, 170 if on else 60))
            self.target.setPen(style.pen(colour, 2 if on else 1))


class TracingView(_DegreeWall):
    """The pattern-tracing view (see the module docstring)."""

    def __init__(self, trail_s: float = 2.0, large: bool = False, parent=None) -> None:
        super().__init__(trail_s, large, parent)
        self.band = pg.PlotCurveItem()
        self.band.setZValue(-2)
        self.line = pg.PlotCurveItem(pen=style.pen(style.TARGET))
        self.line.setZValue(-1)
        self.start = scene_items.marker("o", 16, style.TARGET, fill=style.TARGET)
        self.start.setVisible(False)
        for it in (self.band, self.line):
            it.setCacheMode(CACHED)  # redrawn only when a run starts
        for it in (self.band, self.line, self.start):
            self.plot.addItem(it)
        self.pattern: TracePattern | None = None

    def reset(self, eyes_closed_test: bool = False) -> None:
        super().reset()
        self.pattern = None
        for it in (self.band, self.line):
            it.setData([], [])
        self.start.setVisible(False)

    def on_event(self, event: dict) -> None:
        super().on_event(event)
        if event.get("kind") == "prompt" and event["prompt"] == "trace_start" and event.get("target"):
            from cervitrack.trainer.clinical.trajectories import make_pattern

            pattern = make_pattern(event["target"])
            self.pattern = pattern
            p = pattern.points_deg[::4]
            x, y = -p[:, 0], p[:, 1]
            band_deg = float(self.settings.get("band_deg", 1.5))
            # The band to scale: a pen 2·band wide in data units (non-cosmetic), drawn once.
            pen = QtGui.QPen(QtGui.QColor(*style.TARGET, 50))
            pen.setWidthF(2 * band_deg)
            pen.setCosmetic(False)
            pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
            self.band.setPen(pen)
            self.band.setData(x, y)
            self.line.setData(x, y)
            self.start.setPos(float(x[0]), float(y[0]))
            self.start.setVisible(True)
            self.info.setText(f"{event['target']['pattern']}: band ±{band_deg:g}°")
        elif event.get("kind") == "trial" and "error_count" in event and event.get("valid"):
            self.info.setText(f"{event['pattern']}: {event['time_s']:.1f} s, {event['error_count']} "
                              f"departures from the band, {event['error_magnitude_deg_s']:.1f} deg·s outside")

    def refresh(self, feed, count: int) -> None:
        _, x, y = self._cursor_deg(feed, count)
        self._draw_cursor(x, y)
