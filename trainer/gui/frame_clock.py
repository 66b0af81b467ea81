"""When the application draws a frame: as soon as new samples are published, at most once per
display period (the "data" schedule), or on a free-running display timer (the "timer"
schedule).

Why the data schedule: with a free-running timer a published sample waits for the next tick,
anywhere within a display period, before it is drawn; at 60 Hz that alone is up to 16.7 ms.
Driven by the data, a frame starts when the pipeline thread publishes, or, if the last frame
was less than a period ago, as soon as the period has passed. The frame then also runs while
the pipeline thread is idle, so the two threads do not contend for the GIL during the frame.
Without data (disconnected, reconnecting), frames continue at :data:`IDLE_PERIOD_S` so that the
device status and messages stay current. ``bench/gui.py`` measures both schedules on the same
data (frame time and sample-to-screen latency).

Display timing uses the wall clock (``time.perf_counter``); the samples' own times are never
touched here.
"""

from __future__ import annotations

import math
import time

from PySide6 import QtCore

#: Frame period without new data, s (device status and messages only).
IDLE_PERIOD_S = 0.1
SCHEDULES = ("data", "timer")


def frame_delay_s(now_s: float, last_frame_s: float, period_s: float) -> float:
    """Wall time to wait before the next frame may start, s (0: start now).

    Args:
        now_s: the wall clock now, s.
        last_frame_s: when the last frame started, s (``-inf`` before the first frame).
        period_s: the display period, s (frames start at least this far apart).
    """
    return max(0.0, last_frame_s + period_s - now_s)


def timer_ms(delay_s: float) -> int:
    """A QTimer interval for ``delay_s``: whole milliseconds (Qt timers count whole ms),
    rounded to the nearest, at least 1 ms. Frames then start at least the display period
    minus 0.5 ms apart and average the display rate (rounding up would lower it to 1/17 ms,
    59 Hz at 60 Hz, and add 0.5 ms to every deferred frame's wait)."""
    return max(1, round(delay_s * 1e3))


class FrameClock(QtCore.QObject):
    """Calls ``draw()`` in the GUI thread at the display rate.

    Args:
        period_s: the display period, s (1/60 for a 60 Hz display).
        draw: the frame (no arguments); may be replaced later (benchmarks wrap it).
        schedule: "data" (frames follow :meth:`notify`) or "timer" (a free-running timer).
        idle_period_s: frame period when no data arrives (data schedule), s.

    :meth:`notify` may be called from any thread (the pipeline thread calls it after it has
    published); the frame runs in the thread that owns the clock.
    """

    _data_ready = QtCore.Signal()

    def __init__(self, period_s: float, draw, schedule: str = "data",
                 idle_period_s: float = IDLE_PERIOD_S, parent=None) -> None:
        super().__init__(parent)
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown frame schedule {schedule!r}: use one of {', '.join(SCHEDULES)}")
        if not period_s > 0:
            raise ValueError(f"the display period must be positive, got {period_s} s")
        self.period_s = float(period_s)
        self.draw = draw
        self.schedule = schedule
        self.idle_period_s = float(idle_period_s)
        self.frames = 0
        self.last_frame_s = -math.inf
        self.running = False
        self._pending = False
        self._notified = False
        self._drawing = False
        self._periodic = self._timer(self._on_periodic, single_shot=False)
        self._deferred = self._timer(self._on_deferred, single_shot=True)
        self._data_ready.connect(self._on_data, QtCore.Qt.ConnectionType.QueuedConnection)

    def _timer(self, slot, single_shot: bool) -> QtCore.QTimer:
        t = QtCore.QTimer(self)
        t.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        t.setSingleShot(single_shot)
        t.timeout.connect(slot)
        return t

    # ------------------------------------------------------------------ control (GUI thread)
    def start(self) -> None:
        self.running = True
        period = self.period_s if self.schedule == "timer" else self.idle_period_s
        self._periodic.start(max(1, round(period * 1e3)))

    def stop(self) -> None:
        self.running = False
        self._periodic.stop()
        self._deferred.stop()
        self._pending = False

    # ------------------------------------------------------------------ any thread
    def notify(self) -> None:
        """New samples or events are published (thread-safe, cheap when a frame is already due)."""
        if not self._notified:
            self._notified = True
            self._data_ready.emit()

    # ------------------------------------------------------------------ GUI thread
    def _on_data(self) -> None:
        self._notified = False
        if not self.running or self.schedule != "data":
            return
        self._pending = True
        if self._deferred.isActive():
            return
        delay = frame_delay_s(time.perf_counter(), self.last_frame_s, self.period_s)
        if delay <= 0.0:
            self._frame()
        else:
            self._deferred.start(timer_ms(delay))

    def _on_deferred(self) -> None:
        if self.running and self._pending:
            self._frame()

    def _on_periodic(self) -> None:
        if not self.running:
            return
        if self.schedule == "timer" or time.perf_counter() - self.last_frame_s >= self.idle_period_s:
            self._frame()

    def _frame(self) -> None:
        if self._drawing:  # a nested event loop inside the frame (a dialog, processEvents)
            self._pending = True
            return
        self.last_frame_s = time.perf_counter()
        self._pending = False
        self._deferred.stop()
        self.frames += 1
        self._drawing = True
        try:
            self.draw()
        finally:
            self._drawing = False
        if self._pending and self.schedule == "data" and not self._deferred.isActive():
            delay = frame_delay_s(time.perf_counter(), self.last_frame_s, self.period_s)
            self._deferred.start(timer_ms(delay))
